"""Stage ``reconstruct-novel``: reconstruction of movie frames the model never saw.

The movie is cut into ``novel_frames.folds`` contiguous blocks. For each fold run, the
block's frames are removed from every train and valid repeat; a CEBRA model with the
run's settings is trained on what is left (so neither the embedding nor any decoder has
seen those images or the responses to them), and the block is reconstructed from the
test repeat (scored) and the valid repeat (used only to name the strongest baseline).
Every movie the sessions show is done alike; metrics go to
``metrics.json["reconstruction"]["novel_frames"][<movie>]`` (the first movie's entry also
at the top level of ``novel_frames``, as in earlier versions).
"""

from __future__ import annotations

import numpy as np

import html

from neurocine.stages import Stage, StageContext, movie_file, movie_labels, per_movie, register_stage, skipped
from neurocine.stages.reconstruct import (BASELINES, METHODS, _figure, movie_summary, movie_template,
                                          reconstruction_protocol, report_table)
from neurocine.stimuli import movie_of


def fold_block(fold: int, folds: int, n_frames: int) -> tuple[int, int]:
    """Frames ``[lo, hi)`` of fold ``fold`` when ``n_frames`` are cut into ``folds`` blocks."""
    edges = np.linspace(0, n_frames, folds + 1).round().astype(int)
    return int(edges[fold]), int(edges[fold + 1])


def holdout_splits(splits: dict, label: str, lo: int, hi: int) -> dict:
    """Train and valid splits without the samples showing frames ``[lo, hi)`` (segments are
    recomputed, so no encoder window bridges a removed stretch); test unchanged."""
    from neurocine.data import keep_rows

    def outside(part):
        f = part.label(label)
        return keep_rows(part, ~((f >= lo) & (f < hi)))

    return {"train": [outside(p) for p in splits["train"]], "valid": [outside(p) for p in splits["valid"]],
            "test": list(splits["test"])}


