"""Trial-aligned recordings: ``(cells, trials, samples)`` dF/F with a label per trial.

Many labs (and the real grating file in ``shared/data``) hold dF/F cut around each trial.
:func:`trials_recording` lays the trials out in time, one after the other, separated by
``gap`` unlabelled samples that belong to no split, so no encoder window ever crosses from
one trial into the next; each trial's labels cover its stimulus period. Splits are made by
trial: 70/10/20, seeded, stratified by condition
(:func:`neurocine.io.nwb.stratified_trial_split`). The result is written in the brainsets
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
from neurocine.io.nwb import stratified_trial_split, table_labels
from neurocine.io.recording import Recording
from neurocine.session import Session, intervals_mask, validate_session
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
        DataError: inconsistent shapes, unknown label names, labels of several stimuli.
    """
    dff = np.asarray(dff)
    where = source
    if dff.ndim != 3:
        raise DataError(where, f"dF/F has shape {dff.shape}, expected (cells, trials, samples)")
    if not np.issubdtype(dff.dtype, np.number) or not np.isfinite(dff).all():
        raise DataError(where, "dF/F must be finite numbers")
    N, K, S = dff.shape
    time_s = np.asarray(time_s, dtype=np.float64).ravel()
    if time_s.shape != (S,):
        raise DataError(where, f"time has {time_s.shape[0]} entries for {S} samples per trial")
    if not sampling_rate or sampling_rate <= 0:
        raise DataError(where, f"sampling rate {sampling_rate}, expected > 0 Hz")
    stimuli = {name.split(".", 1)[0] for name in labels}
    unknown = [n for n in labels if n not in LABELS]
    if unknown or len(stimuli) != 1:
        raise DataError(where, f"labels {sorted(labels)}: expected registered labels of one stimulus "
                               f"(e.g. drifting_gratings.direction, drifting_gratings.temporal_frequency)")
    for name, values in labels.items():
        if np.shape(values) != (K,):
            raise DataError(where, f"label {name} has shape {np.shape(values)}, expected ({K},): one per trial")
    stimulus = stimuli.pop()
    step = S + gap
    traces = np.zeros((K * step - gap, N), dtype=np.float32)
    for k in range(K):
        traces[k * step:k * step + S] = dff[:, k, :].T
    t0 = float(-time_s[0]) if time_s[0] < 0 else 0.0  # recording time of trial 0's onset
    onset = t0 + np.arange(K) * step / sampling_rate
    trial_start = onset + time_s[0]
    trial_end = onset + time_s[-1] + 0.5 / sampling_rate
    stim_end = onset + (stimulus_s if stimulus_s is not None else time_s[-1] + 1.0 / sampling_rate)
    # [onset, stim_end) on the sample grid: edges moved back by a thousandth of a sample so
    # that float rounding of the laid-out timestamps neither drops the onset sample nor adds
    # the one at stim_end
    eps = 1e-3 / sampling_rate
    table = {"start": onset - eps, "end": np.minimum(stim_end, trial_end) - eps}
    for name, values in labels.items():
        table[name.split(".", 1)[1]] = np.asarray(values)
    conditions = STIMULI[stimulus].condition_ids({n: np.asarray(v) for n, v in labels.items()})
    which = stratified_trial_split(conditions, seed)
    splits = {s: (trial_start[which == s], trial_end[which == s]) for s in ("train", "valid", "test")}
    return Recording(session_id=str(session_id), traces=traces, sampling_rate=float(sampling_rate),
                     start_time=float(trial_start[0]), roi_xy=np.zeros((N, 2)), roi_area=np.ones(N),
                     roi_width=np.ones(N), roi_height=np.ones(N), intervals={stimulus: table},
                     epochs={stimulus: (np.array([trial_start[0]]), np.array([trial_end[-1]]))},
                     subject=dict(subject or {}), splits=splits)


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
    try:
        z = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as exc:
        raise DataError(path, f"not a readable .npz ({type(exc).__name__})") from None
    missing = [k for k in [dff_key, time_key, *labels.values()] if k not in z.files]
    if missing:
        raise DataError(path, f"missing arrays {missing} (has {z.files})")
    time_s = np.asarray(z[time_key], dtype=np.float64)
    if rate is None:
        steps = np.diff(time_s)
        if len(steps) == 0 or np.median(steps) <= 0:
            raise DataError(path, f"cannot infer the sampling rate from '{time_key}'; pass --rate")
        rate = float(1.0 / np.median(steps))
    sid = str(z[session_key].item()) if session_key in z.files else path.stem
    return dict(dff=z[dff_key], labels={n: z[k] for n, k in labels.items()}, time_s=time_s, sampling_rate=rate,
                session_id=sid)


__all__ = ["trials_recording", "trials_session", "recording_session", "load_trials_npz", "DEFAULT_GAP"]
