"""Uncertainty of decoding metrics: 95 % bootstrap confidence intervals over contiguous
blocks of test data.

Neighbouring samples of a recording are correlated (calcium decay, slow stimuli), so
resampling single samples would give intervals that are far too narrow. We resample
*blocks* of consecutive samples (1 s by default) with replacement, and recompute each
metric as the mean of its per-sample scores over the resampled blocks. Differences
between a model and a baseline use the same resamples for both (a paired bootstrap), so
their interval reflects the difference, not the two spreads added.

Example:
    >>> import numpy as np
    >>> scores = {"a": np.r_[np.ones(60), np.zeros(60)], "b": np.zeros(120)}
    >>> blocks = np.repeat(np.arange(4), 30)
    >>> out = block_bootstrap(scores, blocks, n_boot=200, pairs=[("a", "b")])
    >>> out["a"].value, out["a - b"].value
    (0.5, 0.5)
"""

from __future__ import annotations

import numpy as np

from neurocine.scores import Interval


def blocks_of(session_ids: np.ndarray, sample_index: np.ndarray, block_samples: int) -> np.ndarray:
    """``(n,) int64`` block id of each sample: one block per session and ``block_samples``
    consecutive recording samples (e.g. 30 = 1 s at 30 Hz)."""
    sess = np.unique(np.asarray(session_ids), return_inverse=True)[1]
    key = sess.astype(np.int64) * (int(np.max(sample_index, initial=0)) // block_samples + 2) \
        + np.asarray(sample_index, np.int64) // max(int(block_samples), 1)
    return np.unique(key, return_inverse=True)[1].astype(np.int64)


def _resampled_blocks(blocks, n_boot: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``(blocks as an array, (n_boot, n_blocks) float64 times each block is drawn)``: the
    resamples every block bootstrap of one ``seed`` shares (means, medians, pairs)."""
    blocks = np.asarray(blocks)
    n_blocks = int(blocks.max()) + 1 if len(blocks) else 0
    rng = np.random.default_rng(seed)
    counts = rng.multinomial(n_blocks, np.full(n_blocks, 1.0 / max(n_blocks, 1)), size=n_boot).astype(np.float64)
    return blocks, counts


def block_bootstrap(scores: dict[str, np.ndarray], blocks: np.ndarray, n_boot: int = 1000, seed: int = 0,
                    pairs=(), level: float = 0.95) -> dict[str, Interval]:
    """Means of per-sample scores with block-bootstrap confidence intervals.

    Args:
        scores: ``{name: (n,) per-sample score}`` (e.g. 1/0 correct, |error|, SSIM), all on
            the same samples.
        blocks: ``(n,)`` block id of each sample (:func:`blocks_of`).
        n_boot: Bootstrap resamples.
        seed: Seed of the resampling.
        pairs: ``[(a, b), ...]``: also report ``"a - b"`` (paired: the same resamples).
        level: Coverage of the interval.

    Returns:
        ``{name: Interval}`` (the mean, its interval and the bootstrap sd) including each
        ``"a - b"``.
    """
    blocks, counts = _resampled_blocks(blocks, n_boot, seed)
    n_blocks = counts.shape[1]
    size = np.bincount(blocks, minlength=n_blocks).astype(np.float64)
    denom = np.maximum(counts @ size, 1e-12)
    lo_q, hi_q = (1 - level) / 2 * 100, (1 + level) / 2 * 100

    def stats(values: np.ndarray) -> Interval:
        values = np.asarray(values, dtype=np.float64)
        sums = np.bincount(blocks, weights=values, minlength=n_blocks)
        boot = counts @ sums / denom
        return Interval(float(values.mean()) if len(values) else float("nan"),
                        (float(np.percentile(boot, lo_q)), float(np.percentile(boot, hi_q))), float(boot.std()))

    out = {name: stats(v) for name, v in scores.items()}
    for a, b in pairs:
        out[f"{a} - {b}"] = stats(np.asarray(scores[a], np.float64) - np.asarray(scores[b], np.float64))
    return out


def block_bootstrap_median(values: dict[str, np.ndarray], blocks: np.ndarray, n_boot: int = 1000, seed: int = 0,
                           level: float = 0.95) -> dict[str, Interval]:
    """Medians of per-sample values (e.g. |frame error|) with block-bootstrap intervals,
    over the same resamples as :func:`block_bootstrap` with the same ``seed``: each
    resample weighs every sample by how often its block was drawn.

    Returns:
        ``{name: Interval}`` whose value is the median.

    Example:
        >>> r = block_bootstrap_median({"e": np.arange(100.0)}, np.arange(100) // 10, n_boot=200)
        >>> r["e"].value, r["e"].ci95[0] < 49.5 < r["e"].ci95[1]
        (49.5, True)
    """
    blocks, counts = _resampled_blocks(blocks, n_boot, seed)
    lo_q, hi_q = (1 - level) / 2 * 100, (1 + level) / 2 * 100
    out = {}
    for name, v in values.items():
        v = np.asarray(v, dtype=np.float64)
        if not len(v):
            out[name] = Interval(float("nan"), (float("nan"), float("nan")))
            continue
        order = np.argsort(v, kind="stable")
        sorted_v, sorted_blocks = v[order], blocks[order]
        medians = np.empty(n_boot)
        for lo in range(0, n_boot, 64):  # (64, n) weights at a time
            w = np.cumsum(counts[lo:lo + 64][:, sorted_blocks], axis=1)
            half = w[:, -1:] / 2.0
            medians[lo:lo + 64] = sorted_v[np.minimum((w < half).sum(1), len(v) - 1)]
        out[name] = Interval(float(np.median(v)),
                             (float(np.percentile(medians, lo_q)), float(np.percentile(medians, hi_q))))
    return out


__all__ = ["block_bootstrap", "block_bootstrap_median", "blocks_of"]
