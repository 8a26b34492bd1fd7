"""Frame identification: kNN, chance, the evaluation's structure."""

from __future__ import annotations

import numpy as np
import pytest

from neurocine.decoders.frame_id import FrameTemplates, RidgeFrames, knn_predict_frames, window_features
from neurocine.evaluate.frame_id import chance_level, evaluate_frame_id


def test_knn_frame_id_and_chance():
    rng = np.random.default_rng(0)
    frames = np.tile(np.arange(100), 3)
    feats = np.stack([np.cos(frames / 100 * 2 * np.pi), np.sin(frames / 100 * 2 * np.pi)], 1) + rng.normal(0, 0.01, (300, 2))
    pred = knn_predict_frames(feats[:200], frames[:200], feats[200:], n_neighbors=3)
    assert np.mean(np.abs(pred - frames[200:]) < 3) > 0.95
    ch = chance_level(np.arange(900), 900)
    assert ch["mean_abs_frame_error"] == pytest.approx((900 ** 2 - 1) / (3 * 900), rel=1e-6)
    assert ch["accuracy_1s"] == pytest.approx(np.mean(np.abs(np.arange(900)[:, None] - np.arange(900)[None]) < 30))


# ------------------------------------------------------------------ fair baselines
def test_window_features_stay_inside_segments():
    x = np.arange(8, dtype=np.float32)[:, None]
    seg = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    w = window_features(x, seg, 2, 2)  # window [c - 2, c + 2)
    assert w.shape == (8, 4)
    assert w[1].tolist() == [0, 0, 1, 2]      # clamped at the segment start
    assert w[3].tolist() == [1, 2, 3, 3]      # and at its end: sample 4 belongs to another segment
    assert w[4].tolist() == [4, 4, 4, 5]


def test_template_and_ridge_recover_noise_free_frames():
    rng = np.random.default_rng(0)
    code = rng.normal(size=(40, 60))
    frames = np.tile(np.arange(40), 3)
    assert (FrameTemplates(code[frames], frames).predict(code) == np.arange(40)).all()
    ridge = RidgeFrames(code[frames], frames).select(code, np.arange(40), tolerance=1)
    assert (ridge.predict(code) == np.arange(40)).all() and ridge.alpha == min(ridge.alphas)


def _noisy_session(sid, n_frames=60, noise=2.0, seed=0):
    """dF/F = a fixed code per frame + strong noise: one sample is unreliable, the
    10-sample window and the template (averaging over repeats) are not."""
    rng = np.random.default_rng(seed)
    code = np.random.default_rng(99).normal(size=(n_frames, 20))
    out = {"session_id": sid}
    for split, repeats in (("train", 6), ("valid", 1), ("test", 1)):
        frames = np.tile(np.arange(n_frames), repeats)
        neural = code[frames] + noise * rng.normal(size=(len(frames), 20))
        out[split] = {"neural": neural.astype(np.float32), "segment": np.repeat(np.arange(repeats), n_frames),
                      "index": np.arange(len(frames)), "frame": frames,
                      "embeddings": {"perfect": np.eye(n_frames)[frames] + 0.01 * rng.normal(size=(len(frames), n_frames))}}
    return out


def test_evaluation_on_known_data_ranks_the_decoders_and_names_the_strongest_baseline():
    sessions = [_noisy_session("a", seed=1), _noisy_session("b", seed=2)]
    res = evaluate_frame_id(sessions, 60, tolerance=3, window=(5, 5), pca_dim=8, models={"perfect": {"supervision": "x"}},
                            n_boot=200, block_samples=10)
    assert res["perfect"]["accuracy_1s"] == 1.0 and res["perfect"]["supervision"] == "x"
    assert res["template"]["accuracy_1s"] > 0.95               # averaging over repeats and 10 samples
    assert res["raw_window_knn"]["accuracy_1s"] > res["raw_knn"]["accuracy_1s"] + 0.3  # the window helps
    assert res["chance"]["accuracy_1s"] == pytest.approx(chance_level(np.arange(60), 60, 3)["accuracy_1s"])
    assert res["strongest_baseline"] in ("template", "linear")
    for m in ("perfect", "raw_knn", "raw_window_knn", "pca_knn", "linear", "template", "chance"):
        lo, hi = res[m]["accuracy_1s_ci95"]
        assert lo <= res[m]["accuracy_1s"] <= hi and "mean_abs_frame_error" in res[m]
        assert m in res["valid"]
    diff = res["comparison"][f"perfect - {res['strongest_baseline']}"]
    assert diff["mean"] >= 0 and diff["ci95"][0] <= diff["mean"] <= diff["ci95"][1]
    assert set(res["per_session"]) == {"a", "b"}
