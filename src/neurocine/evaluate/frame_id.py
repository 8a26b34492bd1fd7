"""Frame identification as a protocol on arrays: which movie frame each held-out sample was
recorded during, for every embedding beside the fair baselines on dF/F over the encoder's
own window, decoders and penalties chosen on the validation split, the test split scored
once, with block-bootstrap intervals and paired model-minus-baseline differences.

Used alike by the ``decode-frames`` stage, the Python API and the benches.

Metrics (fractions in [0, 1], errors in frames):

* ``accuracy_1s``: fraction of samples with ``|predicted - true frame| < tolerance``
  (30 frames = 1 s at 30 Hz; the CEBRA paper's metric);
* ``accuracy_exact``: fraction of samples whose frame is predicted exactly (POYO+ reports
  the mean of this and within-30-frames accuracy);
* ``mean_abs_frame_error`` and ``median_abs_frame_error``: of ``|predicted - true frame|``
  (CEBRA reports the frame error).

Each comes with a block-bootstrap 95 % interval. Chance is the exact expectation of a
guess drawn uniformly from the frames a decoder can output (those of the train split: a
movie imported at 1-s bins has 30 of them, not 900).
"""

from __future__ import annotations

import numpy as np
from sklearn.decomposition import PCA

from neurocine.decoders.frame_id import (FrameTemplates, PoissonBayesFrames, RidgeFrames,  # noqa: F401
                                         knn_predict_frames, smooth_windows, window_counts, window_features)
from neurocine.decoders.uncertainty import block_bootstrap, block_bootstrap_median, blocks_of
from neurocine.scores import Comparison
from neurocine.settings import DEFAULT

N_NEIGHBORS = DEFAULT.decoding.n_neighbors
TOLERANCE = DEFAULT.decoding.tolerance_frames

# ---------------------------------------------------------------------------- metrics
def frame_errors(pred: np.ndarray, true: np.ndarray) -> np.ndarray:
    return np.abs(pred.astype(np.int64) - true.astype(np.int64))


def summarize(errors: np.ndarray, tolerance: int = TOLERANCE) -> dict:
    """``{"accuracy_1s", "accuracy_exact", "mean_abs_frame_error", "median_abs_frame_error",
    "n"}`` from absolute frame errors."""
    if not len(errors):
        return {"accuracy_1s": float("nan"), "accuracy_exact": float("nan"), "mean_abs_frame_error": float("nan"),
                "median_abs_frame_error": float("nan"), "n": 0}
    return {"accuracy_1s": float(np.mean(errors < tolerance)), "accuracy_exact": float(np.mean(errors == 0)),
            "mean_abs_frame_error": float(np.mean(errors)), "median_abs_frame_error": float(np.median(errors)),
            "n": int(len(errors))}


def candidate_frames(n_frames_or_frames) -> np.ndarray:
    """The frames a decoder can output: ``0..n-1`` for a count, else the distinct frames given
    (a decoder fitted on train samples predicts only frames it saw)."""
    if np.ndim(n_frames_or_frames) == 0:
        return np.arange(int(n_frames_or_frames))
    return np.unique(np.asarray(n_frames_or_frames, dtype=np.int64))


def chance_errors(true_frames: np.ndarray, frames, tolerance: int = TOLERANCE) -> tuple[np.ndarray, np.ndarray]:
    """Per sample, the exact expected accuracy and |error| of a guess drawn uniformly from
    ``frames`` (a count: every frame of the movie; an array: the frames a decoder can
    output): ``((n,) accuracy, (n,) error)``.

    Example:
        >>> acc, _ = chance_errors(np.array([0, 450]), np.arange(0, 900, 30))  # 1-s bins: 30 labels
        >>> acc.round(3).tolist()
        [0.033, 0.033]
        >>> chance_errors(np.array([0, 450]), 900)[0].round(3).tolist()
        [0.033, 0.066]
    """
    frames = candidate_frames(frames)
    out_acc = np.empty(len(true_frames))
    out_err = np.empty(len(true_frames))
    true = np.asarray(true_frames).astype(np.int64)
    for i in range(0, len(true), 4096):  # bounded memory for long test splits
        err = np.abs(true[i:i + 4096, None] - frames[None])
        out_acc[i:i + 4096], out_err[i:i + 4096] = (err < tolerance).mean(1), err.mean(1)
    return out_acc, out_err


