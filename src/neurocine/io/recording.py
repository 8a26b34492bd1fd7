"""Layout-neutral description of one recording, as the writers take it.

The simulator (and the trial-array import) produce :class:`Recording` objects;
:func:`neurocine.io.write_kirby` and :func:`neurocine.io.write_brainsets` turn them into
files, each applying its layout's split rules (:mod:`neurocine.io.splits`,
``docs/formats.md``) and reading the file back before it is renamed into place
(:func:`verify_written`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from neurocine.errors import DataError
from neurocine.session import interval_values, intervals_mask
from neurocine.stimuli import LABELS

#: Root attribute of a session file written by the simulator: JSON of what made it.
SIMULATION_ATTR = "neurocine_simulation"
#: Root attribute naming what the traces are when neurocine writes anything but dF/F
#: (``"spikes"``: binned spike counts, e.g. from ``import-movie --units spikes``).
MODALITY_ATTR = "neurocine_modality"
MODALITIES = ("dff", "spikes")


@dataclass
class Recording:
    """One session's raw arrays (times in seconds).

    Attributes:
        session_id: Id, used as the file stem.
        traces: ``(T, N) float32`` dF/F.
        sampling_rate: Hz.
        start_time: Time of sample 0, s.
        roi_xy: ``(N, 2)`` imaging-plane position, pixels (0..512).
        roi_area, roi_width, roi_height: ``(N,)`` pixels.
        intervals: ``{stimulus: {"start": (K,), "end": (K,), field: (K,) ...}}``: one row
            per displayed frame (movies) or trial; each ``field`` is the value of label
            ``"<stimulus>.<field>"`` (:mod:`neurocine.stimuli`), e.g.
            ``intervals["natural_movie_one"]["frame"]`` or
            ``intervals["drifting_gratings"]["direction"]`` (deg).
        epochs: ``{stimulus: (start (E,), end (E,))}`` stimulus epochs.
        running_speed: ``(T,)`` cm/s at sample times.
        subject: String metadata (id, species, sex, cre_line, depth_class, target_area).
        splits: Optional ``{split: (start (S,), end (S,))}``: the recording's own splits
            (e.g. by trial); writers otherwise apply their layout's rule.
        simulation: For simulated recordings, what made them (simulator, seed, ...):
            writers store it in the file itself (:data:`SIMULATION_ATTR`), so a copied
            file still says it is simulated.
        modality: ``"dff"`` or ``"spikes"`` (``traces`` then hold spike counts per
            sample); stored as :data:`MODALITY_ATTR` so every report says which.
    """

    session_id: str
    traces: np.ndarray
    sampling_rate: float
    start_time: float
    roi_xy: np.ndarray
    roi_area: np.ndarray
    roi_width: np.ndarray
    roi_height: np.ndarray
    intervals: dict = field(default_factory=dict)
    epochs: dict = field(default_factory=dict)
    running_speed: np.ndarray | None = None
    subject: dict = field(default_factory=dict)
    splits: dict | None = None
    simulation: dict | None = None
    modality: str = "dff"

    @property
    def timestamps(self) -> np.ndarray:
        """``(T,) float64`` sample times, s."""
        return self.start_time + np.arange(self.traces.shape[0]) / self.sampling_rate

    def table(self, stimulus: str) -> dict[str, np.ndarray] | None:
        """The interval table of ``stimulus`` (None when it was not shown)."""
        return self.intervals.get(stimulus)

    def repeat_edges(self, movie: str) -> tuple[np.ndarray, np.ndarray]:
        """``(start (R,), end (R,))`` of each repeat of ``movie``, s."""
        t = self.intervals[movie]
        reps = np.unique(t["repeat"])
        return (np.array([t["start"][t["repeat"] == r].min() for r in reps]),
                np.array([t["end"][t["repeat"] == r].max() for r in reps]))


def verify_written(rec: Recording, path, read, source) -> None:
    """Read a freshly written session file back with its layout's reader and compare it with
    ``rec``: the writer's check that a file it writes is one the readers accept and read
    back as given (dF/F, times, rate, every stimulus label, the recording's own splits).

    Raises:
        DataError: naming ``source`` (what the recording came from), with the reader's
            reason or the first value that reads back differently.
    """
    try:
        s = read(path, True)
    except DataError as exc:
        raise DataError(source, exc.reason) from None
    if s.traces.shape != rec.traces.shape or not np.array_equal(s.traces, np.asarray(rec.traces, np.float32)):
        raise DataError(source, "the dF/F written does not read back as given")
    if not np.isclose(s.sampling_rate, rec.sampling_rate, rtol=1e-9) or \
            not np.allclose(s.timestamps, rec.timestamps, rtol=0, atol=1e-6):
        raise DataError(source, f"sample times do not read back as given ({rec.sampling_rate:g} Hz from "
                                f"{rec.start_time:g} s)")
    for name, values in table_labels(rec.intervals, s.timestamps).items():
        got = s.label(name)
        same = np.array_equal(got, values, equal_nan=True) if values.dtype.kind == "f" else np.array_equal(got, values)
        if not same:
            raise DataError(source, f"label {name} does not read back as given")
    for split, (start, end) in (rec.splits or {}).items():
        if not np.array_equal(s.mask(split), intervals_mask(s.timestamps, start, end)):
            raise DataError(source, f"the {split} split does not read back as given")


def real_numbers(values, what: str, where) -> np.ndarray:
    """``values`` as a real numeric array, or a DataError naming ``what`` (text, objects,
    complex numbers and booleans are refused: they would be cast or dropped silently)."""
    try:
        arr = np.asarray(values)
    except Exception:  # noqa: BLE001 - ragged lists and the like
        raise DataError(where, f"{what} is not an array of numbers") from None
    if arr.dtype.kind not in "iuf":
        kind = {"c": "complex numbers", "b": "booleans", "O": "Python objects", "U": "text", "S": "text"}.get(
            arr.dtype.kind, str(arr.dtype))
        raise DataError(where, f"{what} holds {kind} ({arr.dtype}), expected real numbers")
    return arr


def finite_number(value, what: str, where) -> float:
    """``value`` as a finite float, or a DataError naming ``what``."""
    try:
        out = float(value)
    except (TypeError, ValueError):
        raise DataError(where, f"{what} {value!r}, expected a number") from None
    if not np.isfinite(out):
        raise DataError(where, f"{what} {value!r}, expected a finite number")
    return out


def write_simulation_tag(f, rec: Recording) -> None:
    """Store ``rec.simulation`` as the root attribute :data:`SIMULATION_ATTR` of an open file."""
    if rec.simulation is not None:
        f.attrs[SIMULATION_ATTR] = json.dumps(rec.simulation)
    if rec.modality != "dff":
        f.attrs[MODALITY_ATTR] = rec.modality


def modality_attr(f) -> str | None:
    """What an open session file's traces are when neurocine wrote it (None: not said)."""
    raw = f.attrs.get(MODALITY_ATTR)
    if raw is None:
        return None
    value = raw.decode() if isinstance(raw, bytes) else str(raw)
    return value if value in MODALITIES else None


def simulation_tag(path: str | Path) -> dict | None:
    """What simulated a session file (its :data:`SIMULATION_ATTR`), or None for recorded data
    (and for files that are not HDF5)."""
    import h5py  # noqa: PLC0415 - only this helper opens files here

    try:
        with h5py.File(path, "r") as f:
            return simulation_attr(f)
    except OSError:
        return None


def simulation_attr(f) -> dict | None:
    """The simulation tag of an open session file (None for recorded data)."""
    raw = f.attrs.get(SIMULATION_ATTR)
    if raw is None:
        return None
    try:
        tag = json.loads(raw.decode() if isinstance(raw, bytes) else str(raw))
    except (json.JSONDecodeError, UnicodeDecodeError):
        tag = {"simulator": "unreadable tag"}
    return tag if isinstance(tag, dict) else {"simulator": str(tag)}


def table_labels(tables: dict, timestamps: np.ndarray) -> dict[str, np.ndarray]:
    """Per-sample labels from stimulus tables ``{stimulus: {"start", "end", field: (K,)}}``
    (one row per frame or trial): ``{"<stimulus>.<field>": (T,)}`` for the registered labels."""
    labels = {}
    for stimulus, table in tables.items():
        order = np.argsort(table["start"], kind="stable")
        for column, values in table.items():
            name = f"{stimulus}.{column}"
            if column in ("start", "end") or name not in LABELS:
                continue
            spec = LABELS[name]
            labels[name] = interval_values(timestamps, table["start"][order], table["end"][order],
                                           np.asarray(values)[order].astype(spec.dtype), spec.fill).astype(spec.dtype)
    return labels
