"""NWB 2 files (Allen Neuropixels sessions, DANDI's Visual Coding 2P conversion) and movie
repeats as arrays, read through load_sessions and the CLI. The fixtures are written with
pynwb by ``tests/nwb2_files.py``, independently of neurocine's writers."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest
import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from conftest import TINY_CONFIG
from neurocine import load_sessions
from neurocine.cli import main
from neurocine.errors import DataError
from neurocine.io import detect_layout, read_session
from neurocine.io.movies import movie_recording
from nwb2_files import write_ecephys_nwb, write_ophys_allensdk_nwb, write_ophys_nwb

pytest.importorskip("pynwb")


@pytest.fixture(scope="module")
def ecephys_dir(tmp_path_factory) -> Path:
    """An EcephysProjectCache-like folder: one sub-folder per session, an LFP file beside
    (not a session), two sessions."""
    root = tmp_path_factory.mktemp("ecephys")
    for seed in (0, 1):
        sid = 715093703 + seed
        write_ecephys_nwb(root / f"session_{sid}" / f"session_{sid}.nwb", seed=seed, scenes=40)
    (root / "session_715093703" / "probe_810755797_lfp.nwb").write_bytes(b"not a session")
    return root


@pytest.fixture(scope="module")
def ophys_file(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("ophys")
    return write_ophys_nwb(root / "sub-526161213" / "sub-526161213_ses-667515096-StimA_behavior+image+ophys.nwb")


def test_neuropixels_sessions_load_recursively_with_allensdk_unit_filter(ecephys_dir):
    sessions = load_sessions(ecephys_dir)
    assert [s.session_id for s in sessions] == ["715093703", "715093704"]
    s = sessions[0]
    assert s.layout == "nwb2_ecephys" and s.modality == "spikes"
    # 24 VISp + 18 VISl good units, plus the silent good VISp unit (kept: silence is data)
    assert s.metadata["units_kept_per_area"] == {"VISp": 25, "VISl": 18} and s.num_neurons == 43
    assert s.metadata["units_dropped"] == {"quality not good": 1, "isi_violations > 0.5": 1,
                                           "peak channel invalid": 1, "no area": 2, "area not selected": 1}
    assert s.sampling_rate == pytest.approx(30.0)
    frames = s.label("natural_movie_one.frame")
    assert sorted(np.unique(frames[frames >= 0])) == list(range(90))
    assert set(np.unique(s.label("natural_movie_one.repeat"))) >= set(range(10))
    # 'N/A' in the grating table reads as a blank trial, not an error
    direction = s.label("drifting_gratings.direction")
    assert np.isnan(direction).any() and set(np.unique(direction[np.isfinite(direction)])) <= set(range(0, 360, 45))
    assert s.train_mask.sum() > s.valid_mask.sum() > 0 and s.test_mask.sum() > 0
    assert np.isfinite(s.label("running_speed")).mean() > 0.9
    images = s.label("natural_scenes.image")  # frame -1 is a blank: no image
    assert sorted(np.unique(images[images >= 0])) == list(range(39))


def test_spike_counts_match_the_raw_spike_times(ecephys_dir):
    """Bin counts equal the spikes in each bin, counted here from the file with h5py."""
    path = ecephys_dir / "session_715093703" / "session_715093703.nwb"
    s = read_session(path, bin_s=0.5)
    with h5py.File(path, "r") as f:
        times, index = f["units/spike_times"][:], f["units/spike_times_index"][:]
        ids = f["units/id"][:]
    u = int(np.flatnonzero(ids == int(s.unit_ids[3]))[0])
    spikes = times[(index[u - 1] if u else 0):index[u]]
    t0 = s.domain[0]
    edges = t0 + np.arange(s.num_timepoints + 1) * 0.5
    assert np.array_equal(s.traces[:, 3], np.histogram(spikes, edges)[0].astype(np.float32))
    assert s.sampling_rate == pytest.approx(2.0)
    sq = read_session(path, bin_s=0.5, spike_transform="sqrt")
    assert np.allclose(sq.traces, np.sqrt(s.traces))


def test_per_area_populations_and_area_choice(ecephys_dir):
    path = ecephys_dir / "session_715093703" / "session_715093703.nwb"
    per_area = read_session(path, populations="per_area")
    assert [(x.session_id, x.num_neurons) for x in per_area] == [("715093703_VISl", 18), ("715093703_VISp", 25)]
    assert read_session(path, areas=("VISp",)).num_neurons == 25
    assert read_session(path, areas=("CA1",)).num_neurons == 1
    with pytest.raises(DataError, match="no unit passes the unit filter"):
        read_session(path, areas=("LGd",))
    both = load_sessions(ecephys_dir, options={"populations": "per_area"})
    assert len(both) == 4


def test_two_photon_nwb2_reads_valid_rois_and_aligns_short_running_speed(ophys_file):
    assert detect_layout(ophys_file) == "nwb2_ophys"
    s = read_session(ophys_file)
    assert s.session_id == "667515096-StimA" and s.layout == "nwb2_ophys" and s.modality == "dff"
    assert s.num_neurons == 27  # 3 invalid ROIs dropped
    assert s.unit_ids[0] == "517000003"
    assert s.sampling_rate == pytest.approx(30.0) and s.subject["target_area"] == "VISp"
    frames = s.label("natural_movie_one.frame")
    assert sorted(np.unique(frames[frames >= 0])) == list(range(90))
    speed = s.label("running_speed")  # 45 samples shorter than dF/F: aligned by time, the end unknown
    assert np.isnan(speed[-40:]).all() and np.isfinite(speed[:-50]).all()
    d = s.label("drifting_gratings.direction")
    assert np.isnan(d).any()  # blank sweeps


@pytest.mark.parametrize("bad, expected", [
    ("ragged", "column 'spike_times_index' does not add up"),
    ("short_index", "column 'spike_times_index' does not add up .*last slice end"),
    ("nan_spikes", "column 'spike_times' holds \\d+ NaN/inf values"),
    ("inf_spikes", "column 'spike_times' holds \\d+ NaN/inf values"),
    ("all_nan_spikes", "column 'spike_times' holds (\\d+) NaN/inf values of \\1"),
    ("frame_900", "natural_movie_one presentations column 'frame' holds 1 value.* outside the integers -1..899"),
    ("frame_below", "natural_movie_one presentations column 'frame' holds 1 value.* outside the integers -1..899"),
    ("text", "expected numbers"),
    ("no_intervals", "no stimulus presentation table"),
    ("no_units", "NWB 2 file with no units"),
])
def test_bad_neuropixels_files_give_one_line_naming_the_file(tmp_path, bad, expected):
    path = write_ecephys_nwb(tmp_path / "bad" / "session_1.nwb", bad=bad, movie_frames=30, repeats=3,
                             grating_trials=20, units_per_area=(("VISp", 3),))
    with pytest.raises(DataError, match=expected) as info:
        read_session(path)
    assert "\n" not in str(info.value) and "session_1.nwb" in str(info.value)
    write_ecephys_nwb(tmp_path / "bad" / "session_2.nwb", seed=2, movie_frames=30, repeats=3, grating_trials=20,
                      units_per_area=(("VISp", 3),))
    loaded = load_sessions(tmp_path / "bad", skip_bad=True)
    assert [s.session_id for s in loaded] == ["715093705"] and loaded.skipped[0][0] == path


def test_inspect_prints_units_per_area_kept_and_dropped(ecephys_dir, capsys):
    assert main(["inspect", str(ecephys_dir), "--set", "dataset.populations=per_area"]) == 0
    out = capsys.readouterr().out
    assert "715093703_VISl" in out and "spike counts shape: (8430, 18)" in out
    assert "units kept per area: VISl 18" in out and "1 quality not good" in out and "1 no area" in out
    assert main(["inspect", str(ecephys_dir), "--set", "model.temperature=1"]) == 2
    assert "dataset settings only" in capsys.readouterr().err


def test_import_movie_spikes_at_one_second_bins(tmp_path, capsys):
    rng = np.random.default_rng(0)
    data = rng.poisson(3, (20, 10, 30)).astype(np.float32)
    np.savez(tmp_path / "m.npz", data=data, frame=np.arange(30) * 30, rate=1.0, session_id="mouse+1")
    assert main(["import-movie", str(tmp_path / "m.npz"), "--out", str(tmp_path / "out"), "--units", "spikes"]) == 0
    assert "8/1/1" in capsys.readouterr().out
    s = load_sessions(tmp_path / "out")[0]
    assert s.modality == "spikes" and s.traces.shape == (300, 20) and s.session_id == "mouse_1"
    assert np.array_equal(s.traces[30:60], data[:, 1, :].T)  # repeat 1, in order
    assert np.array_equal(s.label("natural_movie_one.frame")[:30], np.arange(30) * 30)
    assert [int(s.mask(k).sum()) for k in ("train", "valid", "test")] == [240, 30, 30]
    # the file is there: a second import refuses to overwrite it
    assert main(["import-movie", str(tmp_path / "m.npz"), "--out", str(tmp_path / "out")]) == 2


@pytest.mark.parametrize("arrays, expected", [
    ({"data": -np.ones((2, 3, 4)), "frame": np.arange(4), "rate": 1.0}, "negative values"),
    ({"data": np.ones((2, 3, 4)), "frame": np.arange(4) + 900, "rate": 1.0}, "outside the integers"),
    ({"data": np.ones((2, 3, 4)), "frame": np.arange(5), "rate": 1.0}, "5 entries for 4 samples"),
    ({"data": np.ones((2, 3, 4)), "frame": np.arange(4), "rate": 0.0}, "expected a finite number > 0"),
    ({"data": np.ones((2, 4)), "frame": np.arange(4), "rate": 1.0}, "expected \\(units, repeats, samples\\)"),
    ({"data": np.ones((2, 3, 4)), "frame": np.arange(4)}, "missing arrays \\['rate'\\]"),
    ({"data": np.ones((2, 3, 4)), "frame": np.arange(4), "rate": 1.0, "movie": "natural_scenes"},
     "not a registered movie"),
])
def test_import_movie_refuses_bad_arrays_in_one_line(tmp_path, capsys, arrays, expected):
    np.savez(tmp_path / "bad.npz", **arrays)
    assert main(["import-movie", str(tmp_path / "bad.npz"), "--out", str(tmp_path / "out"), "--units", "spikes"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "bad.npz" in err
    import re
    assert re.search(expected, err), err
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_movie_recording_frames_may_be_missing_at_some_samples():
    rec = movie_recording(np.ones((3, 4, 5)), np.array([0, 1, -1, 3, 4]), 30.0, "x")
    assert len(rec.intervals["natural_movie_one"]["frame"]) == 16


def test_run_on_neuropixels_reports_spikes_per_area(ecephys_dir, tmp_path):
    """``neurocine run`` on a Neuropixels cache, one population per area: every stage runs,
    the report and the summaries say spikes, never dF/F, and list the areas."""
    cfg = {"dataset": {"data_dir": str(ecephys_dir), "populations": "per_area"}, **TINY_CONFIG,
           "output_dir": str(tmp_path / "results")}
    path = tmp_path / "np.yaml"
    path.write_text(yaml.safe_dump(cfg))
    proc = subprocess.run([sys.executable, "-m", "neurocine", "run", "--config", str(path), "--quiet"],
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "dF/F" not in proc.stdout and "spikes" in proc.stdout
    metrics = json.loads((tmp_path / "results" / "metrics.json").read_text())
    assert metrics["provenance"]["signal"] == "spikes"
    assert [e["session_id"] for e in metrics["provenance"]["files"]] == [
        "715093703_VISl", "715093703_VISp", "715093704_VISl", "715093704_VISp"]
    assert "accuracy_1s" in json.dumps(metrics["frame_id"])
    html = (tmp_path / "results" / "report.html").read_text()
    body = html.split("<h2>All numbers</h2>")[0]
    assert "dF/F" not in body and "spikes" in body and "VISp" in body


def test_rows_without_a_frame_do_not_shift_the_repeat_split():
    """Presentation rows with no frame (-1, e.g. 'N/A') are no repeat: 10 showings still
    split 8/1/1, however many such rows the table holds."""
    from neurocine.io.splits import showing_repeats, table_splits

    frames = np.r_[np.tile(np.arange(3), 10), -np.ones(50, dtype=np.int64)]
    start = np.arange(len(frames)) * 1.0
    table = {"start": start, "end": start + 1.0, "frame": frames, "repeat": showing_repeats(frames)}
    masks = table_splits({"natural_movie_one": table}, start + 0.5)
    assert [int(masks[s].sum()) for s in ("train", "valid", "test")] == [24, 3, 3]


@pytest.mark.parametrize("frame_column, repeat_column", [
    ("movie_frame_index", "movie_repeat"),  # AllenSDK's ophys writer (FORMATS.md 4b ii)
    ("movie_frame_index", None),            # the same without its repeat column: repeats are counted
    ("frame", None),                        # the Neuropixels column name in the same layout
])
def test_allensdk_ophys_layout_reads_every_movie_column_variant(tmp_path, capsys, frame_column, repeat_column):
    path = write_ophys_allensdk_nwb(tmp_path / "d" / "behavior_ophys_experiment_951980471.nwb",
                                    frame_column=frame_column, repeat_column=repeat_column)
    s = read_session(path)
    assert s.layout == "nwb2_ophys" and s.session_id == "951980471"
    assert s.traces.shape[1] == 23 and s.unit_ids[0] == "1086000001"  # valid_roi False dropped
    frame, repeat = s.label("natural_movie_one.frame"), s.label("natural_movie_one.repeat")
    shown = frame >= 0
    with h5py.File(path, "r") as f:
        start = f["intervals/natural_movie_one_presentations/start_time"][:]
        frames = f[f"intervals/natural_movie_one_presentations/{frame_column}"][:]
    # each sample carries the frame of the presentation it falls in
    row = np.searchsorted(start, s.timestamps[shown], side="right") - 1
    assert np.array_equal(frame[shown], frames[row])
    assert sorted(np.unique(repeat[shown]).tolist()) == list(range(10))
    assert np.array_equal(repeat[shown], row // 90)
    # neurocine's split: 8 repeats train, 1 valid, 1 test
    assert [len(np.unique(repeat[shown & s.mask(k)])) for k in ("train", "valid", "test")] == [8, 1, 1]
    assert main(["inspect", str(tmp_path / "d")]) == 0
    assert "natural_movie_one (10 repeats" in capsys.readouterr().out


def test_allensdk_ophys_repeat_column_that_is_not_a_count_is_one_line(tmp_path):
    path = write_ophys_allensdk_nwb(tmp_path / "s.nwb", movie_frames=30, repeats=3, grating_trials=10)
    with h5py.File(path, "r+") as f:
        rep = f["intervals/natural_movie_one_presentations/movie_repeat"]
        assert rep.dtype.kind == "i"
        rep[5] = -5
    with pytest.raises(DataError, match="column 'movie_repeat' holds 1 value.* outside the integers") as info:
        read_session(path)
    assert "s.nwb" in str(info.value) and "\n" not in str(info.value)


# ------------------------------------------------------------- fuzz of the Neuropixels reader
@pytest.fixture(scope="module")
def small_ecephys(tmp_path_factory) -> Path:
    return write_ecephys_nwb(tmp_path_factory.mktemp("fuzz") / "session_9.nwb", seed=9, movie_frames=30, repeats=3,
                             grating_trials=12, units_per_area=(("VISp", 4),), extra_units=False)


CORRUPTIONS = st.one_of(
    st.tuples(st.just("units/spike_times_index"), st.integers(0, 3),
              st.sampled_from([0, 1, 5, 10 ** 6, 2 ** 32 - 1]) | st.integers(0, 3000)),
    st.tuples(st.just("units/spike_times"), st.integers(0, 2000),
              st.sampled_from([np.nan, np.inf, -np.inf, -5.0, 1e12, 0.0, 3.0])),
    st.tuples(st.just("intervals/natural_movie_one_presentations/frame"), st.integers(0, 89),
              st.sampled_from([np.nan, -3.0, -2.0, -1.0, 0.5, 899.0, 900.0, 1e9, 12.0])),
    st.tuples(st.just("intervals/natural_movie_one_presentations/start_time"), st.integers(0, 89),
              st.sampled_from([np.nan, np.inf, 1e9, -1.0])),
)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(corruptions=st.lists(CORRUPTIONS, min_size=1, max_size=3))
def test_fuzz_neuropixels_reader_gives_a_correct_session_or_one_line(small_ecephys, corruptions, capsys):
    """Every corrupted table or index ends either in a session whose counts are the file's
    spikes binned, or in exit code 2 with one line naming the file."""
    import shutil
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / small_ecephys.name
        shutil.copy(small_ecephys, path)
        with h5py.File(path, "r+") as f:
            for key, i, value in corruptions:
                data = f[key]
                i = i % len(data)
                if data.dtype.kind == "u" and not (np.isfinite(value) and 0 <= value < 2 ** 32):
                    continue
                data[i] = np.asarray(value).astype(data.dtype) if data.dtype.kind in "iu" else value
            times = f["units/spike_times"][:]
            index = f["units/spike_times_index"][:].astype(np.int64)
            ids = f["units/id"][:]
        capsys.readouterr()
        code = main(["inspect", tmp])
        err = capsys.readouterr().err.strip().splitlines()
        assert code in (0, 2), err
        event(f"exit {code}" + (f": {err[0].split(': ', 3)[-1][:40]}" if code == 2 else ""))
        if code == 2:
            assert len(err) == 1 and path.name in err[0], err
            return
        s = read_session(path)
        bin_s = 1 / 30
        edges = np.r_[s.timestamps - bin_s / 2, s.timestamps[-1] + bin_s / 2]
        starts = np.r_[0, index[:-1]]
        for j, uid in enumerate(s.unit_ids):
            u = int(np.flatnonzero(ids == int(uid))[0])
            spikes = times[starts[u]:index[u]]
            expected = np.histogram(spikes, edges)[0]
            np.testing.assert_array_equal(s.traces[:, j], expected)
        frame = s.label("natural_movie_one.frame")
        assert frame.min() >= -1 and frame.max() <= 899


def test_import_movie_split_units_makes_disjoint_pseudo_animals(tmp_path, capsys):
    rng = np.random.default_rng(0)
    data = rng.poisson(1, (10, 10, 30)).astype(np.float32)
    np.savez(tmp_path / "m.npz", data=data, frame=np.arange(30) * 30, rate=1.0, session_id="mouse")
    argv = ["import-movie", str(tmp_path / "m.npz"), "--out", str(tmp_path / "out"), "--units", "spikes",
            "--split-units", "3", "--seed", "4"]
    assert main(argv) == 0
    sessions = load_sessions(tmp_path / "out")
    assert [s.session_id for s in sessions] == ["mouse-units1of3", "mouse-units2of3", "mouse-units3of3"]
    assert [s.num_neurons for s in sessions] == [4, 3, 3]
    columns = np.concatenate([s.traces for s in sessions], axis=1)  # every unit once, none twice
    whole = data.transpose(1, 2, 0).reshape(300, 10)
    order = np.concatenate([[int(i) for i in s.subject["unit_indices"].split(",")] for s in sessions])
    assert sorted(order.tolist()) == list(range(10))
    assert np.array_equal(columns, whole[:, order])
    capsys.readouterr()
    assert main(argv) == 2  # the files exist: nothing is overwritten, not even a first one
    assert "mouse-units1of3.h5: already exists" in capsys.readouterr().err
    assert main([*argv[:-4], "--split-units", "11", "--out", str(tmp_path / "o2")]) == 2
    assert "expected 1 to 10 groups" in capsys.readouterr().err and not (tmp_path / "o2").exists()


def test_spike_transform_applies_to_spike_counts_in_any_layout(tmp_path, capsys):
    """dataset.spike_transform was applied only by the Neuropixels reader: an imported
    spikes file read with sqrt kept its counts without a word."""
    counts = np.random.default_rng(0).poisson(2, (5, 10, 30)).astype(np.float32)
    np.savez(tmp_path / "m.npz", data=counts, frame=np.arange(30) * 30, rate=1.0, session_id="s")
    assert main(["import-movie", str(tmp_path / "m.npz"), "--out", str(tmp_path / "d"), "--units", "spikes"]) == 0
    plain = read_session(tmp_path / "d" / "s.h5")
    rooted = read_session(tmp_path / "d" / "s.h5", spike_transform="sqrt")
    np.testing.assert_allclose(rooted.traces, np.sqrt(plain.traces), rtol=1e-6)
    assert rooted.metadata["spike_transform"] == "sqrt" and "spike_transform" not in plain.metadata
    capsys.readouterr()
    assert main(["inspect", str(tmp_path / "d"), "--set", "dataset.spike_transform=anscombe"]) == 0
    assert "anscombe" in capsys.readouterr().out
