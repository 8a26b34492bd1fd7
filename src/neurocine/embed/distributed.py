"""Training across processes with ``torch.distributed`` (launched by ``torchrun``).

The model is the same as in one process; the work and the data are split by session.

* Every rank draws the **same** global batch: the samplers are seeded identically and
  draw every random number on every rank, but keep per-sample index tensors only for the
  sessions the rank owns (of the others: sizes and per-label counts). An index is
  resolved by its session's owner; the references' labels are shared by an all-reduce.
* A session's dF/F lives on one rank, its *owner*, which alone runs that session's encoder:
  it embeds every reference, positive and negative of the batch that falls in its sessions.
* :func:`exchange` sums the ranks' partial ``(M, D)`` embedding tensors (each row is
  non-zero on exactly one rank), so every rank sees the whole batch's embeddings; in
  backward it sums the ranks' gradients of those embeddings, so each owner receives the
  gradient of the *global* loss for its rows.
* Each rank computes the InfoNCE terms of the reference sessions it owns, divided by the
  number of sessions, so the ranks' losses add up to the one-process loss. Parameters used
  on several ranks (a learnable temperature; the encoder of a single-session or padded
  model, whose rows are then split by position) have their gradients summed across ranks.

Why not the ``DistributedDataParallel`` wrapper: DDP assumes each rank's loss depends
only on its own samples and that every rank runs a full replica. InfoNCE couples the whole
batch (negatives, positives from other sessions), and a session encoder runs on one rank,
so DDP would give a different loss than one process and would all-reduce every
encoder's (mostly zero) gradients each step. The two collectives above are what DDP would
do for the shared parameters, plus the embedding exchange that InfoNCE needs.

Example (one process, world size 1, nothing to exchange):
    >>> import torch
    >>> ctx = DistContext(rank=0, world_size=1, owner=[0, 0])
    >>> ctx.active, ctx.owned_sessions()
    (False, [0, 1])
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass, field

import torch
import torch.distributed as dist

from neurocine.errors import ConfigError


@dataclass
class DistContext:
    """Who does what in a distributed run.

    Attributes:
        rank, world_size: This process and the number of processes.
        owner: ``owner[s]`` is the rank that holds session ``s``'s data and runs its
            encoder; ``-1`` for every entry of a single-encoder model (all ranks hold the
            data; the batch rows are split by position).
        group: Process group (None: the default group).
    """

    rank: int
    world_size: int
    owner: list[int]
    group: object = field(default=None, repr=False)

    @property
    def active(self) -> bool:
        return self.world_size > 1

    @property
    def shared_encoder(self) -> bool:
        return len(self.owner) == 1

    def owned_sessions(self) -> list[int]:
        """Session indices whose encoder and data this rank runs."""
        if self.shared_encoder:
            return [0]
        return [s for s, r in enumerate(self.owner) if r == self.rank]

    def loss_sessions(self) -> list[int]:
        """Reference sessions whose InfoNCE terms this rank computes."""
        if self.shared_encoder:
            return [0] if self.rank == 0 else []
        return self.owned_sessions()


def env_world() -> tuple[int, int, int]:
    """``(rank, world_size, local_rank)`` from torchrun's environment (``(0, 1, 0)`` if absent)."""
    return int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1)), int(os.environ.get("LOCAL_RANK", 0))


def init_from_env(device: str = "cuda_if_available") -> tuple[int, int]:
    """Join the process group torchrun describes (``WORLD_SIZE`` > 1), once.

    Backend: ``nccl`` when CUDA is used (each process takes GPU ``LOCAL_RANK``), else
    ``gloo``. Returns ``(rank, world_size)``; ``(0, 1)`` when not launched by torchrun.
    """
    rank, world, local = env_world()
    if world <= 1:
        return 0, 1
    if dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    use_cuda = torch.cuda.is_available() and str(device).startswith("cuda")
    if use_cuda:
        if local >= torch.cuda.device_count():
            raise ConfigError(f"LOCAL_RANK={local} but this node has {torch.cuda.device_count()} GPUs; "
                              "launch at most one process per GPU (torchrun --nproc_per_node)")
        torch.cuda.set_device(local)
    dist.init_process_group(backend="nccl" if use_cuda else "gloo")
    return dist.get_rank(), dist.get_world_size()


def finish() -> None:
    """Wait for every rank, then leave the process group (no-op outside one)."""
    if dist.is_available() and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()


