"""Image metrics, computed as reported: SSIM and PSNR by scikit-image, pixel correlation.

Example:
    >>> import numpy as np
    >>> x = np.random.default_rng(0).random((3, 16, 16))
    >>> m = image_metrics(x, x, data_range=1.0)
    >>> round(m["ssim"], 6), round(m["pixel_r"], 6)
    (1.0, 1.0)
"""

from __future__ import annotations

import numpy as np
import torch

#: PSNR of an exact reconstruction (infinite in theory), dB.
PSNR_CAP_DB = 100.0


def image_metrics(pred, target, data_range: float | None = None) -> dict:
    """SSIM and PSNR (scikit-image) and pixel correlation per frame, and their means.

    Args:
        pred, target: ``(N, C, H, W)`` or ``(N, H, W)`` in the same units.
        data_range: Value range of the images (default: the targets' max - min).

    Returns:
        ``{"ssim", "psnr", "pixel_r"}`` means and ``"per_frame"``: the arrays ``(N,)``.
        An exact reconstruction has infinite PSNR; it counts as ``PSNR_CAP_DB`` so means
        and intervals stay finite. SSIM of images smaller than 3x3 is undefined (NaN).
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
        ssim.append(structural_similarity(b2, a2, data_range=rng, win_size=win, **kw) if win >= 3 else np.nan)
        with np.errstate(divide="ignore"):  # identical images: PSNR = inf
            psnr.append(min(peak_signal_noise_ratio(b, a, data_range=rng), PSNR_CAP_DB))
        av, bv = a.ravel() - a.mean(), b.ravel() - b.mean()
        den = np.sqrt((av ** 2).sum() * (bv ** 2).sum())
        corr.append(float((av * bv).sum() / den) if den > 0 else 0.0)
    ssim, psnr, corr = np.array(ssim), np.array(psnr), np.array(corr)
    return {"ssim": float(ssim.mean()), "psnr": float(psnr.mean()),
            "pixel_r": float(corr.mean()), "per_frame": {"ssim": ssim, "psnr": psnr, "pixel_r": corr}}


__all__ = ["image_metrics"]
