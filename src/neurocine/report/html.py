"""report.html: one self-contained page (figures embedded as data URIs) with the numbers."""

from __future__ import annotations

import base64
import html
import json
from pathlib import Path

from neurocine.atomic import atomic_write
from neurocine.provenance import signal_words
from neurocine.report.tables import skipped_note, table
from neurocine.results import Results

CSS = """
body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:2em auto;max-width:1000px;color:#222}
h1{font-size:1.6em;margin-bottom:.2em}
h2{font-size:1.2em;border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:1.6em}
table{border-collapse:collapse;margin:.6em 0} th,td{border:1px solid #ccc;padding:.3em .7em;text-align:right}
th:first-child,td:first-child{text-align:left} th{background:#f3f3f3} td.best{font-weight:bold}
figure{margin:1em 0} figure img{max-width:100%;border:1px solid #eee} figcaption{color:#555;font-size:.9em}
.note{color:#555;font-size:.9em}
.warn{background:#fff4e5;border:1px solid #f0b25a;padding:.4em .8em}
.info{background:#eef5fb;border:1px solid #9cc3e6;padding:.4em .8em}
.comparison{font-weight:bold}
"""

SCRIPT = """
window.addEventListener('load', function () {
  var imgs = Array.prototype.slice.call(document.images);
  var ok = imgs.filter(function (i) { return i.complete && i.naturalWidth > 0; }).length;
  document.body.setAttribute('data-images-loaded', ok);
  document.body.setAttribute('data-images-total', imgs.length);
});
"""


def header(prov: dict, training: dict) -> str:
    """Where the numbers come from and what trained the model, above everything else."""
    e = html.escape
    if not prov:
        return "<div id='provenance' class='warn'>No provenance recorded for this run.</div>"
    files = prov.get("files", [])
    if prov.get("data") == "simulated":
        data = (f"<b>SIMULATED data</b> (neurocine simulator, seed {e(str(prov.get('simulation_seed')))}): "
                f"{len(files)} sessions in {e(prov.get('data_dir', ''))}. These numbers are not from recordings.")
    elif prov.get("data") == "mixed":
        sim = [f["session_id"] for f in files if f.get("simulated")]
        data = (f"<b>MIXED data: {len(sim)} of {len(files)} sessions are SIMULATED</b> "
                f"({e(', '.join(map(str, sim[:8])))}"
                f"{' ...' if len(sim) > 8 else ''}; neurocine simulator) in {e(prov.get('data_dir', ''))}. These "
                "numbers are not from recordings alone.")
    else:
        ids = ", ".join(e(f"{f['session_id']} ({f['layout']}, sha256 {f['sha256'][:12]})") for f in files[:8])
        data = (f"Recorded data: {len(files)} session files in {e(prov.get('data_dir', ''))}: {ids}"
                + (" ..." if len(files) > 8 else ""))
    v = prov.get("versions", {})
    lines = [f"<p>{data}</p>",
             f"<p>Embedding trained with labels: <b id='supervision'>{e(str(training.get('supervision', '?')))}</b> "
             f"({e(str(training.get('learning_mode', '?')))} mode)"
             + ("; a label-free (time-contrastive) model with the same settings is shown beside it"
                if training.get("label_free") else "") + ".</p>",
             f"<p class='note'>Seed {e(str(prov.get('seed')))}; neurocine {e(v.get('neurocine', '?'))}, "
             f"torch {e(v.get('torch', '?'))}, cebra {e(v.get('cebra', '?'))}, Python {e(v.get('python', '?'))}; "
             f"commit {e(str(prov.get('git_commit') or 'unknown'))}. The full config is in metrics.json.</p>"]
    cls = "warn" if prov.get("data") in ("simulated", "mixed") else "info"
    return f"<div id='provenance' class='{cls}'>" + "".join(lines) + "</div>"


def stage_metrics(metrics: dict, key: str) -> dict:
    """``metrics`` at a stage's dotted key ({} when absent)."""
    section = metrics
    for part in key.split("."):
        section = section.get(part, {}) if isinstance(section, dict) else {}
    return section if isinstance(section, dict) else {}


def render(metrics: dict, figures: dict[str, bytes], stages) -> str:
    """The page as a string: each stage's section and figures, in job order.

    Args:
        metrics: metrics.json.
        figures: ``{file name: PNG bytes}``.
        stages: The job's stages in order (objects with ``name``, ``key``,
            ``report(metrics) -> HTML`` and ``figure_list(metrics)``; the pipeline passes
            its registered stages, so the report needs no knowledge of them).
    """
    parts = [f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>neurocine report</title>"
             f"<style>{CSS}</style></head><body>", "<h1>neurocine report</h1>",
             header(metrics.get("provenance", {}), metrics.get("training", {}))]
    for stage in stages:
        section = stage_metrics(metrics, stage.key)
        if not section:
            continue
        parts.append(f"<section id='stage-{html.escape(stage.name)}'>")
        if "skipped" in section:
            parts.append(skipped_note(stage.name, section["skipped"]) + "</section>")
            continue
        parts.append(stage.report(section))
        for name, caption in stage.figure_list(section):
            if name in figures:
                b64 = base64.b64encode(figures[name]).decode()
                parts.append(f"<figure><img alt='{html.escape(caption)}' src='data:image/png;base64,{b64}'>"
                             f"<figcaption>{html.escape(caption)}</figcaption></figure>")
        parts.append("</section>")
    wt = metrics.get("wall_time_s", {})
    if wt:
        parts.append("<h2>Wall time per stage</h2>")
        parts.append(table(["stage", "seconds"], [[k, float(v)] for k, v in wt.items()], "wall-time"))
    signal = metrics.get("provenance", {}).get("signal")
    parts = [signal_words(p, signal) for p in parts]  # numbers from spikes never say dF/F
    parts.append("<h2>All numbers</h2><details><summary>metrics.json</summary><pre>"
                 + html.escape(json.dumps(metrics, indent=1, default=float)) + "</pre></details>")
    parts.append(f"<script>{SCRIPT}</script></body></html>")
    return "\n".join(parts)


def write_report(out: str | Path, stages) -> Path:
    """Write ``out/report.html`` (atomically) from ``out/metrics.json`` and ``out/figures``
    (``stages``: as :func:`render`)."""
    results = Results(out)
    results.require("metrics.json", "train")
    metrics = results.metrics()
    names = [name for stage in stages for name, _ in stage.figure_list(stage_metrics(metrics, stage.key))]
    figures = {name: results.figure(name).read_bytes() for name in names if results.figure(name).exists()}
    page = render(metrics, figures, stages)
    return atomic_write(results.path("report.html"), lambda tmp: tmp.write_text(page, encoding="utf-8"))
