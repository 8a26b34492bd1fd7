"""The cross-validated protocol: frame identification of every movie and trial decoding of
every trial label, over ``K`` folds (:mod:`neurocine.evaluate.folds`), with the
embedding retrained on each fold, and the numbers of every fold beside their mean and
interval.

Each fold is the file-split protocol run on that fold's split: the same baselines, the
same choices on its validation data, its test data scored once. Only the main embedding
is retrained per fold (the label-free comparison model is not: it would double the cost).
"""

from __future__ import annotations

import time

from neurocine.data import normalized_splits, training_rows
from neurocine.errors import ConfigError
from neurocine.embed.estimator import CEBRA, embed_parts, fit_inputs
from neurocine.evaluate.folds import fold_session, summarize, usable
from neurocine.evaluate.frame_id import BASELINES as FRAME_BASELINES
from neurocine.evaluate.frame_id import COUNT_BASELINES, SMOOTHED_BASELINES
from neurocine.evaluate.frame_id import frame_id_protocol
from neurocine.evaluate.trials import BASELINES as TRIAL_BASELINES
from neurocine.evaluate.trials import classify_trials
from neurocine.scores import STRONGEST, Comparison
from neurocine.session import SPLITS
from neurocine.settings import Config
from neurocine.stimuli import LABELS, movie_of


#: The field's other frame-ID metrics, carried per fold beside within-1-s accuracy.
FRAME_METRICS = ("accuracy_exact", "median_abs_frame_error", "mean_abs_frame_error")


def fold_entry(res: Comparison, baselines, fold: int, also=()) -> dict:
    """One fold's numbers from a protocol result: the model, every baseline, the strongest
    baseline (the protocol chose it on the fold's validation data) and the margin; for each
    metric in ``also``, the model, that same baseline and their difference (``"also"``)."""
    model, strongest = res.model, res.strongest_baseline
    out = {"fold": fold, model: res.value(model), "baselines": {b: res.value(b) for b in baselines if res.has(b)},
           STRONGEST: strongest, "baseline": res.value(strongest)}
    out["margin"] = out[model] - out["baseline"]
    valid_model, valid_base = res.valid_score(model), res.valid_score(strongest)
    if valid_model is not None and valid_base is not None:
        out["valid"] = {model: valid_model, "baseline": valid_base, "margin": valid_model - valid_base}
    if "decoder" in res.test[model]:
        out["decoder"] = res.test[model]["decoder"]
    metrics = [m for m in also if res.value(model, m) is not None and res.value(strongest, m) is not None]
    if metrics:
        out["also"] = {m: {model: res.value(model, m), "baseline": res.value(strongest, m),
                           "margin": res.value(model, m) - res.value(strongest, m)} for m in metrics}
    return out


