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
   information (an encoding model and RSA, each against shuffled images).

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
from _common import docs_section, gabor_energy

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
        out[label] = decode_label([entry], list(embeddings), 5, spec.n_classes, seed)
        out[label].pop("per_session", None)
    out["cv5_all_trials"] = cv_baselines(z)
    return out


def median_rank_ci(ranks: np.ndarray, seed: int = 0, n_boot: int = 2000) -> list[float]:
    """95 % bootstrap interval of the median rank, resampling the test images."""
    rng = np.random.default_rng(seed)
    boot = np.median(rng.choice(ranks, (n_boot, len(ranks))), axis=1)
    return [float(np.percentile(boot, 2.5)), float(np.percentile(boot, 97.5))]


def image_information(responses: np.ndarray, images: np.ndarray, seed: int = 0, n_perm: int = 200) -> dict:
    """Is there image information to decode? Two checks on the 118 images' mean responses,
    each against the same statistic with the images shuffled (n_perm times):

    * encoding: 5-fold CV correlation, per cell, of ridge from the image's local luminance
      and contrast (6x6 grid of 5x5-pixel patches) to the cell's response; the mean of the
      10 best cells;
    * RSA: correlation between the images' response similarity and their pixel similarity
      (a Mantel test).
    """
    from sklearn.linear_model import RidgeCV
    from sklearn.model_selection import KFold, cross_val_predict

    patches = images.reshape(-1, 31, 31)[:, :30, :30].reshape(-1, 6, 5, 6, 5)
    feats = np.hstack([patches.mean((2, 4)).reshape(len(images), -1), patches.std((2, 4)).reshape(len(images), -1)])
    cv = KFold(5, shuffle=True, random_state=seed)

    def encoding(y):
        pred = cross_val_predict(RidgeCV(alphas=np.logspace(-2, 4, 13)), feats, y, cv=cv)
        r = np.array([np.corrcoef(pred[:, c], y[:, c])[0, 1] for c in range(y.shape[1])])
        return float(np.sort(np.nan_to_num(r, nan=-1.0))[-10:].mean())

    iu = np.triu_indices(len(images), 1)
    z = (responses - responses.mean(0)) / (responses.std(0) + 1e-9)
    resp_sim, pix_sim = np.corrcoef(z)[iu], np.corrcoef(images)

    def rsa(order):
        return float(np.corrcoef(resp_sim, pix_sim[np.ix_(order, order)][iu])[0, 1])

    rng = np.random.default_rng(seed)
    perms = [rng.permutation(len(images)) for _ in range(n_perm)]
    enc, enc_null = encoding(responses), [encoding(responses[q]) for q in perms[:20]]
    rsa_obs, rsa_null = rsa(np.arange(len(images))), [rsa(q) for q in perms]
    return {"encoding_top10_cv_r": enc, "encoding_top10_cv_r_shuffled": [float(np.min(enc_null)),
                                                                          float(np.max(enc_null))],
            "encoding_p": float((1 + np.sum(np.array(enc_null) >= enc)) / (1 + len(enc_null))),
            "rsa_r": rsa_obs, "rsa_p": float((1 + np.sum(np.abs(rsa_null) >= abs(rsa_obs))) / (1 + n_perm))}


def identification_cv(responses: np.ndarray, image_ids: np.ndarray, every: np.ndarray, seed: int = 0) -> dict:
    """Median rank of the true image among all 118, 5-fold CV on the training images only
    (the test images untouched), for several ways to identify: ridge to pixels (ranked by
    deviation from the fold's mean image), ridge to Gabor energy, and an encoding model
    (Kay et al. 2008: ridge from Gabor energy to the responses, the candidate whose
    predicted response correlates best)."""
    from sklearn.linear_model import RidgeCV
    from sklearn.model_selection import KFold

    from neurocine.evaluate.scenes import identification_ranks

    gabor = gabor_energy(every.reshape(-1, 31, 31), (0.1, 0.2, 0.35), (7, 7))  # (n, 588)
    ranks = {"ridge_pixels_deviation": [], "ridge_gabor": [], "encoding_gabor": []}
    for fit, held in KFold(5, shuffle=True, random_state=seed).split(responses):
        mu, sd = responses[fit].mean(0), responses[fit].std(0) + 1e-9
        z_fit, z_held = (responses[fit] - mu) / sd, (responses[held] - mu) / sd
        ids, truth = image_ids[fit], image_ids[held]
        g = (gabor - gabor[ids].mean(0)) / (gabor[ids].std(0) + 1e-9)
        mean_img = every[ids].mean(0)
        alphas = np.logspace(-1, 6, 15)
        # (prediction per held-out trial, one candidate per image): correlation ranks the candidates
        pairs = {"ridge_pixels_deviation": (RidgeCV(alphas=alphas).fit(z_fit, every[ids]).predict(z_held) - mean_img,
                                            every - mean_img),
                 "ridge_gabor": (RidgeCV(alphas=alphas).fit(z_fit, g[ids]).predict(z_held), g),
                 "encoding_gabor": (z_held, RidgeCV(alphas=alphas).fit(g[ids], z_fit).predict(g))}
        for k, (pred, candidates) in pairs.items():
            ranks[k] += identification_ranks(pred, candidates, truth).tolist()
    return {k: {"median_rank": float(np.median(r)), "median_rank_ci95": median_rank_ci(np.array(r), seed)}
            for k, r in ranks.items()}


