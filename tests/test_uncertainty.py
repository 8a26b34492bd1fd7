"""Block-bootstrap intervals."""

from __future__ import annotations

import numpy as np
import pytest

from neurocine.decoders.uncertainty import block_bootstrap, blocks_of


def test_blocks_follow_sessions_and_seconds():
    b = blocks_of(np.array(["a", "a", "a", "b", "b"]), np.array([0, 29, 30, 0, 31]), 30)
    assert b[0] == b[1] and b[1] != b[2] and b[3] != b[0] and b[4] != b[3]


def test_interval_brackets_the_mean_and_a_paired_difference_of_equals_is_zero():
    rng = np.random.default_rng(0)
    x = rng.random(600)
    out = block_bootstrap({"x": x, "y": x.copy()}, np.repeat(np.arange(20), 30), pairs=[("x", "y")])
    lo, hi = out["x"].ci95
    assert lo < out["x"].value < hi
    assert out["x - y"].value == 0 and out["x - y"].ci95 == (0.0, 0.0)


def test_correlated_blocks_give_wider_intervals_than_independent_samples():
    rng = np.random.default_rng(1)
    per_block = rng.random(20) < 0.5  # each 1-s block all right or all wrong
    x = np.repeat(per_block, 30).astype(float)
    blocks = np.repeat(np.arange(20), 30)
    wide = np.diff(block_bootstrap({"x": x}, blocks)["x"].ci95)[0]
    narrow = np.diff(block_bootstrap({"x": x}, np.arange(600))["x"].ci95)[0]
    assert wide > 3 * narrow
    assert wide == pytest.approx(2 * 1.96 * np.sqrt(0.25 / 20), rel=0.35)
