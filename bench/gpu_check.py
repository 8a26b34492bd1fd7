"""The GPU checks of ``bench/gpu_check.sh``, one per call: ``python bench/gpu_check.py NAME [--out DIR]``.

Each prints one line ``PASS|FAIL|SKIP <name>: <what was measured or why>`` and exits 0
(pass or skip) or 1 (fail). Without CUDA every check but ``cpu_reference`` says SKIP with
the reason; nothing here is part of CI.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np

NO_CUDA = "no CUDA device (torch.cuda.is_available() is False)"


def parts(n_sessions: int, neurons: int = 60, samples: int = 2700, seed: int = 0):
    """Small sessions whose activity follows the movie frame, so a fit can learn it."""
    from neurocine.data import SplitData

    rng = np.random.default_rng(seed)
    frames = np.tile(np.arange(900), samples // 900 + 1)[:samples]
    tuning = rng.normal(size=(900, 8))
    out = []
    for i in range(n_sessions):
        w = rng.normal(size=(8, neurons))
        x = (tuning[frames] @ w + rng.normal(scale=0.5, size=(samples, neurons))).astype(np.float32)
        z = np.zeros(samples, dtype=np.int64)
        out.append(SplitData(str(i), x, np.linspace(0, 1, samples, dtype=np.float32), np.arange(samples), z,
                             {"natural_movie_one.frame": frames}, z + i, (neurons,)))
    return out


def fit(device: str, steps: int = 200, n_sessions: int = 4, **kw):
    import neurocine

    model = neurocine.CEBRA(max_iterations=steps, batch_size=512, device=device, early_stopping=False,
                            checkpoint_every=0, seed=0, **kw)
    t = time.perf_counter()
    model.fit(parts(n_sessions))
    if device.startswith("cuda"):
        import torch

        torch.cuda.synchronize()
    return model, time.perf_counter() - t


def losses(model) -> tuple[float, float]:
    h = model.state_.history
    return float(np.mean([x["loss"] for x in h[:10]])), float(np.mean([x["loss"] for x in h[-10:]]))


def check_cuda(args):
    import torch

    if not torch.cuda.is_available():
        return "SKIP", NO_CUDA
    p = torch.cuda.get_device_properties(0)
    return "PASS", (f"{torch.cuda.device_count()} x {p.name}, {p.total_memory / 2**30:.0f} GiB, capability "
                    f"{p.major}.{p.minor}, torch {torch.__version__}, CUDA {torch.version.cuda}, bf16 "
                    f"{'yes' if torch.cuda.is_bf16_supported() else 'no'}")


def check_fp32(args):
    import torch

    if not torch.cuda.is_available():
        return "SKIP", NO_CUDA
    model, s = fit("cuda", mixed_precision=False)
    first, last = losses(model)
    ok = np.isfinite(last) and last < first - 0.05
    return ("PASS" if ok else "FAIL"), (f"200 steps fp32 in {s:.1f} s ({200 / s:.0f} steps/s), "
                                        f"loss {first:.3f} -> {last:.3f}")


def check_bf16(args):
    import torch

    if not torch.cuda.is_available():
        return "SKIP", NO_CUDA
    if not torch.cuda.is_bf16_supported():
        return "SKIP", "this GPU has no bf16"
    model, s = fit("cuda", mixed_precision=True)
    ref, s32 = fit("cuda", mixed_precision=False)
    first, last = losses(model)
    _, last32 = losses(ref)
    ok = np.isfinite(last) and last < first - 0.05 and abs(last - last32) < 0.1 * abs(last32) + 0.05
    return ("PASS" if ok else "FAIL"), (f"200 steps bf16 autocast in {s:.1f} s vs fp32 {s32:.1f} s; final loss bf16 "
                                        f"{last:.3f} vs fp32 {last32:.3f}")


def check_grouped(args):
    import torch

    if not torch.cuda.is_available():
        return "SKIP", NO_CUDA
    out = []
    ok = True
    for n in (16, 64):
        loop, t_loop = fit("cuda", steps=60, n_sessions=n, grouped_sessions="off", mixed_precision=True)
        grouped, t_grouped = fit("cuda", steps=60, n_sessions=n, grouped_sessions="on", mixed_precision=True)
        a, b = loop.state_.history[0]["loss"], grouped.state_.history[0]["loss"]
        ok &= abs(a - b) < 1e-2 * abs(a) + 1e-2  # the same first step, up to bf16 rounding
        out.append(f"{n} sessions: loop {60 / t_loop:.1f} steps/s, grouped {60 / t_grouped:.1f} steps/s "
                   f"({t_loop / t_grouped:.2f}x), first loss {a:.4f} vs {b:.4f}")
    return ("PASS" if ok else "FAIL"), "; ".join(out)


def check_cpu_load(args):
    import torch

    import neurocine

    if not torch.cuda.is_available():
        return "SKIP", NO_CUDA
    model, _ = fit("cuda", steps=100, mixed_precision=False)
    path = Path(args.out) / "cuda_model.pt"
    model.save(path)
    cpu = neurocine.CEBRA.load(path, device="cpu")
    x = parts(4)[0].neural[:900]
    a, b = model.transform(x, session_id=0), cpu.transform(x, session_id=0)
    diff = float(np.max(np.abs(a - b)))
    return ("PASS" if diff < 1e-3 else "FAIL"), f"saved on CUDA, loaded on CPU: max |embedding difference| {diff:.2e}"


def check_nccl(args):
    """All-reduce over every GPU with nccl, one process per GPU (torchrun); run by gpu_check.sh."""
    import os

    import torch
    import torch.distributed as dist

    rank, world = int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1))
    torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", 0)))
    dist.init_process_group("nccl")
    x = torch.full((1024,), float(rank + 1), device="cuda")
    dist.all_reduce(x)
    expected = world * (world + 1) / 2
    ok = bool(torch.allclose(x, torch.full_like(x, expected)))
    dist.destroy_process_group()
    if rank != 0:
        return None, None
    return ("PASS" if ok else "FAIL"), (f"nccl all_reduce over {world} process(es): {float(x[0]):g} "
                                        f"(expected {expected:g})")


def check_cpu_reference(args):
    model, s = fit("cpu", steps=30)
    first, last = losses(model)
    return "PASS", (f"30 steps on the CPU in {s:.1f} s (loss {first:.3f} -> {last:.3f}): "
                    "the code path the GPU checks use")


CHECKS = {"cuda": check_cuda, "fp32": check_fp32, "bf16": check_bf16, "grouped": check_grouped,
          "cpu_load": check_cpu_load, "nccl": check_nccl, "cpu_reference": check_cpu_reference}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("name", choices=sorted(CHECKS))
    ap.add_argument("--out", default=".")
    args = ap.parse_args()
    warnings.filterwarnings("ignore")
    Path(args.out).mkdir(parents=True, exist_ok=True)
    try:
        status, detail = CHECKS[args.name](args)
    except Exception as exc:  # noqa: BLE001 - a check that breaks is a failed check, said in one line
        first_line = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else ""
        status, detail = "FAIL", f"{type(exc).__name__}: {first_line}"
    if status is None:
        return 0
    print(f"{status} {args.name}: {detail}", flush=True)
    return 1 if status == "FAIL" else 0


if __name__ == "__main__":
    sys.exit(main())
