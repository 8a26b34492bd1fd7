"""Training a HalfUNet decoder (``halfunet_decoding``), image metrics, the ridge baseline
and the seed's originals-over-reconstructions figure.

Example:
    >>> import torch
    >>> z = torch.randn(64, 8)
    >>> imgs = torch.sigmoid(z[:, :1, None, None] * torch.ones(1, 1, 16, 32))
    >>> tl, vl, pred = halfunet_decoding(z[:48], z[48:], imgs[:48], imgs[48:], num_epochs=2,
    ...                                  device="cpu", output_shape=(16, 32), progress=False)
    >>> tuple(pred.shape)
    (16, 1, 16, 32)
"""

from __future__ import annotations

import contextlib
import math
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from neurocine.decoders.halfunet import HalfUNetDecoder
from neurocine.decoders.ssim import ssim

LOSSES = ("mse", "l1", "bce", "l1_ssim")
SSIM_WEIGHT = 0.84  # l1_ssim = 0.84 (1 - SSIM) + 0.16 L1, the mix of Zhao et al. 2017 (IEEE TCI)


def _to_tensor(x, name: str) -> torch.Tensor:
    if isinstance(x, torch.Tensor):
        return x.detach().float().cpu()
    try:
        return torch.as_tensor(np.asarray(x), dtype=torch.float32)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name}: expected a torch tensor or numpy array, got {type(x).__name__}") from exc


def _select_run(x, n_run, name: str):
    """The seed's multi-session dict input ``{key: [run tensors]}``: take run ``n_run`` of
    every key and concatenate the keys (in sorted order)."""
    if not isinstance(x, dict):
        return x
    if n_run is None:
        raise ValueError(f"{name} is a dict of runs per session; pass n_run to choose the run")
    parts = []
    for key in sorted(x):
        runs = x[key]
        if not isinstance(runs, (list, tuple)) or not (-len(runs) <= n_run < len(runs)):
            raise ValueError(f"{name}[{key!r}] has {len(runs) if isinstance(runs, (list, tuple)) else 'no'} runs; "
                             f"n_run={n_run} is out of range")
        parts.append(_to_tensor(runs[n_run], f"{name}[{key!r}][{n_run}]"))
    return torch.cat(parts)


def _targets(y: torch.Tensor, output_channels: int, output_shape, name: str) -> torch.Tensor:
    if y.ndim == 3:
        if output_channels != 1:
            raise ValueError(f"Expected output with {output_channels} channels, but got shape (batch, H, W) "
                             f"for {name} {tuple(y.shape)}")
        y = y[:, None]
    if y.ndim != 4:
        raise ValueError(f"{name} must be (N, C, H, W) or (N, H, W), got shape {tuple(y.shape)}")
    if y.shape[1] != output_channels:
        raise ValueError(f"Expected output with {output_channels} channels, but {name} has {y.shape[1]} "
                         f"(shape {tuple(y.shape)})")
    if tuple(y.shape[2:]) != tuple(output_shape):
        raise ValueError(f"{name} frames are {y.shape[2]}x{y.shape[3]} but output_shape={tuple(output_shape)}; "
                         "resize the targets or set output_shape to match")
    if not torch.isfinite(y).all():
        raise ValueError(f"{name} contains NaN/inf values")
    return y


