"""A new animal, measured: how well its movie frames (or its grating trials' conditions) are
decoded after adapting a trained model to it from its first K repeats (or K trials per
condition), beside what the animal's own data alone gives.

For one new session (its train split cut to its first ``K`` movie repeats, or ``K`` trials
per condition):

* ``adapted``: the model adapted to it (:meth:`neurocine.CEBRA.adapt`), its test repeat
  decoded by decoders fitted **only on the trained sessions' embeddings** (no decoding label
  of the new animal; the decoder chosen on the trained sessions' validation data);
* ``adapted_own``: the same embedding, decoded by its own decoders fitted on its K repeats;
* ``scratch``: a model trained from scratch on its K repeats alone, its own decoders;
* ``ridge_map`` (repeats): an adapter of far fewer parameters, a ridge map from the new
  session's window of activity to the frozen shared embedding of the same stimulus moment
  (the model's key table), the penalty chosen on its validation repeat, decoded by the
  trained sessions' decoders like ``adapted``;
* ``template_own``, ``ridge_own``: the per-frame template and ridge decoders on its dF/F
  over the encoder's window, fitted on its K repeats; ``strongest_own``: the strongest of
  all its frame-ID baselines on its validation repeat (template, ridge, kNN, and the Poisson
  naive Bayes decoder when its data are spike counts); for trials ``logistic_own`` and
  ``knn_own`` on its trial-mean dF/F (the trial protocol's baselines,
  :mod:`neurocine.evaluate.trials`);
* ``chance``.

Every number on the same test samples (or trials), with block-bootstrap intervals and
paired differences (``adapted - template_own``, ``adapted - logistic_own``, ...).
"""

from __future__ import annotations

import copy
import time

import numpy as np

from neurocine.data import SplitData, keep_rows
from neurocine.decoders.classify import KNN, Logistic
from neurocine.decoders.frame_id import EigenRidge, FrameTemplates, RidgeFrames, knn_predict_frames, window_features
from neurocine.embed.modes.stimulus_aligned import alignment_keys
from neurocine.decoders.uncertainty import block_bootstrap, blocks_of
from neurocine.embed.estimator import CEBRA
from neurocine.embed.models import session_smoothing
from neurocine.evaluate.folds import repeat_ids
from neurocine.evaluate.frame_id import chance_errors, evaluate_frame_id
from neurocine.evaluate.trials import stimulus_trials, trial_features
from neurocine.errors import ConfigError
from neurocine.scores import CI, Comparison
from neurocine.settings import Config
from neurocine.stimuli import LABELS, STIMULI

METHODS = ("adapted", "adapted_own", "scratch", "ridge_map", "template_own", "ridge_own", "strongest_own", "chance")
UNITS = ("repeats", "trials")


def first_repeats(part: SplitData, label: str, k: int) -> SplitData:
    """``part`` with only the movie samples of its first ``k`` repeats (other rows dropped)."""
    rep = repeat_ids(part.label(label))
    return keep_rows(part, (rep >= 0) & (rep < k))


def first_trials(part: SplitData, k: int) -> SplitData:
    """``part`` with only its first ``k`` trials of each condition of every trial stimulus."""
    keep = np.zeros(len(part), dtype=bool)
    for name, stim in STIMULI.items():
        if stim.structure != "trials":
            continue
        cond = stim.condition_ids(part.labels)
        seen: dict[int, int] = {}
        for rows in stimulus_trials(part, name):
            c = int(cond[rows[0]])
            if seen.get(c, 0) < k:
                keep[rows] = True
                seen[c] = seen.get(c, 0) + 1
    return keep_rows(part, keep)


