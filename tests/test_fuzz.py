"""Fuzzing the readers: random structural and value mutations of valid kirby, brainsets and
Allen NWB files must give a Session or a one-line DataError naming the file, never any
other exception. ~50 examples per layout in the default run, 500 with ``-m slow``."""

from __future__ import annotations

import shutil
from pathlib import Path

import h5py
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import kirby_arrays, write_brainsets_fixture, write_kirby_fixture, write_nwb_fixture
from neurocine import DataError, Session
from neurocine.io import read_session

KINDS = ("delete", "group", "scalar", "empty", "nan", "negative", "huge", "string", "shorten", "transpose",
         "attr_garbage", "truncate_file")


@pytest.fixture(scope="module")
def bases(tmp_path_factory) -> dict[str, tuple[Path, list[str]]]:
    d = tmp_path_factory.mktemp("fuzz_bases")
    write_kirby_fixture(d / "kirby.h5", kirby_arrays())
    write_brainsets_fixture(d / "brainsets.h5")
    write_nwb_fixture(d / "allen.nwb", movie_frames=900, repeats=2)
    out = {}
    for name in ("kirby.h5", "brainsets.h5", "allen.nwb"):
        names = []
        with h5py.File(d / name, "r") as f:
            f.visititems(lambda key, obj: names.append(key))
        out[name] = (d / name, sorted(names))
    return out


def mutate(path: Path, key: str, kind: str, value: float) -> None:
    if kind == "truncate_file":
        raw = path.read_bytes()
        path.write_bytes(raw[: max(8, int(len(raw) * min(abs(value), 0.99)))])
        return
    try:
        f = h5py.File(path, "a")
    except OSError:  # an earlier mutation truncated the file: nothing more to change
        return
    with f:
        if key not in f:
            return
        obj = f[key]
        if kind == "attr_garbage":
            obj.attrs["sampling_rate" if "calcium" in key else "object"] = np.array(["x", "y"], dtype="S")
            return
        if kind == "delete":
            del f[key]
            return
        if kind == "group":
            del f[key]
            f.create_group(key)
            return
        if not isinstance(obj, h5py.Dataset):
            return
        data = obj[()]
        del f[key]
        arr = np.asarray(data)
        if kind == "scalar":
            new = np.float64(value)
        elif kind == "empty":
            new = arr[:0] if arr.ndim else np.zeros(0)
        elif kind == "shorten":
            new = arr[: max(arr.shape[0] // 2, 1)] if arr.ndim else arr
        elif kind == "transpose":
            new = arr.T if arr.ndim == 2 else arr
        elif kind == "string":
            new = np.full(arr.shape, b"abc", dtype="S3") if arr.ndim else np.bytes_("abc")
        elif arr.dtype.kind in "biuf":
            arr = arr.astype(np.float64)
            if kind == "nan":
                if arr.ndim:
                    arr[..., :1] = np.nan
                else:
                    arr = np.float64(np.nan)
            elif kind == "negative":
                arr = -np.abs(arr) - 5
            elif kind == "huge":
                arr = arr * 1e12 + value
            new = arr
        else:
            new = arr
        f.create_dataset(key, data=new)


def check(path: Path) -> None:
    try:
        s = read_session(path)
    except DataError as exc:
        msg = str(exc)
        assert "\n" not in msg and str(path) in msg, msg
        return
    assert isinstance(s, Session) and s.traces.ndim == 2


def _fuzz(bases, tmp_path_factory, data, layout):
    base, names = bases[layout]
    work = tmp_path_factory.mktemp("fz") / base.name
    shutil.copy(base, work)
    for _ in range(data.draw(st.integers(1, 3))):
        mutate(work, data.draw(st.sampled_from(names)), data.draw(st.sampled_from(KINDS)),
               data.draw(st.floats(-1e3, 1e3, allow_nan=False)))
    check(work)


SETTINGS = dict(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
                derandomize=True)


@pytest.mark.parametrize("layout", ["kirby.h5", "brainsets.h5", "allen.nwb"])
@settings(max_examples=50, **SETTINGS)
@given(data=st.data())
def test_mutated_files_give_a_session_or_one_line(bases, tmp_path_factory, data, layout):
    _fuzz(bases, tmp_path_factory, data, layout)


@pytest.mark.slow
@pytest.mark.parametrize("layout", ["kirby.h5", "brainsets.h5", "allen.nwb"])
@settings(max_examples=500, **{**SETTINGS, "derandomize": False})
@given(data=st.data())
def test_mutated_files_many(bases, tmp_path_factory, data, layout):
    _fuzz(bases, tmp_path_factory, data, layout)
