"""The samplers: windows never cross segments, label positives show the same stimulus
(with and without stimulus jitter), continuous positives, the shared fallback."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from neurocine import load_dataset
from neurocine.embed.modes.stimulus_aligned import TRIAL_BASE, alignment_keys, jitter_keys
from neurocine.embed.sampling import (ContinuousSampler, DiscreteSampler, TimeSampler, build_session_tensors,
                                      valid_centers)

FRAME = "natural_movie_one.frame"


@pytest.fixture(scope="module")
def parts(sim_dir):
    return load_dataset({"data_dir": str(sim_dir)}, "train")


def test_no_window_crosses_a_segment_or_split_boundary():
    """CEBRA issue #259: windows of a convolutional model must stay in one contiguous run."""
    rng = np.random.default_rng(0)
    lengths = rng.integers(12, 40, size=30)
    segment = np.repeat(np.arange(30), lengths)
    T = len(segment)
    neural = rng.normal(size=(T, 4)).astype(np.float32)
    labels = rng.integers(0, 5, T)
    left, right = 5, 5
    for cls in (TimeSampler, DiscreteSampler):
        t = build_session_tensors(neural, segment, left, right, 10, labels if cls is DiscreteSampler else None,
                                  torch.device("cpu"))
        sampler = cls([t, t], 10, torch.Generator().manual_seed(1))
        for _ in range(50):
            b = sampler.sample(256)
            for idx in (b.ref, b.pos, b.neg):
                idx = idx.numpy()
                assert (idx - left >= 0).all() and (idx + right - 1 < T).all()
                assert (segment[idx - left] == segment[idx]).all()
                assert (segment[idx + right - 1] == segment[idx]).all()
    ok = valid_centers(segment, left, right)
    assert ok.sum() == sum(max(0, n - left - right + 1) for n in lengths)


def _tensors(parts, keys):
    return [build_session_tensors(p.neural, p.segment, 5, 5, 10, k, torch.device("cpu")) for p, k in zip(parts, keys)]


def test_stimulus_aligned_positives_show_the_same_stimulus(parts):
    keys = [alignment_keys(p.labels, p.segment) for p in parts]
    sampler = DiscreteSampler(_tensors(parts, keys), 10, torch.Generator().manual_seed(0))
    b = sampler.sample(512)
    rs, r, ps, p = (x.numpy() for x in (b.ref_session, b.ref, b.pos_session, b.pos))
    k_ref = np.array([keys[s][i] for s, i in zip(rs, r)])
    k_pos = np.array([keys[s][i] for s, i in zip(ps, p)])
    # a partner with the same key is found in another session for nearly every reference
    # (a few grating keys late in a trial exist in one session only: those fall back to time)
    aligned = rs != ps
    assert aligned.mean() > 0.9
    assert (k_ref[aligned] >= 0).all()
    assert (k_ref[aligned] == k_pos[aligned]).all()
    movie = aligned & (k_ref < TRIAL_BASE)
    f_ref = np.array([parts[s].label(FRAME)[i] for s, i in zip(rs[movie], r[movie])])
    f_pos = np.array([parts[s].label(FRAME)[i] for s, i in zip(ps[movie], p[movie])])
    np.testing.assert_array_equal(f_ref, f_pos)


