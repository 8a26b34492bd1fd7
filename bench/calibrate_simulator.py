"""Simulator vs the real grating session: the statistics of neurocine.calibration on both,
side by side with their tolerances.

    python bench/calibrate_simulator.py [--neurons 150] [--repeats 15]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from _common import docs_section

REAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "allen_2p_drifting_gratings_527745328" \
    / "dff_trials_527745328.npz"


def simulated_trials(neurons: int = 150, repeats: int = 15, seed: int = 0, model=None):
    """Trial-aligned dF/F of one simulated session cut like the real file: 8 samples
    before onset, 92 samples per trial."""
    from neurocine.io.simulate import ResponseModel, SimulationConfig, simulate_movie, simulate_recording

    cfg = SimulationConfig(sessions=1, neurons=(neurons,), seed=seed, frame_shape=(32, 64), grating_repeats=repeats,
                           response=model or ResponseModel())
    movie = simulate_movie(900, cfg.frame_shape, seed=seed)
    rec, _, _ = simulate_recording(cfg, 0, movie, "sim")
    g = rec.intervals["drifting_gratings"]
    onset = np.searchsorted(rec.timestamps, g["start"])
    ok = (onset - 8 >= 0) & (onset + 84 <= len(rec.traces))
    idx = onset[ok][:, None] + np.arange(-8, 84)[None]
    dff = rec.traces[idx].transpose(2, 0, 1)  # (N, K, S)
    time_s = np.arange(-8, 84) / rec.sampling_rate
    return dff, g["direction"][ok], g["temporal_frequency"][ok], time_s


def main():
    from neurocine.calibration import compare, grating_statistics

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--neurons", type=int, default=150)
    ap.add_argument("--repeats", type=int, default=15)
    args = ap.parse_args()
    if not REAL.is_file():
        print(f"calibrate_simulator: skipped: no real recordings at {REAL}")
        return 0
    z = np.load(REAL)
    real = grating_statistics(z["dff"], z["orientation_deg"], z["temporal_frequency_hz"], z["time_s"])
    t = time.perf_counter()
    sim = grating_statistics(*simulated_trials(args.neurons, args.repeats))
    print(f"simulated {args.neurons} cells x {args.repeats} repeats in {time.perf_counter() - t:.0f} s")
    print(f"{'statistic':12s} {'real (median)':>14s} {'simulated':>10s} {'tolerance':>10s}  within")
    for key, (r, s, tol, ok) in compare(real, sim).items():
        print(f"{key:12s} {r:14.3f} {s:10.3f} {tol:10.3f}  {'yes' if ok else 'NO'}")
    return 0


if __name__ == "__main__":
    with docs_section("calibrate_simulator"):
        code = main()
    sys.exit(code)