@register_stage
class ReconstructNovel(Stage):
    name = "reconstruct-novel"
    key = "reconstruction.novel_frames"
    help = "reconstruction of every movie's frames never seen in training (held-out frames, stage 4)"
    requires = (("embeddings.h5", "train"), ("metrics.json", "reconstruct"))

    def enabled(self, config):
        return config.reconstruction.enabled and config.novel_frames.enabled

    def run(self, ctx: StageContext):
        results = {movie_of(label): self.novel_movie(ctx, label) for label in movie_labels(ctx.splits())}
        return per_movie(results, "no movie samples in both the train and the test split of any session")

    def novel_movie(self, ctx: StageContext, label: str) -> dict:
        from neurocine.data import training_rows
        from neurocine.decoders.uncertainty import block_bootstrap
        from neurocine.embed import CEBRA

        cfg, nf = ctx.config, ctx.config.novel_frames
        movie, why = movie_template(ctx, label)
        if movie is None:
            return skipped(why)
        training = ctx.results.metrics().get("training", {})
        window = tuple(training.get("receptive_field", (5, 5)))
        splits = ctx.splits()
        # the blocks cut the frames shown (the whole movie, unless the sessions show only its start)
        n_frames = int(max(p.label(label).max() for sp in ("train", "test") for p in splits[sp])) + 1
        folds, pooled, leak = [], {}, {}
        for fold in range(min(nf.run_folds, nf.folds)):
            lo, hi = fold_block(fold, nf.folds, n_frames)
            held = holdout_splits(splits, label, lo, hi)
            left = sum(int((p.label(label) >= 0).sum()) for p in held["train"])
            if not left or not any(((p.label(label) >= lo) & (p.label(label) < hi)).any() for p in splits["test"]):
                return skipped(f"{movie_of(label)} frames {lo}-{hi - 1}: no train samples outside the block, or "
                               "none inside it in the test split")
            ctx.say(f"{self.name}: {movie_of(label)} fold {fold}: frames {lo}-{hi - 1} removed from every train and "
                    "valid repeat; training the embedding without them")
            model = CEBRA.from_config(cfg, verbose=ctx.progress, log_dir=ctx.log_dir(f"cebra_novel_fold{fold}"))
            model.fit(training_rows(held["train"], cfg.dataset.train_on),
                      valid=training_rows(held["valid"], cfg.dataset.train_on))
            seen = {"embedding_train": np.concatenate([p.label(label) for p in held["train"]]),
                    "embedding_valid": np.concatenate([p.label(label) for p in held["valid"]])}
            fit = {"splits": held, "emb": {p.session_id: {sp: model.transform(held[sp][i], session_id=i)
                                                           for sp in ("train", "valid")}
                                            for i, p in enumerate(held["train"])}}
            evaluate = {"splits": splits, "emb": {p.session_id: {sp: model.transform(splits[sp][i], session_id=i)
                                                                 for sp in ("valid", "test")}
                                                  for i, p in enumerate(splits["train"])}}
            in_block = lambda f, lo=lo, hi=hi: (f >= lo) & (f < hi)  # noqa: E731
            res, images, _, decoder_inputs = reconstruction_protocol(ctx, fit, evaluate, movie, label,
                                                                     eval_rows=in_block, window=window)
            seen.update(decoder_inputs)
            leak[f"fold {fold}"] = {k: int(np.sum((v >= lo) & (v < hi))) for k, v in seen.items()}
            folds.append({"fold": fold, "frames": [lo, hi], "embedding_steps": model.state_.step,
                          **{m: res[m] for m in METHODS}, "comparison": res["comparison"], "valid": res["valid"]})
            for k, v in images.items():
                pooled.setdefault(k, []).append(v)
        images = {k: np.concatenate(v) for k, v in pooled.items()}
        out = self._pooled(images, ctx, block_bootstrap, folds)
        out.update({"folds": folds, "n_folds": nf.folds, "frames_removed_from_training": leak,
                    "protocol": "held-out frames: blocks removed from every train/valid repeat for the embedding "
                                "and every decoder; scored on the test repeat",
                    "label": label, "output_shape": list(cfg.reconstruction.output_shape)})
        figure = movie_file("reconstructions_novel", label)
        _figure(images, ctx.results.figure(figure), f"{movie_of(label)}, held-out frames, test repeat")
        out["figures"] = [[figure, f"{movie_of(label)}, held-out frames (never seen in training): original (top), "
                                   "HalfUNet, ridge from dF/F, retrieval"]]
        return out

    @staticmethod
    def _pooled(images, ctx, block_bootstrap, folds):
        """Metrics over every fold's test frames (1-s blocks per session)."""
        from neurocine.decoders import image_metrics
        from neurocine.decoders.uncertainty import blocks_of

        target = images["target"]
        scores = {m: image_metrics(images[m], target, data_range=1.0)["per_frame"] for m in METHODS}
        blocks = blocks_of(images["session"], images["index"], 30)
        out = {}
        for k in ("ssim", "psnr", "pixel_r"):
            boot = block_bootstrap({m: scores[m][k] for m in METHODS}, blocks, seed=ctx.config.training.seed,
                                   pairs=[("halfunet", b) for b in BASELINES] if k == "ssim" else ())
            for m in METHODS:
                out.setdefault(m, {})[k] = boot[m]["mean"]
                out[m][f"{k}_ci95"] = boot[m]["ci95"]
            if k == "ssim":
                out["comparison"] = {f"halfunet - {b}": {x: boot[f"halfunet - {b}"][x] for x in ("mean", "ci95")}
                                     for b in BASELINES}
        valid = [f["valid"] for f in folds if f.get("valid")]
        ranking = {b: np.mean([v[b]["ssim"] for v in valid]) for b in BASELINES} if valid else \
            {b: out[b]["ssim"] for b in BASELINES}
        out["strongest_baseline"] = max(BASELINES, key=ranking.get)
        out["strongest_baseline_chosen_on"] = "valid repeat's held-out block" if valid else "test"
        out["n_test_frames"] = int(len(target))
        return out

    def summary(self, res):
        return "; ".join(movie_summary(m, res[m], "novel frames") for m in res.get("movies", []))

    def report(self, rec):
        parts = []
        for m in rec.get("movies", []):
            r = rec[m]
            if "skipped" in r:
                parts.append(f"<h2>Held-out frames: {html.escape(m)}</h2><p class='note skipped'>Skipped: "
                             f"{html.escape(str(r['skipped']))}</p>")
                continue
            blocks = ", ".join(f"{f['frames'][0]}-{f['frames'][1] - 1}" for f in r.get("folds", []))
            tid = "" if m == "natural_movie_one" else f"-{m}"
            parts.append(report_table(r, f"reconstruction-novel{tid}",
                                      f"<h2>Frame reconstruction: {html.escape(m)}, held-out frames (frames {blocks}; "
                                      f"{r.get('n_test_frames')} test frames)</h2><p class='note'>These frames were "
                                      "removed from every train and valid repeat for the embedding and every decoder: "
                                      "the model never saw them.</p>"))
        return "\n".join(parts)
