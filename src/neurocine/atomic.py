"""Atomic file writes: write beside the target, then rename into place.

A crash or Ctrl-C mid-write leaves the previous file (or none) intact, never a partial one.
Every file neurocine writes goes through :func:`atomic_path` (or its two shorthands,
:func:`atomic_write` and :func:`atomic_h5`).

Example:
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "a.txt"
    >>> _ = atomic_write(p, lambda tmp: tmp.write_text("hello"))
    >>> p.read_text()
    'hello'
"""

from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Callable

from neurocine.errors import DataError, OutputError


@contextmanager
def atomic_path(path: str | Path, overwrite: bool = True, suffix: str = ".tmp"):
    """Yield a temporary path beside ``path``; on normal exit it is renamed to ``path``
    (mode 0644), on error removed.

    Raises:
        DataError: ``path`` exists and ``overwrite`` is False.
        OutputError: the folder cannot be created or written (read-only, permissions,
            disk full); ``path`` is left as it was.
    """
    path = Path(path)
    if path.exists() and not overwrite:
        raise DataError(path, "already exists; refusing to overwrite (remove it or choose another --out)")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=path.parent)
        os.close(fd)
    except OSError as exc:
        raise OutputError(path, exc) from None
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; results are ordinary data files
        os.replace(tmp, path)
    except OSError as exc:
        raise OutputError(path, exc) from None
    finally:
        if os.path.exists(tmp):
            try:
                os.remove(tmp)
            except OSError:
                pass


def atomic_write(path: str | Path, write: Callable[[Path], object], overwrite: bool = True,
                 suffix: str | None = None) -> Path:
    """Call ``write(tmp)`` on a temporary path beside ``path`` and rename it into place.

    ``suffix`` (default: ``path``'s own) matters for writers that add an extension
    themselves (``np.savez`` appends ``.npz`` to a name without it)."""
    path = Path(path)
    with atomic_path(path, overwrite, suffix=suffix if suffix is not None else (path.suffix or ".tmp")) as tmp:
        write(tmp)
    return path


@contextmanager
def atomic_h5(path: str | Path, overwrite: bool = False):
    """Yield an ``h5py.File`` open for writing at a temporary name beside ``path``; it is
    closed (before any error propagates: an open HDF5 handle on a failed write can crash
    the interpreter) and renamed into place.

    Raises:
        DataError: ``path`` exists and ``overwrite`` is False.
        OutputError: the write failed (disk full, read-only); nothing is left behind.
    """
    import h5py

    with atomic_path(path, overwrite, suffix=".h5") as tmp:
        f = h5py.File(tmp, "w")
        try:
            yield f
        finally:
            try:
                f.close()
            except Exception:  # noqa: BLE001 - closing a file whose write failed can fail too
                pass
