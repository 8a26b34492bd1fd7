"""Frame identification: which movie frame a held-out sample was recorded during.

Every decoder is fitted on the train split (movie samples) and compared on the same
held-out samples:

* ``knn``: the median frame of the ``k`` nearest train samples (cosine);
* ``template``: the per-frame mean response over the train repeats; the frame whose
  template correlates best with the sample (the classic population "template matching"
  decoder; optimal for stimulus-locked responses with Gaussian noise);
* ``linear``: ridge regression onto one-hot frames (a linear classifier), the ridge
  penalty chosen on the validation split;
* ``poisson_bayes`` (spike counts only): Poisson naive Bayes on each unit's count summed
  over the window.

Applied to: raw dF/F of one sample (``raw_knn``), raw dF/F over the encoder's own window
(``raw_window_knn``, ``template``, ``linear``: the encoder sees ``left + right`` samples, so
do they), a PCA of that window (``pca_knn``), and each embedding (whose best decoder is
chosen on validation). When the encoder smooths its input (``model.input_smoothing``), the
kNN, template and linear decoders also read the window smoothed the same way
(``*_smoothed``: :func:`smooth_windows`), so the model's input is a baseline's too. Chance
is the exact expectation of a uniform guess.

The protocol that compares them (valid-chosen decoders, test scored once, intervals) is
:mod:`neurocine.evaluate.frame_id`.
"""

from __future__ import annotations

import numpy as np
from sklearn.neighbors import NearestNeighbors

from neurocine.data.normalise import smoothing_matrix
from neurocine.settings import DEFAULT

ALPHAS = (1e1, 1e2, 1e3, 1e4, 1e5)


# --------------------------------------------------------------------------- features
def window_features(x: np.ndarray, segment: np.ndarray, left: int, right: int) -> np.ndarray:
    """``(T, D * (left + right)) float32``: each sample's window ``[c - left, c + right)``
    flattened, as a CEBRA encoder with that receptive field sees it (the window is
    clamped to the sample's contiguous segment, edges repeated as ``transform`` pads)."""
    T = len(x)
    offsets = np.arange(-left, right)
    idx = np.clip(np.arange(T)[:, None] + offsets[None], 0, max(T - 1, 0))
    starts = np.r_[0, np.flatnonzero(np.diff(segment) != 0) + 1]
    first = starts[np.searchsorted(starts, np.arange(T), side="right") - 1]
    last = np.r_[starts[1:], T][np.searchsorted(starts, np.arange(T), side="right") - 1] - 1
    idx = np.clip(idx, first[:, None], last[:, None])
    return np.ascontiguousarray(x[idx].reshape(T, -1), dtype=np.float32)


def smooth_windows(windows: np.ndarray, width: int, sigma: float) -> np.ndarray:
    """:func:`window_features` output ``(T, width * N)`` smoothed along each window's time
    axis as an encoder with ``model.input_smoothing = sigma`` smooths its input (the same
    :func:`~neurocine.data.normalise.smoothing_matrix`); ``sigma = 0`` returns it as is."""
    if not sigma:
        return windows
    T = len(windows)
    w = windows.reshape(T, width, -1)
    return np.ascontiguousarray(np.einsum("ij,tjn->tin", smoothing_matrix(width, sigma), w).reshape(T, -1))


# --------------------------------------------------------------------------- decoders
def knn_predict_frames(train_X: np.ndarray, train_frames: np.ndarray, test_X: np.ndarray,
                       n_neighbors: int = DEFAULT.decoding.n_neighbors, metric: str = "cosine") -> np.ndarray:
    """Median frame of the ``n_neighbors`` nearest train samples, per test sample.

    Args:
        train_X: ``(T_train, D)`` features of train movie samples.
        train_frames: ``(T_train,)`` their frame indices.
        test_X: ``(T_test, D)``.

    Returns:
        ``(T_test,) int64`` predicted frame indices.
    """
    k = min(n_neighbors, len(train_X))
    nn = NearestNeighbors(n_neighbors=k, metric=metric, algorithm="brute").fit(train_X)
    _, idx = nn.kneighbors(test_X)
    return np.round(np.median(train_frames[idx], axis=1)).astype(np.int64)


def unit_rows(x: np.ndarray) -> np.ndarray:
    """Rows centred and scaled to unit norm: ``unit_rows(a) @ unit_rows(b).T`` is the
    Pearson correlation of every row of ``a`` with every row of ``b``."""
    x = x - x.mean(axis=1, keepdims=True)
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


class FrameTemplates:
    """Per-frame mean of the train samples; predicts the frame whose template correlates
    best with a sample. Frames without train samples are never predicted.

    Example:
        >>> x = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [1.0, 0.1, 0.0]])
        >>> FrameTemplates(x, np.array([0, 1, 0])).predict(np.array([[0.9, 0.0, 0.1]])).tolist()
        [0]
    """

    def __init__(self, train_X: np.ndarray, train_frames: np.ndarray):
        frames, inverse = np.unique(train_frames, return_inverse=True)
        sums = np.zeros((len(frames), train_X.shape[1]))
        np.add.at(sums, inverse, train_X)
        self.frames = frames
        self.templates = unit_rows(sums / np.bincount(inverse)[:, None])

    def predict(self, X: np.ndarray, batch: int = 4096) -> np.ndarray:
        out = np.empty(len(X), dtype=np.int64)
        for i in range(0, len(X), batch):
            out[i:i + batch] = self.frames[np.argmax(unit_rows(X[i:i + batch]) @ self.templates.T, axis=1)]
        return out