def chance_level(true_frames: np.ndarray, frames, tolerance: int = TOLERANCE) -> dict:
    """Exact expectation for a guess drawn uniformly from ``frames`` (as :func:`chance_errors`)."""
    acc, err = chance_errors(true_frames, frames, tolerance)
    return {"accuracy_1s": float(acc.mean()), "mean_abs_frame_error": float(err.mean()), "n": int(len(true_frames))}


def movie_rows(frames: np.ndarray) -> np.ndarray:
    return np.flatnonzero(frames >= 0)


# ------------------------------------------------------------------------- evaluation
BASELINES = ("raw_knn", "raw_window_knn", "pca_knn", "linear", "template")
#: Baselines for spike counts only (every session's data are non-negative integers).
COUNT_BASELINES = ("poisson_bayes",)
#: Baselines on the window smoothed as the encoder smooths its input
#: (``model.input_smoothing``), when it does: the same input as the model.
SMOOTHED_BASELINES = ("window_knn_smoothed", "linear_smoothed", "template_smoothed")
MODEL_DECODERS = ("knn", "template", "linear")


def _decoders_for(feats_train, f_train, feats_valid, f_valid, n_neighbors, tolerance):
    """``{decoder: predict(X)}`` fitted on train (the ridge penalty chosen on valid)."""
    template = FrameTemplates(feats_train, f_train)
    ridge = RidgeFrames(feats_train, f_train).select(feats_valid, f_valid, tolerance)
    return {"knn": lambda X: knn_predict_frames(feats_train, f_train, X, n_neighbors),
            "template": template.predict, "linear": ridge.predict}


