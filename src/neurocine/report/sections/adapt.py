"""A new animal (``metrics.json["adapt"]``): the learning curves over movie repeats and
over trials per condition."""

from __future__ import annotations

import html

from neurocine.evaluate.adapt import read_adapt, read_adapt_trials
from neurocine.report.sections.base import section
from neurocine.report.tables import scored, table, verdict

NAMES = {"adapted": "adapted model, other animals' decoders (no label of the new animal)",
         "adapted_own": "adapted model, its own decoders", "scratch": "model from scratch on its repeats",
         "ridge_map": "ridge map onto the shared space, other animals' decoders",
         "template_own": "its per-frame template on dF/F", "ridge_own": "its ridge decoder on dF/F",
         "strongest_own": "its strongest baseline on its valid repeat", "chance": "chance"}
TRIAL_NAMES = {"adapted": "adapted model, other animals' decoders (no label of the new animal)",
               "adapted_own": "adapted model, its own decoders", "scratch": "model from scratch on its trials",
               "logistic_own": "its logistic regression on dF/F", "knn_own": "its kNN on dF/F", "chance": "chance"}


@section("adapt")
def adapt(m: dict) -> str:
    """Per K: every way of decoding the new animal, with intervals."""
    parts = [f"<h2>A new animal: {html.escape(', '.join(map(str, m.get('session_ids', []))))}</h2>",
             f"<p class='note'>The model of {len(m.get('base_sessions', []))} trained sessions was adapted to the new "
             "animal(s) (only their encoders fitted; the trained encoders frozen). The saved model was adapted from "
             f"{html.escape(str(m.get('model_adapted_from', '?')))}.</p>"]
    if "curve" in m:
        parts.append("<p class='note'>From their first K movie repeats. Test: their test repeat; frame ID within 1 s, "
                     "95 % block-bootstrap intervals.</p>")
        rows = []
        curve = [(c, read_adapt(c)) for c in m["curve"]]
        for c, r in curve:
            rows.append([str(c["repeats"]), f"{c['seconds']:.1f}"]
                        + [scored(r.score(k)) if r.has(k) else "-" for k in NAMES])
        parts.append(table(["repeats", "fit (s)"] + list(NAMES.values()), rows, "adapt-curve"))
        for c, r in curve:
            key = "strongest_own" if r.has_margin("adapted", "strongest_own") else "template_own"
            d = r.margin("adapted", key)
            what = (f"its strongest baseline ({r.test[key].get('decoder', '')})" if key == "strongest_own"
                    else "its template on dF/F")
            parts.append(f"<p class='comparison'>K = {c['repeats']}: adapted (others' decoders) - {html.escape(what)} "
                         f"{scored(d, signed=True)}: {verdict(d)} it.</p>")
    if "trials" in m:
        curve = m["trials"]["curve"]
        parts.append("<p class='note'>From their first K trials of each condition. Test: their test trials; accuracy "
                     "of each trial's class (features: the trial's mean), 95 % bootstrap intervals over trials.</p>")
        for label in sorted({name for c in curve for name in c["classes"]}):
            rows = []
            for c in curve:
                if label in c["classes"]:
                    e = read_adapt_trials(c["classes"][label])
                    rows.append([str(c["trials_per_condition"]), f"{c['seconds']:.1f}"]
                                + [scored(e.score(k)) for k in TRIAL_NAMES])
            parts.append(f"<h3>{html.escape(label)}</h3>")
            parts.append(table(["trials per condition", "fit (s)"] + list(TRIAL_NAMES.values()), rows,
                               f"adapt-trials-{label}"))
            for c in curve:
                if label not in c["classes"]:
                    continue
                e = read_adapt_trials(c["classes"][label])
                for b in ("logistic_own", "knn_own"):
                    d = e.margin("adapted", b)
                    parts.append(f"<p class='comparison'>K = {c['trials_per_condition']}: adapted (others' decoders) "
                                 f"- {TRIAL_NAMES[b]} {scored(d, signed=True)}: {verdict(d)} it.</p>")
    return "\n".join(parts)


__all__ = ["adapt", "NAMES", "TRIAL_NAMES"]
