"""A new animal from a few repeats (or trials): the learning curve, leave-one-animal-out.

``--data demo`` (default; SIMULATED): for each demo session in turn, a model is trained on
the other sessions (the run's settings), then adapted to the held-out animal from its first
K = 1, 2, 4, 8 train repeats (:func:`neurocine.evaluate.adapt.adapt_session`); its test
repeat is decoded with the other animals' decoders (``adapted``), with its own
(``adapted_own``), by a model from scratch on its K repeats, and by its own template and
ridge decoders on dF/F.

``--data gratings`` (RECORDED, ``../shared/data``): the real grating session 527745328 cut
into pseudo-animals, disjoint random subsets of its 254 cells. They are one mouse's cells
recorded together, so they share its trial-by-trial state (arousal, running): an easier
transfer than between two mice. Each in turn is the new animal, adapted from its first
K = 1, 2, 4, 8 trials per condition; direction, temporal frequency and orientation of its
test trials decoded every way, beside its own logistic and kNN decoders on dF/F.

Both also run cebra.CEBRA's own ``adapt=True`` (``cebra_adapt``,
:func:`neurocine.evaluate.cebra_adapt.cebra_adapt`). The protocol is
:func:`neurocine.evaluate.cebra_adapt.leave_one_animal_out` (test samples pooled over the
held-out animals for each K); this script times and prints it.

    python bench/bench_adapt.py [--data demo|gratings] [--steps 600] [--repeats 1 2 4 8] [--init encoder]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

from _common import docs_section

FRAME = "natural_movie_one.frame"
GRATINGS = Path(__file__).resolve().parents[2] / "shared" / "data" / "allen_2p_drifting_gratings_527745328" \
    / "dff_trials_527745328.npz"


def demo_sessions(animals: int):
    import neurocine
    from neurocine.io.simulate import simulate_dataset

    data = Path(tempfile.mkdtemp()) / "demo"
    simulate_dataset(data, progress=False, seed=0)
    return neurocine.load_sessions(data)[:animals]


def pseudo_animals(animals: int, seed: int = 0):
    """Disjoint random cell subsets of the real grating session, one Session each (the same
    trials, so the same stratified trial split): :func:`neurocine.io.movies.split_units`."""
    from neurocine.io.movies import split_units
    from neurocine.io.trials import recording_session, trials_recording

    z = np.load(GRATINGS)
    rate = 1.0 / float(np.median(np.diff(z["time_s"])))
    labels = {"drifting_gratings.direction": z["orientation_deg"],
              "drifting_gratings.temporal_frequency": z["temporal_frequency_hz"]}
    rec = trials_recording(z["dff"], labels, z["time_s"], rate, "527745328", stimulus_s=2.0)
    return [recording_session(r) for r in split_units(rec, animals, seed)]


def cells(res, methods) -> str:
    return " ".join(f"{res.value(m):.3f} [{res.score(m).ci95[0]:.3f},{res.score(m).ci95[1]:.3f}]" for m in methods)


def margin(d) -> str:
    return f"{d.value:+.3f} [{d.ci95[0]:+.3f}, {d.ci95[1]:+.3f}]"


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", choices=("demo", "gratings"), default="demo")
    ap.add_argument("--steps", type=int, default=600)
    ap.add_argument("--repeats", type=int, nargs="+", default=[1, 2, 4, 8], help="K: repeats, or trials per condition")
    ap.add_argument("--init", nargs="+", default=["encoder"])
    ap.add_argument("--animals", type=int, default=4, help="how many held-out animals (leave-one-out)")
    ap.add_argument("--no-cebra-adapt", action="store_true", help="skip cebra.CEBRA's adapt=True baseline")
    args = ap.parse_args()
    from neurocine.evaluate.adapt import METHODS, TRIAL_METHODS
    from neurocine.evaluate.cebra_adapt import CEBRA_ADAPT, leave_one_animal_out
    from neurocine.settings import Config

    unit = "repeats" if args.data == "demo" else "trials"
    if unit == "trials" and not GRATINGS.is_file():
        print(f"skipped: {GRATINGS} is not here (the real data live in ../shared/data)")
        return 0
    sessions = demo_sessions(args.animals) if unit == "repeats" else pseudo_animals(args.animals)
    cfg = Config().override({"model.device": "cpu", "model.max_iterations": args.steps,
                             "training.validate_every": 50, "training.early_stopping.patience": 6})
    what = ("demo sessions (SIMULATED, seed 0)" if unit == "repeats" else
            f"real grating session 527745328 (RECORDED) cut into {args.animals} pseudo-animals of disjoint cells "
            f"({', '.join(str(s.traces.shape[1]) for s in sessions)} cells; they share one mouse's trial-by-trial "
            "state)")
    print(f"{what}: leave-one-animal-out over {len(sessions)} animals, base models {args.steps} steps; "
          + ("frame ID within 1 s on the held-out animal's test repeat" if unit == "repeats" else
             "trial conditions of the held-out animal's test trials"))
    extra = [] if args.no_cebra_adapt else [CEBRA_ADAPT]
    for init in args.init:
        out = leave_one_animal_out(sessions, cfg, args.repeats, unit=unit, init=init, with_cebra_adapt=bool(extra),
                                   say=lambda text: print(text, flush=True))
        seconds = out["base_seconds"]
        print(f"base training: {sum(seconds) / len(seconds):.1f} s per model (mean of {len(seconds)})")
        if unit == "repeats":
            methods = [*METHODS] + extra
            print(f"{'init':8s} {'K':>2s} {'fit s':>6s} " + " ".join(f"{m:>21s}" for m in methods)
                  + "   adapted - template_own [95 % CI]")
            for k, res in out["curve"].items():
                print(f"{init:8s} {k:2d} {res.details['seconds'] / len(sessions):6.1f} {cells(res, methods)}   "
                      f"{margin(res.margin('adapted', 'template_own'))}", flush=True)
            continue
        methods = [*TRIAL_METHODS] + extra
        results = list(out["curve"].items())
        for label in results[0][1]["classes"]:
            print(f"{label} ({init}; accuracy [95 % CI] over test trials, pooled over pseudo-animals)")
            print(f"{'K':>2s} {'fit s':>6s} " + " ".join(f"{m:>21s}" for m in methods)
                  + "   adapted - logistic_own, adapted - knn_own")
            for k, res in results:
                e = res["classes"][label]
                print(f"{k:2d} {res['seconds'] / len(sessions):6.1f} {cells(e, methods)}   "
                      f"{margin(e.margin('adapted', 'logistic_own'))}, {margin(e.margin('adapted', 'knn_own'))}",
                      flush=True)
    return 0


if __name__ == "__main__":
    with docs_section("bench_adapt"):
        code = main()
    sys.exit(code)
