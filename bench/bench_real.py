"""Real Allen recordings (../shared/data): what the embeddings and decoders reach, beside
the baselines, with 95 % bootstrap intervals.

1. Drifting gratings, session 527745328 (254 cells, 628 trials, 92 samples at ~30 Hz):
   the trials are laid out in time (neurocine.io.trials), split by trial 70/10/20
   (stratified, seed 42); a label-free (time-contrastive) and a label-aligned
   (stimulus-aligned: positives share the condition and time in trial) CEBRA embedding are
   trained on the train trials; direction, orientation and temporal frequency are decoded
   from the trial mean over the 2 s stimulus (embedding or dF/F) by logistic regression and
   kNN fitted on train trials, chosen on valid, scored on test. Also the 5-fold CV of
   logistic regression and kNN on dF/F over all trials (the numbers the issue quotes).
2. Natural scenes, session 501498760 (212 cells, trial means of 118 images, 100 train /
   18 test): the 18 held-out images reconstructed from the 212 responses (HalfUNet, ridge,
   the mean train image as a floor): SSIM, pixel r, and the rank of the true image among
   the 118 by correlation with the reconstruction (identification), with a bootstrap
   interval over the 18 images; and whether the 118 mean responses carry any image
   information (an encoding model and RSA, each against shuffled images). The protocol is
   :func:`neurocine.evaluate.images.scene_arrays_protocol`; this script prints it.

    python bench/bench_real.py [--steps 1500] [--out bench/out/real.json]

Skips with a clear reason when ../shared/data is absent.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from _common import docs_section

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
GRATINGS = SHARED / "allen_2p_drifting_gratings_527745328" / "dff_trials_527745328.npz"
SCENES = SHARED / "allen_2p_natural_scenes_501498760"
LABELS = ("drifting_gratings.direction", "drifting_gratings.orientation", "drifting_gratings.temporal_frequency")


def cv_baselines(z) -> dict:
    """5-fold CV on all non-blank trials: logistic regression and kNN on the trial-mean dF/F
    over the 2 s stimulus."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    t = z["time_s"]
    on = (t >= 0) & (t < 2.0)
    X = z["dff"][:, :, on].mean(2).T
    keep = np.isfinite(z["orientation_deg"])
    targets = {"drifting_gratings.direction": z["orientation_deg"], "drifting_gratings.orientation":
               np.mod(z["orientation_deg"], 180), "drifting_gratings.temporal_frequency": z["temporal_frequency_hz"]}
    out = {}
    cv = StratifiedKFold(5, shuffle=True, random_state=0)
    for name, y in targets.items():
        y = y[keep].astype(str)
        lr = make_pipeline(StandardScaler(), LogisticRegression(max_iter=3000))
        knn = make_pipeline(StandardScaler(), KNeighborsClassifier(5))
        out[name] = {"logistic_cv5": float(cross_val_score(lr, X[keep], y, cv=cv).mean()),
                     "knn_cv5": float(cross_val_score(knn, X[keep], y, cv=cv).mean())}
    return out


def gratings(steps: int, seed: int = 0) -> dict:
    import neurocine
    from neurocine.data import normalized_splits
    from neurocine.io.trials import trials_session
    from neurocine.evaluate.trials import decode_label, stimulus_trials
    from neurocine.stimuli import LABELS as SPECS

    z = np.load(GRATINGS)
    session = trials_session(z["dff"], {"drifting_gratings.direction": z["orientation_deg"],
                                        "drifting_gratings.temporal_frequency": z["temporal_frequency_hz"]},
                             z["time_s"], 1.0 / float(np.median(np.diff(z["time_s"]))), "527745328",
                             stimulus_s=2.0)
    splits = {sp: normalized_splits([session], sp) for sp in ("train", "valid", "test")}
    embeddings, seconds = {}, {}
    for name, mode in (("cebra_label_free", "time_contrastive"), ("cebra", "stimulus_aligned")):
        model = neurocine.CEBRA(learning_mode=mode, max_iterations=steps, batch_size=512, device="cpu", seed=seed,
                                validate_every=100, patience=5)
        t = time.perf_counter()
        model.fit(splits["train"], valid=splits["valid"])
        seconds[name] = time.perf_counter() - t
        embeddings[name] = {sp: model.transform(splits[sp][0], session_id=0) for sp in splits}
        print(f"  {name:18s} ({mode}): {model.state_.step} steps in {seconds[name]:.0f} s, supervision "
              f"{model.supervision_!r}", flush=True)
    out = {"n_trials": int(z["dff"].shape[1]), "n_cells": int(z["dff"].shape[0]), "train_seconds": seconds,
           "steps": steps}
    trials = {sp: stimulus_trials(splits[sp][0], "drifting_gratings") for sp in splits}
    for label in LABELS:
        spec = SPECS[label]
        entry = {"session_id": "527745328"}
        for sp in splits:
            part, rows = splits[sp][0], trials[sp]
            y = np.array([spec.class_ids(part.label(label)[r[:1]])[0] for r in rows])
            entry[sp] = {"y": y, "dff": np.stack([part.neural[r].mean(0) for r in rows]),
                         **{m: np.stack([e[sp][r].mean(0) for r in rows]) for m, e in embeddings.items()}}
        res = decode_label([entry], list(embeddings), 5, spec.n_classes, seed)
        out[label] = res.replace(details={k: v for k, v in res.details.items() if k != "per_session"})
    out["cv5_all_trials"] = cv_baselines(z)
    return out


