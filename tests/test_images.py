"""Protocols that README quotes and that used to live only in bench/: image information and
identification on response arrays (evaluate.images), cebra.CEBRA's adapt=True and the
leave-one-animal-out curve (evaluate.cebra_adapt), the image-feature mode and block
(embed.modes.image_features, evaluate.image_features)."""

from __future__ import annotations

import numpy as np
import pytest

from neurocine.decoders.image_features import frame_features, gabor_energy
from neurocine.evaluate.images import identification_cv, image_information, median_rank_ci, scene_arrays_protocol
from neurocine.settings import Config



def _images(n=118, side=31, seed=0):
    """Smooth random images in [0, 1] (blurred noise: neighbouring pixels alike)."""
    from scipy.ndimage import gaussian_filter

    rng = np.random.default_rng(seed)
    ims = np.stack([gaussian_filter(rng.random((side, side)), 2.0) for _ in range(n)])
    ims = (ims - ims.min()) / (ims.max() - ims.min())
    return ims.reshape(n, -1)


def test_image_information_finds_images_in_responses_that_carry_them_and_none_in_noise():
    images = _images()
    rng = np.random.default_rng(1)
    weights = rng.normal(0, 1, (images.shape[1], 40))
    seen = images @ weights + rng.normal(0, 0.5, (len(images), 40))  # cells that see the pixels
    blind = rng.normal(0, 1, (len(images), 40))
    got = image_information(seen, images, n_perm=100)
    assert got["encoding_p"] <= 0.05 and got["rsa_p"] <= 0.05 and got["rsa_r"] > 0.2
    none = image_information(blind, images, n_perm=100)
    assert none["rsa_p"] > 0.05 and none["encoding_top10_cv_r"] < got["encoding_top10_cv_r"]


def test_identification_ranks_the_true_image_first_when_responses_are_the_pixels():
    images = _images(40, seed=2)
    ids = np.arange(40)
    got = identification_cv(images + np.random.default_rng(0).normal(0, 0.01, images.shape), ids, images)
    assert got["ridge_pixels_deviation"]["median_rank"] <= 2
    lo, hi = got["ridge_pixels_deviation"]["median_rank_ci95"]
    assert lo <= got["ridge_pixels_deviation"]["median_rank"] <= hi
    assert median_rank_ci(np.ones(10))[0] == 1.0


def test_scene_arrays_protocol_beats_the_mean_image_when_responses_carry_the_images():
    images = _images(60, side=16, seed=3)
    rng = np.random.default_rng(4)
    x = images @ rng.normal(0, 1, (images.shape[1], 30))
    cfg = Config().override({"reconstruction.num_epochs": 3, "reconstruction.batch_size": 16,
                             "model.device": "cpu"})
    res = scene_arrays_protocol(x[:48], images[:48], x[48:], images[48:], images, cfg, noises=(0.0,), side=16)
    assert res.model == "halfunet" and set(res.baselines) == {"ridge", "mean_image"}
    assert res.value("ridge") > res.value("mean_image")  # a linear read-out of linear responses
    assert res.test["ridge"]["median_rank_of_true_image"] <= 3
    assert res.has_margin("halfunet", "ridge") and res.details["chance_median_rank"] == 30.5
    assert {"encoding_p", "rsa_p"} <= set(res.details["image_information"])


def test_gabor_and_frame_features():
    movie = _images(20, side=16, seed=5).reshape(20, 16, 16)
    assert gabor_energy(movie, (0.1, 0.25), (4, 8)).shape == (20, 2 * 4 * 4 * 8)
    seen = np.arange(10)
    pca = frame_features(movie, seen, "pca", 4)
    assert pca.shape == (20, 4) and np.allclose(pca[seen].mean(0), 0, atol=1e-9)  # fitted on the seen frames
    assert frame_features(movie, seen, "gabor", 3).shape == (20, 3)
    with pytest.raises(ValueError, match="expected 'pca' or 'gabor'"):
        frame_features(movie, seen, "dino", 3)


def test_the_image_feature_mode_registers_and_trains(sim_dir):
    import neurocine
    from neurocine.data import normalized_splits, training_rows
    from neurocine.embed.modes import MODES
    from neurocine.embed.modes.image_features import NAME, aligned_image_features

    sessions = neurocine.load_sessions(sim_dir)[:1]
    splits = {sp: normalized_splits(sessions, sp) for sp in ("train", "valid")}
    feats = np.random.default_rng(0).normal(size=(900, 3))
    name = aligned_image_features(feats, (5, 5))
    assert name == NAME and NAME in MODES
    assert aligned_image_features(feats * 2, (5, 5)) == NAME  # re-registered for other features, not refused
    model = neurocine.CEBRA(learning_mode=NAME, max_iterations=4, batch_size=64, device="cpu")
    model.fit(training_rows(splits["train"]), valid=training_rows(splits["valid"]))
    assert model.supervision_.endswith("+ image features of the frame shown")
    del MODES[NAME]


@pytest.mark.slow
def test_cebra_adapt_and_the_leave_one_animal_out_curve(sim_dir):
    import neurocine
    from neurocine.evaluate.cebra_adapt import CEBRA_ADAPT, leave_one_animal_out

    sessions = neurocine.load_sessions(sim_dir)[:2]
    cfg = Config().override({"model.device": "cpu", "model.max_iterations": 20, "model.batch_size": 64,
                             "training.validate_every": 10})
    out = leave_one_animal_out(sessions, cfg, (1,))
    res = out["curve"][1]
    assert CEBRA_ADAPT in res.baselines and 0 <= res.value(CEBRA_ADAPT) <= 1
    assert len(out["base_seconds"]) == 2 and res.has_margin("adapted", "template_own")


def test_cebra_adapt_decodes_the_new_animal_with_the_trained_animals_decoders(sim_dir):
    import neurocine
    from neurocine.data import normalized_splits
    from neurocine.evaluate.cebra_adapt import cebra_adapt

    sessions = neurocine.load_sessions(sim_dir)[:2]
    ref = {sp: normalized_splits(sessions[:1], sp) for sp in ("train", "valid", "test")}
    new = {sp: normalized_splits(sessions[1:], sp)[0] for sp in ("train", "valid", "test")}
    cfg = Config().override({"model.device": "cpu", "model.batch_size": 64})
    got = cebra_adapt(cfg, ref, new, k=1, unit="repeats", steps=10, seed=0)
    n_test = int((new["test"].label("natural_movie_one.frame") >= 0).sum())
    assert got["correct"].shape == (n_test,) and set(np.unique(got["correct"])) <= {0.0, 1.0}
