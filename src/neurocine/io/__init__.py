"""Session files: one module per layout (:mod:`neurocine.io.layouts`), the split rules
(:mod:`neurocine.io.splits`), what the writers take (:mod:`neurocine.io.recording`), the
trial-array import and the simulator.

Layouts of processed Allen Visual Coding sessions (see the formats page of the
documentation, ``docs/formats.md``): Allen's NWB 1.0 files, the original design's *kirby* (POYO-CAP)
files, read with h5py, and *brainsets* files, read through temporaldata.
:func:`read_session` detects the layout of each file (:data:`LAYOUTS`) and returns a
:class:`neurocine.Session`.
"""

from neurocine.io.layouts import LAYOUTS, Layout, detect_layout, read_session, register_layout
from neurocine.io.layouts.allen_nwb import read_nwb
from neurocine.io.layouts.brainsets import read_brainsets, write_brainsets
from neurocine.io.layouts.kirby import read_kirby, write_kirby

__all__ = ["LAYOUTS", "Layout", "register_layout", "detect_layout", "read_session", "read_nwb", "read_kirby",
           "write_kirby", "read_brainsets", "write_brainsets"]
