"""Frame identification: kNN, chance, the evaluation's structure."""

from __future__ import annotations

import numpy as np
import pytest

from neurocine.decoders.frame_id import chance_level, evaluate_frame_id, knn_predict_frames


def test_knn_frame_id_and_chance():
    rng = np.random.default_rng(0)
    frames = np.tile(np.arange(100), 3)
    feats = np.stack([np.cos(frames / 100 * 2 * np.pi), np.sin(frames / 100 * 2 * np.pi)], 1) + rng.normal(0, 0.01, (300, 2))
    pred = knn_predict_frames(feats[:200], frames[:200], feats[200:], n_neighbors=3)
    assert np.mean(np.abs(pred - frames[200:]) < 3) > 0.95
    ch = chance_level(np.arange(900), 900)
    assert ch["mean_abs_frame_error"] == pytest.approx((900 ** 2 - 1) / (3 * 900), rel=1e-6)
    assert ch["accuracy_1s"] == pytest.approx(np.mean(np.abs(np.arange(900)[:, None] - np.arange(900)[None]) < 30))


def test_evaluate_frame_id_structure():
    rng = np.random.default_rng(1)
    frames = np.tile(np.arange(900), 2)
    emb = np.stack([np.cos(frames / 900 * 6), np.sin(frames / 900 * 6), frames / 900.0], 1)
    neural = rng.normal(size=(1800, 10))
    d = {"s1": {"embedding": emb[:900], "neural": neural[:900], "frame": frames[:900]}}
    t = {"s1": {"embedding": emb[900:], "neural": neural[900:], "frame": frames[900:]}}
    res = evaluate_frame_id(d, t, embed_dim=3, n_frames=900)
    for m in ("cebra", "raw_knn", "pca_knn", "chance"):
        assert 0 <= res[m]["accuracy_1s"] <= 1
    assert res["cebra"]["accuracy_1s"] > 0.95 and res["raw_knn"]["accuracy_1s"] < 0.3
    assert set(res["per_session"]["s1"]) == {"cebra", "raw_knn", "pca_knn", "chance"}
