"""The kirby / POYO-CAP layout: the original design's own session files, read and written with h5py.

temporaldata 0.1.6 cannot open these files (they lack ``absolute_start``), so they are
parsed key by key as ``docs/formats.md`` ("kirby / POYO-CAP") lists them.
"""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np

from neurocine.atomic import atomic_h5
from neurocine.errors import DataError
from neurocine.io.hdf5 import check_rate, open_h5, require
from neurocine.io.layouts.base import Layout
from neurocine.io.recording import Recording, verify_written, write_simulation_tag
from neurocine.io.splits import repeat_split, shuffled_trial_split
from neurocine.session import Session, interval_values, intervals_mask, placeholder_traces, validate_session
from neurocine.stimuli import LABELS, TEMPORAL_FREQUENCIES_HZ

def _decode(values) -> np.ndarray:
    return np.array([v.decode() if isinstance(v, bytes) else str(v) for v in values], dtype=object)


def _interval_table(group: h5py.Group, keys: tuple[str, ...], path, required=("start", "end")) -> dict[str, np.ndarray]:
    """Columns of an Interval group, sorted by start; every column one row per interval."""
    name = group.name.strip("/")
    if not isinstance(group, h5py.Group):
        raise DataError(path, f"'{name}' is a dataset, expected an Interval group (start, end, ...)")
    out = {}
    for key in keys:
        if key in group:
            out[key] = np.asarray(group[key][()])
        elif key in required:
            require(group, key, path, "(K,) times in seconds")
    n = len(out["start"].reshape(-1))
    for key, values in out.items():
        if values.ndim == 0 or values.shape[0] != n:
            raise DataError(path, f"'{name}/{key}' has {values.shape[0] if values.ndim else 0} rows, expected {n} "
                                  f"(one per interval, as '{name}/start')")
        if values.dtype.kind not in "biuf":
            raise DataError(path, f"'{name}/{key}' holds {values.dtype}, expected numbers")
    order = np.argsort(out["start"].reshape(-1), kind="stable")
    return {k: v[order] for k, v in out.items()}


def _sampling_rate(ct, path) -> float:
    """The ``calcium_traces`` sampling rate attribute: a finite number > 0 (0 when absent)."""
    raw = ct.attrs.get("sampling_rate", 0.0)
    try:
        rate = float(np.asarray(raw).item() if np.ndim(raw) == 0 or np.size(raw) == 1 else "x")
    except (TypeError, ValueError):
        raise DataError(path, f"calcium_traces has sampling_rate={raw!r}, expected one number > 0 (Hz)") from None
    if not np.isfinite(rate) or rate < 0 or ("sampling_rate" in ct.attrs and rate == 0):
        raise DataError(path, f"calcium_traces has sampling_rate={rate}, expected a finite number > 0 (Hz)")
    return rate


