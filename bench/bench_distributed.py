"""Multi-session training throughput and peak memory per process: one process vs
``torchrun`` ranks (gloo on CPU, nccl on GPUs), for 4, 16 and 64 simulated sessions.

Both runs train the same model on the same global batch (``--batch`` references per
session per step, every session each step) from the same seed; the ranks split the
sessions' data and encoders (see ``neurocine.embed.distributed``). Each measurement runs in
fresh processes, so a peak RSS is that process's own. On CPU the single process gets all
cores as threads and each rank ``cores / ranks`` threads, so both use the whole machine.

    python bench/bench_distributed.py                      # 4, 16, 64 sessions, 1 vs 2 ranks
    python bench/bench_distributed.py --sessions 4 --steps 20
    python bench/bench_distributed.py --device cuda --nproc 1 2 4   # on a GPU server
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from _common import docs_section, peak_rss_mb

OUT = Path(__file__).resolve().parent / "out"


def child(data_dir: str, steps: int, batch: int, device: str) -> None:
    """One process (or one rank): load its shard, train, print a JSON line."""
    import torch

    from neurocine.settings import Config
    from neurocine.embed import CEBRA, distributed
    from neurocine.pipeline import prepared_sessions, sharded_splits

    rank, world = distributed.init_from_env(device)
    rss0 = peak_rss_mb()
    cfg = Config.from_dict({"dataset": {"data_dir": data_dir}})
    t = time.perf_counter()
    if world > 1:  # what `neurocine train` does under torchrun
        splits, *_ = sharded_splits(cfg, rank, world)
        held_parts = list(splits["train"].held.values())
    else:
        _, splits = prepared_sessions(cfg, progress=False)
        held_parts = splits["train"]
    load_s = time.perf_counter() - t
    rss_loaded = peak_rss_mb()
    model = CEBRA(max_iterations=steps, batch_size=batch, device=device, validate_every=10 ** 9,
                  checkpoint_every=0, seed=0)
    model.fit(splits["train"])
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    st = model.state_
    # steady state: skip the first 20 % of steps (allocator, thread pools warming up)
    skip = max(1, len(st.history) // 5)
    dt = st.history[-1]["seconds"] - st.history[skip - 1]["seconds"]
    held = sum(p.neural.nbytes for p in held_parts)
    # one write per line: the ranks share stdout, and a single short write is not interleaved
    sys.stdout.write(json.dumps({"rank": rank, "world": world, "sessions": len(splits["train"]),
                      "steps_per_s": (len(st.history) - skip) / dt, "load_s": load_s,
                      "final_loss": st.history[-1]["loss"], "train_data_mb": held / 2 ** 20,
                      "rss_after_imports_mb": rss0, "rss_after_load_mb": rss_loaded, "peak_rss_mb": peak_rss_mb(),
                      "gpu_peak_mb": torch.cuda.max_memory_allocated() / 2 ** 20 if device.startswith("cuda") else 0})
                     + "\n")
    sys.stdout.flush()
    distributed.finish()


def ensure_data(n_sessions: int, neurons: int) -> Path:
    from neurocine.io.simulate import simulate_dataset

    d = OUT / f"dist_{n_sessions}x{neurons}"
    if not (d / "simulation.json").exists():
        print(f"simulating {n_sessions} sessions of {neurons} neurons into {d} ...", flush=True)
        simulate_dataset(d, sessions=n_sessions, neurons=(neurons,), grating_repeats=1, spontaneous_s=5.0,
                         frame_shape=(16, 32), progress=False)
    return d


def run(data_dir: Path, nproc: int, steps: int, batch: int, device: str, cores: int) -> list[dict]:
    env = {**os.environ, "OMP_NUM_THREADS": str(max(1, cores // nproc))}
    script = [__file__, "--child", str(data_dir), "--steps", str(steps), "--batch", str(batch), "--device", device]
    if nproc == 1:
        cmd = [sys.executable, *script]
    else:
        cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", str(nproc), *script]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{proc.stderr[-3000:]}")
    return sorted((json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")),
                  key=lambda r: r["rank"])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--sessions", type=int, nargs="+", default=[4, 16, 64])
    ap.add_argument("--nproc", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--neurons", type=int, default=100)
    ap.add_argument("--steps", type=int, default=40)
    ap.add_argument("--batch", type=int, default=256, help="references per session per step")
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args()
    if args.child:
        child(args.child, args.steps, args.batch, args.device)
        return
    cores = os.cpu_count() or 1
    print(f"{cores} CPU cores, device {args.device}, batch {args.batch} per session, {args.steps} steps, "
          f"{args.neurons} neurons per session")
    print(f"{'sessions':>8} {'procs':>5} {'steps/s':>8} {'ratio':>6} {'samples/s':>10} {'load s':>7} "
          f"{'data MB/proc':>12} {'peak RSS MB/proc':>17} {'final loss':>10}")
    for n in args.sessions:
        data = ensure_data(n, args.neurons)
        base = None
        for k in args.nproc:
            rows = run(data, k, args.steps, args.batch, args.device, cores)
            sps = min(r["steps_per_s"] for r in rows)  # the ranks step together
            base = base or sps
            peaks = "/".join(f"{r['peak_rss_mb']:.0f}" for r in rows)
            held = "/".join(f"{r['train_data_mb']:.0f}" for r in rows)
            print(f"{n:>8} {k:>5} {sps:>8.2f} {sps / base:>6.2f} {sps * n * args.batch:>10.0f} "
                  f"{max(r['load_s'] for r in rows):>7.2f} {held:>12} {peaks:>17} {rows[0]['final_loss']:>10.4f}",
                  flush=True)


if __name__ == "__main__":
    with docs_section("bench_distributed"):
        code = main()
    sys.exit(code)