def others_decoders(model: CEBRA, reference: dict, label: str, n_neighbors: int, tolerance: int):
    """The frame decoder fitted on the trained sessions' train embeddings alone (pooled),
    kNN / template / ridge chosen on their validation embeddings: ``(predict, name)``."""
    def pooled(split):
        xs, fs = [], []
        for i, p in enumerate(reference[split]):
            f = p.label(label)
            rows = f >= 0
            if rows.any():
                xs.append(model.transform(p, session_id=p.session_id)[rows])
                fs.append(f[rows])
        return np.concatenate(xs), np.concatenate(fs)

    x_tr, f_tr = pooled("train")
    x_va, f_va = pooled("valid")
    ridge = RidgeFrames(x_tr, f_tr).select(x_va, f_va, tolerance)
    decoders = {"knn": lambda X: knn_predict_frames(x_tr, f_tr, X, n_neighbors),
                "template": FrameTemplates(x_tr, f_tr).predict, "linear": ridge.predict}
    scores = {name: float(np.mean(np.abs(fn(x_va) - f_va) < tolerance)) for name, fn in decoders.items()}
    best = max(scores, key=scores.get)
    return decoders[best], best


def adapt_protocol(base: CEBRA, reference: dict, new: dict, cfg: Config, *, k: int, label: str | None = None,
                   unit: str = "repeats", init: str = "encoder", say=None,
                   progress: bool = False) -> tuple[dict, CEBRA]:
    """:func:`adapt_session` summarised (:func:`summarize_adapt`, or
    :func:`summarize_adapt_trials` for ``unit="trials"``): ``(result, adapted model)``."""
    outcome, adapted = adapt_session(base, reference, new, cfg, k=k, label=label, unit=unit, init=init, say=say,
                                     progress=progress)
    if unit == "trials":
        return summarize_adapt_trials([outcome], k, init, cfg.training.seed), adapted
    return summarize_adapt([outcome], k, init, label, cfg.training.seed), adapted


def adapt_session(base: CEBRA, reference: dict, new: dict, cfg: Config, *, k: int, label: str | None = None,
                  unit: str = "repeats", init: str = "encoder", say=None, progress: bool = False) -> tuple[dict, CEBRA]:
    """Adapt ``base`` to one new session from its first ``k`` train repeats (or ``k``
    trials per condition) and decode its test split every way of the module docstring.

    Args:
        base: A trained stimulus-aligned model (not changed: a copy is adapted).
        reference: ``{split: [SplitData]}`` of the trained sessions (for their decoders).
        new: ``{split: SplitData}`` of the new session, normalised.
        cfg: The run's settings (the scratch model is trained as the run's).
        k: Movie repeats (``unit="repeats"``) or trials per condition (``unit="trials"``)
            of the new session to learn from.
        label: The movie's frame label (repeats only).

    Returns:
        ``(outcome, adapted model)``: each method's per-sample (repeats) or per-trial
        (trials, per class label) correctness on the new session's test split
        (``correct``), their ``index`` (bootstrap blocks), the decoders chosen, and
        ``seconds`` (fitting the new encoder), ``scratch_seconds``: what
        :func:`summarize_adapt` / :func:`summarize_adapt_trials` pool over sessions.
    """
    say = say or (lambda text: None)
    if unit not in UNITS:
        raise ValueError(f"adapt: unit={unit!r}, expected one of {', '.join(UNITS)}")
    train = first_repeats(new["train"], label, k) if unit == "repeats" else first_trials(new["train"], k)
    sid = new["train"].session_id
    if not len(train):
        what = f"{label} sample in its first {k} repeats" if unit == "repeats" else "trial of a trial stimulus"
        raise ConfigError(f"adapt: session {sid} has no {what}")
    adapted = copy.deepcopy(base)
    adapted.adapt(train, valid=new["valid"], init=init, progress=progress)
    seconds = adapted.adapt_state_["seconds"]
    say(f"adapt: {sid}, {k} {unit if unit == 'repeats' else 'trials per condition'}: new encoder fitted in "
        f"{seconds:.1f} s ({adapted.adapt_state_['steps']} steps)")
    t0 = time.perf_counter()
    scratch = CEBRA.from_config(cfg, verbose=progress).set_params(learning_mode="stimulus_aligned")
    scratch.fit([train], valid=[new["valid"]])
    scratch_seconds = time.perf_counter() - t0
    parts = {"train": train, "valid": new["valid"], "test": new["test"]}
    emb = {sp: {"adapted": adapted.transform(p, session_id=sid), "scratch": scratch.transform(p, session_id=0)}
           for sp, p in parts.items()}
    if unit == "repeats":
        mapped = ridge_map(base, parts)
        for sp in parts:
            emb[sp]["ridge_map"] = mapped[sp]
    common = {"session_id": sid, "seconds": seconds, "steps": adapted.adapt_state_["steps"],
              "scratch_seconds": scratch_seconds}
    if unit == "repeats":
        return {**common, **_frame_outcome(base, reference, parts, emb, cfg, label)}, adapted
    return {**common, **_class_outcome(base, reference, parts, emb, cfg)}, adapted


