"""Layout detection: which reader a session file needs.

Each file layout is one reader module plus one :class:`Layout` entry in :data:`LAYOUTS`
(a test that recognises the layout from the open HDF5 file, and the reader). Layouts are
tried in order; the first whose test passes reads the file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import h5py

from neurocine.errors import DataError
from neurocine.io.brainsets import read_brainsets
from neurocine.io.hdf5 import open_h5
from neurocine.io.kirby import read_kirby
from neurocine.io.nwb import SPLIT_RULE, is_nwb, read_nwb, read_nwb_template
from neurocine.session import Session


@dataclass(frozen=True)
class Layout:
    """One session-file layout.

    Attributes:
        name: Shown by ``inspect`` and stored in ``Session.layout``.
        matches: ``open h5py.File -> bool``: does this file use the layout?
        read: ``(path, traces: bool) -> Session``.
        description: What the layout is, for error messages.
        read_template: ``(path, stimulus) -> (K, H, W) array or None`` for layouts whose
            files carry the stimulus templates (Allen NWB).
        split_rule: How splits are made when the files carry none (shown by ``inspect``).
    """

    name: str
    matches: Callable[[h5py.File], bool]
    read: Callable[[Path, bool], Session]
    description: str
    read_template: Callable[[Path, str], object] | None = None
    split_rule: str | None = None


LAYOUTS: dict[str, Layout] = {}


def register_layout(layout: Layout) -> Layout:
    LAYOUTS[layout.name] = layout
    return layout


register_layout(Layout("allen_nwb", is_nwb, read_nwb,
                       "Allen NWB 1.0 (processing/brain_observatory_pipeline/DfOverF, stimulus/presentation)",
                       read_template=read_nwb_template, split_rule=SPLIT_RULE))
register_layout(Layout("brainsets", lambda f: "calcium_traces" in f and ("absolute_start" in f.attrs or "train_domain" in f),
                       read_brainsets, "brainsets / temporaldata (calcium_traces + train_domain)"))
register_layout(Layout("kirby", lambda f: "calcium_traces" in f, read_kirby,
                       "kirby / POYO-CAP (calcium_traces with split masks)"))


def detect_layout(path: str | Path) -> str:
    """The name of the first layout in :data:`LAYOUTS` that recognises ``path``.

    Raises:
        DataError: not HDF5, corrupt, or no layout recognises it.
    """
    with open_h5(path) as f:
        for layout in LAYOUTS.values():
            if layout.matches(f):
                return layout.name
    known = "; ".join(f"{lay.name}: {lay.description}" for lay in LAYOUTS.values())
    raise DataError(path, f"missing 'calcium_traces' and no Allen NWB dF/F (expected a session file of a known "
                          f"layout: {known})")


def read_session(path: str | Path, layout: str | None = None, traces: bool = True) -> Session:
    """Read one session file (layout detected when ``layout`` is None); ``traces=False``
    skips the dF/F (labels, splits and shapes only)."""
    layout = layout or detect_layout(path)
    if layout not in LAYOUTS:
        raise DataError(path, f"unknown layout {layout!r}; expected one of {', '.join(LAYOUTS)}")
    try:
        return LAYOUTS[layout].read(Path(path), traces)
    except DataError:
        raise
    except Exception as exc:  # noqa: BLE001 - a malformed file must give one line naming it, whatever broke
        text = (str(exc).strip().splitlines() or [""])[0][:200]
        raise DataError(path, f"malformed {layout} session file ({type(exc).__name__}: {text})") from None
