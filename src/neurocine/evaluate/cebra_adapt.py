"""cebra.CEBRA's own ``adapt=True`` as a baseline for a new animal, and the
leave-one-animal-out learning curve that sets it beside neurocine's adapt.

``adapt=True`` re-fits the first layer of a trained single-session cebra.CEBRA to new data
(CEBRA issues #160, #108: it adapts one session's model only), so it sees one trained
animal: the model is trained on the first trained animal with the stimulus states as
discrete labels (:func:`~neurocine.embed.modes.stimulus_aligned.alignment_keys`, the states
stimulus alignment pulls together), adapted to the new animal's first K repeats (or trials
per condition), and the new animal's test split is decoded with decoders fitted on the
trained animal's embedding (kNN or template for frames, logistic or kNN for trial labels,
chosen on the trained animal's valid split).

:func:`leave_one_animal_out` is the protocol of README's "a new animal" tables: each
animal in turn is the new one, a model trained on the others (the run's settings) is
adapted to it from K = 1, 2, 4, 8 repeats or trials per condition, and its test split is
decoded every way of :mod:`neurocine.evaluate.adapt` (and by ``cebra_adapt``), the test
samples pooled over the held-out animals for each K.
"""

from __future__ import annotations

import copy
import time

import numpy as np

from neurocine.data import normalized_splits, training_rows
from neurocine.decoders.classify import KNN, Logistic
from neurocine.decoders.frame_id import FrameTemplates, knn_predict_frames
from neurocine.decoders.uncertainty import block_bootstrap
from neurocine.embed.estimator import CEBRA
from neurocine.embed.modes.stimulus_aligned import alignment_keys
from neurocine.evaluate.adapt import (adapt_session, first_repeats, first_trials, sample_blocks, summarize_adapt,
                                     summarize_adapt_trials, trial_blocks)
from neurocine.evaluate.trials import stimulus_trials, trial_features
from neurocine.settings import Config
from neurocine.stimuli import LABELS, STIMULI

#: The method name of cebra.CEBRA's ``adapt=True`` in the learning curve.
CEBRA_ADAPT = "cebra_adapt"


def _labelled(part):
    keys = alignment_keys(part.labels, part.segment, part.sampling_rate)
    return part.neural[keys >= 0], keys[keys >= 0]


