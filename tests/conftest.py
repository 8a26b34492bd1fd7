"""Shared fixtures: tiny session files written *independently of our simulator and
writers* (raw h5py for kirby, temporaldata for brainsets), and small simulated datasets."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest

RATE = 30.0
T0 = 5.609


def kirby_arrays(T=600, N=7, seed=0):
    """Known content for a kirby fixture: returns a dict of everything written."""
    rng = np.random.default_rng(seed)
    traces = rng.normal(0.2, 0.3, (T, N)).astype(np.float32)
    ts = T0 + np.arange(T) / RATE
    # movie: 2 repeats of 60 frames, starting at sample 100; repeat 0 train, repeat 1 test
    m_start = ts[100] - 0.001
    k = np.arange(120)
    f_start = m_start + k / RATE
    f_end = f_start + 1 / RATE
    frame_number = (k % 60).astype(np.float32)[:, None]
    # gratings: 4 trials of 1 s (30 samples) starting at samples 300, 350, 400, 450
    g_start = ts[[300, 350, 400, 450]] - 0.001
    g_end = g_start + 1.0
    orientation = np.array([0, 2, 5, 7], dtype=np.int64)  # x45 deg
    temp_freq = np.array([0, 1, 3, 4], dtype=np.int64)  # 1, 2, 8, 15 Hz
    train = np.zeros(T, bool)
    valid = np.zeros(T, bool)
    test = np.zeros(T, bool)
    train[100:160] = True   # movie repeat 0
    test[160:220] = True    # movie repeat 1
    train[300:330] = True
    train[350:380] = True
    valid[400:430] = True
    test[450:480] = True
    return dict(traces=traces, ts=ts, f_start=f_start, f_end=f_end, frame_number=frame_number,
                g_start=g_start, g_end=g_end, orientation=orientation, temp_freq=temp_freq,
                train=train, valid=valid, test=test, T=T, N=N)


def write_kirby_fixture(path: Path, a: dict, *, drop=(), traces=None, extra=None) -> Path:
    """Raw h5py writer of the kirby layout (docs/formats.md)."""
    with h5py.File(path, "w") as f:
        f.attrs["object"] = "Data"
        ct = f.create_group("calcium_traces")
        ct.attrs["object"] = "RegularTimeSeries"
        ct.attrs["sampling_rate"] = RATE
        if "df_over_f" not in drop:
            ct.create_dataset("df_over_f", data=a["traces"] if traces is None else traces)
        for split in ("train", "valid", "test"):
            ct.create_dataset(f"{split}_mask", data=a[split])
        cd = ct.create_group("domain")
        cd.create_dataset("start", data=[T0])
        cd.create_dataset("end", data=[T0 + (a["T"] - 1) / RATE])
        u = f.create_group("units")
        u.attrs["object"] = "ArrayDict"
        u.create_dataset("id", data=np.array([f"allen_brain_observatory_calcium/123/{i}" for i in range(a["N"])], "S"))
        nm = f.create_group("natural_movie_one")
        nm.attrs["object"] = "Interval"
        nm.create_dataset("start", data=a["f_start"])
        nm.create_dataset("end", data=a["f_end"])
        nm.create_dataset("timestamps", data=(a["f_start"] + a["f_end"]) / 2)
        nm.create_dataset("frame_number", data=a["frame_number"])
        ep = f.create_group("natural_movie_one_epochs")
        ep.create_dataset("start", data=a["f_start"][[0, 60]])
        ep.create_dataset("end", data=a["f_end"][[59, 119]])
        ep.create_dataset("repeat_num", data=np.array([0, 1], dtype=np.int64))
        dg = f.create_group("drifting_gratings")
        dg.create_dataset("start", data=a["g_start"])
        dg.create_dataset("end", data=a["g_end"])
        dg.create_dataset("orientation", data=a["orientation"])
        dg.create_dataset("temp_freq", data=a["temp_freq"])
        s = f.create_group("subject")
        s.attrs["id"] = "mouse-1"
        s.attrs["cre_line"] = "CUX2_CREERT2"
        s.attrs["target_area"] = "VIS_P"
        d = f.create_group("domain")
        d.create_dataset("start", data=[T0])
        d.create_dataset("end", data=[T0 + (a["T"] - 1) / RATE])
        if extra:
            extra(f)
    return path


def write_brainsets_fixture(path: Path, T=600, N=5, seed=1, extra=None) -> dict:
    """temporaldata writer of the brainsets layout (docs/formats.md); ``extra(data)``
    may add or change fields before writing."""
    from temporaldata import ArrayDict, Data, Interval, IrregularTimeSeries, RegularTimeSeries

    rng = np.random.default_rng(seed)
    traces = rng.normal(0, 1, (T, N)).astype(np.float32)
    t0 = 2.0
    k = np.arange(90)
    f_start = t0 + 3.0 + k / RATE
    f_end = f_start + 1 / RATE
    data = Data(
        subject=Data(id="m2", species="Mus musculus"),
        session=Data(id="777000111"),
        device=Data(id="d", imaging_depth="275", target_area="VISp"),
        calcium_traces=RegularTimeSeries(df_over_f=traces, sampling_rate=RATE, domain_start=t0),
        rois=ArrayDict(id=np.array([f"roi{i}" for i in range(N)]), imaging_plane_xy=rng.uniform(0, 512, (N, 2))),
        natural_movie_one=Interval(start=f_start, end=f_end, timestamps=(f_start + f_end) / 2,
                                   frame=(k % 45).astype(np.int64), repeat=(k // 45).astype(np.int64),
                                   timekeys=["start", "end", "timestamps"]),
        drifting_gratings=Interval(start=np.array([10.0, 13.0]), end=np.array([12.0, 15.0]),
                                   orientation=np.array([90.0, 270.0]), temporal_frequency=np.array([4.0, 15.0]),
                                   orientation_id=np.array([2, 6]), temporal_frequency_id=np.array([2, 4])),
        running=IrregularTimeSeries(timestamps=t0 + np.arange(0, T, 3) / RATE,
                                    running_speed=np.arange(0, T, 3, dtype=np.float32)[:, None] / 10, domain="auto"),
        train_domain=Interval(start=np.array([5.0, 10.0]), end=np.array([6.0, 12.0])),
        valid_domain=Interval(start=np.array([6.0]), end=np.array([6.5])),
        test_domain=Interval(start=np.array([6.5, 13.0]), end=np.array([8.0, 15.0])),
        domain=Interval(start=t0, end=t0 + T / RATE),
    )
    if extra:
        extra(data)
    with h5py.File(path, "w") as f:
        data.to_hdf5(f)
    return dict(traces=traces, t0=t0, f_start=f_start, f_end=f_end, k=k, T=T, N=N)


SMALL_SIM = dict(neurons=(20, 30, 25), grating_repeats=1, spontaneous_s=2.0, frame_shape=(16, 32))


@pytest.fixture(scope="session")
def sim_dir(tmp_path_factory) -> Path:
    """Three small simulated kirby sessions (20, 30, 25 neurons), read-only by convention."""
    from neurocine.io.simulate import simulate_dataset

    d = tmp_path_factory.mktemp("sim")
    simulate_dataset(d, sessions=3, seed=0, progress=False, **SMALL_SIM)
    return d


def trained_and_new(sim_dir: Path, root: Path) -> tuple[Path, Path]:
    """``(data, new)``: two of ``sim_dir``'s sessions (and the movie) to train on, and the
    third in a folder of its own, a new animal for ``adapt``."""
    import shutil

    files = sorted(sim_dir.glob("*.h5"))
    data, new = root / "trained", root / "new"
    data.mkdir()
    new.mkdir()
    for f in files[:2]:
        shutil.copy(f, data / f.name)
    shutil.copy(files[2], new / files[2].name)
    shutil.copy(sim_dir / "natural_movie_one.npy", data)
    return data, new


@pytest.fixture(scope="session")
def sim_sessions(sim_dir):
    from neurocine import load_sessions

    return load_sessions(sim_dir)


@pytest.fixture
def kirby_file(tmp_path) -> tuple[Path, dict]:
    a = kirby_arrays()
    return write_kirby_fixture(tmp_path / "123.h5", a), a


SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


TINY_CONFIG = {"model": {"batch_size": 128, "max_iterations": 40, "device": "cpu", "learning_rate": 0.001},
               "training": {"validate_every": 20, "checkpoint_every": 20},
               "reconstruction": {"num_epochs": 2, "max_train_samples": 300, "output_shape": [16, 32],
                                  "batch_size": 32},
               "novel_frames": {"blocks": 6, "run_blocks": 1}}


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory):
    """``neurocine run`` on a tiny config over two small simulated sessions, as a user runs
    it (a subprocess): ``(root, config path, stdout)``."""
    import subprocess
    import sys

    import yaml

    from neurocine.io.simulate import simulate_dataset

    root = tmp_path_factory.mktemp("e2e")
    simulate_dataset(root / "data", sessions=2, neurons=(20, 30), grating_repeats=1, spontaneous_s=2.0,
                     frame_shape=(16, 32), progress=False)
    cfg = {"dataset": {"data_dir": str(root / "data")}, **TINY_CONFIG, "output_dir": str(root / "results")}
    path = root / "tiny.yaml"
    path.write_text(yaml.safe_dump(cfg))
    proc = subprocess.run([sys.executable, "-m", "neurocine", "run", "--config", str(path), "--quiet"],
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return root, path, proc.stdout


@pytest.fixture(scope="session")
def tiny_results(tiny_run) -> Path:
    return tiny_run[0] / "results"


def write_nwb_fixture(path: Path, N=6, seed=0, movie_frames=900, repeats=10, size=(8, 16), extra=None,
                      tail=0) -> dict:
    """Raw h5py writer of Allen's NWB 1.0 layout (docs/formats.md): dF/F (N, T) with
    its timestamps, natural_movie_one x ``repeats`` (one frame per 2P sample), 16 drifting
    gratings trials of 60 samples + 2 blanks, a spontaneous epoch, running speed that
    starts late, the movie template, and ``tail`` free samples at the end (from
    ``T - tail``) for ``extra(f, T - tail, T)`` to fill. Returns what was written."""
    rng = np.random.default_rng(seed)
    spont = 90
    t_movie = movie_frames * repeats
    g_trials, g_len, gap = 18, 60, 30
    T = spont + t_movie + gap + g_trials * (g_len + gap) + tail
    ts = 9.5 + np.arange(T) / RATE + rng.normal(0, 1e-4, T)  # ~30 Hz, not exactly regular
    ts.sort()
    dff = rng.normal(0, 0.3, (N, T)).astype(np.float32)
    movie_start = spont
    fd_movie = np.stack([movie_start + np.arange(t_movie), movie_start + np.arange(t_movie) + 1], 1)
    movie_data = np.tile(np.arange(movie_frames), repeats).astype(np.float64)
    g0 = movie_start + t_movie + gap
    starts = g0 + np.arange(g_trials) * (g_len + gap)
    fd_grat = np.stack([starts, starts + g_len], 1)
    tf = np.array([1, 2, 4, 8, 15, 1, 2, 4, 8, 15, 1, 2, 4, 8, 15, 1, np.nan, np.nan])
    ori = np.array([0, 45, 90, 135, 180, 225, 270, 315] * 2 + [np.nan, np.nan])
    blank = np.isnan(tf).astype(float)
    with h5py.File(path, "w") as f:
        f["general/session_id"] = np.bytes_("501021421")
        f["general/session_type"] = np.bytes_("three_session_A")
        f["general/subject/genotype"] = np.bytes_("Cux2-CreERT2/wt")
        f["general/optophysiology/imaging_plane_1/location"] = np.bytes_("VISp")
        pl = "processing/brain_observatory_pipeline"
        f[f"{pl}/DfOverF/imaging_plane_1/data"] = dff
        f[f"{pl}/DfOverF/imaging_plane_1/timestamps"] = ts
        f[f"{pl}/Fluorescence/imaging_plane_1/data"] = dff + 1
        f[f"{pl}/Fluorescence/imaging_plane_1/timestamps"] = ts
        f[f"{pl}/ImageSegmentation/cell_specimen_ids"] = np.arange(N) + 517000000
        f[f"{pl}/ImageSegmentation/roi_ids"] = np.array([f"{i}" for i in range(N)], dtype="S")
        rt = ts[200:-50]
        f[f"{pl}/BehavioralTimeSeries/running_speed/data"] = (np.arange(len(rt)) % 7).astype(np.float64)[:, None]
        f[f"{pl}/BehavioralTimeSeries/running_speed/timestamps"] = rt
        pres = f.create_group("stimulus/presentation")
        pres["natural_movie_one_stimulus/data"] = movie_data
        pres["natural_movie_one_stimulus/frame_duration"] = fd_movie.astype(np.float64)
        pres["drifting_gratings_stimulus/data"] = np.stack([tf, ori, blank], 1)
        pres["drifting_gratings_stimulus/features"] = np.array([b"temporal_frequency", b"orientation", b"blank_sweep"])
        pres["drifting_gratings_stimulus/frame_duration"] = fd_grat.astype(np.float64)
        pres["spontaneous_stimulus/data"] = np.array([1.0, -1.0])
        pres["spontaneous_stimulus/frame_duration"] = np.array([[0.0, spont - 1.0]])
        f["stimulus/templates/natural_movie_one_image_stack/data"] = \
            rng.integers(0, 256, (movie_frames,) + size, dtype=np.uint8)
        if extra:
            extra(f, T - tail, T)
    return dict(dff=dff, ts=ts, T=T, N=N, movie_start=movie_start, t_movie=t_movie, grating_starts=starts,
                g_len=g_len, tf=tf, ori=ori, spont=spont)


def add_natural_scenes(f, first: int, stop: int, n_images: int = 118, repeats: int = 3, size=(8, 16),
                       seed: int = 3):
    """``extra`` for :func:`write_nwb_fixture` (with ``tail``): a natural_scenes table in the
    free samples ``[first, stop)``, every image ``repeats`` times for 6 samples with one
    blank sample between, and the image template."""
    rng = np.random.default_rng(seed)
    order = np.concatenate([rng.permutation(n_images) for _ in range(repeats)])
    starts = first + np.arange(len(order)) * 7
    if starts[-1] + 6 > stop:
        raise ValueError(f"add_natural_scenes needs tail >= {len(order) * 7} samples")
    pres = f["stimulus/presentation"]
    pres["natural_scenes_stimulus/data"] = order.astype(np.float64)
    pres["natural_scenes_stimulus/frame_duration"] = np.stack([starts, starts + 6], 1).astype(np.float64)
    f["stimulus/templates/natural_scenes_image_stack/data"] = rng.integers(0, 256, (n_images,) + size, dtype=np.uint8)


def add_movie(f, first: int, stop: int, name: str = "natural_movie_two", n_frames: int = 900, repeats: int = 3,
              size=(8, 16), seed: int = 4):
    """``extra`` for :func:`write_nwb_fixture` (with ``tail``): another movie shown ``repeats``
    times from sample ``first`` (one frame per 2P sample), and its template."""
    if first + n_frames * repeats >= stop:  # the last frame ends one sample later
        raise ValueError(f"add_movie needs tail > {n_frames * repeats} samples")
    k = np.arange(n_frames * repeats)
    pres = f["stimulus/presentation"]
    pres[f"{name}_stimulus/data"] = (k % n_frames).astype(np.float64)
    pres[f"{name}_stimulus/frame_duration"] = np.stack([first + k, first + k + 1], 1).astype(np.float64)
    rng = np.random.default_rng(seed)
    f[f"stimulus/templates/{name}_image_stack/data"] = rng.integers(0, 256, (n_frames,) + size, dtype=np.uint8)
