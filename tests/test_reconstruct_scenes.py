"""Stage ``reconstruct-scenes``: natural-scene trials of an NWB file (written with raw h5py),
each trial's image decoded back and identified among all 118."""

from __future__ import annotations

import json

import h5py
import numpy as np
import pytest
import yaml

from conftest import TINY_CONFIG, add_natural_scenes, write_nwb_fixture
from neurocine.cli import main
from neurocine.evaluate.scenes import identification_ranks, nearest_trial

N_IMAGES = 118


def test_identification_ranks_count_better_matching_templates():
    rng = np.random.default_rng(0)
    templates = rng.random((5, 4, 4))
    truth = np.array([0, 3, 4])
    assert identification_ranks(templates[truth], templates, truth).tolist() == [1, 1, 1]
    # predicting template 2 for every trial: the truth ranks behind template 2 (and maybe more)
    ranks = identification_ranks(templates[[2, 2, 2]], templates, truth)
    assert (ranks >= 2).all() and (ranks <= 5).all()
    # a prediction anticorrelated with the truth ranks last
    assert identification_ranks(-templates[[1]], templates, np.array([1])).tolist() == [5]


def _scenes_that_drive_the_cells(f, first, stop):
    """Natural-scene trials whose dF/F is a fixed random projection of the image's pixels,
    so a correct trial -> image alignment makes the image decodable from dF/F."""
    add_natural_scenes(f, first, stop)
    images = f["stimulus/templates/natural_scenes_image_stack/data"][()].reshape(N_IMAGES, -1) / 255.0
    order = f["stimulus/presentation/natural_scenes_stimulus/data"][()].astype(int)
    spans = f["stimulus/presentation/natural_scenes_stimulus/frame_duration"][()].astype(int)
    dff = f["processing/brain_observatory_pipeline/DfOverF/imaging_plane_1/data"]
    rng = np.random.default_rng(7)
    weights = rng.normal(0, 1, (dff.shape[0], images.shape[1])) / np.sqrt(images.shape[1])
    block = dff[:, first:stop]
    for image, (a, b) in zip(order, spans):
        block[:, a - first:b - first] = (weights @ images[image])[:, None] + rng.normal(0, 0.05, (dff.shape[0], b - a))
    dff[:, first:stop] = block


@pytest.fixture(scope="module")
def scenes_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("scenes")
    (root / "data").mkdir()
    write_nwb_fixture(root / "data" / "501021421.nwb", N=60, tail=3 * N_IMAGES * 7 + 10,
                      extra=_scenes_that_drive_the_cells)
    cfg = {"dataset": {"data_dir": str(root / "data")}, **TINY_CONFIG,
           "training": {**TINY_CONFIG["training"], "label_free_model": False},
           "reconstruction": {**TINY_CONFIG["reconstruction"], "output_shape": [8, 16]},
           "output_dir": str(root / "out")}
    (root / "c.yaml").write_text(yaml.safe_dump(cfg))
    assert main(["train", "--config", str(root / "c.yaml"), "--quiet"]) == 0
    assert main(["reconstruct-scenes", str(root / "out"), "--quiet"]) == 0
    return root / "out"


def test_every_test_trial_is_scored_against_every_baseline(scenes_run):
    res = json.loads((scenes_run / "metrics.json").read_text())["scenes"]
    # 3 trials of each of 118 images, split 70/10/20 stratified by image
    assert 0.15 * 354 <= res["n_test_trials"] <= 0.25 * 354 and res["n_images"] == N_IMAGES
    for method in ("halfunet", "ridge_embedding", "ridge_dff", "retrieval_dff", "mean_image"):
        lo, hi = res[method]["ssim_ci95"]
        assert lo <= res[method]["ssim"] <= hi
        assert 1 <= res[method]["median_rank"] <= N_IMAGES
    assert set(res["comparison"]) == {f"halfunet - {m}" for m in ("ridge_embedding", "ridge_dff", "retrieval_dff",
                                                                      "mean_image")}
    assert "train split" in res["supervision"]


def test_trials_are_aligned_with_their_images(scenes_run):
    """dF/F is a projection of the image: ridge from dF/F identifies the true image far above
    chance (median rank 59.5), which fails if trials and image ids are misaligned."""
    res = json.loads((scenes_run / "metrics.json").read_text())["scenes"]
    assert res["ridge_dff"]["median_rank"] <= 10 and res["ridge_dff"]["top1"] > 0.2
    assert res["mean_image"]["top1"] < 0.05  # one image for every trial
    assert res["retrieval_dff"]["top1"] > 0.5  # the nearest train trial shows the same image


def test_nearest_trial_picks_the_best_correlated_train_response():
    train = np.array([[1.0, 0, 0], [0, 1, 0], [0, 0, 1]])
    assert nearest_trial(train, np.array([[0, 2.0, 0.1], [5, 0, 0]])).tolist() == [1, 0]


def test_the_report_has_a_scenes_section(scenes_run):
    assert main(["report", str(scenes_run), "--quiet"]) == 0
    text = (scenes_run / "report.html").read_text()
    assert "Natural scenes (" in text and "median rank of the true image" in text
    assert "Labels that trained the embedding: " in text and "embedding: unknown" not in text
    with h5py.File(next((scenes_run.parent / "data").glob("*.nwb")), "r") as f:
        assert f["stimulus/templates/natural_scenes_image_stack/data"].shape == (N_IMAGES, 8, 16)
