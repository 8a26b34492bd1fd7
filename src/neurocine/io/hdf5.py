"""Opening HDF5 files with one-line errors."""

from __future__ import annotations

import errno
import os
from contextlib import contextmanager
from pathlib import Path

import h5py

from neurocine.errors import DataError


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}".rstrip(": ")


@contextmanager
def open_h5(path: str | Path, handle: h5py.File | None = None, digest=None):
    """Open ``path`` read-only (one open of the file); any read failure inside the block
    becomes a DataError naming it. With ``handle`` (a file the caller already opened, as
    :func:`neurocine.io.read_session` does to detect the layout) that file is used and left
    open. With ``digest`` (a ``hashlib`` object), the file's bytes are fed to it through the
    same open before HDF5 reads them (a run's checksums cost no second open).

    Raises:
        DataError: missing file, not HDF5, or corrupt/truncated HDF5.
    """
    path = Path(path)
    fh = None
    if handle is not None:
        f = handle
    else:
        f, fh = _open(path, digest)
    try:
        yield f
    except DataError:
        raise
    except (OSError, RuntimeError) as exc:
        raise DataError(path, f"corrupt or truncated HDF5 ({_first_line(exc)})") from exc
    finally:
        if handle is None:  # a caller's handle stays open
            try:
                f.close()
            except Exception:  # closing a broken file can fail too; the error above matters
                pass
            if fh is not None:
                fh.close()


def _open(path: Path, digest) -> tuple[h5py.File, object]:
    """``(h5py file, the Python file object under it or None)``: one open of ``path``,
    feeding ``digest`` first; a DataError saying what the file is when it cannot be opened."""
    if path.is_symlink() and not path.exists():
        try:
            os.stat(path)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise DataError(path, f"a loop of symbolic links (it points to {os.readlink(path)}, which leads back "
                                      "to it); point it at a session file") from None
        raise DataError(path, f"broken link (points to {os.readlink(path)}, which does not exist)")
    if not path.is_file():
        raise DataError(path, "file not found")
    fh = None
    try:
        if digest is not None:
            fh = open(path, "rb")
            for block in iter(lambda: fh.read(1 << 22), b""):
                digest.update(block)
            fh.seek(0)
        return h5py.File(fh if fh is not None else path, "r"), fh
    except OSError as exc:  # only now ask what it is (one more open, on the error path alone)
        if fh is not None:
            fh.close()
        try:
            is_h5 = h5py.is_hdf5(path)
        except OSError:
            raise DataError(path, f"cannot be read ({_first_line(exc)})") from exc
        if not is_h5:
            raise DataError(path, "not an HDF5 file (expected a session file: Allen NWB, kirby or brainsets "
                                  ".h5)") from None
        raise DataError(path, f"corrupt or truncated HDF5 ({_first_line(exc)})") from exc

def require(group: h5py.Group, key: str, path, expected: str):
    """``group[key]`` or a DataError naming the key and what was expected."""
    if key not in group:
        full = f"{group.name.rstrip('/')}/{key}".lstrip("/")
        raise DataError(path, f"missing '{full}' (expected {expected})")
    return group[key]


def check_rate(path, rate: float, samples: int, span_s: float, tolerance: float = 0.1, shape=None) -> None:
    """Refuse a sampling rate that disagrees with the file's own domain and sample count
    (``samples`` intervals over ``span_s`` seconds) by more than ``tolerance``: a wrong rate
    puts every sample at the wrong time and silently drops the stimulus labels. Given the
    traces' ``shape`` (rows counted in ``samples``), a second axis that fits the domain
    instead is reported as what it most likely is: traces stored transposed."""
    if span_s <= 0 or samples < 2:
        return
    implied = samples / span_s
    if shape is not None and len(shape) == 2:
        other = shape[1] - (shape[0] - samples)
        if abs(rate - other / span_s) <= tolerance * rate and abs(rate - implied) > tolerance * implied:
            raise DataError(path, f"calcium_traces/df_over_f has shape {tuple(shape)}: it looks transposed (the "
                                  f"{span_s:.1f} s domain at {rate:g} Hz holds {shape[1]} samples); expected (T, N)")
    if abs(rate - implied) > tolerance * implied:
        raise DataError(path, f"calcium_traces has sampling_rate={rate:g} Hz, but its {samples} sample intervals span "
                              f"the {span_s:.1f} s domain ({implied:.3g} Hz); expected the rate the samples were "
                              "recorded at")