def cross_validate(sessions: list, cfg: Config, *, say=None, progress: bool = False, log_dir=None) -> dict:
    """Frame ID and trial decoding over ``cfg.evaluation.folds`` folds.

    Args:
        sessions: The run's raw sessions (each fold re-splits and re-normalises them).
        cfg: The run's settings (the embedding of every fold is trained as the run's).
        say, progress: Progress lines and bars.
        log_dir: ``name -> TensorBoard folder or None`` for each fold's model.

    Returns:
        ``{"frame_id": {movie: cv}, "classification": {label: cv}, "folds": [...]}``, each
        ``cv`` as :func:`neurocine.evaluate.folds.summarize` makes it.
    """
    say = say or (lambda text: None)
    K, seed, ds = cfg.evaluation.folds, cfg.training.seed, cfg.dataset
    frame_folds, trial_folds, runs = {}, {}, []
    plan = [[fold_session(s, k, K, seed) for s in sessions] for k in range(K)]  # masks only: cheap
    tell_fold_plan(plan, K, say)
    for k in range(K):
        fold_sessions = plan[k]
        if not all(usable(s) for s in fold_sessions):
            empty = [s.session_id for s in fold_sessions if not usable(s)][:3]
            say(f"cross-validate: fold {k + 1} of {K} leaves a split empty in sessions {empty}; skipped")
            runs.append({"fold": k, "skipped": f"a split is empty in sessions {empty}"})
            continue
        splits = {sp: normalized_splits(fold_sessions, sp, ds.normalize, ds.normalize_time) for sp in SPLITS}
        say(f"cross-validate: fold {k + 1} of {K}: training the embedding on {sum(len(p) for p in splits['train'])} "
            f"train samples")
        t0 = time.perf_counter()
        model = CEBRA.from_config(cfg, verbose=progress, log_dir=log_dir(f"cebra_fold{k}") if log_dir else None)
        model.fit(fit_inputs(ds.mode, training_rows(splits["train"], ds.train_on)),
                  valid=fit_inputs(ds.mode, training_rows(splits["valid"], ds.train_on)))
        seconds = time.perf_counter() - t0
        emb = {sp: embed_parts(model, ds.mode, splits[sp]) for sp in SPLITS}
        embeddings = {"cebra": {p.session_id: {sp: {"embedding": emb[sp][i]} for sp in SPLITS}
                                for i, p in enumerate(splits["train"])}}
        models = {"cebra": {"supervision": model.supervision_, "learning_mode": model.learning_mode_}}
        window = (model.model_.left, model.model_.right)
        for name, spec in LABELS.items():
            if spec.kind != "frame":
                continue
            smoothing = model.input_smoothing_by_session([p.session_id for p in splits["train"]])
            res, _ = frame_id_protocol(splits, embeddings, models, name, spec.n_values, window=window,
                                       n_neighbors=cfg.decoding.n_neighbors, tolerance=cfg.decoding.tolerance_frames,
                                       seed=seed, aligned=False,  # cross-session decoding: the file split's
                                       smoothing=smoothing)
            if res is not None:
                entry = fold_entry(res, FRAME_BASELINES + COUNT_BASELINES + SMOOTHED_BASELINES, k,
                                   also=FRAME_METRICS)
                entry["chance"] = res.value("chance")
                frame_folds.setdefault(movie_of(name), []).append(entry)
        trials = classify_trials(splits, embeddings, {"cebra": model.supervision_}, cfg.decoding.n_neighbors, seed)
        for label, res in trials.items():
            entry = fold_entry(res, TRIAL_BASELINES, k)
            entry["chance"] = res.value("chance")
            trial_folds.setdefault(label, []).append(entry)
        runs.append({"fold": k, "steps": model.state_.step, "best_step": model.state_.best_step, "seconds": seconds,
                     "supervision": model.supervision_})
    return {"frame_id": {m: summarize(v, K) for m, v in frame_folds.items()},
            "classification": {label: summarize(v, K) for label, v in trial_folds.items()},
            "folds": runs, "k": K}


def tell_fold_plan(plan: list[list], K: int, say) -> None:
    """Before any training: refuse ``evaluation.folds`` when no fold can be used, and say
    which stimuli fewer than K folds test (10 movie repeats fill at most 10 folds; a
    condition with 3 trials, 3), so a K that leaves folds empty is never silent."""
    usable_folds = [k for k, fold in enumerate(plan) if all(usable(s) for s in fold)]
    if not usable_folds:
        raise ConfigError(f"evaluation.folds={K}: no fold leaves train, valid and test samples in every session; "
                          "use fewer folds (at most the movie repeats or trials per condition)")
    tested = {}
    for k in usable_folds:
        for s in plan[k]:
            test = s.test_mask
            for name, values in s.labels.items():
                spec = LABELS.get(name)
                if spec is not None and spec.kind in ("frame", "class") and spec.present(values[test]).any():
                    tested.setdefault(name.split(".")[0], set()).add(k)
    short = {stim: len(ks) for stim, ks in tested.items() if len(ks) < K}
    if len(usable_folds) < K or short:
        say(f"cross-validate: evaluation.folds={K}: {len(usable_folds)} folds can be used"
            + "".join(f"; {stim} is tested in {n} of them" for stim, n in sorted(short.items()))
            + " (a stimulus fills at most as many folds as it has movie repeats or trials per condition)")


__all__ = ["cross_validate", "fold_entry", "tell_fold_plan"]
