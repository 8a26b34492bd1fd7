"""Writers validate like readers: whatever `neurocine import-trials` (and the Python import)
is given, the outcome is a session file that reads back with the same values, or exit
code 2 with one line and nothing written. Includes a hypothesis fuzz of the import."""

from __future__ import annotations

import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from neurocine.cli import main
from neurocine.errors import DataError
from neurocine.io import read_session
from neurocine.io.trials import trials_session

DIRECTIONS = np.arange(0, 360, 45, dtype=np.float64)


def _npz(path, K=16, S=10, N=3, seed=0, **over):
    rng = np.random.default_rng(seed)
    arrays = dict(dff=rng.normal(size=(N, K, S)).astype(np.float32), time_s=(np.arange(S) - 2) / 30.0,
                  direction=np.tile(DIRECTIONS, K // 8 + 1)[:K], tf=np.tile([1.0, 2.0, 4.0, 8.0, 15.0], K)[:K])
    arrays.update(over)
    np.savez(path, **{k: v for k, v in arrays.items() if v is not None})
    return path


LABELS = ["--label", "drifting_gratings.direction=direction", "--label", "drifting_gratings.temporal_frequency=tf"]


def _import(tmp_path, npz, *extra, capsys):
    out = tmp_path / "out"
    code = main(["import-trials", str(npz), "--out", str(out), *LABELS, *extra])
    err = capsys.readouterr().err.strip().splitlines()
    return code, err, out


BAD = {
    "direction 17 deg": (dict(direction=np.r_[17.0, DIRECTIONS[1:], DIRECTIONS]), (), "direction has value 17"),
    "direction 360": (dict(direction=np.r_[360.0, DIRECTIONS[1:], DIRECTIONS]), (), "has value 360"),
    "direction -45": (dict(direction=np.r_[-45.0, DIRECTIONS[1:], DIRECTIONS]), (), "has value -45"),
    "3 Hz": (dict(tf=np.r_[3.0, np.ones(15)]), (), "temporal_frequency has value 3"),
    "zero cells": (dict(dff=np.zeros((0, 16, 10), np.float32)), (), "at least 1 cell"),
    "zero trials": (dict(dff=np.zeros((3, 0, 10), np.float32), direction=np.zeros(0), tf=np.zeros(0)), (),
                    "at least 1 cell, 1 trial"),
    "zero samples": (dict(dff=np.zeros((3, 16, 0), np.float32), time_s=np.zeros(0)), ("--rate", "30"),
                     "2 samples per trial"),
    "reversed time with --rate": (dict(time_s=(np.arange(10)[::-1] - 2) / 30.0), ("--rate", "30"),
                                  "not strictly increasing"),
    "shuffled time": (dict(time_s=np.random.default_rng(1).permutation((np.arange(10) - 2) / 30.0)), (),
                      "not a strictly increasing"),
    "--rate inf": ({}, ("--rate", "inf"), "expected a finite number"),
    "--rate nan": ({}, ("--rate", "nan"), "expected a finite number"),
    "--rate 1e9 on 30 Hz times": ({}, ("--rate", "1e9"), "disagrees with time"),
    "--stimulus-s -1": ({}, ("--stimulus-s", "-1"), "stimulus duration -1 s, expected > 0"),
    "--stimulus-s nan": ({}, ("--stimulus-s", "nan"), "stimulus duration"),
    "--seed -1": ({}, ("--seed", "-1"), "seed -1, expected an integer >= 0"),
    "NaN in time": (dict(time_s=np.r_[np.nan, (np.arange(9) - 1) / 30.0]), (), "time"),
    "complex dF/F": (dict(dff=np.ones((3, 16, 10), np.complex64)), (), "complex numbers"),
    "string labels": (dict(direction=np.array(["up"] * 16)), (), "holds text"),
    "two-value session_id": (dict(session_id=np.array([1, 2])), (), "expected one id"),
    "empty session_id": (dict(session_id=np.array("")), (), "not usable as a file or group name"),
    "no sample after onset": (dict(time_s=(np.arange(10) - 20) / 30.0), (), "no sample lies in the stimulus"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_trial_arrays_exit_2_with_one_line_and_write_nothing(case, tmp_path, capsys):
    over, extra, expected = BAD[case]
    npz = _npz(tmp_path / "in.npz", **over)
    code, err, out = _import(tmp_path, npz, *extra, capsys=capsys)
    assert code == 2, (case, err)
    assert len(err) == 1 and err[0].startswith("neurocine: error: ") and expected in err[0], err
    assert not out.exists() or not any(out.iterdir())


def test_object_and_truncated_npz_are_one_line(tmp_path, capsys):
    np.savez(tmp_path / "obj.npz", dff=np.array([None, 1], dtype=object), time_s=np.arange(3) / 30.0,
             direction=np.zeros(2), tf=np.ones(2))
    code, err, _ = _import(tmp_path, tmp_path / "obj.npz", capsys=capsys)
    assert code == 2 and len(err) == 1 and "object arrays are refused" in err[0]
    good = _npz(tmp_path / "good.npz")
    (tmp_path / "cut.npz").write_bytes(good.read_bytes()[:300])
    code, err, _ = _import(tmp_path, tmp_path / "cut.npz", capsys=capsys)
    assert code == 2 and len(err) == 1 and "cut.npz" in err[0]


def test_ids_from_inputs_are_made_safe(tmp_path, capsys):
    npz = _npz(tmp_path / "in.npz", session_id=np.array("../escaped"))
    code, err, out = _import(tmp_path, npz, capsys=capsys)
    assert code == 0, err
    assert [p.name for p in out.iterdir()] == ["___escaped.h5"]  # visible: not a hidden .._escaped.h5
    assert not (tmp_path / "escaped.h5").exists()
    assert read_session(out / "___escaped.h5").session_id == "___escaped"
    capsys.readouterr()
    assert main(["inspect", str(out)]) == 0 and "___escaped" in capsys.readouterr().out


def test_out_that_is_a_file_is_one_line(tmp_path, capsys):
    (tmp_path / "out").write_text("mine")
    npz = _npz(tmp_path / "in.npz")
    code, err, _ = _import(tmp_path, npz, capsys=capsys)
    assert code == 2 and len(err) == 1 and "is a file" in err[0]
    assert (tmp_path / "out").read_text() == "mine"


def test_writer_reads_back_before_renaming(tmp_path):
    """The brainsets writer refuses a recording its reader would read differently (a
    direction outside the table that the Python API let through), and leaves no file."""
    from neurocine.io import write_brainsets
    from neurocine.io.trials import trials_recording

    rec = trials_recording(np.zeros((2, 8, 6), np.float32), {"drifting_gratings.direction": DIRECTIONS},
                           (np.arange(6) - 1) / 30.0, 30.0, "s1")
    rec.intervals["drifting_gratings"]["direction"] = rec.intervals["drifting_gratings"]["direction"] + 17.0
    with pytest.raises(DataError, match="the source: label drifting_gratings.direction has value 17"):
        write_brainsets(rec, tmp_path / "s1.h5", source="the source")
    assert list(tmp_path.iterdir()) == []


# ----------------------------------------------------------------------------- fuzz
finite = st.floats(-5, 5, allow_nan=False, width=32)
label_value = st.one_of(st.sampled_from([*DIRECTIONS, np.nan]), st.sampled_from(DIRECTIONS), st.floats(-400, 400))


@st.composite
def trial_files(draw):
    """Trial arrays: half drawn near the valid region (so files get written and read back),
    half anywhere (so every refusal is one line)."""
    near = draw(st.booleans())
    low = 1 if near else 0
    N, K, S = draw(st.integers(low, 3)), draw(st.integers(low, 12)), draw(st.integers(2 * low, 8))
    dff = np.array(draw(st.lists(finite, min_size=N * K * S, max_size=N * K * S)), np.float32).reshape(N, K, S)
    if not near and dff.size and draw(st.integers(0, 4)) == 0:
        dff.flat[draw(st.integers(0, dff.size - 1))] = np.nan
    step = draw(st.sampled_from([1 / 30.0, 1.0, 0.1]))
    rate = draw(st.sampled_from([None, 1 / step] if near else [None, 30.0, 1.0, 0.0, -3.0, float("inf"),
                                                                float("nan"), 1e9]))
    time_s = (np.arange(S) - draw(st.integers(0, max(S - 1, 0) if near else 4))) * step
    if not near and draw(st.booleans()) and S > 1:
        time_s = draw(st.permutations(list(time_s)))
    values = st.sampled_from([*DIRECTIONS, np.nan]) if near else label_value
    direction = np.array(draw(st.lists(values, min_size=K, max_size=K)), np.float64)
    stimulus_s = draw(st.sampled_from([None, 0.5, 2.0] if near else [None, 0.1, -1.0, 0.0, float("nan")]))
    seed = draw(st.integers(0, 50) if near else st.integers(-2, 50))
    return dff, np.asarray(time_s, np.float64), direction, rate, stimulus_s, seed


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(case=trial_files())
def test_fuzzed_import_gives_a_file_that_reads_back_or_one_line(case, tmp_path_factory, capsys):
    dff, time_s, direction, rate, stimulus_s, seed = case
    tmp = tmp_path_factory.mktemp("fuzz")
    np.savez(tmp / "in.npz", dff=dff, time_s=time_s, direction=direction)
    args = ["import-trials", str(tmp / "in.npz"), "--out", str(tmp / "out"), "--label",
            "drifting_gratings.direction=direction", "--seed", str(seed)]
    args += ["--rate", str(rate)] if rate is not None else []
    args += ["--stimulus-s", str(stimulus_s)] if stimulus_s is not None else []
    code = main(args)
    err = capsys.readouterr().err.strip().splitlines()
    event("written" if code == 0 else "refused")
    if code != 0:
        assert code == 2 and len(err) == 1 and err[0].startswith("neurocine: error: "), err
        assert not (tmp / "out").exists() or not any((tmp / "out").iterdir())
        return
    written = read_session(tmp / "out" / "in.h5")
    expected = trials_session(dff, {"drifting_gratings.direction": direction}, time_s,
                              rate if rate is not None else 1.0 / np.median(np.diff(time_s)), "in",
                              stimulus_s=stimulus_s, seed=seed)
    np.testing.assert_array_equal(written.traces, expected.traces)
    for split in ("train", "valid", "test"):
        np.testing.assert_array_equal(written.mask(split), expected.mask(split))
    got, want = written.label("drifting_gratings.direction"), expected.label("drifting_gratings.direction")
    np.testing.assert_array_equal(got, want)
    # each trial's values are where the import put them, and its label is the file's
    S = dff.shape[2]
    for k in range(dff.shape[1]):
        np.testing.assert_array_equal(written.traces[k * (S + 15):k * (S + 15) + S], dff[:, k, :].T)
        shown = got[k * (S + 15):k * (S + 15) + S]
        if np.isfinite(direction[k]):
            assert np.isfinite(shown).any() and set(shown[np.isfinite(shown)]) == {np.float32(direction[k])}


def test_zip_module_is_what_np_load_raises():  # the truncated-npz case relies on it
    assert issubclass(zipfile.BadZipFile, Exception)