def evaluate_frame_id(sessions: list[dict], n_frames: int, *, n_neighbors: int = N_NEIGHBORS,
                      tolerance: int = TOLERANCE,
                      window: tuple[int, int] = (5, 5), pca_dim: int = 32, models: dict | None = None,
                      label: str = "natural_movie_one.frame", block_samples: int = 30, n_boot: int = 1000,
                      seed: int = 0, baselines: bool = True) -> dict:
    """Frame ID of each model's embedding beside the baselines, on valid and test.

    Args:
        sessions: One dict per session: ``{"session_id", "rate"?, "train"|"valid"|"test":
            {"neural" (T, N), "segment" (T,), "index" (T,), "frame" (T,), "embeddings":
            {model: (T, D)}}}``.
        n_frames: Frames in the movie (chance).
        window: ``(left, right)`` receptive field of the encoder (the raw window baselines).
        pca_dim: Components of the PCA baseline (the embedding's dimension).
        models: ``{model: {"supervision": str}}`` of the embeddings to evaluate.
        label: The frame label (named as the baselines' supervision).
        block_samples: Samples per bootstrap block (1 s).
        baselines: False evaluates the models only (no baselines, no comparison).

    Returns:
        A :class:`~neurocine.scores.Comparison` of ``accuracy_1s`` (None when no test
        sample shows the movie): each method's ``accuracy_1s``, ``accuracy_exact``, mean
        and median absolute frame error with intervals, on test and valid; the strongest
        baseline (valid); each model's paired margin over it; details ``per_session``,
        ``predictions`` (test, per session), ``comparison_other_metrics`` (the margins in
        the field's other metrics). Each model's entry also says which decoder (chosen on
        valid) it uses.
    """
    models = models or {}
    counts = baselines and all(s[sp].get("counts") is not None for s in sessions for sp in ("train", "valid", "test"))
    smoothed = baselines and any(s.get("smoothing", 0.0) > 0 for s in sessions)
    base_names = (list(BASELINES) + (list(COUNT_BASELINES) if counts else [])
                  + (list(SMOOTHED_BASELINES) if smoothed else [])) if baselines else []
    methods = list(models) + base_names
    preds = {split: {m: [] for m in methods} for split in ("valid", "test")}
    truth = {split: [] for split in ("valid", "test")}
    where = {split: [] for split in ("valid", "test")}
    model_choice = {m: {d: {"valid": [], "test": []} for d in MODEL_DECODERS} for m in models}
    seen = []  # the train frames: what the decoders can output
    for s in sessions:
        tr = s["train"]
        a = movie_rows(tr["frame"])
        if len(a) == 0 or all(len(movie_rows(s[sp]["frame"])) == 0 for sp in ("valid", "test")):
            continue
        f_tr = tr["frame"][a]
        seen.append(f_tr)
        rows = {sp: movie_rows(s[sp]["frame"]) for sp in ("valid", "test")}
        feats = {sp: {} for sp in ("train", "valid", "test")}
        for sp in ("train", "valid", "test"):
            d, r = s[sp], (a if sp == "train" else rows[sp])
            feats[sp]["raw"] = d["neural"][r]
            feats[sp]["window"] = window_features(d["neural"], d["segment"], *window)[r]
            if counts:
                feats[sp]["counts"] = window_counts(d["counts"], d["segment"], *window)[r]
            if smoothed:
                feats[sp]["smoothed"] = smooth_windows(feats[sp]["window"], sum(window), s.get("smoothing", 0.0))
            for m in models:
                feats[sp][m] = d["embeddings"][m][r]
        pca = PCA(n_components=min(pca_dim, *feats["train"]["window"].shape),
                  random_state=seed).fit(feats["train"]["window"])
        for sp in ("train", "valid", "test"):
            feats[sp]["pca"] = pca.transform(feats[sp]["window"])
        f_va = s["valid"]["frame"][rows["valid"]]
        win = {} if not baselines else _decoders_for(feats["train"]["window"], f_tr, feats["valid"]["window"], f_va,
                                                     n_neighbors, tolerance)
        bayes = PoissonBayesFrames(feats["train"]["counts"], f_tr) if counts else None
        smooth = {} if not smoothed else _decoders_for(feats["train"]["smoothed"], f_tr, feats["valid"]["smoothed"],
                                                       f_va, n_neighbors, tolerance)
        baseline = {
            "poisson_bayes": lambda sp: bayes.predict(feats[sp]["counts"]),
            "raw_knn": lambda sp: knn_predict_frames(feats["train"]["raw"], f_tr, feats[sp]["raw"], n_neighbors),
            "raw_window_knn": lambda sp: win["knn"](feats[sp]["window"]),
            "pca_knn": lambda sp: knn_predict_frames(feats["train"]["pca"], f_tr, feats[sp]["pca"], n_neighbors),
            "linear": lambda sp: win["linear"](feats[sp]["window"]),
            "template": lambda sp: win["template"](feats[sp]["window"]),
            "window_knn_smoothed": lambda sp: smooth["knn"](feats[sp]["smoothed"]),
            "linear_smoothed": lambda sp: smooth["linear"](feats[sp]["smoothed"]),
            "template_smoothed": lambda sp: smooth["template"](feats[sp]["smoothed"]),
        }
        for sp in ("valid", "test"):
            if len(rows[sp]) == 0:
                continue
            true = s[sp]["frame"][rows[sp]]
            truth[sp].append(true)
            where[sp].append((s["session_id"], s[sp]["index"][rows[sp]]))
            for name in base_names:
                preds[sp][name].append(baseline[name](sp))
        for m in models:
            dec = _decoders_for(feats["train"][m], f_tr, feats["valid"][m], f_va, n_neighbors, tolerance)
            for d, fn in dec.items():
                for sp in ("valid", "test"):
                    if len(rows[sp]):
                        model_choice[m][d][sp].append(fn(feats[sp][m]))
    if not truth["test"]:
        return None
    true = {sp: np.concatenate(truth[sp]) if truth[sp] else np.zeros(0, np.int64) for sp in ("valid", "test")}
    candidates = candidate_frames(np.concatenate(seen))
    valid = {}
    out = {"n_frames": n_frames, "tolerance_frames": tolerance, "window": list(window),
           "chance_over": f"a uniform guess among the {len(candidates)} frames of the train split (what a decoder "
                          "can output)"}
    # each model's decoder: the best on valid
    for m in models:
        valid_acc = {d: float(np.mean(frame_errors(np.concatenate(model_choice[m][d]["valid"]), true["valid"])
                                      < tolerance)) if model_choice[m][d]["valid"] else -1.0
                     for d in MODEL_DECODERS}
        best = max(MODEL_DECODERS, key=lambda d: valid_acc[d])
        for sp in ("valid", "test"):
            preds[sp][m] = model_choice[m][best][sp]
        out[m] = {"decoder": best, "decoder_valid_accuracy_1s": valid_acc, **models[m]}
    scores = {}
    for sp in ("valid", "test"):
        if not len(true[sp]):
            continue
        blocks = blocks_of(np.concatenate([np.full(len(i), sid, dtype=object) for sid, i in where[sp]]).astype(str),
                           np.concatenate([i for _, i in where[sp]]), block_samples)
        acc_c, err_c = chance_errors(true[sp], candidates, tolerance)
        sc = {"chance": acc_c}
        er = {"chance": err_c}
        ex = {"chance": np.isin(true[sp], candidates) / len(candidates)}
        for m in methods:
            err = frame_errors(np.concatenate(preds[sp][m]), true[sp])
            sc[m], er[m] = (err < tolerance).astype(np.float64), err.astype(np.float64)
            ex[m] = (err == 0).astype(np.float64)
        pairs = [(m, b) for m in models for b in base_names]
        boot_acc = block_bootstrap(sc, blocks, n_boot, seed, pairs=pairs)
        boot_err = block_bootstrap(er, blocks, n_boot, seed, pairs=pairs)
        boot_exact = block_bootstrap(ex, blocks, n_boot, seed, pairs=pairs)
        boot_median = block_bootstrap_median({m: er[m] for m in methods}, blocks, n_boot, seed)
        for m in list(sc):
            entry = {**boot_acc[m].entry("accuracy_1s"), **boot_exact[m].entry("accuracy_exact"),
                     **boot_err[m].entry("mean_abs_frame_error"), "n": int(len(true[sp]))}
            if m in boot_median:
                entry.update(boot_median[m].entry("median_abs_frame_error"))
            if sp == "test":
                out.setdefault(m, {}).update(entry)
            else:
                valid[m] = entry
        scores[sp] = {"accuracy_1s": boot_acc, "accuracy_exact": boot_exact, "mean_abs_frame_error": boot_err}
    out["chance"]["supervision"] = "none"
    test = {m: out.pop(m) for m in [*models, "chance", *base_names] if m in out}
    result = Comparison("accuracy_1s", tuple(models), tuple(base_names), test, valid, details=out)
    if not baselines:
        return result.replace(predictions={})
    for b in base_names:
        test[b]["supervision"] = f"{label} (train split)"
        test[b]["features"] = {"raw_knn": "dF/F, one sample", "raw_window_knn": f"dF/F, {sum(window)}-sample window",
                               "pca_knn": f"PCA({pca_dim}) of the dF/F window", "linear": "dF/F window",
                               "template": "dF/F window",
                               "poisson_bayes": f"spike counts summed over the {sum(window)}-sample window",
                               **{name: "the window smoothed as the encoder's input (model.input_smoothing)"
                                  for name in SMOOTHED_BASELINES}}[b]
    strongest = result.strongest_baseline
    margins = {f"{m} - {strongest}": scores["test"]["accuracy_1s"][f"{m} - {strongest}"] for m in models}
    out["comparison_other_metrics"] = {  # the field's metrics, same pairs, same resamples
        f"{m} - {strongest}": {metric: scores["test"][metric][f"{m} - {strongest}"].to_json(full=False)
                               for metric in ("accuracy_exact", "mean_abs_frame_error")} for m in models}
    # per session (test), and the predictions for the figure
    per_session, predictions = {}, {}
    offset = 0
    for sid, idx in where["test"]:
        n = len(idx)
        t = true["test"][offset:offset + n]
        entry, saved = {}, {"true": t}
        for m in methods:
            p = np.concatenate(preds["test"][m])[offset:offset + n]
            entry[m] = summarize(frame_errors(p, t), tolerance)
            saved[m] = p
        entry["chance"] = chance_level(t, candidates, tolerance)
        per_session[sid] = entry
        predictions[sid] = saved
        offset += n
    out["per_session"] = per_session
    out["predictions"] = predictions
    return Comparison("accuracy_1s", tuple(models), tuple(base_names), test, valid, margins, strongest, out)



