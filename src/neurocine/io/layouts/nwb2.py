"""NWB 2 files, read with pynwb: Allen Visual Coding **Neuropixels** sessions
(AllenSDK's ``EcephysProjectCache``: ``session_<id>/session_<id>.nwb``) and **two-photon**
sessions in NWB 2 (DANDI's Visual Coding 2P conversion; AllenSDK's ophys writer). See the
formats page of the documentation (``docs/formats.md``, "NWB 2").

Neuropixels (layout ``nwb2_ecephys``):

* units kept by AllenSDK's default filter (quality ``good``, ISI violations <= 0.5,
  presence ratio >= 0.95, amplitude cutoff <= 0.1) whose peak channel is valid and inside a
  named structure, mapped to their area through ``electrodes.location`` of the peak channel;
  only the areas matching ``dataset.areas`` (default ``VIS*``);
* spikes counted in bins of ``dataset.bin_s`` (default one movie frame, 1/30 s) over the
  stimulus period, optionally variance-stabilised (``dataset.spike_transform``); the
  session's modality is ``spikes``;
* ``dataset.populations: per_area`` makes each area of a session its own population (its
  own encoder): ``<session id>_<area>``.

Two-photon (layout ``nwb2_ophys``): dF/F ``(T, N)`` from ``processing/ophys/DfOverF`` (or
``dff``), valid ROIs only, the imaging plane's area and depth.

Both: every stimulus table into the label table (``intervals/<name>_presentations`` or
``stimulus/presentation/<name>``: movies with their frame, gratings, natural scenes,
spontaneous), running speed at the sample times, neurocine's split rule
(:func:`~neurocine.io.splits.table_splits`), the session id from the file's own metadata
(made safe: DANDI ids hold ``+``).
"""

from __future__ import annotations

import fnmatch
from pathlib import Path

import h5py
import numpy as np

from neurocine.errors import DataError, first_line
from neurocine.io.hdf5 import open_h5
from neurocine.io.layouts.base import Layout
from neurocine.io.recording import table_labels
from neurocine.io.sizes import refuse_beyond_memory
from neurocine.io.splits import showing_repeats, table_splits
from neurocine.session import Session, placeholder_traces, safe_session_id, validate_session
from neurocine.stimuli import MOVIE_FRAMES, MOVIE_RATE_HZ

SPLIT_RULE = ("no split in the file; neurocine's rule applied: movie repeats in order (8/1/1 of 10), trials "
              "70/10/20 shuffled (seed 42, stratified by condition)")
#: AllenSDK's default unit filter (``allensdk.brain_observatory.ecephys``: UNIT_FILTER_DEFAULTS).
UNIT_FILTER = {"isi_violations": ("<=", 0.5), "presence_ratio": (">=", 0.95), "amplitude_cutoff": ("<=", 0.1)}
NO_AREA = ("", "none", "nan", "null")
#: ``{stimulus: {column: our label field}}`` of the presentation tables.
#: A movie's frame is ``frame`` (Neuropixels, DANDI) or ``movie_frame_index`` (AllenSDK's ophys
#: writer, which also writes ``movie_repeat``); repeats are counted when no column gives them.
MOVIE_COLUMNS = {"frame": "frame", "movie_frame_index": "frame", "movie_repeat": "repeat"}
COLUMNS = {"natural_movie_one": MOVIE_COLUMNS, "natural_movie_two": MOVIE_COLUMNS,
           "natural_movie_three": MOVIE_COLUMNS,
           "drifting_gratings": {"orientation": "direction", "temporal_frequency": "temporal_frequency",
                                 "orientation_in_degrees": "direction",
                                 "temporal_frequency_in_hz": "temporal_frequency"},
           "static_gratings": {"orientation": "orientation", "spatial_frequency": "spatial_frequency",
                               "phase": "phase", "orientation_in_degrees": "orientation",
                               "spatial_frequency_in_cycles_per_degree": "spatial_frequency"},
           "natural_scenes": {"frame": "image"}, "spontaneous": {}}


def _version(f: h5py.File) -> str:
    raw = f.attrs.get("nwb_version", b"")
    return raw.decode() if isinstance(raw, bytes) else str(raw)


def is_nwb2(f: h5py.File) -> bool:
    """A file in the NWB 2 schema (root attribute ``nwb_version`` 2.x)."""
    return _version(f).startswith("2")


