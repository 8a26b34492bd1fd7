"""Stage ``decode-frames``: which movie frame each held-out sample was recorded during, for
every movie the sessions show (``metrics.json["frame_id"][<movie>]``; the first movie's
entry, natural_movie_one when shown, also at the top level as in earlier versions).

Each embedding (the trained model, and the label-free model when trained) beside the fair
baselines of :mod:`neurocine.decoders.frame_id` (raw dF/F of one sample and over the
encoder's own window, its PCA, a linear decoder, the per-frame template decoder, chance),
all fitted on the train split, decoder choices made on the validation split, reported on
valid and test with 95 % block-bootstrap intervals, the strongest baseline (chosen on
valid) named, and the model's margin over it with its interval. For aligned multi-session
models also cross-session decoding, and consistency of held-out embeddings beside
per-session PCA and a shuffled-label control.
"""

from __future__ import annotations

import html

import numpy as np

from neurocine.stages import Stage, StageContext, movie_file, movie_labels, per_movie, register_stage, skipped, table
from neurocine.stimuli import LABELS, movie_of

NAMES = {"cebra": "CEBRA embedding", "cebra_label_free": "CEBRA embedding, label-free (time-contrastive)",
         "raw_knn": "kNN on dF/F (one sample)", "raw_window_knn": "kNN on dF/F (encoder's window)",
         "pca_knn": "kNN on PCA of the dF/F window", "linear": "linear decoder on the dF/F window",
         "template": "per-frame template on the dF/F window", "chance": "chance"}


def _ci(x):
    return "–" if not x else f"[{x[0]:.3f}, {x[1]:.3f}]"