# ------------------------------------------------------------------- across sessions
def cross_session_frame_id(train: dict, test: dict, n_neighbors: int = N_NEIGHBORS, tolerance: int = TOLERANCE) -> dict:
    """kNN fitted on session i's train embeddings, tested on session j's test embeddings
    (meaningful only for aligned multi-session models).

    Args:
        train, test: ``{session_id: {"embedding": (T, D), "frame": (T,)}}``.

    Returns:
        ``{"sessions": [ids], "accuracy_1s": S x S list, "mean_abs_frame_error": S x S list}``.
    """
    ids = [s for s in test if len(movie_rows(test[s]["frame"])) and len(movie_rows(train[s]["frame"]))]
    acc = np.zeros((len(ids), len(ids)))
    mae = np.zeros_like(acc)
    for i, si in enumerate(ids):
        a = movie_rows(train[si]["frame"])
        nn_X, nn_f = train[si]["embedding"][a], train[si]["frame"][a]
        for j, sj in enumerate(ids):
            b = movie_rows(test[sj]["frame"])
            err = frame_errors(knn_predict_frames(nn_X, nn_f, test[sj]["embedding"][b], n_neighbors),
                               test[sj]["frame"][b])
            s = summarize(err, tolerance)
            acc[i, j], mae[i, j] = s["accuracy_1s"], s["mean_abs_frame_error"]
    return {"sessions": ids, "accuracy_1s": acc.tolist(), "mean_abs_frame_error": mae.tolist()}


