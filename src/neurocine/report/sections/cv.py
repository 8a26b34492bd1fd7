"""Cross-validation (``metrics.json["cross_validation"]`` and the ``cv`` entries it adds)."""

from __future__ import annotations

import html

from neurocine.report.sections import section
from neurocine.report.tables import ci, table, verdict


def cv_table(name: str, cv: dict, table_id: str, model: str = "cebra", title: str = "CEBRA embedding") -> str:
    """One decoding result's folds: the model, the strongest baseline of each fold and the
    margin, then the means with their intervals."""
    rows = [[f"fold {f['fold'] + 1}", f[model], f"{f['strongest_baseline']} {f['baseline']:.3f}", f["margin"]]
            for f in cv["per_fold"]]
    rows.append(["mean [95 % CI]", f"{cv[model]['mean']:.3f} {ci(cv[model]['ci95'])}", "",
                 f"{cv['margin']['mean']:+.3f} {ci(cv['margin']['ci95'])}"])
    also = ""
    if cv.get("also"):
        extra = [[metric.replace("_", " "), f"{d[model]['mean']:.3f} {ci(d[model]['ci95'])}",
                  f"{d['baseline']['mean']:.3f} {ci(d['baseline']['ci95'])}",
                  f"{d['margin']['mean']:+.3f} {ci(d['margin']['ci95'])}"] for metric, d in cv["also"].items()]
        also = table(["the field's other metrics (mean over folds)", title, "strongest baseline", "margin"], extra,
                     f"{table_id}-also")
    return (f"<h3>{html.escape(name)}</h3>"
            + table(["fold", title, "strongest baseline (chosen on the fold's valid)", "margin"], rows, table_id)
            + f"<p class='comparison'>Over {cv['folds']} folds the model is {verdict(cv['margin'])} the strongest "
              f"baseline ({cv['margin']['mean']:+.3f} {ci(cv['margin']['ci95'])}).</p>" + also)


@section("cross_validation")
def cross_validation(m: dict) -> str:
    parts = [f"<h2>Cross-validation ({m.get('folds')} folds)</h2>",
             f"<p class='note'>{html.escape(str(m.get('protocol', '')))}. Intervals include the variance between "
             "folds.</p>"]
    for key, d in m.get("summary", {}).items():
        parts.append(f"<p class='note'>{html.escape(key)}: model {d['cebra']['mean']:.3f} "
                     f"{ci(d['cebra']['ci95'])}; margin {d['margin']['mean']:+.3f} {ci(d['margin']['ci95'])}</p>")
    return "\n".join(parts)


__all__ = ["cv_table", "cross_validation"]
