"""Cross-validation (``metrics.json["cross_validation"]`` and the ``cv`` entries it adds)."""

from __future__ import annotations

import html

from neurocine.report.sections.base import section
from neurocine.report.tables import scored, table, verdict
from neurocine.scores import STRONGEST, FoldComparison, Interval


def cv_table(name: str, entry: dict, table_id: str, model: str = "cebra", title: str = "CEBRA embedding") -> str:
    """One decoding result's folds: the model, the strongest baseline of each fold and the
    margin, then the means with their intervals."""
    cv = FoldComparison.from_json(entry, "", model=model)
    rows = [[f"fold {f['fold'] + 1}", f[model], f"{f[STRONGEST]} {f['baseline']:.3f}", f["margin"]]
            for f in cv.per_fold]
    margin = cv.margin()
    rows.append(["mean [95 % CI]", scored(cv.score(model)), "", scored(margin, signed=True)])
    also = ""
    if cv.details.get("also"):
        extra = [[metric.replace("_", " "), scored(Interval.from_json(d[model])),
                  scored(Interval.from_json(d["baseline"])), scored(Interval.from_json(d["margin"]), signed=True)]
                 for metric, d in cv.details["also"].items()]
        also = table(["the field's other metrics (mean over folds)", title, "strongest baseline", "margin"], extra,
                     f"{table_id}-also")
    return (f"<h3>{html.escape(name)}</h3>"
            + table(["fold", title, "strongest baseline (chosen on the fold's valid)", "margin"], rows, table_id)
            + f"<p class='comparison'>Over {cv.details['folds']} folds the model is {verdict(margin)} the strongest "
              f"baseline ({scored(margin, signed=True)}).</p>" + also)


@section("cross_validation")
def cross_validation(m: dict) -> str:
    parts = [f"<h2>Cross-validation ({m.get('folds')} folds)</h2>",
             f"<p class='note'>{html.escape(str(m.get('protocol', '')))}. Intervals include the variance between "
             "folds.</p>"]
    for key, d in m.get("summary", {}).items():
        parts.append(f"<p class='note'>{html.escape(key)}: model {scored(Interval.from_json(d['cebra']))}; "
                     f"margin {scored(Interval.from_json(d['margin']), signed=True)}</p>")
    return "\n".join(parts)


__all__ = ["cv_table", "cross_validation"]