@register_stage
class DecodeFrames(Stage):
    """Frame identification for every movie the sessions show (each with its own
    baselines, chance, intervals, figure and report section)."""

    name = "decode-frames"
    key = "frame_id"
    help = "frame identification of every movie from a results folder (stage 2)"

    def run(self, ctx: StageContext):
        splits = ctx.splits()
        results = {movie_of(label): self.decode_movie(ctx, label) for label in movie_labels(splits)}
        return per_movie(results, "no movie samples in both the train and the test split of any session")

    def decode_movie(self, ctx: StageContext, label: str) -> dict:
        """Frame ID of one movie (``label``: its frame label) on every embedding."""
        from neurocine.decoders.frame_id import consistency, cross_session_frame_id, evaluate_frame_id

        cfg, results = ctx.config, ctx.results
        training = results.metrics().get("training", {})
        embeddings = {"cebra": ctx.embeddings()}
        models = {"cebra": {"supervision": training.get("supervision", "unknown"),
                            "learning_mode": training.get("learning_mode")}}
        if results.exists("embeddings_label_free.h5"):
            embeddings["cebra_label_free"] = results.read_embeddings("embeddings_label_free.h5")
            models["cebra_label_free"] = {"supervision": "none", "learning_mode": "time_contrastive"}
        splits = ctx.splits()
        n_frames = LABELS[label].n_values
        sessions = []
        for i, part in enumerate(splits["train"]):
            sid = part.session_id
            if sid not in embeddings["cebra"]:
                continue
            entry = {"session_id": sid}
            for split in ("train", "valid", "test"):
                p = splits[split][i]
                entry[split] = {"neural": p.neural, "segment": p.segment, "index": p.index,
                                "frame": p.label(label),
                                "embeddings": {m: e[sid][split]["embedding"] for m, e in embeddings.items()}}
            sessions.append(entry)
        dim = int(next(iter(embeddings["cebra"].values()))["train"]["embedding"].shape[1])
        rate = splits["test"][0].sampling_rate
        res = evaluate_frame_id(sessions, n_frames, n_neighbors=cfg.decoding.n_neighbors,
                                tolerance=cfg.decoding.tolerance_frames,
                                window=tuple(training.get("receptive_field", (5, 5))), pca_dim=dim, models=models,
                                label=label, block_samples=max(int(round(rate)), 1), seed=cfg.training.seed)
        if not res:
            return skipped(f"no {movie_of(label)} samples in the test split of a session that shows it in training")
        predictions = res.pop("predictions")
        res["label"] = label
        test_emb = {s["session_id"]: s["test"]["embeddings"]["cebra"] for s in sessions}
        test_frames = {s["session_id"]: s["test"]["frame"] for s in sessions}
        if len(sessions) > 1 and training.get("aligned") and training.get("dataset_mode", "separate") == "separate":
            pack = lambda sp: {s["session_id"]: {"embedding": s[sp]["embeddings"]["cebra"],  # noqa: E731
                                                 "frame": s[sp]["frame"]} for s in sessions}
            res["cross_session"] = cross_session_frame_id(pack("train"), pack("test"), cfg.decoding.n_neighbors,
                                                          cfg.decoding.tolerance_frames)
            res["consistency"] = self._consistency(sessions, test_emb, test_frames, n_frames, dim, cfg.training.seed,
                                                   consistency)
        results.save_arrays(movie_file(f"{self.key}_predictions", label, ".npz"),
                            {f"{sid}/{k}": v for sid, d in predictions.items() for k, v in d.items()})
        from neurocine.report.figures import plot_frame_errors

        shown = {k: v for k, v in NAMES.items() if k in ("cebra", "cebra_label_free", "raw_knn", res["strongest_baseline"])}
        figure = movie_file("frame_id_error", label)
        plot_frame_errors({sid: {k: v for k, v in d.items() if k in shown or k == "true"} for sid, d in predictions.items()},
                          results.figure(figure), n_frames)
        res["figures"] = [[figure, f"Frame-identification error along the test repeat of {movie_of(label)}"]]
        return res

    @staticmethod
    def _consistency(sessions, test_emb, test_frames, n_frames, dim, seed, consistency):
        """On held-out (test) embeddings, beside per-session PCA of dF/F (no training) and
        a control with each session's frame labels shifted by a random offset."""
        from sklearn.decomposition import PCA

        out = {"embedding": consistency(test_emb, test_frames, n_frames)}
        pca = {}
        for s in sessions:
            tr = s["train"]["neural"]
            pca[s["session_id"]] = PCA(min(dim, tr.shape[1]), random_state=seed).fit(tr).transform(s["test"]["neural"])
        out["pca_dff"] = consistency(pca, test_frames, n_frames)
        rng = np.random.default_rng(seed)
        shifted = {sid: np.where(f >= 0, (f + rng.integers(n_frames // 4, 3 * n_frames // 4)) % n_frames, -1)
                   for sid, f in test_frames.items()}
        out["shuffled_labels"] = consistency(test_emb, shifted, n_frames)
        out["split"] = "test"
        return out

    def summary(self, res):
        return "; ".join(self._summary(m, res[m]) for m in res.get("movies", []))

    @staticmethod
    def _summary(movie, res):
        if "cebra" not in res:
            return f"{movie}: skipped ({res.get('skipped', '')})"
        b = res["strongest_baseline"]
        diff = res["comparison"][f"cebra - {b}"]
        return (f"{movie} accuracy within 1 s (test): CEBRA {res['cebra']['accuracy_1s']:.3f} "
                f"({res['cebra']['decoder']} decoder); strongest baseline {b} {res[b]['accuracy_1s']:.3f}; "
                f"difference {diff['mean']:+.3f} {_ci(diff['ci95'])}; chance {res['chance']['accuracy_1s']:.3f}")

    def report(self, fid):
        return "\n".join(self._report(fid[m], m) for m in fid.get("movies", []))

    @staticmethod
    def _report(fid, movie):
        if "cebra" not in fid:
            return (f"<h2>Frame identification: {html.escape(movie)}</h2><p class='note skipped'>Skipped: "
                    f"{html.escape(str(fid.get('skipped', '')))}</p>")
        b = fid["strongest_baseline"]
        tid = "" if movie == "natural_movie_one" else f"-{movie}"  # earlier versions' ids for natural_movie_one
        parts = [f"<h2>Frame identification: {html.escape(fid.get('label', movie))}</h2>",
                 f"<p class='note'>A test sample counts as identified when the decoded frame is within "
                 f"{fid.get('tolerance_frames')} frames (1 s). Every decoder is fitted on the train split; choices "
                 f"(each embedding's decoder, the ridge penalty) are made on the validation split, and the strongest "
                 f"baseline is the one best on validation. Intervals: 95 % bootstrap over 1-s blocks of test data. "
                 f"Baselines read dF/F over the encoder's own {sum(fid.get('window', [5, 5]))}-sample window.</p>"]
        rows = []
        for k in [m for m in ("cebra", "cebra_label_free") if m in fid] + ["raw_knn", "raw_window_knn", "pca_knn",
                                                                          "linear", "template", "chance"]:
            d, v = fid[k], fid.get("valid", {}).get(k, {})
            name = NAMES[k] + (f" ({d['decoder']} decoder)" if "decoder" in d else "")
            name += " ← strongest baseline" if k == b else ""
            rows.append([name, html.escape(str(d.get("supervision", ""))), v.get("accuracy_1s"),
                         d.get("accuracy_1s"), _ci(d.get("accuracy_1s_ci95")), d.get("mean_abs_frame_error")])
        parts.append(table(["method", "trained with labels", "valid accuracy", "test accuracy", "95 % CI",
                            "mean |error| (frames)"], rows, f"frame-id{tid}", 3))
        for name, diff in fid.get("comparison", {}).items():
            lo, hi = diff["ci95"]
            verdict = ("above" if lo > 0 else "below" if hi < 0 else "not distinguishable from")
            parts.append(f"<p class='comparison'>{html.escape(name)}: {diff['mean']:+.3f} {_ci(diff['ci95'])} "
                         f"(test): the model is {verdict} the strongest baseline.</p>")
        if fid.get("per_session"):
            keys = [k for k in ("cebra", "cebra_label_free", b, "chance") if k in next(iter(fid["per_session"].values()))]
            rows = [[sid] + [d[k]["accuracy_1s"] for k in keys] for sid, d in fid["per_session"].items()]
            parts.append("<p class='note'>Per session (test accuracy within 1 s):</p>")
            parts.append(table(["session"] + keys, rows, f"frame-id-sessions{tid}"))
        cs = fid.get("cross_session")
        if cs and cs.get("accuracy_1s"):
            a = np.array(cs["accuracy_1s"])
            off = a[~np.eye(len(a), dtype=bool)]
            parts.append(f"<p class='note'>Cross-session decoding (kNN fitted on one session's train embedding, tested "
                         f"on another's test embedding): mean accuracy within 1 s {off.mean():.3f} (within-session "
                         f"{np.diag(a).mean():.3f}).</p>")
        con = fid.get("consistency")
        if con:
            get = lambda k: con.get(k, {}).get("mean_r2")  # noqa: E731
            fmt = lambda x: "–" if x is None else f"{x:.3f}"  # noqa: E731
            parts.append(f"<p class='note'>Consistency between sessions on held-out (test) samples, mean R²: "
                         f"embedding {fmt(get('embedding'))}; per-session PCA of dF/F, no training "
                         f"{fmt(get('pca_dff'))}; embedding with shifted frame labels (control) "
                         f"{fmt(get('shuffled_labels'))}.</p>")
        return "\n".join(parts)
