"""Load time and peak memory of the data layer, against one pass of the seed's batch-4
DataLoader over the same data.

Cases: the 4 default demo sessions, and 16 sessions at real size (~115 000 samples x
~200 neurons, as an Allen session A). Each measurement runs in a fresh subprocess so that
its peak RSS is its own.

    python bench/bench_load.py            # both cases (the 16-session case writes ~1.5 GB)
    python bench/bench_load.py --quick    # the 4 demo sessions only
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

from _common import docs_section, peak_rss_mb


def measure(kind: str, data_dir: str) -> dict:
    """Run in a child process: time one operation, report peak RSS."""
    import numpy as np

    import neurocine
    from neurocine.data import TensorSampler, make_dataloader

    rss0 = peak_rss_mb()
    t = time.perf_counter()
    if kind == "load":
        parts = neurocine.load_dataset({"data_dir": data_dir}, "train")
        n = sum(len(p) for p in parts)
    else:
        parts = neurocine.load_dataset({"data_dir": data_dir}, "train")
        t = time.perf_counter()
        n = 0
        if kind == "seed_dataloader":
            for p in parts:
                for neural, _ in make_dataloader(p, batch_size=4):
                    n += neural.shape[0]
        elif kind == "tensor_sampler":
            for p in parts:
                for neural, _ in TensorSampler(p).batches(4):
                    n += neural.shape[0]
    dt = time.perf_counter() - t
    return {"kind": kind, "seconds": dt, "samples": int(n), "peak_rss_mb": peak_rss_mb(), "start_rss_mb": rss0,
            "sessions": len(parts), "numpy": np.__version__}


def run_child(kind: str, data_dir: Path) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", kind, str(data_dir)], capture_output=True, text=True,
                         check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def ensure_data(path: Path, **kw) -> Path:
    from neurocine.io.simulate import simulate_dataset

    if not any(path.glob("*.h5")):
        t = time.perf_counter()
        simulate_dataset(path, **kw)
        print(f"  simulated {kw.get('sessions', 4)} sessions into {path} in {time.perf_counter() - t:.0f} s")
    return path


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--child", nargs=2)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--workdir", default="bench/out")
    args = ap.parse_args()
    if args.child:
        print(json.dumps(measure(*args.child)))
        return
    work = Path(args.workdir)
    cases = [("4 demo sessions", ensure_data(work / "demo4", sessions=4, seed=0, progress=False))]
    if not args.quick:
        # ~115 000 samples at 30 Hz: 15 trials per grating condition (as Allen) plus spontaneous epochs
        cases.append(("16 sessions, real size", ensure_data(work / "real16", sessions=16, seed=1, grating_repeats=15,
                                                            spontaneous_s=540.0, neurons=(150, 240, 227, 181, 200),
                                                            progress=False)))
    for name, d in cases:
        load = run_child("load", d)
        seed = run_child("seed_dataloader", d)
        fast = run_child("tensor_sampler", d)
        print(f"\n{name} ({d}): {load['sessions']} sessions, {load['samples']} train samples")
        print(f"  load_dataset (read + z-score + split): {load['seconds']:7.2f} s, "
              f"peak RSS {load['peak_rss_mb']:7.0f} MB "
              f"(after imports: {load['start_rss_mb']:.0f} MB)")
        print(f"  seed DataLoader, batch 4, one pass:    {seed['seconds']:7.2f} s "
              f"({seed['samples'] / seed['seconds']:,.0f} samples/s), peak RSS {seed['peak_rss_mb']:7.0f} MB")
        print(f"  TensorSampler, batch 4, one pass:      {fast['seconds']:7.2f} s "
              f"({fast['samples'] / fast['seconds']:,.0f} samples/s)")
        print(f"  ratio: load / seed-DataLoader pass = {load['seconds'] / seed['seconds']:.3f}; "
              f"TensorSampler speed-up over DataLoader = {seed['seconds'] / fast['seconds']:.1f}x")


if __name__ == "__main__":
    with docs_section("bench_load"):
        code = main()
    sys.exit(code)
