"""NWB 2 session files written with pynwb, independently of neurocine's writers and
readers, in the two layouts of ``../shared/FORMATS.md`` section 4: an Allen Neuropixels
session (units with ragged spike times, electrodes with areas, ``intervals/*_presentations``)
and a DANDI Visual Coding 2P conversion (``DfOverF`` RoiResponseSeries, stimulus
IndexSeries and TimeIntervals).

Spikes are Poisson with a rate that depends on the movie frame (a smooth random tuning
curve per unit) and on the grating's direction, so decoders have something to find.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd
from hdmf.common import VectorData
from pynwb import NWBHDF5IO, NWBFile, TimeSeries
from pynwb.epoch import TimeIntervals
from pynwb.image import IndexSeries
from pynwb.ophys import ImageSegmentation, OpticalChannel, DfOverF

FRAME_S = 1 / 30
DIRECTIONS = [0.0, 45.0, 90.0, 135.0, 180.0, 225.0, 270.0, 315.0]
TFS = [1.0, 2.0, 4.0, 8.0, 15.0]


def _tuning(rng, n_units: int, n_states: int, smooth: int) -> np.ndarray:
    """(n_units, n_states) positive rate modulation, smooth over states."""
    x = rng.normal(size=(n_units, n_states + 2 * smooth))
    k = np.hanning(2 * smooth + 1)
    x = np.stack([np.convolve(r, k / k.sum(), mode="valid")[:n_states] for r in x])
    x = (x - x.mean(1, keepdims=True)) / (x.std(1, keepdims=True) + 1e-9)
    return np.exp(0.8 * x)


def _movie_dff(rng, ts: np.ndarray, movie_start: np.ndarray, frames: np.ndarray, tuning: np.ndarray) -> np.ndarray:
    """``(T, N)`` dF/F at times ``ts``: noise, plus during the movie each ROI's tuning
    (``(N, movie frames)``) to the frame on screen (presentation ``k`` starts at
    ``movie_start[k]`` and shows ``frames[k]``)."""
    dff = rng.normal(0, 0.3, (len(ts), tuning.shape[0]))
    row = np.searchsorted(movie_start, ts, side="right") - 1
    in_movie = (row >= 0) & (ts < movie_start[-1] + FRAME_S)
    dff[in_movie] += tuning[:, frames[row[in_movie]]].T
    return dff


def _schedule(movie_frames: int, repeats: int, grating_trials: int):
    """Start times of the movie presentations (one row per frame) and grating trials."""
    t = 1.0
    movie_start = t + np.arange(movie_frames * repeats) * FRAME_S
    t = movie_start[-1] + FRAME_S + 1.0
    grating_start = t + np.arange(grating_trials) * 3.0  # 2 s on, 1 s blank
    return movie_start, grating_start


def write_ecephys_nwb(path: Path, *, seed: int = 0, units_per_area=(("VISp", 24), ("VISl", 18)),
                      movie_frames: int = 90, repeats: int = 10, grating_trials: int = 80,
                      session_id: str | None = None, extra_units=True, bad: str | None = None,
                      scenes: int = 0) -> Path:
    """An Allen Neuropixels session file (NWB 2, pynwb), layout of FORMATS.md 4a.

    ``extra_units`` adds units the default filter drops: one 'noise', one with ISI
    violations, one in CA1, one whose peak channel has location '' and one 'None', one whose
    channel is invalid, and one 'good' unit without spikes (kept: silent units are data).
    ``bad`` writes one defect: ``"ragged"`` (spike_times_index past the spike times),
    ``"short_index"`` (its last end short of them), ``"nan_spikes"``, ``"inf_spikes"``,
    ``"all_nan_spikes"``, ``"frame_900"`` / ``"frame_below"`` (a movie frame outside
    -1..899), ``"text"`` (text in a numeric stimulus column), ``"no_intervals"``,
    ``"no_units"``.
    ``scenes`` adds that many natural-scene presentations (0.25 s each, after the gratings;
    image -1 is a blank, as in Allen's tables).
    """
    rng = np.random.default_rng(seed)
    sid = session_id or str(715093703 + seed)
    nwb = NWBFile(session_description="simulated Neuropixels session (tests)", identifier=sid, session_id=sid,
                  session_start_time=datetime(2019, 1, 1, tzinfo=timezone.utc),
                  stimulus_notes="brain_observatory_1.1")
    device = nwb.create_device(name="probeA")
    group = nwb.create_electrode_group(name="probeA", description="probe A", location="", device=device)
    nwb.add_electrode_column("valid_data", "channel is usable")
    areas = [a for a, n in units_per_area]
    if extra_units:
        areas += ["CA1", "", "None", "VISp_invalid"]
    channel_of_area = {}
    for i, area in enumerate(areas):
        location = {"VISp_invalid": "VISp", "": "EMPTY"}.get(area, area)  # pynwb refuses '': patched below
        nwb.add_electrode(id=1000 + i, x=0.0, y=float(i), z=0.0, imp=0.0, location=location, filtering="none",
                          group=group, valid_data=area != "VISp_invalid")
        channel_of_area[area] = 1000 + i

    movie_start, grating_start = _schedule(movie_frames, repeats, grating_trials)
    directions = np.array(DIRECTIONS)[rng.integers(0, 8, grating_trials)]
    tfs = np.array(TFS)[rng.integers(0, 5, grating_trials)]
    t_end = grating_start[-1] + 3.0 + 0.25 * scenes
    frame_of_movie_row = np.tile(np.arange(movie_frames), repeats)

    units = []  # (peak channel, quality, isi, spike times)
    n_good = sum(n for _, n in units_per_area)
    frame_tuning = _tuning(rng, n_good, movie_frames, smooth=3)
    dir_tuning = _tuning(rng, n_good, 8, smooth=1)
    dt = 0.005
    grid = np.arange(0.0, t_end, dt)
    k = 0
    for area, n in units_per_area:
        for _ in range(n):
            rate = np.full(len(grid), 3.0)
            in_movie = (grid >= movie_start[0]) & (grid < movie_start[-1] + FRAME_S)
            row = np.clip(((grid - movie_start[0]) / FRAME_S).astype(int), 0, len(movie_start) - 1)
            rate[in_movie] = 6.0 * frame_tuning[k, frame_of_movie_row[row[in_movie]]]
            for s, d in zip(grating_start, directions):
                on = (grid >= s) & (grid < s + 2.0)
                rate[on] = 6.0 * dir_tuning[k, DIRECTIONS.index(d)]
            spikes = grid[rng.random(len(grid)) < rate * dt] + rng.random() * dt
            units.append((channel_of_area[area], "good", 0.1, np.sort(spikes)))
            k += 1
    if extra_units:
        some = np.sort(rng.uniform(0, t_end, 200))
        units += [(channel_of_area["VISp_invalid"] - 4, "noise", 0.1, some),  # VISl channel, noise
                  (channel_of_area[areas[0]], "good", 3.0, some),  # ISI violations
                  (channel_of_area["CA1"], "good", 0.1, some),
                  (channel_of_area[""], "good", 0.1, some),
                  (channel_of_area["None"], "good", 0.1, some),
                  (channel_of_area["VISp_invalid"], "good", 0.1, some),
                  (channel_of_area[areas[0]], "good", 0.1, np.array([]))]  # silent
    if bad != "no_units":
        nwb.add_unit_column("peak_channel_id", "the unit's peak channel (electrodes id)")
        nwb.add_unit_column("quality", "'good' or 'noise'")
        nwb.add_unit_column("isi_violations", "ISI violation rate")
        nwb.add_unit_column("presence_ratio", "fraction of the session with spikes")
        nwb.add_unit_column("amplitude_cutoff", "estimated missed spikes")
        for i, (channel, quality, isi, spikes) in enumerate(units):
            nwb.add_unit(id=950000000 + i, spike_times=spikes, peak_channel_id=channel, quality=quality,
                         isi_violations=isi, presence_ratio=0.99, amplitude_cutoff=0.01)

    if bad != "no_intervals":
        movie = TimeIntervals(name="natural_movie_one_presentations", description="movie frames")
        movie.add_column("stimulus_name", "name")
        movie.add_column("frame", "movie frame")
        movie.add_column("stimulus_block", "block")
        for s, fr in zip(movie_start, frame_of_movie_row):
            movie.add_row(start_time=float(s), stop_time=float(s + FRAME_S), stimulus_name="natural_movie_one",
                          frame=float(fr), stimulus_block=2.0)
        nwb.add_time_intervals(movie)
        dg = TimeIntervals(name="drifting_gratings_presentations", description="gratings")
        text = bad == "text"
        dg.add_column("orientation", "direction (deg)")
        dg.add_column("temporal_frequency", "Hz")
        dg.add_column("spatial_frequency", "cpd (text in Allen files)")
        for i, (s, d, tf) in enumerate(zip(grating_start, directions, tfs)):
            blank = i % 20 == 19
            dg.add_row(start_time=float(s), stop_time=float(s + 2.0),
                       orientation="N/A" if blank else ("abc" if text and i == 3 else str(d)),
                       temporal_frequency="N/A" if blank else str(tf), spatial_frequency="0.04")
        nwb.add_time_intervals(dg)
        if scenes:
            ns = TimeIntervals(name="natural_scenes_presentations", description="natural scenes")
            ns.add_column("frame", "image index (-1: blank)")
            first = grating_start[-1] + 3.0
            for i in range(scenes):
                ns.add_row(start_time=float(first + 0.25 * i), stop_time=float(first + 0.25 * (i + 1)),
                           frame=float(i % 119 - 1))
            nwb.add_time_intervals(ns)

    running = nwb.create_processing_module("running", "running speed")
    rt = np.arange(0.0, t_end, 0.1)
    running.add(TimeSeries(name="running_speed", data=np.abs(rng.normal(5, 2, len(rt))), timestamps=rt,
                           unit="cm/s"))
    path.parent.mkdir(parents=True, exist_ok=True)
    with NWBHDF5IO(str(path), "w") as io:
        io.write(nwb)
    import h5py  # noqa: PLC0415

    with h5py.File(path, "r+") as f:
        if extra_units:  # Allen files hold '' for channels outside a structure
            loc = f["general/extracellular_ephys/electrodes/location"]
            loc[...] = np.array([b"" if v in (b"EMPTY", "EMPTY") else v for v in loc[:]], dtype=object)
        if bad in ("ragged", "short_index"):
            idx = f["units/spike_times_index"]
            values = idx[:]
            values[-1] = values[-1] + 50 if bad == "ragged" else values[-1] - 50  # unsigned: no negative add
            idx[...] = values
        if bad in ("nan_spikes", "inf_spikes", "all_nan_spikes"):
            st = f["units/spike_times"]
            values = st[:]
            if bad == "all_nan_spikes":
                values[:] = np.nan
            else:
                values[::97] = np.nan if bad == "nan_spikes" else np.inf
            st[...] = values
        if bad in ("frame_900", "frame_below"):
            fr = f["intervals/natural_movie_one_presentations/frame"]
            values = fr[:]
            values[5] = 900.0 if bad == "frame_900" else -2.0
            fr[...] = values
    return path


def write_ophys_nwb(path: Path, *, seed: int = 0, n_rois: int = 30, movie_frames: int = 90, repeats: int = 10,
                    grating_trials: int = 60, session_id: str = "667515096-StimA", running: str = "short",
                    n_invalid: int = 3) -> Path:
    """A DANDI Visual Coding 2P conversion (NWB 2, pynwb), layout of FORMATS.md 4b(i):
    ``processing/ophys/DfOverF/DfOverF``, ``stimulus/presentation/natural_movie_one_stimulus``
    (IndexSeries of frames), ``drifting_gratings`` (TimeIntervals with is_blank_sweep),
    ``processing/behavior/BehavioralTimeSeries/running_speed`` (shorter than dF/F when
    ``running="short"``, as in real files)."""
    rng = np.random.default_rng(seed)
    nwb = NWBFile(session_description="simulated 2P session (tests)", identifier=session_id, session_id=session_id,
                  session_start_time=datetime(2018, 1, 1, tzinfo=timezone.utc))
    device = nwb.create_device(name="Microscope")
    channel = OpticalChannel(name="OpticalChannel", description="green", emission_lambda=520.0)
    plane = nwb.create_imaging_plane(name="ImagingPlane", optical_channel=channel, description="depth 175 um",
                                     device=device, excitation_lambda=910.0, indicator="GCaMP6f", location="VISp",
                                     imaging_rate=30.0)
    ophys = nwb.create_processing_module("ophys", "optical physiology")
    seg = ImageSegmentation()
    ps = seg.create_plane_segmentation(name="PlaneSegmentation", description="ROIs", imaging_plane=plane)
    ps.add_column("valid_roi", "ROI is a cell")
    for i in range(n_rois):
        mask = np.zeros((4, 4), dtype=np.float32)
        mask[i % 4, (i // 4) % 4] = 1.0
        ps.add_roi(id=517000000 + i, image_mask=mask, valid_roi=i >= n_invalid)
    ophys.add(seg)
    movie_start, grating_start = _schedule(movie_frames, repeats, grating_trials)
    rate = 30.0
    ts = np.arange(0.0, grating_start[-1] + 3.0, 1 / rate)
    frame_tuning = _tuning(rng, n_rois, movie_frames, smooth=3)
    dir_tuning = _tuning(rng, n_rois, 8, smooth=1)
    directions = np.array(DIRECTIONS)[rng.integers(0, 8, grating_trials)]
    frames = np.tile(np.arange(movie_frames), repeats)
    dff = _movie_dff(rng, ts, movie_start, frames, frame_tuning)
    for s, d in zip(grating_start, directions):
        on = (ts >= s) & (ts < s + 2.0)
        dff[on] += dir_tuning[:, DIRECTIONS.index(d)]
    region = ps.create_roi_table_region(region=list(range(n_rois)), description="all ROIs")
    dfof = DfOverF(name="DfOverF")
    dfof.create_roi_response_series(name="DfOverF", data=dff.astype(np.float32), rois=region, unit="NA",
                                    timestamps=ts)
    ophys.add(dfof)
    nwb.add_stimulus(IndexSeries(name="natural_movie_one_stimulus", data=frames.astype(np.uint32),
                                 timestamps=movie_start, unit="N/A", indexed_timeseries=None,
                                 description="frame shown") if _index_series_without_target() else
                     TimeSeries(name="natural_movie_one_stimulus", data=frames.astype(np.uint32),
                                timestamps=movie_start, unit="N/A"))
    blank = np.arange(grating_trials) % 15 == 14
    df = pd.DataFrame({"start_time": grating_start, "stop_time": grating_start + 2.0,
                       "orientation_in_degrees": np.where(blank, np.nan, directions),
                       "temporal_frequency_in_hz": np.where(blank, np.nan, 2.0),
                       "spatial_frequency_in_cycles_per_degree": np.where(blank, np.nan, 0.04),
                       "is_blank_sweep": blank.astype(float)})
    dg = TimeIntervals(name="drifting_gratings", description="drifting gratings",
                       columns=[VectorData(name=c, description=c, data=df[c].to_numpy()) for c in df.columns])
    nwb.add_stimulus(dg)
    behavior = nwb.create_processing_module("behavior", "running")
    from pynwb.behavior import BehavioralTimeSeries  # noqa: PLC0415

    rts = ts[: len(ts) - 45] if running == "short" else ts
    bts = BehavioralTimeSeries(name="BehavioralTimeSeries")
    bts.create_timeseries(name="running_speed", data=np.abs(rng.normal(3, 1, len(rts))), timestamps=rts, unit="cm/s")
    behavior.add(bts)
    path.parent.mkdir(parents=True, exist_ok=True)
    with NWBHDF5IO(str(path), "w") as io:
        io.write(nwb)
    return path


def _index_series_without_target() -> bool:
    """pynwb >= 2.? allows an IndexSeries without an indexed series; older ones do not."""
    try:
        IndexSeries(name="x", data=np.zeros(2, np.uint32), timestamps=np.arange(2.0), unit="N/A",
                    indexed_timeseries=None)
        return True
    except Exception:  # noqa: BLE001 - any refusal means: write a TimeSeries instead
        return False


def write_ophys_allensdk_nwb(path: Path, *, seed: int = 0, n_rois: int = 24, movie_frames: int = 90,
                             repeats: int = 10, grating_trials: int = 40, session_id: str = "951980471",
                             frame_column: str = "movie_frame_index", repeat_column: str | None = "movie_repeat"
                             ) -> Path:
    """A two-photon session in AllenSDK's ophys writer layout (NWB 2, pynwb), FORMATS.md
    4b(ii): ``processing/ophys/dff/traces`` (RoiResponseSeries over
    ``image_segmentation/cell_specimen_table`` with ``cell_specimen_id`` and ``valid_roi``),
    ``general/optophysiology/imaging_plane_1``, and ``intervals/*_presentations`` as in 4a,
    the movie table with ``movie_frame_index`` and ``movie_repeat`` (``frame_column`` /
    ``repeat_column`` choose the documented variants: ``frame`` instead, or no repeat column),
    ``stimulus_block``, ``start_frame`` and ``end_frame``."""
    from pynwb.ophys import DfOverF as Dff  # noqa: PLC0415

    rng = np.random.default_rng(seed)
    nwb = NWBFile(session_description="simulated AllenSDK ophys session (tests)", identifier=session_id,
                  session_id=session_id, session_start_time=datetime(2020, 1, 1, tzinfo=timezone.utc))
    device = nwb.create_device(name="MESO.1")
    channel = OpticalChannel(name="channel_1", description="green", emission_lambda=520.0)
    plane = nwb.create_imaging_plane(name="imaging_plane_1", optical_channel=channel, description="375 um",
                                     device=device, excitation_lambda=910.0, indicator="GCaMP6f", location="VISp",
                                     imaging_rate=30.0)
    ophys = nwb.create_processing_module("ophys", "ophys processing")
    seg = ImageSegmentation(name="image_segmentation")
    table = seg.create_plane_segmentation(name="cell_specimen_table", description="cells", imaging_plane=plane)
    table.add_column("cell_specimen_id", "cell specimen id (-1: none)")
    table.add_column("valid_roi", "ROI is a cell")
    for i in range(n_rois):
        mask = np.zeros((4, 4), dtype=np.float32)
        mask[i % 4, (i // 4) % 4] = 1.0
        table.add_roi(id=1080000000 + i, image_mask=mask, cell_specimen_id=1086000000 + i, valid_roi=i != 0)
    ophys.add(seg)
    movie_start, grating_start = _schedule(movie_frames, repeats, grating_trials)
    ts = np.arange(0.0, grating_start[-1] + 3.0, 1 / 30.0)
    frames = np.tile(np.arange(movie_frames), repeats)
    tuning = _tuning(rng, n_rois, movie_frames, smooth=3)
    dff = _movie_dff(rng, ts, movie_start, frames, tuning)
    region = table.create_roi_table_region(region=list(range(n_rois)), description="all cells")
    dff_module = Dff(name="dff")
    dff_module.create_roi_response_series(name="traces", data=dff.astype(np.float32), rois=region, unit="NA",
                                          timestamps=ts)
    ophys.add(dff_module)
    movie = TimeIntervals(name="natural_movie_one_presentations", description="movie frames")
    movie.add_column("stimulus_name", "name")
    movie.add_column("stimulus_block", "block")
    movie.add_column(frame_column, "movie frame")
    if repeat_column:
        movie.add_column(repeat_column, "repeat of the movie")
    movie.add_column("start_frame", "first 2P frame")
    movie.add_column("end_frame", "last 2P frame")
    for k, (s, fr) in enumerate(zip(movie_start, frames)):
        extra = {repeat_column: k // movie_frames} if repeat_column else {}
        first = int(np.searchsorted(ts, s))
        movie.add_row(start_time=float(s), stop_time=float(s + FRAME_S), stimulus_name="natural_movie_one",
                      stimulus_block=1.0, **{frame_column: int(fr)}, **extra, start_frame=first, end_frame=first + 1)
    nwb.add_time_intervals(movie)
    directions = np.array(DIRECTIONS)[rng.integers(0, 8, grating_trials)]
    dg = TimeIntervals(name="drifting_gratings_presentations", description="gratings")
    dg.add_column("orientation", "direction (deg)")
    dg.add_column("temporal_frequency", "Hz")
    for s, d in zip(grating_start, directions):
        dg.add_row(start_time=float(s), stop_time=float(s + 2.0), orientation=float(d), temporal_frequency=2.0)
    nwb.add_time_intervals(dg)
    path.parent.mkdir(parents=True, exist_ok=True)
    with NWBHDF5IO(str(path), "w") as io:
        io.write(nwb)
    return path
