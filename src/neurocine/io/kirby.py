"""The kirby / POYO-CAP layout: the seed's own session files, read and written with h5py.

temporaldata 0.1.6 cannot open these files (they lack ``absolute_start``), so they are
parsed key by key as ``FORMATS.md`` section 1 lists them.
"""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np

from neurocine.errors import DataError
from neurocine.io.hdf5 import open_h5, require
from neurocine.io.recording import TEMPORAL_FREQUENCIES_HZ, Recording, atomic_h5
from neurocine.session import Session, interval_values, intervals_mask, placeholder_traces, validate_session

#: Seed of the shuffled 70/10/20 grating-trial split.
GRATING_SPLIT_SEED = 42


def _decode(values) -> np.ndarray:
    return np.array([v.decode() if isinstance(v, bytes) else str(v) for v in values], dtype=object)


def _interval_table(group: h5py.Group, keys: tuple[str, ...]) -> dict[str, np.ndarray]:
    out = {}
    for key in keys:
        if key in group:
            out[key] = np.asarray(group[key][()])
    order = np.argsort(out["start"], kind="stable")
    return {k: v[order] for k, v in out.items()}


def read_kirby(path: str | Path, traces: bool = True) -> Session:
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
    with open_h5(path) as f:
        ct = require(f, "calcium_traces", path, "a RegularTimeSeries group with df_over_f (T, N)")
        dset = require(ct, "df_over_f", path, "(T, N) float dF/F")
        if not isinstance(dset, h5py.Dataset) or dset.ndim != 2:
            shape = getattr(dset, "shape", "a group")
            raise DataError(path, f"calcium_traces/df_over_f has shape {shape}, expected 2-D (T, N)")
        traces = np.asarray(dset[()], dtype=np.float32) if traces else placeholder_traces(*dset.shape)
        T = traces.shape[0]
        rate = float(ct.attrs.get("sampling_rate", 0.0))
        if "timestamps" in ct:
            timestamps = np.asarray(ct["timestamps"][()], dtype=np.float64)
            if rate <= 0 and T > 1:
                rate = float((T - 1) / (timestamps[-1] - timestamps[0])) if timestamps[-1] != timestamps[0] else 0.0
        else:
            if rate <= 0:
                raise DataError(path, f"calcium_traces has sampling_rate={rate}, expected > 0 Hz")
            if "domain" in ct:
                t0 = float(np.asarray(ct["domain/start"][()]).ravel()[0])
            else:
                t0 = float(np.asarray(require(f, "domain", path, "domain/start, domain/end")["start"][()]).ravel()[0])
            timestamps = t0 + np.arange(T, dtype=np.float64) / rate
        masks = {}
        for split in ("train", "valid", "test"):
            m = require(ct, f"{split}_mask", path, "(T,) bool split mask")
            masks[split] = np.asarray(m[()], dtype=bool).ravel()
        if "domain" in f:
            domain = (float(np.asarray(f["domain/start"][()]).ravel()[0]),
                      float(np.asarray(f["domain/end"][()]).ravel()[-1]))
        else:
            domain = (float(timestamps[0]), float(timestamps[-1]))

        movie_frame = np.full(T, -1, dtype=np.int64)
        movie_repeat = np.full(T, -1, dtype=np.int64)
        if "natural_movie_one" in f:
            nm = _interval_table(f["natural_movie_one"], ("start", "end", "frame_number"))
            frames = np.asarray(nm["frame_number"]).reshape(len(nm["start"]), -1)[:, 0]
            movie_frame = interval_values(timestamps, nm["start"], nm["end"],
                                          np.round(frames).astype(np.int64), -1).astype(np.int64)
            if "natural_movie_one_epochs" in f:
                ep = _interval_table(f["natural_movie_one_epochs"], ("start", "end", "repeat_num"))
                rep = interval_values(timestamps, ep["start"], ep["end"], ep["repeat_num"].astype(np.int64), -1)
                movie_repeat = np.where(movie_frame >= 0, rep, -1).astype(np.int64)

        orientation = np.full(T, np.nan, dtype=np.float32)
        temporal_frequency = np.full(T, np.nan, dtype=np.float32)
        if "drifting_gratings" in f:
            dg = _interval_table(f["drifting_gratings"], ("start", "end", "orientation", "temp_freq"))
            if "orientation" in dg:
                deg = dg["orientation"].astype(np.float32) * 45.0
                orientation = interval_values(timestamps, dg["start"], dg["end"], deg, np.nan).astype(np.float32)
            if "temp_freq" in dg:
                hz = np.asarray(TEMPORAL_FREQUENCIES_HZ, dtype=np.float32)[dg["temp_freq"].astype(int)]
                temporal_frequency = interval_values(timestamps, dg["start"], dg["end"], hz, np.nan).astype(np.float32)

        if "units" in f and "id" in f["units"]:
            unit_ids = _decode(f["units/id"][()])
        else:
            unit_ids = np.array([f"unit_{i}" for i in range(traces.shape[1])], dtype=object)
        subject = {k: (v.decode() if isinstance(v, bytes) else str(v))
                   for k, v in f["subject"].attrs.items() if k != "object"} if "subject" in f else {}

    session = Session(
        session_id=path.stem, traces=traces, timestamps=timestamps, sampling_rate=rate,
        train_mask=masks["train"], valid_mask=masks["valid"], test_mask=masks["test"],
        domain=domain, movie_frame=movie_frame, movie_repeat=movie_repeat,
        grating_orientation=orientation, grating_temporal_frequency=temporal_frequency,
        unit_ids=unit_ids, layout="kirby", path=path, subject=subject)
    return validate_session(session, path)