def is_ecephys(f: h5py.File) -> bool:
    """An NWB 2 file with a units table of spike times."""
    return _version(f).startswith("2") and "units" in f and "spike_times" in f["units"]


def is_ophys(f: h5py.File) -> bool:
    """An NWB 2 file with two-photon dF/F."""
    return _version(f).startswith("2") and "processing/ophys" in f


def _read_nwb(f: h5py.File, path):
    from pynwb import NWBHDF5IO  # noqa: PLC0415 - pynwb loads its namespaces on import: only for NWB 2 files

    try:
        return NWBHDF5IO(file=f, mode="r", load_namespaces=True)
    except Exception as exc:  # noqa: BLE001 - pynwb raises many types for a file it cannot read
        text = first_line(exc, 160)
        raise DataError(path, f"pynwb cannot read this NWB 2 file ({type(exc).__name__}: {text})") from None


def _session_id(nwb, path) -> str:
    raw = nwb.session_id or nwb.identifier or Path(path).stem
    return safe_session_id(raw, path)


def _texts(values) -> np.ndarray:
    """A text column (bytes or str) as str."""
    return np.array([v.decode() if isinstance(v, bytes) else str(v) for v in values])


def _numeric(values, path, where: str) -> np.ndarray:
    """A table column as float64: text 'N/A', '', 'null', 'nan' become NaN; other text is an
    error naming the column."""
    arr = np.asarray(values)
    if arr.dtype.kind in "iufb":
        return arr.astype(np.float64)
    out = np.empty(len(arr), dtype=np.float64)
    for i, v in enumerate(arr):
        v = v.decode() if isinstance(v, bytes) else v
        if v is None or (isinstance(v, str) and v.strip().lower() in ("n/a", "", "null", "nan", "none")):
            out[i] = np.nan
            continue
        try:
            out[i] = float(v)
        except (TypeError, ValueError):
            raise DataError(path, f"{where} holds {v!r}, expected numbers ('N/A' for none)") from None
    return out


def _presentation_tables(nwb, path) -> dict:
    """``{stimulus: {"start", "end", field: (K,)}}`` from ``intervals/<name>_presentations``
    and ``stimulus/presentation`` (IndexSeries of frames, TimeIntervals of trials)."""
    sources = {}
    for name, table in (nwb.intervals or {}).items():
        stim = name[:-len("_presentations")] if name.endswith("_presentations") else None
        if stim in COLUMNS:
            sources[stim] = ("table", table)
    for name, obj in (nwb.stimulus or {}).items():
        stim = name[:-len("_stimulus")] if name.endswith("_stimulus") else name
        if stim in COLUMNS and stim not in sources:
            sources[stim] = ("table" if hasattr(obj, "colnames") else "series", obj)
    tables = {}
    for stim, (kind, obj) in sources.items():
        where = f"{stim} presentations"
        if kind == "table":
            cols = set(obj.colnames)
            missing = [c for c in ("start_time", "stop_time") if c not in cols]
            if missing:
                raise DataError(path, f"{where}: missing columns {missing}, expected each presentation's times")
            start = np.asarray(obj["start_time"].data[:], dtype=np.float64)
            end = np.asarray(obj["stop_time"].data[:], dtype=np.float64)
            table, source = {"start": start, "end": end}, {}
            for column, field in COLUMNS[stim].items():
                if column in cols and field not in table:
                    table[field] = _numeric(obj[column].data[:], path, f"{where} column {column!r}")
                    source[field] = f"{where} column {column!r}"
            if "is_blank_sweep" in cols or "blank_sweep" in cols:
                blank = _numeric(obj["is_blank_sweep" if "is_blank_sweep" in cols else "blank_sweep"].data[:], path,
                                 f"{where} column 'is_blank_sweep'") > 0
                for field in set(COLUMNS[stim].values()):
                    if field in table:
                        table[field] = np.where(blank, np.nan, table[field])
        else:  # an IndexSeries: one frame or image per timestamp, shown until the next
            ts = np.asarray(obj.timestamps[:] if obj.timestamps is not None else [], dtype=np.float64)
            data = _numeric(obj.data[:], path, f"{where} data")
            if len(ts) != len(data):
                raise DataError(path, f"{where}: {len(data)} values but {len(ts)} timestamps")
            step = np.median(np.diff(ts)) if len(ts) > 1 else 1.0 / MOVIE_RATE_HZ
            start, end = ts, np.append(ts[1:], ts[-1] + step) if len(ts) else ts
            gap = end - start > 3 * step  # the last frame of a block does not last to the next block
            end = np.where(gap, start + step, end)
            table, source = {"start": start, "end": end}, {}
            field = next(iter(COLUMNS[stim].values()), None)
            if field:
                table[field] = data
                source[field] = f"{where} data"
        if not np.all(np.isfinite(table["start"])) or not np.all(table["end"] >= table["start"]):
            raise DataError(path, f"{where}: start/stop times not finite or stop before start")
        tables[stim] = _typed(stim, table, path, source)
    return tables


