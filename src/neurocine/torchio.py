"""Saving and loading torch files (models, checkpoints): atomic writes, and loads that never
unpickle code (``weights_only=True``)."""

from __future__ import annotations

import pickle
from pathlib import Path

import torch

from neurocine.atomic import atomic_write
from neurocine.errors import DataError, NeurocineError, first_line


def save_atomic(obj, path: str | Path) -> Path:
    """``torch.save`` to a temporary file beside ``path``, then rename into place."""
    return atomic_write(path, lambda tmp: torch.save(obj, tmp))


def load_checkpoint(path: str | Path) -> dict:
    """Load a checkpoint or saved model onto the CPU (a CUDA-written file loads on a
    CPU-only machine).

    Only tensors and plain data (dicts, lists, numbers, strings) are unpickled
    (``weights_only=True``): a shared model or checkpoint can never run code on load.

    Raises:
        DataError: the file holds other objects (it was not written by neurocine, or was
            tampered with), or is not a readable torch file.
    """
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        first = first_line(exc, 160)
        raise DataError(path, "refusing to load: it holds objects other than tensors and plain data, which could "
                              f"run code when unpickled ({first})") from None


def load_saved(path: str | Path, fmt: str, kind: str, name: str) -> dict:
    """The dict an estimator's ``save`` wrote, checked: one-line errors for a missing or
    unreadable file (``"{path}: {kind} file not found"``) and for another format
    (``"{path}: not a neurocine {name} file"``)."""
    path = Path(path)
    if not path.is_file():
        raise NeurocineError(f"{path}: {kind} file not found")
    try:
        blob = load_checkpoint(path)
    except DataError:
        raise
    except Exception as exc:  # torch raises many types for a broken file
        raise NeurocineError(f"{path}: not a readable {kind} file ({type(exc).__name__})") from exc
    if not isinstance(blob, dict) or blob.get("format") != fmt:
        raise NeurocineError(f"{path}: not a neurocine {name} file")
    return blob


__all__ = ["save_atomic", "load_checkpoint", "load_saved"]
