"""Reconstruction of seen and of novel frames on the demo (SIMULATED), every method beside
the strongest baseline chosen on valid, with intervals.

One embedding (the demo's settings) for the held-out repeat (seen frames,
:func:`neurocine.evaluate.reconstruction.reconstruction_protocol`), and one per held-out
block for frames never seen (:func:`neurocine.evaluate.reconstruction.novel_frames_protocol`,
``--run-folds`` of the ``--folds`` blocks, each with its own embedding). Methods: the
HalfUNet, retrieval corrected by the HalfUNet (blend weight on valid), ridge from the
embedding and from dF/F, retrieval, retrieval corrected by ridge from dF/F, the mean frame.

    python bench/bench_reconstruction.py [--size 32 64] [--epochs 1] [--folds 6] [--run-folds 5] [--seen-only]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from _common import docs_section

FRAME = "natural_movie_one.frame"
DEMO = Path(__file__).resolve().parents[1] / "src" / "neurocine" / "configs" / "demo.yaml"


def line(name: str, res: dict, method: str) -> str:
    e = res[method]
    valid = res.get("valid", {}).get(method, {}).get("ssim")
    v = f"{valid:.3f}" if valid is not None else "  -  "
    return (f"  {name:22s} valid {v}  test SSIM {e['ssim']:.3f} [{e['ssim_ci95'][0]:.3f}, {e['ssim_ci95'][1]:.3f}]"
            f"  pixel r {e['pixel_r']:.3f}")


def show(title: str, res: dict) -> None:
    from neurocine.evaluate.reconstruction import METHODS, MODELS

    b, best = res["strongest_baseline"], res["best_model"]
    print(f"{title}: {res['n_test_frames']} test frames; strongest baseline (valid): {b}; model chosen on valid: "
          f"{best}; blend weights {res.get('blend_weights')}")
    for m in METHODS:
        print(line(m, res, m))
    for m in MODELS:
        d = res["comparison"][f"{m} - {b}"]
        print(f"  {m} - {b}: {d['mean']:+.3f} [{d['ci95'][0]:+.3f}, {d['ci95'][1]:+.3f}]")
    for key in [k for k in res if k.startswith("cv")]:
        cv = res[key]
        model = "halfunet" if key == "cv" else key[3:]
        mg = cv["margin"]
        print(f"  {key}: {model} {cv[model]['mean']:.3f}, margin over each block's strongest baseline "
              f"{mg['mean']:+.3f} [{mg['ci95'][0]:+.3f}, {mg['ci95'][1]:+.3f}] over {len(cv['per_fold'])} blocks")
    sys.stdout.flush()


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, nargs=2, default=[32, 64], help="output_shape H W")
    ap.add_argument("--epochs", type=int, default=None, help="HalfUNet epochs (default: the demo config's)")
    ap.add_argument("--max-train", type=int, default=None, help="HalfUNet training frames (a subset; default all)")
    ap.add_argument("--folds", type=int, default=6)
    ap.add_argument("--run-folds", type=int, default=5)
    ap.add_argument("--seen-only", action="store_true")
    args = ap.parse_args()
    import neurocine
    from neurocine.data import normalized_splits, training_rows
    from neurocine.data.templates import load_template
    from neurocine.evaluate.reconstruction import novel_frames_protocol, reconstruction_protocol
    from neurocine.io.simulate import simulate_dataset
    from neurocine.settings import Config

    data = Path(tempfile.mkdtemp()) / "demo"
    simulate_dataset(data, progress=False, seed=0)
    over = {"dataset.data_dir": str(data), "model.device": "cpu", "reconstruction.output_shape": list(args.size),
            "novel_frames.folds": args.folds, "novel_frames.run_folds": args.run_folds}
    if args.epochs:
        over["reconstruction.num_epochs"] = args.epochs
    if args.max_train:
        over["reconstruction.max_train_samples"] = args.max_train
    cfg = Config.load(DEMO).override(over)
    sessions = neurocine.load_sessions(data)
    splits = {sp: normalized_splits(sessions, sp) for sp in ("train", "valid", "test")}
    movie = load_template(data / "natural_movie_one.npy", tuple(args.size))
    print(f"demo sessions (SIMULATED, seed 0), {args.size[0]}x{args.size[1]} px, HalfUNet "
          f"{cfg.reconstruction.num_epochs} epoch(s), embeddings {cfg.model.max_iterations} steps")
    t0 = time.perf_counter()
    model = neurocine.CEBRA.from_config(cfg).fit(training_rows(splits["train"]), valid=training_rows(splits["valid"]))
    emb = {p.session_id: {sp: model.transform(splits[sp][i], session_id=i) for sp in ("train", "valid", "test")}
           for i, p in enumerate(splits["train"])}
    data_in = {"splits": splits, "emb": emb}
    res, *_ = reconstruction_protocol(data_in, data_in, movie, FRAME, cfg, window=(model.model_.left, model.model_.right))
    show(f"seen frames (held-out repeat; {time.perf_counter() - t0:.0f} s)", res)
    if not args.seen_only:
        t0 = time.perf_counter()
        res, _ = novel_frames_protocol(splits, movie, FRAME, cfg, window=(model.model_.left, model.model_.right))
        show(f"novel frames ({args.run_folds} of {args.folds} blocks, each with its own embedding; "
             f"{time.perf_counter() - t0:.0f} s)", res)
    return 0


if __name__ == "__main__":
    with docs_section("bench_reconstruction"):
        code = main()
    sys.exit(code)