def halfunet_decoding(embedding_train, embedding_valid, label_train, label_valid, num_epochs: int = 100,
                      lr: float = 0.001, batch_size: int = 32, device: str = "cuda", output_channels: int = 1,
                      output_shape=(128, 256), latent_dim: int | None = None, n_run: int | None = None,
                      loss_fn: str = "mse", *, patience: int | None = 10, seed: int = 0, weight_decay: float = 1e-4,
                      gradient_checkpointing: bool = False, mixed_precision: bool = True, progress: bool = True,
                      return_decoder: bool = False, input_noise: float = 0.0):
    """Train a :class:`HalfUNetDecoder` from embeddings to images.

    Args:
        embedding_train, embedding_valid: ``(N, D)`` tensors/arrays, or the seed's dict
            ``{session: [run tensors]}`` (with ``n_run``).
        label_train, label_valid: Target images ``(N, C, H, W)`` or ``(N, H, W)`` (or dicts).
        num_epochs: Maximum epochs (early stopping may end sooner).
        lr: Peak AdamW learning rate (cosine schedule to 0).
        batch_size: Images per step.
        device: ``cuda`` falls back to the CPU with a warning when CUDA is absent.
        output_channels, output_shape, latent_dim: See :class:`HalfUNetDecoder`.
        n_run: Which run of dict inputs.
        loss_fn: ``mse``, ``l1`` (on standardised targets, linear output), ``bce``
            (targets in [0, 1], sigmoid output), or ``l1_ssim``: ``0.84 (1 - SSIM) +
            0.16 L1``, SSIM computed as :func:`image_metrics` reports it (over the training
            targets' value range), which gives sharper frames than a pixel loss alone.
        patience: Epochs without valid improvement before stopping (None: never).
        seed: Seed of initialisation and shuffling.
        gradient_checkpointing, mixed_precision: Memory and speed (bf16 autocast on CUDA).
        progress: tqdm bar.
        return_decoder: Also return the fitted decoder (best weights).
        input_noise: Std of Gaussian noise added to the training embeddings, in units of
            their std over all dimensions (augmentation: the decoder learns the mean frame
            of an embedding's neighbourhood instead of memorising training samples; 1.0
            is a good start for CEBRA embeddings; 0 disables).

    Returns:
        ``(train_loss, valid_loss, predictions)``: the last epoch's train loss, the best
        validation loss (both in the units of the targets) and the validation predictions
        at the best epoch, a CPU tensor ``(N_valid, C, H, W)``; with ``return_decoder``,
        the decoder as a fourth element. The decoder's ``target_mean`` / ``target_std``
        attributes map its raw output back to target units (done for the predictions).
    """
    from tqdm.auto import tqdm

    from neurocine.embed.models import resolve_device

    if loss_fn not in LOSSES:
        raise ValueError(f"unknown loss_fn {loss_fn!r}; choose one of {', '.join(LOSSES)}")
    x_tr = _to_tensor(_select_run(embedding_train, n_run, "embedding_train"), "embedding_train")
    x_va = _to_tensor(_select_run(embedding_valid, n_run, "embedding_valid"), "embedding_valid")
    y_tr = _to_tensor(_select_run(label_train, n_run, "label_train"), "label_train")
    y_va = _to_tensor(_select_run(label_valid, n_run, "label_valid"), "label_valid")
    for name, x in (("embedding_train", x_tr), ("embedding_valid", x_va)):
        if x.ndim != 2:
            raise ValueError(f"{name} must be (N, D), got shape {tuple(x.shape)}")
        if not torch.isfinite(x).all():
            raise ValueError(f"{name} contains NaN/inf values")
    if x_tr.shape[1] != x_va.shape[1]:
        raise ValueError(f"embedding_train has dimension {x_tr.shape[1]} but embedding_valid {x_va.shape[1]}")
    if len(x_tr) != len(y_tr):
        raise ValueError(f"embedding_train has {len(x_tr)} samples but label_train {len(y_tr)}")
    if len(x_va) != len(y_va):
        raise ValueError(f"embedding_valid has {len(x_va)} samples but label_valid {len(y_va)}")
    if len(x_tr) == 0 or len(x_va) == 0:
        raise ValueError("embedding_train and embedding_valid must not be empty")
    y_tr = _targets(y_tr, output_channels, output_shape, "label_train")
    y_va = _targets(y_va, output_channels, output_shape, "label_valid")
    if loss_fn == "bce" and (y_tr.min() < 0 or y_tr.max() > 1 or y_va.min() < 0 or y_va.max() > 1):
        raise ValueError("loss_fn='bce' needs targets in [0, 1]; scale them (e.g. uint8 / 255) or use 'mse'")

    dev = resolve_device(device)
    torch.manual_seed(seed)
    decoder = HalfUNetDecoder(x_tr.shape[1], output_channels, output_shape, latent_dim,
                              gradient_checkpointing=gradient_checkpointing).to(dev)
    if loss_fn == "bce":
        mean, std = 0.0, 1.0
    else:
        mean, std = float(y_tr.mean()), float(y_tr.std().clamp(min=1e-8))
    decoder.target_mean, decoder.target_std, decoder.loss_fn = mean, std, loss_fn
    data_range = float(y_tr.max() - y_tr.min()) or 1.0

    def loss_of(out, target):  # out: raw decoder output; target: original units
        if loss_fn == "bce":
            return F.binary_cross_entropy_with_logits(out.float(), target)
        z = (target - mean) / std
        if loss_fn == "mse":
            return F.mse_loss(out.float(), z)
        l1 = F.l1_loss(out.float(), z)
        if loss_fn == "l1":
            return l1
        structural = 1 - ssim(out.float() * std + mean, target, data_range).mean()
        return SSIM_WEIGHT * structural + (1 - SSIM_WEIGHT) * l1

    def to_units(loss_value: float) -> float:
        if loss_fn == "mse":
            return loss_value * std ** 2
        if loss_fn == "l1":
            return loss_value * std
        return loss_value

    def predict(x):
        decoder.eval()
        outs = []
        with torch.no_grad(), autocast():
            for i in range(0, len(x), max(batch_size, 64)):
                outs.append(decoder(x[i:i + max(batch_size, 64)].to(dev)).float().cpu())
        decoder.train()
        out = torch.cat(outs)
        return torch.sigmoid(out) if loss_fn == "bce" else out * std + mean, out

    def autocast():
        if mixed_precision and dev.type == "cuda":
            return torch.autocast("cuda", dtype=torch.bfloat16)
        return contextlib.nullcontext()

    steps_per_epoch = math.ceil(len(x_tr) / batch_size)
    optimizer = torch.optim.AdamW(decoder.parameters(), lr=lr, weight_decay=weight_decay)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(1, num_epochs * steps_per_epoch))
    g = torch.Generator().manual_seed(seed)
    noise_std = float(input_noise) * float(x_tr.std())
    best = (math.inf, None, None)
    bad = 0
    train_loss = math.nan
    bar = tqdm(range(num_epochs), desc="halfunet", unit="epoch", disable=not progress, mininterval=1.0)
    for epoch in bar:
        perm = torch.randperm(len(x_tr), generator=g)
        total = 0.0
        for i in range(steps_per_epoch):
            idx = perm[i * batch_size:(i + 1) * batch_size]
            xb, yb = x_tr[idx].to(dev), y_tr[idx].to(dev)
            if noise_std > 0:
                xb = xb + noise_std * torch.randn(xb.shape, generator=g).to(dev)
            with autocast():
                loss = loss_of(decoder(xb), yb)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step()
            total += float(loss.detach()) * len(idx)
        train_loss = to_units(total / len(x_tr))
        _, raw = predict(x_va)
        valid_loss = to_units(float(loss_of(raw, y_va)))
        if valid_loss < best[0]:
            best = (valid_loss, {k: v.detach().clone() for k, v in decoder.state_dict().items()}, epoch)
            bad = 0
        else:
            bad += 1
        bar.set_postfix(train=f"{train_loss:.4g}", valid=f"{valid_loss:.4g}", refresh=False)
        if patience is not None and bad >= patience:
            break
    bar.close()
    decoder.load_state_dict(best[1])
    decoder.best_epoch = best[2]
    predictions, _ = predict(x_va)
    result = (train_loss, best[0], predictions)
    return result + (decoder,) if return_decoder else result


