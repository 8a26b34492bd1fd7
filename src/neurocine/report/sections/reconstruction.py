"""Reconstruction of seen frames (``metrics.json["reconstruction"]``) and of novel ones
(``["reconstruction"]["novel_frames"]``)."""

from __future__ import annotations

import html

from neurocine.report.sections import section
from neurocine.report.sections.cv import cv_table
from neurocine.report.tables import ci, skipped_note, table, verdict

METHODS = {"halfunet": "HalfUNet from the embedding", "ridge_embedding": "ridge from the embedding",
           "ridge_dff": "ridge from dF/F", "mean_frame": "mean training frame (floor)",
           "retrieval": "retrieval: training frame picked by the dF/F template decoder"}


def report_table(rec: dict, table_id: str, heading: str) -> str:
    parts = [heading]
    b = rec.get("strongest_baseline")
    rows = []
    for m, name in METHODS.items():
        if m not in rec:
            continue
        d, v = rec[m], rec.get("valid", {}).get(m, {})
        rows.append([name + (" ← strongest baseline" if m == b else ""), v.get("ssim"), d["ssim"],
                     ci(d.get("ssim_ci95")), d["psnr"], d["pixel_r"]])
    parts.append(table(["method", "valid SSIM", "test SSIM", "95 % CI", "PSNR (dB)", "pixel r"], rows, table_id, 2))
    diff = rec.get("comparison", {}).get(f"halfunet - {b}")
    if diff:
        parts.append(f"<p class='comparison'>HalfUNet - {html.escape(str(b))} (SSIM, test): {diff['mean']:+.3f} "
                     f"{ci(diff['ci95'])}: the HalfUNet is {verdict(diff)} the strongest baseline.</p>")
    return "\n".join(parts)


@section("reconstruction")
def reconstruction(rec: dict) -> str:
    """Reconstruction of the held-out repeat (seen frames), one table per movie."""
    parts = []
    for m in rec.get("movies", []):
        r = rec[m]
        if "skipped" in r:
            parts.append(skipped_note(f"Frame reconstruction: {m}", r["skipped"]))
            continue
        tid = "" if m == "natural_movie_one" else f"-{m}"
        parts.append(report_table(r, f"reconstruction{tid}", f"<h2>Frame reconstruction: {html.escape(m)}, "
                     f"held-out repeat ({r.get('n_test_frames')} test frames, "
                     f"{'x'.join(map(str, r.get('output_shape', [])))} px)</h2>"
                     "<p class='note'>Every test image was also a training target (the movie repeats): this "
                     "measures recognising seen frames. See the held-out-frames section for novel images.</p>"))
    return "\n".join(parts)


@section("reconstruction.novel_frames")
def novel_frames(rec: dict) -> str:
    """Reconstruction of held-out frames (never seen in training), one table per movie."""
    parts = []
    for m in rec.get("movies", []):
        r = rec[m]
        if "skipped" in r:
            parts.append(skipped_note(f"Held-out frames: {m}", r["skipped"]))
            continue
        blocks = ", ".join(f"{f['frames'][0]}-{f['frames'][1] - 1}" for f in r.get("folds", []))
        tid = "" if m == "natural_movie_one" else f"-{m}"
        parts.append(report_table(r, f"reconstruction-novel{tid}",
                                  f"<h2>Frame reconstruction: {html.escape(m)}, held-out frames (frames {blocks}; "
                                  f"{r.get('n_test_frames')} test frames)</h2><p class='note'>These frames were "
                                  "removed from every train and valid repeat for the embedding and every decoder: "
                                  "the model never saw them.</p>"))
        if r.get("cv"):
            parts.append(cv_table(f"{m}: {len(r['cv']['per_fold'])} held-out blocks (SSIM)", r["cv"],
                                  f"cv-novel-{m}", model="halfunet", title="HalfUNet"))
    return "\n".join(parts)
