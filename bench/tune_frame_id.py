"""Validation-split sweep of CEBRA settings for frame identification on the demo data.

Defaults are chosen on validation (the test repeat is touched once, by `neurocine run`).
Prints, per setting: wall time, valid accuracy within 1 s of each decoder on the embedding
(kNN, template, linear) and of the strongest baseline (the dF/F-window template), so a
default is justified by validation numbers only.

    python bench/tune_frame_id.py [--data demo_data] [--only NAME ...]
"""

from __future__ import annotations

import sys

import argparse
import time
import warnings
from pathlib import Path


import neurocine
from neurocine.settings import Config
from neurocine.data import prepare_splits
from neurocine.evaluate.frame_id import evaluate_frame_id
from _common import docs_section

GRID = {
    "default (dim 32, T 0.2, 600 steps, jitter 15)": {},
    "output_dimension 128": {"output_dimension": 128},
    "temperature 0.1": {"temperature": 0.1},
    "stimulus_jitter 0": {"stimulus_jitter": 0},
    "2000 steps": {"max_iterations": 2000},
    "num_hidden_units 128": {"num_hidden_units": 128},
    "dim 128, 2000 steps, hidden 128": {"output_dimension": 128, "max_iterations": 2000, "num_hidden_units": 128},
}
FRAME = "natural_movie_one.frame"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="demo_data")
    ap.add_argument("--only", nargs="*", default=None)
    args = ap.parse_args()
    warnings.filterwarnings("ignore")
    if not any(Path(args.data).glob("*.h5")):
        neurocine.simulate_dataset(args.data, progress=False)
    cfg = Config.from_dict({"dataset": {"data_dir": args.data},
                            "model": {"max_iterations": 600, "device": "cpu"},
                            "training": {"validate_every": 50, "early_stopping": {"patience": 6}}})
    _, splits = prepare_splits(cfg.dataset)
    for name, params in GRID.items():
        if args.only and not any(o in name for o in args.only):
            continue
        model = neurocine.CEBRA.from_config(cfg).set_params(**params)
        t = time.perf_counter()
        model.fit(splits["train"], valid=splits["valid"])
        seconds = time.perf_counter() - t
        sessions = []
        for i, p in enumerate(splits["train"]):
            entry = {"session_id": p.session_id}
            for sp in ("train", "valid", "test"):
                q = splits[sp][i]
                entry[sp] = {"neural": q.neural, "segment": q.segment, "index": q.index, "frame": q.label(FRAME),
                             "embeddings": {"cebra": model.transform(q, session_id=i)}}
            sessions.append(entry)
        res = evaluate_frame_id(sessions, 900, models={"cebra": {}}, pca_dim=model.output_dimension, n_boot=200,
                                window=(model.model_.left, model.model_.right))
        dec = res.test["cebra"]["decoder_valid_accuracy_1s"]
        print(f"{name:48s} {seconds:6.0f} s  steps {model.state_.step:5d}  valid: knn {dec['knn']:.3f} "
              f"template {dec['template']:.3f} linear {dec['linear']:.3f} | baseline template "
              f"{res.valid_score('template'):.3f}", flush=True)


if __name__ == "__main__":
    with docs_section("tune_frame_id"):
        code = main()
    sys.exit(code)
