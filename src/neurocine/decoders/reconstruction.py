"""Reconstructing images from embeddings: the :class:`HalfUNet` estimator and the original design's
``halfunet_decoding`` function over it.

``HalfUNet`` is an sklearn-style estimator like ``neurocine.CEBRA``: its parameters,
defaults and help come from the ``reconstruction`` section of the settings table
(:mod:`neurocine.settings`); ``fit`` / ``predict`` / ``save`` / ``load``; fitted state in
attributes ending with ``_`` (target normalisation, best epoch, loss history).

Example:
    >>> import torch
    >>> z = torch.randn(64, 8)
    >>> imgs = torch.sigmoid(z[:, :1, None, None] * torch.ones(1, 1, 16, 32))
    >>> tl, vl, pred = halfunet_decoding(z[:48], z[48:], imgs[:48], imgs[48:], num_epochs=2,
    ...                                  device="cpu", output_shape=(16, 32), progress=False)
    >>> tuple(pred.shape)
    (16, 1, 16, 32)
"""

from __future__ import annotations

import contextlib
import math
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.exceptions import NotFittedError

from neurocine.decoders.halfunet import HalfUNetDecoder
from neurocine.decoders.ssim import ssim
from neurocine.embed.models import resolve_device
from neurocine.tblog import open_writer
from neurocine.torchio import load_saved, load_state, save_atomic
from neurocine.settings import (Config, estimator_doc, estimator_params, make_estimator_init,
                                validate_estimator_params)

LOSSES = ("mse", "l1", "bce", "l1_ssim", "l1_ssim_edges")
SSIM_WEIGHT = 0.84  # l1_ssim = 0.84 (1 - SSIM) + 0.16 L1, the mix of Zhao et al. 2017 (IEEE TCI)
#: l1_ssim_edges = l1_ssim + EDGE_WEIGHT |Sobel(pred) - Sobel(target)| + CONTRAST_WEIGHT |sd(pred) - sd(target)|
#: (both in units of the data range): terms that a prediction collapsed to the mean frame pays for.
EDGE_WEIGHT, CONTRAST_WEIGHT = 0.5, 0.5
_SOBEL = torch.tensor([[[1.0, 0.0, -1.0], [2.0, 0.0, -2.0], [1.0, 0.0, -1.0]]]) / 4


def sobel_edges(images: torch.Tensor) -> torch.Tensor:
    """``(B, 2C, H - 2, W - 2)``: horizontal and vertical Sobel gradients of ``(B, C, H, W)``
    images (fixed filters, no padding)."""
    c = images.shape[1]
    kernel = torch.cat([_SOBEL, _SOBEL.transpose(1, 2)]).to(images)[:, None].repeat(c, 1, 1, 1)
    return F.conv2d(images, kernel, groups=c)


def edge_contrast_loss(pred: torch.Tensor, target: torch.Tensor, data_range: float) -> torch.Tensor:
    """``EDGE_WEIGHT`` L1 between the images' Sobel gradients plus ``CONTRAST_WEIGHT`` L1
    between their per-image standard deviations, in units of ``data_range``: a prediction
    with the target's edges and contrast pays nothing, the mean frame pays for both.

    Example:
        >>> t = torch.rand(2, 1, 8, 8)
        >>> float(edge_contrast_loss(t, t, 1.0))
        0.0
        >>> bool(edge_contrast_loss(t.mean(0, keepdim=True).expand_as(t), t, 1.0) > 0)
        True
    """
    edges = F.l1_loss(sobel_edges(pred), sobel_edges(target)) / data_range
    contrast = (pred.flatten(1).std(1) - target.flatten(1).std(1)).abs().mean() / data_range
    return EDGE_WEIGHT * edges + CONTRAST_WEIGHT * contrast


FORMAT = "neurocine-halfunet-1"
RUNTIME = {"verbose": False, "log_dir": None}
RUNTIME_HELP = {"verbose": "show a progress bar.",
                "log_dir": "folder for TensorBoard event files (train and valid loss per epoch)."}


def _to_tensor(x, name: str) -> torch.Tensor:
    if isinstance(x, torch.Tensor):
        return x.detach().float().cpu()
    try:
        return torch.as_tensor(np.asarray(x, dtype=np.float32), dtype=torch.float32)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name}: expected a torch tensor or numpy array, got {type(x).__name__}") from exc


