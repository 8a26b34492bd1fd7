"""Image metrics and the differentiable SSIM that equals scikit-image's."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from neurocine.decoders import image_metrics


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


def test_image_metrics_known_values():
    t = np.random.default_rng(0).random((4, 1, 16, 32))
    same = image_metrics(t, t, data_range=1.0)
    assert same["ssim"] == pytest.approx(1.0) and same["pixel_r"] == pytest.approx(1.0) and same["psnr"] == 100.0
    noisy = image_metrics(t + 0.1, t, data_range=1.0)
    assert noisy["psnr"] == pytest.approx(20.0, abs=0.01)  # MSE 0.01 -> 20 dB
    assert noisy["per_frame"]["ssim"].shape == (4,)


