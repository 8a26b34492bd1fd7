"""Stage ``cross-validate`` (with ``evaluation.folds: K``): frame identification of every
movie and trial decoding of every trial label over K folds, the embedding retrained per
fold (:func:`neurocine.evaluate.cv.cross_validate`). Each decoding result of the file-split
stages gains ``cv: {folds, per_fold, cebra, baselines, margin}``
(``metrics.json["frame_id"][<movie>]["cv"]``, ``["classification"][<label>]["cv"]``);
the stage's own entry (``cross_validation``) says how the folds were made and trained.
"""

from __future__ import annotations

from neurocine.evaluate.cv import cross_validate
from neurocine.report.figures import plot_folds
from neurocine.report.tables import ci
from neurocine.scores import Interval
from neurocine.stages.base import Stage, StageContext, register_stage, skipped


@register_stage
class CrossValidate(Stage):
    name = "cross-validate"
    key = "cross_validation"
    help = "frame ID and trial decoding over K folds (evaluation.folds), the embedding retrained per fold"
    reads = ("training", "frame_id", "classification")  # it adds "cv" to their entries
    reads_files = ()  # it retrains per fold
    writes = ("frame_id.*.cv", "frame_id.cv", "classification.*.cv")
    position = 50

    def enabled(self, config):
        return config.evaluation.folds is not None

    def done(self, results):
        own = results.get(self.key)
        return isinstance(own, dict) and "skipped" not in own and all(
            results.get([where, name, "cv"]) is not None for where, names in own.get("entries", {}).items()
            for name in names)

    def run(self, ctx: StageContext):
        cfg = ctx.config
        out = cross_validate(ctx.data.sessions(), cfg, say=ctx.say, progress=ctx.progress, log_dir=ctx.log_dir)
        if not out["frame_id"] and not out["classification"]:
            return skipped("no movie repeats or trials to cross-validate in any fold")
        entries = {}
        for where in ("frame_id", "classification"):
            for name, cv in out[where].items():
                if ctx.results.get([where, name]) is not None:
                    ctx.results.update([where, name, "cv"], cv)
                    entries.setdefault(where, []).append(name)
        if "natural_movie_one" in out["frame_id"] and ctx.results.get("frame_id.cebra") is not None:
            ctx.results.update("frame_id.cv", out["frame_id"]["natural_movie_one"])  # the top-level mirror
        figures = []
        for where, names in entries.items():
            for name in names:
                file = f"folds_{name.replace('.', '_')}.png"
                plot_folds(out[where][name], ctx.results.figure(file), name)
                figures.append([file, f"{name}: the model and the strongest baseline on each of the "
                                      f"{out['k']} folds, and the margin's mean and 95 % interval"])
        return {"folds": out["k"], "runs": out["folds"], "entries": entries, "figures": figures,
                "protocol": "movie repeats in contiguous blocks, trials stratified by condition; each fold tests "
                            "its block, validates on the next, trains on the rest; the embedding is retrained per "
                            "fold; intervals over folds (t, corrected for overlapping training sets)",
                "summary": {f"{where}.{name}": {k: v for k, v in out[where][name].to_json().items()
                                                 if k in ("cebra", "margin")}
                            for where, names in entries.items() for name in names}}

    def summary(self, m):
        parts = []
        for name, d in m.get("summary", {}).items():
            model, margin = Interval.from_json(d["cebra"]), Interval.from_json(d["margin"])
            parts.append(f"{name}: model {model.value:.3f}, margin over the strongest baseline "
                         f"{margin.value:+.3f} {ci(margin.ci95)}")
        return f"{m['folds']} folds; " + "; ".join(parts)
