"""Trial decoding as a protocol on arrays: which condition (grating direction, temporal
frequency, orientation, static grating, natural scene) each held-out trial showed.

Each trial is its mean over the stimulus period, for dF/F and embeddings alike; decoders
(logistic regression with C chosen on valid trials, kNN) are fitted on train trials, each
embedding's decoder and the strongest baseline chosen on valid trials, and the test trials
scored once, with bootstrap intervals over trials and paired differences. Used alike by
the ``decode-classes`` stage, the Python API and the benches.
"""

from __future__ import annotations

import numpy as np

from neurocine.decoders.classify import KNN, Logistic, trial_rows
from neurocine.decoders.uncertainty import block_bootstrap
from neurocine.scores import Comparison
from neurocine.settings import DEFAULT
from neurocine.stimuli import LABELS, STIMULI

BASELINES = ("logistic_dff", "knn_dff")


def stimulus_trials(part, stimulus: str) -> list[np.ndarray]:
    """Rows of each trial of ``stimulus`` in a split (runs of one condition in one segment).

    A condition is the combination of the stimulus's labels that the split carries (trial
    arrays imported with the direction alone still make trials)."""
    cond = STIMULI[stimulus].condition_ids(part.labels)
    if not len(cond):
        return []
    return trial_rows(cond, part.segment, cond >= 0)


def decode_label(sessions: list[dict], models: list[str], n_neighbors: int, n_classes: int, seed: int = 0,
                 n_boot: int = 1000) -> Comparison | None:
    """Decode one class label from per-session trial features.

    Args:
        sessions: ``[{"session_id", split: {"y": (K,), "dff": (K, N), model: (K, D)}}]``.
        models: Embedding names present in every split dict.
        n_classes: Classes of the label; chance is a uniform guess among the classes a
            decoder can output (those of the session's train trials, at most n_classes).

    Returns:
        A :class:`~neurocine.scores.Comparison` of ``accuracy`` over test trials (None when
        no session has test trials), details ``per_session`` and ``n_test_trials``.
    """
    preds = {m: [] for m in [*BASELINES, *models]}
    valid_scores = {m: {"logistic": [], "knn": []} for m in models}
    y_test, valid_pred = [], {m: [] for m in BASELINES}
    y_valid, chance_test, chance_valid = [], [], []
    per_session = {}
    for s in sessions:
        tr, va, te = s["train"], s["valid"], s["test"]
        if len(np.unique(tr["y"])) < 2 or not len(te["y"]):
            continue
        fitted = {"logistic_dff": Logistic(tr["dff"], tr["y"], va["dff"], va["y"], seed),
                  "knn_dff": KNN(tr["dff"], tr["y"], n_neighbors)}
        out, vout = {}, {}
        for name, dec in fitted.items():
            out[name] = dec.predict(te["dff"])
            vout[name] = dec.predict(va["dff"]) if len(va["y"]) else np.zeros(0, dtype=np.int64)
        for m in models:
            cands = {"logistic": Logistic(tr[m], tr["y"], va[m], va["y"], seed),
                     "knn": KNN(tr[m], tr["y"], n_neighbors)}
            for d, dec in cands.items():
                valid_scores[m][d].append((dec.predict(va[m]) if len(va["y"]) else np.zeros(0), dec.predict(te[m])))
        for k, v in out.items():
            preds[k].append(v)
        for k, v in vout.items():
            valid_pred[k].append(v)
        y_test.append(te["y"])
        y_valid.append(va["y"])
        classes = np.unique(tr["y"])  # what a decoder fitted here can output
        chance_test.append(np.isin(te["y"], classes) / len(classes))
        chance_valid.append(np.isin(va["y"], classes) / len(classes))
        per_session[s["session_id"]] = {k: float(np.mean(v == te["y"])) for k, v in out.items()}
        per_session[s["session_id"]]["chance"] = float(chance_test[-1].mean())
    if not y_test:
        return None
    y_test, y_valid = np.concatenate(y_test), np.concatenate(y_valid)
    test, valid = {}, {}
    for m in models:
        acc = {d: float(np.mean(np.concatenate([v for v, _ in valid_scores[m][d]]) == y_valid)) if len(y_valid) else 0.0
               for d in ("logistic", "knn")}
        best = max(acc, key=acc.get)
        preds[m] = [t for _, t in valid_scores[m][best]]
        test[m] = {"decoder": best, "decoder_valid_accuracy": acc}
        valid[m] = {"accuracy": acc[best]}
    scores = {k: (np.concatenate(v) == y_test).astype(float) for k, v in preds.items()}
    scores["chance"] = np.concatenate(chance_test)
    boot = block_bootstrap(scores, np.arange(len(y_test)), n_boot, seed,
                           pairs=[(m, b) for m in models for b in BASELINES])
    for k in scores:
        test.setdefault(k, {}).update(boot[k].entry("accuracy"))
    for k in BASELINES:
        valid[k] = {"accuracy": float(np.mean(np.concatenate(valid_pred[k]) == y_valid)) if len(y_valid) else None}
    valid["chance"] = {"accuracy": float(np.concatenate(chance_valid).mean()) if len(y_valid) else None}
    strongest = max(BASELINES, key=lambda b: valid[b]["accuracy"] or 0.0)
    offset = 0
    for sid in per_session:
        n = len(next(s for s in sessions if s["session_id"] == sid)["test"]["y"])
        for m in models:
            per_session[sid][m] = float(scores[m][offset:offset + n].mean())
        offset += n
    return Comparison("accuracy", tuple(models), BASELINES, test, valid,
                      {f"{m} - {strongest}": boot[f"{m} - {strongest}"] for m in models}, strongest,
                      {"per_session": per_session, "n_test_trials": int(len(y_test))})


