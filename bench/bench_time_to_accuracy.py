"""Time to a good embedding: validation frame ID as a function of training wall time,
for cebra.CEBRA and neurocine.CEBRA variants, one process after the other.

Frame ID: a 5-neighbour cosine kNN from the embedding of the train split's movie samples
to the validation repeat's, correct within 30 frames (1 s). Evaluation time is excluded
from the training time. Runs:

* ``cebra``: cebra.CEBRA 0.6.1, train-split movie samples (one array per session),
  movie-frame labels, ``conditional='time_delta'`` (label-aligned multi-session);
* ``nc same``: neurocine.CEBRA on the same arrays and labels (behavior mode);
* ``nc same +pooled``, ``+any``, ``+pooled +any``: with cebra's pooled negatives and/or
  positives from any session;
* ``nc default``: the earlier default (stimulus_aligned on the whole train split), and
  with pooled or in-batch negatives;
* ``nc aligned movie ...``: stimulus_aligned on the movie samples (``dataset.train_on:
  movie``), with cebra's or in-batch negatives;
* ``cebra lr X``, ``nc aligned movie +in_batch +any lr X [batch B]``: the learning-rate and
  batch-size sweep. Runs without ``lr`` in their name use cebra's 3e-4; neurocine's
  default is ``nc aligned movie +in_batch +any lr 0.003`` (batch 512).

Prints, per run: steps/s, the accuracy curve, the time it needs to reach cebra's final
accuracy and the accuracy it has at cebra's final time, with ratios.

    python bench/bench_time_to_accuracy.py [--steps 600] [--every 100] [--real-size] [--only NAME ...]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from _common import docs_section

FRAME = "natural_movie_one.frame"


def data(workdir: Path, real_size: bool):
    import neurocine

    d = workdir / ("tta_real" if real_size else "tta_demo")
    if not any(d.glob("*.h5")):
        kw = dict(grating_repeats=15, spontaneous_s=300.0) if real_size else {}
        neurocine.simulate_dataset(d, seed=0, progress=False, **kw)
    splits = {s: neurocine.load_dataset({"data_dir": str(d)}, s) for s in ("train", "valid")}
    return splits


def movie(part):
    f = part.label(FRAME)
    return part.neural[f >= 0], f[f >= 0]


def accuracy(embed_train, f_train, embed_valid, f_valid) -> float:
    from neurocine.decoders.frame_id import knn_predict_frames

    accs = [np.mean(np.abs(knn_predict_frames(a, fa, b, 5) - fb) < 30)
            for a, fa, b, fb in zip(embed_train, f_train, embed_valid, f_valid)]
    return float(np.mean(accs))


class Curve:
    """Records (step, training seconds, valid accuracy); evaluation time is excluded."""

    def __init__(self):
        self.t0 = time.perf_counter()
        self.eval_s = 0.0
        self.points = []

    def add(self, step, acc_fn):
        t = time.perf_counter()
        train_s = t - self.t0 - self.eval_s
        acc = acc_fn()
        self.eval_s += time.perf_counter() - t
        self.points.append((int(step), float(train_s), float(acc)))


def run_cebra(splits, steps, every, seed, learning_rate=3e-4):
    import cebra

    X = [movie(p)[0] for p in splits["train"]]
    y = [movie(p)[1].astype(np.float64) for p in splits["train"]]
    V = [movie(p) for p in splits["valid"]]
    torch.manual_seed(seed)
    np.random.seed(seed)
    model = cebra.CEBRA(model_architecture="offset10-model", batch_size=512, output_dimension=32, num_hidden_units=32,
                        max_iterations=steps, learning_rate=learning_rate, temperature=0.2, time_offsets=10,
                        conditional="time_delta", device="cpu", verbose=False)
    curve = Curve()

    def hook(step, solver):
        def acc():
            emb = lambda x, i: solver.transform(torch.from_numpy(x), session_id=i).detach().numpy()  # noqa: E731
            return accuracy([emb(x, i) for i, x in enumerate(X)], [f.astype(int) for f in y],
                            [emb(v[0], i) for i, v in enumerate(V)], [v[1] for v in V])
        curve.add(step, acc)

    model.fit(X, y, callback=hook, callback_frequency=every)
    if curve.points[-1][0] < steps:  # cebra calls the hook before a step: add the point after the last one
        solver = model.solver_
        hook(steps, solver)
    return curve


def run_neurocine(splits, steps, every, seed, same_arrays: bool, **params):
    import neurocine

    V = [movie(p) for p in splits["valid"]]
    X = [movie(p)[0] for p in splits["train"]]
    y = [movie(p)[1].astype(np.float64) for p in splits["train"]]
    if same_arrays:
        fit_args = (X, y)
        params.setdefault("learning_mode", "behavior")
    elif params.pop("movie_only", False):  # stimulus-aligned on the train split's movie samples only
        from neurocine.data import keep_rows

        fit_args = ([keep_rows(p, p.label(FRAME) >= 0) for p in splits["train"]],)
    else:
        fit_args = (splits["train"],)
    params = {"batch_size": 512, "learning_rate": 3e-4, **params}
    model = neurocine.CEBRA(model_architecture="offset10-model", output_dimension=32, num_hidden_units=32,
                            max_iterations=steps, temperature=0.2, time_offsets=10, device="cpu", seed=seed,
                            early_stopping=False, **params)
    curve = Curve()

    def hook(step, est):
        def acc():
            return accuracy([est.transform(x, session_id=i) for i, x in enumerate(X)], [f.astype(int) for f in y],
                            [est.transform(v[0], session_id=i) for i, v in enumerate(V)], [v[1] for v in V])
        curve.add(step, acc)

    model.fit(*fit_args, callback=hook, callback_frequency=every)
    return curve


RUNS = {
    "cebra": lambda s, n, e, seed: run_cebra(s, n, e, seed),
    "nc same": lambda s, n, e, seed: run_neurocine(s, n, e, seed, True),
    "nc same +pooled": lambda s, n, e, seed: run_neurocine(s, n, e, seed, True, negatives="pooled"),
    "nc same +any": lambda s, n, e, seed: run_neurocine(s, n, e, seed, True, positive_sessions="any"),
    "nc same +pooled +any": lambda s, n, e, seed: run_neurocine(s, n, e, seed, True, negatives="pooled",
                                                                 positive_sessions="any"),
    "nc default": lambda s, n, e, seed: run_neurocine(s, n, e, seed, False),
    "nc default +pooled": lambda s, n, e, seed: run_neurocine(s, n, e, seed, False, negatives="pooled"),
    "nc default +in_batch": lambda s, n, e, seed: run_neurocine(s, n, e, seed, False, negatives="in_batch"),
    "nc default +pooled +any": lambda s, n, e, seed: run_neurocine(s, n, e, seed, False, negatives="pooled",
                                                                    positive_sessions="any"),
    "nc default +in_batch +any": lambda s, n, e, seed: run_neurocine(s, n, e, seed, False, negatives="in_batch",
                                                                      positive_sessions="any"),
    "nc aligned movie": lambda s, n, e, seed: run_neurocine(s, n, e, seed, False, movie_only=True),
    "nc aligned movie +pooled +any": lambda s, n, e, seed: run_neurocine(s, n, e, seed, False, movie_only=True,
                                                                          negatives="pooled", positive_sessions="any"),
    "nc aligned movie +pooled +any jitter 0": lambda s, n, e, seed: run_neurocine(
        s, n, e, seed, False, movie_only=True, negatives="pooled", positive_sessions="any", stimulus_jitter=0),
    "nc aligned movie +in_batch +any": lambda s, n, e, seed: run_neurocine(
        s, n, e, seed, False, movie_only=True, negatives="in_batch", positive_sessions="any"),
}
# learning rate and batch size of the default (in-batch negatives, any-session positives, movie samples)
for _lr in (1e-3, 3e-3, 1e-2):
    RUNS[f"cebra lr {_lr:g}"] = (lambda lr: lambda s, n, e, seed: run_cebra(s, n, e, seed, learning_rate=lr))(_lr)
for _lr in (1e-3, 3e-3, 1e-2):
    RUNS[f"nc aligned movie +in_batch +any lr {_lr:g}"] = (lambda lr: lambda s, n, e, seed: run_neurocine(
        s, n, e, seed, False, movie_only=True, negatives="in_batch", positive_sessions="any", learning_rate=lr))(_lr)
for _bs in (128, 256):
    for _lr in (3e-4, 3e-3):
        RUNS[f"nc aligned movie +in_batch +any lr {_lr:g} batch {_bs}"] = (lambda bs, lr: lambda s, n, e, seed:
            run_neurocine(s, n, e, seed, False, movie_only=True, negatives="in_batch", positive_sessions="any",
                          batch_size=bs, learning_rate=lr))(_bs, _lr)


def time_to(points, target):
    """Training seconds at which the curve first reaches ``target`` (None: never)."""
    for _, t, a in points:
        if a >= target:
            return t
    return None


def acc_at(points, seconds):
    """The last accuracy measured within ``seconds`` of training."""
    within = [a for _, t, a in points if t <= seconds * 1.001]
    return within[-1] if within else None


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=600)
    ap.add_argument("--every", type=int, default=100)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--real-size", action="store_true", help="sessions of ~70 000 samples (15 trials per grating)")
    ap.add_argument("--only", nargs="*", default=None)
    ap.add_argument("--workdir", default="bench/out")
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    warnings.filterwarnings("ignore")
    torch.set_num_threads(torch.get_num_threads())
    splits = data(Path(args.workdir), args.real_size)
    sizes = [len(p) for p in splits["train"]]
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; {len(sizes)} sessions, train samples "
          f"{sizes}; {args.steps} steps, batch 512, evaluation every {args.every}", flush=True)
    curves = {}
    for name, fn in RUNS.items():
        if args.only and name not in args.only and name != "cebra":
            continue
        c = fn(splits, args.steps, args.every, args.seed)
        curves[name] = c.points
        last = c.points[-1]
        print(f"{name:22s} {last[0] / last[1]:6.2f} steps/s  " +
              " ".join(f"{a:.3f}@{t:.0f}s" for _, t, a in c.points), flush=True)
    ref = curves["cebra"][-1]
    target, budget = ref[2], ref[1]
    print(f"\ncebra.CEBRA after {ref[0]} steps: valid frame ID {target:.3f} in {budget:.1f} s")
    print(f"{'run':22s} {'time to ' + format(target, '.3f'):>14s} {'vs cebra':>9s} "
          f"{'acc at ' + format(budget, '.0f') + ' s':>12s} "
          f"{'final acc':>10s}")
    for name, pts in curves.items():
        t = time_to(pts, target)
        a = acc_at(pts, budget)
        print(f"{name:22s} {('%.1f s' % t) if t else 'not reached':>14s} {('%.2fx' % (budget / t)) if t else '':>9s} "
              f"{('%.3f' % a) if a is not None else '-':>12s} {pts[-1][2]:10.3f}")
    if args.json:
        Path(args.json).write_text(json.dumps(curves, indent=1))
    return 0


if __name__ == "__main__":
    with docs_section("bench_time_to_accuracy"):
        code = main()
    sys.exit(code)
