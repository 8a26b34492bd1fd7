"""Trial-aligned input: arrays in memory and the import of the real grating file."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import SHARED_DATA
from neurocine import DataError, load_dataset
from neurocine.cli import main
from neurocine.embed.sampling import valid_centers
from neurocine.io import read_session
from neurocine.io.trials import trials_session

GRATINGS = SHARED_DATA / "allen_2p_drifting_gratings_527745328" / "dff_trials_527745328.npz"


def _toy(K=40, S=12, N=4, seed=0):
    rng = np.random.default_rng(seed)
    direction = np.tile(np.arange(8) * 45.0, K // 8)
    dff = rng.normal(size=(N, K, S)).astype(np.float32)
    return dff, {"drifting_gratings.direction": direction}, (np.arange(S) - 2) / 30.0


def test_trials_become_samples_with_gaps_in_no_split():
    dff, labels, time_s = _toy()
    s = trials_session(dff, labels, time_s, 30.0, "toy", stimulus_s=0.2, gap=15)
    assert s.traces.shape == (40 * 12 + 39 * 15, 4)
    np.testing.assert_array_equal(s.traces[27:39], dff[:, 1, :].T)  # trial 1 starts after 12 + 15 samples
    in_split = s.train_mask | s.valid_mask | s.test_mask
    assert in_split.sum() == 40 * 12 and not in_split[12:27].any()
    direction = s.label("drifting_gratings.direction")
    assert (direction[27 + 2:27 + 8] == 45.0).all() and np.isnan(direction[27:29]).all()  # onset at sample 2
    # [onset, onset + 0.2 s): exactly 6 samples in every trial, whatever the float rounding
    labelled = np.isfinite(direction)
    assert labelled.sum() == 40 * 6 and np.isnan(direction[27 + 8])
    assert set(np.unique(direction[s.test_mask & np.isfinite(direction)])) == set(np.arange(8) * 45.0)


def test_bad_trial_arrays_are_named():
    dff, labels, time_s = _toy()
    with pytest.raises(DataError, match=r"label drifting_gratings.direction has shape \(3,\), expected \(40,\)"):
        trials_session(dff, {"drifting_gratings.direction": np.zeros(3)}, time_s, 30.0, "x")
    with pytest.raises(DataError, match="expected registered labels of one stimulus"):
        trials_session(dff, {"direction": labels["drifting_gratings.direction"]}, time_s, 30.0, "x")


@pytest.mark.skipif(not GRATINGS.is_file(), reason=f"no real recordings at {GRATINGS} (absent on this clone)")
def test_import_round_trips_the_real_grating_file(tmp_path, capsys):
    z = np.load(GRATINGS)
    assert main(["import-trials", str(GRATINGS), "--out", str(tmp_path), "--stimulus-s", "2.0"]) == 0
    assert "628 trials x 92 samples of 254 cells" in capsys.readouterr().out
    s = read_session(tmp_path / "527745328.h5")
    assert s.layout == "brainsets" and s.num_neurons == 254 and s.sampling_rate == pytest.approx(30.3, abs=0.1)
    in_split = s.train_mask | s.valid_mask | s.test_mask
    assert in_split.sum() == 628 * 92
    # every trial's 92 samples, in order, for every cell
    starts = np.flatnonzero(in_split & ~np.r_[False, in_split[:-1]])
    assert len(starts) == 628
    for k in (0, 311, 627):
        np.testing.assert_allclose(s.traces[starts[k]:starts[k] + 92], z["dff"][:, k, :].T, rtol=1e-6)
        label = s.label("drifting_gratings.direction")[starts[k] + 8 + 30]  # 1 s after onset
        assert (np.isnan(label) and np.isnan(z["orientation_deg"][k])) or label == z["orientation_deg"][k]
    # splits by trial, stratified: 70/10/20 of the trials, every direction in test
    trial_split = np.array(["train" if s.train_mask[i] else "valid" if s.valid_mask[i] else "test" for i in starts])
    assert abs(np.mean(trial_split == "train") - 0.7) < 0.03 and abs(np.mean(trial_split == "test") - 0.2) < 0.03
    # no encoder window crosses from one trial into another
    for split in ("train", "valid", "test"):
        part = load_dataset({"data_dir": str(tmp_path)}, split)[0]
        ok = np.flatnonzero(valid_centers(part.segment, 5, 5))
        trial_of = np.searchsorted(starts, part.index, side="right") - 1
        assert (trial_of[ok - 5] == trial_of[ok + 4]).all()


def test_import_invents_no_metadata(tmp_path, capsys):
    """Depth and area unknown to the trial file stay unknown in the written session and in
    `inspect` (an earlier writer filled in 175 um and VISp)."""
    dff, labels, time_s = _toy()
    np.savez(tmp_path / "t.npz", dff=dff, time_s=time_s, direction=labels["drifting_gratings.direction"])
    assert main(["import-trials", str(tmp_path / "t.npz"), "--out", str(tmp_path / "d"),
                 "--label", "drifting_gratings.direction=direction"]) == 0
    s = read_session(tmp_path / "d" / "t.h5")
    assert "imaging_depth" not in s.subject and "target_area" not in s.subject
    capsys.readouterr()
    assert main(["inspect", str(tmp_path / "d")]) == 0
    out = capsys.readouterr().out
    assert "175" not in out and "VISp" not in out and "imaging_depth" not in out
