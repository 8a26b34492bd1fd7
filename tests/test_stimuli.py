"""The stimulus facts and label registry."""

from __future__ import annotations

import numpy as np
import pytest

from neurocine import stimuli
from neurocine.stimuli import LABELS, STIMULI, LabelSpec, derive_labels, frame_labels, movie_of, spec_for


def test_movie_lengths_come_from_one_place():
    assert LABELS["natural_movie_one.frame"].n_values == stimuli.MOVIE_FRAMES["natural_movie_one"] == 900
    assert LABELS["natural_movie_three.frame"].n_values == 3600
    assert movie_of("natural_movie_three.frame") == "natural_movie_three"


def test_class_ids_map_values_to_positions_and_missing_to_minus_one():
    spec = LABELS["drifting_gratings.temporal_frequency"]
    ids = spec.class_ids(np.array([1.0, 15.0, np.nan, 4.0], dtype=np.float32))
    assert ids.tolist() == [0, 4, -1, 2]
    scenes = LABELS["natural_scenes.image"]
    assert scenes.class_ids(np.array([0, 117, -1])).tolist() == [0, 117, -1]
    assert scenes.n_classes == 118 and LABELS["static_gratings.orientation"].n_classes == 6


def test_every_stimulus_names_registered_labels():
    for stim in STIMULI.values():
        assert all(name in LABELS for name in stim.labels)
        if stim.structure == "trials":
            assert all(LABELS[n].kind == "class" and LABELS[n].classes for n in stim.labels)
    with pytest.raises(ValueError, match="not registered"):
        stimuli.register_stimulus(stimuli.Stimulus("nope", "trials", ("nope.x",)))


def test_derived_label_appears_when_its_inputs_are_present():
    table = {"drifting_gratings.direction": np.array([0, 45, 225, np.nan], dtype=np.float32)}
    out = derive_labels(table)
    np.testing.assert_array_equal(out["drifting_gratings.orientation"], [0, 45, 45, np.nan])
    assert "drifting_gratings.orientation" not in derive_labels({})
    assert out is not table  # the input table is not modified


def test_registering_a_label_is_one_entry(monkeypatch):
    monkeypatch.setitem(LABELS, "toy.parity", LabelSpec(
        "toy.parity", "class", "int64", classes=(0, 1), needs=("natural_movie_one.frame",),
        derive=lambda t: np.where(t["natural_movie_one.frame"] >= 0, t["natural_movie_one.frame"] % 2, -1)))
    out = derive_labels({"natural_movie_one.frame": np.array([-1, 0, 1, 2])})
    assert out["toy.parity"].tolist() == [-1, 0, 1, 0]


def test_user_labels_get_an_ad_hoc_spec():
    assert spec_for("my_label", np.zeros(3, np.int64)).kind == "class"
    assert spec_for("my_label", np.zeros(3)).kind == "continuous"
    assert frame_labels({"natural_movie_one.frame": 0, "running_speed": 0}) == ["natural_movie_one.frame"]
