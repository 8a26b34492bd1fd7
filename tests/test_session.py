"""Session: the label table, its validation at load, interval helpers."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import kirby_arrays, write_kirby_fixture
from neurocine import DataError, Session
from neurocine.io import read_session
from neurocine.session import interval_values, validate_session


def _session(**labels):
    T = 50
    return Session("s1", np.zeros((T, 3), np.float32), np.arange(T) / 30.0, 30.0,
                   np.arange(T) < 30, (np.arange(T) >= 30) & (np.arange(T) < 40), np.arange(T) >= 40,
                   (0.0, T / 30.0), labels=labels)


def test_label_lookup_gives_fill_for_absent_labels():
    s = _session()
    assert (s.label("natural_movie_one.frame") == -1).all()
    assert np.isnan(s.label("drifting_gratings.direction")).all()
    assert s.stimuli() == []


@pytest.mark.parametrize("labels, message", [
    ({"natural_movie_one.frame": np.full(50, 900)}, "natural_movie_one.frame has 900, expected 0..899"),
    ({"natural_movie_one.frame": np.full(50, -5)}, "natural_movie_one.frame has value -5"),
    ({"drifting_gratings.direction": np.full(50, 17.0, np.float32)}, "drifting_gratings.direction has value 17"),
    ({"natural_movie_one.frame": np.zeros(49, np.int64)}, r"shape \(49,\), expected \(50,\)"),
])
def test_labels_are_validated_against_their_spec(labels, message):
    with pytest.raises(DataError, match=message):
        validate_session(_session(**labels), "file.h5")


def test_out_of_range_frame_in_a_file_is_refused_naming_the_file(tmp_path):
    a = kirby_arrays()
    a["frame_number"] = a["frame_number"] + 880  # frames 880..939: past the movie's 900 frames
    path = write_kirby_fixture(tmp_path / "1.h5", a)
    with pytest.raises(DataError) as info:
        read_session(path)
    assert str(path) in str(info.value) and "expected 0..899" in str(info.value)


def test_interval_values_closes_float_gaps_between_abutting_frames():
    ts = np.array([0.0, 1.0, 2.0, 3.0])
    start, end = np.array([0.0, 1.5]), np.array([1.5 - 1e-9, 3.5])
    assert interval_values(ts, start, end, np.array([7, 8]), -1).tolist() == [7, 7, 8, 8]


def test_overlapping_split_masks_are_refused_naming_the_file_and_splits(tmp_path):
    a = kirby_arrays()
    a["test"] = a["test"].copy()
    a["test"][100:110] = True  # samples 100..109 are in train too
    path = write_kirby_fixture(tmp_path / "1.h5", a)
    with pytest.raises(DataError) as info:
        read_session(path)
    msg = str(info.value)
    assert str(path) in msg and "splits 'train' and 'test' overlap in 10 samples" in msg