def _embeddings(x, name: str) -> torch.Tensor:
    """``(N, D)`` float32 embeddings, checked as scikit-learn checks inputs."""
    from sklearn.utils.validation import check_array

    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    try:
        arr = check_array(x, dtype=np.float32, input_name=name, allow_nd=True)
    except ValueError as exc:
        if "NaN" in str(exc) or "infinity" in str(exc):
            raise ValueError(f"{name} contains NaN/inf values") from None
        raise
    if arr.ndim != 2:
        raise ValueError(f"{name} must be (N, D), got shape {arr.shape}")
    return torch.from_numpy(arr if arr.flags.writeable else arr.copy())


def _images(y, name: str, output_shape) -> torch.Tensor:
    """Targets as ``(N, C, H, W)``: from ``(N, C, H, W)``, ``(N, H, W)``, or scalars
    ``(N,)`` (1x1 images, for ``output_shape`` (1, 1))."""
    y = _to_tensor(y, name)
    if y.ndim == 2 and y.shape[1] == 1 and tuple(output_shape) == (1, 1):
        import warnings

        from sklearn.exceptions import DataConversionWarning

        warnings.warn("A column-vector y was passed when a 1d array was expected; its values are taken as 1x1 "
                      "images", DataConversionWarning, stacklevel=3)
        y = y[:, 0]
    if y.ndim == 1:
        y = y.reshape(len(y), 1, 1, 1)
    elif y.ndim == 3:
        y = y[:, None]
    if y.ndim != 4:
        raise ValueError(f"{name} must be (N, C, H, W) or (N, H, W), got shape {tuple(y.shape)}")
    if tuple(y.shape[2:]) != tuple(output_shape):
        raise ValueError(f"{name} frames are {y.shape[2]}x{y.shape[3]} but output_shape={tuple(output_shape)}; "
                         "resize the targets or set output_shape to match")
    if not torch.isfinite(y).all():
        raise ValueError(f"{name} contains NaN/inf values")
    return y


