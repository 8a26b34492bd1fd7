"""Layout-neutral description of one recording, as the writers take it.

The simulator (and the trial-array import) produce :class:`Recording` objects;
:func:`neurocine.io.write_kirby` and :func:`neurocine.io.write_brainsets` turn them into
files, each applying its layout's split rules (``docs/formats.md``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class Recording:
    """One session's raw arrays (times in seconds).

    Attributes:
        session_id: Id, used as the file stem.
        traces: ``(T, N) float32`` dF/F.
        sampling_rate: Hz.
        start_time: Time of sample 0, s.
        roi_xy: ``(N, 2)`` imaging-plane position, pixels (0..512).
        roi_area, roi_width, roi_height: ``(N,)`` pixels.
        intervals: ``{stimulus: {"start": (K,), "end": (K,), field: (K,) ...}}``: one row
            per displayed frame (movies) or trial; each ``field`` is the value of label
            ``"<stimulus>.<field>"`` (:mod:`neurocine.stimuli`), e.g.
            ``intervals["natural_movie_one"]["frame"]`` or
            ``intervals["drifting_gratings"]["direction"]`` (deg).
        epochs: ``{stimulus: (start (E,), end (E,))}`` stimulus epochs.
        running_speed: ``(T,)`` cm/s at sample times.
        subject: String metadata (id, species, sex, cre_line, depth_class, target_area).
        splits: Optional ``{split: (start (S,), end (S,))}``: the recording's own splits
            (e.g. by trial); writers otherwise apply their layout's rule.
    """

    session_id: str
    traces: np.ndarray
    sampling_rate: float
    start_time: float
    roi_xy: np.ndarray
    roi_area: np.ndarray
    roi_width: np.ndarray
    roi_height: np.ndarray
    intervals: dict = field(default_factory=dict)
    epochs: dict = field(default_factory=dict)
    running_speed: np.ndarray | None = None
    subject: dict = field(default_factory=dict)
    splits: dict | None = None

    @property
    def timestamps(self) -> np.ndarray:
        """``(T,) float64`` sample times, s."""
        return self.start_time + np.arange(self.traces.shape[0]) / self.sampling_rate

    def table(self, stimulus: str) -> dict[str, np.ndarray] | None:
        """The interval table of ``stimulus`` (None when it was not shown)."""
        return self.intervals.get(stimulus)

    def repeat_edges(self, movie: str) -> tuple[np.ndarray, np.ndarray]:
        """``(start (R,), end (R,))`` of each repeat of ``movie``, s."""
        t = self.intervals[movie]
        reps = np.unique(t["repeat"])
        return (np.array([t["start"][t["repeat"] == r].min() for r in reps]),
                np.array([t["end"][t["repeat"] == r].max() for r in reps]))
