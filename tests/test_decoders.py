"""HalfUNet shapes and architecture switch, losses, dict/n_run input, every error message,
metrics, a real learning test against ridge, and frame-ID metrics."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from neurocine.decoders import (ComplexLargeUNetDecoderOnly, HalfUNetDecoder, UNetDecoderOnly, halfunet_decoding,
                                image_metrics, plot_reconstructions, ridge_reconstruction)
from neurocine.decoders.frame_id import chance_level, evaluate_frame_id, knn_predict_frames

SMALL = dict(num_epochs=2, batch_size=16, device="cpu", output_shape=(16, 32), progress=False)


@pytest.mark.parametrize("output_channels", [1, 3])
@pytest.mark.parametrize("output_shape", [(64, 128), (128, 256), (256, 512), (50, 70)])
@pytest.mark.parametrize("latent_dim", [None, 256, 1024])
def test_output_shape_is_exact(output_channels, output_shape, latent_dim):
    dec = HalfUNetDecoder(input_dim=32, output_channels=output_channels, output_shape=output_shape, latent_dim=latent_dim)
    with torch.no_grad():
        out = dec(torch.randn(2, 32))
    assert out.shape == (2, output_channels) + output_shape


def test_architecture_switch_at_1024():
    assert isinstance(HalfUNetDecoder(16, latent_dim=1023, output_shape=(32, 64)).decoder, UNetDecoderOnly)
    assert isinstance(HalfUNetDecoder(16, latent_dim=1024, output_shape=(32, 64)).decoder, ComplexLargeUNetDecoderOnly)
    assert isinstance(HalfUNetDecoder(2048, output_shape=(32, 64)).decoder, ComplexLargeUNetDecoderOnly)  # None -> input_dim
    assert HalfUNetDecoder(16, output_shape=(32, 64)).latent_dim == 16


def test_gradient_checkpointing_gives_same_gradients():
    torch.manual_seed(0)
    a = HalfUNetDecoder(8, output_shape=(32, 64), latent_dim=1024)
    b = HalfUNetDecoder(8, output_shape=(32, 64), latent_dim=1024, gradient_checkpointing=True)
    b.load_state_dict(a.state_dict())
    z = torch.randn(3, 8)
    a(z).square().mean().backward()
    b(z).square().mean().backward()
    for (n, p), q in zip(a.named_parameters(), b.parameters()):
        torch.testing.assert_close(p.grad, q.grad, rtol=1e-4, atol=1e-6, msg=n)


def _data(n=80, c=1, seed=0):
    g = torch.Generator().manual_seed(seed)
    z = torch.randn(n, 6, generator=g)
    y = torch.sigmoid(z[:, :c, None, None] + 0.1 * torch.randn(n, c, 16, 32, generator=g))
    return z, y


@pytest.mark.parametrize("loss_fn", ["mse", "l1", "bce", "l1_ssim"])
def test_each_loss_trains_and_returns_shapes(loss_fn):
    z, y = _data()
    tl, vl, pred, dec = halfunet_decoding(z[:60], z[60:], y[:60], y[60:], loss_fn=loss_fn, return_decoder=True, **SMALL)
    assert np.isfinite(tl) and np.isfinite(vl)
    assert pred.shape == (20, 1, 16, 32) and pred.device.type == "cpu"
    if loss_fn == "bce":
        assert pred.min() >= 0 and pred.max() <= 1
    assert dec.loss_fn == loss_fn


@pytest.mark.parametrize("shape, channels", [((32, 64), 1), ((20, 24), 3), ((6, 10), 1)])
def test_torch_ssim_equals_scikit_image(shape, channels):
    """The training loss's SSIM is the reported metric (skimage defaults; small windows
    for small images), so optimising one optimises the other."""
    from skimage.metrics import structural_similarity

    from neurocine.decoders.ssim import ssim

    g = torch.Generator().manual_seed(0)
    target = torch.rand((3, channels) + shape, generator=g, dtype=torch.float64)
    pred = (target + 0.3 * torch.randn(target.shape, generator=g, dtype=torch.float64)).clamp(0, 1)
    ours = ssim(pred, target, data_range=1.0).numpy()
    theirs = image_metrics(pred, target, data_range=1.0)["per_frame"]["ssim"]
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-6)
    if min(shape) >= 7:
        kw = dict(channel_axis=0) if channels > 1 else {}
        ref = structural_similarity(target[0].squeeze(0).numpy(), pred[0].squeeze(0).numpy(), data_range=1.0, **kw)
        assert abs(ours[0] - ref) < 1e-6
    assert float(ssim(target, target, 1.0).min()) == pytest.approx(1.0)


def test_input_noise_augments_training_only():
    """Noise changes the fitted decoder; without it a seeded fit is reproducible."""
    z, y = _data()
    kw = dict(SMALL, num_epochs=1, mixed_precision=False)
    _, _, noisy = halfunet_decoding(z[:60], z[60:], y[:60], y[60:], input_noise=1.0, **kw)
    _, _, clean = halfunet_decoding(z[:60], z[60:], y[:60], y[60:], input_noise=0.0, **kw)
    _, _, again = halfunet_decoding(z[:60], z[60:], y[:60], y[60:], input_noise=0.0, **kw)
    assert torch.equal(clean, again)
    assert (noisy - clean).abs().max() > 1e-3


def test_numpy_inputs_three_channels_and_hw_targets():
    z, y = _data(c=3)
    tl, vl, pred = halfunet_decoding(z[:60].numpy(), z[60:].numpy(), y[:60].numpy(), y[60:].numpy(),
                                     output_channels=3, **SMALL)
    assert pred.shape == (20, 3, 16, 32)
    z, y = _data()
    _, _, pred = halfunet_decoding(z[:60], z[60:], y[:60, 0], y[60:, 0], **SMALL)  # (N, H, W) targets
    assert pred.shape == (20, 1, 16, 32)


def test_dict_multi_session_input_with_n_run():
    z, y = _data(n=120)
    emb_tr = {0: [z[:30], z[30:60]], 1: [z[60:90], z[90:120]]}
    lab_tr = {0: [y[:30], y[30:60]], 1: [y[60:90], y[90:120]]}
    emb_va = {0: [z[:10], z[10:20]], 1: [z[20:30], z[30:40]]}
    lab_va = {0: [y[:10], y[10:20]], 1: [y[20:30], y[30:40]]}
    _, _, pred = halfunet_decoding(emb_tr, emb_va, lab_tr, lab_va, n_run=1, **SMALL)
    assert pred.shape == (20, 1, 16, 32)
    with pytest.raises(ValueError, match="pass n_run"):
        halfunet_decoding(emb_tr, emb_va, lab_tr, lab_va, **SMALL)
    with pytest.raises(ValueError, match="n_run=5 is out of range"):
        halfunet_decoding(emb_tr, emb_va, lab_tr, lab_va, n_run=5, **SMALL)


@pytest.mark.parametrize("change, message", [
    (dict(output_channels=3, y_hw=True), r"Expected output with 3 channels, but got shape \(batch, H, W\)"),
    (dict(output_channels=3), "Expected output with 3 channels, but label_train has 1"),
    (dict(loss_fn="huber"), "unknown loss_fn 'huber'; choose one of mse, l1, bce, l1_ssim"),
    (dict(n_train_labels=50), "embedding_train has 60 samples but label_train 50"),
    (dict(n_valid_labels=5), "embedding_valid has 20 samples but label_valid 5"),
    (dict(output_shape=(32, 32)), r"label_train frames are 16x32 but output_shape=\(32, 32\)"),
    (dict(loss_fn="bce", scale=3.0), r"needs targets in \[0, 1\]"),
    (dict(embedding_rank=3), r"embedding_train must be \(N, D\)"),
    (dict(valid_dim=5), "embedding_train has dimension 6 but embedding_valid 5"),
    (dict(nan=True), "label_train contains NaN/inf"),
])
def test_error_messages(change, message):
    z, y = _data()
    x_tr, x_va, y_tr, y_va = z[:60], z[60:], y[:60] * change.get("scale", 1.0), y[60:]
    if change.get("y_hw"):
        y_tr, y_va = y_tr[:, 0], y_va[:, 0]
    if "n_train_labels" in change:
        y_tr = y_tr[: change["n_train_labels"]]
    if "n_valid_labels" in change:
        y_va = y_va[: change["n_valid_labels"]]
    if change.get("embedding_rank"):
        x_tr = x_tr[:, :, None]
    if change.get("valid_dim"):
        x_va = x_va[:, : change["valid_dim"]]
    if change.get("nan"):
        y_tr = y_tr.clone()
        y_tr[0, 0, 0, 0] = float("nan")
    kw = dict(SMALL)
    kw.update({k: v for k, v in change.items() if k in ("output_channels", "loss_fn", "output_shape")})
    with pytest.raises(ValueError, match=message):
        halfunet_decoding(x_tr, x_va, y_tr, y_va, **kw)


def test_cuda_request_without_cuda_falls_back_with_warning():
    if torch.cuda.is_available():
        pytest.skip("CUDA present: nothing to fall back from")
    z, y = _data()
    with pytest.warns(RuntimeWarning, match="CUDA is not available"):
        halfunet_decoding(z[:60], z[60:], y[:60], y[60:], **{**SMALL, "device": "cuda"})


def _blobs(z, H=16, W=32):
    """A bright blob whose position is a nonlinear (tanh) function of the embedding."""
    yy, xx = torch.meshgrid(torch.arange(H).float(), torch.arange(W).float(), indexing="ij")
    cy = (torch.tanh(z[:, 0]) + 1) / 2 * (H - 1)
    cx = (torch.tanh(z[:, 1]) + 1) / 2 * (W - 1)
    return torch.exp(-((yy - cy[:, None, None]) ** 2 + (xx - cx[:, None, None]) ** 2) / 8.0)[:, None]


def test_halfunet_learns_a_nonlinear_map_better_than_ridge():
    g = torch.Generator().manual_seed(0)
    z = torch.randn(700, 8, generator=g)
    y = _blobs(z)
    _, _, pred = halfunet_decoding(z[:600], z[600:], y[:600], y[600:], num_epochs=12, batch_size=64, lr=2e-3,
                                   device="cpu", output_shape=(16, 32), progress=False)
    net = image_metrics(pred, y[600:], data_range=1.0)
    ridge = image_metrics(ridge_reconstruction(z[:600], y[:600], z[600:]), y[600:], data_range=1.0)
    assert net["ssim"] > ridge["ssim"] + 0.3, (net["ssim"], ridge["ssim"])
    assert net["pixel_r"] > ridge["pixel_r"] + 0.1 and net["psnr"] > ridge["psnr"]


def test_image_metrics_known_values():
    t = np.random.default_rng(0).random((4, 1, 16, 32))
    same = image_metrics(t, t, data_range=1.0)
    assert same["ssim"] == pytest.approx(1.0) and same["pixel_r"] == pytest.approx(1.0) and same["psnr"] == float("inf")
    noisy = image_metrics(t + 0.1, t, data_range=1.0)
    assert noisy["psnr"] == pytest.approx(20.0, abs=0.01)  # MSE 0.01 -> 20 dB
    assert noisy["per_frame"]["ssim"].shape == (4,)


def test_reconstruction_figure(tmp_path):
    t = np.random.default_rng(0).random((8, 1, 16, 32))
    path = plot_reconstructions(t, {"HalfUNet": t * 0.9, "ridge": t * 0.5}, tmp_path / "grid.png")
    assert path.exists() and path.stat().st_size > 1000


# ------------------------------------------------------------------------ frame ID
def test_knn_frame_id_and_chance():
    rng = np.random.default_rng(0)
    frames = np.tile(np.arange(100), 3)
    feats = np.stack([np.cos(frames / 100 * 2 * np.pi), np.sin(frames / 100 * 2 * np.pi)], 1) + rng.normal(0, 0.01, (300, 2))
    pred = knn_predict_frames(feats[:200], frames[:200], feats[200:], n_neighbors=3)
    assert np.mean(np.abs(pred - frames[200:]) < 3) > 0.95
    ch = chance_level(np.arange(900))
    assert ch["mean_abs_frame_error"] == pytest.approx((900 ** 2 - 1) / (3 * 900), rel=1e-6)
    assert ch["accuracy_1s"] == pytest.approx(np.mean(np.abs(np.arange(900)[:, None] - np.arange(900)[None]) < 30))


def test_evaluate_frame_id_structure():
    rng = np.random.default_rng(1)
    frames = np.tile(np.arange(900), 2)
    emb = np.stack([np.cos(frames / 900 * 6), np.sin(frames / 900 * 6), frames / 900.0], 1)
    neural = rng.normal(size=(1800, 10))
    d = {"s1": {"embedding": emb[:900], "neural": neural[:900], "frame": frames[:900]}}
    t = {"s1": {"embedding": emb[900:], "neural": neural[900:], "frame": frames[900:]}}
    res = evaluate_frame_id(d, t, embed_dim=3)
    for m in ("cebra", "raw_knn", "pca_knn", "chance"):
        assert 0 <= res[m]["accuracy_1s"] <= 1
    assert res["cebra"]["accuracy_1s"] > 0.95 and res["raw_knn"]["accuracy_1s"] < 0.3
    assert set(res["per_session"]["s1"]) == {"cebra", "raw_knn", "pca_knn", "chance"}