def test_stimulus_jitter_moves_positives_within_the_jitter_only(parts):
    """The production default (stimulus_jitter 15): a positive shows a frame at most 15
    frames from the reference's, inside the movie; grating positives keep the condition
    and are at most 15 samples from the reference's time in trial."""
    jitter = 15
    keys = [alignment_keys(p.labels, p.segment) for p in parts]
    sampler = DiscreteSampler(_tensors(parts, keys), 10, torch.Generator().manual_seed(0),
                              jitter=lambda k, g: jitter_keys(k, jitter, g))
    offsets, trial_offsets = [], []
    for _ in range(10):
        b = sampler.sample(512)
        rs, r, ps, p = (x.numpy() for x in (b.ref_session, b.ref, b.pos_session, b.pos))
        aligned = rs != ps
        k_ref = np.array([keys[s][i] for s, i in zip(rs[aligned], r[aligned])])
        k_pos = np.array([keys[s][i] for s, i in zip(ps[aligned], p[aligned])])
        movie = k_ref < TRIAL_BASE
        offsets.append(k_pos[movie] - k_ref[movie])
        trial = ~movie
        assert ((k_pos[trial] - TRIAL_BASE) // 1000 == (k_ref[trial] - TRIAL_BASE) // 1000).all()  # same condition
        trial_offsets.append(k_pos[trial] - k_ref[trial])
        assert ((k_pos[movie] >= 0) & (k_pos[movie] < 900)).all()
    offsets, trial_offsets = np.concatenate(offsets), np.concatenate(trial_offsets)
    assert np.abs(offsets).max() <= jitter and np.abs(trial_offsets).max() <= jitter
    assert (offsets != 0).mean() > 0.8  # really jittered (0 has probability 1/31)
    assert abs(offsets.mean()) < 1.5  # and symmetric


def test_jitter_keeps_movie_keys_inside_their_movie():
    # natural_movie_one (block 0, 900 frames), natural_movie_three (block 2, 3600 frames)
    keys = torch.tensor([0, 899, 20_000 + 3599, 20_000, -1, TRIAL_BASE + 5])
    for seed in range(20):
        moved = jitter_keys(keys, 15, torch.Generator().manual_seed(seed))
        assert 0 <= moved[0] <= 15 and 884 <= moved[1] <= 899
        assert 20_000 + 3584 <= moved[2] <= 20_000 + 3599 and 20_000 <= moved[3] <= 20_015
        assert moved[4] == -1 and TRIAL_BASE <= moved[5] <= TRIAL_BASE + 20


def test_continuous_positives_are_near_in_label_and_missing_labels_fall_back(parts):
    labels = [np.where(p.label(FRAME) >= 0, p.label(FRAME), np.nan).astype(np.float64) for p in parts]
    sampler = ContinuousSampler(_tensors(parts, labels), 10, torch.Generator().manual_seed(0), conditional="delta",
                                delta=2.0)
    b = sampler.sample(512)
    rs, r, ps, p = (x.numpy() for x in (b.ref_session, b.ref, b.pos_session, b.pos))
    l_ref = np.array([labels[s][i] for s, i in zip(rs, r)])
    l_pos = np.array([labels[s][i] for s, i in zip(ps, p)])
    cross = rs != ps
    assert np.isfinite(l_ref[cross]).all()  # references without a label were replaced by time pairs
    assert np.median(np.abs(l_pos[cross] - l_ref[cross])) <= 3
    own = ~cross
    np.testing.assert_array_equal(p[own], r[own] + 10)  # the fallback: time positives


def _feature_sessions(seed: int, n_sessions: int = 3, dim: int = 4):
    """Sessions that show 40 'frames' in random order, with a ``(T, dim)`` feature label per
    frame (the same features in every session, as image features are) and NaN gaps."""
    rng = np.random.default_rng(seed)
    features = rng.normal(size=(40, dim))
    out = []
    for _ in range(n_sessions):
        T = int(rng.integers(300, 500))
        frame = rng.integers(0, 40, T)
        labels = features[frame]
        labels[rng.random(T) < 0.1] = np.nan
        segment = np.repeat(np.arange(3), -(-T // 3))[:T]
        out.append((rng.normal(size=(T, 2)).astype(np.float32), segment, labels, frame))
    return features, out


def _build(sessions, time_offset=3):
    return [build_session_tensors(x, seg, 2, 2, time_offset, lab, torch.device("cpu")) for x, seg, lab, _ in sessions]


def test_multidimensional_continuous_positives_show_the_nearest_label_row():
    """``(T, D)`` labels: with no jitter the positive carries the reference's own feature
    row (another session, any repeat of that frame); NaN rows fall back to time."""
    _, sessions = _feature_sessions(0)
    sampler = ContinuousSampler(_build(sessions), 3, torch.Generator().manual_seed(0), conditional="delta", delta=0.0)
    b = sampler.sample(512)
    rs, r, ps, p = (x.numpy() for x in (b.ref_session, b.ref, b.pos_session, b.pos))
    frame_ref = np.array([sessions[s][3][i] for s, i in zip(rs, r)])
    frame_pos = np.array([sessions[s][3][i] for s, i in zip(ps, p)])
    cross = rs != ps
    assert cross.mean() > 0.8  # NaN labels (10 %) and nothing else fell back
    np.testing.assert_array_equal(frame_pos[cross], frame_ref[cross])
    # every repeat of a frame is a candidate: the references of one frame get several samples
    first = frame_ref[cross] == frame_ref[cross][0]
    assert len(set(zip(ps[cross][first], p[cross][first]))) > 1
    np.testing.assert_array_equal(p[~cross], r[~cross] + 3)  # the fallback: time positives
    counts = sampler.positive_counts()
    assert counts["references"] == 1536 and counts["fallback"] == 0 and counts["labelled"] < 1536


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), dim=st.integers(2, 5), block=st.sampled_from([1, 7, 1 << 22]),
       tree=st.booleans())
def test_multidimensional_nearest_matches_brute_force(seed, dim, block, tree):
    """Sessions with their own random labels (no shared rows): the positive's label is the
    Euclidean nearest, among the positive session's valid labelled centres, to the
    reference's label (delta = 0), by k-d tree (CPU) or by distance blocks (GPU; here on
    the CPU) of any size; checked against numpy."""
    rng = np.random.default_rng(seed)
    sessions = []
    for _ in range(2):
        T = int(rng.integers(20, 80))
        labels = rng.normal(size=(T, dim)).round(1)  # rounding: repeated rows
        labels[rng.random(T) < 0.2] = np.nan
        sessions.append((np.zeros((T, 1), np.float32), np.zeros(T, np.int64), labels, None))
    tensors = _build(sessions, time_offset=1)
    cls = type("Sampler", (ContinuousSampler,), {"tree_max_dim": 8 if tree else 0, "search_block": block})
    sampler = cls(tensors, 1, torch.Generator().manual_seed(seed), conditional="delta", delta=0.0)
    b = sampler.sample(64)
    for s, i, ps, p in zip(*(x.numpy() for x in (b.ref_session, b.ref, b.pos_session, b.pos))):
        if s == ps:
            continue
        ref_label = sessions[s][2][i]
        assert np.isfinite(ref_label).all()
        cand = tensors[ps].centers.numpy()
        lab = sessions[ps][2][cand]
        d = np.linalg.norm(lab - ref_label, axis=1)
        d[~np.isfinite(d)] = np.inf
        assert np.isclose(np.linalg.norm(sessions[ps][2][p] - ref_label), d.min())
        assert p in cand


def test_multidimensional_labels_draw_the_same_batch_when_sessions_are_split_across_processes():
    """Two processes, each holding some sessions (summaries of the others), with a summing
    reduce between them (threads standing in for torch.distributed's all-reduce), draw the
    batch one process holding everything draws: the same references, negatives and
    positives, each resolved by its owner."""
    _, sessions = _feature_sessions(1)
    full = _build(sessions)
    kw = dict(conditional="time_delta")
    one = ContinuousSampler(full, 3, torch.Generator().manual_seed(5), **kw).sample(128)
    owner = [0, 1, 1]
    barrier, box = threading.Barrier(2), {}

    def reduce(t, rank):
        box[rank] = t.clone()
        barrier.wait()
        out = box[0] + box[1]
        barrier.wait()
        return out

    batches = [None, None]

    def rank_run(rank):
        ts = [t if owner[j] == rank else t.summary() for j, t in enumerate(full)]
        sampler = ContinuousSampler(ts, 3, torch.Generator().manual_seed(5), reduce=lambda t: reduce(t, rank), **kw)
        batches[rank] = sampler.sample(128)

    threads = [threading.Thread(target=rank_run, args=(k,)) for k in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert all(b is not None for b in batches)
    for name in ("ref_session", "pos_session"):
        np.testing.assert_array_equal(getattr(batches[0], name), getattr(one, name))
        np.testing.assert_array_equal(getattr(batches[1], name), getattr(one, name))
    for name in ("ref", "pos", "neg"):
        merged = torch.maximum(getattr(batches[0], name), getattr(batches[1], name))  # -1 where not held
        np.testing.assert_array_equal(merged, getattr(one, name))


def test_label_shapes_are_checked_in_one_line():
    seg = np.zeros(50, np.int64)
    x = np.zeros((50, 2), np.float32)
    with pytest.raises(ValueError, match=r"labels of shape \(50, 2\) \(integer\); expected \(T,\) integers"):
        build_session_tensors(x, seg, 1, 1, 1, np.zeros((50, 2), np.int64), torch.device("cpu"))
    with pytest.raises(ValueError, match=r"50 samples but 49 labels"):
        build_session_tensors(x, seg, 1, 1, 1, np.zeros(49), torch.device("cpu"))
    one = build_session_tensors(x, seg, 1, 1, 1, np.zeros(50), torch.device("cpu"))
    two = build_session_tensors(x, seg, 1, 1, 1, np.zeros((50, 3)), torch.device("cpu"))
    with pytest.raises(ValueError, match=r"same number of dimensions \(got \['1', '3'\]\)"):
        ContinuousSampler([one, two], 1)
