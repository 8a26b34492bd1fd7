"""The stage registry's shared behaviour and the held-out-frames protocol's inputs."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neurocine import load_dataset
from neurocine.embed.sampling import valid_centers
from neurocine.errors import DataError
from neurocine.results import Results
from neurocine.stages import STAGES, Stage, job, job_order, run_stage, writers
from neurocine.evaluate.reconstruction import (BASELINES, MODELS, PAIRS, aligned_samples, blend_weight, fold_block,
                                               holdout_splits, reconstruction_protocol)

FRAME = "natural_movie_one.frame"


def test_the_job_order_and_keys():
    assert [s.name for s in job()] == ["train", "decode-frames", "seed-repeats", "decode-classes", "cross-validate",
                                       "reconstruct", "reconstruct-novel", "reconstruct-scenes"]
    assert STAGES["reconstruct-novel"].key == "reconstruction.novel_frames"
    assert len({s.key for s in STAGES.values()}) == len(STAGES)


@settings(max_examples=30, deadline=None)
@given(st.permutations(list(STAGES.values())))
def test_any_order_of_registration_gives_the_same_run(stages):
    """The order comes from what each stage reads and writes (then its position), never from
    the order the stages were registered in; every stage runs after the writers of what it
    reads."""
    order = job_order(stages)
    assert [s.name for s in order] == [s.name for s in job()]
    made_by = writers(stages)
    for i, stage in enumerate(order):
        for entry in tuple(stage.reads) + tuple(stage.reads_files):
            assert made_by[entry] in order[:i], (stage.name, entry)


def test_a_reader_runs_after_its_writer_whatever_its_position():
    class Early(Stage):
        name, key, position, reads = "early-reader", "early", -5, ("frame_id",)

    class Late(Stage):
        name, key, position, reads = "late-writer-free", "late", 1000, ("training",)

    names = [s.name for s in job_order([Early(), Late(), *STAGES.values()])]
    assert names.index("early-reader") > names.index("decode-frames") and names[-1] == "late-writer-free"
    assert names[0] == "train"

    class A(Stage):
        name, key, reads = "a", "a", ("b",)

    class B(Stage):
        name, key, reads = "b", "b", ("a",)

    with pytest.raises(ValueError, match="cycle"):
        job_order([A(), B()])


def test_a_stage_before_the_stages_it_reads_says_which_to_run(tiny_results, tmp_path):
    """cross-validate reads decode-frames' entry: run before it, it used to attach nothing
    silently; now it refuses, naming the stage to run first."""
    import shutil

    out = tmp_path / "r"
    shutil.copytree(tiny_results, out)
    results = Results(out)
    results.drop(["frame_id"])
    cfg = results.config().override({"evaluation.folds": 3})
    with pytest.raises(DataError, match="cross-validate reads metrics.json's 'frame_id', which decode-frames writes"):
        run_stage("cross-validate", out, cfg, force=True)


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


@given(st.lists(st.integers(0, 6), min_size=1, max_size=40), st.lists(st.lists(st.booleans(), min_size=40,
                                                                                max_size=40), min_size=2, max_size=4))
@settings(max_examples=60, deadline=None)
def test_aligned_samples_match_the_same_frame_at_the_same_occurrence(shown, keeps):
    """Sessions that each miss some samples of one stimulus sequence: the aligned positions
    are exactly the (frame, k-th showing) pairs every session has, in one order."""
    sessions = [np.array([f for f, keep in zip(shown, k) if keep], dtype=np.int64) for k in keeps]

    def pairs(frames):  # written independently of occurrence(): a running count per frame
        seen, out = {}, []
        for f in frames.tolist():
            out.append((f, seen.get(f, 0)))
            seen[f] = seen.get(f, 0) + 1
        return out

    common = set.intersection(*(set(pairs(f)) for f in sessions))
    pos = aligned_samples(sessions)
    assert all(len(p) == len(common) for p in pos)
    matched = [[pairs(f)[i] for i in p] for f, p in zip(sessions, pos)]
    assert all(m == matched[0] for m in matched) and set(matched[0]) == common


def test_every_animal_at_once_reads_a_shared_frame_better_than_each_alone(sim_dir):
    """Three simulated animals see the same test repeat: one vote per animal (retrieval)
    and the concatenated dF/F (ridge) beat each animal alone on the same samples, and the
    model's numbers come with the same keys as the per-animal ones."""
    from neurocine.data.templates import load_template
    from neurocine.settings import Config

    splits = {s: load_dataset({"data_dir": str(sim_dir)}, s) for s in ("train", "valid", "test")}
    rng = np.random.default_rng(0)
    phase = rng.uniform(0, 2 * np.pi, 8)

    def embedding(part):  # the frame's position on a circle, noisy: an embedding that reads the movie
        f = np.maximum(part.label(FRAME), 0)[:, None] * 2 * np.pi / 900
        e = np.hstack([np.sin(f * (1 + np.arange(4)) + phase[:4]), np.cos(f * (1 + np.arange(4)) + phase[4:])])
        e = e + rng.normal(0, 0.6, e.shape)
        return (e / np.linalg.norm(e, axis=1, keepdims=True)).astype(np.float32)

    emb = {p.session_id: {sp: embedding(splits[sp][i]) for sp in splits} for i, p in enumerate(splits["train"])}
    cfg = Config().override({"reconstruction.output_shape": [16, 32], "reconstruction.num_epochs": 1,
                             "reconstruction.max_train_samples": 300, "reconstruction.batch_size": 32,
                             "model.device": "cpu"})
    movie = load_template(sim_dir / "natural_movie_one.npy", (16, 32))
    data = {"splits": splits, "emb": emb}
    res, *_ = reconstruction_protocol(data, data, movie, FRAME, cfg)
    pooled = res.details["pooled"]
    alone = pooled.details["alone"]
    assert pooled.details["n_sessions"] == 3 and 0 < pooled.details["n_test_frames"] <= min(
        int((p.label(FRAME) >= 0).sum()) for p in splits["test"])
    assert pooled.value("retrieval") > alone["retrieval"] + 0.02
    assert pooled.value("ridge_dff") > alone["ridge_dff"] + 0.02
    assert pooled.strongest_baseline in BASELINES and pooled.details["best_model"] in MODELS
    for m, b in PAIRS:
        d = pooled.margin(m, b)
        assert d.ci95[0] <= d.value <= d.ci95[1]
        assert abs(d.value - (pooled.value(m) - pooled.value(b))) < 1e-6
    assert abs(alone["mean_frame"] - pooled.value("mean_frame")) < 1e-6  # the same samples  # the same samples
