"""Stage ``decode-frames``: which movie frame each held-out sample was recorded during, for
every movie the sessions show (``metrics.json["frame_id"][<movie>]``; the first movie's
entry, natural_movie_one when shown, also at the top level as in earlier versions).

The protocol is :func:`neurocine.evaluate.frame_id.frame_id_protocol` (each embedding
beside the fair baselines, choices on valid, test scored once, intervals); the stage reads
the run's data and embeddings, writes the predictions and a figure per movie.
"""

from __future__ import annotations

from neurocine.evaluate.frame_id import frame_id_protocol, per_area
from neurocine.report.figures import plot_frame_errors
from neurocine.report.sections.frame_id import NAMES
from neurocine.report.tables import ci
from neurocine.scores import Comparison
from neurocine.stages.base import Stage, StageContext, movie_file, movie_labels, per_movie, register_stage, skipped
from neurocine.stimuli import LABELS, movie_of


@register_stage
class DecodeFrames(Stage):
    """Frame identification for every movie the sessions show."""

    name = "decode-frames"
    key = "frame_id"
    help = "frame identification of every movie from a results folder (stage 2)"
    position = 20

    def run(self, ctx: StageContext):
        splits = ctx.splits()
        results = {movie_of(label): self.decode_movie(ctx, label) for label in movie_labels(splits)}
        return per_movie(results, "no movie samples in both the train and the test split of any session")

    def decode_movie(self, ctx: StageContext, label: str) -> dict:
        """Frame ID of one movie (``label``: its frame label) on every embedding."""
        cfg, results = ctx.config, ctx.results
        training = results.metrics().get("training", {})
        embeddings = {"cebra": ctx.embeddings()}
        models = {"cebra": {"supervision": training.get("supervision", "unknown"),
                            "learning_mode": training.get("learning_mode")}}
        if results.exists("embeddings_label_free.h5"):
            embeddings["cebra_label_free"] = ctx.embeddings("embeddings_label_free.h5")
            models["cebra_label_free"] = {"supervision": "none", "learning_mode": "time_contrastive"}
        n_frames = LABELS[label].n_values
        aligned = bool(training.get("aligned")) and training.get("dataset_mode", "separate") == "separate"
        res, predictions = frame_id_protocol(ctx.splits(), embeddings, models, label, n_frames,
                                             window=tuple(training.get("receptive_field", (5, 5))),
                                             n_neighbors=cfg.decoding.n_neighbors,
                                             tolerance=cfg.decoding.tolerance_frames, seed=cfg.training.seed,
                                             aligned=aligned, smoothing=training.get("input_smoothing"))
        if res is None:
            return skipped(f"no {movie_of(label)} samples in the test split of a session that shows it in training")
        results.save_arrays(movie_file(f"{self.key}_predictions", label, ".npz"),
                            {f"{sid}/{k}": v for sid, d in predictions.items() for k, v in d.items()})
        shown = [k for k in NAMES if k in ("cebra", "cebra_label_free", "raw_knn", res.strongest_baseline)]
        figure = movie_file("frame_id_error", label)
        plot_frame_errors({sid: {k: v for k, v in d.items() if k in shown or k == "true"}
                           for sid, d in predictions.items()},
                          results.figure(figure), n_frames)
        info = ctx.data.info()
        areas = {f.session_id: f.metadata["unit_areas"][0] for f in info
                 if f.metadata and len(set(f.metadata.get("unit_areas", []))) == 1}
        if areas:  # populations read one per brain area: the same numbers by area
            res = res.replace(per_area=per_area(res.details.get("per_session", {}), areas,
                                                {f.session_id: f.num_neurons for f in info}))
        return res.replace(figures=[[figure, f"Frame-identification error along the test repeat of "
                                             f"{movie_of(label)}"]]).to_json()

    def summary(self, res):
        return "; ".join(self._summary(m, res[m]) for m in res.get("movies", []))

    @staticmethod
    def _summary(movie, entry):
        if "cebra" not in entry:
            return f"{movie}: skipped ({entry.get('skipped', '')})"
        res = Comparison.from_json(entry, "accuracy_1s")
        b, diff = res.strongest_baseline, res.margin("cebra")
        other = ""
        if res.value("cebra", "accuracy_exact") is not None:
            other = (f"; exact frame {res.value('cebra', 'accuracy_exact'):.3f} vs "
                     f"{res.value(b, 'accuracy_exact'):.3f}, median |error| "
                     f"{res.value('cebra', 'median_abs_frame_error'):.0f} vs "
                     f"{res.value(b, 'median_abs_frame_error'):.0f} frames")
        return (f"{movie} accuracy within 1 s (test): CEBRA {res.value('cebra'):.3f} "
                f"({res.test['cebra']['decoder']} decoder); strongest baseline {b} {res.value(b):.3f}; "
                f"difference {diff.value:+.3f} {ci(diff.ci95)}; chance {res.value('chance'):.3f}" + other)
