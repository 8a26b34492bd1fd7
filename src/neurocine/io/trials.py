"""Trial-aligned recordings: ``(cells, trials, samples)`` dF/F with a label per trial.

Many labs (and the real grating file in ``shared/data``) hold dF/F cut around each trial.
:func:`trials_recording` lays the trials out in time, one after the other, separated by
``gap`` unlabelled samples that belong to no split, so no encoder window ever crosses from
one trial into the next; each trial's labels cover its stimulus period. Splits are made by
trial: 70/10/20, seeded, stratified by condition
(:func:`neurocine.io.splits.stratified_trial_split`). The result is written in the brainsets
layout (``neurocine import-trials``) or turned into a :class:`~neurocine.Session` directly
(:func:`trials_session`).

Example:
    >>> import numpy as np
    >>> dff = np.zeros((3, 20, 10), np.float32)    # 3 cells, 20 trials of 10 samples, gaps of 15
    >>> direction = np.tile([0.0, 90.0], 10)
    >>> s = trials_session(dff, {"drifting_gratings.direction": direction}, np.arange(10) / 30 - 0.1,
    ...                    30.0, "demo", stimulus_s=0.2)
    >>> s.traces.shape, int((s.train_mask | s.valid_mask | s.test_mask).sum())
    ((485, 3), 200)
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from neurocine.errors import DataError
from neurocine.io.recording import Recording, finite_number, real_numbers, table_labels
from neurocine.io.sizes import NpzArrays
from neurocine.io.splits import stratified_trial_split
from neurocine.session import Session, check_label, intervals_mask, safe_session_id, validate_session
from neurocine.stimuli import LABELS, STIMULI

DEFAULT_GAP = 15  # samples between trials (0.5 s at 30 Hz), in no split


def trials_recording(dff: np.ndarray, labels: dict[str, np.ndarray], time_s: np.ndarray, sampling_rate: float,
                     session_id: str, stimulus_s: float | None = None, gap: int = DEFAULT_GAP,
                     seed: int = 42, subject: dict | None = None, source: str = "trial arrays") -> Recording:
    """Lay ``(N, K, S)`` trials out in time as a :class:`Recording`.

    Args:
        dff: ``(N, K, S)`` dF/F: cells x trials x samples.
        labels: ``{label name: (K,)}`` one value per trial, registered names of one stimulus
            (``drifting_gratings.direction`` in degrees, ...); NaN / -1 for blank trials.
        time_s: ``(S,)`` sample times relative to stimulus onset (0), seconds.
        sampling_rate: Hz.
        session_id: The file stem.
        stimulus_s: How long the stimulus is on after onset (labels cover ``[0,
            stimulus_s)``); default: to the end of the trial.
        gap: Unlabelled samples between trials (in no split).
        seed: Seed of the trial split.

    Raises:
        DataError: anything a reader of the written file would refuse or read back
            differently, before any work: shapes, non-finite or non-numeric values (complex,
            text, objects), time not increasing or not at ``sampling_rate``, a stimulus
            period that holds no sample, label values outside their table, unknown labels
            or several stimuli, an unusable session id (made safe when it only has odd
            characters).
    """
    where = source
    dff = real_numbers(dff, "dF/F", where)
    if dff.ndim != 3:
        raise DataError(where, f"dF/F has shape {dff.shape}, expected (cells, trials, samples)")
    N, K, S = dff.shape
    if N < 1 or K < 1 or S < 2:
        raise DataError(where, f"dF/F has shape {dff.shape}, expected at least 1 cell, 1 trial and 2 samples per "
                               "trial (cells, trials, samples)")
    if not np.isfinite(dff).all():
        raise DataError(where,
                        f"dF/F contains {int((~np.isfinite(dff)).sum())} NaN/inf values, expected finite numbers")
    time_s = real_numbers(time_s, "time", where).astype(np.float64).ravel()
    if time_s.shape != (S,):
        raise DataError(where, f"time has {time_s.shape[0]} entries for {S} samples per trial")
    if not np.isfinite(time_s).all():
        raise DataError(where, "time contains NaN/inf, expected each sample's time from stimulus onset in seconds")
    if not np.all(np.diff(time_s) > 0):
        raise DataError(where, "time is not strictly increasing, expected each sample's time from stimulus onset "
                               "in seconds, in order")
    rate = finite_number(sampling_rate, "sampling rate", where)
    if rate <= 0:
        raise DataError(where, f"sampling rate {rate:g} Hz, expected > 0")
    grid = time_s[0] + np.arange(S) / rate
    if np.max(np.abs(time_s - grid)) > 0.5 / rate:
        step = float(np.median(np.diff(time_s)))
        raise DataError(where, f"sampling rate {rate:g} Hz disagrees with time (samples every {1e3 * step:.2f} ms, "
                               f"{1 / step:.2f} Hz); expected evenly spaced samples at the rate")
    if stimulus_s is not None:
        stimulus_s = finite_number(stimulus_s, "stimulus duration", where)
        if stimulus_s <= 0:
            raise DataError(where, f"stimulus duration {stimulus_s:g} s, expected > 0 (seconds the stimulus is on "
                                   "after onset)")
    if int(seed) != seed or seed < 0:
        raise DataError(where, f"seed {seed!r}, expected an integer >= 0")
    if not labels:
        raise DataError(where, "no labels, expected at least one (trials,) label, e.g. drifting_gratings.direction")
    stimuli = {name.split(".", 1)[0] for name in labels}
    unknown = [n for n in labels if n not in LABELS]
    if unknown or len(stimuli) != 1:
        raise DataError(where, f"labels {sorted(labels)}: expected registered labels of one stimulus "
                               f"(e.g. drifting_gratings.direction, drifting_gratings.temporal_frequency)")
    labels = {name: _label_values(name, values, K, where) for name, values in labels.items()}
    session_id = safe_session_id(session_id, where)
    if not (time_s >= 0).any() or (stimulus_s is not None and not (time_s[time_s >= 0] < stimulus_s).any()):
        raise DataError(where, "no sample lies in the stimulus period ([onset, onset + stimulus duration)): "
                               "expected time to cover the onset (0 s)")
    stimulus = stimuli.pop()
    step = S + gap
    traces = np.zeros((K * step - gap, N), dtype=np.float32)
    for k in range(K):
        traces[k * step:k * step + S] = dff[:, k, :].T
    t0 = float(-time_s[0]) if time_s[0] < 0 else 0.0  # recording time of trial 0's onset
    onset = t0 + np.arange(K) * step / rate
    trial_start = onset + time_s[0]
    trial_end = onset + time_s[-1] + 0.5 / rate
    stim_end = onset + (stimulus_s if stimulus_s is not None else time_s[-1] + 1.0 / rate)
    # [onset, stim_end) on the sample grid: edges moved back by a thousandth of a sample so
    # that float rounding of the laid-out timestamps neither drops the onset sample nor adds
    # the one at stim_end
    eps = 1e-3 / rate
    table = {"start": onset - eps, "end": np.minimum(stim_end, trial_end) - eps}
    for name, values in labels.items():
        table[name.split(".", 1)[1]] = np.asarray(values)
    conditions = STIMULI[stimulus].condition_ids({n: np.asarray(v) for n, v in labels.items()})
    which = stratified_trial_split(conditions, int(seed))
    splits = {s: (trial_start[which == s], trial_end[which == s]) for s in ("train", "valid", "test")}
    return Recording(session_id=session_id, traces=traces, sampling_rate=rate,
                     start_time=float(trial_start[0]), roi_xy=np.zeros((N, 2)), roi_area=np.ones(N),
                     roi_width=np.ones(N), roi_height=np.ones(N), intervals={stimulus: table},
                     epochs={stimulus: (np.array([trial_start[0]]), np.array([trial_end[-1]]))},
                     subject=dict(subject or {}), splits=splits)


def _label_values(name: str, values, K: int, where) -> np.ndarray:
    """One label's ``(K,)`` per-trial values, checked as a reader checks a label."""
    arr = real_numbers(values, f"label {name}", where)
    if arr.shape != (K,):
        raise DataError(where, f"label {name} has shape {arr.shape}, expected ({K},): one per trial")
    spec = LABELS[name]
    arr = arr.astype(spec.dtype) if spec.dtype == "float32" else arr
    if spec.dtype == "int64":
        if arr.dtype.kind == "f":
            bad = np.isfinite(arr) & (arr != np.round(arr))
            if bad.any():
                raise DataError(where, f"label {name} has value {arr[bad][0]:g}, expected whole numbers "
                                       "(-1 for blank trials)")
            arr = np.where(np.isfinite(arr), arr, -1)
        arr = arr.astype(np.int64)
    check_label(name, arr, K, where)
    return arr


