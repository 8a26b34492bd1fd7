"""Many sessions per device: training-step throughput with the sessions' encoders run one
after the other vs as grouped convolutions (``model.grouped_sessions``), one process.

Sessions of 100 neurons, batch 256 references per session per step (3 x 256 windows each:
references, positives, negatives), stimulus-aligned positives, own-session negatives (the
encoders' cost is measured; in-batch or pooled negatives add a loss that grows with the
square of the session count). Prints steps/s and samples
per second per session for 4 / 16 / 64 / 256 sessions, and the ratio grouped / loop.

    python bench/bench_many_sessions.py [--sessions 4 16 64 256] [--steps 5]
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings

import numpy as np
import torch
from _common import docs_section


def sessions_data(n_sessions: int, neurons: int = 100, samples: int = 3000, seed: int = 0):
    """Synthetic sessions with movie-frame labels (the throughput does not depend on the
    values)."""
    from neurocine.data import SplitData

    rng = np.random.default_rng(seed)
    frames = np.tile(np.arange(900), samples // 900 + 1)[:samples]
    z = np.zeros(samples, dtype=np.int64)
    return [SplitData(str(i), rng.normal(size=(samples, neurons)).astype(np.float32),
                      np.linspace(0, 1, samples, dtype=np.float32), np.arange(samples), z,
                      {"natural_movie_one.frame": frames}, z + i, (neurons,)) for i in range(n_sessions)]


def steps_per_second(parts, grouped: str, steps: int) -> float:
    import neurocine

    model = neurocine.CEBRA(max_iterations=steps + 1, batch_size=256, device="cpu", early_stopping=False,
                            checkpoint_every=0, grouped_sessions=grouped, learning_mode="stimulus_aligned",
                            negatives="session")  # in-batch negatives grow with sessions^2: measure the encoders
    times = []

    def mark(step, est):
        times.append(time.perf_counter())

    model.fit(parts, callback=mark, callback_frequency=1)
    return (len(times) - 1) / (times[-1] - times[0])  # the first step (warm-up) excluded


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sessions", type=int, nargs="+", default=[4, 16, 64, 256])
    ap.add_argument("--steps", type=int, default=5)
    args = ap.parse_args()
    warnings.filterwarnings("ignore")
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; 100 neurons per session, batch 256")
    print(f"{'sessions':>8s} {'loop steps/s':>13s} {'grouped steps/s':>16s} {'samples/s/session loop':>23s} "
          f"{'grouped':>8s} {'ratio':>6s}")
    for S in args.sessions:
        parts = sessions_data(S)
        loop = steps_per_second(parts, "off", args.steps)
        grouped = steps_per_second(parts, "on", args.steps)
        print(f"{S:8d} {loop:13.3f} {grouped:16.3f} {loop * 256:23.0f} {grouped * 256:8.0f} {grouped / loop:6.2f}x",
              flush=True)
    return 0


if __name__ == "__main__":
    with docs_section("bench_many_sessions"):
        code = main()
    sys.exit(code)
