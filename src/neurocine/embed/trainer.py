"""The training loop: device-side sampling, validation InfoNCE, early stopping, atomic
checkpoints and exact resume.

No global state: the device, the seed and (for a torch.distributed run) a
:class:`~neurocine.embed.distributed.DistContext` are passed in; only rank 0 writes
checkpoints.
"""

from __future__ import annotations

import contextlib
import copy
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch

from neurocine.embed.distributed import (DistContext, all_reduce_grads, exchange, merge_model_state,
                                         merge_optimizer_state, sum_across_ranks)
from neurocine.embed.grouped import AUTO_MIN_SESSIONS, grouped_forward, supports
from neurocine.embed.models import MultiSessionEncoder
from neurocine.embed.modes.base import as_settings
from neurocine.embed.sampling import Batch, Sampler, SessionTensors, gather_windows
from neurocine.errors import TrainingError
from neurocine.settings import DEFAULT
from neurocine.torchio import load_checkpoint, load_saved, save_atomic  # noqa: F401 - kept importable from here


#: Validation batches per validation (the same batches each time).
VALID_BATCHES = 4


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
                encoders=None, dist_ctx: DistContext | None = None,
                with_negatives: bool = True, grouped: bool = False, augment=None) -> tuple[torch.Tensor, ...]:
    """Encode ref, pos, neg of ``batch``; returns three ``(S * B, D)`` tensors (the third
    None when ``with_negatives`` is False: in-batch negatives need no encoding).

    ``encoders`` (optional) are callables used instead of ``model.encoders`` (e.g. the
    ``torch.compile`` d versions of the same modules). With an active ``dist_ctx`` this
    rank encodes only its rows and :func:`~neurocine.embed.distributed.exchange` fills in
    the rest (every rank returns the whole batch's embeddings). ``augment`` (training only)
    transforms each ``(B, N, W)`` block of windows before it is encoded."""
    encoders = encoders if encoders is not None else model.encoders

    def windows(neural, rows):
        w = gather_windows(neural, rows, model.left, model.right)
        return w if augment is None else augment(w)

    n = batch.ref.numel()
    parts = 3 if with_negatives else 2
    sess = torch.cat([batch.ref_session, batch.pos_session, batch.ref_session][:parts])
    idx = torch.cat([batch.ref, batch.pos, batch.neg][:parts])
    distributed = dist_ctx is not None and dist_ctx.active
    if len(model) == 1 and not distributed:
        out = encoders[0](windows(sessions[0].neural, idx))
    elif len(model) == 1:  # one encoder, data on every rank: rows split by position
        rows = torch.arange(dist_ctx.rank, parts * n, dist_ctx.world_size, device=idx.device)
        emb = encoders[0](windows(sessions[0].neural, idx[rows]))
        out = exchange(emb.float().new_zeros((parts * n, emb.shape[1])).index_copy(0, rows, emb.float()), dist_ctx)
    elif grouped:  # every owned session's encoder in one grouped call (see neurocine.embed.grouped)
        owned = [j for j in (dist_ctx.owned_sessions() if distributed else range(len(model)))
                 if bool((sess == j).any())]
        rows = [(sess == j).nonzero().squeeze(1) for j in owned]
        embs = grouped_forward([model.encoders[j] for j in owned],
                               [windows(sessions[j].neural, idx[m])
                                for j, m in zip(owned, rows)])
        out = torch.zeros((parts * n, model.num_output), device=idx.device,
                          dtype=embs[0].dtype if embs else torch.float)
        for m, emb in zip(rows, embs):
            out = out.index_copy(0, m, emb.to(out.dtype))
        if distributed:
            out = exchange(out.float(), dist_ctx)
    else:
        out = None
        owned = dist_ctx.owned_sessions() if distributed else range(len(model))
        for j in owned:
            m = (sess == j).nonzero().squeeze(1)
            if m.numel() == 0:
                continue
            emb = encoders[j](windows(sessions[j].neural, idx[m]))
            if distributed:
                emb = emb.float()
            if out is None:
                out = emb.new_zeros((parts * n, emb.shape[1]))
            out = out.index_copy(0, m, emb)
        if distributed:
            if out is None:  # this rank's sessions have no row in this batch
                out = torch.zeros((parts * n, model.num_output), device=idx.device)
            out = exchange(out, dist_ctx)
    return out[:n], out[n:2 * n], (out[2 * n:] if with_negatives else None)


