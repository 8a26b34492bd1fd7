"""Allen's own NWB 1.0 release files (``ophys_experiment_data/<id>.nwb`` from AllenSDK's
``BrainObservatoryCache``), read directly with h5py (``docs/formats.md``, "Allen NWB 1.0").

* dF/F is stored ``(N, T)`` with cells on axis 0 (transposed here to ``(T, N)``), with its
  own (nearly regular, ~30 Hz) timestamps; ROI ids are the ``cell_specimen_ids``.
* Every stimulus table present is read into the label table: movies (frame; the repeat is
  the count of earlier showings of the same frame), drifting and static gratings (feature
  columns named by ``features``; NaN on blank sweeps), natural scenes and locally sparse
  noise (image index; -1 = blank), spontaneous epochs. ``frame_duration`` holds 2P
  acquisition frame indices (sample numbers of the dF/F), not seconds.
* Running speed (cm/s) is interpolated at the dF/F timestamps (NaN outside its range).
* Templates (``stimulus/templates/<name>_image_stack/data``) are read on demand
  (:func:`read_nwb_template`), so no separate movie file is needed.

These files carry no train/valid/test split. :func:`~neurocine.io.splits.table_splits` applies neurocine's rules
(:mod:`neurocine.io.splits`): movie repeats in order (10 repeats: 8 train, 1 valid, 1
test, as the kirby files), trials 70/10/20 shuffled with seed 42, stratified by condition.
"""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np

from neurocine.errors import DataError
from neurocine.io.hdf5 import open_h5, require
from neurocine.io.layouts.base import Layout
from neurocine.io.recording import table_labels
from neurocine.io.splits import showing_repeats, table_splits
from neurocine.session import Session, placeholder_traces, validate_session

PIPELINE = "processing/brain_observatory_pipeline"
DFF = f"{PIPELINE}/DfOverF/imaging_plane_1"
SPLIT_RULE = ("no split in the file; neurocine's rule applied: movie repeats in order (8/1/1 of 10), "
              "trials 70/10/20 shuffled (seed 42, stratified by condition)")
#: ``{stimulus: {feature column: our label field}}`` for the tables with feature columns.
FEATURES = {"drifting_gratings": {"orientation": "direction", "temporal_frequency": "temporal_frequency"},
            "static_gratings": {"orientation": "orientation", "spatial_frequency": "spatial_frequency",
                                "phase": "phase"}}
MOVIES = ("natural_movie_one", "natural_movie_two", "natural_movie_three")
IMAGES = {"natural_scenes": "image", "locally_sparse_noise": "frame"}


def is_nwb(f: h5py.File) -> bool:
    """An Allen NWB 1.0 file: dF/F under the brain-observatory processing module."""
    return PIPELINE in f and "stimulus" in f


def _text(x) -> str:
    x = x[()] if isinstance(x, h5py.Dataset) else x
    if isinstance(x, np.ndarray):
        x = x.ravel()[0] if x.size else ""
    return x.decode() if isinstance(x, bytes) else str(x)


def _table_group(f: h5py.File, name: str):
    pres = f.get("stimulus/presentation")
    if pres is None:
        return None
    for key in (f"{name}_stimulus", name):
        if key in pres:
            return pres[key]
    return None


def _intervals(g, timestamps: np.ndarray, path, name: str) -> tuple[np.ndarray, np.ndarray]:
    """``(start, end)`` in seconds from ``frame_duration`` (2P frame indices)."""
    fd = np.asarray(require(g, "frame_duration", path, "(K, 2) start/end 2P frame indices")[()])
    if fd.ndim != 2 or fd.shape[1] != 2:
        raise DataError(path, f"stimulus/presentation/{g.name.rsplit('/', 1)[-1]}/frame_duration has shape "
                              f"{fd.shape}, expected (K, 2) 2P frame indices")
    idx = np.round(fd).astype(np.int64)
    if len(idx) and (idx.min() < 0 or idx.max() >= len(timestamps)):
        raise DataError(path, f"{name} frame_duration indexes 2P frame {int(idx.max())}, expected 0.."
                              f"{len(timestamps) - 1} (the dF/F timestamps)")
    return timestamps[idx[:, 0]], timestamps[idx[:, 1]]


def read_stimuli(f: h5py.File, timestamps: np.ndarray, path) -> dict[str, dict[str, np.ndarray]]:
    """Every stimulus table present as ``{stimulus: {"start", "end", field: values}}``."""
    tables = {}
    for name in MOVIES + tuple(IMAGES):
        g = _table_group(f, name)
        if g is None:
            continue
        start, end = _intervals(g, timestamps, path, name)
        data = np.asarray(require(g, "data", path, "(K,) frame or image index per presentation")[()]).reshape(-1)
        if len(data) != len(start):
            raise DataError(path, f"{name}: data has {len(data)} rows but frame_duration {len(start)}")
        index = np.round(np.nan_to_num(data, nan=-1)).astype(np.int64)
        if name in MOVIES:
            tables[name] = {"start": start, "end": end, "frame": index, "repeat": showing_repeats(index)}
        else:
            tables[name] = {"start": start, "end": end, IMAGES[name]: index}
    for name, columns in FEATURES.items():
        g = _table_group(f, name)
        if g is None:
            continue
        start, end = _intervals(g, timestamps, path, name)
        feats = [_text(x) for x in np.asarray(require(g, "features", path, "(F,) feature names")[()]).ravel()]
        data = np.asarray(require(g, "data", path, "(K, F) feature values")[()], dtype=np.float64)
        if data.ndim != 2 or data.shape != (len(start), len(feats)):
            raise DataError(path, f"{name}: data has shape {data.shape}, expected ({len(start)}, {len(feats)})")
        table = {"start": start, "end": end}
        for column, field in columns.items():
            if column in feats:
                table[field] = data[:, feats.index(column)].astype(np.float32)
        if "blank_sweep" in feats:
            blank = data[:, feats.index("blank_sweep")] > 0
            for field in columns.values():
                if field in table:
                    table[field] = np.where(blank, np.nan, table[field]).astype(np.float32)
        tables[name] = table
    g = _table_group(f, "spontaneous")
    if g is not None:
        start, end = _intervals(g, timestamps, path, "spontaneous")
        tables["spontaneous"] = {"start": start, "end": end, "on": np.ones(len(start), dtype=np.int64)}
    return tables


