"""Features of images for decoders and for image-feature labels: a fixed Gabor-energy bank
(scikit-image kernels) and per-frame features fitted on the frames a model may see.

Example:
    >>> import numpy as np
    >>> gabor_energy(np.random.default_rng(0).random((2, 16, 16)), (0.25,), (2, 2)).shape
    (2, 16)
"""

from __future__ import annotations

import numpy as np


def gabor_energy(images, frequencies, grid: tuple[int, int]) -> np.ndarray:
    """``(n, len(frequencies) * 4 * gy * gx)`` float64: the energy of a fixed Gabor bank
    (scikit-image kernels, 4 orientations per frequency, reflected borders), averaged over
    a ``grid = (gy, gx)`` of blocks of each ``(H, W)`` image (rows and columns beyond a
    multiple of the grid are dropped)."""
    from scipy.ndimage import convolve  # noqa: PLC0415
    from skimage.filters import gabor_kernel  # noqa: PLC0415

    ims = np.asarray(images, dtype=np.float64)
    n, H, W = ims.shape
    gy, gx = grid
    by, bx = H // gy, W // gx
    out = []
    for freq in frequencies:
        for theta in np.arange(4) * np.pi / 4:
            k = gabor_kernel(freq, theta=theta)
            energy = np.hypot(np.stack([convolve(im, np.real(k), mode="reflect") for im in ims]),
                              np.stack([convolve(im, np.imag(k), mode="reflect") for im in ims]))
            blocks = energy[:, :gy * by, :gx * bx].reshape(n, gy, by, gx, bx)
            out.append(blocks.mean((2, 4)).reshape(n, -1))
    return np.hstack(out)


def frame_features(movie: np.ndarray, seen: np.ndarray, kind: str, dims: int) -> np.ndarray:
    """``(K, dims)`` float64 features of every frame of ``movie`` ``(K, H, W)``, fitted on the
    ``seen`` frames only: ``"pca"`` (pixel PCA scores: distances are pixel distances in the
    subspace) or ``"gabor"`` (a Gabor-energy bank, 4 orientations x 2 frequencies, averaged on
    a 4x8 grid, then PCA). Held-out frames get features too, but no training sample shows
    them."""
    from sklearn.decomposition import PCA  # noqa: PLC0415

    if kind == "pca":
        flat = movie.reshape(len(movie), -1)
    elif kind == "gabor":
        flat = gabor_energy(movie, (0.1, 0.25), (4, 8))
    else:
        raise ValueError(f"image features {kind!r}: expected 'pca' or 'gabor'")
    return PCA(dims, random_state=0).fit(flat[seen]).transform(flat).astype(np.float64)


__all__ = ["gabor_energy", "frame_features"]
