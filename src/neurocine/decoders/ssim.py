"""Differentiable SSIM in PyTorch, computed as scikit-image's ``structural_similarity`` does
with its defaults (7x7 uniform window, sample covariance, K1=0.01, K2=0.03, mean over the
window-valid region), so a decoder trained on it optimises the number we report.

Example:
    >>> import torch
    >>> x = torch.rand(2, 1, 16, 16)
    >>> float(ssim(x, x, data_range=1.0).mean())
    1.0
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def ssim(pred: torch.Tensor, target: torch.Tensor, data_range: float, win_size: int = 7,
         k1: float = 0.01, k2: float = 0.03) -> torch.Tensor:
    """SSIM per image.

    Args:
        pred, target: ``(B, C, H, W)`` float images in the same units.
        data_range: Value range of the images (e.g. 1.0 for [0, 1] frames).
        win_size: Odd side of the uniform window (shrunk for images smaller than it).

    Returns:
        ``(B,)`` SSIM, the mean over channels and window positions.
    """
    if pred.shape != target.shape or pred.ndim != 4:
        raise ValueError(f"ssim needs two (B, C, H, W) tensors of one shape, got {tuple(pred.shape)} "
                         f"and {tuple(target.shape)}")
    win = min(win_size, min(pred.shape[-2:]) // 2 * 2 - 1) if min(pred.shape[-2:]) < win_size else win_size
    n = win * win
    cov_norm = n / (n - 1)
    x, y = pred.float(), target.float()

    def box(t):
        return F.avg_pool2d(t, win, stride=1)

    ux, uy = box(x), box(y)
    vx = cov_norm * (box(x * x) - ux * ux)
    vy = cov_norm * (box(y * y) - uy * uy)
    vxy = cov_norm * (box(x * y) - ux * uy)
    c1, c2 = (k1 * data_range) ** 2, (k2 * data_range) ** 2
    s = ((2 * ux * uy + c1) * (2 * vxy + c2)) / ((ux * ux + uy * uy + c1) * (vx + vy + c2))
    return s.mean(dim=(1, 2, 3))


__all__ = ["ssim"]