def decode_images(decoder: HalfUNetDecoder, embeddings, batch_size: int = 256) -> torch.Tensor:
    """Images in target units from a decoder returned by ``halfunet_decoding``."""
    x = _to_tensor(embeddings, "embeddings")
    dev = next(decoder.parameters()).device
    decoder.eval()
    outs = []
    with torch.no_grad():
        for i in range(0, len(x), batch_size):
            outs.append(decoder(x[i:i + batch_size].to(dev)).float().cpu())
    out = torch.cat(outs)
    if getattr(decoder, "loss_fn", "mse") == "bce":
        return torch.sigmoid(out)
    return out * getattr(decoder, "target_std", 1.0) + getattr(decoder, "target_mean", 0.0)


# ------------------------------------------------------------------------- metrics
def image_metrics(pred, target, data_range: float | None = None) -> dict:
    """SSIM and PSNR (scikit-image) and pixel correlation per frame, and their means.

    Args:
        pred, target: ``(N, C, H, W)`` or ``(N, H, W)`` in the same units.
        data_range: Value range of the images (default: the targets' max - min).

    Returns:
        ``{"ssim", "psnr", "pixel_r"}`` means and ``"per_frame"``: the arrays ``(N,)``.
    """
    from skimage.metrics import peak_signal_noise_ratio, structural_similarity

    p = pred.numpy() if isinstance(pred, torch.Tensor) else np.asarray(pred)
    t = target.numpy() if isinstance(target, torch.Tensor) else np.asarray(target)
    p, t = p.astype(np.float64), t.astype(np.float64)
    if p.shape != t.shape:
        raise ValueError(f"predictions {p.shape} and targets {t.shape} differ in shape")
    if p.ndim == 3:
        p, t = p[:, None], t[:, None]
    rng = float(data_range if data_range is not None else (t.max() - t.min()) or 1.0)
    ssim, psnr, corr = [], [], []
    for a, b in zip(p, t):
        kw = dict(channel_axis=0) if a.shape[0] > 1 else {}
        a2, b2 = (a, b) if a.shape[0] > 1 else (a[0], b[0])
        win = min(7, min(a2.shape[-2:]) // 2 * 2 - 1) if min(a2.shape[-2:]) < 7 else 7
        ssim.append(structural_similarity(b2, a2, data_range=rng, win_size=win, **kw))
        with np.errstate(divide="ignore"):  # identical images: PSNR = inf
            psnr.append(peak_signal_noise_ratio(b, a, data_range=rng))
        av, bv = a.ravel() - a.mean(), b.ravel() - b.mean()
        den = np.sqrt((av ** 2).sum() * (bv ** 2).sum())
        corr.append(float((av * bv).sum() / den) if den > 0 else 0.0)
    ssim, psnr, corr = np.array(ssim), np.array(psnr), np.array(corr)
    return {"ssim": float(ssim.mean()), "psnr": float(np.mean(psnr[np.isfinite(psnr)])) if np.isfinite(psnr).any() else float("inf"),
            "pixel_r": float(corr.mean()), "per_frame": {"ssim": ssim, "psnr": psnr, "pixel_r": corr}}


def ridge_reconstruction(x_train, y_train, x_test, alphas=(0.1, 1.0, 10.0, 100.0, 1000.0)) -> np.ndarray:
    """Linear baseline: ridge regression (alpha by efficient leave-one-out CV) from features
    to flattened pixels. Returns predictions shaped like ``(len(x_test),) + y_train.shape[1:]``."""
    from sklearn.linear_model import RidgeCV

    y = np.asarray(y_train, dtype=np.float64)
    model = RidgeCV(alphas=alphas).fit(np.asarray(x_train, dtype=np.float64), y.reshape(len(y), -1))
    return model.predict(np.asarray(x_test, dtype=np.float64)).reshape((len(x_test),) + y.shape[1:]).astype(np.float32)


def plot_reconstructions(originals, rows: dict, path: str | Path, n: int = 5, title: str | None = None) -> Path:
    """The seed's grid: originals on top, then one row per method (e.g. HalfUNet, ridge).

    Args:
        originals: ``(N, C, H, W)`` or ``(N, H, W)``.
        rows: ``{"HalfUNet": images, ...}`` of the same shape.
        n: Columns (frames shown, evenly spaced).
    """
    from neurocine.report.figures import plt, save_figure

    def show(img):
        img = img.numpy() if isinstance(img, torch.Tensor) else np.asarray(img)
        if img.ndim == 3:
            img = img[0] if img.shape[0] == 1 else np.moveaxis(img, 0, -1)
        return img

    N = len(originals)
    cols = np.linspace(0, N - 1, min(n, N)).astype(int)
    lo, hi = float(np.min(np.asarray(originals))), float(np.max(np.asarray(originals)))
    fig, axes = plt.subplots(1 + len(rows), len(cols), figsize=(3 * len(cols), 1.8 * (1 + len(rows))), squeeze=False)
    for j, i in enumerate(cols):
        for r, (name, imgs) in enumerate([("Original", originals)] + list(rows.items())):
            ax = axes[r, j]
            im = show(imgs[i])
            ax.imshow(np.clip((im - lo) / max(hi - lo, 1e-9), 0, 1), cmap="gray", vmin=0, vmax=1)
            ax.set_title(f"{name} {i}", fontsize=8)
            ax.axis("off")
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return save_figure(fig, Path(path))


__all__ = ["halfunet_decoding", "decode_images", "image_metrics", "ridge_reconstruction", "plot_reconstructions",
           "LOSSES"]

