"""The simulator: determinism, layouts, split rules, and that its data look like V1."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import SMALL_SIM
from neurocine import DataError, load_sessions
from neurocine.io.simulate import calcium_from_spikes, simulate_dataset, simulate_movie


def test_round_trip_kirby(sim_dir, sim_sessions):
    assert [s.num_neurons for s in sim_sessions] == [20, 30, 25]
    movie = np.load(sim_dir / "natural_movie_one.npy")
    assert movie.shape == (900, 16, 32) and movie.dtype == np.uint8
    for s in sim_sessions:
        assert s.layout == "kirby" and s.sampling_rate == 30.0
        frame, repeat = s.label("natural_movie_one.frame"), s.label("natural_movie_one.repeat")
        # movie repeats 8/1/1 in order
        assert set(np.unique(repeat[s.train_mask & (frame >= 0)])) == set(range(8))
        assert set(np.unique(repeat[s.valid_mask & (frame >= 0)])) == {8}
        assert set(np.unique(repeat[s.test_mask & (frame >= 0)])) == {9}
        assert (frame >= 0).sum() == 9000
        # every movie frame index shows up in each repeat
        assert set(np.unique(frame[repeat == 9])) == set(range(900))
        truth = np.load(sim_dir / f"{s.session_id}_truth.npz")
        assert truth["spikes"].shape == s.traces.shape


def test_grating_trials_split_70_10_20(sim_sessions):
    s = sim_sessions[0]
    g = np.isfinite(s.label("drifting_gratings.direction"))
    onsets = np.flatnonzero(g & ~np.roll(g, 1))  # 2 s trials separated by 1 s gray
    split_of = [("train" if s.train_mask[i] else "valid" if s.valid_mask[i] else "test") for i in onsets]
    counts = {k: split_of.count(k) / len(onsets) for k in ("train", "valid", "test")}
    assert len(onsets) == 40
    assert counts == pytest.approx({"train": 0.7, "valid": 0.1, "test": 0.2}, abs=0.03)


def test_round_trip_brainsets(tmp_path):
    paths = simulate_dataset(tmp_path, sessions=1, layout="brainsets", seed=0, progress=False, **SMALL_SIM)
    (s,) = load_sessions(tmp_path)
    assert s.layout == "brainsets" and s.session_id == paths[0].stem
    assert np.isfinite(s.label("running_speed")).all()
    frame, repeat = s.label("natural_movie_one.frame"), s.label("natural_movie_one.repeat")
    # one movie epoch: 60/10/30 by time, snapped to repeats
    assert set(np.unique(repeat[s.train_mask & (frame >= 0)])) == set(range(6))
    assert set(np.unique(repeat[s.valid_mask & (frame >= 0)])) == {6}
    assert set(np.unique(repeat[s.test_mask & (frame >= 0)])) == {7, 8, 9}


def test_same_seed_same_data_other_seed_other_data(tmp_path, sim_sessions):
    simulate_dataset(tmp_path / "a", sessions=1, seed=0, progress=False, **SMALL_SIM)
    simulate_dataset(tmp_path / "b", sessions=1, seed=1, progress=False, **SMALL_SIM)
    (a,), (b,) = load_sessions(tmp_path / "a"), load_sessions(tmp_path / "b")
    np.testing.assert_array_equal(a.traces, sim_sessions[0].traces)
    assert a.session_id == sim_sessions[0].session_id and a.session_id != b.session_id
    assert not np.array_equal(np.load(tmp_path / "a/natural_movie_one.npy"),
                              np.load(tmp_path / "b/natural_movie_one.npy"))


def test_refuses_to_overwrite(sim_dir):
    before = {p.name: p.stat().st_mtime_ns for p in sim_dir.iterdir()}
    with pytest.raises(DataError, match="refusing to overwrite"):
        simulate_dataset(sim_dir, sessions=3, seed=0, progress=False, **SMALL_SIM)
    assert {p.name: p.stat().st_mtime_ns for p in sim_dir.iterdir()} == before


def test_movie_has_natural_image_statistics():
    movie = simulate_movie(900, (64, 128), seed=0).astype(np.float64)
    # 1/f amplitude spectrum: log-log slope of radially averaged power near -2
    f = np.abs(np.fft.fftshift(np.fft.fft2(movie[100] - movie[100].mean()))) ** 2
    yy, xx = np.indices(f.shape)
    r = np.hypot(yy - 32, xx - 64).astype(int)
    radial = np.bincount(r.ravel(), f.ravel()) / np.bincount(r.ravel())
    k = np.arange(2, 30)
    slope = np.polyfit(np.log(k), np.log(radial[k]), 1)[0]
    assert -3.5 < slope < -1.5
    # smooth motion within shots (neighbouring frames alike), with a few hard cuts
    diffs = np.abs(np.diff(movie, axis=0)).mean(axis=(1, 2))
    cuts = diffs > 8 * np.median(diffs)
    assert 2 <= cuts.sum() <= 8
    assert np.median(diffs) < 0.2 * movie.std()  # random frame pairs differ by ~1.1 std


def test_calcium_kernel_rises_fast_and_decays_slowly():
    spikes = np.zeros((200, 1))
    spikes[10, 0] = 1
    c = calcium_from_spikes(spikes, 30.0, np.array([0.7]))[:, 0]
    peak = int(np.argmax(c))
    assert 10 <= peak <= 14 and c.max() == pytest.approx(1.0, rel=1e-3)
    t_half = (np.flatnonzero(c[peak:] < 0.5)[0]) / 30.0
    assert 0.3 < t_half < 0.7  # ~ decay * ln 2


def test_responsive_neurons_repeat_across_movie_repeats(sim_dir, sim_sessions):
    s = sim_sessions[1]
    repeat = s.label("natural_movie_one.repeat")
    truth = np.load(sim_dir / f"{s.session_id}_truth.npz")
    responses = np.stack([s.traces[(repeat == r)][:900] for r in range(10)])  # (10, 900, N)
    # split-half reliability: mean of even repeats vs mean of odd repeats, per neuron
    even, odd = responses[0::2].mean(0), responses[1::2].mean(0)
    reliability = np.array([np.corrcoef(even[:, j], odd[:, j])[0, 1] for j in range(s.num_neurons)])
    resp = truth["rf_responsive"]
    assert 0.5 < resp.mean() < 0.95  # most respond (63 % tuned to gratings in the real session), not all
    assert reliability[resp].mean() > 0.1
    assert reliability[resp].mean() > reliability[~resp].mean() + 0.1


def test_frame_response_is_what_the_recorded_dff_follows(sim_dir, sim_sessions):
    """The noise-free response (rebuilt from the saved receptive fields, as the ceiling bench
    does) predicts each responsive neuron's repeat-averaged dF/F per frame, up to calcium lag;
    unresponsive neurons get zero."""
    from neurocine.io.simulate import ReceptiveFields, frame_response

    s = sim_sessions[1]
    truth = np.load(sim_dir / f"{s.session_id}_truth.npz")
    rf = ReceptiveFields(**{k[3:]: truth[k] for k in truth.files if k.startswith("rf_")})
    expected = frame_response(rf, np.load(sim_dir / "natural_movie_one.npy").astype(np.float32))
    assert expected.shape == (900, s.num_neurons) and (expected[:, ~rf.responsive] == 0).all()
    repeat = s.label("natural_movie_one.repeat")
    mean_dff = np.mean([s.traces[repeat == r][:900] for r in range(10)], axis=0)  # (900, N)

    def best_lag_r(response):
        return np.nanmedian([max(np.corrcoef(response[:900 - lag, j], mean_dff[lag:, j])[0, 1]
                                 for lag in range(0, 15, 3)) for j in np.flatnonzero(rf.responsive)])

    control = best_lag_r(np.roll(expected, 450, axis=0))  # the same responses, half a movie off
    assert best_lag_r(expected) > 0.2 and best_lag_r(expected) > control + 0.2
