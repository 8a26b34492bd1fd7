"""Cross-validated frame ID and trial decoding, and the levers that move the model's margin.

Runs the cross-validated protocol (:func:`neurocine.evaluate.cv.cross_validate`: K folds
over movie repeats and trials, the embedding retrained per fold) on the demo sessions
(SIMULATED) and, when ``../shared/data`` is there, on the real grating session 527745328,
for the default settings and for each lever. Levers are judged on the folds' **validation**
blocks (``valid margin``); the test margins are printed beside them but choose nothing.

    python bench/bench_cv.py [--folds 5] [--steps 600] [--levers default,sample_norm,...] [--real]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from _common import docs_section

LEVERS = {
    "default": {},
    "sample_norm": {"model.input_normalization": "sample"},
    "gain_offset_aug": {"model.augment_gain": 0.3, "model.augment_offset": 0.3},
    "neuron_dropout": {"model.neuron_dropout": 0.2},
    "sample_norm+aug": {"model.input_normalization": "sample", "model.augment_gain": 0.3,
                        "model.augment_offset": 0.3},
    "dim64": {"model.output_dimension": 64},
    "steps1500": {"model.max_iterations": 1500},
    "batch1024": {"model.batch_size": 1024},
}
REAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "allen_2p_drifting_gratings_527745328"


def line(name, cv):
    """One cross-validated result (a :class:`neurocine.scores.FoldComparison`)."""
    model, margin, v = cv.score("cebra"), cv.margin(), cv.valid_margin
    per = " ".join(f"{f['cebra']:.3f}/{f['baseline']:.3f}" for f in cv.per_fold)
    return (f"  {name:38s} model {model.value:.3f} [{model.ci95[0]:.3f}, {model.ci95[1]:.3f}]"
            f"  valid margin {v.value if v else float('nan'):+.3f}  test margin {margin.value:+.3f} "
            f"[{margin.ci95[0]:+.3f}, {margin.ci95[1]:+.3f}]  per fold model/baseline {per}")


def run(data_dir: Path, overrides: dict, folds: int, steps: int, say, device: str = "cpu"):
    from neurocine.data import load_sessions
    from neurocine.evaluate.cv import cross_validate
    from neurocine.settings import Config

    cfg = Config().override({"dataset.data_dir": str(data_dir), "model.device": device, "model.max_iterations": steps,
                             "training.validate_every": 50, "training.early_stopping.patience": 6,
                             "evaluation.folds": folds, **overrides})
    t = time.perf_counter()
    out = cross_validate(load_sessions(data_dir), cfg, say=say)
    return out, time.perf_counter() - t


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--steps", type=int, default=600)
    ap.add_argument("--levers", default=",".join(LEVERS))
    ap.add_argument("--real", action="store_true", help="also the real grating session (../shared/data)")
    ap.add_argument("--real-steps", type=int, default=1500)
    ap.add_argument("--device", default="cpu", help="cpu or cuda (bf16 autocast on cuda)")
    ap.add_argument("--data", default=None, help="the demo sessions already simulated there (seed 0)")
    args = ap.parse_args()
    from neurocine.io.simulate import simulate_dataset

    if args.data and Path(args.data).is_dir():
        demo = Path(args.data)
    else:
        demo = Path(args.data or (Path(tempfile.mkdtemp()) / "demo"))
        simulate_dataset(demo, progress=False, seed=0)
    print(f"demo sessions (SIMULATED, seed 0), {args.folds} folds, up to {args.steps} steps per fold, "
          f"device {args.device}")
    for name in args.levers.split(","):
        out, seconds = run(demo, LEVERS[name], args.folds, args.steps, say=lambda text: None, device=args.device)
        print(f"{name} ({seconds:.0f} s)")
        for movie, cv in out["frame_id"].items():
            print(line(f"frame ID {movie}", cv))
        for label, cv in out["classification"].items():
            print(line(label, cv))
        sys.stdout.flush()
    if args.real and REAL.is_dir():
        from neurocine.cli import main as cli

        data = Path(tempfile.mkdtemp()) / "real"
        cli(["import-trials", str(REAL / "dff_trials_527745328.npz"), "--out", str(data)])
        print(f"real gratings 527745328 (recorded), {args.folds} folds over trials, up to {args.real_steps} steps")
        for name in args.levers.split(","):
            out, seconds = run(data, LEVERS[name], args.folds, args.real_steps, say=lambda text: None,
                               device=args.device)
            print(f"{name} ({seconds:.0f} s)")
            for label, cv in out["classification"].items():
                print(line(label, cv))
            sys.stdout.flush()
    return 0


if __name__ == "__main__":
    with docs_section("bench_cv"):
        code = main()
    sys.exit(code)
