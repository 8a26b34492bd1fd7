"""Stages ``reconstruct`` and ``reconstruct-novel``: movie frames from embeddings, for every
movie the sessions show whose template is available (``metrics.json["reconstruction"][<movie>]``;
the first movie's entry also at the top level, as in earlier versions). A movie without a
template is skipped with the reason.

``reconstruct`` (held-out repeat): the HalfUNet is trained on train-split movie samples,
early-stopped on valid, and scored on the test repeat. The same 900 frames are shown in
every repeat, so every test image was also a training target: this protocol measures
how well a decoder *recognises* frames it has seen.

``reconstruct-novel`` (held-out frames): the movie is cut into contiguous blocks; for a
fold, its block is removed from every train and valid repeat, for the embedding (a CEBRA
model is trained on the rest) and for every decoder, and reconstructed from the test
repeat: images the model never saw.

Both report, with 95 % block-bootstrap intervals and on valid and test: the HalfUNet,
ridge regression from the embedding and from dF/F, the mean training frame (a floor), and
retrieval (the training frame that the per-frame template decoder on raw dF/F picks).
"""

from __future__ import annotations

import html
import numpy as np

from neurocine.stages import (Stage, StageContext, movie_file, movie_labels, per_movie, register_stage, skipped,
                              table)
from neurocine.stimuli import LABELS, movie_of

METHODS = {"halfunet": "HalfUNet from the embedding", "ridge_embedding": "ridge from the embedding",
           "ridge_dff": "ridge from dF/F", "mean_frame": "mean training frame (floor)",
           "retrieval": "retrieval: training frame picked by the dF/F template decoder"}
BASELINES = ("ridge_embedding", "ridge_dff", "mean_frame", "retrieval")


def _ci(x):
    return "–" if not x else f"[{x[0]:.3f}, {x[1]:.3f}]"


