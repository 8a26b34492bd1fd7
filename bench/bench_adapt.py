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

Both also run cebra.CEBRA's own ``adapt=True`` (``cebra_adapt``): a single-session
cebra.CEBRA trained on one of the trained animals with the same stimulus states as discrete
labels (``alignment_keys``), its first layer re-fitted to the new animal's K repeats (or
trials), the new animal decoded with decoders fitted on the trained animal's embedding. It
adapts one session's model only (CEBRA issues #160, #108), so it sees one trained animal.

Test samples are pooled over the held-out animals for each K.

    python bench/bench_adapt.py [--data demo|gratings] [--steps 600] [--repeats 1 2 4 8] [--init encoder]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
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
    trials, so the same stratified trial split)."""
    from neurocine.io.trials import trials_session

    z = np.load(GRATINGS)
    order = np.random.default_rng(seed).permutation(z["dff"].shape[0])
    rate = 1.0 / float(np.median(np.diff(z["time_s"])))
    labels = {"drifting_gratings.direction": z["orientation_deg"],
              "drifting_gratings.temporal_frequency": z["temporal_frequency_hz"]}
    return [trials_session(z["dff"][np.sort(cells)], labels, z["time_s"], rate, f"527745328-cells{i}", stimulus_s=2.0)
            for i, cells in enumerate(np.array_split(order, animals))]


def cebra_adapt(cfg, ref: dict, new: dict, k: int, unit: str, steps: int, seed: int) -> dict:
    """cebra.CEBRA ``adapt=True`` (module docstring): per-sample (frames) or per-label
    per-trial (trials) correctness on the new animal's test split."""
    import copy

    import cebra
    import torch

    from neurocine.decoders.classify import KNN, Logistic
    from neurocine.decoders.frame_id import FrameTemplates, knn_predict_frames
    from neurocine.embed.modes.stimulus_aligned import alignment_keys
    from neurocine.evaluate.adapt import first_repeats, first_trials
    from neurocine.evaluate.trials import stimulus_trials, trial_features
    from neurocine.stimuli import LABELS, STIMULI

    def labelled(p):
        keys = alignment_keys(p.labels, p.segment, p.sampling_rate)
        return p.neural[keys >= 0], keys[keys >= 0]

    torch.manual_seed(seed)
    m = cfg.model
    model = cebra.CEBRA(model_architecture=m.model_architecture, batch_size=m.batch_size, learning_rate=m.learning_rate,
                        temperature=m.temperature, output_dimension=m.output_dimension,
                        num_hidden_units=m.num_hidden_units, max_iterations=steps, max_adapt_iterations=steps // 5,
                        device="cpu", verbose=False)
    trained = {sp: ref[sp][0] for sp in ("train", "valid")}  # one trained animal: cebra adapts one session's model
    x, keys = labelled(trained["train"])
    _, dense = np.unique(keys, return_inverse=True)
    model.fit(x, dense)
    emb_ref = {sp: model.transform(p.neural) for sp, p in trained.items()}
    adapted = copy.deepcopy(model)
    part = first_repeats(new["train"], FRAME, k) if unit == "repeats" else first_trials(new["train"], k)
    x_new, keys_new = labelled(part)
    lookup = {int(v): i for i, v in enumerate(np.unique(keys))}
    adapted.fit(x_new, np.array([lookup.get(int(v), 0) for v in keys_new]), adapt=True)
    emb_test = adapted.transform(new["test"].neural)
    tol, nn = cfg.decoding.tolerance_frames, cfg.decoding.n_neighbors
    if unit == "repeats":
        f = {sp: p.label(FRAME) for sp, p in trained.items()}
        rows = {sp: f[sp] >= 0 for sp in f}
        x_tr, f_tr = emb_ref["train"][rows["train"]], f["train"][rows["train"]]
        decoders = {"knn": lambda X: knn_predict_frames(x_tr, f_tr, X, nn),
                    "template": FrameTemplates(x_tr, f_tr).predict}
        score = {n: np.mean(np.abs(d(emb_ref["valid"][rows["valid"]]) - f["valid"][rows["valid"]]) < tol)
                 for n, d in decoders.items()}
        best = max(score, key=score.get)
        t = new["test"].label(FRAME)
        return {"correct": (np.abs(decoders[best](emb_test[t >= 0]) - t[t >= 0]) < tol).astype(float)}
    out = {}
    for stimulus, stim in STIMULI.items():
        if stim.structure != "trials" or not stimulus_trials(new["test"], stimulus):
            continue
        for label in [n for n, s in LABELS.items() if s.stimulus == stimulus and s.kind == "class" and s.classes]:
            def features(part, x):
                y, _, (means,) = trial_features(part, stimulus_trials(part, stimulus), label, x)
                return means, y

            tr = features(trained["train"], emb_ref["train"])
            va = features(trained["valid"], emb_ref["valid"])
            te = features(new["test"], emb_test)
            cands = {"logistic": Logistic(*tr, *va, seed), "knn": KNN(*tr, nn)}
            best = max(cands, key=lambda n: np.mean(cands[n].predict(va[0]) == va[1]))
            out[label] = {"correct": (cands[best].predict(te[0]) == te[1]).astype(float)}
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", choices=("demo", "gratings"), default="demo")
    ap.add_argument("--steps", type=int, default=600)
    ap.add_argument("--repeats", type=int, nargs="+", default=[1, 2, 4, 8], help="K: repeats, or trials per condition")
    ap.add_argument("--init", nargs="+", default=["encoder"])
    ap.add_argument("--animals", type=int, default=4, help="how many held-out animals (leave-one-out)")
    ap.add_argument("--no-cebra-adapt", action="store_true", help="skip cebra.CEBRA's adapt=True baseline")
    args = ap.parse_args()
    import neurocine
    from neurocine.data import normalized_splits, training_rows
    from neurocine.decoders.uncertainty import block_bootstrap
    from neurocine.evaluate.adapt import (METHODS, TRIAL_METHODS, adapt_session, summarize_adapt,
                                          summarize_adapt_trials)
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
    outcomes = {(init, k): [] for init in args.init for k in args.repeats}
    theirs = {k: [] for k in args.repeats}
    base_seconds = []
    for held in range(len(sessions)):
        rest = [s for i, s in enumerate(sessions) if i != held]
        ref = {sp: normalized_splits(rest, sp) for sp in ("train", "valid", "test")}
        t0 = time.perf_counter()
        base = neurocine.CEBRA.from_config(cfg).fit(training_rows(ref["train"]), valid=training_rows(ref["valid"]))
        base_seconds.append(time.perf_counter() - t0)
        new = {sp: normalized_splits([sessions[held]], sp)[0] for sp in ("train", "valid", "test")}
        for init in args.init:
            for k in args.repeats:
                outcome, _ = adapt_session(base, ref, new, cfg, k=k, label=FRAME if unit == "repeats" else None,
                                           unit=unit, init=init)
                outcomes[(init, k)].append(outcome)
                print(f"  held-out {sessions[held].session_id}, {init}, K={k}: new encoder {outcome['seconds']:.1f} s",
                      flush=True)
        if not args.no_cebra_adapt:
            for k in args.repeats:
                theirs[k].append(cebra_adapt(cfg, ref, new, k, unit, args.steps, cfg.training.seed))
    print(f"base training: {sum(base_seconds) / len(base_seconds):.1f} s per model (mean of {len(base_seconds)})")
    if unit == "repeats":
        methods = [*METHODS] + ([] if args.no_cebra_adapt else ["cebra_adapt"])
        print(f"{'init':8s} {'K':>2s} {'fit s':>6s} " + " ".join(f"{m:>21s}" for m in methods)
              + "   adapted - template_own [95 % CI]")
        for init in args.init:
            for k in args.repeats:
                got = outcomes[(init, k)]
                if not args.no_cebra_adapt:
                    for o, c in zip(got, theirs[k]):
                        o["correct"]["cebra_adapt"] = c["correct"]
                res = summarize_adapt(got, k, init, FRAME, cfg.training.seed)
                f = res["frame_id"]
                if not args.no_cebra_adapt:
                    from neurocine.decoders.uncertainty import blocks_of

                    blocks = blocks_of(np.concatenate([np.full(len(o["index"]), o["session_id"]) for o in got]),
                                       np.concatenate([o["index"] for o in got]), got[0]["block_samples"])
                    b = block_bootstrap({"cebra_adapt": np.concatenate([o["correct"]["cebra_adapt"] for o in got])},
                                        blocks, seed=cfg.training.seed)["cebra_adapt"]
                    f["cebra_adapt"] = {"accuracy_1s": b["mean"], "ci95": b["ci95"]}
                cells = " ".join(f"{f[m]['accuracy_1s']:.3f} [{f[m]['ci95'][0]:.3f},{f[m]['ci95'][1]:.3f}]"
                                 for m in methods)
                d = res["comparison"]["adapted - template_own"]
                print(f"{init:8s} {k:2d} {res['seconds'] / len(got):6.1f} {cells}   {d['mean']:+.3f} "
                      f"[{d['ci95'][0]:+.3f}, {d['ci95'][1]:+.3f}]", flush=True)
        return 0
    methods = [*TRIAL_METHODS] + ([] if args.no_cebra_adapt else ["cebra_adapt"])
    for init in args.init:
        results = [summarize_adapt_trials(outcomes[(init, k)], k, init, cfg.training.seed) for k in args.repeats]
        for label in results[0]["classes"]:
            print(f"{label} ({init}; accuracy [95 % CI] over test trials, pooled over pseudo-animals)")
            print(f"{'K':>2s} {'fit s':>6s} " + " ".join(f"{m:>21s}" for m in methods)
                  + "   adapted - logistic_own, adapted - knn_own")
            for k, res in zip(args.repeats, results):
                e = res["classes"][label]
                if not args.no_cebra_adapt:
                    got = outcomes[(init, k)]
                    _, blocks = np.unique(np.concatenate([o["labels"][label]["index"] for o in got]),
                                          return_inverse=True)
                    b = block_bootstrap({"cebra_adapt": np.concatenate([c[label]["correct"] for c in theirs[k]])},
                                        blocks, seed=cfg.training.seed)["cebra_adapt"]
                    e["cebra_adapt"] = {"accuracy": b["mean"], "ci95": b["ci95"]}
                cells = " ".join(f"{e[m]['accuracy']:.3f} [{e[m]['ci95'][0]:.3f},{e[m]['ci95'][1]:.3f}]"
                                 for m in methods)
                d1, d2 = e["comparison"]["adapted - logistic_own"], e["comparison"]["adapted - knn_own"]
                print(f"{k:2d} {res['seconds'] / len(sessions):6.1f} {cells}   {d1['mean']:+.3f} "
                      f"[{d1['ci95'][0]:+.3f}, {d1['ci95'][1]:+.3f}], {d2['mean']:+.3f} "
                      f"[{d2['ci95'][0]:+.3f}, {d2['ci95'][1]:+.3f}]", flush=True)
    return 0


if __name__ == "__main__":
    with docs_section("bench_adapt"):
        code = main()
    sys.exit(code)
