"""A new animal from a few repeats: the learning curve, leave-one-animal-out.

For each demo session (SIMULATED) in turn: a model is trained on the other sessions (the
run's settings), then adapted to the held-out animal from its first K = 1, 2, 4, 8 train
repeats (:func:`neurocine.evaluate.adapt.adapt_session`), and the animal's test repeat is
decoded with the other animals' decoders (``adapted``), with its own (``adapted_own``), by a
model from scratch on its K repeats, and by its own template and ridge decoders on dF/F.
Test samples are pooled over the held-out animals (1-s blocks per animal) for each K.

    python bench/bench_adapt.py [--steps 600] [--repeats 1 2 4 8] [--init encoder input_layer]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from _common import docs_section

FRAME = "natural_movie_one.frame"


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=600)
    ap.add_argument("--repeats", type=int, nargs="+", default=[1, 2, 4, 8])
    ap.add_argument("--init", nargs="+", default=["encoder", "input_layer"])
    ap.add_argument("--animals", type=int, default=4, help="how many held-out animals (leave-one-out)")
    args = ap.parse_args()
    import neurocine
    from neurocine.data import normalized_splits, training_rows
    from neurocine.evaluate.adapt import METHODS, adapt_session, summarize_adapt
    from neurocine.io.simulate import simulate_dataset
    from neurocine.settings import Config

    data = Path(tempfile.mkdtemp()) / "demo"
    simulate_dataset(data, progress=False, seed=0)
    sessions = neurocine.load_sessions(data)
    cfg = Config().override({"dataset.data_dir": str(data), "model.device": "cpu", "model.max_iterations": args.steps,
                             "training.validate_every": 50, "training.early_stopping.patience": 6})
    print(f"demo sessions (SIMULATED, seed 0): leave-one-animal-out over {args.animals} animals, base models "
          f"{args.steps} steps, frame ID within 1 s on the held-out animal's test repeat")
    outcomes = {(init, k): [] for init in args.init for k in args.repeats}
    base_seconds = []
    for held in range(args.animals):
        rest = [s for i, s in enumerate(sessions) if i != held]
        ref = {sp: normalized_splits(rest, sp) for sp in ("train", "valid", "test")}
        t0 = time.perf_counter()
        base = neurocine.CEBRA.from_config(cfg).fit(training_rows(ref["train"]), valid=training_rows(ref["valid"]))
        base_seconds.append(time.perf_counter() - t0)
        new = {sp: normalized_splits([sessions[held]], sp)[0] for sp in ("train", "valid", "test")}
        for init in args.init:
            for k in args.repeats:
                outcome, _ = adapt_session(base, ref, new, cfg, k=k, label=FRAME, init=init)
                outcomes[(init, k)].append(outcome)
                print(f"  held-out {sessions[held].session_id}, {init}, K={k}: new encoder {outcome['seconds']:.1f} s",
                      flush=True)
    print(f"base training: {sum(base_seconds) / len(base_seconds):.1f} s per model (mean of {len(base_seconds)})")
    header = f"{'init':12s} {'K':>2s} {'fit s':>6s} " + " ".join(f"{m:>22s}" for m in METHODS) + \
        "   adapted - template_own [95 % CI]"
    print(header)
    for init in args.init:
        for k in args.repeats:
            res = summarize_adapt(outcomes[(init, k)], k, init, FRAME, cfg.training.seed)
            f = res["frame_id"]
            cells = " ".join(f"{f[m]['accuracy_1s']:.3f} [{f[m]['ci95'][0]:.3f},{f[m]['ci95'][1]:.3f}]" for m in METHODS)
            d = res["comparison"]["adapted - template_own"]
            print(f"{init:12s} {k:2d} {res['seconds'] / len(outcomes[(init, k)]):6.1f} {cells}   {d['mean']:+.3f} "
                  f"[{d['ci95'][0]:+.3f}, {d['ci95'][1]:+.3f}]", flush=True)
    return 0


if __name__ == "__main__":
    with docs_section("bench_adapt"):
        code = main()
    sys.exit(code)
