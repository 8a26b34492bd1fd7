"""Session modes, normalisation (train-only statistics), splits and loaders."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from neurocine import ConfigError, load_dataset
from neurocine.settings import Config
from neurocine.data import (TensorSampler, contiguous_segments, fit_zscore, make_dataloader,
                            normalize_sessions, split_sessions)


def test_separate_mode_gives_one_array_per_session(sim_dir, sim_sessions):
    parts = load_dataset({"data_dir": str(sim_dir)}, "train")
    assert [p.neural.shape for p in parts] == [(int(s.train_mask.sum()), s.num_neurons) for s in sim_sessions]
    assert all(p.neural.dtype == np.float32 for p in parts)
    for p, s in zip(parts, sim_sessions):
        np.testing.assert_array_equal(p.label("natural_movie_one.frame"),
                                      s.label("natural_movie_one.frame")[s.train_mask])
        assert set(p.labels) == set(s.labels)


def test_pad_mode_zero_pads_to_max_neurons(sim_dir, sim_sessions):
    (pad,) = load_dataset({"data_dir": str(sim_dir), "mode": "pad"}, "test")
    n = [s.num_neurons for s in sim_sessions]
    t = [int(s.test_mask.sum()) for s in sim_sessions]
    assert pad.neural.shape == (sum(t), max(n))
    assert pad.num_neurons == tuple(n)
    np.testing.assert_array_equal(np.bincount(pad.session_index), t)
    first = pad.neural[pad.session_index == 0]
    assert np.all(first[:, n[0]:] == 0) and np.any(first[:, : n[0]] != 0)
    # segments never span two sessions
    for seg in np.unique(pad.segment):
        assert len(np.unique(pad.session_index[pad.segment == seg])) == 1


def test_first_only_mode(sim_dir, sim_sessions):
    parts = load_dataset(Config.from_dict({"dataset": {"data_dir": str(sim_dir), "mode": "first_only"}}), "valid")
    assert len(parts) == 1 and parts[0].session_id == sim_sessions[0].session_id


def test_max_sessions_and_bad_mode(sim_dir):
    assert len(load_dataset({"data_dir": str(sim_dir), "max_sessions": 2})) == 2
    with pytest.raises(ConfigError, match="config key 'dataset.mode': 'stack' is not one of separate, pad, first_only"):
        load_dataset({"data_dir": str(sim_dir), "mode": "stack"})
    with pytest.raises(ConfigError, match="max_sessions"):
        load_dataset({"data_dir": str(sim_dir), "max_sessions": 0})


def test_zscore_uses_train_statistics(sim_sessions):
    s = sim_sessions[0]
    (z,) = normalize_sessions([s])
    train = z.traces[s.train_mask]
    np.testing.assert_allclose(train.mean(0), 0, atol=1e-4)
    np.testing.assert_allclose(train.std(0), 1, atol=1e-3)
    assert abs(z.traces[s.test_mask].mean()) > 1e-3  # test split is not re-centred on itself


def test_test_split_statistics_do_not_leak(sim_sessions):
    s = sim_sessions[1]
    wild = s.traces.copy()
    wild[s.test_mask] = wild[s.test_mask] * 1000 + 77  # wildly different test data
    wild[s.valid_mask] = -wild[s.valid_mask]
    (a,) = normalize_sessions([s])
    (b,) = normalize_sessions([replace(s, traces=wild)])
    np.testing.assert_array_equal(a.traces[s.train_mask], b.traces[s.train_mask])
    np.testing.assert_array_equal(fit_zscore(s.traces, s.train_mask)[0], fit_zscore(wild, s.train_mask)[0])
    # and the test split of b is transformed with the same (train) statistics as a's
    mean, std = fit_zscore(s.traces, s.train_mask)
    np.testing.assert_allclose(b.traces[s.test_mask], (wild[s.test_mask] - mean) / std, rtol=1e-5)


def test_normalisation_can_be_switched_off(sim_dir, sim_sessions):
    parts = load_dataset({"data_dir": str(sim_dir), "normalize": False, "normalize_time": False}, "train")
    s = sim_sessions[0]
    np.testing.assert_array_equal(parts[0].neural, s.traces[s.train_mask])
    np.testing.assert_allclose(parts[0].time, s.timestamps[s.train_mask], rtol=1e-6)


def test_time_normalised_to_unit_interval(sim_sessions):
    (p,) = split_sessions(sim_sessions[:1], "all")
    assert p.time.min() >= 0 and p.time.max() <= 1
    assert p.time[0] == pytest.approx(0, abs=1e-3) and p.time[-1] == pytest.approx(1, abs=1e-3)


def test_segments_follow_contiguous_runs():
    np.testing.assert_array_equal(contiguous_segments(np.array([3, 4, 5, 9, 10, 20])), [0, 0, 0, 1, 1, 2])


def test_seed_dataloader_batches(sim_dir):
    parts = load_dataset({"data_dir": str(sim_dir)}, "train")
    neural, time = next(iter(make_dataloader(parts[1], batch_size=4)))
    assert neural.shape == (4, 30) and time.shape == (4,)
    assert neural.dtype == torch.float32
    np.testing.assert_array_equal(neural.numpy(), parts[1].neural[:4])


def test_tensor_sampler_draws_rows_of_the_split(sim_dir):
    part = load_dataset({"data_dir": str(sim_dir)}, "train")[0]
    sampler = TensorSampler(part, seed=3)
    neural, time, idx = sampler.sample(256)
    assert neural.shape == (256, 20) and time.shape == (256,)
    np.testing.assert_array_equal(neural.numpy(), part.neural[idx.numpy()])
    again = TensorSampler(part, seed=3).sample(256)[2]
    assert torch.equal(idx, again)
    assert sum(len(b[0]) for b in sampler.batches(100)) == len(part)


def test_load_dataset_matches_normalise_then_split(sim_dir, sim_sessions):
    """load_dataset (normalized_splits) scales only the split's rows; the result equals
    z-scoring whole sessions with train statistics and cutting the split afterwards."""
    fast = load_dataset({"data_dir": str(sim_dir)}, "test", sessions=sim_sessions)
    slow = split_sessions(normalize_sessions(sim_sessions), "test")
    for a, b in zip(fast, slow):
        np.testing.assert_allclose(a.neural, b.neural, rtol=1e-6, atol=1e-6)
    assert all(s.traces.dtype == np.float32 for s in sim_sessions)  # inputs untouched


def test_pad_mode_concatenates_label_tables(sim_dir, sim_sessions):
    (pad,) = load_dataset({"data_dir": str(sim_dir), "mode": "pad"}, "train")
    frames = np.concatenate([s.label("natural_movie_one.frame")[s.train_mask] for s in sim_sessions])
    np.testing.assert_array_equal(pad.label("natural_movie_one.frame"), frames)


def test_load_template_resizes_and_checks_length(tmp_path):
    from neurocine import DataError
    from neurocine.data import load_template

    movie = np.random.default_rng(0).integers(0, 256, (10, 8, 16), dtype=np.uint8)
    np.save(tmp_path / "m.npy", movie)
    frames = load_template(tmp_path / "m.npy", (4, 8))
    assert frames.shape == (10, 4, 8) and frames.dtype == np.float32 and 0 <= frames.min() <= frames.max() <= 1
    np.testing.assert_allclose(frames[0, 0, 0], movie[0, :2, :2].mean() / 255, rtol=1e-5)
    with pytest.raises(DataError, match="template has 10 frames, expected 900"):
        load_template(tmp_path / "m.npy", n_frames=900)
    with pytest.raises(DataError, match="template not found"):
        load_template(tmp_path / "absent.npy")
