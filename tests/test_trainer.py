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




# ------------------------------------------------------------------ negative blocks
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from neurocine.embed.trainer import contrastive_loss, negative_blocks  # noqa: E402


@settings(max_examples=60, deadline=None)
@given(S=st.integers(1, 300), block=st.integers(0, 40), step=st.integers(0, 10_000))
def test_negative_blocks_partition_the_sessions(S, block, step):
    blocks = negative_blocks(S, block, 0, step)
    if block == 0 or S <= block:
        assert blocks is None  # every session: fits of up to `block` sessions are unchanged
        return
    flat = sorted(s for b in blocks for s in b)
    assert flat == list(range(S))  # each session in exactly one block
    assert max(len(b) for b in blocks) <= block and max(map(len, blocks)) - min(map(len, blocks)) <= 1
    assert blocks == negative_blocks(S, block, 0, step)  # the same on every rank and on resume


def test_negative_blocks_change_between_steps():
    assert negative_blocks(64, 8, 0, 1) != negative_blocks(64, 8, 0, 2)


def test_blocked_in_batch_loss_uses_only_the_blocks_positives():
    """Each session's term equals InfoNCE against its block's positives, computed here by hand."""
    from cebra.models.criterions import FixedCosineInfoNCE

    torch.manual_seed(0)
    S, B, D = 6, 5, 4
    ref, pos = torch.randn(S * B, D), torch.randn(S * B, D)
    crit = FixedCosineInfoNCE(temperature=0.5)
    blocks = [[0, 3, 5], [1, 2, 4]]
    loss = contrastive_loss(crit, ref, pos, None, S, negatives="in_batch", blocks=blocks)[0]
    terms = []
    for s in range(S):
        block = next(b for b in blocks if s in b)
        neg = torch.cat([pos[j * B:(j + 1) * B] for j in block])
        terms.append(crit(ref[s * B:(s + 1) * B], pos[s * B:(s + 1) * B], neg)[0])
    assert torch.allclose(loss, torch.stack(terms).mean())
    everyone = contrastive_loss(crit, ref, pos, None, S, negatives="in_batch")[0]
    assert not torch.allclose(loss, everyone)


def test_fits_with_more_sessions_than_a_block_learn(sim_sessions):
    """Eight sessions in blocks of two: training runs and the loss falls."""
    from neurocine.data import normalized_splits

    parts = normalized_splits(list(sim_sessions) * 4, "train")[:8]
    m = CEBRA(max_iterations=40, batch_size=64, device="cpu", negative_block=2, early_stopping=False,
              checkpoint_every=0).fit(parts)
    h = [x["loss"] for x in m.state_.history]
    assert np.mean(h[-5:]) < np.mean(h[:5])