def _indices(values: np.ndarray, path, where: str, high: int, what: str) -> np.ndarray:
    """A column of indices as int64, NaN (text 'N/A') as -1; anything but integers in
    ``-1..high - 1`` is refused in one line naming the file and the column."""
    v = np.nan_to_num(values, nan=-1.0, posinf=np.inf, neginf=-np.inf)
    bad = ~np.isfinite(v) | (v != np.round(v)) | (v < -1) | (v >= high)
    if bad.any():
        raise DataError(path, f"{where} holds {int(bad.sum())} value(s) outside the integers -1..{high - 1} (first "
                              f"{values[bad][0]:g}); expected {what} (-1 or N/A: none)")
    return v.astype(np.int64)


def _typed(stim: str, table: dict, path, source: dict) -> dict:
    """Frames and images as int64 indices (-1: none; images past the 118 scenes are blanks,
    as DANDI's unsigned tables write Allen's -1), and each movie's repeat: the file's own
    column when it has one, else the k-th showing of a frame is repeat k. Frames outside
    the movie and repeats that are not counts are refused (naming the column)."""
    out = dict(table)
    if "frame" in out:
        n = MOVIE_FRAMES[stim]
        out["frame"] = _indices(out["frame"], path, source["frame"], n, f"frames of {stim} (0..{n - 1})")
        if "repeat" in out:
            rep = _indices(out["repeat"], path, source["repeat"], np.iinfo(np.int32).max, "repeat counts >= 0")
            out["repeat"] = np.where(out["frame"] >= 0, rep, -1)
        else:
            out["repeat"] = showing_repeats(out["frame"])
    if "image" in out:
        im = np.nan_to_num(out["image"], nan=-1).round().astype(np.int64)
        out["image"] = np.where((im >= 0) & (im < 118), im, -1)
    if stim == "spontaneous":
        out["on"] = np.ones(len(out["start"]), dtype=np.int64)
    return out


def _running(nwb, timestamps: np.ndarray):
    for module, name in (("running", "running_speed"), ("behavior", "BehavioralTimeSeries")):
        mod = nwb.processing.get(module) if nwb.processing else None
        if mod is None:
            continue
        obj = mod.data_interfaces.get(name)
        series = obj.time_series.get("running_speed") if hasattr(obj, "time_series") else obj
        if series is None:
            continue
        rt = np.asarray(series.timestamps[:] if series.timestamps is not None else [], dtype=np.float64)
        rs = np.asarray(series.data[:], dtype=np.float64).reshape(len(rt), -1)[:, 0] if len(rt) else rt
        ok = np.isfinite(rs)
        if ok.sum() > 1:
            return np.interp(timestamps, rt[ok], rs[ok], left=np.nan, right=np.nan).astype(np.float32)
    return None


