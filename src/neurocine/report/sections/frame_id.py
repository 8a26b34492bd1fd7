"""Frame identification (``metrics.json["frame_id"]``) and its spread over seeds."""

from __future__ import annotations

import html

import numpy as np

from neurocine.report.sections.base import section
from neurocine.report.sections.cv import cv_table
from neurocine.report.tables import ci, scored, skipped_note, table, verdict
from neurocine.scores import Comparison, ResultError

NAMES = {"cebra": "CEBRA embedding", "cebra_label_free": "CEBRA embedding, label-free (time-contrastive)",
         "raw_knn": "kNN on dF/F (one sample)", "raw_window_knn": "kNN on dF/F (encoder's window)",
         "pca_knn": "kNN on PCA of the dF/F window", "linear": "linear decoder on the dF/F window",
         "template": "per-frame template on the dF/F window",
         "poisson_bayes": "Poisson naive Bayes on spike counts over the window",
         "window_knn_smoothed": "kNN on the window smoothed as the encoder's input",
         "linear_smoothed": "linear decoder on the window smoothed as the encoder's input",
         "template_smoothed": "per-frame template on the window smoothed as the encoder's input", "chance": "chance"}


@section("frame_id")
def frame_id(fid: dict) -> str:
    """Frame identification, one part per movie."""
    return "\n".join(movie_frame_id(fid[m], m) for m in fid.get("movies", []))


def _with_ci(res: Comparison, method: str, key: str, fmt: str) -> str:
    """``0.123 [0.100, 0.150]`` (or ``-`` where a result from an earlier version lacks it)."""
    if res.value(method, key) is None:
        return "-"
    try:
        lo, hi = res.score(method, key).ci95
    except ResultError:  # an earlier version's result: the number without its interval
        return fmt.format(res.value(method, key))
    return fmt.format(res.value(method, key)) + f" [{fmt.format(lo)}, {fmt.format(hi)}]"


def movie_frame_id(fid: dict, movie: str) -> str:
    """One movie's frame identification: every method, the margin, per session, across
    sessions, consistency."""
    if "cebra" not in fid:
        return skipped_note(f"Frame identification: {movie}", fid.get("skipped", ""))
    res = Comparison.from_json(fid, "accuracy_1s")
    b = res.strongest_baseline
    tid = "" if movie == "natural_movie_one" else f"-{movie}"  # earlier versions' ids for natural_movie_one
    parts = [f"<h2>Frame identification: {html.escape(fid.get('label', movie))}</h2>",
             f"<p class='note'>A test sample counts as identified when the decoded frame is within "
             f"{fid.get('tolerance_frames')} frames (1 s). Every decoder is fitted on the train split; choices "
             f"(each embedding's decoder, the ridge penalty) are made on the validation split, and the strongest "
             f"baseline is the one best on validation. Intervals: 95 % bootstrap over 1-s blocks of test data. "
             f"Baselines read dF/F over the encoder's own {sum(fid.get('window', [5, 5]))}-sample window.</p>"]
    rows = []
    methods = ["raw_knn", "raw_window_knn", "pca_knn", "linear", "template", "poisson_bayes", "window_knn_smoothed",
               "linear_smoothed", "template_smoothed", "chance"]
    for k in [m for m in ("cebra", "cebra_label_free") if res.has(m)] + [m for m in methods if res.has(m)]:
        d = res.test[k]
        name = NAMES[k] + (f" ({d['decoder']} decoder)" if "decoder" in d else "")
        name += " ← strongest baseline" if k == b else ""
        rows.append([name, html.escape(str(d.get("supervision", ""))), res.valid_score(k),
                     res.value(k), ci(res.score(k).ci95),
                     _with_ci(res, k, "accuracy_exact", "{:.3f}"), _with_ci(res, k, "median_abs_frame_error", "{:.0f}"),
                     res.value(k, "mean_abs_frame_error")])
    parts.append(table(["method", "trained with labels", "valid accuracy", "test accuracy (within 1 s)", "95 % CI",
                        "exact frame [95 % CI]", "median |error| (frames) [95 % CI]", "mean |error| (frames)"],
                       rows, f"frame-id{tid}", 3))
    if fid.get("chance_over"):
        parts.append(f"<p class='note'>Chance: {html.escape(fid['chance_over'])}.</p>")
    for name, diff in res.margins.items():
        parts.append(f"<p class='comparison'>{html.escape(name)}: {scored(diff, signed=True)} "
                     f"(test): the model is {verdict(diff)} the strongest baseline.</p>")
    if fid.get("cv"):
        parts.append(cv_table(f"{movie}: {fid['cv']['folds']}-fold cross-validation", fid["cv"], f"cv-{movie}"))
    if fid.get("per_session"):
        keys = [k for k in ("cebra", "cebra_label_free", b, "chance") if k in next(iter(fid["per_session"].values()))]
        rows = [[sid] + [d[k]["accuracy_1s"] for k in keys] for sid, d in fid["per_session"].items()]
        parts.append("<p class='note'>Per session (test accuracy within 1 s):</p>")
        parts.append(table(["session"] + keys, rows, f"frame-id-sessions{tid}"))
    if fid.get("per_area"):
        keys = [k for k in ("cebra", "cebra_label_free", b, "chance") if k in next(iter(fid["per_area"].values()))]
        rows = [[html.escape(a), len(d["sessions"]), d["units"]] + [d[k]["accuracy_1s"] for k in keys]
                for a, d in fid["per_area"].items()]
        parts.append("<p class='note'>Per brain area (each area of a session its own population; test accuracy "
                     "within 1 s, mean over the area's sessions):</p>")
        parts.append(table(["area", "sessions", "units"] + keys, rows, f"frame-id-areas{tid}"))
    cs = fid.get("cross_session")
    if cs and cs.get("accuracy_1s"):
        a = np.array(cs["accuracy_1s"])
        off = a[~np.eye(len(a), dtype=bool)]
        parts.append(f"<p class='note'>Cross-session decoding (kNN fitted on one session's train embedding, tested "
                     f"on another's test embedding): mean accuracy within 1 s {off.mean():.3f} (within-session "
                     f"{np.diag(a).mean():.3f}).</p>")
    con = fid.get("consistency")
    if con:
        get = lambda k: con.get(k, {}).get("mean_r2")  # noqa: E731
        fmt = lambda x: "–" if x is None else f"{x:.3f}"  # noqa: E731
        parts.append(f"<p class='note'>Consistency between sessions on held-out (test) samples, mean R²: "
                     f"embedding {fmt(get('embedding'))}; per-session PCA of dF/F, no training "
                     f"{fmt(get('pca_dff'))}; embedding with shifted frame labels (control) "
                     f"{fmt(get('shuffled_labels'))}.</p>")
    return "\n".join(parts)


@section("frame_id.seed_variation")
def seed_variation(m: dict) -> str:
    """The frame ID's spread over seeds."""
    return (f"<p class='note' id='seed-variation'>Frame ID of the embedding over {len(m['seeds'])} seeds "
            f"({', '.join(map(str, m['seeds']))}): test {m['test_mean']:.3f} ± {m['test_sd']:.3f} (sd), "
            f"valid {m['valid_mean']:.3f} ± {m['valid_sd']:.3f}.</p>")