def read_kirby(path: str | Path, traces: bool = True, handle=None, **_) -> Session:
    """Read one kirby-layout session file.

    Args:
        path: ``<session_id>.h5`` in the kirby layout.
        traces: False reads only the labels, splits and shapes; ``Session.traces`` is then
            a zero-memory placeholder (see :func:`~neurocine.session.placeholder_traces`).

    Returns:
        A validated :class:`Session`; the file is opened read-only and not modified.

    Raises:
        DataError: missing keys, wrong shapes, NaNs, corrupt HDF5 (one line, names file).
    """
    path = Path(path)
    with open_h5(path, handle) as f:
        ct = require(f, "calcium_traces", path, "a RegularTimeSeries group with df_over_f (T, N)")
        if not isinstance(ct, h5py.Group):
            raise DataError(path, "'calcium_traces' is a dataset, expected a group holding df_over_f (T, N) and "
                                  "the split masks")
        dset = require(ct, "df_over_f", path, "(T, N) float dF/F")
        if not isinstance(dset, h5py.Dataset) or dset.ndim != 2:
            shape = getattr(dset, "shape", "a group")
            raise DataError(path, f"calcium_traces/df_over_f has shape {shape}, expected 2-D (T, N)")
        if dset.dtype.kind not in "fiu":
            raise DataError(path, f"calcium_traces/df_over_f holds {dset.dtype}, expected numbers (dF/F)")
        traces = np.asarray(dset[()], dtype=np.float32) if traces else placeholder_traces(*dset.shape)
        T = traces.shape[0]
        rate = _sampling_rate(ct, path)
        if "timestamps" in ct:
            timestamps = np.asarray(ct["timestamps"][()], dtype=np.float64)
            if rate <= 0 and T > 1:
                rate = float((T - 1) / (timestamps[-1] - timestamps[0])) if timestamps[-1] != timestamps[0] else 0.0
        else:
            if rate <= 0:
                raise DataError(path, f"calcium_traces has sampling_rate={rate}, expected > 0 Hz")
            dom = ct["domain"] if "domain" in ct else require(f, "domain", path, "domain/start, domain/end")
            start = np.asarray(require(dom, "start", path, "(1,) start time, s")[()], dtype=np.float64).ravel()
            if start.size == 0 or not np.isfinite(start[0]):
                raise DataError(path, f"'{dom.name.strip('/')}/start' is empty or not finite, expected the "
                                      "recording's start time in seconds")
            timestamps = start[0] + np.arange(T, dtype=np.float64) / rate
            end = np.asarray(dom["end"][()], dtype=np.float64).ravel() if "end" in dom else np.zeros(0)
            if end.size and np.isfinite(end[-1]) and T > 1:
                # end = start + (T - 1) / rate
                check_rate(path, rate, T - 1, float(end[-1] - start[0]), shape=dset.shape)
        masks = {}
        for split in ("train", "valid", "test"):
            m = require(ct, f"{split}_mask", path, "(T,) bool split mask")
            masks[split] = np.asarray(m[()], dtype=bool).ravel()
        domain = (float(timestamps[0]), float(timestamps[-1]))
        if "domain" in f and "start" in f["domain"] and "end" in f["domain"]:
            ds, de = np.asarray(f["domain/start"][()]).ravel(), np.asarray(f["domain/end"][()]).ravel()
            if ds.size and de.size:
                domain = (float(ds[0]), float(de[-1]))

        labels = {}
        if "natural_movie_one" in f:
            nm = _interval_table(f["natural_movie_one"], ("start", "end", "frame_number"), path,
                                 required=("start", "end", "frame_number"))
            frames = np.asarray(nm["frame_number"], dtype=np.float64).reshape(len(nm["start"]), -1)[:, 0]
            if not np.isfinite(frames).all():
                raise DataError(path, f"natural_movie_one/frame_number has {int((~np.isfinite(frames)).sum())} "
                                      "NaN/inf values, expected frame indices 0..899")
            movie_frame = interval_values(timestamps, nm["start"], nm["end"],
                                          np.round(frames).astype(np.int64), -1).astype(np.int64)
            labels["natural_movie_one.frame"] = movie_frame
            if "natural_movie_one_epochs" in f:
                ep = _interval_table(f["natural_movie_one_epochs"], ("start", "end", "repeat_num"), path,
                                     required=("start", "end", "repeat_num"))
                rep = interval_values(timestamps, ep["start"], ep["end"], ep["repeat_num"].astype(np.int64), -1)
                labels["natural_movie_one.repeat"] = np.where(movie_frame >= 0, rep, -1).astype(np.int64)

        if "drifting_gratings" in f:
            dg = _interval_table(f["drifting_gratings"], ("start", "end", "orientation", "temp_freq"), path)
            for key, n in (("orientation", 8), ("temp_freq", len(TEMPORAL_FREQUENCIES_HZ))):
                if key in dg and (~np.isfinite(dg[key].astype(float)) | (dg[key] < 0) | (dg[key] >= n)).any():
                    bad = dg[key][~np.isfinite(dg[key].astype(float)) | (dg[key] < 0) | (dg[key] >= n)][0]
                    raise DataError(path, f"drifting_gratings/{key} has id {bad}, expected 0..{n - 1}")
            if "orientation" in dg:  # stored as direction / 45
                deg = dg["orientation"].astype(np.float32) * 45.0
                labels["drifting_gratings.direction"] = interval_values(timestamps, dg["start"], dg["end"], deg,
                                                                        np.nan).astype(np.float32)
            if "temp_freq" in dg:  # stored as an index into 1, 2, 4, 8, 15 Hz
                hz = np.asarray(TEMPORAL_FREQUENCIES_HZ, dtype=np.float32)[dg["temp_freq"].astype(int)]
                labels["drifting_gratings.temporal_frequency"] = interval_values(
                    timestamps, dg["start"], dg["end"], hz, np.nan).astype(np.float32)

        if "units" in f and "id" in f["units"]:
            unit_ids = _decode(f["units/id"][()])
        else:
            unit_ids = np.array([f"unit_{i}" for i in range(traces.shape[1])], dtype=object)
        subject = {k: (v.decode() if isinstance(v, bytes) else str(v))
                   for k, v in f["subject"].attrs.items() if k != "object"} if "subject" in f else {}

    session = Session(
        session_id=path.stem, traces=traces, timestamps=timestamps, sampling_rate=rate,
        train_mask=masks["train"], valid_mask=masks["valid"], test_mask=masks["test"],
        domain=domain, labels=labels, unit_ids=unit_ids, layout="kirby", path=path, subject=subject)
    return validate_session(session, path)


def kirby_splits(rec: Recording) -> tuple[np.ndarray, np.ndarray]:
    """The kirby split rules: movie repeats 8/1/1 in order; grating trials 70/10/20
    shuffled with seed 42.

    Returns:
        ``(movie_split, grating_split)``: per-row split name arrays (``"train"``, ...).
    """
    return (repeat_split(rec.intervals["natural_movie_one"]["repeat"]),
            shuffled_trial_split(len(rec.intervals["drifting_gratings"]["start"])))