def trial_features(part, rows: list[np.ndarray], label: str, *arrays: np.ndarray):
    """Per-trial inputs of a class label: ``(class ids (K,), first rows (K,), [trial means
    (K, D) of each array])`` over the trials in ``rows`` (:func:`stimulus_trials`) that carry
    the label."""
    ids = np.array([LABELS[label].class_ids(part.label(label)[r[:1]])[0] for r in rows], dtype=np.int64)
    keep = [r for r, c in zip(rows, ids) if c >= 0]
    means = [np.stack([x[r].mean(0) for r in keep]) if keep else np.zeros((0, x.shape[1])) for x in arrays]
    return ids[ids >= 0], np.array([r[0] for r in keep], dtype=np.int64), means


def trial_label_sessions(splits: dict, embeddings: dict, label: str, trials: list[dict]) -> list[dict]:
    """:func:`decode_label`'s inputs for one class label: per session and split, the label
    of each trial and the trial means of dF/F and of every embedding.

    Args:
        splits: ``{split: [SplitData per session]}``.
        embeddings: ``{model: {session_id: {split: {"embedding": (T, D)}}}}``.
        trials: Per session, ``{split: [rows of each trial]}`` (:func:`stimulus_trials`).
    """
    sessions = []
    for i, p in enumerate(splits["train"]):
        entry = {"session_id": p.session_id}
        for sp in ("train", "valid", "test"):
            q = splits[sp][i]
            names = list(embeddings)
            y, _, means = trial_features(q, trials[i][sp], label, q.neural,
                                         *[embeddings[m][p.session_id][sp]["embedding"] for m in names])
            entry[sp] = {"y": y, "dff": means[0], **dict(zip(names, means[1:]))}
        sessions.append(entry)
    return sessions


def classify_trials(splits: dict, embeddings: dict, supervision: dict, n_neighbors: int = DEFAULT.decoding.n_neighbors,
                    seed: int = 0) -> dict:
    """Every class label of every trial stimulus with test trials, decoded from each
    embedding beside the baselines on dF/F.

    Args:
        splits, embeddings: As :func:`trial_label_sessions`.
        supervision: ``{model: labels that trained it}`` (recorded with the numbers).

    Returns:
        ``{label: Comparison}`` (:func:`decode_label`'s, with details n_classes, unit,
        features, supervision; empty when no session has test trials).
    """
    out = {}
    for stimulus, stim in STIMULI.items():
        if stim.structure != "trials":
            continue
        trials = [{sp: stimulus_trials(splits[sp][i], stimulus) for sp in ("train", "valid", "test")}
                  for i in range(len(splits["train"]))]
        if not any(t["test"] for t in trials):
            continue
        for label in [n for n, spec in LABELS.items() if spec.stimulus == stimulus and spec.kind == "class"
                      and spec.classes is not None]:
            sessions = trial_label_sessions(splits, embeddings, label, trials)
            spec = LABELS[label]
            res = decode_label(sessions, list(embeddings), n_neighbors, spec.n_classes, seed)
            if res is None:
                continue
            out[label] = res.replace(n_classes=spec.n_classes, unit=spec.unit,
                                     features="mean over each trial's samples (stimulus period)",
                                     supervision={**supervision, "baselines": f"{label} (train trials)"})
    return out


__all__ = ["stimulus_trials", "trial_features", "decode_label", "trial_label_sessions", "classify_trials",
           "BASELINES"]