RIDGE_ALPHAS = (1e0, 1e1, 1e2, 1e3, 1e4, 1e5)


def ridge_map(base: CEBRA, parts: dict) -> dict:
    """``{split: (T, D) float32}``: the new session's samples mapped into the trained space
    by ridge regression from its window of activity (the encoder's receptive field,
    flattened) to the key table's embedding of each train sample's stimulus moment (its
    first K repeats); the penalty with the smallest error on its validation repeat. A
    linear adapter: ``N x W x D`` weights, no contrastive training."""
    if getattr(base, "key_table_", None) is None:
        raise ConfigError("adapt: the model has no stimulus states (key table) to map a new session onto")
    table_keys, table_emb = base.key_table_
    left, right = base.model_.left, base.model_.right

    def targets(p):
        keys = alignment_keys(p.labels, p.segment, p.sampling_rate)
        at = np.clip(np.searchsorted(table_keys, keys), 0, len(table_keys) - 1)
        known = (keys >= 0) & (table_keys[at] == keys)
        return known, table_emb[at]

    X = {sp: window_features(p.neural, p.segment, left, right).astype(np.float64) for sp, p in parts.items()}
    known, Y = targets(parts["train"])
    if not known.any():
        raise ConfigError(f"adapt: no train sample of {parts['train'].session_id} shows a stimulus moment the "
                          "model knows")
    A = X["train"][known]
    # no intercept: predictions are deviations from the table's mean, which the others' cosine
    # decoders read better than the shrunk mean-dominated ones an intercept gives (measured)
    ridge = EigenRidge(A, (A - A.mean(0)).T @ Y[known], RIDGE_ALPHAS)
    v_known, Yv = targets(parts["valid"])
    if v_known.any():
        errors = [np.mean((ridge.predict(X["valid"][v_known], a) - Yv[v_known]) ** 2) for a in RIDGE_ALPHAS]
        ridge.alpha = RIDGE_ALPHAS[int(np.argmin(errors))]
    return {sp: ridge.predict(x).astype(np.float32) for sp, x in X.items()}


