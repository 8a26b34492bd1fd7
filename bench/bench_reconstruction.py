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
alignment (both losses summed each step). ``--seed`` sets the training seed (embedding and
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

from _common import docs_section, gabor_energy

FRAME = "natural_movie_one.frame"
DEMO = Path(__file__).resolve().parents[1] / "src" / "neurocine" / "configs" / "demo.yaml"


def line(name: str, res: dict, method: str) -> str:
    e = res[method]
    valid = res.get("valid", {}).get(method, {}).get("ssim")
    v = f"{valid:.3f}" if valid is not None else "  -  "
    return (f"  {name:22s} valid {v}  test SSIM {e['ssim']:.3f} [{e['ssim_ci95'][0]:.3f}, {e['ssim_ci95'][1]:.3f}]"
            f"  pixel r {e['pixel_r']:.3f}")


def show(title: str, res: dict) -> None:
    from neurocine.evaluate.reconstruction import METHODS, MODELS

    b, best = res["strongest_baseline"], res["best_model"]
    print(f"{title}: {res['n_test_frames']} test frames; strongest baseline (valid): {b}; model chosen on valid: "
          f"{best}; blend weights {res.get('blend_weights')}")
    for m in METHODS:
        print(line(m, res, m))
    for m in MODELS:
        d = res["comparison"][f"{m} - {b}"]
        print(f"  {m} - {b}: {d['mean']:+.3f} [{d['ci95'][0]:+.3f}, {d['ci95'][1]:+.3f}]")
    pooled = res.get("pooled")
    if pooled and "skipped" not in pooled:
        pb = pooled["strongest_baseline"]
        print(f"  every animal at once ({pooled['n_sessions']} sessions, {pooled['n_test_frames']} test frames shown "
              f"to all): strongest baseline (valid) {pb}; blend weights {pooled['blend_weights']}")
        for m in METHODS:
            e = pooled[m]
            print(f"    {m:22s} each animal alone {pooled['alone'][m]:.3f}  all at once {e['ssim']:.3f} "
                  f"[{e['ssim_ci95'][0]:.3f}, {e['ssim_ci95'][1]:.3f}]")
        for m in MODELS:
            d = pooled["comparison"][f"{m} - {pb}"]
            print(f"    {m} - {pb} (all at once): {d['mean']:+.3f} [{d['ci95'][0]:+.3f}, {d['ci95'][1]:+.3f}]")
    for key in [k for k in res if k.startswith("cv")]:
        cv = res[key]
        model = "halfunet" if key == "cv" else key[3:]
        mg = cv["margin"]
        print(f"  {key}: {model} {cv[model]['mean']:.3f}, margin over each block's strongest baseline "
              f"{mg['mean']:+.3f} [{mg['ci95'][0]:+.3f}, {mg['ci95'][1]:+.3f}] over {len(cv['per_fold'])} blocks")
    sys.stdout.flush()


def frame_features(movie, seen, kind: str, dims: int):
    """``(K, dims)`` float64 features of every frame, fitted on the ``seen`` frames only:
    ``pca`` (pixel PCA scores: distances are pixel distances in the subspace) or ``gabor``
    (a fixed Gabor-energy bank, 4 orientations x 2 frequencies, averaged on a 4x8 grid, then
    PCA). Held-out frames get features too, but no training sample shows them."""
    import numpy as np
    from sklearn.decomposition import PCA

    if kind == "pca":
        flat = movie.reshape(len(movie), -1)
    elif kind == "gabor":
        flat = gabor_energy(movie, (0.1, 0.25), (4, 8))
    else:
        raise SystemExit(f"--features {kind!r}: expected 'pca' or 'gabor'")
    return PCA(dims, random_state=0).fit(flat[seen]).transform(flat).astype(np.float64)


def receptive_field_of(cfg) -> tuple[int, int]:
    """``(left, right)`` of the configured encoder, before any fit."""
    import cebra.models

    from neurocine.embed.models import receptive_field

    return receptive_field(cebra.models.init(cfg.model.model_architecture, num_neurons=1, num_units=4, num_output=2))


def aligned_with_features(feats, window: tuple[int, int]):
    """A learning mode for this bench: stimulus alignment (its sampler unchanged) plus a
    continuous sampler on the image features of the frame each sample shows, their losses
    summed as hybrid sums its samplers'. Registered as ``aligned_image_features``."""
    from neurocine.embed.modes import MODES
    from neurocine.embed.modes.stimulus_aligned import StimulusAligned
    from neurocine.embed.sampling import ContinuousSampler, build_session_tensors
    from neurocine.session import placeholder_traces

    class AlignedImageFeatures(StimulusAligned):
        name = "aligned_image_features"

        def __init__(self, settings=None):
            super().__init__(settings)
            self.pending = []  # feature tensors of the parts read since the last samplers() call

        def sampler_labels(self, part):
            import numpy as np

            f = np.asarray(part.table[FRAME])
            y = np.where((f >= 0)[:, None], feats[np.maximum(f, 0)], np.nan)
            # the same centres as the alignment tensors (same segments and window); no dF/F copy
            self.pending.append(build_session_tensors(placeholder_traces(len(y), 1), part.segment, *window,
                                                      self.settings.time_offsets, y, "cpu"))
            return super().sampler_labels(part)

        def samplers(self, tensors, seed, device, reduce=None):
            feature_t, self.pending = self.pending, []
            gen = self.generator(device, seed + 2)
            return super().samplers(tensors, seed, device, reduce) + [
                ContinuousSampler(feature_t, self.settings.time_offsets, gen, reduce,
                                  conditional=self.settings.conditional, delta=self.settings.delta)]

        def supervision(self, facts):
            return super().supervision(facts) + " + image features of the frame shown"

    if AlignedImageFeatures.name in MODES:
        del MODES[AlignedImageFeatures.name]
    MODES.register(AlignedImageFeatures.name, AlignedImageFeatures)
    return AlignedImageFeatures.name


def image_feature_block(splits: dict, movie, cfg, folds: int, clusters: int | None = None,
                        features: tuple[str, int] | None = None, with_alignment: bool = False) -> dict:
    """The first held-out block reconstructed from an embedding trained on image labels of
    the frame shown: a discrete cluster (``clusters``) or continuous ``(T, D)`` features,
    alone or added to stimulus alignment (``with_alignment``)."""
    import numpy as np
    from sklearn.cluster import KMeans
    from sklearn.decomposition import PCA

    import neurocine
    from neurocine.data import training_rows
    from neurocine.evaluate.reconstruction import fold_block, holdout_splits, reconstruction_protocol

    lo, hi = fold_block(0, folds, len(movie))
    held = holdout_splits(splits, FRAME, lo, hi)
    seen = np.setdiff1d(np.arange(len(movie)), np.arange(lo, hi))
    rows = {sp: training_rows(held[sp]) for sp in ("train", "valid")}
    model = neurocine.CEBRA.from_config(cfg).set_params(learning_mode="behavior")
    if features:
        feats = frame_features(movie, seen, *features)
        ys = {sp: [feats[p.label(FRAME)] for p in rows[sp]] for sp in rows}
        if with_alignment:  # the labels come from the mode's own sampler instead of y
            model.set_params(learning_mode=aligned_with_features(feats, receptive_field_of(cfg)))
            ys = {"train": None, "valid": None}
    else:
        flat = movie.reshape(len(movie), -1)
        pca = PCA(16, random_state=0).fit(flat[seen])
        kmeans = KMeans(clusters, n_init=4, random_state=0).fit(pca.transform(flat[seen]))
        cluster_of = kmeans.predict(pca.transform(flat))  # only training frames' clusters are used
        ys = {sp: [cluster_of[p.label(FRAME)].astype(np.int64) for p in rows[sp]] for sp in rows}
    model.fit(rows["train"], ys["train"], valid=rows["valid"], valid_y=ys["valid"])
    print(f"  embedding: {model.supervision_}, positives {model.positives_}")
    fit = {"splits": held, "emb": {p.session_id: {sp: model.transform(held[sp][i], session_id=i)
                                                   for sp in ("train", "valid")} for i, p in enumerate(held["train"])}}
    ev = {"splits": splits, "emb": {p.session_id: {sp: model.transform(splits[sp][i], session_id=i)
                                                    for sp in ("valid", "test")}
                                    for i, p in enumerate(splits["train"])}}
    res, *_ = reconstruction_protocol(fit, ev, movie, FRAME, cfg, eval_rows=lambda f: (f >= lo) & (f < hi),
                                      window=(model.model_.left, model.model_.right))
    return res


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
    from neurocine.evaluate.reconstruction import novel_frames_protocol, reconstruction_protocol
    from neurocine.io.simulate import simulate_dataset
    from neurocine.settings import Config

    data = Path(tempfile.mkdtemp()) / "demo"
    simulate_dataset(data, progress=False, seed=0)
    over = {"dataset.data_dir": str(data), "model.device": "cpu", "reconstruction.output_shape": list(args.size),
            "novel_frames.folds": args.folds, "novel_frames.run_folds": args.run_folds}
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
             image_feature_block(splits, movie, cfg, args.folds, args.image_clusters, feats, args.with_alignment))
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