def consistency(embeddings: dict, frames: dict, n_frames: int) -> dict:
    """CEBRA's between-datasets consistency (R² of linear fits between sessions'
    embeddings, aligned by movie frame), via ``cebra.sklearn.metrics.consistency_score``.

    Args:
        embeddings: ``{session_id: (T, D)}`` (held-out samples).
        frames: ``{session_id: (T,)}`` their frames (-1: not a movie sample).
    """
    from cebra.integrations.sklearn.metrics import consistency_score  # noqa: PLC0415 - cebra is heavy

    ids = [s for s in embeddings if len(movie_rows(frames[s]))]
    if len(ids) < 2:
        return {}
    embs = [embeddings[s][movie_rows(frames[s])] for s in ids]
    labels = [frames[s][movie_rows(frames[s])].astype(float) for s in ids]
    # one bin per 10 frames, but never more bins than frames shown (binned data at 1 s shows
    # every 30th frame; a shorter movie, fewer): cebra needs a label near every bin
    bins = max(2, min(n_frames // 10, min(len(np.unique(x)) for x in labels)))
    try:
        scores, pairs, _ = consistency_score(embs, between="datasets", labels=labels, dataset_ids=ids,
                                             num_discretization_bins=bins)
    except ValueError as exc:  # frames too unevenly covered to align sessions: say so, decode anyway
        return {"skipped": f"sessions cannot be aligned by frame ({str(exc)[:120]})"}
    return {"scores": [float(x) for x in np.ravel(scores)],
            "pairs": [[str(a) for a in p] for p in np.asarray(pairs).reshape(-1, 2)],
            "mean_r2": float(np.mean(scores))}


def movie_sessions(splits: dict, embeddings: dict, label: str, smoothing: dict | None = None) -> list[dict]:
    """:func:`evaluate_frame_id`'s per-session inputs from a run's splits and embeddings.

    Args:
        splits: ``{split: [SplitData per session]}`` (normalised dF/F).
        embeddings: ``{model: {session_id: {split: {"embedding": (T, D), ...}}}}``.
        label: The movie's frame label.
        smoothing: ``{session_id: samples}``, the input smoothing of each session's encoder
            (the smoothed baselines read the window the same way; absent: none).
    """
    first = next(iter(embeddings.values()))
    sessions = []
    for i, part in enumerate(splits["train"]):
        sid = part.session_id
        if sid not in first:
            continue
        entry = {"session_id": sid, "smoothing": float((smoothing or {}).get(sid, 0.0))}
        for split in ("train", "valid", "test"):
            p = splits[split][i]
            entry[split] = {"neural": p.neural, "segment": p.segment, "index": p.index, "frame": p.label(label),
                            "counts": p.counts(),  # None unless the data are spike counts
                            "embeddings": {m: e[sid][split]["embedding"] for m, e in embeddings.items()}}
        sessions.append(entry)
    return sessions


def frame_id_protocol(splits: dict, embeddings: dict, models: dict, label: str, n_frames: int, *,
                      window=(5, 5), n_neighbors: int = N_NEIGHBORS, tolerance: int = TOLERANCE, seed: int = 0,
                      aligned: bool = False, smoothing: dict | None = None) -> tuple[Comparison | None, dict]:
    """Frame ID of one movie on every embedding, beside the baselines; with an aligned
    multi-session model also cross-session decoding and consistency.

    Args:
        splits, embeddings: As :func:`movie_sessions`.
        models: ``{model: {"supervision": ..., ...}}`` shown with each model's numbers.
        label, n_frames: The movie's frame label and its length (frames).
        window: The encoder's receptive field (the baselines read the same window).
        aligned: The sessions share one space (cross-session decoding is meaningful).
        smoothing: As :func:`movie_sessions`.

    Returns:
        ``(result, predictions)``: :func:`evaluate_frame_id`'s result (None when no test
        sample shows the movie) and the test predictions per session.
    """
    sessions = movie_sessions(splits, embeddings, label, smoothing)
    if not sessions:
        return None, {}
    dim = int(sessions[0]["train"]["embeddings"][next(iter(models))].shape[1])
    rate = splits["test"][0].sampling_rate
    res = evaluate_frame_id(sessions, n_frames, n_neighbors=n_neighbors, tolerance=tolerance, window=tuple(window),
                            pca_dim=dim, models=models, label=label, block_samples=max(int(round(rate)), 1), seed=seed)
    if res is None:
        return None, {}
    details = {k: v for k, v in res.details.items() if k != "predictions"}
    details["label"] = label
    main = next(iter(models))
    if len(sessions) > 1 and aligned:
        pack = lambda sp: {s["session_id"]: {"embedding": s[sp]["embeddings"][main],  # noqa: E731
                                             "frame": s[sp]["frame"]} for s in sessions}
        details["cross_session"] = cross_session_frame_id(pack("train"), pack("test"), n_neighbors, tolerance)
        details["consistency"] = consistency_beside_controls(sessions, main, n_frames, dim, seed)
    return res.replace(details=details), res.details["predictions"]


def consistency_beside_controls(sessions: list[dict], model: str, n_frames: int, dim: int, seed: int) -> dict:
    """Consistency of held-out (test) embeddings between sessions, beside per-session PCA
    of dF/F (no training) and a control with each session's frame labels shifted by a
    random offset (an aligned embedding should beat both)."""
    test_emb = {s["session_id"]: s["test"]["embeddings"][model] for s in sessions}
    test_frames = {s["session_id"]: s["test"]["frame"] for s in sessions}
    out = {"embedding": consistency(test_emb, test_frames, n_frames)}
    pca = {}
    for s in sessions:
        tr = s["train"]["neural"]
        pca[s["session_id"]] = PCA(min(dim, tr.shape[1]), random_state=seed).fit(tr).transform(s["test"]["neural"])
    out["pca_dff"] = consistency(pca, test_frames, n_frames)
    rng = np.random.default_rng(seed)
    shifted = {sid: np.where(f >= 0, (f + rng.integers(n_frames // 4, 3 * n_frames // 4)) % n_frames, -1)
               for sid, f in test_frames.items()}
    out["shuffled_labels"] = consistency(test_emb, shifted, n_frames)
    out["split"] = "test"
    return out


__all__ = ["COUNT_BASELINES", "per_area", "evaluate_frame_id", "frame_id_protocol", "movie_sessions",
           "cross_session_frame_id", "consistency", "consistency_beside_controls", "chance_level", "chance_errors",
           "candidate_frames", "summarize", "frame_errors", "BASELINES", "MODEL_DECODERS"]


def per_area(per_session: dict, areas: dict[str, str], units: dict[str, int]) -> dict:
    """Per-session results grouped by brain area (populations read one per area):
    ``{area: {"sessions": [...], "units": total, method: {"accuracy_1s": mean over the
    area's sessions, "per_session": [...]}}}``; {} when no session has a single area."""
    out: dict = {}
    for sid, res in per_session.items():
        area = areas.get(sid)
        if not area:
            continue
        entry = out.setdefault(area, {"sessions": [], "units": 0})
        entry["sessions"].append(sid)
        entry["units"] += int(units.get(sid, 0))
        for method, r in res.items():
            if isinstance(r, dict) and "accuracy_1s" in r:
                entry.setdefault(method, {"per_session": []})["per_session"].append(float(r["accuracy_1s"]))
    for entry in out.values():
        for method, r in entry.items():
            if isinstance(r, dict):
                r["accuracy_1s"] = float(np.mean(r["per_session"]))
    return dict(sorted(out.items()))