def write_kirby(rec: Recording, path: str | Path, overwrite: bool = False, source=None) -> Path:
    """Write ``rec`` as a kirby-layout file (atomically; refuses to overwrite).

    The layout knows natural_movie_one and drifting gratings only (``docs/formats.md``);
    a recording with other stimuli is refused. Sample masks are True only inside the
    split's movie repeats and grating trials. The file is read back before it is renamed
    into place (:func:`~neurocine.io.recording.verify_written`), as the brainsets writer does.
    """
    path = Path(path)
    other = sorted(set(rec.intervals) - {"natural_movie_one", "drifting_gratings"})
    if other or not {"natural_movie_one", "drifting_gratings"} <= set(rec.intervals):
        raise DataError(path, f"the kirby layout holds natural_movie_one and drifting_gratings only (got "
                              f"{sorted(rec.intervals)}); write it in the brainsets layout")
    ts = rec.timestamps
    T, N = rec.traces.shape
    nm, dg = rec.intervals["natural_movie_one"], rec.intervals["drifting_gratings"]
    movie_split, grating_split = kirby_splits(rec)
    sample_masks = {}
    for split in ("train", "valid", "test"):
        sample_masks[split] = (
            intervals_mask(ts, nm["start"][movie_split == split], nm["end"][movie_split == split])
            | intervals_mask(ts, dg["start"][grating_split == split], dg["end"][grating_split == split]))

    def interval_group(f, name, start, end, timestamps=True, **cols):
        g = f.create_group(name)
        g.attrs["object"] = "Interval"
        g.create_dataset("start", data=np.asarray(start, np.float64))
        g.create_dataset("end", data=np.asarray(end, np.float64))
        keys = ["start", "end"]
        if timestamps:
            g.create_dataset("timestamps", data=(np.asarray(start) + np.asarray(end)) / 2)
            keys.append("timestamps")
        for k, v in cols.items():
            g.create_dataset(k, data=v)
        g.attrs["timekeys"] = np.array(keys, dtype="S")
        g.attrs["_unicode_keys"] = np.array([], dtype="S")
        return g

    domain_end = rec.start_time + (T - 1) / rec.sampling_rate
    check = lambda tmp: verify_written(rec, tmp, read_kirby, source or path)  # noqa: E731
    with atomic_h5(path, overwrite, check=check) as f:
        f.attrs["object"] = "Data"
        write_simulation_tag(f, rec)
        ct = f.create_group("calcium_traces")
        ct.attrs["object"] = "RegularTimeSeries"
        ct.attrs["sampling_rate"] = rec.sampling_rate
        ct.create_dataset("df_over_f", data=rec.traces.astype(np.float32), chunks=(min(T, 4096), N))
        for split, m in sample_masks.items():
            ct.create_dataset(f"{split}_mask", data=m)
        cd = ct.create_group("domain")
        cd.attrs["object"] = "Interval"
        cd.create_dataset("start", data=[rec.start_time])
        cd.create_dataset("end", data=[domain_end])

        units = f.create_group("units")
        units.attrs["object"] = "ArrayDict"
        ids = [f"allen_brain_observatory_calcium/{rec.session_id}/{i}" for i in range(N)]
        units.create_dataset("id", data=np.array(ids, dtype="S"))
        scale = lambda x: (2 * (x - x.min()) / max(np.ptp(x), 1e-9) - 1).astype(np.float64)  # noqa: E731
        units.create_dataset("imaging_plane_xy", data=np.stack([scale(rec.roi_xy[:, 0]), scale(rec.roi_xy[:, 1])], 1))
        units.create_dataset("imaging_plane_area", data=scale(rec.roi_area))
        units.create_dataset("imaging_plane_width", data=scale(rec.roi_width))
        units.create_dataset("imaging_plane_height", data=scale(rec.roi_height))

        masks = {f"{s}_mask": movie_split == s for s in ("train", "valid", "test")}
        interval_group(f, "natural_movie_one", nm["start"], nm["end"],
                       frame_number=np.asarray(nm["frame"]).astype(np.float32)[:, None], **masks)
        ep_start, ep_end = rec.repeat_edges("natural_movie_one")
        interval_group(f, "natural_movie_one_epochs", ep_start, ep_end, timestamps=False,
                       mv_start=ep_start, repeat_num=np.arange(len(ep_start), dtype=np.int64))
        masks = {f"{s}_mask": grating_split == s for s in ("train", "valid", "test")}
        spec_tf = LABELS["drifting_gratings.temporal_frequency"]
        interval_group(f, "drifting_gratings", dg["start"], dg["end"],
                       orientation=np.round(np.asarray(dg["direction"]) / 45.0).astype(np.int64),
                       temp_freq=spec_tf.class_ids(np.asarray(dg["temporal_frequency"], np.float32)), **masks)
        subj = f.create_group("subject")
        subj.attrs["object"] = "Data"
        for k, v in rec.subject.items():
            subj.attrs[k] = str(v)
        dom = f.create_group("domain")
        dom.attrs["object"] = "Interval"
        dom.create_dataset("start", data=[rec.start_time])
        dom.create_dataset("end", data=[domain_end])
    return path


LAYOUT = Layout("kirby", (".h5",), lambda f: "calcium_traces" in f, read_kirby,
                "kirby / POYO-CAP (calcium_traces with split masks)", write=write_kirby)
