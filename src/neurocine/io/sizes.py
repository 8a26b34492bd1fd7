"""Sizes checked before they are allocated: what a setting or a file header implies, against
the memory this machine has free.

A bin width of a microsecond, or an ``.npy`` header that declares 40 GB over 64 bytes of
data, would otherwise allocate first and fail late, blaming a valid file or the batch size.
The readers estimate the arrays first and refuse in one line naming the setting or the file.

Example:
    >>> human_bytes(6.4e9), human_bytes(512)
    ('6.4 GB', '512 B')
    >>> refuse_beyond_memory(1e30, "bin_s=1e-30 makes counts", "raise bin_s")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    neurocine.errors.ConfigError: bin_s=1e-30 makes counts of 1e+30 B, more than the free memory (...); raise bin_s
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import numpy as np

from neurocine.errors import ConfigError, DataError, first_line


def available_bytes() -> int:
    """Memory this machine has free now (Linux ``MemAvailable``; else all physical memory)."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (OSError, ValueError, AttributeError):  # pragma: no cover - not a POSIX system
        return 1 << 62


def human_bytes(n: float) -> str:
    """``6.4 GB``: a size for a message."""
    if n >= 1e18:
        return f"{n:.3g} B"
    for unit, size in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{int(n)} B"


def refuse_beyond_memory(nbytes: float, what: str, remedy: str, path=None) -> None:
    """Refuse ``nbytes`` (``what`` makes them) when more than the free memory: a
    ConfigError for a setting, a DataError naming ``path`` for a file."""
    free = available_bytes()
    if nbytes <= free:
        return
    text = f"{what} of {human_bytes(nbytes)}, more than the free memory ({human_bytes(free)}); {remedy}"
    if path is not None:
        raise DataError(path, text)
    raise ConfigError(text)


class NpzArrays:
    """The arrays of an ``.npz``, each read only after its ``.npy`` header was checked: a
    header whose shape declares more bytes than the archive member holds (a forged or cut
    file) or more than the free memory is refused in one line naming the file and the array.
    Object arrays are refused (nothing is unpickled)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        try:
            self._z = np.load(self.path, allow_pickle=False)
            self.files = list(self._z.files)
        except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
            raise DataError(self.path, f"not a readable .npz ({type(exc).__name__})") from None

    def declared(self, key: str) -> tuple[tuple[int, ...], np.dtype, int]:
        """``(shape, dtype, bytes the member holds)`` from the ``.npy`` header of ``key``."""
        zf = self._z.zip
        try:
            info = zf.getinfo(f"{key}.npy")
            with zf.open(info) as fh:
                version = np.lib.format.read_magic(fh)
                read = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}
                shape, _, dtype = (read[version](fh) if version in read
                                   else np.lib.format._read_array_header(fh, version))  # 3.0: numpy's own reader
                offset = fh.tell()
        except (KeyError, OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
            raise DataError(self.path, f"array '{key}' has no readable .npy header ({type(exc).__name__}: "
                                       f"{first_line(exc, 80)})") from None
        return tuple(int(s) for s in shape), dtype, int(info.file_size) - offset

    def array(self, key: str) -> np.ndarray:
        """Array ``key``, its declared size checked first."""
        shape, dtype, held = self.declared(key)
        if dtype.hasobject:
            raise DataError(self.path, f"array '{key}' holds Python objects ({dtype}); expected numbers (object "
                                       "arrays are refused)")
        need = float(np.prod(shape, dtype=np.float64)) * dtype.itemsize
        if need > held:
            raise DataError(self.path, f"array '{key}' declares shape {shape} of {dtype} ({human_bytes(need)}) but "
                                       f"holds {human_bytes(held)}; the file is cut or forged")
        refuse_beyond_memory(need, f"array '{key}' of shape {shape}", "use a machine with more memory, or split "
                             "the file", self.path)
        try:
            return self._z[key]
        except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
            raise DataError(self.path, f"array '{key}' cannot be read ({type(exc).__name__}: {first_line(exc, 120)}); "
                                       "expected numbers (object arrays are refused)") from None

    def text(self, key: str, default: str | None, what: str = "one name") -> str | None:
        """A one-value name or id (text or integer) stored under ``key``, else ``default``."""
        if key not in self.files:
            return default
        raw = self.array(key)
        if raw.size != 1 or raw.dtype.kind not in "iuSU":
            raise DataError(self.path, f"'{key}' holds {raw.size} value(s) of {raw.dtype}, expected {what}")
        value = raw.ravel()[0]
        return value.decode(errors="replace") if isinstance(value, bytes) else str(value)


__all__ = ["available_bytes", "human_bytes", "refuse_beyond_memory", "NpzArrays"]
