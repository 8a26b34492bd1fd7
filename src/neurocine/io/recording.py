"""Layout-neutral description of one recording, as the writers take it.

The simulator produces :class:`Recording` objects; :func:`neurocine.io.write_kirby` and
:func:`neurocine.io.write_brainsets` turn them into files, each applying its layout's
split rules (``FORMATS.md``).
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import h5py
import numpy as np

from neurocine.atomic import atomic_path

#: Allen drifting-grating temporal frequencies (Hz), indexed by ``temp_freq`` id.
TEMPORAL_FREQUENCIES_HZ = (1.0, 2.0, 4.0, 8.0, 15.0)


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
        movie_frame_start, movie_frame_end: ``(K,)`` display interval of each movie frame.
        movie_frame: ``(K,)`` int frame index 0..899.
        movie_repeat: ``(K,)`` int repeat 0..9.
        grating_start, grating_end: ``(G,)`` non-blank grating trials.
        grating_direction: ``(G,)`` degrees 0..315.
        grating_temporal_frequency: ``(G,)`` Hz.
        epochs: ``{stimulus: (start (E,), end (E,))}`` stimulus epochs.
        running_speed: ``(T,)`` cm/s at sample times.
        subject: String metadata (id, species, sex, cre_line, depth_class, target_area).
    """

    session_id: str
    traces: np.ndarray
    sampling_rate: float
    start_time: float
    roi_xy: np.ndarray
    roi_area: np.ndarray
    roi_width: np.ndarray
    roi_height: np.ndarray
    movie_frame_start: np.ndarray
    movie_frame_end: np.ndarray
    movie_frame: np.ndarray
    movie_repeat: np.ndarray
    grating_start: np.ndarray
    grating_end: np.ndarray
    grating_direction: np.ndarray
    grating_temporal_frequency: np.ndarray
    epochs: dict = field(default_factory=dict)
    running_speed: np.ndarray | None = None
    subject: dict = field(default_factory=dict)

    @property
    def timestamps(self) -> np.ndarray:
        """``(T,) float64`` sample times, s."""
        return self.start_time + np.arange(self.traces.shape[0]) / self.sampling_rate


@contextmanager
def atomic_h5(path: str | Path, overwrite: bool = False):
    """Yield an ``h5py.File`` open for writing at a temporary name beside ``path``, then
    rename it into place; on error the temporary file is removed and ``path`` untouched.

    Raises:
        DataError: ``path`` exists and ``overwrite`` is False.
    """
    with atomic_path(path, overwrite) as tmp:
        with h5py.File(tmp, "w") as f:
            yield f
