"""Trial decoding (``metrics.json["classification"]``)."""

from __future__ import annotations

import html

from neurocine.report.sections.base import section
from neurocine.report.sections.cv import cv_table
from neurocine.report.tables import ci, scored, table
from neurocine.scores import Comparison

NAMES = {"cebra": "CEBRA embedding", "cebra_label_free": "CEBRA embedding, label-free",
         "logistic_dff": "logistic regression on dF/F", "knn_dff": "kNN on dF/F", "chance": "chance (uniform guess)"}


@section("classification")
def classification(res: dict) -> str:
    """Trial decoding, one table per class label."""
    parts = ["<h2>Trial decoding: what else the mouse saw</h2>",
             "<p class='note'>Each trial is its mean over the stimulus period (dF/F or embedding); decoders fitted "
             "on train trials, choices on valid trials; test accuracy with 95 % bootstrap intervals over "
             "trials.</p>"]
    for label, r in res.items():
        if not isinstance(r, dict) or "cebra" not in r:
            continue
        c = Comparison.from_json(r, "accuracy")
        b = c.strongest_baseline
        rows = []
        for k in [m for m in ("cebra", "cebra_label_free") if c.has(m)] + ["logistic_dff", "knn_dff", "chance"]:
            name = NAMES[k] + (f" ({c.test[k]['decoder']})" if "decoder" in c.test[k] else "")
            name += " ← strongest baseline" if k == b else ""
            rows.append([name, c.valid_score(k), c.value(k), ci(c.score(k).ci95)])
        parts.append(f"<h3>{html.escape(label)} ({r['n_classes']} classes, {r['n_test_trials']} test trials)</h3>")
        parts.append(table(["method", "valid accuracy", "test accuracy", "95 % CI"], rows,
                           f"classes-{label.replace('.', '-')}", 2))
        sup = r.get("supervision", {})
        parts.append(f"<p class='note'>Labels that trained each model: CEBRA embedding "
                     f"{html.escape(str(sup.get('cebra') or 'unknown'))}; label-free embedding none; "
                     f"baselines {html.escape(str(sup.get('baselines', label)))}.</p>")
        for name, d in c.margins.items():
            parts.append(f"<p class='comparison'>{html.escape(name)}: {scored(d, signed=True)}</p>")
        if r.get("cv"):
            parts.append(cv_table(f"{label}: {r['cv']['folds']}-fold cross-validation", r["cv"],
                                  f"cv-{label.replace('.', '-')}"))
    return "\n".join(parts)
