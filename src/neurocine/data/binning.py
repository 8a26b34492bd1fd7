"""Coarser time bins: a :class:`~neurocine.Session` resampled to bins of ``bin_s`` seconds.

Many labs keep data binned more coarsely than the 30-Hz movie (dF/F averaged per second,
spike counts in 1-s or 100-ms bins). :func:`bin_session` makes such a session from a
finer one, the way those data are made: the traces of the samples in each bin averaged
(dF/F) or summed (spike counts), each label taken at the sample nearest the bin's
centre, and a bin in a split only when every one of its samples is.

Example:
    >>> import numpy as np
    >>> from neurocine import Session
    >>> T = 90
    >>> split = lambda k: np.arange(T) // 30 == k        # 1 s of train, then valid, then test
    >>> s = Session("s", np.arange(T, dtype=np.float32)[:, None], np.arange(T) / 30.0, 30.0, split(0), split(1),
    ...             split(2), (0.0, 3.0), labels={"natural_movie_one.frame": np.arange(T)})
    >>> b = bin_session(s, 1.0)
    >>> b.traces[:, 0].tolist(), b.label("natural_movie_one.frame").tolist(), b.sampling_rate
    ([14.5, 44.5, 74.5], [15, 45, 75], 1.0)
    >>> b.train_mask.tolist(), b.test_mask.tolist()
    ([True, False, False], [False, False, True])
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from neurocine.errors import ConfigError
from neurocine.session import SPLITS, Session, validate_session


def bin_session(session: Session, bin_s: float, reduce: str = "mean") -> Session:
    """``session`` in bins of ``bin_s`` seconds.

    Args:
        session: A session with traces (``(T, N)``, e.g. 30-Hz dF/F or spike counts).
        bin_s: Bin width in seconds (longer than one sample).
        reduce: ``"mean"`` (dF/F) or ``"sum"`` (spike counts).

    Returns:
        A validated :class:`Session` with ``(B, N) float32`` traces at bin centres, rate
        ``1 / bin_s``; labels at the sample nearest each bin's centre; split masks True for
        bins whose samples all lie in that split.

    Raises:
        ConfigError: ``bin_s`` not longer than one sample, or an unknown ``reduce``.
    """
    if reduce not in ("mean", "sum"):
        raise ConfigError(f"bin_session: reduce={reduce!r}, expected 'mean' (dF/F) or 'sum' (spike counts)")
    if not np.isfinite(bin_s) or bin_s * session.sampling_rate <= 1:
        raise ConfigError(f"bin_session: bin_s={bin_s!r} s, expected longer than one sample "
                          f"({1 / session.sampling_rate:.4f} s)")
    ts = session.timestamps
    which = np.floor((ts - ts[0]) / bin_s).astype(np.int64)
    bins, first, counts = np.unique(which, return_index=True, return_counts=True)
    sums = np.add.reduceat(np.asarray(session.traces, dtype=np.float64), first, axis=0)
    traces = (sums / counts[:, None] if reduce == "mean" else sums).astype(np.float32)
    centres = ts[0] + (bins + 0.5) * bin_s
    nearest = np.clip(np.searchsorted(ts, centres), 1, len(ts) - 1)
    nearest -= (centres - ts[nearest - 1]) < (ts[nearest] - centres)
    masks = {s: np.add.reduceat(session.mask(s).astype(np.int64), first) == counts for s in SPLITS}
    out = replace(session, traces=traces, timestamps=centres, sampling_rate=1.0 / bin_s,
                  train_mask=masks["train"], valid_mask=masks["valid"], test_mask=masks["test"],
                  labels={k: np.asarray(v)[nearest] for k, v in session.labels.items()})
    return validate_session(out, session.path or session.session_id)


__all__ = ["bin_session"]
