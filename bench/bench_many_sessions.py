"""Many sessions in one model: time per training step and memory per process at 4, 16, 64
and 256 sessions with the default settings, fitted and projected to Allen's ~1,300
two-photon sessions on 1, 8 and 64 GPUs.

Each size runs in its own process (so its peak memory is its own): sessions of 100 neurons
and 3,000 samples, batch 256 references per session per step, the default learning mode on
movie-frame labels and the default negatives (``in_batch`` within blocks of
``model.negative_block`` sessions). Beside it, in the same run, the previous default
(``negative_block: 0``: every session's positives are every reference's negatives, a cost
quadratic in the sessions) up to 64 sessions (``--quadratic-max``).

Prints steps/s, per-session throughput (steps/s x sessions), ms per step, peak memory per
process, the line ``per-session throughput 256/4: X`` (target >= 0.5), linear fits of time
and memory against the session count, and the projection.

    python bench/bench_many_sessions.py [--sessions 4 16 64 256] [--steps 5] [--device cpu|cuda]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
import warnings

import numpy as np
from _common import docs_section

#: An Allen Visual Coding 2P session: ~115,000 samples (about 64 min at 30 Hz) x ~200 ROIs,
#: float32 (the data a rank holds for each of its sessions; the bench's sessions are small).
ALLEN_SESSION_BYTES = 115_000 * 200 * 4
TARGET_SESSIONS = 1300


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


def one(n_sessions: int, steps: int, device: str, block: int | None) -> dict:
    """Measure one size in this process: ``{steps_per_s, peak_rss_mb, cuda_peak_mb}``."""
    import torch

    import neurocine

    parts = sessions_data(n_sessions)
    extra = {} if block is None else {"negative_block": block}
    model = neurocine.CEBRA(max_iterations=steps + 1, batch_size=256, device=device, early_stopping=False,
                            checkpoint_every=0, **extra)
    times = []

    def mark(step, est):
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        times.append(time.perf_counter())

    if device.startswith("cuda"):
        torch.cuda.reset_peak_memory_stats()
    model.fit(parts, callback=mark, callback_frequency=1)
    out = {"steps_per_s": (len(times) - 1) / (times[-1] - times[0]),  # the first step (warm-up) excluded
           "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
           "data_mb": sum(p.neural.nbytes for p in parts) / 2**20}
    if device.startswith("cuda"):
        out["cuda_peak_mb"] = torch.cuda.max_memory_allocated() / 2**20
    return out


def measure(n_sessions: int, steps: int, device: str, block: int | None) -> dict:
    cmd = [sys.executable, __file__, "--one", str(n_sessions), "--steps", str(steps), "--device", device]
    if block is not None:
        cmd += ["--block", str(block)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"bench_many_sessions: {n_sessions} sessions failed: {proc.stderr.strip()[-400:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def fit_line(x, y) -> tuple[float, float]:
    """Least-squares ``y = a + b x``."""
    b, a = np.polyfit(np.asarray(x, float), np.asarray(y, float), 1)
    return float(a), float(b)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sessions", type=int, nargs="+", default=[4, 16, 64, 256])
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--quadratic-max", type=int, default=64, help="largest size run with negative_block 0")
    ap.add_argument("--one", type=int, default=None, help=argparse.SUPPRESS)
    ap.add_argument("--block", type=int, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    warnings.filterwarnings("ignore")
    if args.one is not None:
        print(json.dumps(one(args.one, args.steps, args.device, args.block)))
        return 0
    import torch

    from neurocine.settings import DEFAULT

    block = DEFAULT.model.negative_block
    print(f"torch {torch.__version__}, device {args.device}, {torch.get_num_threads()} threads; 100 neurons x 3000 "
          f"samples per session, batch 256; default settings (negatives {DEFAULT.model.negatives}, negative_block "
          f"{block}); one process per size")
    mem = "cuda peak MB" if args.device.startswith("cuda") else "peak RSS MB"
    print(f"{'sessions':>8s} {'steps/s':>9s} {'per-session':>12s} {'ms/step':>9s} {mem:>13s} "
          f"{'block 0 steps/s':>16s} {'block 0 per-session':>20s}")
    rows = []
    for S in args.sessions:
        r = measure(S, args.steps, args.device, None)
        q = measure(S, args.steps, args.device, 0) if S <= args.quadratic_max else None
        m = r.get("cuda_peak_mb", r["peak_rss_mb"])
        rows.append((S, r["steps_per_s"], m, r["data_mb"]))
        qs = f"{q['steps_per_s']:16.3f} {q['steps_per_s'] * S:20.1f}" if q else f"{'-':>16s} {'-':>20s}"
        print(f"{S:8d} {r['steps_per_s']:9.3f} {r['steps_per_s'] * S:12.1f} {1e3 / r['steps_per_s']:9.1f} "
              f"{m:13.0f} {qs}", flush=True)
    by = {S: sps for S, sps, _, _ in rows}
    if 4 in by and 256 in by:
        print(f"per-session throughput 256/4: {by[256] * 256 / (by[4] * 4):.2f}")
    S = [r[0] for r in rows]
    a_t, b_t = fit_line(S, [1e3 / r[1] for r in rows])
    a_m, b_m = fit_line(S, [r[2] for r in rows])
    data_per = float(np.mean([r[3] / r[0] for r in rows]))
    print(f"fit: ms/step = {a_t:.1f} + {b_t:.2f} x sessions; memory MB = {a_m:.0f} + {b_m:.2f} x sessions "
          f"(of which data {data_per:.2f} MB per bench session)")
    allen_mb = ALLEN_SESSION_BYTES / 2**20
    for gpus in (1, 8, 64):
        per_rank = -(-TARGET_SESSIONS // gpus)
        t = a_t + b_t * per_rank
        model_mem = a_m + (b_m - data_per) * per_rank
        print(f"projection {TARGET_SESSIONS} sessions on {gpus:2d} processes: {per_rank} sessions each, "
              f"{t / 1e3:.2f} s/step from this device's fit (before the gradient all-reduce), memory "
              f"{model_mem / 1024:.1f} GB model + {per_rank * allen_mb / 1024:.1f} GB of Allen-sized data per process")
    return 0


if __name__ == "__main__":
    if "--one" in sys.argv:
        sys.exit(main())
    with docs_section("bench_many_sessions"):
        code = main()
    sys.exit(code)
