"""A new animal into a trained space: new sessions' encoders fitted with everything trained
kept frozen.

A stimulus-aligned model keeps, from its own training data, the mean embedding of every
stimulus state it saw (its *key table*: movie frames, grating conditions and times since
onset, :func:`key_table`). To add sessions (any neuron counts), only their encoders are
trained, with CEBRA's InfoNCE: the reference is a sample of the new session, its positive
the table's embedding of the (jittered) stimulus state the sample was recorded at (nearest
in stimulus time, as in :mod:`neurocine.embed.modes.stimulus_aligned`), the negatives the
other positives of the batch. The trained sessions' encoders, and so the space and every
decoder fitted in it, do not change; early stopping watches the new sessions' own
validation data.

Two ways to build a new session's encoder (``init``):

* ``"encoder"``: a whole new encoder of the model's architecture;
* ``"input_layer"``: a copy of a trained session's encoder with a new first (input) layer,
  only that layer trained: a per-session input layer over a shared trunk, as CEBRA 0.6's
  unified encoder and POYO's unit embeddings adapt.
"""

from __future__ import annotations

import copy
import math
import time

import numpy as np
import torch
from torch import nn

from neurocine.embed.modes.stimulus_aligned import MIN_NEAREST_DISTANCE, alignment_keys, jitter_keys, key_block
from neurocine.embed.models import init_encoder, session_smoothing, with_input
from neurocine.embed.sampling import gather_windows, valid_centers
from neurocine.embed.trainer import contrastive_loss, make_optimizer
from neurocine.errors import ConfigError

INITS = ("encoder", "input_layer")


