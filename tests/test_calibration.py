"""The simulator against the real drifting-grating session: each response statistic of
neurocine.calibration within its tolerance."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import SHARED_DATA
from neurocine.calibration import TOLERANCES, compare, grating_statistics

REAL = SHARED_DATA / "allen_2p_drifting_gratings_527745328" / "dff_trials_527745328.npz"
pytestmark = pytest.mark.skipif(not REAL.is_file(), reason=f"no real recordings at {REAL} (absent on this clone)")


@pytest.fixture(scope="module")
def both():
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
    from calibrate_simulator import simulated_trials

    z = np.load(REAL)
    real = grating_statistics(z["dff"], z["orientation_deg"], z["temporal_frequency_hz"], z["time_s"])
    sim = grating_statistics(*simulated_trials(150, 15, seed=0))
    return compare(real, sim)


@pytest.mark.parametrize("statistic", sorted(TOLERANCES))
def test_simulated_statistic_is_within_tolerance_of_the_real_session(both, statistic):
    real, simulated, tolerance, within = both[statistic]
    assert within, f"{statistic}: real {real:.3f}, simulated {simulated:.3f}, tolerance {tolerance}"
