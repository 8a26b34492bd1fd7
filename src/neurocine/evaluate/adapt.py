"""A new animal, measured: how well its movie frames are decoded after adapting a trained
model to it from its first K repeats, beside what the animal's own data alone gives.

For one new session (its train split cut to its first ``K`` movie repeats, or ``K`` trials
per condition):

* ``adapted``: the model adapted to it (:meth:`neurocine.CEBRA.adapt`), its test repeat
  decoded by decoders fitted **only on the trained sessions' embeddings** (no decoding label
  of the new animal; the decoder chosen on the trained sessions' validation data);
* ``adapted_own``: the same embedding, decoded by its own decoders fitted on its K repeats;
* ``scratch``: a model trained from scratch on its K repeats alone, its own decoders;
* ``template_own``, ``ridge_own``: the per-frame template and ridge decoders on its dF/F
  over the encoder's window, fitted on its K repeats;
* ``chance``.

Every number on the same test samples, with block-bootstrap intervals and paired
differences (``adapted - template_own``, ...).
"""

from __future__ import annotations

import copy
import time

import numpy as np

from neurocine.data import SplitData, keep_rows
from neurocine.decoders.frame_id import FrameTemplates, RidgeFrames, knn_predict_frames
from neurocine.decoders.uncertainty import block_bootstrap, blocks_of
from neurocine.embed.estimator import CEBRA
from neurocine.evaluate.folds import repeat_ids
from neurocine.evaluate.frame_id import chance_errors, evaluate_frame_id
from neurocine.evaluate.trials import stimulus_trials
from neurocine.settings import Config
from neurocine.stimuli import LABELS, STIMULI

METHODS = ("adapted", "adapted_own", "scratch", "template_own", "ridge_own", "chance")


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


def adapt_protocol(base: CEBRA, reference: dict, new: dict, cfg: Config, *, k: int, label: str, init: str = "encoder",
                   say=None, progress: bool = False) -> tuple[dict, CEBRA]:
    """:func:`adapt_session` summarised (:func:`summarize_adapt`): ``(result, adapted model)``."""
    outcome, adapted = adapt_session(base, reference, new, cfg, k=k, label=label, init=init, say=say,
                                     progress=progress)
    return summarize_adapt([outcome], k, init, label, cfg.training.seed), adapted


