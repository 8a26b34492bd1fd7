"""report.html: one self-contained page (figures embedded as data URIs) with the numbers."""

from __future__ import annotations

import base64
import html
import json
from pathlib import Path

from neurocine.atomic import atomic_path

FIGURES = (("loss_curve.png", "CEBRA training: InfoNCE on train and validation data"),
           ("embedding.png", "Test-split embeddings of movie samples (first three principal components), coloured by movie frame"),
           ("frame_id_error.png", "Frame-identification error along the test repeat of the movie"),
           ("reconstructions.png", "Test frames: original (top), HalfUNet from embeddings, ridge from embeddings"))

CSS = """
body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:2em auto;max-width:1000px;color:#222}
h1{font-size:1.6em;margin-bottom:.2em} h2{font-size:1.2em;border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:1.6em}
table{border-collapse:collapse;margin:.6em 0} th,td{border:1px solid #ccc;padding:.3em .7em;text-align:right}
th:first-child,td:first-child{text-align:left} th{background:#f3f3f3} td.best{font-weight:bold}
figure{margin:1em 0} figure img{max-width:100%;border:1px solid #eee} figcaption{color:#555;font-size:.9em}
.note{color:#555;font-size:.9em}
"""

SCRIPT = """
window.addEventListener('load', function () {
  var imgs = Array.prototype.slice.call(document.images);
  var ok = imgs.filter(function (i) { return i.complete && i.naturalWidth > 0; }).length;
  document.body.setAttribute('data-images-loaded', ok);
  document.body.setAttribute('data-images-total', imgs.length);
});
"""


def _fmt(x, digits=3):
    if x is None:
        return "–"
    if isinstance(x, float):
        return f"{x:.{digits}f}"
    return html.escape(str(x))


def _table(headers, rows, table_id=None, best_col=None, best="max"):
    out = [f'<table{f" id={table_id!r}" if table_id else ""}>',
           "<tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in headers) + "</tr>"]
    best_val = None
    if best_col is not None:
        vals = [r[best_col] for r in rows if isinstance(r[best_col], float) and r[0] != "chance"]
        best_val = (max if best == "max" else min)(vals) if vals else None
    for r in rows:
        cells = []
        for j, v in enumerate(r):
            cls = ' class="best"' if best_col == j and best_val is not None and v == best_val else ""
            cells.append(f"<td{cls}>{_fmt(v)}</td>")
        out.append("<tr>" + "".join(cells) + "</tr>")
    out.append("</table>")
    return "\n".join(out)


def render(metrics: dict, figures: dict[str, bytes]) -> str:
    """The page as a string. ``figures`` maps file names to PNG bytes."""
    parts = [f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>neurocine report</title>"
             f"<style>{CSS}</style></head><body>", "<h1>neurocine report</h1>"]
    tr = metrics.get("training", {})
    if tr:
        parts.append(f"<p class='note'>{len(tr.get('sessions', []))} sessions "
                     f"({', '.join(map(str, tr.get('num_neurons', [])))} neurons); {html.escape(str(tr.get('learning_mode')))}"
                     f" CEBRA, {tr.get('steps')} steps on {html.escape(str(tr.get('device')))}.</p>")
    fid = metrics.get("frame_id", {})
    if fid:
        parts.append("<h2>Frame identification (test split, pooled over sessions)</h2>")
        names = {"cebra": "CEBRA embedding kNN", "raw_knn": "raw dF/F kNN", "pca_knn": "PCA kNN", "chance": "chance"}
        rows = [[names[k], fid[k].get("accuracy_1s"), fid[k].get("mean_abs_frame_error")] for k in names if k in fid]
        parts.append(_table(["method", "accuracy within 1 s", "mean |frame error| (frames)"], rows, "frame-id", 1))
        if fid.get("per_session"):
            rows = [[sid] + [d[k]["accuracy_1s"] for k in ("cebra", "raw_knn", "pca_knn", "chance")]
                    for sid, d in fid["per_session"].items()]
            parts.append("<p class='note'>Per session (accuracy within 1 s):</p>")
            parts.append(_table(["session", "CEBRA", "raw dF/F", "PCA", "chance"], rows, "frame-id-sessions"))
        cs = fid.get("cross_session")
        if cs and cs.get("accuracy_1s"):
            import numpy as np

            a = np.array(cs["accuracy_1s"])
            off = a[~np.eye(len(a), dtype=bool)]
            cons = fid.get("consistency", {}).get("mean_r2")
            parts.append(f"<p class='note'>Cross-session decoding (kNN fitted on one session, tested on another): "
                         f"mean accuracy within 1 s {off.mean():.3f} (within-session {np.diag(a).mean():.3f}). "
                         f"Consistency between sessions (mean R²): {_fmt(cons)}.</p>")
    rec = metrics.get("reconstruction", {})
    if rec:
        parts.append(f"<h2>Frame reconstruction ({rec.get('n_test_frames')} test frames, "
                     f"{'x'.join(map(str, rec.get('output_shape', [])))} px)</h2>")
        names = {"halfunet": f"HalfUNet ({rec.get('architecture')}) from embedding",
                 "ridge_embedding": "ridge from embedding", "ridge_dff": "ridge from dF/F"}
        rows = [[names[k], rec[k]["ssim"], rec[k]["psnr"], rec[k]["pixel_r"]] for k in names if k in rec]
        parts.append(_table(["method", "SSIM", "PSNR (dB)", "pixel r"], rows, "reconstruction", 1))
    for name, caption in FIGURES:
        if name in figures:
            b64 = base64.b64encode(figures[name]).decode()
            parts.append(f"<figure><img alt='{html.escape(caption)}' src='data:image/png;base64,{b64}'>"
                         f"<figcaption>{html.escape(caption)}</figcaption></figure>")
    wt = metrics.get("wall_time_s", {})
    if wt:
        parts.append("<h2>Wall time per stage</h2>")
        parts.append(_table(["stage", "seconds"], [[k, float(v)] for k, v in wt.items()], "wall-time"))
    parts.append("<h2>All numbers</h2><details><summary>metrics.json</summary><pre>"
                 + html.escape(json.dumps(metrics, indent=1, default=float)) + "</pre></details>")
    parts.append(f"<script>{SCRIPT}</script></body></html>")
    return "\n".join(parts)


def write_report(out: str | Path) -> Path:
    """Write ``out/report.html`` (atomically) from ``out/metrics.json`` and ``out/figures``."""
    out = Path(out)
    metrics = json.loads((out / "metrics.json").read_text())
    figures = {name: (out / "figures" / name).read_bytes() for name, _ in FIGURES if (out / "figures" / name).exists()}
    page = render(metrics, figures)
    path = out / "report.html"
    with atomic_path(path, suffix=".html") as tmp:
        tmp.write_text(page, encoding="utf-8")
    return path
