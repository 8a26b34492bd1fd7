"""Session-file layouts: one module per layout, each defining its :class:`Layout`
(detection, reader, writer, split rule, extensions, templates), registered here in the
order detection tries them. A new layout is one module and one line below.

:func:`read_session` opens a file once, asks each layout whether it recognises it, and
reads it with the first that does.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from neurocine.errors import DataError, NeurocineError, first_line
from neurocine.io.hdf5 import open_h5
from neurocine.io.layouts import allen_nwb, brainsets, kirby, nwb2
from neurocine.io.layouts.base import Layout
from neurocine.io.recording import modality_attr, simulation_attr
from neurocine.registry import Registry
from neurocine.session import Session

#: The layouts, in the order detection tries them (NWB files hold no ``calcium_traces``;
#: brainsets files add ``train_domain`` to what kirby files have).
LAYOUTS = Registry("layout")
for _layout in (allen_nwb.LAYOUT, nwb2.LAYOUT_ECEPHYS, nwb2.LAYOUT_OPHYS, brainsets.LAYOUT, kirby.LAYOUT):
    LAYOUTS.register(_layout.name, _layout)


def register_layout(layout: Layout) -> Layout:
    """Add a layout (tried after the built-in ones); a second layout of the same name is refused."""
    return LAYOUTS.register(layout.name, layout)


def _detect(f, path) -> str:
    for layout in LAYOUTS.values():
        if layout.matches(f):
            return layout.name
    known = "; ".join(f"{lay.name}: {lay.description}" for lay in LAYOUTS.values())
    if nwb2.is_nwb2(f):
        raise DataError(path, "an NWB 2 file with no units (spike_times) and no processing/ophys dF/F; expected a "
                              "Neuropixels session (units, electrodes, intervals/*_presentations) or a two-photon "
                              "session (processing/ophys/DfOverF or dff)")
    raise DataError(path, f"missing 'calcium_traces' and no Allen NWB dF/F (expected a session file of a known "
                          f"layout: {known})")


def detect_layout(path: str | Path) -> str:
    """The name of the first layout in :data:`LAYOUTS` that recognises ``path``.

    Raises:
        DataError: not HDF5, corrupt, or no layout recognises it.
    """
    with open_h5(path) as f:
        return _detect(f, path)


def read_session(path: str | Path, layout: str | None = None, traces: bool = True, checksum: bool = False,
                 **options) -> Session | list[Session]:
    """Read one session file, opening it once (the layout detected on the open file when
    ``layout`` is None); ``traces=False`` skips the dF/F (labels, splits and shapes only).
    ``checksum=True`` also records the file's SHA-256 (``Session.sha256``), through the same
    open. A file the simulator wrote says so (``Session.simulation``). ``options`` go to the
    reader (spikes: ``areas``, ``bin_s``, ``populations``, ``spike_transform``,
    ``unit_filter``); a Neuropixels file read with ``populations="per_area"`` gives one
    session per area (a list)."""
    if layout is not None and layout not in LAYOUTS:
        raise DataError(path, f"unknown layout {layout!r}; expected one of {', '.join(LAYOUTS)}")
    digest = hashlib.sha256() if checksum else None
    with open_h5(path, digest=digest) as f:
        layout = layout or _detect(f, path)
        try:
            session = LAYOUTS[layout].read(Path(path), traces, f, **options)
        except NeurocineError:  # the reader's own one line (a DataError, a setting refused for this file)
            raise
        except Exception as exc:  # noqa: BLE001 - a malformed file must give one line naming it, whatever broke
            text = first_line(exc, 200)
            raise DataError(path, f"malformed {layout} session file ({type(exc).__name__}: {text})") from None
        modality = modality_attr(f)
        for s in session if isinstance(session, list) else [session]:
            s.simulation = simulation_attr(f)
            s.modality = modality or s.modality
    transform = options.get("spike_transform", "none")
    for s in session if isinstance(session, list) else [session]:
        s.sha256 = digest.hexdigest() if digest is not None else None
        if s.modality == "spikes" and transform != "none" and "spike_transform" not in s.metadata and s.has_traces:
            # a reader that bins spikes itself applied it already; counts stored binned get it here
            s.traces = nwb2.stabilise(s.traces, transform)
            s.metadata = {**s.metadata, "spike_transform": transform}
    return session


__all__ = ["LAYOUTS", "Layout", "register_layout", "detect_layout", "read_session"]
