"""The split rules, in one place: which repeats, trials or stretches of a session are train,
valid and test when a file carries no split of its own (Allen NWB files, trial arrays) or
when neurocine writes one (the simulator, ``import-trials``). Every rule is seeded by
:data:`TRIAL_SPLIT_SEED`.

* Movie repeats, in order (:func:`repeat_split`): the last tenth (at least one) test, the
  tenth before it valid, the rest train: 8/1/1 of Allen's 10 repeats, as the kirby files.
* Trials, stratified by condition (:func:`stratified_trial_split`, 70/10/20): Allen NWB
  files and trial arrays.
* Trials, shuffled without stratification (:func:`shuffled_trial_split`, 70/10/20): the
  kirby files' own grating rule, kept for the files the simulator writes in that layout.
* Stimulus epochs by time (:func:`split_epochs_by_time`): the brainsets layout's rule.
"""

from __future__ import annotations

import numpy as np

from neurocine.session import intervals_mask
from neurocine.stimuli import STIMULI

#: Seed of every trial split (the kirby files' and neurocine's).
TRIAL_SPLIT_SEED = 42


def repeat_split(repeat: np.ndarray) -> np.ndarray:
    """Movie repeats in order: the last tenth (at least one) test, the tenth before it
    valid, the rest train (10 repeats: 8/1/1, the kirby files' split; 30: 24/3/3; 2 repeats:
    train, test; 1: train).

    Example:
        >>> repeat_split(np.repeat(np.arange(10), 2)).tolist()[::2]
        ['train', 'train', 'train', 'train', 'train', 'train', 'train', 'train', 'valid', 'test']
    """
    n = int(repeat.max()) + 1 if len(repeat) else 0
    n_test = max(1, int(round(0.1 * n))) if n >= 2 else 0
    n_valid = max(1, int(round(0.1 * n))) if n >= 3 else 0
    first_valid, first_test = n - n_test - n_valid, n - n_test
    which = np.where(repeat < first_valid, "train", np.where(repeat < first_test, "valid", "test"))
    return np.where(repeat < 0, "none", which)  # rows without a frame: no split


def stratified_trial_split(conditions: np.ndarray, seed: int = TRIAL_SPLIT_SEED,
                           fractions=(0.7, 0.1)) -> np.ndarray:
    """``(K,)`` split names, 70/10/20 and stratified by condition.

    Each trial gets a position ``u = (rank + offset) / n`` in [0, 1): its rank in a seeded
    shuffle of its condition's ``n`` trials, plus a random offset per condition; ``u`` is
    cut at 0.7 and 0.8. A condition with many trials is split 70/10/20 within itself; with
    few (one each), the trials are spread 70/10/20 over conditions.

    Example:
        >>> split = stratified_trial_split(np.repeat(np.arange(40), 15))  # 40 conditions x 15 trials
        >>> [round(float(np.mean(split == s)), 2) for s in ("train", "valid", "test")]
        [0.7, 0.1, 0.2]
    """
    rng = np.random.default_rng(seed)
    u = np.zeros(len(conditions))
    for c in np.unique(conditions):
        idx = np.flatnonzero(conditions == c)
        u[idx[rng.permutation(len(idx))]] = (np.arange(len(idx)) + rng.random()) / len(idx)
    return np.where(u < fractions[0], "train", np.where(u < fractions[0] + fractions[1], "valid", "test"))


def shuffled_trial_split(n: int, seed: int = TRIAL_SPLIT_SEED, fractions=(0.7, 0.1)) -> np.ndarray:
    """The kirby files' trial split: ``n`` trials shuffled (``seed``), 70/10/20 train/valid/test,
    not stratified.

    Returns:
        ``(n,)`` split names (``"train"``, ``"valid"``, ``"test"``).
    """
    perm = np.random.default_rng(seed).permutation(n)
    n_train, n_valid = int(round(fractions[0] * n)), int(round(fractions[1] * n))
    out = np.empty(n, dtype="<U5")
    out[perm[:n_train]] = "train"
    out[perm[n_train:n_train + n_valid]] = "valid"
    out[perm[n_train + n_valid:]] = "test"
    return out


