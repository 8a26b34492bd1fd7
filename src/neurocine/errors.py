"""Exceptions with one-line, user-facing messages.

Every error raised on bad user input (files, config keys, arguments, output paths) is a
subclass of :class:`NeurocineError`; the CLI prints its message on one line and exits with
code 2.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path



def first_line(exc: BaseException, limit: int = 200) -> str:
    """The first line of ``exc``'s message, at most ``limit`` characters: what a one-line
    error quotes of a library's (often multi-line) message.

    Example:
        >>> first_line(ValueError("bad value\\nmore detail"))
        'bad value'
    """
    return (str(exc).strip().splitlines() or [""])[0][:limit]

class NeurocineError(Exception):
    """Base class for errors caused by user input; the message is shown as is."""


class DataError(NeurocineError, ValueError):
    """A session file or data directory is missing, unreadable or malformed.

    Args:
        path: The file or folder at fault (named first in the message).
        message: What was found and what was expected.
    """

    def __init__(self, path: str | Path | None, message: str):
        self.path = None if path is None else Path(path)
        self.reason = message
        super().__init__(f"{path}: {message}" if path is not None else message)


class TemplateNotFound(DataError):
    """No source holds a stimulus template (movie frames, scene images): a stage that needs
    it has nothing to reconstruct and says so instead of stopping the run."""


class ConfigError(NeurocineError, ValueError):
    """A config key or value is unknown or out of range."""


_OS_REASONS = {
    errno.ENOSPC: "no space left on the device",
    errno.EDQUOT: "disk quota exceeded",
    errno.EROFS: "the file system is read-only",
    errno.EACCES: "permission denied",
    errno.EPERM: "permission denied",
    errno.ENOTDIR: "a parent of this path is a file, not a folder",
    errno.EISDIR: "is a folder, expected a file",
}


class OutputError(NeurocineError, OSError):
    """A result could not be written (disk full, read-only file system, permissions, a
    path below a file). Earlier results are left intact.

    Args:
        path: The file that was being written.
        exc: The operating-system error, or a message.
    """

    def __init__(self, path: str | Path, exc: OSError | str):
        self.path = Path(path)
        if isinstance(exc, OSError):
            custom = exc.strerror and exc.errno is not None and exc.strerror != os.strerror(exc.errno)
            fallback = (exc.strerror or type(exc).__name__).lower()
            reason = exc.strerror if custom else _OS_REASONS.get(exc.errno, fallback)
        else:
            reason = str(exc)
        self.reason = reason
        Exception.__init__(self, f"{path}: cannot write ({reason}); earlier results are unchanged")

    def __str__(self) -> str:
        return self.args[0]


class LockError(NeurocineError):
    """Another run is writing into the same results folder."""


class MismatchError(NeurocineError):
    """A checkpoint or a finished results folder was made with other settings than the
    ones given (``--resume`` / reuse would mix runs); the message names the keys."""


class TrainingError(NeurocineError):
    """Training cannot go on (e.g. the loss became NaN or infinite)."""