def make_augment(settings, device) -> tuple | None:
    """``(augment, generator)`` for training windows, or None when every augmentation is
    off: each window scaled by ``exp(N(0, augment_gain))`` and shifted by ``N(0,
    augment_offset)`` (one factor and shift per window, shared by its neurons: the shared
    gain and offset of a population between repeats), and its neurons zeroed with
    probability ``neuron_dropout``. Its own seeded generator: the batches drawn stay those
    of a run without augmentation."""
    if not (settings.augment_gain or settings.augment_offset or settings.neuron_dropout):
        return None
    generator = torch.Generator(device=device).manual_seed(int(settings.seed) + 4242)

    def augment(w: torch.Tensor) -> torch.Tensor:
        B, N = w.shape[0], w.shape[1]
        if settings.augment_gain:
            w = w * torch.exp(torch.randn((B, 1, 1), device=w.device, generator=generator) * settings.augment_gain)
        if settings.augment_offset:
            w = w + torch.randn((B, 1, 1), device=w.device, generator=generator) * settings.augment_offset
        if settings.neuron_dropout:
            keep = torch.rand((B, N, 1), device=w.device, generator=generator) >= settings.neuron_dropout
            w = w * keep / (1 - settings.neuron_dropout)
        return w

    return augment, generator


def make_optimizer(params, learning_rate: float, weight_decay: float = 0.0) -> torch.optim.Optimizer:
    """Adam (cebra's optimizer) or, with ``weight_decay > 0``, AdamW: the decay is decoupled
    from the adaptive step, so it shrinks every weight by the same fraction per step
    whatever its gradient's scale (Adam's L2 penalty would hardly reach the rarely-updated
    weights of sparse inputs)."""
    if weight_decay:
        return torch.optim.AdamW(params, lr=learning_rate, weight_decay=weight_decay)
    return torch.optim.Adam(params, lr=learning_rate)


def use_grouped(model: MultiSessionEncoder, setting: str, dist_ctx: DistContext | None = None) -> bool:
    """Whether a step runs the sessions' encoders grouped (``grouped_sessions``)."""
    if setting == "off" or len(model) < 2 or not supports(model):
        return False
    owned = len(dist_ctx.owned_sessions()) if dist_ctx is not None and dist_ctx.active else len(model)
    on_gpu = next(model.parameters()).device.type == "cuda"
    return setting == "on" or (on_gpu and owned >= AUTO_MIN_SESSIONS)


