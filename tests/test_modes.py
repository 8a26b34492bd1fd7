"""Learning modes: registry, resolution of 'auto', alignment keys, supervision."""

from __future__ import annotations

import numpy as np
import pytest

from neurocine import ConfigError
from neurocine.embed import modes
from neurocine.embed.modes.stimulus_aligned import TRIAL_BASE, alignment_keys


def _facts(n=2, has_y=False, stimuli=("natural_movie_one",), labels=("natural_movie_one.frame",)):
    return [modes.Facts(str(i), 10, True, has_y, False, labels, stimuli) for i in range(n)]


def test_registry_lists_the_modes_and_inits_them():
    assert set(modes.get_options()) == {"time_contrastive", "stimulus_aligned", "behavior", "hybrid"}
    with pytest.raises(ConfigError, match="learning_mode: 'nope'"):
        modes.init("nope", {})


def test_auto_resolution():
    assert modes.resolve("auto", {}, _facts(has_y=True)).name == "behavior"
    assert modes.resolve("auto", {}, _facts()).name == "stimulus_aligned"
    with pytest.warns(RuntimeWarning, match="NOT aligned"):
        assert modes.resolve("auto", {}, _facts(stimuli=(), labels=())).name == "time_contrastive"
    assert modes.resolve("auto", {"conditional": "time"}, _facts()).name == "time_contrastive"
    hybrid = modes.resolve("behavior", {"hybrid": True, "behavior_label": "natural_movie_one.frame"}, _facts())
    assert hybrid.name == "hybrid" and hybrid.inner.name == "behavior"


def test_modes_say_what_supervised_them_and_whether_they_align():
    facts = _facts(stimuli=("natural_movie_one", "drifting_gratings"))
    sa = modes.resolve("stimulus_aligned", {}, facts)
    assert sa.supervision(facts) == "natural_movie_one frame, drifting_gratings condition" and sa.aligns_sessions
    tc = modes.resolve("time_contrastive", {}, facts)
    assert tc.supervision(facts) == "none" and not tc.aligns_sessions
    be = modes.resolve("behavior", {"behavior_label": "natural_movie_one.frame"}, facts)
    assert be.supervision(facts) == "natural_movie_one.frame"
    with pytest.raises(ConfigError, match="needs labels"):
        modes.resolve("behavior", {"behavior_label": "running_speed"}, facts)


def test_alignment_keys_for_movie_and_trials():
    T = 12
    frame = np.array([-1, 5, 6, 7] + [-1] * 8)
    direction = np.array([np.nan] * 5 + [90.0] * 3 + [np.nan] + [90.0] * 3, dtype=np.float32)
    tf = np.where(np.isfinite(direction), 4.0, np.nan).astype(np.float32)
    segment = np.array([0] * 9 + [1] * 3)
    keys = alignment_keys({"natural_movie_one.frame": frame, "drifting_gratings.direction": direction,
                           "drifting_gratings.temporal_frequency": tf}, segment)
    cond = 2 * 5 + 2  # direction id 2 (90 deg) x 5 + temporal-frequency id 2 (4 Hz)
    assert keys[:5].tolist() == [-1, 5, 6, 7, -1]
    assert keys[5:8].tolist() == [TRIAL_BASE + cond * 1000 + t for t in range(3)]
    assert keys[8] == -1
    assert keys[9:].tolist() == [TRIAL_BASE + cond * 1000 + t for t in range(3)]  # a new segment restarts the trial
    assert len(keys) == T