def recording_session(rec: Recording, layout: str = "trials") -> Session:
    """A :class:`Session` in memory from a recording with its own splits."""
    ts = rec.timestamps
    labels = table_labels(rec.intervals, ts)
    masks = {s: intervals_mask(ts, *rec.splits[s]) for s in ("train", "valid", "test")}
    session = Session(rec.session_id, rec.traces, ts, rec.sampling_rate, masks["train"], masks["valid"], masks["test"],
                      (float(ts[0]), float(ts[-1])), labels=labels, layout=layout, subject=dict(rec.subject))
    return validate_session(session, rec.session_id)


def trials_session(dff, labels, time_s, sampling_rate, session_id, **kw) -> Session:
    """:func:`trials_recording` as an in-memory :class:`Session` (no file written)."""
    return recording_session(trials_recording(dff, labels, time_s, sampling_rate, session_id, **kw))


def load_trials_npz(path: str | Path, dff_key: str = "dff", time_key: str = "time_s",
                    labels: dict[str, str] | None = None, rate: float | None = None,
                    session_key: str = "session_id") -> dict:
    """Read a trial-array ``.npz`` into :func:`trials_recording`'s arguments.

    Args:
        labels: ``{label name: npz key}``; default: the Allen grating file's
            ``{"drifting_gratings.direction": "orientation_deg",
            "drifting_gratings.temporal_frequency": "temporal_frequency_hz"}``.
        rate: Hz; default: from the spacing of ``time_key``.
    """
    path = Path(path)
    labels = labels or {"drifting_gratings.direction": "orientation_deg",
                        "drifting_gratings.temporal_frequency": "temporal_frequency_hz"}
    z = NpzArrays(path)
    files, array = z.files, z.array
    missing = [k for k in [dff_key, time_key, *labels.values()] if k not in files]
    if missing:
        raise DataError(path, f"missing arrays {missing} (has {files})")

    time_s = real_numbers(array(time_key), f"'{time_key}'", path).astype(np.float64).ravel()
    if rate is None:
        steps = np.diff(time_s)
        if len(steps) == 0 or not np.isfinite(time_s).all() or not (steps > 0).all():
            raise DataError(path, f"'{time_key}' is not a strictly increasing series of finite times, so the "
                                  "sampling rate cannot be inferred from it; fix it (or pass --rate)")
        rate = float(1.0 / np.median(steps))
    sid = z.text(session_key, path.stem, "one id (a number or a name)")
    return dict(dff=array(dff_key), labels={n: array(k) for n, k in labels.items()}, time_s=time_s,
                sampling_rate=rate, session_id=sid)


__all__ = ["trials_recording", "trials_session", "recording_session", "load_trials_npz", "DEFAULT_GAP"]
