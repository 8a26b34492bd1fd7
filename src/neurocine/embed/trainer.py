"""The training loop: device-side sampling, validation InfoNCE, early stopping, atomic
checkpoints and exact resume.

No global state: the device, the seed and (for a later torch.distributed run) the rank
are passed in; only ``rank == 0`` writes checkpoints.
"""

from __future__ import annotations

import contextlib
import copy
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch

from neurocine.atomic import atomic_path
from neurocine.embed.models import MultiSessionEncoder
from neurocine.embed.sampling import Batch, ContrastiveSampler, SessionTensors, gather_windows


@dataclass
class TrainSettings:
    """Loop settings (steps count optimizer updates)."""

    max_steps: int = 5000
    batch_size: int = 512
    learning_rate: float = 3e-4
    validate_every: int = 100
    valid_batches: int = 4
    patience: int | None = 10
    min_delta: float = 0.0
    checkpoint_every: int = 500
    checkpoint_path: str | None = None
    resume: bool = False
    mixed_precision: bool = True
    compile: bool = False
    seed: int = 0
    progress: bool = True
    rank: int = 0


@dataclass
class TrainState:
    """What the loop returns and checkpoints."""

    step: int = 0
    history: list = field(default_factory=list)   # {"step", "loss", "align", "uniform", "seconds"}
    valid_history: list = field(default_factory=list)  # {"step", "valid_loss"}
    best_valid: float = math.inf
    best_step: int = 0
    bad_validations: int = 0
    stopped_early: bool = False
    seconds: float = 0.0


def embed_batch(model: MultiSessionEncoder, sessions: list[SessionTensors], batch: Batch,
                encoders=None) -> tuple[torch.Tensor, ...]:
    """Encode ref, pos, neg of ``batch``; returns three ``(S * B, D)`` tensors.

    ``encoders`` (optional) are callables used instead of ``model.encoders`` (e.g. the
    ``torch.compile`` d versions of the same modules)."""
    encoders = encoders if encoders is not None else model.encoders
    n = batch.ref.numel()
    sess = torch.cat([batch.ref_session, batch.pos_session, batch.ref_session])
    idx = torch.cat([batch.ref, batch.pos, batch.neg])
    if len(model) == 1:
        out = encoders[0](gather_windows(sessions[0].neural, idx, model.left, model.right))
    else:
        out = None
        for j in range(len(model)):
            m = (sess == j).nonzero().squeeze(1)
            if m.numel() == 0:
                continue
            emb = encoders[j](gather_windows(sessions[j].neural, idx[m], model.left, model.right))
            if out is None:
                out = emb.new_zeros((3 * n, emb.shape[1]))
            out = out.index_copy(0, m, emb)
    return out[:n], out[n:2 * n], out[2 * n:]


