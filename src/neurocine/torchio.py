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


def load_checkpoint(path: str | Path, kind: str = "torch") -> dict:
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
    except FileNotFoundError:
        raise
    except Exception as exc:  # noqa: BLE001 - torch raises RuntimeError, EOFError, zip errors for a cut file
        raise DataError(path, f"not a readable {kind} file, truncated or corrupt ({type(exc).__name__}: "
                              f"{first_line(exc, 80).split('. ')[0]}); remove it, or train anew with --force") from None


def load_state(module: torch.nn.Module, state, path: str | Path, part: str) -> None:
    """``module.load_state_dict(state)`` after :func:`check_state`.

    Raises:
        DataError: ``"{path}: {part} weight 'x' has shape (3, 4), the model's is (3, 5); ..."``.
    """
    check_state(module, state, path, part)
    module.load_state_dict(state)


def check_state(module: torch.nn.Module, state, path: str | Path, part: str,
                remedy: str = "the file does not match its own settings") -> None:
    """Check, in one line naming the file, that ``state`` has ``module``'s tensors, each of
    the module's shape, all finite; ``remedy`` ends a shape or name mismatch.

    A model file whose weights were cut, edited or went NaN in training would otherwise end
    in a torch traceback (size mismatch) or, later, in a scikit-learn one (NaN embeddings);
    a checkpoint made with other settings would do the same after the run had rewritten its
    config.

    Raises:
        DataError: what differs, naming the file.
    """
    expected = module.state_dict()
    if not isinstance(state, dict):
        raise DataError(path, f"{part} weights are not a table of tensors; the file is damaged")
    missing = sorted(set(expected) - set(state))
    extra = sorted(set(state) - set(expected))
    if missing or extra:
        which = f"lacks {missing[:2]}" if missing else f"has unknown {extra[:2]}"
        raise DataError(path, f"{part} weights {which} ({len(missing)} missing, {len(extra)} unknown); {remedy}")
    for name, value in state.items():
        if not isinstance(value, torch.Tensor):
            raise DataError(path, f"{part} weight {name!r} is not a tensor; the file is damaged")
        if tuple(value.shape) != tuple(expected[name].shape):
            raise DataError(path, f"{part} weight {name!r} has shape {tuple(value.shape)}, the model's is "
                                  f"{tuple(expected[name].shape)}; {remedy}")
        if value.is_floating_point() and not torch.isfinite(value).all():
            raise DataError(path, f"{part} weight {name!r} holds {int((~torch.isfinite(value)).sum())} NaN/inf "
                                  "values; the model cannot embed (train anew with --force)")


def load_saved(path: str | Path, fmt: str, kind: str, name: str) -> dict:
    """The dict an estimator's ``save`` wrote, checked: one-line errors for a missing or
    unreadable file (``"{path}: {kind} file not found"``) and for another format
    (``"{path}: not a neurocine {name} file"``)."""
    path = Path(path)
    if not path.is_file():
        raise NeurocineError(f"{path}: {kind} file not found")
    blob = load_checkpoint(path, kind)
    if not isinstance(blob, dict) or blob.get("format") != fmt:
        raise NeurocineError(f"{path}: not a neurocine {name} file")
    return blob


__all__ = ["save_atomic", "load_checkpoint", "load_saved", "load_state", "check_state"]
