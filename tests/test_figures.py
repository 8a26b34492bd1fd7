"""Figures are written (atomically) as PNGs."""

from __future__ import annotations

import numpy as np

from neurocine.report.figures import plot_reconstructions


def test_reconstruction_figure(tmp_path):
    t = np.random.default_rng(0).random((8, 1, 16, 32))
    path = plot_reconstructions(t, {"HalfUNet": t * 0.9, "ridge": t * 0.5}, tmp_path / "grid.png")
    assert path.exists() and path.stat().st_size > 1000