def reconstruction_protocol(ctx: StageContext, fit: dict, evaluate: dict, movie: np.ndarray, label: str,
                            eval_rows=None, window=(5, 5)):
    """Train every reconstruction method on ``fit`` and score it on ``evaluate``.

    Args:
        fit: ``{"splits": {split: [SplitData]}, "emb": {session_id: {split: (T, D)}}}``:
            decoders train on the train split's movie samples (the HalfUNet stops early on
            valid's).
        evaluate: The same for the samples scored (valid and test splits).
        movie: ``(K, H, W)`` template frames in [0, 1].
        eval_rows: ``frames -> bool mask`` of the samples scored (default: every movie
            sample).
        window: The encoder's receptive field (the retrieval baseline reads that window).

    Returns:
        ``(metrics, test_images, decoder, trained_frames)``: one entry per method (test
        numbers with intervals), ``"valid"`` (the same on valid), the strongest baseline (by
        valid SSIM) and the HalfUNet's margin over each baseline; the test images; the
        HalfUNet; the frames each decoder was trained on (a check for leaks).
    """
    from neurocine.decoders import HalfUNet, image_metrics, ridge_reconstruction
    from neurocine.decoders.frame_id import FrameTemplates, window_features
    from neurocine.decoders.uncertainty import block_bootstrap, blocks_of

    cfg, rc = ctx.config, ctx.config.reconstruction
    eval_rows = eval_rows or (lambda f: f >= 0)

    def rows(part, keep):
        f = part.label(label)
        return np.flatnonzero((f >= 0) & keep(f))

    fs, es = fit["splits"], evaluate["splits"]
    train_rows = [rows(p, lambda f: f >= 0) for p in fs["train"]]
    valid_rows = [rows(p, lambda f: f >= 0) for p in fs["valid"]]
    eval_sets = {sp: [rows(p, eval_rows) for p in es[sp]] for sp in ("valid", "test")}
    sids = [p.session_id for p in es["test"]]

    def stack(source, split, idx_list, what):
        parts = source["splits"][split]
        return np.concatenate([source["emb"][p.session_id][split][r] if what == "emb" else p.label(label)[r]
                               for p, r in zip(parts, idx_list)])

    x_tr, f_tr = stack(fit, "train", train_rows, "emb"), stack(fit, "train", train_rows, "frame")
    x_va, f_va = stack(fit, "valid", valid_rows, "emb"), stack(fit, "valid", valid_rows, "frame")
    rng = np.random.default_rng(cfg.training.seed)
    keep = np.arange(len(x_tr))
    if rc.max_train_samples and len(x_tr) > rc.max_train_samples:
        keep = np.sort(rng.choice(len(x_tr), rc.max_train_samples, replace=False))
    trained_frames = {"halfunet_train": f_tr[keep], "halfunet_valid": f_va, "ridge_mean_retrieval": f_tr}
    ctx.say(f"{ctx.stage_name}: HalfUNet on {len(keep)} train / {len(x_va)} valid frames, scored on "
            f"{sum(map(len, eval_sets['test']))} test frames at {movie.shape[1]}x{movie.shape[2]}")
    decoder = HalfUNet.from_config(cfg, verbose=ctx.progress, log_dir=ctx.log_dir(f"halfunet_{ctx.stage_name}"))
    decoder.fit(x_tr[keep], movie[f_tr[keep]][:, None], x_va, movie[f_va][:, None])
    mean_frame = movie[f_tr].mean(0)
    out, images_test = {"valid": {}}, {}
    for split in ("valid", "test"):
        idx = eval_sets[split]
        if not sum(map(len, idx)):
            continue
        x_ev, f_ev = stack(evaluate, split, idx, "emb"), stack(evaluate, split, idx, "frame")
        target = movie[f_ev][:, None]
        pred = {"halfunet": decoder.predict(x_ev),
                "ridge_embedding": ridge_reconstruction(x_tr, movie[f_tr][:, None], x_ev),
                "mean_frame": np.broadcast_to(mean_frame[None, None], target.shape)}
        ridge_dff, retrieval = [], []
        for i, p in enumerate(fs["train"]):
            q = es[split][i]
            r_tr, r_ev = train_rows[i], idx[i]
            if not len(r_ev):
                continue
            f_p = p.label(label)[r_tr]
            ridge_dff.append(ridge_reconstruction(p.neural[r_tr], movie[f_p][:, None], q.neural[r_ev]))
            w_tr = window_features(p.neural, p.segment, *window)[r_tr]
            w_ev = window_features(q.neural, q.segment, *window)[r_ev]
            retrieval.append(movie[FrameTemplates(w_tr, f_p).predict(w_ev)][:, None])
        pred["ridge_dff"], pred["retrieval"] = np.concatenate(ridge_dff), np.concatenate(retrieval)
        scores = {m: image_metrics(pred[m], target, data_range=1.0)["per_frame"] for m in METHODS}
        where_sid = np.concatenate([np.full(len(r), sids[i], dtype=object) for i, r in enumerate(idx)]).astype(str)
        where_idx = np.concatenate([es[split][i].index[r] for i, r in enumerate(idx)])
        blocks = blocks_of(where_sid, where_idx, max(int(round(es[split][0].sampling_rate)), 1))
        boot = {k: block_bootstrap({m: scores[m][k] for m in METHODS}, blocks, seed=cfg.training.seed,
                                   pairs=[("halfunet", b) for b in BASELINES] if k == "ssim" else ())
                for k in ("ssim", "psnr", "pixel_r")}
        entry = {m: {k: boot[k][m]["mean"] for k in ("ssim", "psnr", "pixel_r")} for m in METHODS}
        for m in METHODS:
            entry[m].update({f"{k}_ci95": boot[k][m]["ci95"] for k in ("ssim", "psnr", "pixel_r")})
        if split == "test":
            out.update(entry)
            out["comparison"] = {f"halfunet - {b}": {k: boot["ssim"][f"halfunet - {b}"][k] for k in ("mean", "ci95")}
                                 for b in BASELINES}
            out["n_test_frames"] = int(len(f_ev))
            images_test = {"target": target, "frames": f_ev, "session": where_sid, "index": where_idx, **pred}
        else:
            out["valid"] = entry
    ranking = out["valid"] or {m: out[m] for m in BASELINES}
    out["strongest_baseline"] = max(BASELINES, key=lambda b: ranking[b]["ssim"])
    out["strongest_baseline_chosen_on"] = "valid" if out["valid"] else "test (no valid samples)"
    out.update({"label": label, "n_train_frames": int(len(keep)), "output_shape": list(rc.output_shape),
                "architecture": decoder.architecture, "train_loss": decoder.train_loss_,
                "best_valid_loss": decoder.best_valid_loss_, "best_epoch": int(decoder.best_epoch_),
                "loss_fn": rc.loss_fn, "input_noise": rc.input_noise,
                "supervision": "HalfUNet, ridge, mean frame and retrieval trained on the train split's movie frames"})
    return out, images_test, decoder, trained_frames


def _figure(images: dict, path, title: str):
    from neurocine.report.figures import plot_reconstructions

    first = images["session"] == images["session"][0]
    sel = np.flatnonzero(first)[np.argsort(images["frames"][first], kind="stable")]
    plot_reconstructions(images["target"][sel], {"HalfUNet": images["halfunet"][sel],
                                                 "ridge (dF/F)": images["ridge_dff"][sel],
                                                 "retrieval": images["retrieval"][sel]}, path, n=5, title=title)


