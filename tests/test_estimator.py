"""neurocine.CEBRA: every learning mode, parameters from the settings table, early
stopping, reproducibility, save/load (CUDA -> CPU), scikit-learn's estimator checks and
decoding quality."""

from __future__ import annotations

import inspect

from sklearn.utils.estimator_checks import parametrize_with_checks

import numpy as np
import pytest
import torch

import neurocine
from neurocine import ConfigError, load_dataset
from neurocine.settings import Config, estimator_params
from neurocine.data import pad_splits
from neurocine.embed import CEBRA
from neurocine.embed.models import SPIKE_SMOOTHING, smoothing_of

FAST = dict(batch_size=128, device="cpu", learning_rate=3e-3, validate_every=10, verbose=False)


@pytest.fixture(scope="module")
def splits(sim_dir):
    return {s: load_dataset({"data_dir": str(sim_dir)}, s) for s in ("train", "valid", "test")}


def _falls(model: CEBRA, n: int = 5) -> bool:
    loss = [h["loss"] for h in model.state_.history]
    return np.mean(loss[-n:]) < np.mean(loss[:n]) - 0.05


# ----------------------------------------------------------------------- parameters
def test_parameters_come_from_the_settings_table():
    names = list(inspect.signature(CEBRA).parameters)
    cfg = Config()
    params = estimator_params("cebra", cfg)
    assert names == list(params) + ["checkpoint_path", "verbose", "log_dir"]
    for key in ("delta", "hybrid", "criterion", "max_epochs", "behavior_label"):  # all reachable from YAML
        assert key in params
    assert CEBRA().get_params()["temperature"] == cfg.model.temperature == 0.2
    assert CEBRA().get_params()["patience"] == cfg.training.early_stopping.patience
    built = CEBRA.from_config(Config.from_dict({"model": {"delta": 2.5}, "training": {"seed": 7}}))
    assert built.delta == 2.5 and built.seed == 7
    assert "temperature: InfoNCE temperature" in CEBRA.__doc__


def test_max_epochs_bounds_the_steps():
    assert CEBRA(max_iterations=600, batch_size=512).max_steps(48960) == 600
    assert CEBRA(max_iterations=600, batch_size=512, max_epochs=2).max_steps(48960) == 190


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
    y = [p.label("natural_movie_one.frame").astype(float) for p in splits["train"]]
    one = CEBRA(max_iterations=40, **FAST).fit(splits["train"][0].neural, y[0])
    assert one.learning_mode_ == "behavior" and _falls(one)
    many = CEBRA(max_iterations=40, conditional="delta", delta=5.0, **FAST).fit([p.neural for p in splits["train"]], y)
    assert many.learning_mode_ == "behavior" and _falls(many)


def test_behavior_with_multidimensional_continuous_labels(splits):
    """``(T, D)`` float labels (features of the frame shown, NaN off the movie) train in
    behavior mode across sessions, every labelled reference finding a positive; integer
    labels with several columns are refused in one line."""
    rng = np.random.default_rng(0)
    features = np.cumsum(rng.normal(size=(900, 3)), axis=0) / 10  # smooth in frame number
    y = []
    for p in splits["train"]:
        f = p.label("natural_movie_one.frame")
        y.append(np.where((f >= 0)[:, None], features[np.clip(f, 0, 899)], np.nan))
    m = CEBRA(max_iterations=60, **FAST).fit([p.neural for p in splits["train"]], y)
    assert m.learning_mode_ == "behavior" and m.supervision_ == "user labels (fit y)" and _falls(m)
    assert m.positives_["fallback"] == 0 and m.positives_["labelled"] > 0
    with pytest.raises(ConfigError, match=r"session 0: labels of shape .* \(integer\); expected"):
        CEBRA(max_iterations=2, **FAST).fit(splits["train"][0].neural, np.zeros((len(y[0]), 3), np.int64))