def negative_blocks(num_sessions: int, block: int, seed: int, step: int) -> list[list[int]] | None:
    """The sessions whose samples are a reference's shared negatives: blocks of ``block``
    sessions of a permutation drawn from ``(seed, step)`` (the same on every rank and on
    resume, with no state to keep), or None (every session: ``block`` 0 or >= the sessions).

    Example:
        >>> negative_blocks(4, 8, 0, 1) is None
        True
        >>> sorted(len(b) for b in negative_blocks(10, 4, 0, 1))
        [3, 3, 4]
    """
    if block <= 0 or num_sessions <= block:
        return None
    g = torch.Generator().manual_seed(int(seed) * 1_000_003 + int(step))
    order = torch.randperm(num_sessions, generator=g).tolist()
    n_blocks = -(-num_sessions // block)
    return [sorted(order[i::n_blocks]) for i in range(n_blocks)]  # sizes differ by at most one


def contrastive_loss(criterion, ref, pos, neg, num_sessions: int, loss_sessions: list[int] | None = None,
                     negatives: str = DEFAULT.model.negatives,
                     blocks: list[list[int]] | None = None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Mean over reference sessions of CEBRA's InfoNCE.

    ``ref`` and ``pos`` are ``(S * B, D)``, block ``s`` from reference session ``s``.
    ``negatives``: ``"session"`` contrasts each reference with its own session's ``B``
    negatives; ``"pooled"`` with every session's (``S * B``, as cebra's multi-session
    solver); ``"in_batch"`` with the batch's ``S * B`` positives (``neg`` is unused and may
    be None: no negatives are encoded). ``blocks`` (:func:`negative_blocks`) limits the
    shared negatives of ``pooled`` and ``in_batch`` to the reference's block of sessions, so
    the loss costs ``S * B * block * B``, linear in ``S``, instead of ``(S * B)^2``.

    ``loss_sessions`` (distributed): only these sessions' terms, still divided by
    ``num_sessions``, so the ranks' partial losses add up to the whole loss. A rank with
    no term returns zeros that still depend on ``ref`` (its backward must join the
    gradient exchange)."""
    shared = {"session": None, "pooled": neg, "in_batch": pos}[negatives]
    if shared is not None and blocks is not None:
        parts = shared.chunk(num_sessions)
        of_block = [torch.cat([parts[j] for j in b]) for b in blocks]
        per_session = [None] * num_sessions
        for b, block in zip(of_block, blocks):
            for s in block:
                per_session[s] = b
    else:
        per_session = [shared] * num_sessions
    chunks = list(zip(ref.chunk(num_sessions), pos.chunk(num_sessions),
                      neg.chunk(num_sessions) if shared is None else per_session))

    def term(r, p, q):
        return criterion(r.float(), p.float(), q.float())

    if loss_sessions is None:
        if num_sessions == 1:
            return term(*chunks[0])
        losses = [term(*c) for c in chunks]
        return tuple(torch.stack(x).mean() for x in zip(*losses))
    anchor = 0.0 * (ref.sum() + pos.sum() + (neg.sum() if neg is not None else 0.0))
    total = [anchor, anchor.detach(), anchor.detach()]
    for s in loss_sessions:
        total = [t + x / num_sessions for t, x in zip(total, term(*chunks[s]))]
    return tuple(total)


def _autocast(device: torch.device, enabled: bool):
    if enabled and device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def train_contrastive(model: MultiSessionEncoder, criterion: torch.nn.Module, train_sessions: list[SessionTensors],
                      samplers: list[Sampler], settings, max_steps: int,
                      valid_sessions: list[SessionTensors] | None = None,
                      valid_samplers: list[Sampler] | None = None,
                      device: torch.device | str = "cpu", resume: bool = False, on_step=None,
                      dist_ctx: DistContext | None = None, writer=None) -> TrainState:
    """Train ``model`` in place; return the :class:`TrainState` (best weights restored).

    Args:
        model: Encoders, already on ``device``.
        criterion: CEBRA InfoNCE module (may hold a learnable temperature).
        train_sessions: Per-session tensors the samplers index into.
        samplers: One or more samplers; their losses are summed (hybrid = time + label).
        settings: The fit's :data:`~neurocine.settings.CebraSettings` (``batch_size``,
            ``learning_rate``, ``validate_every``, ``early_stopping``, ``patience``,
            ``min_delta``, ``checkpoint_every``, ``checkpoint_path``, ``mixed_precision``,
            ``compile``, ``negatives``, ``grouped_sessions``, ``seed``, ``verbose``), or a dict
            of some of them (the rest: the settings table's defaults).
        max_steps: Optimizer steps.
        valid_sessions, valid_samplers: Validation data; enables early stopping.
        device: Where the model and tensors live.
        resume: Continue from ``settings.checkpoint_path`` when it exists.
        on_step: Optional callback ``(state) -> None`` after each step.
        writer: Optional :class:`neurocine.tblog.Writer` (TensorBoard scalars).
        dist_ctx: Distributed run (see :mod:`neurocine.embed.distributed`); every rank
            calls this with the same settings and samplers, and only rank 0 writes
            checkpoints. The returned state and the restored weights are the same on
            every rank.
    """
    from tqdm.auto import tqdm

    opts = as_settings(settings)
    device = torch.device(device)
    distributed = dist_ctx is not None and dist_ctx.active
    rank = dist_ctx.rank if distributed else 0
    loss_sessions = dist_ctx.loss_sessions() if distributed else None
    trainable = list(model.parameters()) + list(criterion.parameters())
    # parameters whose gradient is summed over ranks, and which rank updates each parameter
    shared_params = (list(model.parameters()) if len(model) == 1 else []) + list(criterion.parameters())
    param_owner = ([dist_ctx.owner[int(name.split(".")[1])] if distributed and len(model) > 1 else -1
                    for name, _ in model.named_parameters()] + [-1] * len(list(criterion.parameters())))
    optimizer = make_optimizer(trainable, opts.learning_rate, opts.weight_decay)
    state = TrainState()
    best_weights = None
    ckpt = Path(opts.checkpoint_path) if opts.checkpoint_path else None
    if resume and ckpt is not None and ckpt.exists():
        blob = load_checkpoint(ckpt)
        model.load_state_dict(blob["model"])
        criterion.load_state_dict(blob["criterion"])
        optimizer.load_state_dict(blob["optimizer"])
        for sampler, g in zip(samplers, blob["generators"]):
            sampler.generator.set_state(g)
        state = TrainState(**blob["state"])
        best_weights = blob["best_weights"]
    encoders = [torch.compile(e) for e in model.encoders] if opts.compile else None
    batch_size = int(opts.batch_size)
    patience = int(opts.patience) if opts.early_stopping else None
    amp = bool(opts.mixed_precision)
    negatives = opts.negatives
    with_neg = negatives != "in_batch"
    block = int(opts.negative_block)
    grouped = use_grouped(model, opts.grouped_sessions, dist_ctx) and not opts.compile
    augmentation = make_augment(opts, device)
    augment = augmentation[0] if augmentation else None
    if augmentation and resume and ckpt is not None and ckpt.exists() and "augment_generator" in blob:
        augmentation[1].set_state(blob["augment_generator"])

    def validate() -> float:
        model.eval()
        total = 0.0
        with torch.no_grad(), _autocast(device, amp):
            for vs in valid_samplers:
                vs.generator.manual_seed(opts.seed + 12345)  # the same batches each time
                for _ in range(VALID_BATCHES):
                    b = vs.sample(batch_size)
                    ref, pos, neg = embed_batch(model, valid_sessions, b, dist_ctx=dist_ctx, with_negatives=with_neg)
                    part = contrastive_loss(criterion, ref, pos, neg, len(valid_sessions), loss_sessions, negatives,
                                            negative_blocks(len(valid_sessions), block, opts.seed, 0))[0]
                    total += float(sum_across_ranks(part.detach().reshape(1), dist_ctx)) if distributed else float(part)
        model.train()
        return total / VALID_BATCHES

    def full_model_state(sd: dict) -> dict:
        return merge_model_state(sd, dist_ctx) if distributed else sd

    def checkpoint() -> None:
        if ckpt is None:
            return
        model_sd = full_model_state(model.state_dict())  # collective: every rank takes part
        opt_sd = optimizer.state_dict()
        if distributed:
            opt_sd = merge_optimizer_state(opt_sd, param_owner, dist_ctx)
        best = full_model_state(best_weights) if best_weights is not None else None
        if rank != 0:
            return
        save_atomic({"model": model_sd, "criterion": criterion.state_dict(), "optimizer": opt_sd,
                     "generators": [s.generator.get_state() for s in samplers],
                     "state": copy.deepcopy(vars(state)), "best_weights": best,
                     **({"augment_generator": augmentation[1].get_state()} if augmentation else {}),
                     "world_size": dist_ctx.world_size if distributed else 1}, ckpt)

    model.train()
    start = time.perf_counter() - state.seconds
    bar = tqdm(total=max_steps, initial=state.step, desc="train", unit="step",
               disable=not opts.verbose or rank != 0, dynamic_ncols=True, mininterval=1.0)
    while state.step < max_steps and not state.stopped_early:
        batches = [s.sample(batch_size) for s in samplers]
        with _autocast(device, amp):
            loss = align = uniform = 0.0
            for b in batches:
                ref, pos, neg = embed_batch(model, train_sessions, b, encoders, dist_ctx, with_neg, grouped, augment)
                part, a, u = contrastive_loss(criterion, ref, pos, neg, len(train_sessions), loss_sessions, negatives,
                                              negative_blocks(len(train_sessions), block, opts.seed, state.step + 1))
                loss, align, uniform = loss + part, align + a, uniform + u
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        logged = torch.stack([loss.detach().float(), torch.as_tensor(align).detach().float().to(loss.device),
                              torch.as_tensor(uniform).detach().float().to(loss.device)])
        if distributed:
            all_reduce_grads(shared_params, dist_ctx)
            logged = sum_across_ranks(logged, dist_ctx)
        if not bool(torch.isfinite(logged[0])):  # the same value on every rank: all stop together
            raise TrainingError(f"the training loss became {float(logged[0]):g} at step {state.step + 1}; no model "
                                "was written (lower model.learning_rate, or raise model.temperature)")
        optimizer.step()
        state.step += 1
        state.seconds = time.perf_counter() - start
        loss_v, align_v, uniform_v = (float(x) for x in logged.cpu())
        state.history.append({"step": state.step, "loss": loss_v, "align": align_v, "uniform": uniform_v,
                              "seconds": state.seconds})
        if writer is not None:
            writer.scalar("train/loss", loss_v, state.step)
            writer.scalar("train/learning_rate", optimizer.param_groups[0]["lr"], state.step)
            writer.scalar("train/steps_per_second", state.step / max(state.seconds, 1e-9), state.step)
        if valid_samplers and (state.step % opts.validate_every == 0 or state.step == max_steps):
            v = validate()
            state.valid_history.append({"step": state.step, "valid_loss": v})
            if writer is not None:
                writer.scalar("valid/loss", v, state.step)
            if v < state.best_valid - opts.min_delta:
                state.best_valid, state.best_step, state.bad_validations = v, state.step, 0
                best_weights = {k: t.detach().clone().cpu() for k, t in model.state_dict().items()}
            else:
                state.bad_validations += 1
                if patience is not None and state.bad_validations >= patience:
                    state.stopped_early = True
        bar.update(1)
        postfix = {"loss": f"{state.history[-1]['loss']:.4f}"}
        if state.valid_history:
            postfix["valid"] = f"{state.valid_history[-1]['valid_loss']:.4f}"
        bar.set_postfix(postfix, refresh=False)
        if opts.checkpoint_every and state.step % opts.checkpoint_every == 0:
            checkpoint()
        if on_step is not None:
            on_step(state)
    bar.close()
    checkpoint()
    if best_weights is not None:
        model.load_state_dict(full_model_state(best_weights))
    elif distributed:
        model.load_state_dict(full_model_state(model.state_dict()))
    return state
