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

import errno
import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Callable

from neurocine.errors import DataError, OutputError


def _disk_full(path: Path) -> bool:
    """The folder's file system has (almost) no space left."""
    try:
        return shutil.disk_usage(path.parent).free < (1 << 20)
    except OSError:
        return False


def _write_failure(path: Path, exc: BaseException) -> OutputError | None:
    """The OutputError for a failed write, or None when ``exc`` is not about writing.

    Libraries report a full disk differently (an OSError with errno ENOSPC, h5py's OSError
    without an errno, torch's RuntimeError from its stream writer); they all become one
    line naming the file."""
    text = str(exc)
    if isinstance(exc, OSError) and exc.errno is not None:
        return OutputError(path, exc)
    if "No space left" in text or "errno = 28" in text or _disk_full(path):
        return OutputError(path, OSError(errno.ENOSPC, "no space left on the device"))
    if "Read-only file system" in text or "errno = 30" in text:
        return OutputError(path, OSError(errno.EROFS, "read-only file system"))
    if isinstance(exc, OSError):
        return OutputError(path, exc)
    return None


@contextmanager
def atomic_path(path: str | Path, overwrite: bool = True, suffix: str = ".tmp"):
    """Yield a temporary path beside ``path``; on normal exit it is renamed to ``path``
    (mode 0644), on error removed.

    Raises:
        DataError: ``path`` exists and ``overwrite`` is False.
        OutputError: the folder cannot be created or written (read-only, permissions,
            disk full, a parent that is a file); ``path`` is left as it was.
    """
    path = Path(path)
    if path.exists() and not overwrite:
        raise DataError(path, "already exists; refusing to overwrite (remove it or choose another --out)")
    if path.is_dir():
        raise OutputError(path, OSError(errno.EISDIR, "is a folder"))
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
    except Exception as exc:  # noqa: BLE001 - a write failure of any library becomes one line
        failure = _write_failure(path, exc)
        if failure is None:
            raise
        raise failure from None
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
def atomic_h5(path: str | Path, overwrite: bool = False, check: Callable[[Path], None] | None = None):
    """Yield an ``h5py.File`` open for writing at a temporary name beside ``path``; it is
    closed before any error propagates (an HDF5 handle left open on a failed write can
    crash the interpreter later) and renamed into place only when it closed cleanly.

    Args:
        check: Called with the closed temporary file before the rename (a writer reads
            its file back and compares): an error there leaves nothing behind.

    Raises:
        DataError: ``path`` exists and ``overwrite`` is False, or ``check`` refused the file.
        OutputError: the write failed (disk full, read-only); nothing is left behind.
    """
    import h5py

    with atomic_path(path, overwrite, suffix=".h5") as tmp:
        f = h5py.File(tmp, "w")
        try:
            yield f
        except BaseException:
            try:
                f.close()
            except Exception:  # noqa: BLE001 - the first error is the one to report
                pass
            raise
        f.close()  # a failure here (flush on a full disk) propagates: the file is not renamed
        if check is not None:
            check(tmp)
