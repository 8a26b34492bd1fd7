"""Roofline: how close a training step comes to this machine's fp32 throughput.

1. Peak: the best of a few timed fp32 matrix products (2048^3) and of a conv1d shaped like
   the encoder's hidden layers, in GFLOP/s.
2. Work: the FLOPs of one training step (forward and backward of every window of the batch,
   the loss) counted by ``torch.utils.flop_counter.FlopCounterMode`` on the 4-session demo
   model (offset10-model, batch 512 per session).
3. Achieved: FLOPs per step x steps per second of the real training loop, as a fraction of
   the peak.

    python bench/bench_roofline.py [--steps 30]
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import torch
import torch.nn.functional as F
from _common import docs_section


def best_of(fn, repeats: int = 5) -> float:
    fn()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def peak_gflops() -> dict:
    a, b = torch.randn(2048, 2048), torch.randn(2048, 2048)
    mm = 2 * 2048 ** 3 / best_of(lambda: a @ b) / 1e9
    x, w = torch.randn(4608, 32, 10), torch.randn(32, 32, 3)  # 3 x 3 x 512 windows, hidden layer
    conv_flops = 2 * 4608 * 32 * 32 * 3 * 8
    conv = conv_flops / best_of(lambda: F.conv1d(x, w)) / 1e9
    return {"matmul": mm, "conv1d_hidden": conv}


def step_flops(model, criterion, sessions, sampler, batch) -> float:
    from torch.utils.flop_counter import FlopCounterMode

    from neurocine.embed.trainer import contrastive_loss, embed_batch
    from neurocine.settings import DEFAULT

    negatives = DEFAULT.model.negatives  # what the training loop does by default
    b = sampler.sample(batch)
    with FlopCounterMode(display=False) as counter:
        ref, pos, neg = embed_batch(model, sessions, b, with_negatives=negatives != "in_batch")
        loss = contrastive_loss(criterion, ref, pos, neg, len(sessions), negatives=negatives)[0]
        loss.backward()
    return float(counter.get_total_flops())


def main():
    import neurocine
    from neurocine.embed.models import MultiSessionEncoder, make_criterion
    from neurocine.embed.modes.stimulus_aligned import alignment_keys, jitter_keys
    from neurocine.embed.sampling import DiscreteSampler, build_session_tensors

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--workdir", default="bench/out")
    args = ap.parse_args()
    warnings.filterwarnings("ignore")
    d = Path(args.workdir) / "tta_demo"
    if not any(d.glob("*.h5")):
        neurocine.simulate_dataset(d, seed=0, progress=False)
    train = neurocine.load_dataset({"data_dir": str(d)}, "train")
    peak = peak_gflops()
    top = max(peak.values())
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; peak fp32: matmul {peak['matmul']:.1f} "
          f"GFLOP/s, hidden-layer conv1d {peak['conv1d_hidden']:.1f} GFLOP/s")
    torch.manual_seed(0)
    model = MultiSessionEncoder("offset10-model", [p.neural.shape[1] for p in train], 32, 32)
    criterion = make_criterion("cosine", "constant", 0.2)
    tensors = [build_session_tensors(p.neural, p.segment, model.left, model.right, 10,
                                     alignment_keys(p.labels, p.segment), torch.device("cpu")) for p in train]
    sampler = DiscreteSampler(tensors, 10, torch.Generator().manual_seed(0), jitter=lambda k, g: jitter_keys(k, 15, g))
    flops = step_flops(model, criterion, tensors, sampler, 512)
    est = neurocine.CEBRA(max_iterations=args.steps, batch_size=512, device="cpu", early_stopping=False,
                          checkpoint_every=0)
    t = time.perf_counter()
    est.fit(train)
    steps_per_s = args.steps / (time.perf_counter() - t)
    achieved = flops * steps_per_s / 1e9
    print(f"one training step (4 sessions {[p.neural.shape[1] for p in train]} neurons, batch 512, forward + "
          f"backward): {flops / 1e9:.2f} GFLOP")
    print(f"training loop: {steps_per_s:.2f} steps/s -> {achieved:.1f} GFLOP/s = {achieved / top:.0%} of the "
          f"measured peak ({top:.1f} GFLOP/s)")
    return 0


if __name__ == "__main__":
    with docs_section("bench_roofline"):
        code = main()
    sys.exit(code)