def test_behavior_discrete_grating_orientation(splits):
    y = [np.nan_to_num(p.label("drifting_gratings.direction"), nan=-45).astype(np.int64) // 45 for p in splits["train"]]
    m = CEBRA(max_iterations=40, **FAST).fit([p.neural for p in splits["train"]], y)
    assert m.learning_mode_ == "behavior" and _falls(m)


def test_behavior_from_the_label_table_and_hybrid(splits):
    m = CEBRA(max_iterations=40, learning_mode="behavior", behavior_label="drifting_gratings.direction",
              **FAST).fit(splits["train"])
    assert m.learning_mode_ == "behavior" and m.supervision_ == "drifting_gratings.direction" and _falls(m)
    h = CEBRA(max_iterations=40, learning_mode="behavior", hybrid=True, **FAST).fit(splits["train"])
    assert h.learning_mode_ == "hybrid" and h.supervision_ == "natural_movie_one.frame" and _falls(h)


def test_hybrid_and_pad_mode(splits):
    m = CEBRA(max_iterations=40, learning_mode="hybrid", **FAST).fit(splits["train"])
    assert m.learning_mode_ == "hybrid" and _falls(m)
    assert m.supervision_ == "natural_movie_one frame, drifting_gratings condition"
    padded = pad_splits(splits["train"])
    p = CEBRA(max_iterations=40, **FAST).fit(padded)
    assert len(p.model_) == 1 and p.model_.num_neurons == [30] and _falls(p)


def test_small_batch_warns(splits):
    with pytest.warns(UserWarning, match="batch_size=4"):
        CEBRA(max_iterations=2, batch_size=4, device="cpu").fit(splits["train"][0])


def test_bad_parameters_are_named_at_fit(splits):
    for kw, message in ((dict(temperature=0),
                         r"temperature=0: expected a number > 0 \(config key 'model.temperature'\)"),
                        (dict(batch_size=0), r"batch_size=0: expected an integer >= 1"),
                        (dict(learning_mode="nope"), r"learning_mode='nope': expected one of auto"),
                        (dict(distance="manhattan"), r"distance='manhattan': 'manhattan' is not one of cosine")):
        with pytest.raises(ConfigError, match=message):
            CEBRA(**{**FAST, **kw}).fit(splits["train"][0])
    with pytest.raises(TypeError, match="unexpected keyword argument 'batchsize'"):
        CEBRA(batchsize=3)


def test_bad_inputs(splits):
    with pytest.raises(ConfigError, match="needs labels"):
        CEBRA(learning_mode="behavior", **FAST).fit(splits["train"][0].neural)
    with pytest.raises(ValueError, match="Expected 2D array, got 1D array"):
        CEBRA(**FAST).fit(np.zeros(100))
    with pytest.raises(ConfigError, match="100 samples but 99 labels"):
        CEBRA(**FAST).fit(np.zeros((100, 3)), np.zeros(99))
    with pytest.raises(ConfigError,
                       match=r"model_architecture='offset99-model': expected one of \d+ registered names, e.g. offset"):
        CEBRA(model_architecture="offset99-model", **FAST).fit(np.zeros((100, 3)))


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


# -------------------------------------------------------------------------- save/load
def test_save_load_round_trip(splits, tmp_path):
    m = CEBRA(max_iterations=5, **FAST).fit(splits["train"])
    path = m.save(tmp_path / "model.pt")
    back = CEBRA.load(path)
    for p in splits["test"]:
        np.testing.assert_array_equal(back.transform(p, session_id=p.session_id),
                                      m.transform(p, session_id=p.session_id))
    assert back.get_params() == m.get_params()


def test_smoothed_decayed_model_round_trips_and_decay_shrinks_the_weights(splits, tmp_path):
    plain = CEBRA(max_iterations=30, input_smoothing=1.5, **FAST).fit(splits["train"][0])
    decayed = CEBRA(max_iterations=30, input_smoothing=1.5, weight_decay=1.0, **FAST).fit(splits["train"][0])
    norm = [torch.cat([p.detach().flatten() for p in m.model_.parameters()]).norm() for m in (plain, decayed)]
    assert norm[1] < 0.97 * norm[0]  # the same steps and batches: only the decay differs
    back = CEBRA.load(decayed.save(tmp_path / "model.pt"))
    assert type(back.model_.encoders[0]).__name__ == "SmoothedInput" and back.model_.encoders[0].sigma == 1.5
    np.testing.assert_array_equal(back.transform(splits["test"][0]), decayed.transform(splits["test"][0]))


def test_default_smoothing_follows_each_sessions_signal(tmp_path):
    rng = np.random.default_rng(0)
    counts = rng.poisson(0.3, (400, 9)).astype(np.float32)  # non-negative integers: spike counts
    dff = rng.normal(0, 1, (400, 7)).astype(np.float32)
    m = CEBRA(max_iterations=3, learning_mode="time_contrastive", **FAST).fit([counts, dff])
    assert [smoothing_of(e) for e in m.model_.encoders] == [SPIKE_SMOOTHING, 0.0]  # dF/F: none
    assert m.get_params()["input_smoothing"] is None  # the setting stays "by signal"
    back = CEBRA.load(m.save(tmp_path / "model.pt"))
    assert [smoothing_of(e) for e in back.model_.encoders] == [SPIKE_SMOOTHING, 0.0]
    np.testing.assert_array_equal(back.transform(counts, session_id=0), m.transform(counts, session_id=0))
    off = CEBRA(max_iterations=3, learning_mode="time_contrastive", input_smoothing=0, **FAST).fit(counts)
    assert smoothing_of(off.model_.encoders[0]) == 0.0  # 0 turns it off for spikes too


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


def test_stimulus_aligned_embedding_identifies_frames_on_validation(demo_dir):
    """It learns: validation frame ID far above chance (no test-split win is asserted; the
    fair comparison with baselines is the decode-frames stage's job)."""
    from neurocine.evaluate.frame_id import evaluate_frame_id

    parts = {s: load_dataset({"data_dir": str(demo_dir)}, s) for s in ("train", "valid", "test")}
    m = CEBRA(max_iterations=200, batch_size=512, device="cpu", seed=0).fit(parts["train"], valid=parts["valid"])
    sessions = [{"session_id": p.session_id, **{sp: {
        "neural": parts[sp][i].neural, "segment": parts[sp][i].segment, "index": parts[sp][i].index,
        "frame": parts[sp][i].label("natural_movie_one.frame"),
        "embeddings": {"cebra": m.transform(parts[sp][i], session_id=i)}} for sp in ("train", "valid", "test")}}
        for i, p in enumerate(parts["train"])]
    res = evaluate_frame_id(sessions, 900, models={"cebra": {}}, baselines=False, n_boot=50)
    assert res.valid_score("cebra") > 5 * res.valid_score("chance")


@pytest.mark.slow
def test_torch_compile_path_trains(splits):
    m = CEBRA(max_iterations=20, compile=True, **FAST).fit(splits["train"])
    assert _falls(m)


@parametrize_with_checks([CEBRA(model_architecture="offset1-model", max_iterations=5, batch_size=16, device="cpu",
                                output_dimension=3, time_offsets=1)])
def test_sklearn_compatible(estimator, check):
    """scikit-learn's estimator checks, on a one-sample model (windowed models use
    neighbouring samples, so sample-order invariance holds only for offset1)."""
    check(estimator)
