"""How well could *any* decoder reconstruct novel frames on the demo (SIMULATED)? A ceiling
from the simulator's ground truth, beside the mean frame (the strongest baseline on novel
frames in ``bench_reconstruction.py``).

The decoders read each neuron's noise-free response to each frame
(:func:`neurocine.io.simulate.frame_response`, from the receptive fields in the
``<session>_truth.npz`` files: no Poisson spiking, no calcium, no gain drift, no noise),
so they are an upper bound on what the recorded dF/F allows. For each of the movie's 6
blocks (as ``novel_frames.folds: 6``), decoders are fitted on the other 750 frames and score
the block's frames at 32x64 (SSIM, pixel r):

* ridge from every neuron of the 4 sessions (linear; alpha by leave-one-out CV);
* kernel ridge (RBF) from every neuron, and from each session alone; gamma and alpha chosen
  on the last 20 % of the training frames, never on the block.

Both are fitted on frames, not samples: one response per frame.

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
GRID = [(g, a) for g in (0.03, 0.1, 0.3, 1.0) for a in (0.01, 0.1, 1.0)]  # gamma x n_features, alpha


def kernel_ridge(train_x, train_y, test_x):
    """RBF kernel ridge on z-scored responses; gamma and alpha picked on the last 20 % of the
    training frames (a contiguous stretch, so the pick also rewards generalising to frames
    not seen)."""
    from sklearn.kernel_ridge import KernelRidge

    from neurocine.decoders.metrics import image_metrics

    mu, sd = train_x.mean(0), train_x.std(0) + 1e-9
    xz, tz = (train_x - mu) / sd, (test_x - mu) / sd
    cut = int(len(xz) * 0.8)
    shape = (-1,) + SIZE

    def score(g, a):
        k = KernelRidge(alpha=a, kernel="rbf", gamma=g / xz.shape[1]).fit(xz[:cut], train_y[:cut])
        return image_metrics(np.clip(k.predict(xz[cut:]), 0, 1).reshape(shape), train_y[cut:].reshape(shape),
                             1.0)["ssim"]

    g, a = max(GRID, key=lambda ga: score(*ga))
    k = KernelRidge(alpha=a, kernel="rbf", gamma=g / xz.shape[1]).fit(xz, train_y)
    return np.clip(k.predict(tz), 0, 1)


def main() -> int:
    from sklearn.linear_model import RidgeCV

    from neurocine.data.templates import load_template
    from neurocine.decoders.metrics import image_metrics
    from neurocine.evaluate.reconstruction import fold_block
    from neurocine.io.simulate import ReceptiveFields, frame_response, simulate_dataset

    data = Path(tempfile.mkdtemp()) / "demo"
    paths = simulate_dataset(data, progress=False, seed=0)
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

        def ssim(pred):
            m = image_metrics(np.asarray(pred).reshape(shape), movie[test], 1.0)
            return m["ssim"], m["pixel_r"]

        mean = ssim(np.broadcast_to(y[train].mean(0), (len(test), y.shape[1])))
        ridge = ssim(np.clip(RidgeCV(alphas=np.logspace(-3, 4, 15)).fit(every[train], y[train]).predict(every[test]),
                             0, 1))
        kernel = ssim(kernel_ridge(every[train], y[train], every[test]))
        alone = np.mean([ssim(kernel_ridge(r[train], y[train], r[test])) for r in responses], axis=0)
        rows.append((mean, ridge, kernel, alone))
        print(f"  block {fold} (frames {lo}-{hi - 1}): mean frame {mean[0]:.3f} | ridge, every neuron {ridge[0]:.3f} | "
              f"kernel ridge, every neuron {kernel[0]:.3f} | kernel ridge, one session (mean) {alone[0]:.3f}")
        sys.stdout.flush()
    r = np.array(rows)  # (folds, method, [ssim, pixel_r])
    names = ("mean frame", "ridge, every neuron", "kernel ridge, every neuron", "kernel ridge, one session")
    print("mean over blocks (SSIM / pixel r):")
    for j, name in enumerate(names):
        print(f"  {name:28s} {r[:, j, 0].mean():.3f} / {r[:, j, 1].mean():+.3f}")
    return 0


if __name__ == "__main__":
    with docs_section("bench_reconstruction_ceiling"):
        code = main()
    sys.exit(code)
