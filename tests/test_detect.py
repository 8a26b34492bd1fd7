"""Layout detection and every bad-input error of the readers."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from conftest import kirby_arrays, write_kirby_fixture
from neurocine import DataError, load_sessions
from neurocine.io import detect_layout, read_session


def test_detects_kirby(kirby_file):
    assert detect_layout(kirby_file[0]) == "kirby"


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
    with pytest.raises(DataError, match=r"no files matching '\*.h5 \*.nwb'"):
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