def _frame_outcome(base: CEBRA, reference: dict, parts: dict, emb: dict, cfg: Config, label: str) -> dict:
    """Frame ID of the new session's test repeat, every way (:func:`adapt_session`)."""
    tol, nn = cfg.decoding.tolerance_frames, cfg.decoding.n_neighbors
    sid = parts["train"].session_id
    session = {"session_id": sid, "smoothing": session_smoothing(base.input_smoothing, parts["train"].modality)}
    for sp, p in parts.items():
        session[sp] = {"neural": p.neural, "segment": p.segment, "index": p.index, "frame": p.label(label),
                       "counts": p.counts(), "embeddings": emb[sp]}
    n_frames = LABELS[label].n_values
    test = parts["test"]
    block = max(int(round(test.sampling_rate)), 1)
    res = evaluate_frame_id([session], n_frames, n_neighbors=nn, tolerance=tol,
                            window=(base.model_.left, base.model_.right), models={"adapted": {}, "scratch": {}},
                            label=label, block_samples=block, seed=cfg.training.seed)
    pred = res.details["predictions"][sid]
    true = pred["true"]
    predict, decoder = others_decoders(base, reference, label, nn, tol)
    rows = test.label(label) >= 0
    others = predict(emb["test"]["adapted"][rows])
    correct = {"adapted": np.abs(others - true) < tol,
               "ridge_map": np.abs(predict(emb["test"]["ridge_map"][rows]) - true) < tol,
               "adapted_own": np.abs(pred["adapted"] - true) < tol,
               "scratch": np.abs(pred["scratch"] - true) < tol, "template_own": np.abs(pred["template"] - true) < tol,
               "ridge_own": np.abs(pred["linear"] - true) < tol,
               "strongest_own": np.abs(pred[res.strongest_baseline] - true) < tol}
    correct = {m: c.astype(np.float64) for m, c in correct.items()}
    seen = parts["train"].label(label)
    correct["chance"] = chance_errors(true, seen[seen >= 0], tol)[0]  # the frames a decoder fitted here can output
    return {"correct": correct, "index": test.index[rows], "block_samples": block,
            "decoders": {"adapted": f"{decoder} fitted on the trained sessions' embeddings",
                         "adapted_own": res.test["adapted"]["decoder"], "scratch": res.test["scratch"]["decoder"],
                         "strongest_own": res.strongest_baseline}}


def _chosen(fitted: dict, X_valid, y_valid):
    """The decoder of ``fitted`` ({name: decoder}) most accurate on the valid trials."""
    acc = {n: float(np.mean(d.predict(X_valid) == y_valid)) if len(y_valid) else 0.0 for n, d in fitted.items()}
    best = max(acc, key=acc.get)
    return fitted[best], best


def _class_outcome(base: CEBRA, reference: dict, parts: dict, emb: dict, cfg: Config) -> dict:
    """Every class label of every trial stimulus of the new session's test trials, every way
    (:func:`adapt_session`): ``{"labels": {label: {"correct", "index", "decoders"}}}``."""
    nn, seed = cfg.decoding.n_neighbors, cfg.training.seed
    trained = {sp: [(p, base.transform(p, session_id=p.session_id)) for p in reference[sp]]
               for sp in ("train", "valid")}
    out = {}
    for stimulus, stim in STIMULI.items():
        if stim.structure != "trials" or not stimulus_trials(parts["test"], stimulus):
            continue
        rows = {sp: stimulus_trials(p, stimulus) for sp, p in parts.items()}
        trained_rows = {sp: [stimulus_trials(p, stimulus) for p, _ in trained[sp]] for sp in trained}
        for label in [n for n, spec in LABELS.items() if spec.stimulus == stimulus and spec.kind == "class"
                      and spec.classes is not None]:
            own = {}  # split -> (y, first rows, {"dff", "adapted", "scratch": trial means})
            for sp, p in parts.items():
                y, first, means = trial_features(p, rows[sp], label, p.neural, emb[sp]["adapted"], emb[sp]["scratch"])
                own[sp] = (y, first, dict(zip(("dff", "adapted", "scratch"), means)))
            y_tr, y_va, (y_te, first, _) = own["train"][0], own["valid"][0], own["test"]
            if len(np.unique(y_tr)) < 2 or not len(y_te):
                continue
            ref = {}
            for sp in trained:
                feats = [trial_features(p, r, label, e) for (p, e), r in zip(trained[sp], trained_rows[sp])]
                ref[sp] = (np.concatenate([f[2][0] for f in feats]), np.concatenate([f[0] for f in feats]))
            others, other_name = _chosen({"logistic": Logistic(*ref["train"], *ref["valid"], seed),
                                          "knn": KNN(*ref["train"], nn)}, *ref["valid"])
            X = {key: (own["train"][2][key], own["valid"][2][key], own["test"][2][key])
                 for key in ("dff", "adapted", "scratch")}
            correct = {"adapted": others.predict(X["adapted"][2]) == y_te}
            decoders = {"adapted": f"{other_name} fitted on the trained sessions' embeddings"}
            for m in ("adapted_own", "scratch"):
                X_tr, X_va, X_te = X["adapted" if m == "adapted_own" else m]
                dec, name = _chosen({"logistic": Logistic(X_tr, y_tr, X_va, y_va, seed), "knn": KNN(X_tr, y_tr, nn)},
                                    X_va, y_va)
                correct[m], decoders[m] = dec.predict(X_te) == y_te, name
            X_tr, X_va, X_te = X["dff"]
            correct["logistic_own"] = Logistic(X_tr, y_tr, X_va, y_va, seed).predict(X_te) == y_te
            correct["knn_own"] = KNN(X_tr, y_tr, nn).predict(X_te) == y_te
            correct = {m: c.astype(np.float64) for m, c in correct.items()}
            classes = np.unique(y_tr)  # what a decoder fitted on the new animal can output
            correct["chance"] = np.isin(y_te, classes) / len(classes)
            out[label] = {"correct": correct, "index": parts["test"].index[first], "decoders": decoders}
    if not out:
        raise ConfigError(f"adapt: session {parts['test'].session_id} has no test trial of a trial stimulus with a "
                          "class label")
    return {"labels": out}


