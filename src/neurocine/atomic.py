"""Atomic file writes: write beside the target, then rename into place.

A crash or Ctrl-C mid-write leaves the previous file (or none) intact, never a partial one.
"""

from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from pathlib import Path

from neurocine.errors import DataError


@contextmanager
def atomic_path(path: str | Path, overwrite: bool = True, suffix: str = ".tmp"):
    """Yield a temporary path beside ``path``; on normal exit it is renamed to ``path``
    (mode 0644), on error removed.

    Raises:
        DataError: ``path`` exists and ``overwrite`` is False.
    """
    path = Path(path)
    if path.exists() and not overwrite:
        raise DataError(path, "already exists; refusing to overwrite (remove it or choose another --out)")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; results are ordinary data files
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
