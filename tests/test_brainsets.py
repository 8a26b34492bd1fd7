"""The brainsets reader (docs/formats.md), on files written with temporaldata."""

from __future__ import annotations

import numpy as np

from conftest import RATE, write_brainsets_fixture
from neurocine.io import detect_layout, read_brainsets


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
    frame = s.label("natural_movie_one.frame")
    np.testing.assert_array_equal(frame[inside], expected % 45)
    np.testing.assert_array_equal(s.label("natural_movie_one.repeat")[inside], expected // 45)
    assert (frame[~inside] == -1).all()
    direction = s.label("drifting_gratings.direction")
    assert np.all(direction[(ts >= 10) & (ts < 12)] == 90)
    assert np.all(s.label("drifting_gratings.temporal_frequency")[(ts >= 13) & (ts < 15)] == 15)
    assert np.isnan(direction[(ts >= 12) & (ts < 13)]).all()
    assert s.unit_ids.tolist()[:2] == ["roi0", "roi1"]
    assert s.subject["target_area"] == "VISp" and s.subject["id"] == "m2"
    # running speed interpolated at sample times: speed = sample index / 10
    np.testing.assert_allclose(s.label("running_speed")[30:60], np.arange(30, 60) / 10, atol=1e-4)




def test_natural_scenes_frames_are_images_plus_one(tmp_path):
    """brainsets stores natural_scenes 'frame' = image + 1 (0 = blank): image 0..117, blank unlabelled."""
    from temporaldata import Interval

    path = tmp_path / "s.h5"

    def add(data):
        data.natural_scenes = Interval(start=np.array([5.0, 5.3, 5.6]), end=np.array([5.25, 5.55, 5.85]),
                                       frame=np.array([1, 0, 118]))
    write_brainsets_fixture(path, extra=add)
    s = read_brainsets(path)
    ts = s.timestamps
    image = s.label("natural_scenes.image")
    assert np.all(image[(ts >= 5.0) & (ts < 5.25)] == 0)
    assert np.all(image[(ts >= 5.3) & (ts < 5.55)] == -1)
    assert np.all(image[(ts >= 5.6) & (ts < 5.85)] == 117)
    assert "natural_scenes" in s.stimuli()