# --------------------------------------------------------------------------- units
def filter_units(units, electrodes, path, areas=("VIS*",), unit_filter: str = "allensdk") -> dict:
    """Which units to keep and each one's area.

    Returns:
        ``{"keep": (U,) bool, "area": (U,) str, "dropped": {reason: count},
        "kept_per_area": {area: count}, "dropped_per_area": {area: {reason: count}}}``."""
    cols = set(units.colnames)
    n = len(units.id.data[:])
    if "peak_channel_id" not in cols:
        raise DataError(path, "units table has no 'peak_channel_id' column, expected each unit's peak channel")
    peak = np.asarray(units["peak_channel_id"].data[:]).astype(np.int64)
    if electrodes is None:
        raise DataError(path, "no electrodes table, expected the channels' locations (areas)")
    channel_ids = np.asarray(electrodes.id.data[:]).astype(np.int64)
    ecols = set(electrodes.colnames)
    location = _texts(electrodes["location"].data[:]) \
        if "location" in ecols else np.full(len(channel_ids), "")
    valid = np.asarray(electrodes["valid_data"].data[:], dtype=bool) if "valid_data" in ecols else \
        np.ones(len(channel_ids), bool)
    where = {c: i for i, c in enumerate(channel_ids)}
    row = np.array([where.get(c, -1) for c in peak])
    area = np.where(row >= 0, location[np.clip(row, 0, None)], "")
    reasons = {}

    def drop(mask, reason):
        reasons[reason] = mask

    if unit_filter == "allensdk":
        if "quality" in cols:
            q = _texts(units["quality"].data[:])
            drop(q != "good", "quality not good")
        for column, (op, limit) in UNIT_FILTER.items():
            if column in cols:
                v = _numeric(units[column].data[:], path, f"units column {column!r}")
                bad = ~(v <= limit) if op == "<=" else ~(v >= limit)
                drop(bad, f"{column} {'>' if op == '<=' else '<'} {limit}")
    drop((row < 0) | ~valid[np.clip(row, 0, None)], "peak channel invalid")
    drop(np.array([a.strip().lower() in NO_AREA for a in area]), "no area")
    drop(np.array([not any(fnmatch.fnmatch(a, p) for p in areas) for a in area]), "area not selected")
    keep = np.ones(n, bool)
    dropped, dropped_per_area = {}, {}
    for reason, mask in reasons.items():
        first = keep & mask  # a unit is counted under the first reason that drops it
        if first.any():
            dropped[reason] = int(first.sum())
            for a in np.unique(area[first]):
                dropped_per_area.setdefault(str(a) or "(none)", {})[reason] = int((first & (area == a)).sum())
        keep &= ~mask
    kept = {str(a): int((keep & (area == a)).sum()) for a in np.unique(area[keep])}
    return {"keep": keep, "area": area, "dropped": dropped, "kept_per_area": kept,
            "dropped_per_area": dropped_per_area}


def spike_trains(units, path) -> list[np.ndarray]:
    """Each unit's spike times (s) from the ragged ``spike_times`` column (``index[i]`` is the
    exclusive end of unit i's slice; a unit without spikes repeats the previous end)."""
    times = np.asarray(units.spike_times.data[:], dtype=np.float64)
    index = np.asarray(units.spike_times_index.data[:]).astype(np.int64)
    if len(index) != len(units.id.data[:]) or (np.diff(index) < 0).any() or (len(index) and index[0] < 0) or \
            (len(index) and index[-1] != len(times)) or (not len(index) and len(times)):
        raise DataError(path, f"units table column 'spike_times_index' does not add up ({len(index)} units, "
                              f"{len(times)} spike times, last slice end {int(index[-1]) if len(index) else None}; "
                              "expected increasing slice ends, the last equal to the number of spike times)")
    if not np.isfinite(times).all():
        raise DataError(path, f"units table column 'spike_times' holds {int((~np.isfinite(times)).sum())} NaN/inf "
                              f"values of {len(times)}; expected each spike's time in seconds")
    starts = np.r_[0, index[:-1]]
    return [times[a:b] for a, b in zip(starts, index)]


def bin_centres(t0: float, t1: float, bin_s: float) -> np.ndarray:
    """``(T,)`` centres (s) of the whole bins of ``bin_s`` in ``[t0, t1)`` (at least one)."""
    T = max(int(np.floor((t1 - t0) / bin_s)), 1)
    return t0 + (np.arange(T) + 0.5) * bin_s


def bin_spikes(trains: list[np.ndarray], t0: float, t1: float, bin_s: float) -> tuple[np.ndarray, np.ndarray]:
    """``(counts (T, U) float32, bin centres (T,) s)`` of spikes in ``[t0, t1)``."""
    centres = bin_centres(t0, t1, bin_s)
    T = len(centres)
    counts = np.zeros((len(trains), T), dtype=np.float32)
    for u, t in enumerate(trains):
        b = np.floor((t[(t >= t0) & (t < t0 + T * bin_s)] - t0) / bin_s).astype(np.int64)
        counts[u] = np.bincount(b, minlength=T)[:T]
    return counts.T.copy(), centres