def window_counts(counts: np.ndarray, segment: np.ndarray, left: int, right: int) -> np.ndarray:
    """``(T, N) float32``: each unit's spike count summed over the sample's window
    ``[c - left, c + right)`` (the encoder's receptive field, clamped to its segment as
    :func:`window_features`)."""
    W = left + right
    return window_features(counts, segment, left, right).reshape(len(counts), W, -1).sum(1)


class PoissonBayesFrames:
    """Poisson naive Bayes over frames: each unit's count in the window is Poisson with a
    rate per frame (its mean over the train repeats, smoothed towards the unit's mean rate),
    units independent, frames equally likely; predicts the frame of the largest likelihood.
    The decoder of CEBRA's supplementary tables and of the Allen platform's own decoding of
    spikes, and the optimal one when the counts are Poisson given the frame.

    Args:
        train_counts: ``(T_train, N)`` non-negative counts (e.g. :func:`window_counts`).
        train_frames: ``(T_train,)`` their frames.
        prior_samples: Weight of the unit's mean rate in each frame's rate, in samples (a
            frame seen 9 times with no spike keeps a small rate, not zero).

    Example:
        >>> X = np.array([[5.0, 0.0], [4.0, 1.0], [0.0, 6.0], [1.0, 5.0]])
        >>> PoissonBayesFrames(X, np.array([0, 0, 1, 1])).predict(np.array([[6.0, 0.0], [0.0, 4.0]])).tolist()
        [0, 1]
    """

    def __init__(self, train_counts: np.ndarray, train_frames: np.ndarray, prior_samples: float = 1.0):
        self.frames, inverse = np.unique(train_frames, return_inverse=True)
        X = np.asarray(train_counts, dtype=np.float64)
        sums = np.zeros((len(self.frames), X.shape[1]))
        np.add.at(sums, inverse, X)
        n = np.bincount(inverse, minlength=len(self.frames)).astype(np.float64)[:, None]
        overall = (X.mean(0) + 1e-3)[None]  # a silent unit keeps a tiny rate
        rate = (sums + prior_samples * overall) / (n + prior_samples)
        self.log_rate = np.log(rate).T  # (N, F)
        self.total_rate = rate.sum(1)  # (F,)

    def predict(self, X: np.ndarray, batch: int = 4096) -> np.ndarray:
        out = np.empty(len(X), dtype=np.int64)
        for i in range(0, len(X), batch):
            loglik = np.asarray(X[i:i + batch], dtype=np.float64) @ self.log_rate - self.total_rate[None]
            out[i:i + batch] = self.frames[np.argmax(loglik, axis=1)]
        return out


class EigenRidge:
    """Ridge regression of targets on features, solved once by an eigendecomposition of
    the centred features' Gram matrix, so every penalty in ``alphas`` costs one matrix
    product (choose one on held-out data, then :meth:`predict`).

    Args:
        X: ``(T, D)`` features (centred here).
        XtY: ``(D, K)`` the centred features times the targets, ``(X - mean).T @ Y``.
        alphas: Penalties to choose among; the middle one until a caller sets ``alpha``.
        offset: ``(K,)`` added to every prediction (the targets' mean for an intercept).
    """

    def __init__(self, X: np.ndarray, XtY: np.ndarray, alphas=ALPHAS, offset=0.0):
        X = X.astype(np.float64)
        self.mean = X.mean(0)
        X = X - self.mean
        self.evals, self.evecs = np.linalg.eigh(X.T @ X)
        self.proj = self.evecs.T @ XtY  # V^T X^T Y
        self.alphas = tuple(alphas)
        self.alpha = self.alphas[len(self.alphas) // 2]
        self.offset = offset

    def weights(self, alpha: float | None = None) -> np.ndarray:
        alpha = self.alpha if alpha is None else alpha
        return self.evecs @ (self.proj / (np.maximum(self.evals, 0) + alpha)[:, None])

    def predict(self, X: np.ndarray, alpha: float | None = None) -> np.ndarray:
        return (X.astype(np.float64) - self.mean) @ self.weights(alpha) + self.offset


class RidgeFrames(EigenRidge):
    """Ridge regression onto one-hot frames (a linear classifier); predicts the frame of
    the largest output. Every penalty in ``alphas`` costs one matrix product
    (:class:`EigenRidge`); :meth:`select` picks one on held-out data."""

    def __init__(self, train_X: np.ndarray, train_frames: np.ndarray, alphas=ALPHAS):
        frames, inverse = np.unique(train_frames, return_inverse=True)
        X = train_X.astype(np.float64)
        onehot_sum = np.zeros((len(frames), X.shape[1]))
        np.add.at(onehot_sum, inverse, X - X.mean(0))  # X^T Y, by frame
        super().__init__(X, onehot_sum.T, alphas)
        self.frames = frames

    def predict(self, X: np.ndarray, alpha: float | None = None) -> np.ndarray:
        return self.frames[np.argmax(super().predict(X, alpha), axis=1)]

    def select(self, X: np.ndarray, frames: np.ndarray, tolerance: int) -> "RidgeFrames":
        """Keep the penalty with the best accuracy on ``(X, frames)`` (validation data)."""
        scores = [np.mean(np.abs(self.predict(X, a) - frames) < tolerance) for a in self.alphas]
        self.alpha = self.alphas[int(np.argmax(scores))]
        return self


__all__ = ["knn_predict_frames", "FrameTemplates", "EigenRidge", "RidgeFrames", "PoissonBayesFrames", "window_features",
           "window_counts", "smooth_windows", "unit_rows", "ALPHAS"]