def contrastive_loss(criterion, ref, pos, neg, num_sessions: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Mean over reference sessions of CEBRA's InfoNCE (negatives from the own session)."""
    if num_sessions == 1:
        return criterion(ref.float(), pos.float(), neg.float())
    losses = [criterion(r.float(), p.float(), q.float())
              for r, p, q in zip(ref.chunk(num_sessions), pos.chunk(num_sessions), neg.chunk(num_sessions))]
    return tuple(torch.stack(x).mean() for x in zip(*losses))


def _autocast(device: torch.device, enabled: bool):
    if enabled and device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def save_atomic(obj, path: str | Path) -> Path:
    """``torch.save`` to a temporary file beside ``path``, then rename into place."""
    with atomic_path(path) as tmp:
        torch.save(obj, tmp)
    return Path(path)


def load_checkpoint(path: str | Path) -> dict:
    """Load a checkpoint onto the CPU (a CUDA-written file loads on a CPU-only machine)."""
    return torch.load(path, map_location="cpu", weights_only=False)


def train_contrastive(model: MultiSessionEncoder, criterion: torch.nn.Module, train_sessions: list[SessionTensors],
                      samplers: list[ContrastiveSampler], settings: TrainSettings,
                      valid_sessions: list[SessionTensors] | None = None,
                      valid_samplers: list[ContrastiveSampler] | None = None,
                      device: torch.device | str = "cpu", on_step=None) -> TrainState:
    """Train ``model`` in place; return the :class:`TrainState` (best weights restored).

    Args:
        model: Encoders, already on ``device``.
        criterion: CEBRA InfoNCE module (may hold a learnable temperature).
        train_sessions: Per-session tensors the samplers index into.
        samplers: One or more samplers; their losses are summed (hybrid = time + label).
        settings: Loop settings.
        valid_sessions, valid_samplers: Validation data; enables early stopping.
        device: Where the model and tensors live.
        on_step: Optional callback ``(state) -> None`` after each step.
    """
    from tqdm.auto import tqdm

    device = torch.device(device)
    params = list(model.parameters()) + list(criterion.parameters())
    optimizer = torch.optim.Adam(params, lr=settings.learning_rate)
    state = TrainState()
    best_weights = None
    ckpt = Path(settings.checkpoint_path) if settings.checkpoint_path else None
    if settings.resume and ckpt is not None and ckpt.exists():
        blob = load_checkpoint(ckpt)
        model.load_state_dict(blob["model"])
        criterion.load_state_dict(blob["criterion"])
        optimizer.load_state_dict(blob["optimizer"])
        for s, g in zip(samplers, blob["generators"]):
            s.generator.set_state(g)
        state = TrainState(**blob["state"])
        best_weights = blob["best_weights"]
    encoders = [torch.compile(e) for e in model.encoders] if settings.compile else None

    def validate() -> float:
        model.eval()
        total = 0.0
        with torch.no_grad(), _autocast(device, settings.mixed_precision):
            for vs in valid_samplers:
                vs.generator.manual_seed(settings.seed + 12345)  # the same batches each time
                for _ in range(settings.valid_batches):
                    b = vs.sample(settings.batch_size)
                    ref, pos, neg = embed_batch(model, valid_sessions, b)
                    total += float(contrastive_loss(criterion, ref, pos, neg, len(valid_sessions))[0])
        model.train()
        return total / settings.valid_batches

    def checkpoint() -> None:
        if ckpt is None or settings.rank != 0:
            return
        save_atomic({"model": model.state_dict(), "criterion": criterion.state_dict(),
                     "optimizer": optimizer.state_dict(), "generators": [s.generator.get_state() for s in samplers],
                     "state": copy.deepcopy(vars(state)), "best_weights": best_weights}, ckpt)

    model.train()
    start = time.perf_counter() - state.seconds
    bar = tqdm(total=settings.max_steps, initial=state.step, desc="train", unit="step",
               disable=not settings.progress or settings.rank != 0, dynamic_ncols=True, mininterval=1.0)
    while state.step < settings.max_steps and not state.stopped_early:
        batches = [s.sample(settings.batch_size) for s in samplers]
        with _autocast(device, settings.mixed_precision):
            loss = align = uniform = 0.0
            for b in batches:
                ref, pos, neg = embed_batch(model, train_sessions, b, encoders)
                l, a, u = contrastive_loss(criterion, ref, pos, neg, len(train_sessions))
                loss, align, uniform = loss + l, align + a, uniform + u
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        state.step += 1
        state.seconds = time.perf_counter() - start
        state.history.append({"step": state.step, "loss": float(loss.detach()), "align": float(align.detach()),
                              "uniform": float(uniform.detach()), "seconds": state.seconds})
        if valid_samplers and (state.step % settings.validate_every == 0 or state.step == settings.max_steps):
            v = validate()
            state.valid_history.append({"step": state.step, "valid_loss": v})
            if v < state.best_valid - settings.min_delta:
                state.best_valid, state.best_step, state.bad_validations = v, state.step, 0
                best_weights = {k: t.detach().clone().cpu() for k, t in model.state_dict().items()}
            else:
                state.bad_validations += 1
                if settings.patience is not None and state.bad_validations >= settings.patience:
                    state.stopped_early = True
        bar.update(1)
        postfix = {"loss": f"{state.history[-1]['loss']:.4f}"}
        if state.valid_history:
            postfix["valid"] = f"{state.valid_history[-1]['valid_loss']:.4f}"
        bar.set_postfix(postfix, refresh=False)
        if settings.checkpoint_every and state.step % settings.checkpoint_every == 0:
            checkpoint()
        if on_step is not None:
            on_step(state)
    bar.close()
    checkpoint()
    if best_weights is not None:
        model.load_state_dict(best_weights)
    return state
