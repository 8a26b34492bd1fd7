"""The kirby reader (docs/formats.md), on files written with raw h5py."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from conftest import RATE, T0
from neurocine import load_sessions
from neurocine.io import read_kirby, read_session


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
    frame, repeat = s.label("natural_movie_one.frame"), s.label("natural_movie_one.repeat")
    np.testing.assert_array_equal(frame[100:220], np.tile(np.arange(60), 2))
    assert (frame[:100] == -1).all() and (frame[220:] == -1).all()
    np.testing.assert_array_equal(repeat[100:220], np.repeat([0, 1], 60))
    assert (repeat[:100] == -1).all()
    # gratings: ids converted to degrees and Hz, NaN outside trials
    direction, tf = s.label("drifting_gratings.direction"), s.label("drifting_gratings.temporal_frequency")
    assert direction[300] == 0 and direction[355] == 90
    assert direction[405] == 225 and direction[479] == 315
    assert tf[300] == 1 and tf[455] == 15 and tf[410] == 8
    assert np.isnan(direction[:300]).all() and np.isnan(direction[330:350]).all()
    # derived: orientation of the bars (direction modulo 180)
    assert s.label("drifting_gratings.orientation")[405] == 45
    assert s.unit_ids[2] == "allen_brain_observatory_calcium/123/2"
    assert s.subject["cre_line"] == "CUX2_CREERT2"
    assert s.stimuli() == ["natural_movie_one", "drifting_gratings"]


def test_reading_does_not_modify_the_file(kirby_file):
    path, _ = kirby_file
    before = hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns
    read_session(path)
    load_sessions(path.parent)
    assert (hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns) == before


