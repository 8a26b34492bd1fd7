"""Movie repeats as arrays: ``(units, repeats, samples)`` with the movie frame shown at each
sample, e.g. spike counts binned at 1 s, or dF/F cut around each showing of
natural_movie_one.

:func:`movie_recording` lays the repeats out one after the other in time (as Allen shows
them), one row of the movie's table per sample (its frame and repeat), and splits whole
repeats in order with neurocine's rule (:func:`neurocine.io.splits.repeat_split`: the last
tenth test, the tenth before valid, the rest train; 10 repeats: 8/1/1). ``neurocine
import-movie`` writes it in the brainsets layout, so every command reads it.

Example:
    >>> import numpy as np
    >>> counts = np.ones((4, 10, 30), np.float32)            # 4 units, 10 repeats, 30 one-second bins
    >>> rec = movie_recording(counts, np.arange(30) * 30, 1.0, "m1", units="spikes")
    >>> rec.traces.shape, rec.modality, [len(rec.splits[s][0]) for s in ("train", "valid", "test")]
    ((300, 4), 'spikes', [8, 1, 1])
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np

from neurocine.errors import DataError
from neurocine.io.recording import MODALITIES, Recording, finite_number, real_numbers
from neurocine.io.sizes import NpzArrays
from neurocine.io.splits import repeat_split
from neurocine.session import safe_session_id
from neurocine.stimuli import MOVIE_FRAMES, STIMULI


def movie_recording(data: np.ndarray, frame: np.ndarray, sampling_rate: float, session_id: str,
                    movie: str = "natural_movie_one", units: str = "dff", source="movie arrays") -> Recording:
    """Lay ``(U, R, S)`` movie repeats out in time as a :class:`Recording`.

    Args:
        data: ``(U, R, S)`` units x repeats x samples: dF/F, or spike counts (``units="spikes"``,
            non-negative).
        frame: ``(S,)`` the movie frame shown at each sample (integers; -1: none).
        sampling_rate: Hz (1.0 for 1-s bins).
        session_id: The file stem (made safe).
        movie: A registered movie (``natural_movie_one``, ``natural_movie_two``, ``natural_movie_three``).
        units: ``"dff"`` or ``"spikes"``.

    Raises:
        DataError: naming ``source``, before anything is written: shapes, non-finite or
            non-numeric values, negative spike counts, frames that are not integers of the
            movie, a rate that is not a positive number, an unknown movie or unit kind.
    """
    where = source
    if units not in MODALITIES:
        raise DataError(where, f"units {units!r}, expected one of {', '.join(MODALITIES)}")
    if movie not in STIMULI or STIMULI[movie].structure != "movie":
        movies = [n for n, s in STIMULI.items() if s.structure == "movie"]
        raise DataError(where, f"movie {movie!r} is not a registered movie; expected one of {', '.join(movies)}")
    data = real_numbers(data, "data", where).astype(np.float64)
    if data.ndim != 3 or min(data.shape) < 1:
        raise DataError(where, f"data has shape {data.shape}, expected (units, repeats, samples) with at least one "
                               "of each")
    U, R, S = data.shape
    if not np.isfinite(data).all():
        raise DataError(where, f"data contains {int((~np.isfinite(data)).sum())} NaN/inf values, expected finite "
                               "numbers")
    if np.abs(data).max() > np.finfo(np.float32).max:
        raise DataError(where, f"data holds values up to {np.abs(data).max():g}, beyond float32's range (traces are "
                               "stored as float32); expected dF/F or spike counts")
    if units == "spikes" and (data < 0).any():
        raise DataError(where, f"data has {int((data < 0).sum())} negative values, expected spike counts >= 0 "
                               "(or --units dff)")
    frame = real_numbers(frame, "frame", where).astype(np.float64).ravel()
    if frame.shape != (S,):
        raise DataError(where, f"frame has {frame.size} entries for {S} samples per repeat, expected (samples,)")
    n_frames = MOVIE_FRAMES[movie]
    if not np.isfinite(frame).all() or (frame != np.round(frame)).any() or (frame < -1).any() or \
            (frame >= n_frames).any():
        raise DataError(where, f"frame holds values outside the integers -1..{n_frames - 1}, expected the frame of "
                               f"{movie} shown at each sample (-1: none)")
    frame = frame.astype(np.int64)
    if not (frame >= 0).any():
        raise DataError(where, "frame is -1 everywhere, expected the movie frame shown at each sample")
    rate = finite_number(sampling_rate, "rate (Hz)", where)
    if rate <= 0:
        raise DataError(where, f"rate {rate:g} Hz, expected a finite number > 0")
    session_id = safe_session_id(session_id, where)
    traces = np.ascontiguousarray(data.transpose(1, 2, 0).reshape(R * S, U), dtype=np.float32)
    t = np.arange(R * S) / rate
    shown = np.tile(frame, R) >= 0
    repeat = np.repeat(np.arange(R), S)
    table = {"start": t[shown], "end": t[shown] + 1.0 / rate, "frame": np.tile(frame, R)[shown],
             "repeat": repeat[shown]}
    which = repeat_split(np.arange(R))
    edges = np.arange(R) * S / rate
    splits = {s: (edges[which == s], edges[which == s] + S / rate) for s in ("train", "valid", "test")}
    return Recording(session_id=session_id, traces=traces, sampling_rate=rate, start_time=0.0,
                     roi_xy=np.zeros((U, 2)), roi_area=np.ones(U), roi_width=np.ones(U), roi_height=np.ones(U),
                     intervals={movie: table}, epochs={movie: (np.array([0.0]), np.array([R * S / rate]))},
                     splits=splits, modality=units)


def split_units(rec: Recording, groups: int, seed: int = 0) -> list[Recording]:
    """``rec``'s units dealt at random (seeded) into ``groups`` disjoint groups of nearly
    equal size, each a :class:`Recording` of its own, ``<id>-units<k>of<groups>``: pseudo-
    animals cut from one recording, to measure the shared space, decoding one group with
    the others' decoders, and adapting a new "animal" (``neurocine import-movie
    --split-units``). They share every stimulus moment, so their intervals are not those of
    independent animals.

    Example:
        >>> rec = movie_recording(np.ones((10, 10, 30), np.float32), np.arange(30) * 30, 1.0, "m1")
        >>> [(r.session_id, r.traces.shape[1]) for r in split_units(rec, 3)]
        [('m1-units1of3', 4), ('m1-units2of3', 3), ('m1-units3of3', 3)]

    Raises:
        DataError: fewer units than groups, or fewer than 1 group.
    """
    U = rec.traces.shape[1]
    if groups < 1 or groups > U:
        raise DataError(rec.session_id, f"--split-units {groups}: expected 1 to {U} groups (the units there are)")
    order = np.random.default_rng(seed).permutation(U)
    out = []
    for k, members in enumerate(np.array_split(order, groups)):
        members = np.sort(members)
        out.append(replace(rec, session_id=f"{rec.session_id}-units{k + 1}of{groups}",
                           traces=np.ascontiguousarray(rec.traces[:, members]), roi_xy=rec.roi_xy[members],
                           roi_area=rec.roi_area[members], roi_width=rec.roi_width[members],
                           roi_height=rec.roi_height[members],
                           subject={**rec.subject, "units_of": rec.session_id,
                                    "unit_indices": ",".join(map(str, members))}))
    return out


def load_movie_npz(path: str | Path) -> dict:
    """Read ``data`` (units, repeats, samples), ``frame`` (samples,), ``rate`` (Hz) and an
    optional ``movie`` name and ``session_id`` from an ``.npz`` into
    :func:`movie_recording`'s arguments."""
    z = NpzArrays(path)
    missing = [k for k in ("data", "frame", "rate") if k not in z.files]
    if missing:
        raise DataError(z.path, f"missing arrays {missing} (has {z.files}); expected data (units, repeats, samples), "
                                "frame (samples,), rate (Hz)")
    rate = z.array("rate")
    if rate.size != 1 or rate.dtype.kind not in "iuf":
        raise DataError(z.path, f"'rate' holds {rate.size} value(s) of {rate.dtype}, expected one number (Hz)")
    return dict(data=z.array("data"), frame=z.array("frame"), sampling_rate=float(rate.ravel()[0]),
                movie=z.text("movie", "natural_movie_one"), session_id=z.text("session_id", z.path.stem))


__all__ = ["movie_recording", "load_movie_npz", "split_units"]
