"""How well could *any* decoder reconstruct novel frames on the demo (SIMULATED)? A ceiling
from the simulator's ground truth, beside the mean frame (the strongest baseline on novel
frames in ``bench_reconstruction.py``) and the same decoder on the recorded dF/F.

For each of the movie's 6 blocks (as ``novel_frames.blocks: 6``), decoders are fitted on the
other 750 frames and score the block's frames at 32x64 (SSIM, pixel r):

* **noise-free**: each neuron's response to each frame
  (:func:`neurocine.io.simulate.frame_response`, from the receptive fields in the
  ``<session>_truth.npz`` files: no Poisson spiking, no calcium, no gain drift, no noise), an
  upper bound on what the recording allows: ridge from every neuron of the 4 sessions
  (linear; alpha by leave-one-out CV), kernel ridge (RBF) from every neuron and from each
  session alone;
* **recorded**: the same kernel ridge per session, fitted on the session's per-frame
  templates (its dF/F windows, as retrieval reads them, averaged over the train repeats) and
  applied to single samples of the test repeat.

Kernel ridge's gamma and alpha are chosen on the last 20 % of the training frames, fitted on
the rest (noise-free: those frames' responses; recorded: the validation repeat's samples of
them), never on the block.

    python bench/bench_reconstruction_ceiling.py
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np

from _common import docs_section

FOLDS = 6
SIZE = (32, 64)
FRAME = "natural_movie_one.frame"
WINDOW = (5, 5)  # the demo encoder's receptive field (offset10-model), as retrieval reads dF/F
GRID = [(g, a) for g in (0.03, 0.1, 0.3, 1.0) for a in (0.01, 0.1, 1.0)]  # gamma x n_features, alpha


def kernel_ridge(fit_x, fit_y, tune_x, tune_y, test_x):
    """RBF kernel ridge on responses z-scored by ``fit_x``, gamma and alpha chosen by the
    SSIM on ``(tune_x, tune_y)`` of a fit on ``(fit_x, fit_y)``. Returns ``(x, y) -> test
    predictions (len(test_x), H * W) in [0, 1]``: the chosen model refitted on ``(x, y)``
    (the caller passes every training frame)."""
    from sklearn.kernel_ridge import KernelRidge

    from neurocine.decoders.metrics import image_metrics

    mu, sd = fit_x.mean(0), fit_x.std(0) + 1e-9
    shape = (-1,) + SIZE

    def model(g, a, x, y):
        return KernelRidge(alpha=a, kernel="rbf", gamma=g / x.shape[1]).fit((x - mu) / sd, y)

    def score(g, a):
        pred = model(g, a, fit_x, fit_y).predict((tune_x - mu) / sd)
        return image_metrics(np.clip(pred, 0, 1).reshape(shape), tune_y.reshape(shape), 1.0)["ssim"]

    return lambda x_all, y_all: np.clip(model(*max(GRID, key=lambda ga: score(*ga)), x_all, y_all)
                                        .predict((test_x - mu) / sd), 0, 1)


def main() -> int:
    from sklearn.linear_model import RidgeCV

    import neurocine
    from neurocine.data import normalized_splits
    from neurocine.data.templates import load_template
    from neurocine.decoders.frame_id import window_features
    from neurocine.decoders.metrics import image_metrics
    from neurocine.evaluate.reconstruction import fold_block
    from neurocine.io.simulate import ReceptiveFields, frame_response, simulate_dataset

    data = Path(tempfile.mkdtemp()) / "demo"
    paths = simulate_dataset(data, progress=False, seed=0)
    sessions = neurocine.load_sessions(data)
    recorded = []  # per session and split: (frames shown (T,), dF/F windows (T, N * WINDOW))
    for sp in ("train", "valid", "test"):
        for i, p in enumerate(normalized_splits(sessions, sp)):
            f = p.label(FRAME)
            r = np.flatnonzero(f >= 0)
            if sp == "train":
                recorded.append({})
            recorded[i][sp] = (f[r], window_features(p.neural, p.segment, *WINDOW)[r])
    movie_full = np.load(data / "natural_movie_one.npy").astype(np.float32) / 255.0
    movie = load_template(data / "natural_movie_one.npy", SIZE)  # the targets the decoders are scored on
    responses = []
    for path in paths:
        truth = np.load(path.with_name(f"{path.stem}_truth.npz"))
        rf = ReceptiveFields(**{k[3:]: truth[k] for k in truth.files if k.startswith("rf_")})
        responses.append(frame_response(rf, movie_full))
    every = np.hstack(responses)
    K = len(movie)
    y = movie.reshape(K, -1).astype(np.float64)
    shape = (-1,) + SIZE
    print(f"demo (SIMULATED, seed 0): {len(paths)} sessions, {every.shape[1]} neurons "
          f"({int((every.std(0) > 0).sum())} responsive), noise-free responses; {FOLDS} blocks of novel frames at "
          f"{SIZE[0]}x{SIZE[1]}")
    rows = []
    for fold in range(FOLDS):
        lo, hi = fold_block(fold, FOLDS, K)
        test = np.arange(lo, hi)
        train = np.setdiff1d(np.arange(K), test)

        fit, tune = train[: int(len(train) * 0.8)], train[int(len(train) * 0.8):]

        def score(pred, frames=test):
            m = image_metrics(np.asarray(pred).reshape(shape), movie[frames], 1.0)
            return m["ssim"], m["pixel_r"]

        def noise_free(x):
            return score(kernel_ridge(x[fit], y[fit], x[tune], y[tune], x[test])(x[train], y[train]))

        def from_recording(rec):
            """One session's kernel ridge: templates of the training frames, single test samples."""
            f_tr, w_tr = rec["train"]
            templates = np.stack([w_tr[f_tr == k].mean(0) for k in train])
            f_va, w_va = rec["valid"]
            f_te, w_te = rec["test"]
            q_va, q_te = np.isin(f_va, tune), (f_te >= lo) & (f_te < hi)
            n_fit = len(fit)
            predict = kernel_ridge(templates[:n_fit], y[fit], w_va[q_va], y[f_va[q_va]], w_te[q_te])
            mean = score(np.broadcast_to(y[train].mean(0), (int(q_te.sum()), y.shape[1])), f_te[q_te])
            return score(predict(templates, y[train]), f_te[q_te]), mean

        mean = score(np.broadcast_to(y[train].mean(0), (len(test), y.shape[1])))
        ridge = score(np.clip(RidgeCV(alphas=np.logspace(-3, 4, 15)).fit(every[train], y[train])
                              .predict(every[test]), 0, 1))
        kernel = noise_free(every)
        alone = np.mean([noise_free(r) for r in responses], axis=0)
        rec = [from_recording(r) for r in recorded]
        rec_kernel, rec_mean = np.mean([k for k, _ in rec], axis=0), np.mean([m for _, m in rec], axis=0)
        rows.append((mean, ridge, kernel, alone, rec_kernel, rec_mean))
        print(f"  block {fold} (frames {lo}-{hi - 1}): noise-free: mean frame {mean[0]:.3f}, ridge every neuron "
              f"{ridge[0]:.3f}, kernel ridge every neuron {kernel[0]:.3f}, one session {alone[0]:.3f} | recorded "
              f"dF/F, one session: kernel ridge {rec_kernel[0]:.3f}, mean frame {rec_mean[0]:.3f}")
        sys.stdout.flush()
    r = np.array(rows)  # (folds, method, [ssim, pixel_r])
    names = ("mean frame", "noise-free, ridge, every neuron", "noise-free, kernel ridge, every neuron",
             "noise-free, kernel ridge, one session", "recorded dF/F, kernel ridge, one session",
             "recorded dF/F, mean frame (same samples)")
    print("mean over blocks (SSIM / pixel r):")
    for j, name in enumerate(names):
        print(f"  {name:42s} {r[:, j, 0].mean():.3f} / {r[:, j, 1].mean():+.3f}")
    return 0


if __name__ == "__main__":
    with docs_section("bench_reconstruction_ceiling"):
        code = main()
    sys.exit(code)