def report_table(rec: dict, table_id: str, heading: str) -> str:
    parts = [heading]
    b = rec.get("strongest_baseline")
    rows = []
    for m, name in METHODS.items():
        if m not in rec:
            continue
        d, v = rec[m], rec.get("valid", {}).get(m, {})
        rows.append([name + (" ← strongest baseline" if m == b else ""), v.get("ssim"), d["ssim"],
                     _ci(d.get("ssim_ci95")), d["psnr"], d["pixel_r"]])
    parts.append(table(["method", "valid SSIM", "test SSIM", "95 % CI", "PSNR (dB)", "pixel r"], rows, table_id, 2))
    diff = rec.get("comparison", {}).get(f"halfunet - {b}")
    if diff:
        lo, hi = diff["ci95"]
        verdict = "above" if lo > 0 else "below" if hi < 0 else "not distinguishable from"
        parts.append(f"<p class='comparison'>HalfUNet - {html.escape(str(b))} (SSIM, test): {diff['mean']:+.3f} "
                     f"{_ci(diff['ci95'])}: the HalfUNet is {verdict} the strongest baseline.</p>")
    return "\n".join(parts)


def movie_template(ctx: StageContext, label: str):
    """The frames of ``label``'s movie at the run's output shape, or None with the reason
    (no source holds the template: the stage has nothing to reconstruct for that movie)."""
    from neurocine.data import find_template
    from neurocine.errors import TemplateNotFound

    cfg = ctx.config
    try:
        return find_template(cfg.dataset, movie_of(label), tuple(cfg.reconstruction.output_shape),
                             LABELS[label].n_values), None
    except TemplateNotFound as exc:
        return None, str(exc)


@register_stage
class Reconstruct(Stage):
    name = "reconstruct"
    key = "reconstruction"
    help = "HalfUNet reconstruction of every movie's frames, held-out repeat (stage 3)"

    def enabled(self, config):
        return config.reconstruction.enabled

    def run(self, ctx: StageContext):
        results = {movie_of(label): self.reconstruct_movie(ctx, label) for label in movie_labels(ctx.splits())}
        return per_movie(results, "no movie samples in both the train and the test split of any session")

    def reconstruct_movie(self, ctx: StageContext, label: str) -> dict:
        movie, why = movie_template(ctx, label)
        if movie is None:
            return skipped(why)
        emb = {sid: {sp: d[sp]["embedding"] for sp in d} for sid, d in ctx.embeddings().items()}
        window = tuple(ctx.results.metrics().get("training", {}).get("receptive_field", (5, 5)))
        data = {"splits": ctx.splits(), "emb": emb}
        res, images, decoder, _ = reconstruction_protocol(ctx, data, data, movie, label, window=window)
        res["protocol"] = "held-out repeat: test frames were also training targets (seen images)"
        decoder.save(ctx.results.path(movie_file("halfunet", label, ".pt")))
        figure = movie_file("reconstructions", label)
        _figure(images, ctx.results.figure(figure), f"{movie_of(label)}, test repeat, session {images['session'][0]}")
        res["figures"] = [[figure, f"{movie_of(label)}, test repeat (frames seen in training): original (top), "
                                   "HalfUNet from the embedding, ridge from dF/F, retrieval"]]
        return res

    def summary(self, res):
        return "; ".join(movie_summary(m, res[m], "seen frames") for m in res.get("movies", []))

    def report(self, rec):
        parts = []
        for m in rec.get("movies", []):
            r = rec[m]
            if "skipped" in r:
                parts.append(f"<h2>Frame reconstruction: {html.escape(m)}</h2><p class='note skipped'>Skipped: "
                             f"{html.escape(str(r['skipped']))}</p>")
                continue
            tid = "" if m == "natural_movie_one" else f"-{m}"
            parts.append(report_table(r, f"reconstruction{tid}", f"<h2>Frame reconstruction: {html.escape(m)}, "
                         f"held-out repeat ({r.get('n_test_frames')} test frames, "
                         f"{'x'.join(map(str, r.get('output_shape', [])))} px)</h2>"
                         "<p class='note'>Every test image was also a training target (the movie repeats): this "
                         "measures recognising seen frames. See the held-out-frames section for novel images.</p>"))
        return "\n".join(parts)


def movie_summary(movie: str, res: dict, what: str) -> str:
    """One movie's line of a reconstruction stage's summary."""
    if "skipped" in res:
        return f"{movie}: skipped ({res['skipped']})"
    b = res["strongest_baseline"]
    d = res["comparison"][f"halfunet - {b}"]
    return (f"{movie} SSIM (test, {what}): HalfUNet {res['halfunet']['ssim']:.3f}; strongest baseline {b} "
            f"{res[b]['ssim']:.3f}; mean frame {res['mean_frame']['ssim']:.3f}; difference {d['mean']:+.3f} "
            f"{_ci(d['ci95'])}")