def key_table(embeddings: list[np.ndarray], keys: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """``(keys (K,) int64 sorted, embedding (K, D) float32 unit rows)``: the mean embedding of
    every stimulus state over the given sessions' samples (cosine space: rows normalised)."""
    k = np.concatenate(keys)
    e = np.concatenate(embeddings).astype(np.float64)
    e /= np.maximum(np.linalg.norm(e, axis=1, keepdims=True), 1e-12)
    keep = k >= 0
    uniq, inverse = np.unique(k[keep], return_inverse=True)
    sums = np.zeros((len(uniq), e.shape[1]))
    np.add.at(sums, inverse, e[keep])
    sums /= np.maximum(np.linalg.norm(sums, axis=1, keepdims=True), 1e-12)
    return uniq.astype(np.int64), sums.astype(np.float32)


class TableSampler:
    """References from a new session (labelled centres) and, as positives, the key table's
    embedding of the nearest stimulus state to each reference's jittered key."""

    def __init__(self, neural: torch.Tensor, keys: np.ndarray, segment: np.ndarray, left: int, right: int,
                 table_keys: torch.Tensor, table_emb: torch.Tensor, jitter: int, generator: torch.Generator):
        ok = valid_centers(segment, left, right) & (keys >= 0)
        self.centers = torch.as_tensor(np.flatnonzero(ok), device=neural.device)
        if len(self.centers) == 0:
            raise ConfigError("adapt: the new session has no labelled window (stimulus samples) to train on")
        self.keys = torch.as_tensor(keys, device=neural.device)
        self.neural, self.left, self.right = neural, left, right
        self.table_keys, self.table_emb = table_keys, table_emb
        self.jitter, self.generator = jitter, generator
        self.max_distance = max(jitter, MIN_NEAREST_DISTANCE)
        known = torch.isin(key_block(self.keys[self.centers]), key_block(table_keys))
        if not bool(known.any()):
            raise ConfigError("adapt: none of the new session's stimulus states (movie frames, trial conditions) is "
                              "among the trained model's; adapt a model trained on the same stimuli")
        self.centers = self.centers[known]

    def sample(self, batch: int):
        """``(windows (b, N, W), positives (b, D))`` for the references that found a state
        in the table (``b <= batch``)."""
        pick = torch.randint(len(self.centers), (batch,), device=self.neural.device, generator=self.generator)
        ref = self.centers[pick]
        key = self.keys[ref]
        if self.jitter > 0:
            key = jitter_keys(key, self.jitter, self.generator)
        n = len(self.table_keys)
        right = torch.searchsorted(self.table_keys, key).clamp(max=n - 1)
        left = (right - 1).clamp(min=0)
        block = key_block(key)

        def usable(i):
            k = self.table_keys[i]
            return (key_block(k) == block) & ((k - key).abs() <= self.max_distance)

        d_l, d_r = (key - self.table_keys[left]).abs(), (self.table_keys[right] - key).abs()
        ok_l, ok_r = usable(left), usable(right)
        pick_left = ok_l & (~ok_r | (d_l <= d_r))
        found = ok_l | ok_r
        nearest = torch.where(pick_left, left, right)[found]
        return gather_windows(self.neural, ref[found], self.left, self.right), self.table_emb[nearest]


def new_encoder(model, num_neurons: int, init: str, template: int = 0, modality: str = "dff") -> nn.Module:
    """An encoder for a new session (see the module docstring's ``init``): ``"encoder"``
    gets the model's input transforms for its own signal (``modality``), ``"input_layer"``
    keeps the template session's."""
    if init == "encoder":
        fresh = init_encoder(model.model_architecture, num_neurons, model.num_hidden_units, model.output_dimension)
        return with_input(fresh, model.input_normalization, session_smoothing(model.input_smoothing, modality))
    if init != "input_layer":
        raise ConfigError(f"adapt: init={init!r}, expected one of {', '.join(INITS)}")
    enc = copy.deepcopy(model.model_.encoders[template])
    inner = enc
    while hasattr(inner, "encoder"):  # behind the input transforms
        inner = inner.encoder
    first = inner.net[0]
    if not isinstance(first, nn.Conv1d):
        raise ConfigError(f"adapt: init='input_layer' needs a convolutional encoder (got {type(first).__name__})")
    for p in inner.parameters():
        p.requires_grad_(False)
    inner.net[0] = nn.Conv1d(num_neurons, first.out_channels, first.kernel_size, first.stride, first.padding,
                             bias=first.bias is not None)
    return enc


def adapt_encoders(model, parts: list, valid_parts: list | None, *, init: str = "encoder", max_iterations: int = 1000,
                   batch_size: int | None = None, learning_rate: float | None = None, validate_every: int = 50,
                   patience: int = 5, seed: int | None = None, progress: bool = False) -> dict:
    """Fit encoders for ``parts`` (new sessions' SplitData, their train samples) against the
    frozen model's key table; returns the encoders and what happened.

    Returns:
        ``{"encoders": [nn.Module], "steps", "best_step", "best_valid_loss", "seconds",
        "history", "valid_history", "stopped_early"}``.
    """
    from tqdm.auto import tqdm  # noqa: PLC0415 - tqdm picks its front end at import

    s = model.settings_
    device = model.device_
    seed = s.seed if seed is None else seed
    batch = int(batch_size or s.batch_size)
    torch.manual_seed(seed)
    table_keys = torch.as_tensor(model.key_table_[0], device=device)
    table_emb = torch.as_tensor(model.key_table_[1], device=device)
    left, right = model.model_.left, model.model_.right

    def samplers(ps, offset):
        out = []
        for i, p in enumerate(ps):
            keys = alignment_keys(p.labels, p.segment, p.sampling_rate)
            gen = torch.Generator(device=device).manual_seed(seed + offset + i)
            out.append(TableSampler(torch.as_tensor(p.neural, dtype=torch.float32, device=device), keys, p.segment,
                                    left, right, table_keys, table_emb, s.stimulus_jitter, gen))
        return out

    train_s = samplers(parts, 0)
    valid_s = samplers(valid_parts, 777) if valid_parts else None
    encoders = nn.ModuleList(new_encoder(model, p.neural.shape[1], init, modality=p.modality)
                             for p in parts).to(device)
    params = [p for p in encoders.parameters() if p.requires_grad]
    optimizer = make_optimizer(params, learning_rate or s.learning_rate, s.weight_decay)
    criterion = model.criterion_

    def loss_of(sampler_list):
        total = 0.0
        for enc, smp in zip(encoders, sampler_list):
            w, pos = smp.sample(batch)
            ref = enc(w)
            total = total + contrastive_loss(criterion, ref, pos, None, 1, negatives="in_batch")[0]
        return total / len(sampler_list)

    best, best_step, best_state, bad, stopped = math.inf, 0, None, 0, False
    history, valid_history = [], []
    t0 = time.perf_counter()
    bar = tqdm(total=max_iterations, desc="adapt", unit="step", disable=not progress, dynamic_ncols=True)
    step = 0
    for step in range(1, max_iterations + 1):
        encoders.train()
        loss = loss_of(train_s)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        history.append({"step": step, "loss": float(loss.detach())})
        bar.update(1)
        if valid_s and (step % validate_every == 0 or step == max_iterations):
            encoders.eval()
            with torch.no_grad():
                for smp in valid_s:
                    smp.generator.manual_seed(seed + 4321)  # the same validation batches each time
                v = float(loss_of(valid_s))
            valid_history.append({"step": step, "valid_loss": v})
            bar.set_postfix(valid=f"{v:.4f}", refresh=False)
            if v < best:
                best, best_step, bad = v, step, 0
                best_state = {k: t.detach().clone() for k, t in encoders.state_dict().items()}
            else:
                bad += 1
                if bad >= patience:
                    stopped = True
                    break
    bar.close()
    if best_state is not None:
        encoders.load_state_dict(best_state)
    for enc in encoders:
        enc.eval()
        for p in enc.parameters():
            p.requires_grad_(False)
    return {"encoders": list(encoders), "steps": step, "best_step": best_step,
            "best_valid_loss": best if math.isfinite(best) else None, "seconds": time.perf_counter() - t0,
            "history": history, "valid_history": valid_history, "stopped_early": stopped, "init": init}


__all__ = ["key_table", "TableSampler", "new_encoder", "adapt_encoders", "INITS"]