#: The HalfUNet of the real scenes (100 train images of 31x31 px): more passes and smaller
#: batches than the movie's table defaults, its input noise chosen on valid.
SCENE_SETTINGS = {"reconstruction.num_epochs": 60, "reconstruction.batch_size": 16, "reconstruction.lr": 1e-3,
                  "reconstruction.loss_fn": "l1_ssim", "reconstruction.patience": 10,
                  "reconstruction.target_normalization": "pixel", "model.device": "cpu"}


def scenes(seed: int = 0):
    """:func:`neurocine.evaluate.images.scene_arrays_protocol` on the real scenes arrays."""
    from neurocine.evaluate.images import scene_arrays_protocol
    from neurocine.settings import Config

    load = lambda n: np.load(SCENES / f"{n}.npy")  # noqa: E731
    cfg = Config().override({**SCENE_SETTINGS, "training.seed": seed})
    return scene_arrays_protocol(load("Allen_train_output"), load("Allen_train_input") / 255.0,
                                 load("Allen_test_output"), load("Allen_test_input") / 255.0,
                                 load("all_input_scenes_118_961") / 255.0, cfg)


def interval(x, digits: int = 3, signed: bool = False) -> str:
    fmt = f"{'+' if signed else ''}.{digits}f"
    return f"{x.value:{fmt}} [{x.ci95[0]:{fmt}}, {x.ci95[1]:{fmt}}]"


def print_gratings(g: dict) -> None:
    print("\ndrifting gratings, held-out test trials (accuracy [95% CI]); chance 1/classes")
    for label in LABELS:
        r = g[label]
        row = "  ".join(f"{m} {interval(r.score(m), 2)}" for m in ("cebra", "cebra_label_free", "logistic_dff",
                                                                   "knn_dff", "chance"))
        cv = g["cv5_all_trials"][label]
        print(f"  {label:38s} {row}   | 5-fold CV on dF/F: logistic {cv['logistic_cv5']:.3f}, kNN {cv['knn_cv5']:.3f}")
        print("  " + " " * 38 + " paired differences: " + "  ".join(
            f"{k} {interval(d, signed=True)}" for k, d in r.margins.items())
            + f"  ({r.details['n_test_trials']} test trials)")


def print_scenes(s) -> None:
    print("\nnatural scenes, 18 held-out images from 212 cells")
    for m in ("halfunet", "ridge", "mean_image"):
        rank = s.score(m, "median_rank_of_true_image")
        dev = (f"; by deviation from the mean image {interval(s.score(m, 'median_rank_deviation'), 1)}"
               if s.value(m, "median_rank_deviation") is not None else "")
        print(f"  {m:10s} SSIM {interval(s.score(m))}  "
              f"pixel r {s.value(m, 'pixel_r'):.3f}  median rank of the true image among 118: "
              f"{interval(rank, 1)} (chance 59.5){dev}, top-1 {s.value(m, 'top1'):.2f}")
    info = s.details["image_information"]
    print(f"  image information in the 118 mean responses: encoding (10 best cells' CV r from local luminance and "
          f"contrast) {info['encoding_top10_cv_r']:.3f}, images shuffled {info['encoding_top10_cv_r_shuffled'][0]:.3f}"
          f"-{info['encoding_top10_cv_r_shuffled'][1]:.3f} (p {info['encoding_p']:.2f}); RSA with pixel similarity "
          f"r {info['rsa_r']:+.3f} (Mantel p {info['rsa_p']:.2f})")
    print("  identification, 5-fold CV on the 100 training images, median rank of 118 [95% CI]: " + ", ".join(
        f"{k} {v['median_rank']:.1f} [{v['median_rank_ci95'][0]:.1f}, {v['median_rank_ci95'][1]:.1f}]"
        for k, v in s.details["identification_cv_train_images"].items()))
    print("  paired SSIM differences: " + "  ".join(f"{k} {interval(d, signed=True)}" for k, d in s.margins.items()))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=1500)
    ap.add_argument("--out", default="bench/out/real.json")
    ap.add_argument("--part", choices=("all", "gratings", "scenes"), default="all")
    args = ap.parse_args()
    if not SHARED.is_dir():
        print(f"bench_real: skipped: no real recordings at {SHARED} (a clone without ../shared/data)")
        return 0
    warnings.filterwarnings("ignore")
    print(f"real recordings from {SHARED}")
    result = {}
    if args.part in ("all", "gratings"):
        result["gratings"] = gratings(args.steps)
    if args.part in ("all", "scenes"):
        result["natural_scenes"] = scenes()
    if "gratings" in result:
        print_gratings(result["gratings"])
    if "natural_scenes" in result:
        print_scenes(result["natural_scenes"])
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1, default=lambda x: x.to_json() if hasattr(x, "to_json") else float(x)))
    print(f"\nwrote {out}")
    return 0


if __name__ == "__main__":
    with docs_section("bench_real"):
        code = main()
    sys.exit(code)
