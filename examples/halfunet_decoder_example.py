"""HalfUNet decoder example (the seed points here): reconstruct simulated movie frames
from CEBRA embeddings, beside a ridge baseline. Runs on a CPU in about a minute.

    python examples/halfunet_decoder_example.py [--out example_out]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

import neurocine
from neurocine.decoders import halfunet_decoding, image_metrics, ridge_reconstruction
from neurocine.report.figures import plot_reconstructions


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="example_out")
    args = ap.parse_args()
    t0 = time.perf_counter()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    # 1. two small simulated sessions and their movie (32x64 frames)
    data = Path(tempfile.mkdtemp(prefix="neurocine_example_"))
    neurocine.simulate_dataset(data, sessions=2, neurons=(120, 160), frame_shape=(32, 64), grating_repeats=1,
                               spontaneous_s=5.0, progress=False)
    movie = np.load(data / "natural_movie_one.npy").astype(np.float32) / 255.0  # (900, 32, 64) in [0, 1]
    split = {s: neurocine.load_dataset({"data_dir": str(data)}, s) for s in ("train", "valid", "test")}

    # 2. stimulus-aligned CEBRA embedding of both sessions (output dimension 16)
    model = neurocine.CEBRA(output_dimension=16, batch_size=256, max_iterations=200, device="cpu")
    model.fit(split["train"], valid=split["valid"])

    def movie_samples(name):
        x, y = [], []
        for i, part in enumerate(split[name]):
            frame = part.label("natural_movie_one.frame")
            m = frame >= 0
            x.append(model.transform(part, session_id=i)[m])
            y.append(movie[frame[m]][:, None])  # (n, 1, 32, 64)
        return torch.from_numpy(np.concatenate(x)), torch.from_numpy(np.concatenate(y))

    (x_tr, y_tr), (x_va, y_va), (x_te, y_te) = (movie_samples(s) for s in ("train", "valid", "test"))
    keep = torch.randperm(len(x_tr), generator=torch.Generator().manual_seed(0))[:2000]

    # 3. the seed's API: train on train frames, early-stop on valid, return predictions and
    #    the fitted HalfUNet estimator (neurocine.decoders.HalfUNet: fit / predict / save / load)
    train_loss, valid_loss, _, decoder = halfunet_decoding(
        x_tr[keep], x_va, y_tr[keep], y_va, num_epochs=15, lr=1e-3, batch_size=64, device="cuda",  # falls back to CPU
        output_channels=1, output_shape=(32, 64), loss_fn="mse", return_decoder=True)
    pred = decoder.predict(x_te)
    decoder.save(out / "halfunet.pt")
    ridge = ridge_reconstruction(x_tr, y_tr, x_te)
    for name, imgs in (("HalfUNet", pred), ("ridge", ridge)):
        m = image_metrics(imgs, y_te, data_range=1.0)
        print(f"{name:8s} SSIM {m['ssim']:.3f}  PSNR {m['psnr']:.2f} dB  pixel r {m['pixel_r']:.3f}")
    plot_reconstructions(y_te[:900], {"HalfUNet": pred[:900], "ridge": ridge[:900]}, out / "reconstruction_results.png")
    print(f"train loss {train_loss:.4f}, best valid loss {valid_loss:.4f}; "
          f"figure: {out / 'reconstruction_results.png'}; "
          f"{time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
