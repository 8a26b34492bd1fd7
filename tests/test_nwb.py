"""The Allen NWB 1.0 reader, on files written with raw h5py from the layout facts."""

from __future__ import annotations

import json

import numpy as np
import pytest
import yaml

from conftest import TINY_CONFIG, write_nwb_fixture
from neurocine import DataError
from neurocine.cli import main
from neurocine.io import detect_layout, read_session
from neurocine.io.layouts.allen_nwb import read_nwb_template
from neurocine.io.splits import repeat_split


@pytest.fixture(scope="module")
def nwb(tmp_path_factory):
    d = tmp_path_factory.mktemp("nwb")
    a = write_nwb_fixture(d / "501021421.nwb")
    return d / "501021421.nwb", a


def test_reads_dff_transposed_with_its_timestamps_and_ids(nwb):
    path, a = nwb
    assert detect_layout(path) == "allen_nwb"
    s = read_session(path)
    assert s.layout == "allen_nwb" and s.session_id == "501021421"
    np.testing.assert_array_equal(s.traces, a["dff"].T)  # (T, N): cells were on axis 0 in the file
    np.testing.assert_array_equal(s.timestamps, a["ts"])
    assert s.sampling_rate == pytest.approx(30.0, rel=1e-3)
    assert s.unit_ids.tolist()[:2] == ["517000000", "517000001"]
    assert s.subject["session_type"] == "three_session_A" and s.subject["target_area"] == "VISp"


def test_movie_frames_repeats_and_the_split_rule(nwb):
    path, a = nwb
    s = read_session(path)
    frame, repeat = s.label("natural_movie_one.frame"), s.label("natural_movie_one.repeat")
    assert (frame >= 0).sum() == 9000  # 10 repeats x 900 frames, one per 2P sample
    m0 = a["movie_start"]
    np.testing.assert_array_equal(frame[m0:m0 + 900], np.arange(900))
    np.testing.assert_array_equal(repeat[m0:m0 + 9000], np.repeat(np.arange(10), 900))
    movie = frame >= 0
    assert set(np.unique(repeat[s.train_mask & movie])) == set(range(8))
    assert set(np.unique(repeat[s.valid_mask & movie])) == {8} and set(np.unique(repeat[s.test_mask & movie])) == {9}
    assert repeat_split(np.arange(2)).tolist() == ["train", "test"]


def test_grating_trials_blanks_spontaneous_and_running(nwb):
    path, a = nwb
    s = read_session(path)
    direction, tf = s.label("drifting_gratings.direction"), s.label("drifting_gratings.temporal_frequency")
    for k, start in enumerate(a["grating_starts"]):
        inside = slice(start, start + a["g_len"])
        if np.isnan(a["tf"][k]):  # blank sweeps carry no grating label
            assert np.isnan(direction[inside]).all()
        else:
            assert (direction[inside] == a["ori"][k]).all() and (tf[inside] == a["tf"][k]).all()
    assert s.label("spontaneous.on")[: a["spont"] - 1].tolist() == [1] * (a["spont"] - 1)
    run = s.label("running_speed")
    assert np.isnan(run[:200]).all() and np.isfinite(run[200:-50]).all()  # NaN outside its range
    trials = [k for k in range(16) if s.train_mask[a["grating_starts"][k]]]
    assert 8 <= len(trials) <= 14  # 70 % of 16 non-blank trials, stratified by condition
    assert "drifting_gratings" in s.stimuli() and "natural_movie_one" in s.stimuli()


def test_template_is_read_from_the_file(nwb):
    path, _ = nwb
    t = read_nwb_template(path, "natural_movie_one")
    assert t.shape == (900, 8, 16) and t.dtype == np.uint8
    assert read_nwb_template(path, "natural_movie_three") is None


def test_inspect_names_the_layout_and_the_split_rule(nwb, capsys):
    path, _ = nwb
    assert main(["inspect", str(path.parent)]) == 0
    out = capsys.readouterr().out
    assert "(allen_nwb layout)" in out and "df_over_f shape: (" in out
    assert "natural_movie_one (10 repeats, 9000 samples)" in out
    assert "splits: no split in the file; neurocine's rule applied" in out


def test_bad_frame_duration_names_the_file(tmp_path):
    def bad(f, *_):
        del f["stimulus/presentation/natural_movie_one_stimulus/frame_duration"]
        f["stimulus/presentation/natural_movie_one_stimulus/frame_duration"] = np.array([[0.0, 1e9]] * 9000)
    path = tmp_path / "1.nwb"
    write_nwb_fixture(path, extra=bad)
    with pytest.raises(DataError, match=r"1.nwb: natural_movie_one frame_duration indexes 2P frame"):
        read_session(path)


def test_run_over_nwb_files_needs_no_movie_file(nwb, tmp_path):
    path, _ = nwb
    cfg = {"dataset": {"data_dir": str(path.parent)}, **TINY_CONFIG,
           "training": {**TINY_CONFIG["training"], "label_free_model": False},
           "novel_frames": {"enabled": False}, "reconstruction": {**TINY_CONFIG["reconstruction"],
                                                                 "output_shape": [8, 16]},
           "output_dir": str(tmp_path / "out")}
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(cfg))
    assert main(["run", "--config", str(tmp_path / "c.yaml"), "--quiet"]) == 0
    m = json.loads((tmp_path / "out" / "metrics.json").read_text())
    assert m["provenance"]["data"] == "recorded" and m["provenance"]["files"][0]["layout"] == "allen_nwb"
    assert m["reconstruction"]["n_test_frames"] == 900  # the template came from the NWB file
    assert (tmp_path / "out" / "report.html").exists()
