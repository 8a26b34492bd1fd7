"""Distributed training: labels-only (sharded) loading, and ``torchrun`` with 2 CPU ranks
(gloo) against one process: the same loss trajectory and weights, results written by
rank 0 only, and a checkpoint written under torchrun resumed in one process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from neurocine import load_sessions
from neurocine.data import normalized_splits
from neurocine.embed import CEBRA
from neurocine.errors import ConfigError
from neurocine.session import is_placeholder

# Tolerance of the loss trajectory, 2 ranks vs 1 process: the ranks add the sessions'
# InfoNCE terms and the embeddings' gradients in another order, a float32 rounding
# difference (measured: <= 5e-7 on the loss over 30 steps); 1e-4 leaves room for
# rounding growing over steps, far below any real difference (a wrong batch or gradient
# changes the loss by > 1e-2 within a few steps).
LOSS_TOLERANCE = 1e-4


def test_load_sessions_reads_only_the_shard(sim_dir):
    sessions = load_sessions(sim_dir, with_traces=[1])
    assert [s.has_traces for s in sessions] == [False, True, False]
    full = load_sessions(sim_dir)
    for s, f in zip(sessions, full):
        assert s.traces.shape == f.traces.shape
        assert set(s.labels) == set(f.labels)
        for name in s.labels:
            np.testing.assert_array_equal(s.labels[name], f.labels[name])
        np.testing.assert_array_equal(s.train_mask, f.train_mask)
    assert is_placeholder(sessions[0].traces) and sessions[0].traces.strides == (0, 0)
    parts = normalized_splits(sessions, "train")
    ref = normalized_splits(full, "train")
    assert is_placeholder(parts[0].neural) and parts[0].shape == ref[0].shape  # no copy of zeros
    np.testing.assert_array_equal(parts[1].neural, ref[1].neural)
    np.testing.assert_array_equal(parts[0].segment, ref[0].segment)


def test_labels_only_sessions_need_a_distributed_run(sim_dir):
    parts = normalized_splits(load_sessions(sim_dir, with_traces=[0, 1]), "train")
    with pytest.raises(ConfigError, match=r"read without traces"):
        CEBRA(max_iterations=2, batch_size=64, device="cpu").fit(parts)
    with pytest.raises(ConfigError, match=r"needs an initialised torch.distributed"):
        CEBRA(max_iterations=2, batch_size=64, device="cpu").fit(parts, distributed=True)
    model = CEBRA(max_iterations=2, batch_size=64, device="cpu").fit(normalized_splits(load_sessions(sim_dir), "train"))
    with pytest.raises(ConfigError, match=r"session 2 was read without traces"):
        model.transform(parts[2], session_id=2)


def _config(tmp_path: Path, data_dir: Path, out: Path, steps: int, mode: str = "separate", **model) -> Path:
    cfg = {"dataset": {"data_dir": str(data_dir), "mode": mode},
           "model": {"batch_size": 64, "max_iterations": steps, "device": "cpu", **model},
           "training": {"validate_every": 10, "checkpoint_every": 10, "early_stopping": {"enabled": False}},
           "output_dir": str(out)}
    path = tmp_path / f"{out.name}.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def _train(config: Path, nproc: int, *extra: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    if nproc == 1:
        cmd = [sys.executable, "-m", "neurocine", "train", "--config", str(config), "--quiet", *extra]
    else:
        cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", str(nproc),
               "-m", "neurocine", "train", "--config", str(config), "--quiet", *extra]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    return proc


def _state(out: Path) -> dict:
    return torch.load(out / "model.pt", map_location="cpu", weights_only=False)


def _losses(blob: dict) -> np.ndarray:
    return np.array([h["loss"] for h in blob["state"]["history"]])


@pytest.fixture(scope="module")
def runs(sim_dir, tmp_path_factory):
    """The same 20-step config in 1 process and under torchrun with 2 gloo ranks."""
    root = tmp_path_factory.mktemp("dist")
    single, double = root / "single", root / "torchrun"
    _train(_config(root, sim_dir, single, 20), 1)
    proc = _train(_config(root, sim_dir, double, 20), 2)
    return root, single, double, proc


def test_torchrun_matches_one_process(runs):
    _, single, double, _ = runs
    a, b = _state(single), _state(double)
    la, lb = _losses(a), _losses(b)
    assert len(la) == len(lb) == 20
    assert la[0] - la[-1] > 0.1  # it learns, so a matching trajectory means something
    np.testing.assert_allclose(lb, la, rtol=0, atol=LOSS_TOLERANCE)
    va = [v["valid_loss"] for v in a["state"]["valid_history"]]
    vb = [v["valid_loss"] for v in b["state"]["valid_history"]]
    np.testing.assert_allclose(vb, va, rtol=0, atol=LOSS_TOLERANCE)
    for key in a["model"]:  # every session's encoder, gathered from the rank that trained it
        torch.testing.assert_close(b["model"][key], a["model"][key], rtol=0, atol=1e-4)


def test_only_rank_zero_writes_and_prints(runs):
    _, _, double, proc = runs
    assert proc.stdout.count("train: 3 sessions") == 1  # printed once, with the process count
    assert "2 processes" in proc.stdout
    metrics = json.loads((double / "metrics.json").read_text())
    assert metrics["training"]["processes"] == 2
    assert sorted(p.name for p in double.iterdir() if p.suffix in (".pt", ".h5", ".json", ".yaml")) == \
        ["checkpoint.pt", "checkpoint_label_free.pt", "config.yaml", "embeddings.h5", "embeddings_label_free.h5",
         "metrics.json", "model.pt", "model_label_free.pt"]
    import h5py

    with h5py.File(double / "embeddings.h5") as f:  # every session's embedding, gathered on rank 0
        assert len(f) == 3 and all(f[sid]["test"]["embedding"].shape[1] == 32 for sid in f)


def test_torchrun_checkpoint_resumes_in_one_process(runs, sim_dir):
    root, single, double, _ = runs
    ckpt = torch.load(double / "checkpoint.pt", map_location="cpu", weights_only=False)
    assert ckpt["world_size"] == 2 and ckpt["state"]["step"] == 20
    # the torchrun checkpoint holds every encoder's weights and Adam state
    assert len(ckpt["optimizer"]["state"]) == len(list(_state(single)["model"]))
    _train(_config(root, sim_dir, double, 30), 1, "--resume")
    resumed = _state(double)
    full = root / "single30"
    _train(_config(root, sim_dir, full, 30), 1)
    np.testing.assert_allclose(_losses(resumed), _losses(_state(full)), rtol=0, atol=LOSS_TOLERANCE)
    # and the reverse: a one-process checkpoint resumed under torchrun
    import shutil

    reverse = root / "reverse"
    shutil.copytree(single, reverse)
    _train(_config(root, sim_dir, reverse, 30), 2, "--resume")
    np.testing.assert_allclose(_losses(_state(reverse)), _losses(_state(full)), rtol=0, atol=LOSS_TOLERANCE)


def test_torchrun_matches_one_process_with_continuous_labels(sim_dir, tmp_path):
    """Behavior mode with hybrid: continuous-label positives (movie frames, time_delta:
    label changes drawn from every session, shared across ranks) plus a time-contrastive
    sampler."""
    single, double = tmp_path / "single", tmp_path / "torchrun"
    kw = dict(learning_mode="behavior", hybrid=True, behavior_label="natural_movie_one.frame")
    _train(_config(tmp_path, sim_dir, single, 10, **kw), 1)
    _train(_config(tmp_path, sim_dir, double, 10, **kw), 2)
    a, b = _state(single), _state(double)
    assert a["learning_mode"] == b["learning_mode"] == "hybrid"
    assert a["supervision"] == "natural_movie_one.frame"
    np.testing.assert_allclose(_losses(b), _losses(a), rtol=0, atol=LOSS_TOLERANCE)


def test_torchrun_matches_one_process_in_pad_mode(sim_dir, tmp_path):
    """One shared encoder (padded input on every rank): the batch rows are split by
    position and the encoder's gradients summed across ranks."""
    single, double = tmp_path / "single", tmp_path / "torchrun"
    _train(_config(tmp_path, sim_dir, single, 10, mode="pad"), 1)
    _train(_config(tmp_path, sim_dir, double, 10, mode="pad"), 2)
    a, b = _state(single), _state(double)
    assert len(a["num_neurons"]) == 1
    np.testing.assert_allclose(_losses(b), _losses(a), rtol=0, atol=LOSS_TOLERANCE)
    for key in a["model"]:
        torch.testing.assert_close(b["model"][key], a["model"][key], rtol=0, atol=1e-4)