PAIRS = [("adapted", "template_own"), ("adapted", "ridge_own"), ("adapted", "scratch"), ("adapted_own", "template_own"),
         ("adapted", "strongest_own"), ("adapted_own", "strongest_own"), ("ridge_map", "strongest_own"),
         ("ridge_map", "adapted")]


#: The methods of the new animal that are ours (the rest are what they are measured against).
ADAPT_MODELS = ("adapted", "adapted_own", "ridge_map")


def sample_blocks(outcomes: list[dict]) -> np.ndarray:
    """Bootstrap blocks of the frame outcomes' pooled test samples: 1 s per session."""
    return blocks_of(np.concatenate([np.full(len(t["index"]), t["session_id"]) for t in outcomes]),
                     np.concatenate([t["index"] for t in outcomes]), outcomes[0]["block_samples"])


def trial_blocks(outcomes: list[dict]) -> np.ndarray:
    """Bootstrap blocks of one class label's pooled test trials: a trial's first sample, one
    block however many sessions saw it (:func:`summarize_adapt_trials`)."""
    return np.unique(np.concatenate([g["index"] for g in outcomes]), return_inverse=True)[1]


def summarize_adapt(trials: list[dict], k: int, init: str, label: str, seed: int = 0) -> Comparison:
    """One result from the per-session outcomes of :func:`adapt_protocol` (their test samples
    pooled, 1-s blocks per session): every method's accuracy with an interval (under
    ``"frame_id"`` in its JSON), and the paired differences."""
    correct = {m: np.concatenate([t["correct"][m] for t in trials]) for m in METHODS}
    boot = block_bootstrap(correct, sample_blocks(trials), seed=seed, pairs=PAIRS)
    frame_id = {m: boot[m].entry("accuracy_1s", CI) for m in METHODS}
    for m in ("adapted", "adapted_own", "scratch", "strongest_own"):
        frame_id[m]["decoder"] = ", ".join(sorted({t["decoders"][m] for t in trials}))
    details = {"repeats": k, "session_ids": [t["session_id"] for t in trials],
               "seconds": float(sum(t["seconds"] for t in trials)), "steps": [t["steps"] for t in trials],
               "scratch_seconds": float(sum(t["scratch_seconds"] for t in trials)), "init": init, "label": label,
               "n_test": int(len(correct["chance"])),
               "per_session": [{k: v for k, v in t.items() if k not in ("correct", "index")} for t in trials]}
    return Comparison("accuracy_1s", ADAPT_MODELS, tuple(m for m in METHODS if m not in ADAPT_MODELS + ("chance",)),
                      frame_id, None, {f"{a} - {b}": boot[f"{a} - {b}"] for a, b in PAIRS}, None,
                      details, ci_key=CI, section="frame_id")