def cebra_adapt(cfg: Config, reference: dict, new: dict, k: int, unit: str, steps: int, seed: int,
                label: str = "natural_movie_one.frame") -> dict:
    """cebra.CEBRA ``adapt=True`` on one new animal (module docstring).

    Args:
        cfg: The run's settings (the architecture, batch, learning rate, temperature and
            dimension of the cebra.CEBRA model).
        reference: ``{split: [SplitData]}`` of the trained animals (the first one is used).
        new: ``{split: SplitData}`` of the new animal.
        k: Repeats (``unit="repeats"``) or trials per condition (``"trials"``) to adapt from.
        steps: Training steps (a fifth of them for the adaptation).
        label: The movie's frame label (repeats).

    Returns:
        Repeats: ``{"correct": (n,) float}`` per test movie sample (within the tolerance);
        trials: ``{label: {"correct": (n,) float}}`` per test trial of each class label.
    """
    import cebra  # noqa: PLC0415 - heavy, and only this baseline needs the anchor's estimator
    import torch  # noqa: PLC0415

    torch.manual_seed(seed)
    m = cfg.model
    model = cebra.CEBRA(model_architecture=m.model_architecture, batch_size=m.batch_size, learning_rate=m.learning_rate,
                        temperature=m.temperature, output_dimension=m.output_dimension,
                        num_hidden_units=m.num_hidden_units, max_iterations=steps,
                        max_adapt_iterations=max(steps // 5, 1), device="cpu", verbose=False)
    trained = {sp: reference[sp][0] for sp in ("train", "valid")}  # one trained animal: cebra adapts one session
    x, keys = _labelled(trained["train"])
    _, dense = np.unique(keys, return_inverse=True)
    model.fit(x, dense)
    emb_ref = {sp: model.transform(p.neural) for sp, p in trained.items()}
    adapted = copy.deepcopy(model)
    part = first_repeats(new["train"], label, k) if unit == "repeats" else first_trials(new["train"], k)
    x_new, keys_new = _labelled(part)
    lookup = {int(v): i for i, v in enumerate(np.unique(keys))}
    adapted.fit(x_new, np.array([lookup.get(int(v), 0) for v in keys_new]), adapt=True)
    emb_test = adapted.transform(new["test"].neural)
    tol, nn = cfg.decoding.tolerance_frames, cfg.decoding.n_neighbors
    if unit == "repeats":
        f = {sp: p.label(label) for sp, p in trained.items()}
        rows = {sp: f[sp] >= 0 for sp in f}
        x_tr, f_tr = emb_ref["train"][rows["train"]], f["train"][rows["train"]]
        decoders = {"knn": lambda X: knn_predict_frames(x_tr, f_tr, X, nn),
                    "template": FrameTemplates(x_tr, f_tr).predict}
        score = {n: np.mean(np.abs(d(emb_ref["valid"][rows["valid"]]) - f["valid"][rows["valid"]]) < tol)
                 for n, d in decoders.items()}
        best = max(score, key=score.get)
        t = new["test"].label(label)
        return {"correct": (np.abs(decoders[best](emb_test[t >= 0]) - t[t >= 0]) < tol).astype(float)}
    out = {}
    for stimulus, stim in STIMULI.items():
        if stim.structure != "trials" or not stimulus_trials(new["test"], stimulus):
            continue
        for name in [n for n, s in LABELS.items() if s.stimulus == stimulus and s.kind == "class" and s.classes]:
            def features(p, x, stimulus=stimulus, name=name):
                y, _, (means,) = trial_features(p, stimulus_trials(p, stimulus), name, x)
                return means, y

            tr = features(trained["train"], emb_ref["train"])
            va = features(trained["valid"], emb_ref["valid"])
            te = features(new["test"], emb_test)
            cands = {"logistic": Logistic(*tr, *va, seed), "knn": KNN(*tr, nn)}
            best = max(cands, key=lambda n: np.mean(cands[n].predict(va[0]) == va[1]))
            out[name] = {"correct": (cands[best].predict(te[0]) == te[1]).astype(float)}
    return out


def leave_one_animal_out(sessions: list, cfg: Config, ks=(1, 2, 4, 8), *, unit: str = "repeats",
                         init: str = "encoder", label: str | None = "natural_movie_one.frame",
                         with_cebra_adapt: bool = True, say=None) -> dict:
    """The learning curve of a new animal, each animal of ``sessions`` held out in turn.

    Args:
        sessions: Raw sessions (:class:`~neurocine.session.Session`), one per animal
            (pseudo-animals: :func:`neurocine.io.movies.split_units`).
        cfg: The run's settings (the base model and the scratch models train as the run's).
        ks: Repeats (``unit="repeats"``) or trials per condition (``"trials"``).
        label: The movie's frame label (repeats).
        with_cebra_adapt: Also cebra.CEBRA's ``adapt=True`` (:func:`cebra_adapt`).

    Returns:
        ``{"curve": {k: result}, "base_seconds": [...]}``: repeats, one
        :class:`~neurocine.scores.Comparison` per K (:func:`summarize_adapt`, with
        ``cebra_adapt`` among its methods when run); trials, :func:`summarize_adapt_trials`'s
        result per K (its ``classes`` Comparisons likewise).
    """
    say = say or (lambda text: None)
    outcomes = {k: [] for k in ks}
    theirs = {k: [] for k in ks}
    base_seconds = []
    for held in range(len(sessions)):
        rest = [s for i, s in enumerate(sessions) if i != held]
        ref = {sp: normalized_splits(rest, sp) for sp in ("train", "valid", "test")}
        t0 = time.perf_counter()
        base = CEBRA.from_config(cfg).fit(training_rows(ref["train"]), valid=training_rows(ref["valid"]))
        base_seconds.append(time.perf_counter() - t0)
        new = {sp: normalized_splits([sessions[held]], sp)[0] for sp in ("train", "valid", "test")}
        for k in ks:
            outcome, _ = adapt_session(base, ref, new, cfg, k=k, label=label if unit == "repeats" else None,
                                       unit=unit, init=init)
            outcomes[k].append(outcome)
            say(f"  held-out {sessions[held].session_id}, {init}, K={k}: new encoder {outcome['seconds']:.1f} s")
        for k in ks if with_cebra_adapt else ():  # after ours: it reseeds torch's global generator
            theirs[k].append(cebra_adapt(cfg, ref, new, k, unit, cfg.model.max_iterations, cfg.training.seed,
                                         label or "natural_movie_one.frame"))
    curve = {}
    for k in ks:
        got = outcomes[k]
        if unit == "repeats":
            res = summarize_adapt(got, k, init, label, cfg.training.seed)
            if with_cebra_adapt:
                res = _with_method(res, np.concatenate([c["correct"] for c in theirs[k]]), sample_blocks(got),
                                   cfg.training.seed)
            curve[k] = res
            continue
        res = summarize_adapt_trials(got, k, init, cfg.training.seed)
        if with_cebra_adapt:
            for name, e in res["classes"].items():
                blocks = trial_blocks([o["labels"][name] for o in got if name in o["labels"]])
                correct = np.concatenate([c[name]["correct"] for c in theirs[k] if name in c])
                res["classes"][name] = _with_method(e, correct, blocks, cfg.training.seed)
        curve[k] = res
    return {"curve": curve, "base_seconds": base_seconds}


def _with_method(res, correct: np.ndarray, blocks: np.ndarray, seed: int):
    """``res`` with :data:`CEBRA_ADAPT`'s accuracy (and interval) among its baselines."""
    score = block_bootstrap({CEBRA_ADAPT: correct}, blocks, seed=seed)[CEBRA_ADAPT]
    test = {**res.test, CEBRA_ADAPT: score.entry(res.metric, res.ci_key)}
    return res.replace(test=test, baselines=res.baselines + (CEBRA_ADAPT,))


__all__ = ["cebra_adapt", "leave_one_animal_out", "CEBRA_ADAPT"]