def kirby_splits(rec: Recording) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """The kirby split rules: movie repeats 8/1/1 in order; grating trials 70/10/20
    shuffled with seed 42.

    Returns:
        ``(movie_split, grating_split)``: per-row split name arrays (``"train"``, ...).
    """
    movie_split = np.where(rec.movie_repeat < 8, "train", np.where(rec.movie_repeat == 8, "valid", "test"))
    n = len(rec.grating_start)
    perm = np.random.default_rng(GRATING_SPLIT_SEED).permutation(n)
    n_train, n_valid = int(round(0.7 * n)), int(round(0.1 * n))
    grating_split = np.empty(n, dtype="<U5")
    grating_split[perm[:n_train]] = "train"
    grating_split[perm[n_train:n_train + n_valid]] = "valid"
    grating_split[perm[n_train + n_valid:]] = "test"
    return movie_split, grating_split


def write_kirby(rec: Recording, path: str | Path, overwrite: bool = False) -> Path:
    """Write ``rec`` as a kirby-layout file (atomically; refuses to overwrite).

    Sample masks are True only inside the split's movie repeats and grating trials.
    """
    path = Path(path)
    ts = rec.timestamps
    T, N = rec.traces.shape
    movie_split, grating_split = kirby_splits(rec)
    sample_masks = {}
    for split in ("train", "valid", "test"):
        sample_masks[split] = (
            intervals_mask(ts, rec.movie_frame_start[movie_split == split], rec.movie_frame_end[movie_split == split])
            | intervals_mask(ts, rec.grating_start[grating_split == split], rec.grating_end[grating_split == split]))

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
    with atomic_h5(path, overwrite) as f:
        f.attrs["object"] = "Data"
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
        interval_group(f, "natural_movie_one", rec.movie_frame_start, rec.movie_frame_end,
                       frame_number=rec.movie_frame.astype(np.float32)[:, None], **masks)
        ep_start, ep_end = _movie_repeat_edges(rec)
        interval_group(f, "natural_movie_one_epochs", ep_start, ep_end, timestamps=False,
                       mv_start=ep_start, repeat_num=np.arange(len(ep_start), dtype=np.int64))
        masks = {f"{s}_mask": grating_split == s for s in ("train", "valid", "test")}
        interval_group(f, "drifting_gratings", rec.grating_start, rec.grating_end,
                       orientation=np.round(rec.grating_direction / 45.0).astype(np.int64),
                       temp_freq=np.array([TEMPORAL_FREQUENCIES_HZ.index(float(x)) for x in rec.grating_temporal_frequency],
                                          dtype=np.int64), **masks)
        subj = f.create_group("subject")
        subj.attrs["object"] = "Data"
        for k, v in rec.subject.items():
            subj.attrs[k] = str(v)
        dom = f.create_group("domain")
        dom.attrs["object"] = "Interval"
        dom.create_dataset("start", data=[rec.start_time])
        dom.create_dataset("end", data=[domain_end])
    return path


def _movie_repeat_edges(rec: Recording) -> tuple[np.ndarray, np.ndarray]:
    reps = np.unique(rec.movie_repeat)
    start = np.array([rec.movie_frame_start[rec.movie_repeat == r].min() for r in reps])
    end = np.array([rec.movie_frame_end[rec.movie_repeat == r].max() for r in reps])
    return start, end
