"""Training speed of neurocine.CEBRA against cebra.CEBRA 0.6.1, in the same process, with
the same model (offset10-model, 32 hidden units), batch, output dimension, steps and data.

Cases:
  1. single session, time-contrastive (conditional='time', time_offsets=10)
  2. 4 sessions (150/240/227/181 neurons), label-aligned multi-session
     (continuous movie-frame labels, conditional='time_delta')

Data: train splits of simulated sessions, 20 000 samples each. After the same number of
steps, both models' test-split embeddings are scored with the same frame-ID kNN.

    python bench/bench_embed.py [--steps 150] [--batch 512] [--device cpu]
"""

from __future__ import annotations

import sys

import argparse
import time
import warnings
from pathlib import Path

import cebra
import numpy as np
import torch

import neurocine
from neurocine.decoders.frame_id import knn_predict_frames
from neurocine.evaluate.frame_id import summarize
from _common import docs_section


def data(workdir: Path, n_samples: int):
    d = workdir / "embed20k"
    if not any(d.glob("*.h5")):
        neurocine.simulate_dataset(d, grating_repeats=8, seed=2, progress=False)
    train = neurocine.load_dataset({"data_dir": str(d)}, "train")
    test = neurocine.load_dataset({"data_dir": str(d)}, "test")
    X = [p.neural[:n_samples] for p in train]
    frames = [p.label("natural_movie_one.frame")[:n_samples] for p in train]
    return X, [f.astype(np.float64) for f in frames], frames, test


def frame_id(emb_train, f_train, emb_test, f_test) -> float:
    a, b = f_train >= 0, f_test >= 0
    return summarize(np.abs(knn_predict_frames(emb_train[a], f_train[a], emb_test[b]) - f_test[b]))["accuracy_1s"]


def timed_fit(estimator_cls, X, y, steps, batch, device):
    """Fit ``estimator_cls`` (cebra.CEBRA or neurocine.CEBRA: same parameter names) with the
    same settings; returns ``(it/s, seconds, transform(x, session_index))``."""
    m = estimator_cls(model_architecture="offset10-model", batch_size=batch, output_dimension=32,
                      num_hidden_units=32, max_iterations=steps, learning_rate=3e-4, temperature=0.2,
                      time_offsets=10, conditional="time" if y is None else "time_delta", device=device,
                      verbose=False)
    t = time.perf_counter()
    if y is None:
        m.fit(X[0])
    else:
        m.fit(X, y)
    dt = time.perf_counter() - t
    return steps / dt, dt, (lambda x, i: m.transform(x) if y is None else m.transform(x, session_id=i))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=150)
    ap.add_argument("--batch", type=int, default=512)
    ap.add_argument("--samples", type=int, default=20000)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--workdir", default="bench/out")
    args = ap.parse_args()
    warnings.filterwarnings("ignore")
    X, y, f_train, test = data(Path(args.workdir), args.samples)
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, device {args.device}; "
          f"sessions {[x.shape for x in X]}; {args.steps} steps, batch {args.batch}")
    for name, sessions, labels in (("single-session time-contrastive", X[:1], None),
                                   ("4-session label-aligned", X, y)):
        rows = {}
        for impl, cls in (("cebra.CEBRA 0.6.1", cebra.CEBRA), ("neurocine.CEBRA", neurocine.CEBRA)):
            torch.manual_seed(0)
            its, dt, transform = timed_fit(cls, sessions, labels, args.steps, args.batch, args.device)
            accs = []
            for i in range(len(sessions)):
                accs.append(frame_id(transform(sessions[i], i), f_train[i], transform(test[i].neural, i),
                                     test[i].label("natural_movie_one.frame")))
            rows[impl] = (its, dt, float(np.mean(accs)))
            print(f"  {name:32s} {impl:18s} {its:8.2f} it/s  ({dt:6.1f} s)  frame-ID acc@1s {np.mean(accs):.3f}")
        ratio = rows["neurocine.CEBRA"][0] / rows["cebra.CEBRA 0.6.1"][0]
        print(f"  {name:32s} speed-up neurocine / cebra = {ratio:.2f}x")


if __name__ == "__main__":
    with docs_section("bench_embed"):
        code = main()
    sys.exit(code)
