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


__all__ = ["fit_zscore", "normalize_time", "normalize_sessions"]
