"""The brainsets layout (neuro-galaxy ``allen_visual_coding_ophys_2016``), read and written
through temporaldata (``Data.from_hdf5(lazy=True)`` / ``Data.to_hdf5``).

Each stimulus is an Interval with one row per frame or trial; :data:`COLUMNS` maps its
columns to our label names (brainsets calls the drift direction ``orientation`` and stores
natural-scene images as ``frame`` = image + 1, 0 for blank sweeps)."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
from temporaldata import ArrayDict, Data, Interval, IrregularTimeSeries, RegularTimeSeries

from neurocine.atomic import atomic_h5
from neurocine.errors import DataError
from neurocine.io.hdf5 import check_rate, open_h5, require
from neurocine.io.layouts.base import Layout
from neurocine.io.recording import Recording, verify_written, write_simulation_tag
from neurocine.io.splits import split_epochs_by_time
from neurocine.session import Session, interval_values, intervals_mask, placeholder_traces, validate_session
from neurocine.stimuli import LABELS

#: ``{stimulus: {brainsets column: our label field}}`` (label = ``"<stimulus>.<field>"``).
COLUMNS = {
    "natural_movie_one": {"frame": "frame", "repeat": "repeat"},
    "natural_movie_two": {"frame": "frame", "repeat": "repeat"},
    "natural_movie_three": {"frame": "frame", "repeat": "repeat"},
    "drifting_gratings": {"orientation": "direction", "temporal_frequency": "temporal_frequency"},
    "static_gratings": {"orientation": "orientation", "spatial_frequency": "spatial_frequency", "phase": "phase"},
    "natural_scenes": {"frame": "image"},
}
#: Per-column value conversion on reading (brainsets -> ours); the writer applies the inverse.
_FROM_FILE = {("natural_scenes", "frame"): lambda v: np.asarray(v, np.int64) - 1}
_TO_FILE = {("natural_scenes", "image"): lambda v: np.asarray(v, np.int64) + 1}


def _sorted_interval(interval, *cols: str) -> dict[str, np.ndarray]:
    out = {"start": np.asarray(interval.start, dtype=np.float64), "end": np.asarray(interval.end, dtype=np.float64)}
    for c in cols:
        if c in interval.keys():
            out[c] = np.asarray(getattr(interval, c))
    order = np.argsort(out["start"], kind="stable")
    return {k: v[order] for k, v in out.items()}


def _attrs(obj) -> dict[str, str]:
    if not isinstance(obj, Data):
        return {}
    return {k: (v.decode() if isinstance(v, bytes) else str(v))
            for k, v in vars(obj).items() if not k.startswith("_") and not isinstance(v, (Data, ArrayDict, np.ndarray))}


def read_brainsets(path: str | Path, traces: bool = True, handle=None, **_) -> Session:
    """Read one brainsets-layout session file through temporaldata (lazily).

    ``traces=False`` reads only labels, splits and shapes (``Session.traces`` is then a
    zero-memory placeholder).

    Split masks come from testing each sample time against the ``train_domain`` /
    ``valid_domain`` / ``test_domain`` Intervals.

    Raises:
        DataError: missing keys, wrong shapes, NaNs, corrupt HDF5 (one line, names file).
    """
    path = Path(path)
    with open_h5(path, handle) as f:
        ct_group = require(f, "calcium_traces", path, "a RegularTimeSeries group with df_over_f (T, N)")
        dset = require(ct_group, "df_over_f", path, "(T, N) float dF/F")
        if not isinstance(dset, h5py.Dataset) or dset.ndim != 2:
            raise DataError(path, f"calcium_traces/df_over_f has shape {getattr(dset, 'shape', 'a group')}, "
                                  "expected 2-D (T, N)")
        for split in ("train", "valid", "test"):
            require(f, f"{split}_domain", path, "an Interval of the split's time ranges")
        if "sampling_rate" not in ct_group.attrs:
            raise DataError(path, "calcium_traces has no sampling_rate attribute, expected the rate in Hz "
                                  "(a RegularTimeSeries)")
        raw = ct_group.attrs["sampling_rate"]
        try:
            rate = float(np.asarray(raw).item())
        except (TypeError, ValueError):
            raise DataError(path, f"calcium_traces has sampling_rate={raw!r}, expected one number > 0 (Hz)") from None
        if not np.isfinite(rate) or rate <= 0:
            raise DataError(path, f"calcium_traces has sampling_rate={rate}, expected a finite number > 0 (Hz)")
        dom = f.get("domain")
        if dom is not None and "start" in dom and "end" in dom:
            span = float(np.max(dom["end"][()]) - np.min(dom["start"][()]))
            check_rate(path, rate, dset.shape[0], span, shape=dset.shape)  # domain end = start + T / rate
        try:
            data = Data.from_hdf5(f, lazy=True)
        except (KeyError, AssertionError, ValueError, TypeError) as exc:
            raise DataError(path, f"temporaldata cannot parse this file ({type(exc).__name__}: {exc})") from exc
        ct = data.calcium_traces
        traces = np.asarray(ct.df_over_f, dtype=np.float32) if traces else placeholder_traces(*dset.shape)
        timestamps = np.asarray(ct.timestamps, dtype=np.float64)
        masks = {}
        for split in ("train", "valid", "test"):
            iv = getattr(data, f"{split}_domain")
            masks[split] = intervals_mask(timestamps, np.asarray(iv.start), np.asarray(iv.end))
        dom = data.domain
        domain = (float(np.min(dom.start)), float(np.max(dom.end)))

        labels = {}
        for stimulus, columns in COLUMNS.items():
            if stimulus not in data.keys():
                continue
            table = _sorted_interval(getattr(data, stimulus), *columns)
            for column, name in columns.items():
                if column not in table:
                    continue
                spec = LABELS[f"{stimulus}.{name}"]
                values = _FROM_FILE.get((stimulus, column), lambda v: v)(table[column]).astype(spec.dtype)
                labels[spec.name] = interval_values(timestamps, table["start"], table["end"], values,
                                                    spec.fill).astype(spec.dtype)

        if "running" in data.keys():
            rt = np.asarray(data.running.timestamps, dtype=np.float64)
            rs = np.asarray(data.running.running_speed, dtype=np.float64).reshape(len(rt), -1)[:, 0]
            if len(rt) > 1:
                labels["running_speed"] = np.interp(timestamps, rt, rs, left=np.nan, right=np.nan).astype(np.float32)

        if "rois" in data.keys():
            unit_ids = np.array([str(x.decode() if isinstance(x, bytes) else x) for x in data.rois.id], dtype=object)
        else:
            unit_ids = np.array([f"roi_{i}" for i in range(traces.shape[1])], dtype=object)
        subject = _attrs(data.subject) if "subject" in data.keys() else {}
        if "device" in data.keys():
            dev = _attrs(data.device)
            for key in ("target_area", "imaging_depth"):
                if key in dev:
                    subject.setdefault(key, dev[key])
        session_id = path.stem
        if "session" in data.keys():
            session_id = _attrs(data.session).get("id", session_id)

    session = Session(
        session_id=session_id, traces=traces, timestamps=timestamps, sampling_rate=rate,
        train_mask=masks["train"], valid_mask=masks["valid"], test_mask=masks["test"],
        domain=domain, labels=labels, unit_ids=unit_ids, layout="brainsets", path=path, subject=subject)
    return validate_session(session, path)


def write_brainsets(rec: Recording, path: str | Path, overwrite: bool = False,
                    session_type: str = "three_session_A", source=None) -> Path:
    """Write ``rec`` in the brainsets layout with ``temporaldata.Data.to_hdf5``
    (atomically; refuses to overwrite). Splits follow brainsets' per-epoch time rule
    (:func:`split_epochs_by_time`) for every stimulus with an epoch in ``rec.epochs``.

    The file is read back with :func:`read_brainsets` before it is renamed into place
    (:func:`~neurocine.io.recording.verify_written`): a recording the reader would refuse
    or read differently raises a DataError naming ``source`` and writes nothing."""
    path = Path(path)
    T, N = rec.traces.shape
    ts = rec.timestamps
    t_end = rec.start_time + T / rec.sampling_rate
    splits = {"train": [], "valid": [], "test": []}
    for stimulus, table in (rec.intervals.items() if rec.splits is None else ()):
        epochs = rec.epochs.get(stimulus)
        if epochs is None:
            continue
        if "repeat" in table:  # a movie: split whole repeats
            unit_start, unit_end = rec.repeat_edges(stimulus)
        else:
            unit_start, unit_end = table["start"], table["end"]
        for k, v in split_epochs_by_time(*epochs, unit_start, unit_end).items():
            splits[k] += v

    if rec.splits is not None:
        splits = {k: list(zip(*rec.splits[k])) for k in splits}

    def as_interval(pairs):
        pairs = sorted(pairs)
        return Interval(start=np.array([p[0] for p in pairs], dtype=np.float64),
                        end=np.array([p[1] for p in pairs], dtype=np.float64))

    fields = dict(
        brainset=Data(id="allen_visual_coding_ophys_2016", origin_version="neurocine"),
        subject=Data(**{k: str(v) for k, v in rec.subject.items() if k not in ("target_area",)}),
        session=Data(id=rec.session_id, session_type=session_type),
        # metadata the recording does not carry stays absent: never a made-up depth or area
        device=Data(id=f"{rec.session_id}_2p", recording_tech="two_photon_imaging",
                    **{k: str(rec.subject[k]) for k in ("imaging_depth", "target_area") if k in rec.subject}),
        calcium_traces=RegularTimeSeries(df_over_f=rec.traces.astype(np.float32),
                                         sampling_rate=float(rec.sampling_rate), domain_start=float(rec.start_time)),
        rois=ArrayDict(id=np.array([f"{rec.session_id}_{i}" for i in range(N)]),
                       imaging_plane_xy=rec.roi_xy.astype(np.float64), area=rec.roi_area.astype(np.float64),
                       width=rec.roi_width.astype(np.float64), height=rec.roi_height.astype(np.float64)),
        train_domain=as_interval(splits["train"]),
        valid_domain=as_interval(splits["valid"]),
        test_domain=as_interval(splits["test"]),
        domain=Interval(start=float(rec.start_time), end=float(t_end)),
    )
    for stimulus, table in rec.intervals.items():
        fields[stimulus] = _stimulus_interval(stimulus, table)
    if rec.running_speed is not None:
        fields["running"] = IrregularTimeSeries(timestamps=ts.astype(np.float64),
                                                running_speed=rec.running_speed.astype(np.float32)[:, None],
                                                domain="auto")
    for name, (s, e) in rec.epochs.items():
        fields[f"{name}_domain"] = Interval(start=np.asarray(s, np.float64), end=np.asarray(e, np.float64))
    data = Data(**fields)
    check = lambda tmp: verify_written(rec, tmp, read_brainsets, source or path)  # noqa: E731
    with atomic_h5(path, overwrite, check=check) as f:
        data.to_hdf5(f)
        write_simulation_tag(f, rec)
    return path


def _stimulus_interval(stimulus: str, table: dict) -> Interval:
    """One stimulus table as the brainsets Interval (columns renamed, ids added as
    brainsets stores them for gratings)."""
    to_column = {name: column for column, name in COLUMNS.get(stimulus, {}).items()}
    start, end = np.asarray(table["start"], np.float64), np.asarray(table["end"], np.float64)
    cols = {}
    for name, values in table.items():
        if name in ("start", "end"):
            continue
        column = to_column.get(name, name)
        cols[column] = _TO_FILE.get((stimulus, name), np.asarray)(values)
        spec = LABELS.get(f"{stimulus}.{name}")
        if stimulus.endswith("gratings") and spec is not None and spec.classes is not None:
            cols[f"{column}_id"] = spec.class_ids(np.asarray(values, np.float32))
    return Interval(start=start, end=end, timestamps=(start + end) / 2, **cols,
                    timekeys=["start", "end", "timestamps"])


LAYOUT = Layout("brainsets", (".h5",), lambda f: "calcium_traces" in f and ("absolute_start" in f.attrs
                                                                        or "train_domain" in f),
                read_brainsets, "brainsets / temporaldata (calcium_traces + train_domain)", write=write_brainsets)
