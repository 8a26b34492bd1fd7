"""Grouped encoders equal the per-session forward; the options of a training step."""

from __future__ import annotations

import numpy as np
import torch

import neurocine
from neurocine import load_dataset
from neurocine.data import training_rows
from neurocine.embed.grouped import grouped_forward, supports
from neurocine.embed.models import MultiSessionEncoder
from neurocine.embed.sampling import DiscreteSampler, build_session_tensors


def test_grouped_forward_equals_each_session_s_encoder():
    torch.manual_seed(0)
    model = MultiSessionEncoder("offset10-model", [15, 24, 9], 8, 6)
    assert supports(model) and not supports(MultiSessionEncoder("offset1-model", [5, 6], 8, 6))
    windows = [torch.randn(r, n, 10) for r, n in ((7, 15), (12, 24), (3, 9))]
    grouped = grouped_forward(model, windows)
    for s, w in enumerate(windows):
        torch.testing.assert_close(grouped[s], model.encoders[s](w), rtol=1e-5, atol=1e-6)


def test_training_with_grouped_encoders_follows_the_same_losses():
    rng = np.random.default_rng(0)
    X = [rng.normal(size=(600, n)).astype("float32") for n in (10, 14)]
    y = [np.tile(np.arange(60), 10).astype(float) for _ in X]
    runs = {g: neurocine.CEBRA(max_iterations=8, batch_size=64, device="cpu", grouped_sessions=g).fit(X, y)
            for g in ("off", "on")}
    np.testing.assert_allclose([h["loss"] for h in runs["on"].state_.history],
                               [h["loss"] for h in runs["off"].state_.history], atol=1e-5)


def test_any_session_positives_include_the_own_session(sim_dir):
    parts = load_dataset({"data_dir": str(sim_dir)}, "train")
    keys = [np.where(p.label("natural_movie_one.frame") >= 0, p.label("natural_movie_one.frame"), -1) for p in parts]
    tensors = [build_session_tensors(p.neural, p.segment, 5, 5, 10, k, torch.device("cpu"))
               for p, k in zip(parts, keys)]
    other = DiscreteSampler(tensors, 10, torch.Generator().manual_seed(0)).sample(512)
    any_ = DiscreteSampler(tensors, 10, torch.Generator().manual_seed(0), any_session=True).sample(512)
    found = lambda b: b.pos != b.ref + 10  # noqa: E731 - label positives, not time fallbacks
    assert ((other.pos_session == other.ref_session) & found(other)).sum() == 0
    same = ((any_.pos_session == any_.ref_session) & found(any_)).float().mean()
    assert 0.2 < float(same) < 0.45  # about one in three sessions


def test_in_batch_negatives_learn_without_encoding_negatives(sim_dir):
    parts = load_dataset({"data_dir": str(sim_dir)}, "train")
    m = neurocine.CEBRA(max_iterations=30, batch_size=128, device="cpu", negatives="in_batch",
                        learning_rate=3e-3).fit(parts)
    loss = [h["loss"] for h in m.state_.history]
    assert np.mean(loss[-5:]) < np.mean(loss[:5]) - 0.05


def test_training_rows_keep_the_movie_of_sessions_that_show_one(sim_dir):
    parts = load_dataset({"data_dir": str(sim_dir)}, "train")
    movie = training_rows(parts, "movie")
    for before, after in zip(parts, movie):
        assert (after.label("natural_movie_one.frame") >= 0).all()
        assert len(after) == int((before.label("natural_movie_one.frame") >= 0).sum())
    assert training_rows(parts, "all") is parts
