"""Stage ``decode-classes``: every trial stimulus the sessions show, decoded per trial
(:func:`neurocine.evaluate.trials.classify_trials`: grating direction, temporal
frequency, orientation, static gratings, natural scenes; each embedding beside logistic
regression and kNN on dF/F, choices on valid trials, test accuracy with intervals over
trials). Metrics under ``metrics.json["classification"][label]``.
"""

from __future__ import annotations

from neurocine.evaluate.trials import classify_trials
from neurocine.scores import Comparison
from neurocine.stages.base import Stage, StageContext, register_stage, skipped


@register_stage
class DecodeClasses(Stage):
    name = "decode-classes"
    key = "classification"
    help = "decode grating direction / temporal frequency, static gratings and natural scenes per trial"
    position = 40

    def run(self, ctx: StageContext):
        cfg, results = ctx.config, ctx.results
        embeddings = {"cebra": ctx.embeddings()}
        if results.exists("embeddings_label_free.h5"):
            embeddings["cebra_label_free"] = ctx.embeddings("embeddings_label_free.h5")
        supervision = {"cebra": results.get("training", {}).get("supervision"), "cebra_label_free": "none"}
        out = classify_trials(ctx.splits(), embeddings, supervision, cfg.decoding.n_neighbors, cfg.training.seed)
        return {label: res.to_json() for label, res in out.items()} or skipped(
            "no trials of a trial stimulus (gratings, natural scenes) in the test split of any session")

    def summary(self, res):
        parts = []
        for label, r in res.items():
            if not isinstance(r, dict) or "cebra" not in r:
                continue
            c = Comparison.from_json(r, "accuracy")
            b = c.strongest_baseline
            parts.append(f"{label}: CEBRA {c.value('cebra'):.3f} vs {b} {c.value(b):.3f} "
                         f"(chance {c.value('chance'):.3f})")
        return "; ".join(parts)
