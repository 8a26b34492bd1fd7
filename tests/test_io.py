"""Readers of both layouts, layout detection, and every bad-input error."""

from __future__ import annotations

import hashlib

import h5py
import numpy as np
import pytest

from conftest import RATE, SHARED_DATA, T0, kirby_arrays, write_brainsets_fixture, write_kirby_fixture
from neurocine import DataError, load_sessions
from neurocine.io import detect_layout, read_brainsets, read_kirby, read_session


# ------------------------------------------------------------------------------ kirby
def test_kirby_reads_every_field(kirby_file):
    path, a = kirby_file
    s = read_kirby(path)
    assert s.session_id == "123" and s.layout == "kirby"
    np.testing.assert_array_equal(s.traces, a["traces"])
    assert s.traces.dtype == np.float32
    np.testing.assert_allclose(s.timestamps, a["ts"])
    assert s.sampling_rate == RATE
    for split in ("train", "valid", "test"):
        np.testing.assert_array_equal(s.mask(split), a[split])
    assert s.domain == pytest.approx((T0, T0 + (a["T"] - 1) / RATE))
    # movie: samples 100..219 show frames 0..59 twice; repeat 0 then 1
    np.testing.assert_array_equal(s.movie_frame[100:220], np.tile(np.arange(60), 2))
    assert (s.movie_frame[:100] == -1).all() and (s.movie_frame[220:] == -1).all()
    np.testing.assert_array_equal(s.movie_repeat[100:220], np.repeat([0, 1], 60))
    assert (s.movie_repeat[:100] == -1).all()
    # gratings: ids converted to degrees and Hz, NaN outside trials
    assert s.grating_orientation[300] == 0 and s.grating_orientation[355] == 90
    assert s.grating_orientation[405] == 225 and s.grating_orientation[479] == 315
    assert s.grating_temporal_frequency[300] == 1 and s.grating_temporal_frequency[455] == 15
    assert s.grating_temporal_frequency[410] == 8
    assert np.isnan(s.grating_orientation[:300]).all() and np.isnan(s.grating_orientation[330:350]).all()
    assert s.unit_ids[2] == "allen_brain_observatory_calcium/123/2"
    assert s.subject["cre_line"] == "CUX2_CREERT2"
    assert s.stimuli() == ["natural_movie_one", "drifting_gratings"]


def test_reading_does_not_modify_the_file(kirby_file):
    path, _ = kirby_file
    before = hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns
    read_session(path)
    load_sessions(path.parent)
    assert (hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns) == before


