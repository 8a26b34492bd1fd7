"""Finding and reading the session files of a data folder (layout detected per file)."""

from __future__ import annotations

import fnmatch
from pathlib import Path

from neurocine.errors import ConfigError, DataError
from neurocine.io import read_session
from neurocine.session import Session
from neurocine.settings import DEFAULT


class SessionList(list):
    """A list of :class:`Session` with ``skipped``: ``[(path, reason), ...]`` of files
    passed over with ``skip_bad=True``."""

    def __init__(self, items=(), skipped=None):
        super().__init__(items)
        self.skipped: list[tuple[Path, str]] = list(skipped or [])


def find_session_files(data_dir: str | Path, pattern: str = "*.h5 *.nwb",
                       max_sessions: int | None = None, exclude: str = DEFAULT.dataset.exclude) -> list[Path]:
    """Session files in ``data_dir`` and its sub-folders (AllenSDK caches nest one folder per
    session) matching ``pattern`` (globs separated by spaces) and none of ``exclude``, sorted
    by path; hidden files and folders are skipped.

    Raises:
        DataError: the folder is missing or has no matching file.
        ConfigError: ``max_sessions`` <= 0.
    """
    if max_sessions is not None and max_sessions <= 0:
        raise ConfigError(f"max_sessions={max_sessions}, expected a positive integer or None")
    d = Path(data_dir)
    if not d.exists():
        raise DataError(d, "data directory not found")
    if not d.is_dir():
        raise DataError(d, "is not a directory (expected a folder of <session_id>.h5 or .nwb files)")
    skip = exclude.split()
    found = {p for glob in pattern.split() for p in d.rglob(glob)
             if not any(part.startswith(".") for part in p.relative_to(d).parts)
             and not any(fnmatch.fnmatch(p.name, x) for x in skip)}
    files = sorted(p for p in found if p.is_file() or p.is_symlink())  # a broken link is reported when read
    if not files:
        raise DataError(d, f"no files matching '{pattern}' (expected <session_id>.h5 or Allen <id>.nwb session "
                           "files)")
    return files[:max_sessions] if max_sessions else files


def load_sessions(data_dir: str | Path, pattern: str = "*.h5 *.nwb", max_sessions: int | None = None,
                  skip_bad: bool = False, progress: bool = False, with_traces=None,
                  checksums: bool = False, options: dict | None = None,
                  exclude: str = DEFAULT.dataset.exclude) -> SessionList:
    """Read every session file in ``data_dir`` (layout detected per file).

    Args:
        data_dir: Folder of ``<session_id>.h5`` files.
        pattern: Glob for session files.
        max_sessions: Read at most this many files (sorted by name).
        skip_bad: Skip unreadable files (recorded in ``.skipped``) instead of raising.
        progress: Show a tqdm bar.
        with_traces: None reads every file's dF/F. Otherwise the positions (in the sorted
            file list) whose dF/F is read; the other sessions carry labels, splits and
            shapes only, with zero-memory placeholder traces (a distributed rank's shard).
        checksums: Record each file's SHA-256 (``Session.sha256``) through the same open.
        options: Reading options for layouts that take them (spikes: ``areas``,
            ``bin_s``, ``populations``, ``spike_transform``, ``unit_filter``;
            :func:`read_options` makes them from the ``dataset`` settings). A Neuropixels
            file read per area adds one session per area.
        exclude: Globs of files under ``data_dir`` that are not sessions
            (``dataset.exclude``).

    Returns:
        :class:`SessionList` of raw (un-normalised) sessions.

    Raises:
        DataError: the first bad file, when ``skip_bad`` is False; or no file was good.
    """
    from tqdm.auto import tqdm  # noqa: PLC0415 - tqdm picks its front end at import

    options = dict(options or {})
    files = find_session_files(data_dir, pattern, max_sessions, exclude)
    out = SessionList()
    wanted = None if with_traces is None else set(int(i) for i in with_traces)
    seen: dict[str, Path] = {}
    for i, path in enumerate(tqdm(files, desc="load", unit="session", disable=not progress)):
        try:
            read = read_session(path, traces=wanted is None or i in wanted, checksum=checksums, **options)
            read = read if isinstance(read, list) else [read]
            for session in read:
                if session.session_id in seen:
                    raise DataError(path, f"session id {session.session_id!r} is also the id of "
                                          f"{seen[session.session_id]}; each session must appear once")
        except DataError as exc:
            if not skip_bad:
                raise
            out.skipped.append((path, exc.reason))
            continue
        for session in read:
            seen[session.session_id] = path
            out.append(session)
    if not out:
        raise DataError(data_dir, f"none of the {len(files)} session files could be read "
                                  f"(first: {out.skipped[0][0].name}: {out.skipped[0][1]})")
    return out


# ----------------------------------------------------------------------- normalisation


def shard(num_items: int, world_size: int, rank: int) -> list[int]:
    """Round-robin shard of a distributed run: the positions ``rank, rank + K, ...`` of
    ``range(num_items)`` (process ``rank`` of ``K`` reads those session files)."""
    return list(range(rank, num_items, world_size))


def read_options(dataset) -> dict:
    """The reading options a ``dataset`` settings section gives the readers."""
    return {"areas": tuple(dataset.areas), "bin_s": dataset.bin_s, "populations": dataset.populations,
            "spike_transform": dataset.spike_transform, "unit_filter": dataset.unit_filter}


__all__ = ["SessionList", "find_session_files", "load_sessions", "read_options", "shard", "Session"]
