"""What a session-file layout is: one :class:`Layout` per module of :mod:`neurocine.io.layouts`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import h5py

from neurocine.session import Session


@dataclass(frozen=True)
class Layout:
    """One session-file layout, everything about it in one object.

    Attributes:
        name: Shown by ``inspect`` and stored in ``Session.layout``.
        extensions: File name endings of the layout (``.h5``, ``.nwb``).
        matches: ``open h5py.File -> bool``: does this file use the layout?
        read: ``(path, traces: bool, handle: open h5py.File | None) -> Session``.
        description: What the layout is, for error messages.
        write: ``(Recording, path, overwrite, source) -> path`` for layouts neurocine
            writes (None: read only).
        read_template: ``(path, stimulus) -> (K, H, W) array or None`` for layouts whose
            files carry the stimulus templates (Allen NWB).
        split_rule: How splits are made when the files carry none (shown by ``inspect``);
            None when the files hold their own.
    """

    name: str
    extensions: tuple[str, ...]
    matches: Callable[[h5py.File], bool]
    read: Callable[..., Session]
    description: str
    write: Callable | None = None
    read_template: Callable[[Path, str], object] | None = None
    split_rule: str | None = None


__all__ = ["Layout"]
