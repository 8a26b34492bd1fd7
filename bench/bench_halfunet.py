"""HalfUNet: parameter count, forward+backward throughput (frames/s) and peak memory of
both architectures at 64x128 and 128x256. Each case runs in its own subprocess so that
its peak RSS (CPU) or peak CUDA memory is its own.

    python bench/bench_halfunet.py [--device cpu|cuda] [--batch 16] [--steps 5]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

from _common import docs_section, peak_rss_mb


def measure(latent: int, H: int, W: int, batch: int, steps: int, device: str, ckpt: bool) -> dict:
    import torch

    from neurocine.decoders import HalfUNetDecoder
    from neurocine.decoders.halfunet import count_parameters

    torch.manual_seed(0)
    dev = torch.device(device)
    dec = HalfUNetDecoder(32, 1, (H, W), latent_dim=latent, gradient_checkpointing=ckpt).to(dev)
    opt = torch.optim.AdamW(dec.parameters(), lr=1e-3)
    z = torch.randn(batch, 32, device=dev)
    y = torch.randn(batch, 1, H, W, device=dev)
    rss0 = peak_rss_mb()

    def step():
        ctx = (torch.autocast("cuda", dtype=torch.bfloat16) if dev.type == "cuda"
               else torch.autocast("cpu", enabled=False))
        with ctx:
            loss = torch.nn.functional.mse_loss(dec(z).float(), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    step()
    if dev.type == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    t = time.perf_counter()
    for _ in range(steps):
        step()
    if dev.type == "cuda":
        torch.cuda.synchronize()
    dt = time.perf_counter() - t
    peak = (torch.cuda.max_memory_allocated() / 2 ** 20 if dev.type == "cuda"
            else peak_rss_mb() - rss0)
    return {"architecture": dec.architecture, "params": count_parameters(dec), "frames_per_s": batch * steps / dt,
            "peak_mb": peak}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--child", nargs=4, type=int)
    ap.add_argument("--checkpointing", action="store_true")
    args = ap.parse_args()
    if args.child:
        latent, H, W, ck = args.child
        print(json.dumps(measure(latent, H, W, args.batch, args.steps, args.device, bool(ck))))
        return
    print(f"device {args.device}, batch {args.batch}, {args.steps} timed steps (forward + backward + AdamW)")
    print(f"{'architecture':30s} {'size':>9s} {'ckpt':>5s} {'params':>11s} {'frames/s':>9s} {'peak MB':>8s}")
    for latent in (512, 1024):
        for H, W in ((64, 128), (128, 256)):
            for ck in ((0, 1) if args.checkpointing else (0,)):
                out = subprocess.run([sys.executable, __file__, "--child", str(latent), str(H), str(W), str(ck),
                                      "--device", args.device, "--batch", str(args.batch), "--steps", str(args.steps)],
                                     capture_output=True, text=True, check=True)
                r = json.loads(out.stdout.strip().splitlines()[-1])
                print(f"{r['architecture']:30s} {H:>4d}x{W:<4d} {'yes' if ck else 'no':>5s} {r['params']:>11,d} "
                      f"{r['frames_per_s']:>9.1f} {r['peak_mb']:>8.0f}")


if __name__ == "__main__":
    with docs_section("bench_halfunet"):
        code = main()
    sys.exit(code)
