"""Cross-validation: every movie repeat and every trial is a test sample once.

The file's split tests one held-out movie repeat (and a fifth of the trials), so its
interval says nothing of how much the numbers move from repeat to repeat. With ``K`` folds:

* **movie repeats** are cut into ``K`` contiguous blocks (10 repeats, K = 5: repeats 0-1,
  2-3, ...); fold ``k`` tests block ``k``, validates on block ``k + 1`` (decoders, ridge
  penalties, early stopping and the strongest baseline are chosen there) and trains on the
  rest;
* **trials** are dealt to ``K`` folds within each condition (stratified, seeded), with the
  same test / next-fold-valid / rest-train rule;
* the embedding is **retrained on every fold** (nothing of a fold's test samples reaches
  the encoder, the z-scores or any decoder).

Per fold the model's number, every baseline's, the strongest baseline (chosen on that
fold's validation data) and the paired margin are recorded; the mean over folds gets a
95 % interval from the between-fold variance, widened for the overlap of the folds'
training sets (the corrected resampled t-test of Nadeau & Bengio, 2003: the variance of
the mean is ``sd^2 (1/K + n_test/n_train)``, not ``sd^2 / K``).

Example:
    >>> frames = np.r_[np.arange(5), np.arange(5), -1, np.arange(5)]
    >>> repeat_ids(frames).tolist()
    [0, 0, 0, 0, 0, 1, 1, 1, 1, 1, -1, 2, 2, 2, 2, 2]
    >>> out = fold_interval([0.1, 0.2, 0.15, 0.12, 0.18], test_fraction=0.2)
    >>> round(out.value, 3), [round(x, 3) for x in out.ci95]
    (0.15, [0.066, 0.234])
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from scipy import stats

from neurocine.scores import PER_FOLD, FoldComparison, Interval
from neurocine.session import SPLITS, Session
from neurocine.stimuli import LABELS, STIMULI


# ------------------------------------------------------------------------ fold units
def repeat_ids(frames: np.ndarray) -> np.ndarray:
    """``(T,) int64`` repeat of each movie sample (-1 outside the movie): a new repeat
    starts wherever the frame goes back (whatever the sampling: 30 Hz or 1-s bins)."""
    frames = np.asarray(frames)
    shown = frames >= 0
    out = np.full(len(frames), -1, dtype=np.int64)
    f = frames[shown]
    if len(f):
        out[shown] = np.concatenate([[0], np.cumsum(f[1:] < f[:-1])])
    return out


def trial_units(session: Session) -> tuple[np.ndarray, np.ndarray]:
    """The trials of every trial stimulus as fold units.

    Returns:
        ``(unit (T,) int64, condition (U,) int64)``: each sample's trial (-1: none), and
        each trial's condition (a trial stimulus's condition id, offset per stimulus). A
        trial is a run of samples in one of the file's splits and outside the movie,
        cut where the condition changes; it takes the condition of its labelled samples
        (runs without any are not trials)."""
    T = session.num_timepoints
    in_split = session.train_mask | session.valid_mask | session.test_mask
    movie = np.zeros(T, dtype=bool)
    for name, spec in LABELS.items():
        if spec.kind == "frame" and name in session.labels:
            movie |= spec.present(session.labels[name])
    cond = np.full(T, -1, dtype=np.int64)
    offset = 0
    for stim in STIMULI.values():
        if stim.structure != "trials":
            continue
        c = stim.condition_ids(session.labels)
        if len(c):
            cond = np.where(c >= 0, offset + c, cond)
        offset += stim.n_conditions
    candidate = in_split & ~movie
    # a new unit where the run starts, and where the (labelled) condition changes inside it
    labelled_idx = np.flatnonzero(cond >= 0)
    last = np.full(T, -1, dtype=np.int64)
    if len(labelled_idx):
        pos = np.searchsorted(labelled_idx, np.arange(T), side="right") - 1
        ok = pos >= 0
        last[ok] = cond[labelled_idx[pos[ok]]]
    start = candidate & ~np.r_[False, candidate[:-1]]
    change = candidate & np.r_[False, candidate[:-1]] & (cond >= 0) & (np.r_[-1, last[:-1]] != cond)
    run = np.cumsum(start | change) - 1
    unit = np.where(candidate, run, -1)
    n = int(unit.max()) + 1 if candidate.any() else 0
    conditions = np.full(n, -1, dtype=np.int64)
    if n:
        has = (unit >= 0) & (cond >= 0)
        conditions[unit[has][::-1]] = cond[has][::-1]  # the first labelled sample of each unit
    keep = conditions >= 0
    renumber = np.full(n + 1, -1, dtype=np.int64)
    renumber[:-1][keep] = np.arange(int(keep.sum()))
    return renumber[np.where(unit >= 0, unit, n)], conditions[keep]


def stratified_folds(conditions: np.ndarray, folds: int, seed: int) -> np.ndarray:
    """``(U,) int64`` fold of each trial: within each condition the trials are shuffled and
    dealt round-robin from a random starting fold, so every fold gets the same share."""
    rng = np.random.default_rng(seed)
    out = np.zeros(len(conditions), dtype=np.int64)
    for c in np.unique(conditions):
        idx = np.flatnonzero(conditions == c)
        out[idx[rng.permutation(len(idx))]] = (np.arange(len(idx)) + rng.integers(folds)) % folds
    return out


def fold_session(session: Session, fold: int, folds: int, seed: int = 0) -> Session:
    """``session`` with the split masks of fold ``fold`` of ``folds``: its test block of
    movie repeats and its test trials, the next fold's as valid, the rest as train."""
    which = np.full(session.num_timepoints, -1, dtype=np.int64)
    for name, spec in LABELS.items():
        if spec.kind != "frame" or name not in session.labels:
            continue
        rep = repeat_ids(session.labels[name])
        n = int(rep.max()) + 1
        if n:
            which = np.where(rep >= 0, (rep * folds) // max(n, folds), which)
    unit, conditions = trial_units(session)
    if len(conditions):
        per_trial = stratified_folds(conditions, folds, seed)
        which = np.where(unit >= 0, per_trial[np.clip(unit, 0, None)], which)
    valid = (fold + 1) % folds
    masks = {"test": which == fold, "valid": which == valid,
             "train": (which >= 0) & (which != fold) & (which != valid)}
    return replace(session, train_mask=masks["train"], valid_mask=masks["valid"], test_mask=masks["test"])


def usable(session: Session) -> bool:
    """Every split of a fold holds samples (a session with fewer repeats or trials than
    folds can leave one empty)."""
    return all(session.mask(s).any() for s in SPLITS)


# ------------------------------------------------------------------------- intervals
def fold_interval(values, test_fraction: float) -> Interval:
    """Mean over folds with a 95 % interval from the between-fold variance, corrected for
    the folds' overlapping training sets (Nadeau & Bengio, 2003).

    Args:
        values: One number per fold.
        test_fraction: Share of the data each fold tests (``n_test / n``); the training
            share is taken as ``1 - 2 * test_fraction`` (a fold's valid block is the next
            fold's test block).
    """
    v = np.asarray([x for x in values if x is not None and np.isfinite(x)], dtype=np.float64)
    if len(v) < 2:
        mean = float(v.mean()) if len(v) else float("nan")
        return Interval(mean, (mean, mean), 0.0, int(len(v)))
    train_fraction = max(1.0 - 2.0 * test_fraction, 1e-6)
    se = v.std(ddof=1) * np.sqrt(1.0 / len(v) + test_fraction / train_fraction)
    half = float(stats.t.ppf(0.975, len(v) - 1) * se)
    return Interval(float(v.mean()), (float(v.mean() - half), float(v.mean() + half)), float(v.std(ddof=1)),
                    int(len(v)))


def summarize(per_fold: list[dict], folds: int, model: str = "cebra", test_fraction: float | None = None,
              metric: str = "accuracy_1s") -> FoldComparison:
    """``cv`` entry from per-fold results: each fold's model and baselines, the strongest
    baseline chosen on that fold's validation data, the margin; means with intervals.

    Args:
        per_fold: One entry per fold run (``{model, "baselines", "baseline", "margin", ...}``).
        folds: Folds the data was cut into (``1 / folds`` of it tested by each, unless
            ``test_fraction`` says otherwise).
        model: The key of the model's number in each entry.
        metric: What the numbers are (the result's headline metric)."""
    frac = test_fraction if test_fraction is not None else 1.0 / folds
    details = {"folds": folds, "per_fold": per_fold, "interval": "t over folds, corrected for overlapping training "
                                                                    "sets (Nadeau & Bengio 2003)"}
    test = {model: fold_interval([f[model] for f in per_fold], frac)}
    names = sorted({b for f in per_fold for b in f.get("baselines", {})})
    test.update({b: fold_interval([f["baselines"].get(b) for f in per_fold], frac) for b in names})
    margin = fold_interval([f["margin"] for f in per_fold], frac)
    also = sorted({m for f in per_fold for m in f.get("also", {})})
    if also:  # the field's other metrics, each fold's model against the same strongest baseline
        details["also"] = {m: {k: fold_interval([f["also"][m][k] for f in per_fold if m in f.get("also", {})],
                                                frac).to_json()
                               for k in (model, "baseline", "margin")} for m in also}
    if all("valid" in f for f in per_fold):  # what choices (and lever sweeps) may look at
        details["valid_margin"] = fold_interval([f["valid"]["margin"] for f in per_fold], frac)
    return FoldComparison(metric, (model,), tuple(names), test, None, {f"{model} - {PER_FOLD}": margin},
                          PER_FOLD, details)


__all__ = ["repeat_ids", "trial_units", "stratified_folds", "fold_session", "usable", "fold_interval", "summarize"]
