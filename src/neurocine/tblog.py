"""TensorBoard event files for live training curves (``tensorboard --logdir results/``).

Written with ``torch.utils.tensorboard`` when the ``tensorboard`` package is installed
(``pip install neurocine[tensorboard]``); without it, :func:`open_writer` returns None and
nothing is logged. Only rank 0 of a distributed run writes.
"""

from __future__ import annotations

from pathlib import Path


class Writer:
    """``scalar(tag, value, step)`` into one event folder."""

    def __init__(self, log_dir: str | Path):
        from torch.utils.tensorboard import SummaryWriter

        self._w = SummaryWriter(log_dir=str(log_dir))

    def scalar(self, tag: str, value: float, step: int) -> None:
        self._w.add_scalar(tag, float(value), int(step))

    def close(self) -> None:
        self._w.close()


def available() -> bool:
    """True when the tensorboard package is installed."""
    try:
        import tensorboard  # noqa: F401
    except ImportError:
        return False
    return True


def open_writer(log_dir: str | Path | None) -> Writer | None:
    """A writer for ``log_dir`` (None when no folder is given or tensorboard is missing;
    under torchrun only rank 0 passes a folder)."""
    if log_dir is None or not available():
        return None
    return Writer(log_dir)


__all__ = ["Writer", "open_writer", "available"]