def adapt_session(base: CEBRA, reference: dict, new: dict, cfg: Config, *, k: int, label: str, init: str = "encoder",
                  say=None, progress: bool = False) -> tuple[dict, CEBRA]:
    """Adapt ``base`` to one new session from its first ``k`` train repeats and decode its
    test repeat every way of the module docstring.

    Args:
        base: A trained stimulus-aligned model (not changed: a copy is adapted).
        reference: ``{split: [SplitData]}`` of the trained sessions (for their decoders).
        new: ``{split: SplitData}`` of the new session, normalised.
        cfg: The run's settings (the scratch model is trained as the run's).
        k: Movie repeats of the new session to learn from.

    Returns:
        ``(outcome, adapted model)``: each method's per-sample correctness on the new
        session's test samples (``correct``), their ``index``, the decoders chosen, and
        ``seconds`` (fitting the new encoder), ``scratch_seconds``: what
        :func:`summarize_adapt` pools over sessions.
    """
    say = say or (lambda text: None)
    tol, nn = cfg.decoding.tolerance_frames, cfg.decoding.n_neighbors
    train = first_repeats(new["train"], label, k)
    if not len(train):
        raise ValueError(f"adapt: session {new['train'].session_id} has no {label} sample in its first {k} repeats")
    adapted = copy.deepcopy(base)
    adapted.adapt(train, valid=new["valid"], init=init, progress=progress)
    seconds = adapted.adapt_state_["seconds"]
    sid = new["train"].session_id
    say(f"adapt: {sid}, {k} repeat(s): new encoder fitted in {seconds:.1f} s ({adapted.adapt_state_['steps']} steps)")
    t0 = time.perf_counter()
    scratch = CEBRA.from_config(cfg, verbose=progress).set_params(learning_mode="stimulus_aligned")
    scratch.fit([train], valid=[new["valid"]])
    scratch_seconds = time.perf_counter() - t0
    emb = {sp: {"adapted": adapted.transform(p, session_id=sid), "scratch": scratch.transform(p, session_id=0)}
           for sp, p in (("train", train), ("valid", new["valid"]), ("test", new["test"]))}
    session = {"session_id": sid}
    for sp, p in (("train", train), ("valid", new["valid"]), ("test", new["test"])):
        session[sp] = {"neural": p.neural, "segment": p.segment, "index": p.index, "frame": p.label(label),
                       "embeddings": emb[sp]}
    n_frames = LABELS[label].n_values
    res = evaluate_frame_id([session], n_frames, n_neighbors=nn, tolerance=tol,
                            window=(base.model_.left, base.model_.right), models={"adapted": {}, "scratch": {}},
                            label=label, block_samples=max(int(round(new["test"].sampling_rate)), 1), seed=cfg.training.seed)
    pred = res["predictions"][sid]
    true = pred["true"]
    predict, decoder = others_decoders(base, reference, label, nn, tol)
    test = new["test"]
    rows = test.label(label) >= 0
    others = predict(emb["test"]["adapted"][rows])
    correct = {"adapted": np.abs(others - true) < tol, "adapted_own": np.abs(pred["adapted"] - true) < tol,
               "scratch": np.abs(pred["scratch"] - true) < tol, "template_own": np.abs(pred["template"] - true) < tol,
               "ridge_own": np.abs(pred["linear"] - true) < tol}
    correct = {m: c.astype(np.float64) for m, c in correct.items()}
    correct["chance"] = chance_errors(true, n_frames, tol)[0]
    trial = {"session_id": sid, "correct": correct, "index": test.index[rows],
             "block_samples": max(int(round(test.sampling_rate)), 1), "seconds": seconds,
             "steps": adapted.adapt_state_["steps"], "scratch_seconds": scratch_seconds,
             "decoders": {"adapted": f"{decoder} fitted on the trained sessions' embeddings",
                          "adapted_own": res["adapted"]["decoder"], "scratch": res["scratch"]["decoder"]}}
    return trial, adapted


PAIRS = [("adapted", "template_own"), ("adapted", "ridge_own"), ("adapted", "scratch"), ("adapted_own", "template_own")]


def summarize_adapt(trials: list[dict], k: int, init: str, label: str, seed: int = 0) -> dict:
    """One result from the per-session outcomes of :func:`adapt_protocol` (their test samples
    pooled, 1-s blocks per session): every method's accuracy with an interval, and the
    paired differences."""
    correct = {m: np.concatenate([t["correct"][m] for t in trials]) for m in METHODS}
    blocks = blocks_of(np.concatenate([np.full(len(t["index"]), t["session_id"]) for t in trials]),
                       np.concatenate([t["index"] for t in trials]), trials[0]["block_samples"])
    boot = block_bootstrap(correct, blocks, seed=seed, pairs=PAIRS)
    frame_id = {m: {"accuracy_1s": boot[m]["mean"], "ci95": boot[m]["ci95"]} for m in METHODS}
    for m in ("adapted", "adapted_own", "scratch"):
        frame_id[m]["decoder"] = trials[0]["decoders"][m]
    return {"repeats": k, "session_ids": [t["session_id"] for t in trials],
            "seconds": float(sum(t["seconds"] for t in trials)), "steps": [t["steps"] for t in trials],
            "scratch_seconds": float(sum(t["scratch_seconds"] for t in trials)), "init": init, "label": label,
            "frame_id": frame_id,
            "comparison": {f"{a} - {b}": {"mean": boot[f"{a} - {b}"]["mean"], "ci95": boot[f"{a} - {b}"]["ci95"]}
                           for a, b in PAIRS},
            "n_test": int(len(correct["chance"])),
            "per_session": [{k: v for k, v in t.items() if k not in ("correct", "index")} for t in trials]}


__all__ = ["adapt_protocol", "adapt_session", "summarize_adapt", "first_repeats", "first_trials", "others_decoders", "METHODS", "PAIRS"]