def read_nwb(path: str | Path, traces: bool = True, handle=None, **_) -> Session:
    """Read one Allen NWB 1.0 file.

    Args:
        path: ``<ophys_experiment_id>.nwb``.
        traces: False reads labels, splits and shapes only (placeholder dF/F).

    Raises:
        DataError: missing keys, wrong shapes, indices out of range (one line, names file).
    """
    path = Path(path)
    with open_h5(path, handle) as f:
        dset = require(f, f"{DFF}/data", path, "(N, T) dF/F, cells on axis 0")
        if not isinstance(dset, h5py.Dataset) or dset.ndim != 2:
            raise DataError(path, f"{DFF}/data has shape {getattr(dset, 'shape', 'a group')}, expected 2-D (N, T)")
        if dset.dtype.kind not in "fiu":
            raise DataError(path, f"{DFF}/data holds {dset.dtype}, expected numbers (dF/F)")
        N, T = dset.shape
        timestamps = np.asarray(require(f, f"{DFF}/timestamps", path, "(T,) seconds")[()], dtype=np.float64).ravel()
        if timestamps.shape != (T,):
            raise DataError(path, f"{DFF}/timestamps has {timestamps.shape[0]} entries for {T} dF/F samples")
        if not np.all(np.isfinite(timestamps)):
            raise DataError(path, f"{DFF}/timestamps contains NaN/inf, expected times in seconds")
        values = np.asarray(dset[()], dtype=np.float32).T if traces else placeholder_traces(T, N)
        steps = np.diff(timestamps)
        rate = float(1.0 / np.median(steps)) if T > 1 and np.median(steps) > 0 else 0.0
        tables = read_stimuli(f, timestamps, path)
        labels = table_labels(tables, timestamps)
        run = f.get(f"{PIPELINE}/BehavioralTimeSeries/running_speed")
        if run is not None and "data" in run and "timestamps" in run:
            rt = np.asarray(run["timestamps"][()], dtype=np.float64).ravel()
            rs = np.asarray(run["data"][()], dtype=np.float64).reshape(len(rt), -1)[:, 0] if len(rt) else rt
            if len(rt) > 1:
                ok = np.isfinite(rs)
                labels["running_speed"] = np.interp(timestamps, rt[ok], rs[ok], left=np.nan,
                                                    right=np.nan).astype(np.float32)
        seg = f.get(f"{PIPELINE}/ImageSegmentation/cell_specimen_ids")
        unit_ids = (np.array([str(x) for x in np.asarray(seg[()]).ravel()], dtype=object) if seg is not None
                    else np.array([f"cell_{i}" for i in range(N)], dtype=object))
        session_id = _text(f["general/session_id"]) if "general/session_id" in f else path.stem
        subject = {}
        for key, where in (("session_type", "general/session_type"), ("genotype", "general/subject/genotype"),
                           ("sex", "general/subject/sex"), ("age", "general/subject/age"),
                           ("target_area", "general/optophysiology/imaging_plane_1/location"),
                           ("imaging_depth", "general/optophysiology/imaging_plane_1/imaging depth")):
            if where in f:
                subject[key] = _text(f[where])
    masks = table_splits(tables, timestamps)
    session = Session(session_id=session_id, traces=values, timestamps=timestamps, sampling_rate=rate,
                      train_mask=masks["train"], valid_mask=masks["valid"], test_mask=masks["test"],
                      domain=(float(timestamps[0]), float(timestamps[-1])), labels=labels, unit_ids=unit_ids,
                      layout="allen_nwb", path=path, subject=subject)
    return validate_session(session, path)


def read_nwb_template(path: str | Path, name: str) -> np.ndarray | None:
    """``stimulus/templates/<name>_image_stack/data`` of an NWB file (None when absent)."""
    with open_h5(path) as f:
        key = f"stimulus/templates/{name}_image_stack/data"
        if key not in f:
            return None
        return np.asarray(f[key][()])


LAYOUT = Layout("allen_nwb", (".nwb",), is_nwb, read_nwb,
                "Allen NWB 1.0 (processing/brain_observatory_pipeline/DfOverF, stimulus/presentation)",
                read_template=read_nwb_template, split_rule=SPLIT_RULE)

__all__ = ["LAYOUT", "read_nwb", "read_nwb_template", "is_nwb", "SPLIT_RULE"]
