"""Stage ``decode-frames``: which movie frame each held-out sample was recorded during.

kNN on the embedding beside raw dF/F kNN, PCA kNN and chance, per session and pooled;
for aligned multi-session models also cross-session decoding and consistency.
Metrics under ``frame_id``; predictions in ``frame_id_predictions.npz``.
"""

from __future__ import annotations

import numpy as np

from neurocine.stages import Stage, StageContext, register_stage, table
from neurocine.stimuli import LABELS


class FrameID(Stage):
    """Frame identification for one movie's frame label."""

    label = "natural_movie_one.frame"
    help = "frame identification from a results folder (stage 2)"

    def run(self, ctx: StageContext):
        from neurocine.decoders.frame_id import consistency, cross_session_frame_id, evaluate_frame_id

        cfg = ctx.config
        emb, splits = ctx.embeddings(), ctx.splits()
        n_frames = LABELS[self.label].n_values

        def pack(split):
            return {p.session_id: {"embedding": emb[p.session_id][split]["embedding"], "neural": p.neural,
                                   "frame": p.label(self.label)} for p in splits[split] if p.session_id in emb}

        train, test = pack("train"), pack("test")
        dim = int(next(iter(train.values()))["embedding"].shape[1])
        res = evaluate_frame_id(train, test, dim, cfg.decoding.n_neighbors, cfg.decoding.tolerance_frames,
                                n_frames=n_frames)
        predictions = res.pop("predictions")
        res["label"] = self.label
        training = ctx.results.metrics().get("training", {})
        if len(train) > 1 and training.get("aligned") and training.get("dataset_mode", "separate") == "separate":
            res["cross_session"] = cross_session_frame_id(train, test, cfg.decoding.n_neighbors,
                                                          cfg.decoding.tolerance_frames)
            res["consistency"] = consistency(train, n_frames)
        ctx.results.save_arrays(f"{self.key}_predictions.npz",
                                {f"{sid}/{k}": v for sid, d in predictions.items() for k, v in d.items()})
        from neurocine.report.figures import plot_frame_errors

        plot_frame_errors(predictions, ctx.results.figure(self.figures[0][0]), n_frames)
        return res

    def summary(self, res):
        return (f"accuracy within 1 s: CEBRA {res['cebra']['accuracy_1s']:.3f}, raw dF/F kNN "
                f"{res['raw_knn']['accuracy_1s']:.3f}, PCA kNN {res['pca_knn']['accuracy_1s']:.3f}, "
                f"chance {res['chance']['accuracy_1s']:.3f}")

    def report(self, fid):
        parts = [f"<h2>Frame identification: {fid.get('label', self.label)} (test split, pooled over sessions)</h2>"]
        names = {"cebra": "CEBRA embedding kNN", "raw_knn": "raw dF/F kNN", "pca_knn": "PCA kNN", "chance": "chance"}
        rows = [[names[k], fid[k].get("accuracy_1s"), fid[k].get("mean_abs_frame_error")] for k in names if k in fid]
        parts.append(table(["method", "accuracy within 1 s", "mean |frame error| (frames)"], rows, "frame-id", 1,
                           skip_best=("chance",)))
        if fid.get("per_session"):
            rows = [[sid] + [d[k]["accuracy_1s"] for k in ("cebra", "raw_knn", "pca_knn", "chance")]
                    for sid, d in fid["per_session"].items()]
            parts.append("<p class='note'>Per session (accuracy within 1 s):</p>")
            parts.append(table(["session", "CEBRA", "raw dF/F", "PCA", "chance"], rows, "frame-id-sessions"))
        cs = fid.get("cross_session")
        if cs and cs.get("accuracy_1s"):
            a = np.array(cs["accuracy_1s"])
            off = a[~np.eye(len(a), dtype=bool)]
            cons = fid.get("consistency", {}).get("mean_r2")
            parts.append(f"<p class='note'>Cross-session decoding (kNN fitted on one session, tested on another): "
                         f"mean accuracy within 1 s {off.mean():.3f} (within-session {np.diag(a).mean():.3f}). "
                         f"Consistency between sessions (mean R²): "
                         f"{'–' if cons is None else f'{cons:.3f}'}.</p>")
        return "\n".join(parts)


@register_stage
class DecodeFrames(FrameID):
    name = "decode-frames"
    key = "frame_id"
    label = "natural_movie_one.frame"
    figures = (("frame_id_error.png", "Frame-identification error along the test repeat of the movie"),)
