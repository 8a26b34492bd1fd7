"""The stage registry's shared behaviour and the held-out-frames protocol's inputs."""

from __future__ import annotations

import numpy as np

from neurocine import load_dataset
from neurocine.embed.sampling import valid_centers
from neurocine.stages import STAGES
from neurocine.evaluate.reconstruction import blend_weight, fold_block, holdout_splits

FRAME = "natural_movie_one.frame"


def test_the_job_order_and_keys():
    assert list(STAGES)[:2] == ["train", "decode-frames"]
    assert STAGES["reconstruct-novel"].key == "reconstruction.novel_frames"
    assert len({s.key for s in STAGES.values()}) == len(STAGES)


def test_fold_blocks_tile_the_movie():
    blocks = [fold_block(f, 6, 900) for f in range(6)]
    assert blocks[0] == (0, 150) and blocks[-1] == (750, 900)
    assert all(a[1] == b[0] for a, b in zip(blocks, blocks[1:]))


def test_holdout_removes_the_block_from_every_training_input_and_no_window_bridges_it(sim_dir):
    splits = {s: load_dataset({"data_dir": str(sim_dir)}, s) for s in ("train", "valid", "test")}
    held = holdout_splits(splits, FRAME, 300, 450)
    for split in ("train", "valid"):
        for before, after in zip(splits[split], held[split]):
            f = after.label(FRAME)
            assert not ((f >= 300) & (f < 450)).any()
            gone = (before.label(FRAME) >= 300) & (before.label(FRAME) < 450)
            assert len(after) == len(before) - gone.sum() > 0
            # a 10-sample encoder window around any kept sample never reaches a removed one
            ok = valid_centers(after.segment, 5, 5)
            centers = np.flatnonzero(ok)
            lo, hi = after.index[centers - 5], after.index[centers + 4]
            assert (hi - lo == 9).all()
    for before, after in zip(splits["test"], held["test"]):
        assert len(after) == len(before)  # the block is scored on the test repeat


def test_blend_weight_is_chosen_on_validation_images_and_zero_keeps_retrieval():
    rng = np.random.default_rng(0)
    target = rng.random((12, 1, 16, 16)).astype(np.float32)
    noise = rng.random((12, 1, 16, 16)).astype(np.float32)
    assert blend_weight(target, noise, target) == 0.0  # retrieval already right: keep it
    assert blend_weight(noise, target, target) == 1.0  # retrieval wrong, the smooth decoder right
    w = blend_weight(noise, 0.5 * target + 0.5 * rng.random(target.shape).astype(np.float32), target)
    assert 0.0 < w <= 1.0
    assert blend_weight(noise[:0], noise[:0], target[:0]) == 0.0  # no validation image: retrieval alone