def scenes(seed: int = 0) -> dict:
    import torch

    from neurocine.decoders import HalfUNet, image_metrics, ridge_reconstruction
    from neurocine.decoders.uncertainty import block_bootstrap
    from neurocine.evaluate.scenes import identification_ranks

    load = lambda n: np.load(SCENES / f"{n}.npy")  # noqa: E731
    x_tr, x_te = load("Allen_train_output"), load("Allen_test_output")
    y_tr, y_te = load("Allen_train_input") / 255.0, load("Allen_test_input") / 255.0
    every = load("all_input_scenes_118_961") / 255.0
    mu, sd = x_tr.mean(0), x_tr.std(0) + 1e-9
    z_tr, z_te = (x_tr - mu) / sd, (x_te - mu) / sd
    img = lambda a: a.reshape(len(a), 1, 31, 31).astype(np.float32)  # noqa: E731
    torch.manual_seed(seed)
    # the HalfUNet's choices are made on a validation cut of the 100 train images
    rng = np.random.default_rng(seed)
    perm = rng.permutation(100)
    fit, val = perm[:85], perm[85:]
    best = None
    for noise in (0.0, 0.5, 1.0):
        est = HalfUNet(output_shape=(31, 31), num_epochs=60, batch_size=16, lr=1e-3, loss_fn="l1_ssim",
                       input_noise=noise, patience=10, device="cpu", seed=seed, target_normalization="pixel")
        est.fit(z_tr[fit], img(y_tr[fit]), z_tr[val], img(y_tr[val]))
        if best is None or est.best_valid_loss_ < best[0]:
            best = (est.best_valid_loss_, noise)
    final = HalfUNet(output_shape=(31, 31), num_epochs=60, batch_size=16, lr=1e-3, loss_fn="l1_ssim",
                     input_noise=best[1], patience=10, device="cpu", seed=seed, target_normalization="pixel")
    final.fit(z_tr[fit], img(y_tr[fit]), z_tr[val], img(y_tr[val]))
    preds = {"halfunet": final.predict(z_te), "ridge": ridge_reconstruction(z_tr, img(y_tr), z_te),
             "mean_image": np.broadcast_to(img(y_tr).mean(0, keepdims=True), img(y_te).shape)}
    out = {"halfunet_input_noise": best[1], "n_train_images": 100, "n_test_images": 18}
    target = img(y_te)
    per = {m: image_metrics(p, target, data_range=1.0)["per_frame"] for m, p in preds.items()}
    boot = {k: block_bootstrap({m: per[m][k] for m in preds}, np.arange(18), seed=seed,
                               pairs=[("halfunet", "mean_image"), ("halfunet", "ridge")] if k == "ssim" else ())
            for k in ("ssim", "pixel_r")}
    true_idx = np.array([int(np.argmin(np.abs(every - y).sum(1))) for y in y_te])
    mean_train = y_tr.mean(0)
    for m, p in preds.items():
        ranks = identification_ranks(p[:, 0], every.reshape(len(every), 31, 31), true_idx)
        out[m] = {"ssim": boot["ssim"][m]["mean"], "ssim_ci95": boot["ssim"][m]["ci95"],
                  "pixel_r": boot["pixel_r"][m]["mean"], "pixel_r_ci95": boot["pixel_r"][m]["ci95"],
                  "median_rank_of_true_image": float(np.median(ranks)), "median_rank_ci95": median_rank_ci(ranks, seed),
                  "top1": float(np.mean(np.array(ranks) == 1)), "top10": float(np.mean(np.array(ranks) <= 10))}
        if m != "mean_image":  # ranked by deviation from the mean training image (the mean image has none)
            dev = identification_ranks((p[:, 0] - mean_train.reshape(31, 31)),
                                       (every - mean_train).reshape(len(every), 31, 31), true_idx)
            out[m].update({"median_rank_deviation": float(np.median(dev)),
                           "median_rank_deviation_ci95": median_rank_ci(dev, seed)})
    order = np.array([int(np.argmin(np.abs(every - y).sum(1))) for y in np.concatenate([y_tr, y_te])])
    out["image_information"] = image_information(np.concatenate([x_tr, x_te]), every[order], seed)
    out["identification_cv_train_images"] = identification_cv(x_tr, order[:len(x_tr)], every, seed)
    out["comparison"] = {k: {x: boot["ssim"][k][x] for x in ("mean", "ci95")}
                         for k in ("halfunet - mean_image", "halfunet - ridge")}
    out["chance_median_rank"] = 59.5
    return out