# -------------------------------------------------------------------------- brainsets
def test_brainsets_reads_every_field(tmp_path):
    path = tmp_path / "any_name.h5"
    a = write_brainsets_fixture(path)
    assert detect_layout(path) == "brainsets"
    s = read_brainsets(path)
    assert s.session_id == "777000111" and s.layout == "brainsets"
    np.testing.assert_array_equal(s.traces, a["traces"])
    np.testing.assert_allclose(s.timestamps, a["t0"] + np.arange(a["T"]) / RATE)
    ts = s.timestamps
    np.testing.assert_array_equal(s.train_mask, ((ts >= 5) & (ts < 6)) | ((ts >= 10) & (ts < 12)))
    np.testing.assert_array_equal(s.valid_mask, (ts >= 6) & (ts < 6.5))
    np.testing.assert_array_equal(s.test_mask, ((ts >= 6.5) & (ts < 8)) | ((ts >= 13) & (ts < 15)))
    inside = (ts >= a["f_start"][0]) & (ts < a["f_end"][-1])
    expected = np.searchsorted(a["f_start"], ts[inside], side="right") - 1
    np.testing.assert_array_equal(s.movie_frame[inside], expected % 45)
    np.testing.assert_array_equal(s.movie_repeat[inside], expected // 45)
    assert (s.movie_frame[~inside] == -1).all()
    assert np.all(s.grating_orientation[(ts >= 10) & (ts < 12)] == 90)
    assert np.all(s.grating_temporal_frequency[(ts >= 13) & (ts < 15)] == 15)
    assert np.isnan(s.grating_orientation[(ts >= 12) & (ts < 13)]).all()
    assert s.unit_ids.tolist()[:2] == ["roi0", "roi1"]
    assert s.subject["target_area"] == "VISp" and s.subject["id"] == "m2"
    # running speed interpolated at sample times: speed = sample index / 10
    np.testing.assert_allclose(s.running_speed[30:60], np.arange(30, 60) / 10, atol=1e-4)


def test_detects_kirby(kirby_file):
    assert detect_layout(kirby_file[0]) == "kirby"


# -------------------------------------------------------------------------- bad input
def _one_line(exc: Exception, path) -> str:
    msg = str(exc)
    assert "\n" not in msg, msg
    assert str(path) in msg, msg
    return msg


def _corrupt(kind):
    def make(tmp_path):
        good = write_kirby_fixture(tmp_path / "good.h5", kirby_arrays())
        bad = tmp_path / "bad.h5"
        raw = good.read_bytes()
        if kind == "truncated":
            bad.write_bytes(raw[: len(raw) // 3])
        else:  # header intact, the rest overwritten
            bad.write_bytes(raw[:8] + b"\xff" * (len(raw) - 8))
        good.unlink()
        return bad
    return make


def _kirby_variant(**kw):
    def make(tmp_path):
        a = kirby_arrays()
        if "mask" in kw:
            a[kw.pop("mask")] = np.zeros(a["T"], bool)
        return write_kirby_fixture(tmp_path / "bad.h5", a, **kw)
    return make


def _no_calcium(tmp_path):
    p = tmp_path / "bad.h5"
    with h5py.File(p, "w") as f:
        f.create_group("units")
    return p


def _decreasing_timestamps(tmp_path):
    a = kirby_arrays()
    ts = a["ts"].copy()
    ts[200] = ts[198]
    return write_kirby_fixture(tmp_path / "bad.h5", a,
                               extra=lambda f: f["calcium_traces"].create_dataset("timestamps", data=ts))


def _text_file(tmp_path):
    p = tmp_path / "bad.h5"
    p.write_text("session,neuron\n1,2\n")
    return p


def _nan_traces(tmp_path):
    a = kirby_arrays()
    t = a["traces"].copy()
    t[5, 2] = np.nan
    t[9, 1] = np.inf
    return write_kirby_fixture(tmp_path / "bad.h5", a, traces=t)


BAD_FILES = {
    "not_hdf5": (_text_file, "not an HDF5 file"),
    "truncated": (_corrupt("truncated"), "HDF5"),
    "corrupt": (_corrupt("garbage"), "HDF5"),
    "no_calcium_traces": (_no_calcium, "missing 'calcium_traces'"),
    "no_df_over_f": (_kirby_variant(drop=("df_over_f",)), "missing 'calcium_traces/df_over_f'"),
    "wrong_rank": (_kirby_variant(traces=np.zeros(600, np.float32)), "expected 2-D (T, N)"),
    "nan": (_nan_traces, "2 NaN/inf values"),
    "zero_neurons": (_kirby_variant(traces=np.zeros((600, 0), np.float32)), "0 neurons"),
    "empty_split": (_kirby_variant(mask="valid"), "split 'valid' is empty"),
    "timestamps": (_decreasing_timestamps, "not strictly increasing"),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_bad_file_gives_one_line_error(tmp_path, case):
    make, expected = BAD_FILES[case]
    path = make(tmp_path)
    with pytest.raises(DataError) as info:
        read_session(path)
    msg = _one_line(info.value, path)
    assert expected in msg


def test_missing_file(tmp_path):
    with pytest.raises(DataError, match="file not found"):
        read_session(tmp_path / "nope.h5")


def test_missing_dir_and_no_files(tmp_path):
    with pytest.raises(DataError, match="data directory not found"):
        load_sessions(tmp_path / "absent")
    with pytest.raises(DataError, match=r"no files matching '\*.h5'"):
        load_sessions(tmp_path)


def test_bad_file_stops_load_unless_skip_bad(tmp_path):
    a = kirby_arrays()
    write_kirby_fixture(tmp_path / "100.h5", a)
    write_kirby_fixture(tmp_path / "200.h5", a)
    (tmp_path / "150.h5").write_text("garbage")
    with pytest.raises(DataError, match="150.h5"):
        load_sessions(tmp_path)
    sessions = load_sessions(tmp_path, skip_bad=True)
    assert [s.session_id for s in sessions] == ["100", "200"]
    assert [p.name for p, _ in sessions.skipped] == ["150.h5"]
    assert "not an HDF5 file" in sessions.skipped[0][1]


def test_all_bad_with_skip_bad_is_an_error(tmp_path):
    (tmp_path / "1.h5").write_text("garbage")
    with pytest.raises(DataError, match="none of the 1 session files"):
        load_sessions(tmp_path, skip_bad=True)


# ---------------------------------------------------------------------- real recordings
@pytest.mark.skipif(not SHARED_DATA.is_dir(), reason=f"no real recordings at {SHARED_DATA} (absent on this clone)")
def test_real_recordings_load():
    files = sorted(SHARED_DATA.glob("*.h5"))
    assert files, f"{SHARED_DATA} holds no .h5 files"
    sessions = load_sessions(SHARED_DATA, max_sessions=2)
    for s in sessions:
        assert s.traces.ndim == 2 and s.train_mask.any() and s.test_mask.any()
        assert (s.movie_frame >= 0).any()
