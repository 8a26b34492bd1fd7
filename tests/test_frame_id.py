"""Frame identification: kNN, chance, the evaluation's structure."""

from __future__ import annotations

import numpy as np
import pytest

from neurocine.decoders.frame_id import FrameTemplates, RidgeFrames, knn_predict_frames, window_features
from neurocine.evaluate.frame_id import chance_level, evaluate_frame_id


def test_knn_frame_id_and_chance():
    rng = np.random.default_rng(0)
    frames = np.tile(np.arange(100), 3)
    angle = frames / 100 * 2 * np.pi
    feats = np.stack([np.cos(angle), np.sin(angle)], 1) + rng.normal(0, 0.01, (300, 2))
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
                      "embeddings": {"perfect": np.eye(n_frames)[frames]
                                     + 0.01 * rng.normal(size=(len(frames), n_frames))}}
    return out


def test_evaluation_on_known_data_ranks_the_decoders_and_names_the_strongest_baseline():
    sessions = [_noisy_session("a", seed=1), _noisy_session("b", seed=2)]
    res = evaluate_frame_id(sessions, 60, tolerance=3, window=(5, 5), pca_dim=8,
                            models={"perfect": {"supervision": "x"}},
                            n_boot=200, block_samples=10)
    assert res.value("perfect") == 1.0 and res.test["perfect"]["supervision"] == "x"
    assert res.value("template") > 0.95               # averaging over repeats and 10 samples
    assert res.value("raw_window_knn") > res.value("raw_knn") + 0.3  # the window helps
    assert res.value("chance") == pytest.approx(chance_level(np.arange(60), 60, 3)["accuracy_1s"])
    assert res.strongest_baseline in ("template", "linear")
    for m in ("perfect", "raw_knn", "raw_window_knn", "pca_knn", "linear", "template", "chance"):
        lo, hi = res.score(m).ci95
        assert lo <= res.value(m) <= hi and res.value(m, "mean_abs_frame_error") is not None
        assert res.valid_score(m) is not None
    diff = res.margin("perfect")
    assert diff.value >= 0 and diff.ci95[0] <= diff.value <= diff.ci95[1]
    assert set(res.details["per_session"]) == {"a", "b"}
    assert type(res).from_json(res.to_json(), "accuracy_1s") == res  # what metrics.json holds reads back whole


def _poisson_session(sid, n_frames=60, seed=0, every=1):
    """Spike counts Poisson given the frame (sparse: ~0.2 spikes per sample), every
    ``every``-th frame shown (a movie binned coarsely)."""
    rng = np.random.default_rng(seed)
    rates = 0.2 * np.exp(np.random.default_rng(7).normal(size=(n_frames, 30)))
    out = {"session_id": sid}
    shown = np.arange(0, n_frames, every)
    for split, repeats in (("train", 6), ("valid", 1), ("test", 1)):
        frames = np.tile(shown, repeats)
        counts = rng.poisson(rates[frames]).astype(np.float32)
        out[split] = {"neural": (counts - 0.2) / 0.5, "counts": counts, "segment": np.repeat(np.arange(repeats),
                                                                                             len(shown)),
                      "index": np.arange(len(frames)), "frame": frames, "embeddings": {}}
    return out


def test_poisson_bayes_joins_the_baselines_on_counts_only():
    sessions = [_poisson_session("a", seed=1), _poisson_session("b", seed=2)]
    res = evaluate_frame_id(sessions, 60, tolerance=3, window=(3, 3), pca_dim=8, n_boot=100, block_samples=10)
    assert res.has("poisson_bayes") and "spike counts" in res.test["poisson_bayes"]["features"]
    assert res.value("poisson_bayes") > res.value("raw_knn")  # the right model of the counts
    for s in sessions:
        for sp in ("train", "valid", "test"):
            s[sp]["counts"] = None  # dF/F: no count decoder
    assert "poisson_bayes" not in evaluate_frame_id(sessions, 60, tolerance=3, window=(3, 3), pca_dim=8, n_boot=50,
                                                    block_samples=10).baselines


def test_smoothed_baselines_read_the_window_as_the_encoder_does():
    import torch

    from neurocine.decoders.frame_id import smooth_windows
    from neurocine.embed.models import MultiSessionEncoder
    from neurocine.evaluate.frame_id import SMOOTHED_BASELINES

    sessions = [_poisson_session("a", seed=1), _poisson_session("b", seed=2)]
    plain = evaluate_frame_id(sessions, 60, tolerance=3, window=(3, 3), pca_dim=8, n_boot=50, block_samples=10)
    assert not set(SMOOTHED_BASELINES) & set(plain.baselines)  # no smoothing: no smoothed baselines
    sessions[0]["smoothing"] = 2.0
    res = evaluate_frame_id(sessions, 60, tolerance=3, window=(3, 3), pca_dim=8, n_boot=50, block_samples=10)
    assert set(SMOOTHED_BASELINES) <= set(res.baselines) and "smoothed" in res.test["template_smoothed"]["features"]
    assert res.strongest_baseline == max(res.baselines, key=res.valid_score)
    # the numbers a smoothed baseline reads are the encoder's smoothed input, window by window
    encoder = MultiSessionEncoder("offset10-model", [7], 8, 4, smoothing=2.0).encoders[0]
    seen = []
    encoder.encoder.register_forward_pre_hook(lambda module, args: seen.append(args[0].clone()))
    x = np.random.default_rng(0).poisson(0.3, (40, 7)).astype(np.float32)
    flat = window_features(x, np.zeros(40, np.int64), 5, 5)  # (T, 10 * 7), time-major
    with torch.no_grad():
        encoder(torch.from_numpy(flat.reshape(40, 10, 7).transpose(0, 2, 1).copy()))
    ours = smooth_windows(flat, 10, 2.0).reshape(40, 10, 7).transpose(0, 2, 1)
    np.testing.assert_allclose(seen[0].numpy(), ours, atol=1e-5)


def test_exact_and_median_metrics_with_intervals():
    sessions = [_noisy_session("a", seed=1)]
    res = evaluate_frame_id(sessions, 60, tolerance=3, window=(5, 5), pca_dim=8,
                            models={"perfect": {"supervision": "x"}}, n_boot=200, block_samples=10)
    assert res.value("perfect", "accuracy_exact") == 1.0 and res.value("perfect", "median_abs_frame_error") == 0.0
    for m in ("raw_knn", "template"):
        assert res.value(m, "accuracy_exact") <= res.value(m)
        for metric in ("accuracy_exact", "median_abs_frame_error"):
            e = res.score(m, metric)
            assert e.ci95[0] <= e.value <= e.ci95[1]
    other = res.details["comparison_other_metrics"][f"perfect - {res.strongest_baseline}"]
    assert other["accuracy_exact"]["mean"] >= 0 and other["mean_abs_frame_error"]["mean"] <= 0


def test_chance_is_over_the_frames_a_decoder_can_output():
    """A movie imported at 1-s bins shows every 30th frame: a decoder guessing among those 30
    is right within 1 s about 1 time in 30, not 59 in 900."""
    sessions = [_poisson_session("a", n_frames=900, every=30)]
    res = evaluate_frame_id(sessions, 900, tolerance=30, window=(1, 1), pca_dim=4, n_boot=50, block_samples=5)
    assert res.value("chance") == pytest.approx(1 / 30)
    assert res.value("chance", "accuracy_exact") == pytest.approx(1 / 30) and "30 frames" in res.details["chance_over"]
    assert chance_level(np.arange(0, 900, 30), 900)["accuracy_1s"] > 0.06  # over all 900: what was reported
