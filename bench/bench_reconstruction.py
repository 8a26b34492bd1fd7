"""Reconstruction of seen and of novel frames on the demo (SIMULATED), every method beside
the strongest baseline chosen on valid, with intervals.

One embedding (the demo's settings) for the held-out repeat (seen frames,
:func:`neurocine.evaluate.reconstruction.reconstruction_protocol`), and one per held-out
block for frames never seen (:func:`neurocine.evaluate.reconstruction.novel_frames_protocol`,
``--run-folds`` of the ``--folds`` blocks, each with its own embedding). Methods: the
HalfUNet, retrieval corrected by the HalfUNet (blend weight on valid), ridge from the
embedding and from dF/F, retrieval, retrieval corrected by ridge from dF/F, the mean frame.
Seen and novel frames are also read from every animal at once (issue 23's second lever,
:func:`neurocine.evaluate.reconstruction.pooled_animals`) beside each animal alone.
``--loss`` sets the HalfUNet's loss (``l1_ssim_edges``: the third lever for novel frames),
``--size 64 128 --max-train N`` the fourth (bigger frames on a CPU subset).

``--image-clusters C`` measures an image-feature space instead (issue 23's first lever) on
the first held-out block: the embedding trained in ``behavior`` mode with a discrete label
per sample, the k-means cluster (C clusters) of the shown frame's pixel PCA (16
components), both fitted on the training frames only. ``--image-features D`` does the same
with continuous ``(T, D)`` labels, as CEBRA's DINO-feature experiment: the shown frame's
pixel PCA scores (``--features pca``) or a fixed Gabor-energy bank reduced by PCA
(``--features gabor``); ``--with-alignment`` adds that feature sampler to stimulus
alignment (both losses summed each step): the protocol is
:func:`neurocine.evaluate.image_features.image_feature_block`, the mode
:func:`neurocine.embed.modes.image_features.aligned_image_features`. ``--seed`` sets the training seed (embedding and
decoders), to see the spread between trainings on the same simulated data.

    python bench/bench_reconstruction.py [--size 32 64] [--epochs 1] [--folds 6] [--run-folds 5] [--seen-only]
                                         [--novel-only]
    python bench/bench_reconstruction.py --image-clusters 60
    python bench/bench_reconstruction.py --image-features 16 [--features gabor] [--with-alignment]
    python bench/bench_reconstruction.py --size 64 128 --seen-only --seed 1
    python bench/bench_reconstruction.py --novel-only --run-folds 1 --loss l1_ssim_edges
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from _common import docs_section

FRAME = "natural_movie_one.frame"
DEMO = Path(__file__).resolve().parents[1] / "src" / "neurocine" / "configs" / "demo.yaml"


def interval(x, signed: bool = False) -> str:
    fmt = "+.3f" if signed else ".3f"
    return f"{x.value:{fmt}} [{x.ci95[0]:{fmt}}, {x.ci95[1]:{fmt}}]"


def line(name: str, res, method: str) -> str:
    valid = res.valid_score(method)
    v = f"{valid:.3f}" if valid is not None else "  -  "
    return (f"  {name:22s} valid {v}  test SSIM {interval(res.score(method))}  "
            f"pixel r {res.value(method, 'pixel_r'):.3f}")


def show(title: str, res) -> None:
    from neurocine.evaluate.reconstruction import METHODS, MODELS

    d = res.details
    b, best = res.strongest_baseline, d["best_model"]
    print(f"{title}: {d['n_test_frames']} test frames; strongest baseline (valid): {b}; model chosen on valid: "
          f"{best}; blend weights {d.get('blend_weights')}")
    for m in METHODS:
        print(line(m, res, m))
    for m in MODELS:
        print(f"  {m} - {b}: {interval(res.margin(m), signed=True)}")
    pooled = d.get("pooled")
    if pooled is not None and not isinstance(pooled, dict):  # a dict: skipped
        pb = pooled.strongest_baseline
        print(f"  every animal at once ({pooled.details['n_sessions']} sessions, {pooled.details['n_test_frames']} "
              f"test frames shown to all): strongest baseline (valid) {pb}; blend weights "
              f"{pooled.details['blend_weights']}")
        for m in METHODS:
            print(f"    {m:22s} each animal alone {pooled.details['alone'][m]:.3f}  all at once "
                  f"{interval(pooled.score(m))}")
        for m in MODELS:
            print(f"    {m} - {pb} (all at once): {interval(pooled.margin(m), signed=True)}")
    for key in [k for k in d if k.startswith("cv")]:
        cv = d[key]
        model = "halfunet" if key == "cv" else key[3:]
        print(f"  {key}: {model} {cv.score(model).value:.3f}, margin over each block's strongest baseline "
              f"{interval(cv.margin(), signed=True)} over {len(cv.per_fold)} blocks")
    sys.stdout.flush()


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, nargs=2, default=[32, 64], help="output_shape H W")
    ap.add_argument("--epochs", type=int, default=None, help="HalfUNet epochs (default: the demo config's)")
    ap.add_argument("--steps", type=int, default=None, help="embedding steps (default: the demo config's)")
    ap.add_argument("--max-train", type=int, default=None, help="HalfUNet training frames (a subset; default all)")
    ap.add_argument("--loss", default=None, help="the HalfUNet's loss_fn (default: the demo config's)")
    ap.add_argument("--seed", type=int, default=None,
                    help="training.seed (embedding and HalfUNet; the simulated data stay seed 0)")
    ap.add_argument("--folds", type=int, default=6)
    ap.add_argument("--run-folds", type=int, default=5)
    ap.add_argument("--seen-only", action="store_true")
    ap.add_argument("--novel-only", action="store_true")
    ap.add_argument("--image-clusters", type=int, default=None, help="an image-feature space on the first block")
    ap.add_argument("--image-features", type=int, default=None,
                    help="continuous image features (this many dimensions) on the first block")
    ap.add_argument("--features", default="pca", help="pca or gabor (with --image-features)")
    ap.add_argument("--with-alignment", action="store_true",
                    help="with --image-features: add the features' sampler to stimulus alignment")
    args = ap.parse_args()
    if args.with_alignment and not args.image_features:
        ap.error("--with-alignment needs --image-features D")
    import neurocine
    from neurocine.data import normalized_splits, training_rows
    from neurocine.data.templates import load_template
    from neurocine.evaluate.image_features import image_feature_block
    from neurocine.evaluate.reconstruction import novel_frames_protocol, reconstruction_protocol
    from neurocine.io.simulate import simulate_dataset
    from neurocine.settings import Config

    data = Path(tempfile.mkdtemp()) / "demo"
    simulate_dataset(data, progress=False, seed=0)
    over = {"dataset.data_dir": str(data), "model.device": "cpu", "reconstruction.output_shape": list(args.size),
            "novel_frames.blocks": args.folds, "novel_frames.run_blocks": args.run_folds}
    if args.epochs:
        over["reconstruction.num_epochs"] = args.epochs
    if args.steps:
        over["model.max_iterations"] = args.steps
    if args.max_train:
        over["reconstruction.max_train_samples"] = args.max_train
    if args.loss:
        over["reconstruction.loss_fn"] = args.loss
    if args.seed is not None:
        over["training.seed"] = args.seed
    cfg = Config.load(DEMO).override(over)
    sessions = neurocine.load_sessions(data)
    splits = {sp: normalized_splits(sessions, sp) for sp in ("train", "valid", "test")}
    movie = load_template(data / "natural_movie_one.npy", tuple(args.size))
    print(f"demo sessions (SIMULATED, seed 0), {args.size[0]}x{args.size[1]} px, HalfUNet "
          f"{cfg.reconstruction.num_epochs} epoch(s), loss {cfg.reconstruction.loss_fn}, embeddings "
          f"{cfg.model.max_iterations} steps, training seed {cfg.training.seed}")
    if args.image_clusters or args.image_features:
        feats = (args.features, args.image_features) if args.image_features else None
        what = f"{args.features} features, {args.image_features} dims" if feats else f"{args.image_clusters} clusters"
        what += " + stimulus alignment" if args.with_alignment else ""
        show(f"novel frames, first block, image-feature space ({what})",
             image_feature_block(splits, movie, cfg, args.folds, label=FRAME, clusters=args.image_clusters,
                                 features=feats, with_alignment=args.with_alignment, say=print))
        return 0
    t0 = time.perf_counter()
    model = neurocine.CEBRA.from_config(cfg).fit(training_rows(splits["train"]), valid=training_rows(splits["valid"]))
    window = (model.model_.left, model.model_.right)
    if not args.novel_only:
        emb = {p.session_id: {sp: model.transform(splits[sp][i], session_id=i) for sp in ("train", "valid", "test")}
               for i, p in enumerate(splits["train"])}
        data_in = {"splits": splits, "emb": emb}
        res, *_ = reconstruction_protocol(data_in, data_in, movie, FRAME, cfg, window=window)
        show(f"seen frames (held-out repeat; {time.perf_counter() - t0:.0f} s)", res)
    if not args.seen_only:
        t0 = time.perf_counter()
        res, _ = novel_frames_protocol(splits, movie, FRAME, cfg, window=window)
        show(f"novel frames ({args.run_folds} of {args.folds} blocks, each with its own embedding; "
             f"{time.perf_counter() - t0:.0f} s)", res)
    return 0


if __name__ == "__main__":
    with docs_section("bench_reconstruction"):
        code = main()
    sys.exit(code)
