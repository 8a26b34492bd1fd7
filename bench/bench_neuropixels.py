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
    fid = m["frame_id"]["natural_movie_one"]
    b = fid["strongest_baseline"]
    d = fid["comparison"][f"cebra - {b}"]
    lo, hi = fid["cebra"]["accuracy_1s_ci95"]
    print(f"frame ID within 1 s (test repeat): CEBRA {fid['cebra']['accuracy_1s']:.3f} [{lo:.3f}, {hi:.3f}] "
          f"vs {b} on spikes {fid[b]['accuracy_1s']:.3f}; margin {d['mean']:+.3f} [{d['ci95'][0]:+.3f}, "
          f"{d['ci95'][1]:+.3f}]; label-free {fid['cebra_label_free']['accuracy_1s']:.3f}; chance "
          f"{fid['chance']['accuracy_1s']:.3f}")
    print(f"exact frame: CEBRA {fid['cebra']['accuracy_exact']:.3f} vs {b} {fid[b]['accuracy_exact']:.3f}; median "
          f"|error| {fid['cebra']['median_abs_frame_error']:.0f} vs {fid[b]['median_abs_frame_error']:.0f} frames")
    for label, r in m.get("classification", {}).items():
        if "cebra" in r:
            bb = r.get("strongest_baseline", "logistic_dff")
            print(f"{label}: CEBRA {r['cebra']['accuracy']:.3f} vs {bb} {r[bb]['accuracy']:.3f} "
                  f"(chance {r['chance']['accuracy']:.3f})")
    print("per area (mean over sessions, test accuracy within 1 s):")
    print(f"  {'area':6s} {'sessions':>8s} {'units':>6s} {'CEBRA':>6s} {b:>10s} {'chance':>7s}")
    for area, r in fid.get("per_area", {}).items():
        print(f"  {area:6s} {len(r['sessions']):8d} {r['units']:6d} {r['cebra']['accuracy_1s']:6.3f} "
              f"{r[b]['accuracy_1s']:10.3f} {r['chance']['accuracy_1s']:7.3f}")
    return 0


if __name__ == "__main__":
    with docs_section("bench_neuropixels"):
        code = main()
    sys.exit(code)
