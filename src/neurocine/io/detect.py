"""Layout detection: which reader a session file needs."""

from __future__ import annotations

from pathlib import Path

from neurocine.errors import DataError
from neurocine.io.brainsets import read_brainsets
from neurocine.io.hdf5 import open_h5
from neurocine.io.kirby import read_kirby
from neurocine.session import Session

LAYOUTS = ("kirby", "brainsets")


def detect_layout(path: str | Path) -> str:
    """Return ``"brainsets"`` (root ``absolute_start`` attribute or ``train_domain``
    group, as ``temporaldata.Data.to_hdf5`` writes) or ``"kirby"`` (split masks inside
    ``calcium_traces``).

    Raises:
        DataError: not HDF5, corrupt, or no ``calcium_traces`` group.
    """
    with open_h5(path) as f:
        if "calcium_traces" not in f:
            raise DataError(path, "missing 'calcium_traces' (expected a kirby or brainsets session with "
                                  "calcium_traces/df_over_f (T, N))")
        if "absolute_start" in f.attrs or "train_domain" in f:
            return "brainsets"
        return "kirby"


def read_session(path: str | Path, layout: str | None = None, traces: bool = True) -> Session:
    """Read one session file of either layout (detected when ``layout`` is None);
    ``traces=False`` skips the dF/F (labels, splits and shapes only)."""
    layout = layout or detect_layout(path)
    if layout == "kirby":
        return read_kirby(path, traces)
    if layout == "brainsets":
        return read_brainsets(path, traces)
    raise DataError(path, f"unknown layout {layout!r}; expected one of {LAYOUTS}")
