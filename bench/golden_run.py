"""The golden run: a tiny SIMULATED run through every stage of ``neurocine run`` (with
3-fold cross-validation and 2 seed repeats) and ``neurocine adapt``, on CPU, written into
OUT; with ``--compare BEFORE`` it prints every leaf of metrics.json that differs from an
earlier golden run (timings, paths and the git commit aside).

A refactor that must not change a number is checked with it: run it on the old commit and
on the new one, then compare (each run ~3 min on 2 cores)::

    PYTHONPATH=<old checkout>/src python bench/golden_run.py /tmp/golden/before
    python bench/golden_run.py /tmp/golden/after --compare /tmp/golden/before
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from neurocine.io.simulate import simulate_dataset

#: Leaves that differ between any two runs (how long, where, which commit).
VOLATILE = ("seconds", "steps_per_second", "wall_time_s", "output_dir", "data_dir", "git_commit", "base_model",
            "created", "python", "torch", "platform", "host")


def run(out: Path) -> None:
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    simulate_dataset(out / "data", sessions=2, neurons=(20, 30), grating_repeats=1, spontaneous_s=2.0,
                     frame_shape=(16, 32), progress=False)
    simulate_dataset(out / "new", sessions=1, neurons=(25,), grating_repeats=1, spontaneous_s=2.0,
                     frame_shape=(16, 32), progress=False, seed=7)
    cfg = {"dataset": {"data_dir": str(out / "data")},
           "model": {"batch_size": 128, "max_iterations": 40, "device": "cpu", "learning_rate": 0.001},
           "training": {"validate_every": 20, "checkpoint_every": 20, "seed_repeats": 2},
           "evaluation": {"folds": 3},
           "reconstruction": {"num_epochs": 2, "max_train_samples": 300, "output_shape": [16, 32], "batch_size": 32},
           "novel_frames": {"blocks": 6, "run_blocks": 2}, "output_dir": str(out / "results")}
    (out / "golden.yaml").write_text(yaml.safe_dump(cfg))
    for cmd in (["run", "--config", str(out / "golden.yaml"), "--quiet"],
                ["adapt", str(out / "results"), "--data_dir", str(out / "new"), "--out", str(out / "adapt"),
                 "--repeats", "1", "2", "--quiet"]):
        proc = subprocess.run([sys.executable, "-m", "neurocine", *cmd], capture_output=True, text=True)
        print(proc.stdout[-3000:], proc.stderr[-3000:], flush=True)
        if proc.returncode:
            raise SystemExit(f"golden run: neurocine {cmd[0]} failed (exit {proc.returncode})")


def leaves(a, b, path=()):
    """``(path, what)`` of every leaf where two JSON values differ."""
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b), key=str):
            if k not in a or k not in b:
                yield path + (k,), "only in " + ("after" if k not in a else "before")
            else:
                yield from leaves(a[k], b[k], path + (k,))
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b)):
            yield from leaves(x, y, path + (i,))
    elif a != b:
        yield path, f"{str(a)[:70]} != {str(b)[:70]}"


def count(x) -> int:
    """Leaves (numbers, strings, ...) of a JSON value."""
    if isinstance(x, dict):
        return sum(count(v) for v in x.values())
    if isinstance(x, list):
        return sum(count(v) for v in x)
    return 1


def compare(before: Path, after: Path) -> int:
    bad = 0
    for sub in ("results", "adapt"):
        a = json.loads((before / sub / "metrics.json").read_text())
        b = json.loads((after / sub / "metrics.json").read_text())
        diffs = list(leaves(a, b))
        real = [(p, d) for p, d in diffs if not any(v in str(x) for x in p for v in VOLATILE)
                and "provenance" not in p]
        print(f"{sub}/metrics.json: {count(a)} leaves, {len(diffs)} differ, "
              f"{len(real)} of them outside timings, paths and provenance")
        for p, d in real[:40]:
            print("   ", "/".join(map(str, p)), d)
        bad += len(real)
    print("identical (but for timings, paths and provenance)" if not bad else f"{bad} leaves differ")
    return 1 if bad else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--compare", type=Path, default=None, help="an earlier golden run's folder")
    parser.add_argument("--no-run", action="store_true", help="only compare (OUT already holds a run)")
    args = parser.parse_args()
    if not args.no_run:
        run(args.out)
    return compare(args.compare, args.out) if args.compare else 0


if __name__ == "__main__":
    raise SystemExit(main())
