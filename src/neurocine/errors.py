"""Exceptions with one-line, user-facing messages.

Every error raised on bad user input (files, config keys, arguments) is a subclass of
:class:`NeurocineError`; the CLI prints its message on one line and exits with code 2.
"""

from __future__ import annotations

from pathlib import Path


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


class ConfigError(NeurocineError, ValueError):
    """A config key or value is unknown or out of range."""
