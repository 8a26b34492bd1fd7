"""The :class:`Session`: one recording, in memory, independent of its file layout."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from neurocine.errors import DataError
from neurocine.stimuli import STIMULI, derive_labels, label_spec, spec_for

SPLITS = ("train", "valid", "test")
#: Session ids name result groups and files: no path separators or odd characters.
SAFE_ID = re.compile(r"[A-Za-z0-9._-]{1,128}")


def safe_session_id(raw, where=None) -> str:
    """A session id usable as a file and group name, from any input (an npz's
    ``session_id``, a file's metadata): characters other than letters, digits, ``.``,
    ``_`` and ``-`` become ``_`` (``sub-1_ses-2+ophys`` -> ``sub-1_ses-2_ophys``), and so do
    leading dots, which would make a hidden file that ``inspect`` and ``run`` do not see
    (``../../x`` -> ``___.._x``); an id that is empty or longer than 128 characters is
    refused.

    Example:
        >>> safe_session_id("../escaped"), safe_session_id(".hidden"), safe_session_id(527745328)
        ('___escaped', '_hidden', '527745328')
    """
    text = str(raw).strip()
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", text)
    safe = re.sub(r"^\.+", lambda m: "_" * len(m.group()), safe)
    if not safe or len(safe) > 128:
        raise DataError(where, f"session id {str(raw)[:40]!r} is not usable as a file or group name; expected 1-128 "
                               "letters, digits, '.', '_' or '-'")
    return safe


def placeholder_traces(num_timepoints: int, num_neurons: int) -> np.ndarray:
    """A read-only ``(T, N) float32`` array of zeros that takes no memory (zero strides).

    It stands in for the traces of a session whose data another process holds (a rank of a
    distributed run reads only its own sessions' dF/F, and only the labels of the rest)."""
    return np.broadcast_to(np.float32(0.0), (int(num_timepoints), int(num_neurons)))


def is_placeholder(traces: np.ndarray) -> bool:
    """True for an array made by :func:`placeholder_traces` (or a row selection of one)."""
    return isinstance(traces, np.ndarray) and traces.ndim == 2 and traces.size > 0 and traces.strides == (0, 0)


@dataclass
class Session:
    """One two-photon session with a per-sample label table.

    Attributes:
        session_id: Allen ophys session id (the file stem), e.g. ``"501021421"``.
        traces: ``(T, N) float32`` dF/F, time on axis 0.
        timestamps: ``(T,) float64`` sample times in seconds.
        sampling_rate: Imaging rate in Hz (~30).
        train_mask, valid_mask, test_mask: ``(T,) bool``; True inside that split's
            trials/epochs. Most of a session (spontaneous activity, other stimuli) is in
            no split.
        domain: ``(start, end)`` of the recording in seconds.
        labels: ``{name: (T,) array}``, what was shown at each sample, by registered label
            name (:mod:`neurocine.stimuli`): ``natural_movie_one.frame`` (-1 outside the
            movie), ``drifting_gratings.direction`` (deg, NaN outside), ``running_speed``
            (cm/s), ... Derived labels (``drifting_gratings.orientation``) are added when
            their inputs are present.
        unit_ids: ``(N,)`` str ROI ids.
        layout: The file layout it was read from (``"kirby"``, ``"brainsets"``, ...).
        path: The file it was read from (None when built in memory).
        subject: Subject metadata (id, cre_line, target_area, ...), strings.
        sha256: Hex SHA-256 of the file, when it was read with ``checksum=True`` (a run's
            provenance), else None.
        simulation: What simulated the file (its simulator, seed), None for recordings.
        modality: ``"dff"`` (two-photon dF/F) or ``"spikes"`` (binned spike counts):
            every number made from the traces names it.
        metadata: What the reader found beside the traces (for spikes: the units kept and
            dropped per area, and why), JSON-able.
    """

    session_id: str
    traces: np.ndarray
    timestamps: np.ndarray
    sampling_rate: float
    train_mask: np.ndarray
    valid_mask: np.ndarray
    test_mask: np.ndarray
    domain: tuple[float, float]
    labels: dict = field(default_factory=dict)
    unit_ids: np.ndarray | None = None
    layout: str = "kirby"
    path: Path | None = None
    subject: dict = field(default_factory=dict)
    sha256: str | None = None
    simulation: dict | None = None
    modality: str = "dff"
    metadata: dict = field(default_factory=dict)

    def __post_init__(self):
        self.labels = derive_labels(self.labels)
        if self.unit_ids is None:
            self.unit_ids = np.array([f"unit_{i}" for i in range(self.traces.shape[1])], dtype=object)

    @property
    def has_traces(self) -> bool:
        """False when ``traces`` is a placeholder (read with ``traces=False``)."""
        return not is_placeholder(self.traces)

    @property
    def num_timepoints(self) -> int:
        """T, the number of samples."""
        return int(self.traces.shape[0])

    @property
    def num_neurons(self) -> int:
        """N, the number of ROIs."""
        return int(self.traces.shape[1])

    def mask(self, split: str) -> np.ndarray:
        """The ``(T,) bool`` mask of ``split`` (``"train"``, ``"valid"``, ``"test"``, or
        ``"all"`` for every sample)."""
        if split == "all":
            return np.ones(self.num_timepoints, dtype=bool)
        if split not in SPLITS:
            raise ValueError(f"unknown split {split!r}; expected one of {SPLITS + ('all',)}")
        return getattr(self, f"{split}_mask")

    def label(self, name: str) -> np.ndarray:
        """The ``(T,)`` values of label ``name``; the label's fill value (-1 / NaN)
        everywhere when this session has no such label."""
        if name in self.labels:
            return self.labels[name]
        return label_spec(name).empty(self.num_timepoints)

    def stimuli(self) -> list[str]:
        """Names of the registered stimuli with at least one labelled sample."""
        return [name for name, stim in STIMULI.items()
                if any(n in self.labels and label_spec(n).present(self.labels[n]).any() for n in stim.labels)]

    def __repr__(self) -> str:
        counts = ", ".join(f"{s}={int(self.mask(s).sum())}" for s in SPLITS)
        return (f"Session({self.session_id!r}, traces={self.traces.shape}, "
                f"{self.sampling_rate:.2f} Hz, {counts}, layout={self.layout!r})")


def interval_values(timestamps: np.ndarray, start: np.ndarray, end: np.ndarray,
                    values: np.ndarray, fill, close_gaps: float = 1e-6) -> np.ndarray:
    """Per-sample value of the interval each sample falls in.

    Args:
        timestamps: ``(T,)`` sample times, s, increasing.
        start, end: ``(K,)`` interval edges, s, sorted by start and disjoint.
        values: ``(K,)`` value of each interval.
        fill: Value for samples in no interval.
        close_gaps: Gaps between consecutive intervals shorter than this (s) are closed,
            so float rounding between abutting frame intervals leaves no sample unlabelled.

    Returns:
        ``(T,)`` array of ``values.dtype`` (or of ``fill``'s type when wider).
    """
    out = np.full(timestamps.shape, fill, dtype=np.result_type(values.dtype, np.asarray(fill).dtype))
    if len(start) == 0:
        return out
    if close_gaps > 0 and len(start) > 1:
        gap = start[1:] - end[:-1]
        end = np.concatenate([np.where((gap > 0) & (gap < close_gaps), start[1:], end[:-1]), end[-1:]])
    idx = np.searchsorted(start, timestamps, side="right") - 1
    inside = idx >= 0
    inside[inside] &= timestamps[inside] < end[idx[inside]]
    out[inside] = values[idx[inside]]
    return out


def intervals_mask(timestamps: np.ndarray, start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """``(T,) bool``: True where a sample time lies in ``[start_k, end_k)`` for some k."""
    order = np.argsort(start, kind="stable")
    return interval_values(timestamps, np.asarray(start)[order], np.asarray(end)[order],
                           np.ones(len(start), dtype=bool), False, close_gaps=0.0)


def validate_session(session: Session, path: str | Path | None = None) -> Session:
    """Check shapes and values; raise a one-line :class:`DataError` naming ``path``.

    Checks: traces 2-D with N >= 1 and T >= 2, finite; timestamps strictly increasing and
    of length T; masks of length T, each split non-empty; labels of length T.
    """
    where = path if path is not None else session.session_id
    tr = session.traces
    if tr.ndim != 2:
        raise DataError(where, f"calcium_traces/df_over_f has shape {tr.shape}, expected 2-D (T, N)")
    if tr.shape[1] == 0:
        raise DataError(where, "calcium_traces/df_over_f has 0 neurons, expected (T, N) with N >= 1")
    if tr.shape[0] < 2:
        raise DataError(where, f"calcium_traces/df_over_f has {tr.shape[0]} timepoints, expected T >= 2")
    bad = 0 if is_placeholder(tr) else int(tr.size - np.count_nonzero(np.isfinite(tr)))
    if bad:
        raise DataError(where, f"calcium_traces/df_over_f contains {bad} NaN/inf values, expected finite dF/F")
    if not np.isfinite(session.sampling_rate) or session.sampling_rate <= 0:
        raise DataError(where, f"sampling rate {session.sampling_rate}, expected a finite number > 0 (Hz)")
    ts = session.timestamps
    if ts.shape != (tr.shape[0],):
        raise DataError(where, f"timestamps have shape {ts.shape}, expected ({tr.shape[0]},) to match df_over_f")
    steps = np.diff(ts)
    if not np.all(steps > 0):
        first = int(np.argmax(~(steps > 0)))
        raise DataError(where, f"timestamps are not strictly increasing (at sample {first + 1}: "
                               f"{ts[first]:.4f} -> {ts[first + 1]:.4f} s)")
    for split in SPLITS:
        m = session.mask(split)
        if m.shape == (tr.shape[1],) and tr.shape[0] != tr.shape[1]:
            raise DataError(where, f"calcium_traces/df_over_f has shape {tr.shape} but the split masks have "
                                   f"{tr.shape[1]} samples: it looks transposed; expected (T, N)")
        if m.shape != ts.shape:
            raise DataError(where, f"{split}_mask has shape {m.shape}, expected ({tr.shape[0]},)")
        if not m.any():
            raise DataError(where, f"split '{split}' is empty: no samples in {split}_mask / {split}_domain")
    for a, b in (("train", "valid"), ("train", "test"), ("valid", "test")):
        both = session.mask(a) & session.mask(b)
        if both.any():
            raise DataError(where, f"splits '{a}' and '{b}' overlap in {int(both.sum())} samples (first at "
                                   f"{session.timestamps[np.argmax(both)]:.3f} s); a sample may be in one split only")
    for name, values in session.labels.items():
        check_label(name, values, tr.shape[0], where)
    if not SAFE_ID.fullmatch(str(session.session_id)) or str(session.session_id) in (".", ".."):
        raise DataError(where, f"session id {session.session_id!r} is not usable as a file or group name; expected "
                               "letters, digits, '.', '_' or '-'")
    if len(session.unit_ids) != tr.shape[1]:
        raise DataError(where, f"{len(session.unit_ids)} unit ids for {tr.shape[1]} neurons in df_over_f")
    return session


def check_label(name: str, values: np.ndarray, T: int, where) -> None:
    """One label's shape and values against its spec: frame indices within the template,
    class values in the class table, no stray negative indices."""
    values = np.asarray(values)
    if values.shape != (T,):
        raise DataError(where, f"label {name} has shape {values.shape}, expected ({T},)")
    spec = spec_for(name, values)
    if spec.dtype == "int64":
        low = values[values < -1]
        if len(low):
            raise DataError(where, f"label {name} has value {int(low[0])}, expected -1 (none) or an index >= 0")
        if spec.n_values is not None and (values >= spec.n_values).any():
            bad = int(values[values >= spec.n_values][0])
            raise DataError(where, f"label {name} has {bad}, expected 0..{spec.n_values - 1} "
                                   f"({spec.template or spec.stimulus} has {spec.n_values} frames)")
    if spec.classes is not None:
        here = spec.present(values)
        table = np.asarray(spec.classes, dtype=np.float64)
        distance = np.min(np.abs(values[here].astype(np.float64)[:, None] - table[None]), axis=1)
        off = distance > 1e-3 * (1 + np.abs(table).max())
        if off.any():
            bad = values[here][off][0]
            raise DataError(where, f"label {name} has value {bad:g}, expected one of "
                                   f"{', '.join(f'{c:g}' for c in spec.classes[:8])}"
                                   f"{' ...' if len(spec.classes) > 8 else ''}")
