"""The training loop: exact resume from a checkpoint, and a killed ``neurocine train``
that resumes."""

from __future__ import annotations

import subprocess
import sys
import time

import numpy as np
import pytest
import torch
import yaml

from neurocine import load_dataset
from neurocine.embed import CEBRA

FAST = dict(batch_size=128, device="cpu", learning_rate=3e-3, validate_every=10, verbose=False)


@pytest.fixture(scope="module")
def splits(sim_dir):
    return {s: load_dataset({"data_dir": str(sim_dir)}, s) for s in ("train", "valid", "test")}


def test_resume_continues_exactly(splits, tmp_path):
    kw = dict(FAST, checkpoint_every=10, early_stopping=False)
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


