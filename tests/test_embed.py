"""CEBRA estimator: every learning mode, sampling without window leaks, early stopping,
checkpoints and resume, save/load (CUDA -> CPU), reproducibility, and decoding quality."""

from __future__ import annotations

import subprocess
import sys
import time

import numpy as np
import pytest
import torch
import yaml

import neurocine
from neurocine import ConfigError, load_dataset
from neurocine.data import pad_splits
from neurocine.embed import CEBRA
from neurocine.embed.sampling import ContrastiveSampler, build_session_tensors, stimulus_keys, valid_centers

FAST = dict(batch_size=128, device="cpu", learning_rate=3e-3, validate_every=10, verbose=False)


@pytest.fixture(scope="module")
def splits(sim_dir):
    return {s: load_dataset({"data_dir": str(sim_dir)}, s) for s in ("train", "valid", "test")}


def _falls(model: CEBRA, n: int = 5) -> bool:
    loss = [h["loss"] for h in model.state_.history]
    return np.mean(loss[-n:]) < np.mean(loss[:n]) - 0.05


# ---------------------------------------------------------------------------- modes
def test_single_session_time_contrastive(splits):
    m = CEBRA(max_iterations=40, learning_mode="time_contrastive", **FAST).fit(splits["train"][0])
    assert m.learning_mode_ == "time_contrastive" and _falls(m)
    emb = m.transform(splits["test"][0])
    assert emb.shape == (len(splits["test"][0]), 32)
    np.testing.assert_allclose(np.linalg.norm(emb, axis=1), 1, atol=1e-4)  # cosine: on the sphere


def test_multi_session_stimulus_aligned_is_default_for_sessions(splits):
    m = CEBRA(max_iterations=40, **FAST).fit(splits["train"], valid=splits["valid"])
    assert m.learning_mode_ == "stimulus_aligned" and _falls(m)
    assert len(m.model_) == 3 and m.state_.valid_history
    for i, p in enumerate(splits["test"]):
        assert m.transform(p, session_id=p.session_id).shape == (len(p), 32)


def test_multi_session_without_labels_warns_and_trains_unaligned(splits):
    arrays = [p.neural for p in splits["train"]]
    with pytest.warns(RuntimeWarning, match="NOT aligned"):
        m = CEBRA(max_iterations=30, **FAST).fit(arrays)
    assert m.learning_mode_ == "time_contrastive" and _falls(m)


def test_behavior_continuous_single_and_multi(splits):
    y = [p.movie_frame.astype(float) for p in splits["train"]]
    one = CEBRA(max_iterations=40, **FAST).fit(splits["train"][0].neural, y[0])
    assert one.learning_mode_ == "behavior" and _falls(one)
    many = CEBRA(max_iterations=40, conditional="delta", delta=5.0, **FAST).fit([p.neural for p in splits["train"]], y)
    assert many.learning_mode_ == "behavior" and _falls(many)


