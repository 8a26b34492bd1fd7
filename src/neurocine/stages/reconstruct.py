"""Stage ``reconstruct``: HalfUNet from embeddings to movie frames (trained on train-split
movie samples, early-stopped on valid, scored on test) beside ridge regression from the
embeddings and from dF/F. Writes ``halfunet.pt`` (``HalfUNet.load``) and the figure."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from neurocine.stages import Stage, StageContext, register_stage, table
from neurocine.stimuli import LABELS, movie_of


def template_path(cfg, movie: str) -> Path:
    """Where the run's template of ``movie`` is: ``dataset.movie_path`` (natural_movie_one)
    or ``<data_dir>/<movie>.npy``."""
    if movie == "natural_movie_one" and cfg.dataset.movie_path:
        return Path(cfg.dataset.movie_path)
    return Path(cfg.dataset.data_dir) / f"{movie}.npy"


@register_stage
class Reconstruct(Stage):
    name = "reconstruct"
    key = "reconstruction"
    help = "HalfUNet reconstruction of movie frames (stage 3)"
    label = "natural_movie_one.frame"
    figures = (("reconstructions.png", "Test frames: original (top), HalfUNet from embeddings, ridge from embeddings"),)

    def enabled(self, config):
        return config.reconstruction.enabled

    def run(self, ctx: StageContext):
        from neurocine.data import load_template
        from neurocine.decoders import HalfUNet, image_metrics, ridge_reconstruction
        from neurocine.report.figures import plot_reconstructions

        cfg, rc = ctx.config, ctx.config.reconstruction
        shape = tuple(rc.output_shape)
        movie = load_template(template_path(cfg, movie_of(self.label)), shape, LABELS[self.label].n_values)
        emb, splits = ctx.embeddings(), ctx.splits()
        rng = np.random.default_rng(cfg.training.seed)

        def gather(split):
            xs, frames, sess = [], [], []
            for i, p in enumerate(splits[split]):
                if p.session_id not in emb:
                    continue
                frame = p.label(self.label)
                m = frame >= 0
                xs.append(emb[p.session_id][split]["embedding"][m])
                frames.append(frame[m])
                sess.append(np.full(int(m.sum()), i))
            return np.concatenate(xs), np.concatenate(frames), np.concatenate(sess)

        x_tr, f_tr, _ = gather("train")
        x_va, f_va, _ = gather("valid")
        x_te, f_te, s_te = gather("test")
        if rc.max_train_samples and len(x_tr) > rc.max_train_samples:
            keep = np.sort(rng.choice(len(x_tr), rc.max_train_samples, replace=False))
            x_tr_fit, f_tr_fit = x_tr[keep], f_tr[keep]
        else:
            x_tr_fit, f_tr_fit = x_tr, f_tr
        ctx.say(f"reconstruct: HalfUNet on {len(x_tr_fit)} train / {len(x_va)} valid / {len(x_te)} test frames at "
                f"{shape[0]}x{shape[1]}")
        decoder = HalfUNet.from_config(cfg, verbose=ctx.progress)
        decoder.fit(x_tr_fit, movie[f_tr_fit][:, None], x_va, movie[f_va][:, None])
        target = movie[f_te][:, None]
        pred = decoder.predict(x_te)
        ridge_emb = ridge_reconstruction(x_tr, movie[f_tr][:, None], x_te)
        ridge_dff = np.empty_like(ridge_emb)
        for i, p in enumerate(splits["train"]):
            te = splits["test"][i]
            fr_tr, fr_te = p.label(self.label), te.label(self.label)
            m_tr, m_te = fr_tr >= 0, fr_te >= 0
            if not m_te.any():
                continue
            ridge_dff[s_te == i] = ridge_reconstruction(p.neural[m_tr], movie[fr_tr[m_tr]][:, None], te.neural[m_te])
        res = {}
        for name, images in (("halfunet", pred), ("ridge_embedding", ridge_emb), ("ridge_dff", ridge_dff)):
            m = image_metrics(images, target, data_range=1.0)
            res[name] = {k: m[k] for k in ("ssim", "psnr", "pixel_r")}
        res.update({"label": self.label, "n_test_frames": int(len(x_te)), "n_train_frames": int(len(x_tr_fit)),
                    "output_shape": list(shape), "architecture": decoder.architecture,
                    "train_loss": decoder.train_loss_, "best_valid_loss": decoder.best_valid_loss_,
                    "best_epoch": int(decoder.best_epoch_), "loss_fn": rc.loss_fn, "input_noise": rc.input_noise})
        decoder.save(ctx.results.path("halfunet.pt"))
        first = s_te == 0
        sel = np.flatnonzero(first)[np.argsort(f_te[first], kind="stable")] if first.any() else np.arange(len(f_te))
        plot_reconstructions(target[sel], {"HalfUNet": pred[sel], "ridge": ridge_emb[sel]},
                             ctx.results.figure(self.figures[0][0]), n=5,
                             title=f"test repeat, session {splits['test'][0].session_id}")
        return res

    def summary(self, res):
        return (f"SSIM HalfUNet {res['halfunet']['ssim']:.3f}, ridge (embedding) {res['ridge_embedding']['ssim']:.3f}, "
                f"ridge (dF/F) {res['ridge_dff']['ssim']:.3f}")

    def report(self, rec):
        parts = [f"<h2>Frame reconstruction ({rec.get('n_test_frames')} test frames, "
                 f"{'x'.join(map(str, rec.get('output_shape', [])))} px)</h2>"]
        names = {"halfunet": f"HalfUNet ({rec.get('architecture')}) from embedding",
                 "ridge_embedding": "ridge from embedding", "ridge_dff": "ridge from dF/F"}
        rows = [[names[k], rec[k]["ssim"], rec[k]["psnr"], rec[k]["pixel_r"]] for k in names if k in rec]
        parts.append(table(["method", "SSIM", "PSNR (dB)", "pixel r"], rows, "reconstruction", 1))
        return "\n".join(parts)
