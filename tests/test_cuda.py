"""Tests that need a CUDA GPU: marked ``cuda`` (deselected by the default run) and skipped
with their reason on a machine without one. ``bench/gpu_check.sh`` runs them when a device
is lent (``pytest -m cuda tests/test_cuda.py``)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import neurocine
from neurocine.data import SplitData
from neurocine.embed.trainer import negative_blocks

pytestmark = [pytest.mark.cuda,
              pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU (none on this machine)")]


def _parts(n_sessions=8, neurons=40, samples=1800, seed=0):
    rng = np.random.default_rng(seed)
    frames = np.tile(np.arange(900), 2)[:samples]
    tuning = rng.normal(size=(900, 6))
    out = []
    for i in range(n_sessions):
        x = (tuning[frames] @ rng.normal(size=(6, neurons)) + rng.normal(scale=0.5, size=(samples, neurons)))
        z = np.zeros(samples, dtype=np.int64)
        out.append(SplitData(str(i), x.astype(np.float32), np.linspace(0, 1, samples, dtype=np.float32),
                             np.arange(samples), z, {"natural_movie_one.frame": frames}, z + i, (neurons,)))
    return out


def test_grouped_encoders_match_the_loop_on_cuda():
    """The grouped convolution computes what the per-session loop does (fp32, first step)."""
    kw = dict(max_iterations=2, batch_size=128, device="cuda", mixed_precision=False, early_stopping=False,
              checkpoint_every=0, seed=0)
    a = neurocine.CEBRA(grouped_sessions="off", **kw).fit(_parts())
    b = neurocine.CEBRA(grouped_sessions="on", **kw).fit(_parts())
    assert a.state_.history[0]["loss"] == pytest.approx(b.state_.history[0]["loss"], rel=1e-4)


def test_blocked_negatives_train_on_cuda_with_bf16():
    """More sessions than a negative block: the blocked loss runs under bf16 and learns."""
    assert negative_blocks(8, 4, 0, 1) is not None
    m = neurocine.CEBRA(max_iterations=60, batch_size=256, device="cuda", mixed_precision=True, negative_block=4,
                        early_stopping=False, checkpoint_every=0).fit(_parts())
    h = m.state_.history
    assert np.isfinite(h[-1]["loss"]) and np.mean([x["loss"] for x in h[-5:]]) < np.mean([x["loss"] for x in h[:5]])


def test_a_cuda_model_loads_and_embeds_on_the_cpu(tmp_path):
    m = neurocine.CEBRA(max_iterations=20, batch_size=256, device="cuda", mixed_precision=False,
                        early_stopping=False, checkpoint_every=0).fit(_parts(2))
    m.save(tmp_path / "m.pt")
    cpu = neurocine.CEBRA.load(tmp_path / "m.pt", device="cpu")
    x = _parts(2)[1].neural[:500]
    assert np.allclose(m.transform(x, session_id=1), cpu.transform(x, session_id=1), atol=1e-4)
