"""The Neuropixels path end to end on SIMULATED NWB 2 sessions: files written with pynwb by
the tests' writer (``tests/nwb2_files.py``, independent of neurocine's writers), read with
AllenSDK's unit filter, spikes binned at one movie frame, one population per area, then
``neurocine run`` with the demo's training budget. Prints frame ID beside the strongest
baseline, the trial decoding, and the per-area table.

    python bench/bench_neuropixels.py [--sessions 3] [--out /tmp/neurocine_np] [--set KEY=VALUE ...]

Every number is from simulated spikes (Poisson, rates tuned to the movie frame and the
grating direction); it checks the path, not what real Neuropixels data give.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import yaml
from _common import docs_section

from neurocine.scores import Comparison

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))


def main() -> int:
    from nwb2_files import write_ecephys_nwb

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sessions", type=int, default=3)
    ap.add_argument("--out", default="/tmp/neurocine_np")
    ap.add_argument("--steps", type=int, default=600)
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="a setting passed on to neurocine run (a lever, e.g. model.input_smoothing=2)")
    args = ap.parse_args()
    root = Path(args.out)
    data = root / "cache"
    t = time.perf_counter()
    for i in range(args.sessions):
        sid = 715093703 + i
        path = data / f"session_{sid}" / f"session_{sid}.nwb"
        if not path.exists():
            write_ecephys_nwb(path, seed=i, movie_frames=900, repeats=10, grating_trials=120,
                              units_per_area=(("VISp", 40), ("VISl", 30), ("VISal", 25)))
    print(f"SIMULATED: {args.sessions} Neuropixels sessions (NWB 2, pynwb), 900 frames x 10 repeats of "
          f"natural_movie_one, 120 grating trials, units VISp 40 / VISl 30 / VISal 25 + 7 the filter drops; "
          f"written in {time.perf_counter() - t:.0f} s")
    cfg = yaml.safe_load((Path(__file__).resolve().parents[1] / "src/neurocine/configs/demo.yaml").read_text())
    cfg["dataset"] = {"data_dir": str(data), "populations": "per_area"}
    cfg["model"]["max_iterations"] = args.steps
    cfg["model"]["device"] = "cpu"
    cfg["reconstruction"]["enabled"] = False
    cfg["novel_frames"]["enabled"] = False
    cfg["output_dir"] = str(root / "results")
    (root / "np.yaml").write_text(yaml.safe_dump(cfg))
    t = time.perf_counter()
    extra = [a for kv in args.set for a in ("--set", kv)]
    proc = subprocess.run([sys.executable, "-m", "neurocine", "run", "--config", str(root / "np.yaml"), "--quiet",
                           "--force", *extra], capture_output=True, text=True)
    if proc.returncode:
        print(proc.stderr[-2000:])
        return 1
    print(f"neurocine run (demo budget, {args.steps} steps, populations per_area, reconstruction off"
          f"{''.join(', ' + kv for kv in args.set)}): {time.perf_counter() - t:.0f} s")
    m = json.loads((root / "results" / "metrics.json").read_text())
    print(f"signal: {m['provenance']['signal']}")
    entry = m["frame_id"]["natural_movie_one"]
    fid = Comparison.from_json(entry, "accuracy_1s")
    b, d, cebra = fid.strongest_baseline, fid.margin("cebra"), fid.score("cebra")
    print(f"frame ID within 1 s (test repeat): CEBRA {cebra.value:.3f} [{cebra.ci95[0]:.3f}, {cebra.ci95[1]:.3f}] "
          f"vs {b} on spikes {fid.value(b):.3f}; margin {d.value:+.3f} [{d.ci95[0]:+.3f}, {d.ci95[1]:+.3f}]; "
          f"label-free {fid.value('cebra_label_free'):.3f}; chance {fid.value('chance'):.3f}")
    print(f"exact frame: CEBRA {fid.value('cebra', 'accuracy_exact'):.3f} vs {b} "
          f"{fid.value(b, 'accuracy_exact'):.3f}; median |error| {fid.value('cebra', 'median_abs_frame_error'):.0f} "
          f"vs {fid.value(b, 'median_abs_frame_error'):.0f} frames")
    for label, r in m.get("classification", {}).items():
        if "cebra" in r:
            c = Comparison.from_json(r, "accuracy")
            bb = c.strongest_baseline
            print(f"{label}: CEBRA {c.value('cebra'):.3f} vs {bb} {c.value(bb):.3f} (chance {c.value('chance'):.3f})")
    print("per area (mean over sessions, test accuracy within 1 s):")
    print(f"  {'area':6s} {'sessions':>8s} {'units':>6s} {'CEBRA':>6s} {b:>10s} {'chance':>7s}")
    for area, r in entry.get("per_area", {}).items():
        print(f"  {area:6s} {len(r['sessions']):8d} {r['units']:6d} {r['cebra']['accuracy_1s']:6.3f} "
              f"{r[b]['accuracy_1s']:10.3f} {r['chance']['accuracy_1s']:7.3f}")
    return 0


if __name__ == "__main__":
    with docs_section("bench_neuropixels"):
        code = main()
    sys.exit(code)
