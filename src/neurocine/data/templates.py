"""Stimulus templates (movie frames, scene images) for reconstruction: where they are found
and how they are read, checked and resized."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from neurocine.data.discovery import find_session_files
from neurocine.errors import DataError, TemplateNotFound
from neurocine.io import LAYOUTS, detect_layout
from neurocine.settings import DatasetConfig


def find_template(dataset: DatasetConfig, stimulus: str, output_shape=None, n_frames: int | None = None,
                  sources=None) -> np.ndarray:
    """The template of ``stimulus`` for a run, from the first place that has it:
    ``dataset.movie_path`` (natural_movie_one), ``<data_dir>/<stimulus>.npy``, or a session
    file whose layout carries templates (Allen NWB: ``stimulus/templates``).

    Args:
        sources: ``[(session file, layout name), ...]`` to look in (a run passes the files it
            read, so none is opened to detect its layout again); default: the data folder's
            files, layouts detected.

    Returns:
        ``(K, H, W) float32`` in [0, 1], resized to ``output_shape``.

    Raises:
        TemplateNotFound: no source holds it (naming where it was looked for).
        DataError: a source holds it but it is unreadable or of the wrong shape.
    """
    if stimulus == "natural_movie_one" and dataset.movie_path:
        return load_template(dataset.movie_path, output_shape, n_frames)
    npy = Path(dataset.data_dir) / f"{stimulus}.npy"
    if npy.is_file():
        return load_template(npy, output_shape, n_frames)
    if sources is None:  # detect each file's layout (a run passes what it read: no file is opened twice)
        sources = [(p, None) for p in find_session_files(dataset.data_dir, dataset.file_pattern, dataset.max_sessions,
                                                      dataset.exclude)]
    for path, name in sources:
        layout = LAYOUTS.get(name or detect_layout(path))
        if layout is not None and layout.read_template is not None:
            frames = layout.read_template(path, stimulus)
            if frames is not None:
                return template_frames(frames, output_shape, n_frames, path)
    raise TemplateNotFound(npy, f"template of {stimulus} not found (expected a (frames, H, W) uint8 .npy here, "
                         f"dataset.movie_path, or Allen NWB files that carry it; for kirby/brainsets data save "
                         f"allensdk's get_stimulus_template('{stimulus}'))")


def load_template(path: str | Path, output_shape=None, n_frames: int | None = None) -> np.ndarray:
    """A stimulus template (movie frames or images) as ``(K, H, W) float32`` in [0, 1],
    resized (area-averaged) to ``output_shape`` when given.

    Args:
        path: ``.npy`` of ``(K, H, W)`` uint8 (0..255) or float (0..1) frames, e.g.
            allensdk's ``get_stimulus_template('natural_movie_one')``.
        output_shape: ``(H, W)`` to resize to, or None.
        n_frames: Expected K (the label's template length), checked when given.

    Raises:
        DataError: missing, unreadable, wrong rank, or wrong number of frames.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(path, "template not found (expected a (frames, H, W) uint8 .npy; for Allen data save "
                              "allensdk's get_stimulus_template('natural_movie_one'), or set dataset.movie_path)")
    try:
        movie = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise DataError(path, f"not a readable .npy file ({type(exc).__name__})") from None
    return template_frames(movie, output_shape, n_frames, path)


def template_frames(movie: np.ndarray, output_shape=None, n_frames: int | None = None, path=None) -> np.ndarray:
    """Template frames as ``(K, H, W) float32`` in [0, 1] (uint8 / 255), checked and resized."""
    if movie.ndim != 3:
        raise DataError(path, f"template has shape {movie.shape}, expected (frames, H, W)")
    if movie.dtype.kind not in "iuf" or movie.size == 0:
        raise DataError(path, f"template holds {movie.dtype} of shape {movie.shape}, expected (frames, H, W) numbers "
                              "(uint8 0..255 or float 0..1)")
    if movie.dtype.kind == "f" and not np.isfinite(movie).all():
        raise DataError(path, f"template has {int((~np.isfinite(movie)).sum())} NaN/inf pixels, expected finite "
                              "values (uint8 0..255 or float 0..1)")
    if n_frames is not None and movie.shape[0] != n_frames:
        raise DataError(path, f"template has {movie.shape[0]} frames, expected {n_frames}")
    scale = 255.0 if movie.dtype == np.uint8 or movie.max() > 1.5 else 1.0
    frames = movie.astype(np.float32) / scale
    if output_shape is not None and tuple(frames.shape[1:]) != tuple(output_shape):
        frames = torch.nn.functional.interpolate(torch.from_numpy(frames)[:, None], size=tuple(output_shape),
                                                 mode="area")[:, 0].numpy()
    return frames


__all__ = ["find_template", "load_template", "template_frames"]