def test_behavior_discrete_grating_orientation(splits):
    y = [np.nan_to_num(p.grating_orientation, nan=-45).astype(np.int64) // 45 for p in splits["train"]]
    m = CEBRA(max_iterations=40, **FAST).fit([p.neural for p in splits["train"]], y)
    assert m.learning_mode_ == "behavior" and _falls(m)


def test_hybrid_and_pad_mode(splits):
    m = CEBRA(max_iterations=40, learning_mode="hybrid", **FAST).fit(splits["train"])
    assert m.learning_mode_ == "stimulus_aligned" and _falls(m)
    padded = pad_splits(splits["train"])
    p = CEBRA(max_iterations=40, **FAST).fit(padded)
    assert len(p.model_) == 1 and p.model_.num_neurons == [30] and _falls(p)


def test_small_batch_warns(splits):
    with pytest.warns(UserWarning, match="batch_size=4"):
        CEBRA(max_iterations=2, batch_size=4, device="cpu").fit(splits["train"][0])


def test_bad_inputs(splits):
    with pytest.raises(ConfigError, match="needs labels"):
        CEBRA(learning_mode="behavior", **FAST).fit(splits["train"][0].neural)
    with pytest.raises(ConfigError, match="expected .T, N."):
        CEBRA(**FAST).fit(np.zeros(100))
    with pytest.raises(ConfigError, match="100 samples but 99 labels"):
        CEBRA(**FAST).fit(np.zeros((100, 3)), np.zeros(99))
    with pytest.raises(ConfigError, match="unknown model 'offset99-model'"):
        CEBRA(model_architecture="offset99-model", **FAST).fit(np.zeros((100, 3)))


# -------------------------------------------------------------------------- sampling
def test_no_window_crosses_a_segment_or_split_boundary():
    """CEBRA issue #259: windows of a convolutional model must stay in one contiguous run."""
    rng = np.random.default_rng(0)
    lengths = rng.integers(12, 40, size=30)
    segment = np.repeat(np.arange(30), lengths)
    T = len(segment)
    neural = rng.normal(size=(T, 4)).astype(np.float32)
    labels = rng.integers(0, 5, T)
    left, right = 5, 5
    for mode in ("time", "discrete"):
        t = build_session_tensors(neural, segment, left, right, 10, labels if mode == "discrete" else None,
                                  torch.device("cpu"))
        sampler = ContrastiveSampler([t, t], mode, time_offset=10, generator=torch.Generator().manual_seed(1))
        for _ in range(50):
            b = sampler.sample(256)
            for idx in (b.ref, b.pos, b.neg):
                idx = idx.numpy()
                assert (idx - left >= 0).all() and (idx + right - 1 < T).all()
                assert (segment[idx - left] == segment[idx]).all()
                assert (segment[idx + right - 1] == segment[idx]).all()
    ok = valid_centers(segment, left, right)
    assert ok.sum() == sum(max(0, n - left - right + 1) for n in lengths)


def test_split_data_segments_stop_at_split_boundaries(sim_sessions):
    s = sim_sessions[0]
    (train,) = load_dataset({"data_dir": str(s.path.parent), "max_sessions": 1}, "train")
    # consecutive rows of the same segment are adjacent samples of the recording
    same = train.segment[1:] == train.segment[:-1]
    assert (np.diff(train.index)[same] == 1).all()
    # and a segment never contains a sample of another split
    assert s.train_mask[train.index].all()


def test_stimulus_aligned_positives_show_the_same_stimulus(splits):
    parts = splits["train"]
    keys = [stimulus_keys(p.movie_frame, p.grating_orientation, p.grating_temporal_frequency, p.segment) for p in parts]
    tensors = [build_session_tensors(p.neural, p.segment, 5, 5, 10, k, torch.device("cpu")) for p, k in zip(parts, keys)]
    sampler = ContrastiveSampler(tensors, "discrete", generator=torch.Generator().manual_seed(0))
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
    movie = aligned & (k_ref < 100_000)
    f_ref = np.array([parts[s].movie_frame[i] for s, i in zip(rs[movie], r[movie])])
    f_pos = np.array([parts[s].movie_frame[i] for s, i in zip(ps[movie], p[movie])])
    np.testing.assert_array_equal(f_ref, f_pos)


# ------------------------------------------------------------ early stop, checkpoints
def test_early_stopping_stops_and_keeps_best(splits):
    m = CEBRA(max_iterations=500, patience=2, min_delta=1e9, **FAST).fit(splits["train"][0], valid=splits["valid"][0])
    assert m.state_.stopped_early
    assert m.state_.step == 30 and m.state_.best_step == 10


def test_seeded_cpu_run_is_reproducible(splits):
    a = CEBRA(max_iterations=15, **FAST).fit(splits["train"][0])
    b = CEBRA(max_iterations=15, **FAST).fit(splits["train"][0])
    np.testing.assert_array_equal(a.transform(splits["test"][0]), b.transform(splits["test"][0]))
    c = CEBRA(max_iterations=15, seed=1, **FAST).fit(splits["train"][0])
    assert not np.array_equal(a.transform(splits["test"][0]), c.transform(splits["test"][0]))


def test_resume_continues_exactly(splits, tmp_path):
    kw = dict(FAST, checkpoint_every=10, patience=None)
    full = CEBRA(max_iterations=30, **kw).fit(splits["train"])
    ckpt = tmp_path / "ckpt.pt"
    CEBRA(max_iterations=20, checkpoint_path=str(ckpt), **kw).fit(splits["train"])
    resumed = CEBRA(max_iterations=30, checkpoint_path=str(ckpt), **kw).fit(splits["train"], resume=True)
    assert resumed.state_.step == 30
    np.testing.assert_allclose([h["loss"] for h in resumed.state_.history],
                               [h["loss"] for h in full.state_.history], rtol=1e-5)


def test_killed_training_resumes_from_checkpoint(sim_dir, tmp_path):
    cfg = {"dataset": {"data_dir": str(sim_dir)},
           "model": {"batch_size": 64, "max_iterations": 400, "device": "cpu"},
           "training": {"checkpoint_every": 5, "validate_every": 50, "early_stopping": {"enabled": False}},
           "output_dir": str(tmp_path / "res")}
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(cfg))
    ckpt = tmp_path / "res" / "checkpoint.pt"
    cmd = [sys.executable, "-m", "neurocine", "train", "--config", str(tmp_path / "c.yaml"), "--quiet"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while not ckpt.exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.2)
    time.sleep(0.5)
    proc.kill()
    proc.wait()
    assert ckpt.exists(), "no checkpoint was written before the kill"
    step_at_kill = torch.load(ckpt, weights_only=False)["state"]["step"]
    assert 0 < step_at_kill < 400
    assert not (tmp_path / "res" / "model.pt").exists()
    out = subprocess.run(cmd + ["--resume", "--max_iterations", str(step_at_kill + 10)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    m = CEBRA.load(tmp_path / "res" / "model.pt")
    assert m.state_.history[0]["step"] == 1 and m.state_.step == step_at_kill + 10


# -------------------------------------------------------------------------- save/load
def test_save_load_round_trip(splits, tmp_path):
    m = CEBRA(max_iterations=5, **FAST).fit(splits["train"])
    path = m.save(tmp_path / "model.pt")
    back = CEBRA.load(path)
    for p in splits["test"]:
        np.testing.assert_array_equal(back.transform(p, session_id=p.session_id), m.transform(p, session_id=p.session_id))
    assert back.get_params() == m.get_params()


def test_cuda_trained_model_loads_on_cpu(splits, tmp_path, monkeypatch):
    """A file whose tensors are tagged 'cuda:0' (as torch.save writes them from a GPU)
    must load on a machine without CUDA (CEBRA issue #295)."""
    import torch.serialization as ser

    m = CEBRA(max_iterations=3, **FAST).fit(splits["train"][0])
    with monkeypatch.context() as mp:
        mp.setattr(ser, "location_tag", lambda storage: "cuda:0")
        m.save(tmp_path / "gpu.pt")
    if not torch.cuda.is_available():
        with pytest.raises(RuntimeError, match="CUDA"):
            torch.load(tmp_path / "gpu.pt", weights_only=False)  # what a naive load does
    back = CEBRA.load(tmp_path / "gpu.pt")
    np.testing.assert_array_equal(back.transform(splits["test"][0]), m.transform(splits["test"][0]))


def test_load_errors(tmp_path):
    with pytest.raises(neurocine.NeurocineError, match="model file not found"):
        CEBRA.load(tmp_path / "none.pt")
    (tmp_path / "junk.pt").write_bytes(b"junk")
    with pytest.raises(neurocine.NeurocineError, match="not a readable model file"):
        CEBRA.load(tmp_path / "junk.pt")


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_training_bf16(splits):
    m = CEBRA(max_iterations=20, batch_size=256, device="cuda", mixed_precision=True).fit(splits["train"])
    assert m.device_.type == "cuda" and _falls(m)


# -------------------------------------------------------------------------- quality
@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("demo")
    neurocine.simulate_dataset(d, progress=False)
    return d


def test_stimulus_aligned_beats_raw_knn_on_demo_test_data(demo_dir):
    from neurocine.decoders.frame_id import evaluate_frame_id

    parts = {s: load_dataset({"data_dir": str(demo_dir)}, s) for s in ("train", "valid", "test")}
    m = CEBRA(max_iterations=300, batch_size=512, device="cpu", seed=0).fit(parts["train"], valid=parts["valid"])

    def pack(split):
        return {p.session_id: {"embedding": m.transform(p, session_id=p.session_id), "neural": p.neural,
                               "frame": p.movie_frame} for p in parts[split]}

    res = evaluate_frame_id(pack("train"), pack("test"), 32)
    assert res["cebra"]["accuracy_1s"] > res["raw_knn"]["accuracy_1s"] + 0.02, res
    assert res["raw_knn"]["accuracy_1s"] > 5 * res["chance"]["accuracy_1s"]


@pytest.mark.slow
def test_torch_compile_path_trains(splits):
    m = CEBRA(max_iterations=20, compile=True, **FAST).fit(splits["train"])
    assert _falls(m)