def stabilise(counts: np.ndarray, transform: str) -> np.ndarray:
    """The optional variance-stabilising transform of spike counts."""
    if transform == "sqrt":
        return np.sqrt(counts).astype(np.float32)
    if transform == "anscombe":
        return (2.0 * np.sqrt(counts + 3.0 / 8.0)).astype(np.float32)
    return counts


def read_ecephys(path: str | Path, traces: bool = True, handle=None, *, areas=("VIS*",), bin_s: float = 1 / 30,
                 populations: str = "session", spike_transform: str = "none", unit_filter: str = "allensdk",
                 **_) -> list[Session]:
    """Read one Neuropixels session (see the module docstring).

    Returns:
        One :class:`Session` (``populations="session"``) or one per area (``"per_area"``).

    Raises:
        DataError: missing tables, ragged indices that do not add up, text in numeric
            columns, no unit left, no stimulus table (one line, naming the file).
    """
    path = Path(path)
    with open_h5(path, handle) as f:
        io = _read_nwb(f, path)
        nwb = io.read()
        if nwb.units is None or len(nwb.units.id.data[:]) == 0:
            raise DataError(path, "no units, expected a units table with spike times")
        sid = _session_id(nwb, path)
        chosen = filter_units(nwb.units, nwb.electrodes, path, tuple(areas), unit_filter)
        if not chosen["keep"].any():
            raise DataError(path, f"no unit passes the unit filter in areas {list(areas)} (dropped: "
                                  f"{chosen['dropped']}); set dataset.areas or dataset.unit_filter")
        tables = _presentation_tables(nwb, path)
        if not tables:
            raise DataError(path, "no stimulus presentation table (intervals/<stimulus>_presentations), expected "
                                  "natural movies, gratings or natural scenes")
        t0 = min(float(t["start"].min()) for t in tables.values() if len(t["start"]))
        t1 = max(float(t["end"].max()) for t in tables.values() if len(t["end"]))
        bins, units = (t1 - t0) / bin_s, int(chosen["keep"].sum())
        # per bin: its time, ~12 labels, and (with traces) the counts twice while binning
        refuse_beyond_memory(bins * (8 * 13 + (8 * units if traces else 0)),
                             f"dataset.bin_s={bin_s:g} cuts the {t1 - t0:.0f} s of {path.name} into {bins:.3g} bins "
                             f"x {units} units", "raise dataset.bin_s (1/30 s, one movie frame, is the default)")
        trains = spike_trains(nwb.units, path) if traces else None
        keep = np.flatnonzero(chosen["keep"])
        unit_ids = np.asarray(nwb.units.id.data[:])[keep]
        area = chosen["area"][keep]
        timestamps = bin_centres(t0, t1, bin_s)
        T = len(timestamps)
        if traces:
            counts, _ = bin_spikes([trains[i] for i in keep], t0, t1, bin_s)
            values = stabilise(counts, spike_transform)
        running = _running(nwb, timestamps)
        subject = {"session_type": str(getattr(nwb, "stimulus_notes", "") or "")}
    labels = table_labels(tables, timestamps)
    if running is not None:
        labels["running_speed"] = running
    masks = table_splits(tables, timestamps)
    metadata = {"units_kept_per_area": chosen["kept_per_area"], "units_dropped": chosen["dropped"],
                "units_dropped_per_area": chosen["dropped_per_area"], "bin_s": bin_s,
                "spike_transform": spike_transform, "areas": list(areas)}
    groups = [(sid, np.arange(len(keep)))] if populations == "session" else \
        [(f"{sid}_{a}", np.flatnonzero(area == a)) for a in sorted(set(area))]
    out = []
    for group_id, cols in groups:
        vals = values[:, cols] if traces else placeholder_traces(T, len(cols))
        session = Session(session_id=safe_session_id(group_id, path), traces=vals, timestamps=timestamps,
                          sampling_rate=1.0 / bin_s, train_mask=masks["train"], valid_mask=masks["valid"],
                          test_mask=masks["test"], domain=(t0, t0 + T * bin_s), labels=labels,
                          unit_ids=np.array([f"{u}" for u in unit_ids[cols]], dtype=object), layout="nwb2_ecephys",
                          path=path, subject={**subject, "areas": ",".join(sorted(set(area[cols])))},
                          modality="spikes", metadata={**metadata, "unit_areas": [str(a) for a in area[cols]],
                                                       "units_kept_per_area": {a: n for a, n in
                                                                               chosen["kept_per_area"].items()
                                                                               if a in set(area[cols])}})
        out.append(validate_session(session, path))
    return out if populations == "per_area" else out[0]