def read_adapt(entry: dict) -> Comparison:
    """A frame-ID entry of the adapt learning curve (metrics.json) as its Comparison."""
    return Comparison.from_json(entry, "accuracy_1s", models=ADAPT_MODELS, ci_key=CI, section="frame_id")


def read_adapt_trials(entry: dict) -> Comparison:
    """One class label's entry of the trial learning curve (metrics.json) as its Comparison."""
    return Comparison.from_json(entry, "accuracy", models=("adapted", "adapted_own"), ci_key=CI)


def curve_json(curve: list) -> list[dict]:
    """The learning curve as metrics.json holds it (:func:`summarize_adapt` and
    :func:`summarize_adapt_trials` results)."""
    return [c.to_json() if isinstance(c, Comparison) else
            {**c, "classes": {label: r.to_json() for label, r in c["classes"].items()}} for c in curve]


TRIAL_METHODS = ("adapted", "adapted_own", "scratch", "logistic_own", "knn_own", "chance")
TRIAL_PAIRS = [("adapted", "logistic_own"), ("adapted", "knn_own"), ("adapted", "scratch"),
               ("adapted_own", "logistic_own")]


def summarize_adapt_trials(outcomes: list[dict], k: int, init: str, seed: int = 0) -> dict:
    """One result from the per-session outcomes of :func:`adapt_session` with
    ``unit="trials"``: per class label, every method's accuracy over the test trials pooled
    over sessions, with intervals and paired differences.

    A bootstrap block is a trial's first sample, shared by sessions that saw it at the same
    moment (pseudo-animals cut from one recording share every trial), so one trial seen by
    several sessions is resampled as one unit and the interval does not treat it as several
    independent ones."""
    labels = sorted({name for o in outcomes for name in o["labels"]})
    classes = {}
    for label in labels:
        got = [o["labels"][label] for o in outcomes if label in o["labels"]]
        correct = {m: np.concatenate([g["correct"][m] for g in got]) for m in TRIAL_METHODS}
        boot = block_bootstrap(correct, trial_blocks(got), seed=seed, pairs=TRIAL_PAIRS)
        entry = {m: boot[m].entry("accuracy", CI) for m in TRIAL_METHODS}
        for m in ("adapted", "adapted_own", "scratch"):
            entry[m]["decoder"] = got[0]["decoders"][m]
        classes[label] = Comparison("accuracy", ("adapted", "adapted_own"), ("scratch", "logistic_own", "knn_own"),
                                    entry, None, {f"{a} - {b}": boot[f"{a} - {b}"] for a, b in TRIAL_PAIRS},
                                    details={"n_test_trials": int(len(correct["chance"])),
                                             "n_classes": LABELS[label].n_classes}, ci_key=CI)
    return {"trials_per_condition": k, "session_ids": [o["session_id"] for o in outcomes],
            "seconds": float(sum(o["seconds"] for o in outcomes)), "steps": [o["steps"] for o in outcomes],
            "scratch_seconds": float(sum(o["scratch_seconds"] for o in outcomes)), "init": init, "classes": classes,
            "per_session": [{k: v for k, v in o.items() if k != "labels"} for o in outcomes]}


__all__ = ["adapt_protocol", "adapt_session", "summarize_adapt", "summarize_adapt_trials", "first_repeats",
           "first_trials", "others_decoders", "read_adapt", "read_adapt_trials", "curve_json", "ADAPT_MODELS",
           "METHODS", "PAIRS", "TRIAL_METHODS", "TRIAL_PAIRS", "UNITS"]
