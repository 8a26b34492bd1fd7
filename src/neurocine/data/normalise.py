"""Normalisation: z-scores fitted on the train split only, and session time mapped to [0, 1]."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from neurocine.session import Session


def fit_zscore(traces: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-neuron mean and std of ``traces[mask]``.

    Args:
        traces: ``(T, N)`` dF/F.
        mask: ``(T,) bool``, the samples to fit on (the train split).

    Returns:
        ``(mean (N,), std (N,))`` float32; a constant neuron gets std 1.
    """
    x = traces[mask].astype(np.float64)
    mean = x.mean(axis=0)
    std = x.std(axis=0)
    std[std < 1e-8] = 1.0
    return mean.astype(np.float32), std.astype(np.float32)


def smoothing_matrix(width: int, sigma: float) -> np.ndarray:
    """``(width, width) float32`` ``M``: ``M @ w`` smooths a window ``w`` of ``width``
    samples along time with a Gaussian of std ``sigma`` samples, cut at the window's edges
    and renormalised there (each row sums to 1: a constant rate stays the same). The one
    definition of ``model.input_smoothing``, used by the encoder and by the baselines that
    read the same smoothed window.

    Example:
        >>> m = smoothing_matrix(5, 1.0)
        >>> bool(np.allclose(m.sum(1), 1)), int(m[2].argmax()), m.shape
        (True, 2, (5, 5))
    """
    if not sigma > 0:
        raise ValueError(f"smoothing_matrix: sigma={sigma!r}, expected > 0 samples")
    lag = np.arange(width)[:, None] - np.arange(width)[None, :]
    taps = np.exp(-0.5 * (lag / float(sigma)) ** 2) * (np.abs(lag) <= np.ceil(3 * sigma))
    return (taps / taps.sum(1, keepdims=True)).astype(np.float32)


def as_counts(values: np.ndarray, atol: float = 0.0) -> np.ndarray | None:
    """``values`` as ``float32`` spike counts when they are finite non-negative integers
    (within ``atol``: a z-score undone in floating point is off by ~1e-6), else None
    (dF/F).
    The one test of "are these counts?" (a split's count decoder, an array's signal).

    Example:
        >>> as_counts(np.array([[0.0, 2.0], [1.0, 3.0]])).tolist(), as_counts(np.array([0.5, 1.0]))
        ([[0.0, 2.0], [1.0, 3.0]], None)
        >>> as_counts(np.array([0.9999999, 2.0]), atol=1e-3).tolist(), as_counts(np.array([-1.0, 2.0]))
        ([1.0, 2.0], None)
    """
    values = np.asarray(values)
    rounded = np.round(values)
    if values.size == 0 or not np.isfinite(values).all() or (rounded < 0).any() \
            or np.abs(values - rounded).max() > atol:
        return None
    return rounded.astype(np.float32)


def normalize_time(timestamps: np.ndarray, domain: tuple[float, float]) -> np.ndarray:
    """Map ``timestamps`` (s) to [0, 1] over ``domain``; ``(T,) float32``."""
    start, end = domain
    span = max(end - start, 1e-9)
    return ((timestamps - start) / span).astype(np.float32)


def normalize_sessions(sessions: list[Session], zscore: bool = True) -> list[Session]:
    """Z-score each session's traces per neuron with its **train-split** statistics
    (applied to every split, so no valid/test statistics leak into training).

    Returns new :class:`Session` objects; the inputs are not modified.
    """
    if not zscore:
        return list(sessions)
    out = []
    for s in sessions:
        if not s.has_traces:
            out.append(s)
            continue
        mean, std = fit_zscore(s.traces, s.train_mask)
        out.append(replace(s, traces=((s.traces - mean) / std).astype(np.float32)))
    return out


__all__ = ["fit_zscore", "as_counts", "normalize_time", "normalize_sessions"]