def split_epochs_by_time(epoch_start: np.ndarray, epoch_end: np.ndarray,
                         trial_start: np.ndarray, trial_end: np.ndarray) -> dict[str, list[tuple[float, float]]]:
    """brainsets' split rule for one stimulus: per epoch, by time, snapped to trial edges.

    One epoch: the first 60 % train, next 10 % valid, last 30 % test. Several epochs: in
    each epoch the first half is train (its first 5/6) and valid (its last 1/6), the
    second half is test.

    Returns:
        ``{"train": [(start, end), ...], "valid": [...], "test": [...]}``, seconds.
    """
    def snap(t, lo, hi):
        edges = np.concatenate([trial_start[(trial_start >= lo) & (trial_start <= hi)], [lo, hi]])
        return float(edges[np.argmin(np.abs(edges - t))])

    out = {"train": [], "valid": [], "test": []}
    fractions = (0.6, 0.7) if len(epoch_start) == 1 else (5 / 12, 0.5)
    for lo, hi in zip(epoch_start, epoch_end):
        first_trial = trial_start[(trial_start >= lo) & (trial_start < hi)]
        last_end = trial_end[(trial_end > lo) & (trial_end <= hi)]
        lo_t = float(first_trial.min()) if len(first_trial) else float(lo)
        hi_t = float(last_end.max()) if len(last_end) else float(hi)
        a = snap(lo_t + fractions[0] * (hi_t - lo_t), lo_t, hi_t)
        b = snap(lo_t + fractions[1] * (hi_t - lo_t), lo_t, hi_t)
        out["train"].append((lo_t, a))
        out["valid"].append((a, b))
        out["test"].append((b, hi_t))
    return out



def showing_repeats(frames: np.ndarray) -> np.ndarray:
    """The k-th showing of each frame is repeat k; rows without a frame (-1) get -1, so
    they neither count as repeats nor land in a split.

    Example:
        >>> showing_repeats(np.array([0, 1, -1, 0, 1, -1])).tolist()
        [0, 0, -1, 1, 1, -1]
    """
    repeat = np.zeros(len(frames), dtype=np.int64)
    seen: dict[int, int] = {}
    for i, fr in enumerate(frames.tolist()):
        if fr < 0:
            repeat[i] = -1
            continue
        repeat[i] = seen.get(fr, 0)
        seen[fr] = repeat[i] + 1
    return repeat


def table_splits(tables: dict, timestamps: np.ndarray) -> dict[str, np.ndarray]:
    """``{split: (T,) bool}``: neurocine's rules for files without splits, from stimulus
    tables ``{stimulus: {"start", "end", field: (K,)}}`` (movies with a ``repeat`` column:
    repeats in order, :func:`repeat_split`; trial stimuli: stratified by condition,
    :func:`stratified_trial_split`; other stimuli: no split)."""
    masks = {s: np.zeros(len(timestamps), dtype=bool) for s in ("train", "valid", "test")}
    for stimulus, table in tables.items():
        kind = STIMULI[stimulus].structure if stimulus in STIMULI else "other"
        if kind == "movie":
            which = repeat_split(table["repeat"])
        elif kind == "trials":
            fields = {f"{stimulus}.{k}": v for k, v in table.items() if k not in ("start", "end")}
            cond = STIMULI[stimulus].condition_ids(fields)
            which = stratified_trial_split(cond if len(cond) else np.zeros(len(table["start"]), np.int64))
        else:
            continue
        for split in masks:
            sel = which == split
            masks[split] |= intervals_mask(timestamps, table["start"][sel], table["end"][sel])
    return masks


__all__ = ["showing_repeats", "table_splits", "repeat_split", "stratified_trial_split", "shuffled_trial_split",
           "split_epochs_by_time", "TRIAL_SPLIT_SEED"]
