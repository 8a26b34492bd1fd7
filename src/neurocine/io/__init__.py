"""Readers and writers per session-file layout, layout detection and the simulator.

Two HDF5 layouts exist for processed Allen Visual Coding sessions (see ``FORMATS.md``):
the seed's *kirby* (POYO-CAP) files, read with h5py, and *brainsets* files, read through
temporaldata. :func:`read_session` detects the layout of each file and returns a
:class:`neurocine.Session`.
"""

from neurocine.io.detect import detect_layout, read_session
from neurocine.io.kirby import read_kirby, write_kirby
from neurocine.io.brainsets import read_brainsets, write_brainsets

__all__ = [
    "detect_layout",
    "read_session",
    "read_kirby",
    "write_kirby",
    "read_brainsets",
    "write_brainsets",
]
