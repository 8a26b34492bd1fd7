"""Reconstruction of seen frames (``metrics.json["reconstruction"]``) and of novel ones
(``["reconstruction"]["novel_frames"]``)."""

from __future__ import annotations

import html
import json

from neurocine.report.sections.base import section
from neurocine.report.sections.cv import cv_table
from neurocine.report.tables import ci, scored, skipped_note, table, verdict
from neurocine.scores import Comparison

from neurocine.evaluate.reconstruction import METHODS, MODELS

NAMES = {"halfunet": "HalfUNet", "halfunet_retrieval": "retrieval corrected by the HalfUNet"}


def report_table(rec: dict, table_id: str, heading: str) -> str:
    parts = [heading]
    res = Comparison.from_json(rec, "ssim", models=MODELS)
    b = res.strongest_baseline
    rows = []
    for m, name in METHODS.items():
        if not res.has(m):
            continue
        rows.append([name + (" ← strongest baseline" if m == b else ""), res.valid_score(m), res.value(m),
                     ci(res.score(m).ci95), res.value(m, "psnr"), res.value(m, "pixel_r")])
    parts.append(table(["method", "valid SSIM", "test SSIM", "95 % CI", "PSNR (dB)", "pixel r"], rows, table_id, 2))
    for m in MODELS:
        if res.has_margin(m):
            diff = res.margin(m)
            best = " (the model chosen on valid)" if rec.get("best_model") == m and len(MODELS) > 1 else ""
            parts.append(f"<p class='comparison'>{NAMES[m]}{best} - {html.escape(str(b))} (SSIM, test): "
                         f"{scored(diff, signed=True)}: {verdict(diff)} the strongest baseline.</p>")
    if rec.get("blend_weights"):
        parts.append("<p class='note'>Blend weights w (chosen on valid): "
                     + html.escape(json.dumps(rec["blend_weights"])) + "</p>")
    return "\n".join(parts)


def pooled_table(pooled: dict, table_id: str, movie: str) -> str:
    """Every animal at once beside each animal alone, on the test samples every session saw."""
    if "skipped" in pooled:
        return skipped_note(f"Every animal at once: {movie}", pooled["skipped"])
    res = Comparison.from_json(pooled, "ssim", models=MODELS)
    b = res.strongest_baseline
    rows = [[name + (" ← strongest baseline" if m == b else ""), pooled["alone"][m], res.valid_score(m),
             res.value(m), ci(res.score(m).ci95)] for m, name in METHODS.items() if res.has(m)]
    parts = [f"<h3>{html.escape(movie)}: every animal at once ({pooled['n_sessions']} sessions, "
             f"{pooled['n_test_frames']} test frames shown to every one)</h3>",
             "<p class='note'>Embeddings averaged in the shared space (the single-animal HalfUNet and ridge), "
             "against the pseudo-population on dF/F: ridge on the animals' dF/F concatenated, retrieval with one "
             "vote per animal. 'Each animal alone' is the mean over animals on the same samples.</p>",
             table(["method", "each animal alone (test SSIM)", "all at once, valid SSIM", "all at once, test SSIM",
                    "95 % CI"], rows, table_id, 3)]
    for m in MODELS:
        if res.has_margin(m):
            diff = res.margin(m)
            parts.append(f"<p class='comparison'>{NAMES[m]}, all at once - {html.escape(str(b))} (SSIM, test): "
                         f"{scored(diff, signed=True)}: {verdict(diff)} the strongest baseline.</p>")
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
        if r.get("pooled"):
            parts.append(pooled_table(r["pooled"], f"reconstruction-pooled{tid}", m))
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
        if r.get("pooled"):
            parts.append(pooled_table(r["pooled"], f"reconstruction-novel-pooled{tid}", f"{m}, held-out frames"))
        for model in MODELS:
            cv = r.get("cv" if model == "halfunet" else f"cv_{model}")
            if cv:
                parts.append(cv_table(f"{m}: {len(cv['per_fold'])} held-out blocks (SSIM), {NAMES[model]}", cv,
                                      f"cv-novel-{m}" + ("" if model == "halfunet" else f"-{model}"), model=model,
                                      title=NAMES[model]))
    return "\n".join(parts)
