"""Sessions sampled more coarsely than the movie (1-s and 100-ms bins): the default
stimulus-aligned mode must find its positives (nearest stimulus time), not fall back to
time contrast, and learn as well as behavior mode given the same labels."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import neurocine
from neurocine.data.binning import bin_session
from neurocine.data import normalized_splits, training_rows
from neurocine.evaluate.frame_id import evaluate_frame_id
from neurocine.errors import ConfigError
from neurocine.io.simulate import simulate_dataset

FRAME = "natural_movie_one.frame"


@pytest.fixture(scope="module")
def raw_sessions(tmp_path_factory):
    d = tmp_path_factory.mktemp("binned")
    # 30 repeats: 24 train, 3 valid, 3 test (tenths, in order), so the test has 90 bins of 1 s per session
    simulate_dataset(d, sessions=3, neurons=(60, 80, 70), grating_repeats=1, spontaneous_s=2.0,
                     frame_shape=(24, 48), movie_repeats=30, progress=False)
    return neurocine.load_sessions(d)


def _frame_id(sessions, bin_s, mode):
    splits = {sp: normalized_splits(sessions, sp) for sp in ("train", "valid", "test")}
    train, valid = training_rows(splits["train"]), training_rows(splits["valid"])
    y = valid_y = None
    if mode == "behavior":  # the same information as integer classes: the bin of the movie
        per_bin = int(round(bin_s * 30))
        as_bins = lambda p: np.where(p.label(FRAME) >= 0, p.label(FRAME) // per_bin, -1)  # noqa: E731
        y, valid_y = [as_bins(p) for p in train], [as_bins(p) for p in valid]
    model = neurocine.CEBRA(max_iterations=200, batch_size=256, device="cpu", learning_mode=mode)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # a fallback warning fails the test
        model.fit(train, y, valid=valid, valid_y=valid_y)
    entries = []
    for i, p in enumerate(splits["train"]):
        e = {"session_id": p.session_id}
        for sp in ("train", "valid", "test"):
            q = splits[sp][i]
            e[sp] = {"neural": q.neural, "segment": q.segment, "index": q.index, "frame": q.label(FRAME),
                     "embeddings": {"m": model.transform(q, session_id=i)}}
        entries.append(e)
    res = evaluate_frame_id(entries, 900, window=(model.model_.left, model.model_.right), models={"m": {}},
                            baselines=False, n_boot=10, block_samples=max(1, int(round(1 / bin_s))))
    return res.value("m"), res.value("chance"), model.positives_


@pytest.mark.parametrize("bin_s", [1.0, 0.1])
def test_stimulus_aligned_on_binned_data_matches_behavior(raw_sessions, bin_s):
    sessions = [bin_session(s, bin_s) for s in raw_sessions]
    aligned, chance, positives = _frame_id(sessions, bin_s, "stimulus_aligned")
    behavior, _, _ = _frame_id(sessions, bin_s, "behavior")
    print(f"bin {bin_s} s: stimulus_aligned {aligned:.3f}, behavior {behavior:.3f}, chance {chance:.3f}, "
          f"fallback {positives['fallback_fraction']:.3f}")
    assert positives["fallback_fraction"] < 0.05, positives
    assert aligned > 3 * chance
    assert aligned >= behavior - 0.05, (aligned, behavior)


def test_sparse_keys_pair_the_nearest_stimulus_time():
    """A 1-Hz session's references find positives in a 30-Hz session at the nearest frame,
    and trial keys mean the same moment at 30 and 1 Hz."""
    import torch

    from neurocine.embed.modes.stimulus_aligned import MIN_NEAREST_DISTANCE, alignment_keys, key_block
    from neurocine.embed.sampling import DiscreteSampler, build_session_tensors

    fast = np.arange(900)                   # every frame, 30 Hz
    slow = np.arange(15, 900, 30)           # one frame per second, at bin centres
    tensors = [build_session_tensors(np.zeros((len(k), 2), np.float32), np.zeros(len(k), np.int64), 0, 1, 1, k,
                                     torch.device("cpu")) for k in (slow, fast)]
    sampler = DiscreteSampler(tensors, 1, torch.Generator().manual_seed(0), nearest=key_block,
                              max_distance=MIN_NEAREST_DISTANCE)
    batch = sampler.sample(200)
    from_slow = (batch.ref_session == 0) & (batch.pos_session == 1)
    np.testing.assert_array_equal(fast[batch.pos[from_slow].numpy()], slow[batch.ref[from_slow].numpy()])
    from_fast = (batch.ref_session == 1) & (batch.pos_session == 0)
    err = np.abs(slow[batch.pos[from_fast].numpy()] - fast[batch.ref[from_fast].numpy()])
    assert err.max() <= 15  # the nearest 1-Hz bin
    assert sampler.positive_counts()["fallback"] == 0

    d30 = np.r_[np.zeros(61, np.float32), np.nan]
    d1 = np.r_[np.zeros(3, np.float32), np.nan]
    k30 = alignment_keys({"drifting_gratings.direction": d30}, np.zeros(62, np.int64), 30.0)
    k1 = alignment_keys({"drifting_gratings.direction": d1}, np.zeros(4, np.int64), 1.0)
    np.testing.assert_array_equal(k1[:3], k30[[0, 30, 60]])   # 0, 1 and 2 s after onset
    k31 = alignment_keys({"drifting_gratings.direction": d30}, np.zeros(62, np.int64), 31.0)
    assert abs(int(k31[31]) - int(k30[30])) <= 1               # 1 s after onset at 31 Hz and at 30 Hz


def test_fallback_is_counted_and_warned():
    """Labels that never meet (two sessions, disjoint movie halves) fall back to time
    contrast: fit warns with the share, and positives_ records it."""
    rng = np.random.default_rng(0)
    parts = []
    for frames in (np.arange(0, 300), np.arange(600, 900)):
        frames = np.tile(frames, 4)
        parts.append(neurocine.SplitData("s", rng.normal(size=(len(frames), 5)).astype(np.float32),
                                         np.linspace(0, 1, len(frames), dtype=np.float32), np.arange(len(frames)),
                                         np.zeros(len(frames), np.int64), {FRAME: frames},
                                         np.zeros(len(frames), np.int64), (5,)))
    model = neurocine.CEBRA(max_iterations=5, batch_size=64, device="cpu", positive_sessions="other")
    with pytest.warns(RuntimeWarning, match=r"% of the labelled references .* fell back to time contrast"):
        model.fit(parts)
    assert model.positives_["fallback_fraction"] > 0.9


def test_bin_session_checks_its_arguments(raw_sessions):
    with pytest.raises(ConfigError, match="longer than one sample"):
        bin_session(raw_sessions[0], 0.01)
    with pytest.raises(ConfigError, match="reduce"):
        bin_session(raw_sessions[0], 1.0, reduce="max")
    b = bin_session(raw_sessions[0], 1.0, reduce="sum")
    assert b.sampling_rate == 1.0 and b.traces.shape[1] == raw_sessions[0].num_neurons