def read_ophys(path: str | Path, traces: bool = True, handle=None, **_) -> Session:
    """Read one two-photon NWB 2 session (DANDI's Visual Coding conversion, AllenSDK's ophys
    writer): dF/F of the valid ROIs, every stimulus table, running speed."""
    path = Path(path)
    with open_h5(path, handle) as f:
        io = _read_nwb(f, path)
        nwb = io.read()
        ophys = nwb.processing["ophys"]
        series = None
        for name in ("DfOverF", "dff"):
            if name in ophys.data_interfaces:
                obj = ophys.data_interfaces[name]
                series = next(iter(obj.roi_response_series.values())) if hasattr(obj, "roi_response_series") else \
                    obj.get("traces") if hasattr(obj, "get") else obj
                break
        if series is None:
            raise DataError(path, "no processing/ophys/DfOverF (or dff) RoiResponseSeries, expected dF/F (T, N)")
        data = series.data
        if len(data.shape) != 2:
            raise DataError(path, f"dF/F has shape {data.shape}, expected (T, N)")
        timestamps = np.asarray(series.timestamps[:], dtype=np.float64)
        if len(timestamps) != data.shape[0]:
            raise DataError(path, f"dF/F has {data.shape[0]} samples but {len(timestamps)} timestamps")
        rois = series.rois.table
        cols = set(rois.colnames)
        valid = (np.asarray(rois["valid_roi"].data[:], dtype=bool) if "valid_roi" in cols
                 else np.ones(data.shape[1], bool))
        roi_ids = np.asarray(rois["cell_specimen_id"].data[:] if "cell_specimen_id" in cols else rois.id.data[:])
        keep = np.flatnonzero(valid[series.rois.data[:]] if len(valid) != data.shape[1] else valid)
        values = np.asarray(data[:], dtype=np.float32)[:, keep] if traces else placeholder_traces(len(timestamps),
                                                                                                len(keep))
        steps = np.diff(timestamps)
        rate = float(1.0 / np.median(steps)) if len(steps) and np.median(steps) > 0 else 0.0
        plane = next(iter(nwb.imaging_planes.values()), None) if nwb.imaging_planes else None
        subject = {}
        if plane is not None:
            subject["target_area"] = str(plane.location)
            depth = getattr(plane, "imaging_depth", None) or (plane.description or "")
            if getattr(plane, "imaging_depth", None):
                subject["imaging_depth"] = str(depth)
        tables = _presentation_tables(nwb, path)
        running = _running(nwb, timestamps)
        sid = _session_id(nwb, path)
    labels = table_labels(tables, timestamps)
    if running is not None:
        labels["running_speed"] = running
    masks = table_splits(tables, timestamps)
    session = Session(session_id=sid, traces=values, timestamps=timestamps, sampling_rate=rate,
                      train_mask=masks["train"], valid_mask=masks["valid"], test_mask=masks["test"],
                      domain=(float(timestamps[0]), float(timestamps[-1])), labels=labels,
                      unit_ids=np.array([str(u) for u in roi_ids[keep]] if len(roi_ids) == data.shape[1] else
                                        [str(i) for i in keep], dtype=object),
                      layout="nwb2_ophys", path=path, subject=subject)
    return validate_session(session, path)


LAYOUT_ECEPHYS = Layout("nwb2_ecephys", (".nwb",), is_ecephys, read_ecephys,
                        "NWB 2 Neuropixels (units with spike_times, electrodes, intervals/*_presentations)",
                        split_rule=SPLIT_RULE)
LAYOUT_OPHYS = Layout("nwb2_ophys", (".nwb",), is_ophys, read_ophys,
                      "NWB 2 two-photon (processing/ophys/DfOverF or dff, stimulus presentations)",
                      split_rule=SPLIT_RULE)

__all__ = ["LAYOUT_ECEPHYS", "LAYOUT_OPHYS", "read_ecephys", "read_ophys", "filter_units", "spike_trains",
           "bin_centres", "bin_spikes", "stabilise", "is_ecephys", "is_ophys", "UNIT_FILTER"]
