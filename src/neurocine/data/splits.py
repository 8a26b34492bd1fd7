"""One split of a session as the arrays training and decoding read (:class:`SplitData`),
and the operations on them: cut, normalise, keep rows, pad sessions together, and a lazy
view for distributed runs."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from neurocine.data.normalise import as_counts, fit_zscore, normalize_time
from neurocine.io import read_session
from neurocine.session import Session, placeholder_traces
from neurocine.stimuli import LABELS, label_spec, spec_for


@dataclass
class SplitData:
    """One split of one session (or, in ``pad`` mode, of all sessions concatenated).

    Attributes:
        session_id: Session id (``"pad"`` for padded data).
        neural: ``(T_split, N) float32``, z-scored dF/F when normalised.
        time: ``(T_split,) float32``: [0, 1] over the session domain when
            ``normalize_time``, else seconds.
        index: ``(T_split,) int64`` sample index in the session.
        segment: ``(T_split,) int64`` id of the contiguous run of samples each belongs to;
            a model window never crosses a segment boundary.
        labels: ``{name: (T_split,) array}``, the session's label table cut to the split
            (see :mod:`neurocine.stimuli`).
        session_index: ``(T_split,) int64`` session of each sample (0 unless ``pad``).
        num_neurons: Per-session neuron counts (``pad``: before padding).
        sampling_rate: Hz (of the first session, in ``pad`` mode).
        zscore: ``(mean (N,), std (N,))`` that normalised ``neural`` (None: not normalised):
            ``neural * std + mean`` gives back what the file holds (spike counts for a
            count decoder).
        modality: The session's signal, ``"dff"`` or ``"spikes"`` (``pad``: ``"spikes"``
            only when every session is).
    """

    session_id: str
    neural: np.ndarray
    time: np.ndarray
    index: np.ndarray
    segment: np.ndarray
    labels: dict
    session_index: np.ndarray
    num_neurons: tuple[int, ...]
    sampling_rate: float = 30.0
    zscore: tuple | None = None
    modality: str = "dff"

    def __len__(self) -> int:
        return int(self.neural.shape[0])

    def counts(self) -> np.ndarray | None:
        """``(T_split, N) float32`` spike counts as the file holds them, or None when the
        data are not non-negative integers (dF/F)."""
        raw = self.neural if self.zscore is None else self.neural * self.zscore[1] + self.zscore[0]
        return as_counts(raw, atol=1e-3)

    @property
    def shape(self) -> tuple[int, int]:
        return tuple(self.neural.shape)

    def label(self, name: str) -> np.ndarray:
        """``(T_split,)`` values of label ``name`` (its fill value where absent)."""
        if name in self.labels:
            return self.labels[name]
        return label_spec(name).empty(len(self))


def contiguous_segments(index: np.ndarray) -> np.ndarray:
    """``(T,) int64`` run id: increments wherever consecutive indices are not adjacent."""
    if len(index) == 0:
        return np.zeros(0, dtype=np.int64)
    return np.concatenate([[0], np.cumsum(np.diff(index) != 1)]).astype(np.int64)


def session_split(session: Session, split: str, time_normalized: bool = True, session_index: int = 0) -> SplitData:
    """Cut ``split`` (``train``/``valid``/``test``/``all``) out of one session."""
    mask = session.mask(split)
    idx = np.flatnonzero(mask)
    t = normalize_time(session.timestamps, session.domain) if time_normalized else session.timestamps.astype(np.float32)
    if session.has_traces:
        neural = np.ascontiguousarray(session.traces[idx], dtype=np.float32)
    else:  # labels-only session: keep the placeholder (no memory)
        neural = placeholder_traces(len(idx), session.num_neurons)
    return SplitData(
        session_id=session.session_id, neural=neural,
        time=t[idx], index=idx.astype(np.int64), segment=contiguous_segments(idx),
        labels={name: values[idx] for name, values in session.labels.items()},
        session_index=np.full(len(idx), session_index, dtype=np.int64), num_neurons=(session.num_neurons,),
        sampling_rate=float(session.sampling_rate), modality=session.modality)


def keep_rows(part: SplitData, keep: np.ndarray) -> SplitData:
    """``part`` without the rows where ``keep`` is False; segments are recomputed, so no
    window bridges the removed rows."""
    idx = np.flatnonzero(keep)
    return replace(part, neural=part.neural[idx], time=part.time[idx], index=part.index[idx],
                   segment=contiguous_segments(part.index[idx]), labels={k: v[idx] for k, v in part.labels.items()},
                   session_index=part.session_index[idx])


def training_rows(parts, train_on: str = "movie"):
    """The rows that train an embedding (``dataset.train_on``): ``"movie"`` keeps the samples
    of movies (frame labels) of each part that has any, ``"all"`` keeps every row."""
    if train_on == "all":
        return parts

    def keep(part):
        mask = np.zeros(len(part), dtype=bool)
        for name, spec in LABELS.items():
            if spec.kind == "frame" and name in part.labels:
                mask |= spec.present(part.labels[name])
        return keep_rows(part, mask) if mask.any() else part

    return [keep(p) for p in parts]


def split_sessions(sessions: list[Session], split: str = "train", time_normalized: bool = True) -> list[SplitData]:
    """One :class:`SplitData` per session (the ``separate`` mode)."""
    return [session_split(s, split, time_normalized, i) for i, s in enumerate(sessions)]


def normalized_splits(sessions: list[Session], split: str = "train", zscore: bool = True,
                      time_normalized: bool = True) -> list[SplitData]:
    """One :class:`SplitData` per raw session, z-scored with that session's **train-split**
    statistics. Only the split's rows are copied and scaled (the result equals
    ``split_sessions(normalize_sessions(sessions), split)`` without a full-session copy)."""
    parts = []
    for i, s in enumerate(sessions):
        part = session_split(s, split, time_normalized, i)
        if zscore and s.has_traces:
            mean, std = fit_zscore(s.traces, s.train_mask)
            part.neural -= mean
            part.neural /= std
            part.zscore = (mean, std)
        parts.append(part)
    return parts


class LazySplits:
    """One split of every session in ``files``, as a sequence of :class:`SplitData`: the
    sessions in ``held`` (position -> normalised SplitData) from memory, the others read
    from their file (labels only, placeholder traces) on each access and not kept.

    A distributed rank passes this to ``CEBRA.fit`` so that it never holds every session's
    labels at once: memory per process stays that of its own sessions."""

    def __init__(self, files: list[Path], split: str, held: dict[int, SplitData], time_normalized: bool = True,
                 options: dict | None = None):
        self.files, self.split, self.held, self.time_normalized = list(files), split, held, time_normalized
        self.options = dict(options or {})  # the reading options (spikes: bin width, areas, ...)

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, i: int) -> SplitData:
        if not -len(self) <= i < len(self):
            raise IndexError(i)
        i = i % len(self)
        if i in self.held:
            return self.held[i]
        return session_split(read_session(self.files[i], traces=False, **self.options), self.split,
                             self.time_normalized, i)

    def __iter__(self):
        return (self[i] for i in range(len(self)))


def pad_splits(parts: list[SplitData]) -> SplitData:
    """Concatenate per-session splits, zero-padding neurons to the largest N (``pad`` mode).

    Segments are renumbered so no run spans two sessions.
    """
    n_max = max(p.neural.shape[1] for p in parts)
    neural = np.zeros((sum(len(p) for p in parts), n_max), dtype=np.float32)
    row, seg_offset, segs = 0, 0, []
    for p in parts:
        neural[row:row + len(p), :p.neural.shape[1]] = p.neural
        row += len(p)
        segs.append(p.segment + seg_offset)
        seg_offset += int(p.segment.max()) + 1 if len(p) else 0
    cat = lambda name: np.concatenate([getattr(p, name) for p in parts])  # noqa: E731
    names = list(dict.fromkeys(n for p in parts for n in p.labels))
    labels = {}
    for n in names:
        spec = spec_for(n, next(p.labels[n] for p in parts if n in p.labels))
        labels[n] = np.concatenate([p.labels[n] if n in p.labels else spec.empty(len(p)) for p in parts])
    return SplitData(session_id="pad", neural=neural, time=cat("time"), index=cat("index"),
                     segment=np.concatenate(segs), labels=labels, session_index=cat("session_index"),
                     num_neurons=tuple(n for p in parts for n in p.num_neurons), sampling_rate=parts[0].sampling_rate,
                     modality="spikes" if all(p.modality == "spikes" for p in parts) else "dff")


__all__ = ["SplitData", "contiguous_segments", "session_split", "keep_rows", "training_rows", "split_sessions",
           "normalized_splits", "LazySplits", "pad_splits"]
