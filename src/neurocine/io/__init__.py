"""Readers and writers per session-file layout, layout detection and the simulator.

Layouts of processed Allen Visual Coding sessions (see the formats page of the documentation, ``docs/formats.md``): the seed's *kirby*
(POYO-CAP) files, read with h5py, and *brainsets* files, read through temporaldata.
:func:`read_session` detects the layout of each file (:data:`LAYOUTS`) and returns a
:class:`neurocine.Session`.
"""

from neurocine.io.brainsets import read_brainsets, write_brainsets
from neurocine.io.detect import LAYOUTS, Layout, detect_layout, read_session, register_layout
from neurocine.io.kirby import read_kirby, write_kirby

__all__ = [
    "LAYOUTS",
    "Layout",
    "register_layout",
    "detect_layout",
    "read_session",
    "read_kirby",
    "write_kirby",
    "read_brainsets",
    "write_brainsets",
]