def print_gratings(g: dict) -> None:
    print("\ndrifting gratings, held-out test trials (accuracy [95% CI]); chance 1/classes")
    for label in LABELS:
        r = g[label]
        row = "  ".join(f"{m} {r[m]['accuracy']:.3f} [{r[m]['accuracy_ci95'][0]:.2f}, {r[m]['accuracy_ci95'][1]:.2f}]"
                        for m in ("cebra", "cebra_label_free", "logistic_dff", "knn_dff", "chance"))
        cv = g["cv5_all_trials"][label]
        print(f"  {label:38s} {row}   | 5-fold CV on dF/F: logistic {cv['logistic_cv5']:.3f}, kNN {cv['knn_cv5']:.3f}")
        print("  " + " " * 38 + " paired differences: " + "  ".join(
            f"{k} {d['mean']:+.3f} [{d['ci95'][0]:+.3f}, {d['ci95'][1]:+.3f}]" for k, d in r["comparison"].items())
            + f"  ({r['n_test_trials']} test trials)")


def print_scenes(s: dict) -> None:
    print("\nnatural scenes, 18 held-out images from 212 cells")
    for m in ("halfunet", "ridge", "mean_image"):
        lo, hi = s[m]["median_rank_ci95"]
        dev = (f"; by deviation from the mean image {s[m]['median_rank_deviation']:.1f} "
               f"[{s[m]['median_rank_deviation_ci95'][0]:.1f}, {s[m]['median_rank_deviation_ci95'][1]:.1f}]"
               if "median_rank_deviation" in s[m] else "")
        print(f"  {m:10s} SSIM {s[m]['ssim']:.3f} [{s[m]['ssim_ci95'][0]:.3f}, {s[m]['ssim_ci95'][1]:.3f}]  "
              f"pixel r {s[m]['pixel_r']:.3f}  median rank of the true image among 118: "
              f"{s[m]['median_rank_of_true_image']:.1f} [{lo:.1f}, {hi:.1f}] (chance 59.5){dev}, "
              f"top-1 {s[m]['top1']:.2f}")
    info = s["image_information"]
    print(f"  image information in the 118 mean responses: encoding (10 best cells' CV r from local luminance and "
          f"contrast) {info['encoding_top10_cv_r']:.3f}, images shuffled {info['encoding_top10_cv_r_shuffled'][0]:.3f}"
          f"-{info['encoding_top10_cv_r_shuffled'][1]:.3f} (p {info['encoding_p']:.2f}); RSA with pixel similarity "
          f"r {info['rsa_r']:+.3f} (Mantel p {info['rsa_p']:.2f})")
    print("  identification, 5-fold CV on the 100 training images, median rank of 118 [95% CI]: " + ", ".join(
        f"{k} {v['median_rank']:.1f} [{v['median_rank_ci95'][0]:.1f}, {v['median_rank_ci95'][1]:.1f}]"
        for k, v in s["identification_cv_train_images"].items()))
    print("  paired SSIM differences: " + "  ".join(
        f"{k} {d['mean']:+.3f} [{d['ci95'][0]:+.3f}, {d['ci95'][1]:+.3f}]" for k, d in s["comparison"].items()))


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
    out.write_text(json.dumps(result, indent=1, default=float))
    print(f"\nwrote {out}")
    return 0


if __name__ == "__main__":
    with docs_section("bench_real"):
        code = main()
    sys.exit(code)