class HalfUNet(RegressorMixin, BaseEstimator):
    __doc__ = ("HalfUNet decoder from embeddings ``(N, D)`` to images ``(N, C, H, W)`` (or ``(N, H, W)``), "
               "trained with AdamW and a cosine schedule, early-stopped on validation data.\n\n"
               + estimator_doc("halfunet", RUNTIME_HELP)
               + "\n\nFitted attributes: ``decoder_`` (the :class:`HalfUNetDecoder`), ``target_mean_``, "
                 "``target_std_`` (the standardisation of the targets), ``data_range_``, ``best_epoch_``, "
                 "``train_loss_``, ``best_valid_loss_``, ``history_``, ``n_features_in_``, ``output_channels_``.")
    __init__ = make_estimator_init("halfunet", RUNTIME, "HalfUNet")

    @classmethod
    def from_config(cls, cfg: Config, **runtime) -> "HalfUNet":
        """The decoder ``cfg`` describes (section ``reconstruction``, plus ``model.device``
        and ``training.seed``)."""
        return cls(**estimator_params("halfunet", cfg), **runtime)

    # ----------------------------------------------------------------- internals
    def _autocast(self, dev):
        if self.mixed_precision and dev.type == "cuda":
            return torch.autocast("cuda", dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def _loss(self, out: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Loss of raw decoder output against targets in their own units."""
        if self.loss_fn == "bce":
            return F.binary_cross_entropy_with_logits(out.float(), target)
        z = (target - self.target_mean_) / self.target_std_
        if self.loss_fn == "mse":
            return F.mse_loss(out.float(), z)
        l1 = F.l1_loss(out.float(), z)
        if self.loss_fn == "l1":
            return l1
        image = out.float() * self.target_std_ + self.target_mean_
        structural = 1 - ssim(image, target, self.data_range_).mean()
        loss = SSIM_WEIGHT * structural + (1 - SSIM_WEIGHT) * l1
        if self.loss_fn == "l1_ssim_edges":
            loss = loss + edge_contrast_loss(image, target, self.data_range_)
        return loss

    def _to_units(self, loss_value: float) -> float:
        """A loss in the units of the targets (mse: squared units; l1: units)."""
        if self.loss_fn == "mse":
            return loss_value * self.target_std_ ** 2
        if self.loss_fn == "l1":
            return loss_value * self.target_std_
        return loss_value

    def _raw(self, x: torch.Tensor, batch_size: int | None = None) -> torch.Tensor:
        dev = next(self.decoder_.parameters()).device
        bs = batch_size or max(self.batch_size, 64)
        self.decoder_.eval()
        outs = []
        with torch.no_grad(), self._autocast(dev):
            for i in range(0, len(x), bs):
                outs.append(self.decoder_(x[i:i + bs].to(dev)).float().cpu())
        return torch.cat(outs)

    def _from_raw(self, out: torch.Tensor) -> torch.Tensor:
        mean = self.target_mean_.cpu() if isinstance(self.target_mean_, torch.Tensor) else self.target_mean_
        return torch.sigmoid(out) if self.loss_fn == "bce" else out * self.target_std_ + mean

    # ----------------------------------------------------------------------- API
    def fit(self, X, y, X_valid=None, y_valid=None) -> "HalfUNet":
        """Train on embeddings ``X (N, D)`` and images ``y``; with ``X_valid``/``y_valid``
        the weights of the best validation epoch are kept and training stops after
        ``patience`` epochs without improvement.

        Returns:
            self.
        """
        from tqdm.auto import tqdm

        validate_estimator_params("halfunet", {n: getattr(self, n) for n in self._get_param_names()})
        if y is None:
            raise ValueError("HalfUNet requires y to be passed, but the target y is None")
        shape = tuple(int(v) for v in self.output_shape)
        if self.loss_fn in ("l1_ssim", "l1_ssim_edges") and min(shape) < 3:
            raise ValueError(f"loss_fn={self.loss_fn!r} needs images of at least 3x3 pixels (SSIM), got "
                             f"output_shape={shape}")
        x_tr, y_tr = _embeddings(X, "X"), _images(y, "y", shape)
        if len(x_tr) != len(y_tr):
            raise ValueError(f"X has {len(x_tr)} samples but y {len(y_tr)}")
        has_valid = X_valid is not None
        if has_valid:
            x_va, y_va = _embeddings(X_valid, "X_valid"), _images(y_valid, "y_valid", shape)
            if x_va.shape[1] != x_tr.shape[1]:
                raise ValueError(f"X has dimension {x_tr.shape[1]} but X_valid {x_va.shape[1]}")
            if len(x_va) != len(y_va):
                raise ValueError(f"X_valid has {len(x_va)} samples but y_valid {len(y_va)}")
            if y_va.shape[1] != y_tr.shape[1]:
                raise ValueError(f"y has {y_tr.shape[1]} channels but y_valid {y_va.shape[1]}")
        outside = lambda y: bool(y.min() < 0 or y.max() > 1)  # noqa: E731
        if self.loss_fn == "bce" and (outside(y_tr) or (has_valid and outside(y_va))):
            raise ValueError("loss_fn='bce' needs targets in [0, 1]; scale them (e.g. uint8 / 255) or use 'mse'")

        dev = resolve_device(self.device)
        torch.manual_seed(self.seed)
        self.n_features_in_ = int(x_tr.shape[1])
        self.output_channels_ = int(y_tr.shape[1])
        self.scalar_targets_ = tuple(shape) == (1, 1) and np.ndim(np.asarray(y)) <= 2
        self.decoder_ = HalfUNetDecoder(self.n_features_in_, self.output_channels_, shape, self.latent_dim,
                                        gradient_checkpointing=self.gradient_checkpointing).to(dev)
        if self.loss_fn == "bce":
            self.target_mean_, self.target_std_ = 0.0, 1.0
        elif self.target_normalization == "pixel":  # the mean training frame; one scale
            self.target_mean_ = y_tr.mean(0).to(dev)
            self.target_std_ = float((y_tr - y_tr.mean(0)).std().clamp(min=1e-8))
        else:
            self.target_mean_, self.target_std_ = float(y_tr.mean()), float(y_tr.std().clamp(min=1e-8))
        self.data_range_ = float(y_tr.max() - y_tr.min()) or 1.0

        steps_per_epoch = math.ceil(len(x_tr) / self.batch_size)
        optimizer = torch.optim.AdamW(self.decoder_.parameters(), lr=self.lr, weight_decay=self.weight_decay)
        scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(
            optimizer, T_max=max(1, self.num_epochs * steps_per_epoch))
        g = torch.Generator().manual_seed(self.seed)
        noise_std = float(self.input_noise) * float(x_tr.std())
        best = (math.inf, None, None)
        bad = 0
        self.history_ = []
        train_loss = math.nan
        writer = open_writer(self.log_dir)
        bar = tqdm(range(self.num_epochs), desc="halfunet", unit="epoch", disable=not self.verbose, mininterval=1.0)
        for epoch in bar:
            self.decoder_.train()
            perm = torch.randperm(len(x_tr), generator=g)
            total = 0.0
            for i in range(steps_per_epoch):
                idx = perm[i * self.batch_size:(i + 1) * self.batch_size]
                xb, yb = x_tr[idx].to(dev), y_tr[idx].to(dev)
                if noise_std > 0:
                    xb = xb + noise_std * torch.randn(xb.shape, generator=g).to(dev)
                with self._autocast(dev):
                    loss = self._loss(self.decoder_(xb), yb)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                scheduler.step()
                total += float(loss.detach()) * len(idx)
            train_loss = self._to_units(total / len(x_tr))
            entry = {"epoch": epoch, "train_loss": train_loss}
            if has_valid:
                valid_loss = self._to_units(float(self._loss(self._raw(x_va), y_va)))
                entry["valid_loss"] = valid_loss
                if valid_loss < best[0]:
                    best = (valid_loss, {k: v.detach().clone() for k, v in self.decoder_.state_dict().items()}, epoch)
                    bad = 0
                else:
                    bad += 1
                bar.set_postfix(train=f"{train_loss:.4g}", valid=f"{valid_loss:.4g}", refresh=False)
            self.history_.append(entry)
            if writer is not None:
                for k, v in entry.items():
                    if k != "epoch":
                        writer.scalar(k.replace("_", "/", 1), v, epoch)
            if has_valid and self.patience is not None and bad >= self.patience:
                break
        bar.close()
        if writer is not None:
            writer.close()
        if has_valid:
            self.decoder_.load_state_dict(best[1])
            self.best_epoch_, self.best_valid_loss_ = best[2], best[0]
        else:
            self.best_epoch_, self.best_valid_loss_ = len(self.history_) - 1, math.nan
        self.train_loss_ = train_loss
        self.decoder_.eval()
        return self

    def predict(self, X, batch_size: int = 256) -> np.ndarray:
        """Images ``(N, C, H, W) float32`` in the targets' units (``(N,)`` when fitted on
        scalars)."""
        if not hasattr(self, "decoder_"):
            raise NotFittedError("HalfUNet is not fitted yet; call fit() or HalfUNet.load()")
        x = _embeddings(X, "X")
        if x.shape[1] != self.n_features_in_:
            raise ValueError(f"X has {x.shape[1]} features, but HalfUNet is expecting {self.n_features_in_} "
                             "features as input")
        out = self._from_raw(self._raw(x, batch_size)).numpy()
        return out.reshape(len(out)) if getattr(self, "scalar_targets_", False) else out

    @property
    def architecture(self) -> str:
        """``UNetDecoderOnly`` or ``ComplexLargeUNetDecoderOnly`` (by ``latent_dim``)."""
        return self.decoder_.architecture

    def save(self, path: str | Path) -> Path:
        """Write the fitted decoder (weights, parameters, fitted attributes) to one file."""
        if not hasattr(self, "decoder_"):
            raise NotFittedError("save: the HalfUNet is not fitted")
        fitted = {k: (v.cpu() if isinstance(v, torch.Tensor) else v) for k, v in vars(self).items()
                  if k.endswith("_") and k != "decoder_"}
        return save_atomic({"format": FORMAT, "params": self.get_params(), "fitted": fitted,
                            "state_dict": {k: v.detach().cpu() for k, v in self.decoder_.state_dict().items()}}, path)

    @classmethod
    def load(cls, path: str | Path, device: str = "cpu") -> "HalfUNet":
        """Load a decoder written by :meth:`save` (on ``device``; CUDA files load on CPU)."""
        from neurocine.embed.models import resolve_device
        blob = load_saved(path, FORMAT, "decoder", "HalfUNet")
        known = set(cls._get_param_names())
        est = cls(**{k: v for k, v in blob["params"].items() if k in known})
        for k, v in blob["fitted"].items():
            setattr(est, k, v)
        est.decoder_ = HalfUNetDecoder(est.n_features_in_, est.output_channels_, tuple(est.output_shape),
                                       est.latent_dim)
        load_state(est.decoder_, blob.get("state_dict"), path, "decoder")
        est.decoder_.to(resolve_device(device)).eval()
        return est


# ------------------------------------------------------------------ the original design's API
def _select_run(x, n_run, name: str):
    """The original design's multi-session dict input ``{key: [run tensors]}``: take run ``n_run`` of
    every key and concatenate the keys (in sorted order)."""
    if not isinstance(x, dict):
        return x
    if n_run is None:
        raise ValueError(f"{name} is a dict of runs per session; pass n_run to choose the run")
    parts = []
    for key in sorted(x):
        runs = x[key]
        if not isinstance(runs, (list, tuple)) or not (-len(runs) <= n_run < len(runs)):
            raise ValueError(f"{name}[{key!r}] has {len(runs) if isinstance(runs, (list, tuple)) else 'no'} runs; "
                             f"n_run={n_run} is out of range")
        parts.append(_to_tensor(runs[n_run], f"{name}[{key!r}][{n_run}]"))
    return torch.cat(parts)


def _check_channels(y, output_channels: int, name: str) -> None:
    shape = tuple(np.shape(y))
    channels = 1 if len(shape) == 3 else shape[1] if len(shape) == 4 else None
    if len(shape) == 3 and output_channels != 1:
        raise ValueError(f"Expected output with {output_channels} channels, but got shape (batch, H, W) "
                         f"for {name} {shape}")
    if channels is not None and channels != output_channels:
        raise ValueError(f"Expected output with {output_channels} channels, but {name} has {channels} "
                         f"(shape {shape})")


def halfunet_decoding(embedding_train, embedding_valid, label_train, label_valid, num_epochs: int = 100,
                      lr: float = 0.001, batch_size: int = 32, device: str = "cuda", output_channels: int = 1,
                      output_shape=(128, 256), latent_dim: int | None = None, n_run: int | None = None,
                      loss_fn: str = "mse", *, patience: int | None = 10, seed: int = 0, weight_decay: float = 1e-4,
                      gradient_checkpointing: bool = False, mixed_precision: bool = True, progress: bool = True,
                      return_decoder: bool = False, input_noise: float = 0.0):
    """The original design's function: train a :class:`HalfUNet` from embeddings to images, with the
    original design's defaults (``mse``, 100 epochs, batch 32, 128x256, no input noise).

    Args:
        embedding_train, embedding_valid: ``(N, D)`` tensors/arrays, or the original design's dict
            ``{session: [run tensors]}`` (with ``n_run``).
        label_train, label_valid: Target images ``(N, C, H, W)`` or ``(N, H, W)`` (or dicts).
        num_epochs: See :class:`HalfUNet`, as ``lr``, ``batch_size``, ``device``
            (``'cuda'`` falls back to the CPU with a warning), ``output_shape``,
            ``latent_dim``, ``loss_fn``, ``patience``, ``seed``, ``weight_decay``,
            ``gradient_checkpointing``, ``mixed_precision`` and ``input_noise``.
        output_channels: Channels C the targets must have.
        n_run: Which run of dict inputs.
        progress: tqdm bar.
        return_decoder: Also return the fitted :class:`HalfUNet` estimator.

    Returns:
        ``(train_loss, valid_loss, predictions)``: the last epoch's train loss, the best
        validation loss (both in the units of the targets) and the validation predictions
        at the best epoch, a CPU tensor ``(N_valid, C, H, W)``; with ``return_decoder``,
        the fitted estimator as a fourth element.
    """
    if loss_fn not in LOSSES:
        raise ValueError(f"unknown loss_fn {loss_fn!r}; choose one of {', '.join(LOSSES)}")
    x_tr = _select_run(embedding_train, n_run, "embedding_train")
    x_va = _select_run(embedding_valid, n_run, "embedding_valid")
    y_tr = _select_run(label_train, n_run, "label_train")
    y_va = _select_run(label_valid, n_run, "label_valid")
    x_tr, x_va = _embeddings(x_tr, "embedding_train"), _embeddings(x_va, "embedding_valid")
    if x_tr.shape[1] != x_va.shape[1]:
        raise ValueError(f"embedding_train has dimension {x_tr.shape[1]} but embedding_valid {x_va.shape[1]}")
    if len(x_tr) != len(y_tr):
        raise ValueError(f"embedding_train has {len(x_tr)} samples but label_train {len(y_tr)}")
    if len(x_va) != len(y_va):
        raise ValueError(f"embedding_valid has {len(x_va)} samples but label_valid {len(y_va)}")
    _check_channels(y_tr, output_channels, "label_train")
    _check_channels(y_va, output_channels, "label_valid")
    y_tr = _images(y_tr, "label_train", output_shape)
    y_va = _images(y_va, "label_valid", output_shape)
    est = HalfUNet(num_epochs=num_epochs, lr=lr, batch_size=batch_size, device=device, output_shape=list(output_shape),
                   latent_dim=latent_dim, loss_fn=loss_fn, patience=patience, seed=seed, weight_decay=weight_decay,
                   gradient_checkpointing=gradient_checkpointing, mixed_precision=mixed_precision,
                   input_noise=input_noise, verbose=progress)
    est.fit(x_tr, y_tr, x_va, y_va)
    predictions = torch.from_numpy(est.predict(x_va))
    result = (est.train_loss_, est.best_valid_loss_, predictions)
    return result + (est,) if return_decoder else result


__all__ = ["HalfUNet", "halfunet_decoding", "LOSSES"]