def current() -> tuple[int, int]:
    """``(rank, world_size)`` of an initialised process group, else ``(0, 1)``."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def make_context(holds_data: list[bool], device: torch.device) -> DistContext | None:
    """Decide session owners from which sessions each rank holds (one all-gather).

    Args:
        holds_data: Per session, whether this rank has its dF/F (not a placeholder).
        device: The training device (collectives run on it for nccl).

    Returns:
        None when no process group is initialised or the world size is 1.

    Raises:
        ConfigError: a session nobody holds, or a single-encoder model that not every
            rank holds.
    """
    rank, world = current()
    if world <= 1:
        return None
    flags = torch.tensor([bool(h) for h in holds_data], dtype=torch.uint8, device=device)
    gathered = [torch.empty_like(flags) for _ in range(world)]
    dist.all_gather(gathered, flags)
    holders = torch.stack(gathered).cpu().bool()  # (world, S)
    S = len(holds_data)
    if S == 1:
        if not bool(holders.all()):
            raise ConfigError("a single-session (or padded) model under torchrun needs the session's data on every "
                              "rank; load it without sharding")
        return DistContext(rank, world, [-1])
    owner = []
    for s in range(S):
        ranks = holders[:, s].nonzero().flatten().tolist()
        if not ranks:
            raise ConfigError(f"session {s}: no rank holds its data")
        owner.append(ranks[s % len(ranks)])
    idle = sorted(set(range(world)) - set(owner))
    if idle and rank == 0:
        warnings.warn(f"{S} sessions on {world} ranks: ranks {idle} own no session and only relay; "
                      "use at most as many processes as sessions", RuntimeWarning, stacklevel=2)
    return DistContext(rank, world, owner)


class _SumAcrossRanks(torch.autograd.Function):
    """All-reduce (sum) forward and backward: the identity of a sharded tensor."""

    @staticmethod
    def forward(ctx, x, group):
        ctx.group = group
        y = x.contiguous().clone()
        dist.all_reduce(y, group=group)
        return y

    @staticmethod
    def backward(ctx, grad):
        g = grad.contiguous().clone()
        dist.all_reduce(g, group=ctx.group)
        return g, None


def exchange(partial: torch.Tensor, ctx: DistContext) -> torch.Tensor:
    """Sum ``partial`` ``(M, D)`` over ranks, differentiably (see the module docstring)."""
    return _SumAcrossRanks.apply(partial, ctx.group)


def sum_across_ranks(values: torch.Tensor, ctx: DistContext) -> torch.Tensor:
    """Sum of a small tensor over ranks, identical bit for bit on every rank (the ranks'
    values are gathered and added in rank order), so decisions taken on it agree."""
    gathered = [torch.empty_like(values) for _ in range(ctx.world_size)]
    dist.all_gather(gathered, values.contiguous(), group=ctx.group)
    return torch.stack(gathered).sum(0)


def all_reduce_grads(params: list[torch.Tensor], ctx: DistContext) -> None:
    """Sum the gradients of ``params`` over ranks (missing gradients count as zero)."""
    params = [p for p in params if p.requires_grad]
    if not params:
        return
    for p in params:
        if p.grad is None:
            p.grad = torch.zeros_like(p)
    flat = torch.cat([p.grad.reshape(-1) for p in params])
    dist.all_reduce(flat, group=ctx.group)
    offset = 0
    for p in params:
        n = p.numel()
        p.grad.copy_(flat[offset:offset + n].view_as(p))
        offset += n


def gather_objects(obj, ctx: DistContext) -> list:
    """``[obj of rank 0, obj of rank 1, ...]`` on every rank (pickled; keep it small)."""
    out = [None] * ctx.world_size
    dist.all_gather_object(out, obj, group=ctx.group)
    return out


def _encoder_of(key: str) -> int | None:
    """Session index of a MultiSessionEncoder state key ``encoders.<s>.``, else None."""
    if key.startswith("encoders."):
        return int(key.split(".")[1])
    return None


def merge_model_state(state: dict, ctx: DistContext) -> dict:
    """Each encoder's weights from its owner; everything else (identical on all ranks)
    from this rank. Every rank must call it; all get the merged dict on the CPU."""
    if ctx.shared_encoder:
        return {k: v.detach().cpu() for k, v in state.items()}
    mine = {k: v.detach().cpu() for k, v in state.items()
            if _encoder_of(k) is not None and ctx.owner[_encoder_of(k)] == ctx.rank}
    merged = {k: v.detach().cpu() for k, v in state.items()}
    for part in gather_objects(mine, ctx):
        merged.update(part)
    return merged


def merge_optimizer_state(optimizer_state: dict, param_owner: list[int], ctx: DistContext) -> dict:
    """An optimizer ``state_dict`` whose per-parameter state (Adam moments and step) comes
    from the rank that updates that parameter (``param_owner[i]``; -1: any rank)."""
    if ctx.shared_encoder:
        return optimizer_state
    mine = {i: st for i, st in optimizer_state["state"].items() if param_owner[i] == ctx.rank}
    merged = dict(optimizer_state["state"])
    for part in gather_objects(_to_cpu(mine), ctx):
        merged.update(part)
    return {"state": merged, "param_groups": optimizer_state["param_groups"]}


def _to_cpu(obj):
    if isinstance(obj, torch.Tensor):
        return obj.detach().cpu()
    if isinstance(obj, dict):
        return {k: _to_cpu(v) for k, v in obj.items()}
    return obj


__all__ = ["DistContext", "env_world", "init_from_env", "finish", "current", "make_context", "exchange",
           "sum_across_ranks", "all_reduce_grads", "gather_objects", "merge_model_state", "merge_optimizer_state"]
