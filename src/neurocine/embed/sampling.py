"""Contrastive sampling on the device: references, positives and negatives as index
tensors, with no per-sample Python.

Every session's split is one ``(T, N)`` tensor. A model with receptive field
``left + right`` samples sees the window ``[c - left, c + right)`` around a centre ``c``;
only centres whose whole window lies inside one contiguous *segment* (a run of adjacent
samples of the same split, see :func:`neurocine.data.contiguous_segments`) are ever drawn,
so no window crosses a split boundary or an inter-trial gap (CEBRA issue #259).

One small class per way of choosing positives, over a shared :class:`Sampler` base (which
draws references and negatives and falls back to time positives where a label has no
partner), as ``cebra.distributions`` does:

* :class:`TimeSampler`: the sample ``time_offset`` steps later in the same segment
  (CEBRA-Time).
* :class:`DiscreteSampler`: a sample with the same integer label; with several sessions,
  drawn from a different session (this is how sessions are *aligned*); labels < 0 fall
  back to time. An optional ``jitter`` moves the reference's label first (stimulus time),
  and ``nearest`` takes the nearest existing label of the same stimulus block when the
  exact one is absent (sessions sampled more sparsely than the stimulus, e.g. 1-s bins).
* :class:`ContinuousSampler`: the sample whose label is nearest to ``label(ref) + delta``,
  with ``delta`` drawn from the empirical label change over ``time_offset`` steps
  (``time_delta``) or from N(0, delta^2) (``delta``). A 1-D label is found by sorted
  search, O(B log T); a ``(T, D)`` label (image features, a position in 2-D) by Euclidean
  nearest neighbour among the session's distinct label rows, a random sample among those
  sharing the row (as ``cebra.distributions`` does, with labels shared across repeats
  searched once). Labels with a NaN fall back to time.

Negatives are uniform over the reference's own session. Which sampler a learning mode uses,
and with which labels, is the mode's business (:mod:`neurocine.embed.modes`).

Label samplers count, over a fit, how many references carried a label and how many of
those found no partner and fell back to a time positive (:meth:`_LabelSampler.positive_counts`),
so a mode never falls back to time contrast without the user being told.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

from neurocine.session import is_placeholder
from neurocine.settings import DEFAULT


def valid_centers(segment: np.ndarray, left: int, right: int) -> np.ndarray:
    """``(T,) bool``: True where the window ``[c - left, c + right)`` stays in c's segment."""
    T = len(segment)
    ok = np.zeros(T, dtype=bool)
    if T == 0:
        return ok
    idx = np.arange(T)
    lo, hi = idx - left, idx + right - 1
    inside = (lo >= 0) & (hi < T)
    ok[inside] = (segment[lo[inside]] == segment[idx[inside]]) & (segment[hi[inside]] == segment[idx[inside]])
    return ok


@dataclass
class SessionTensors:
    """One session's split, ready for sampling: full index tensors for a session this
    process holds, or a compact summary (sizes and per-key counts) for one that another
    process holds (a distributed run), so every process can draw the same batch.

    Attributes:
        neural: ``(T, N) float32`` on the device, or None (data held elsewhere).
        centers: ``(C,) int64`` valid window centres (None in a summary).
        time_refs: ``(R,) int64`` centres whose ``+time_offset`` partner is a valid centre
            of the same segment (None in a summary).
        labels: ``(T,)`` int64 (discrete) / float (continuous), ``(T, D)`` float
            (continuous, D dimensions), or None.
        label_dim: ``D`` of ``(T, D)`` continuous labels, None for one label per sample
            (kept in a summary).
        n_centers, n_time_refs: ``C`` and ``R``.
        label_dtype: dtype of ``labels`` (kept in a summary).
        key_values, key_counts: Discrete labels: the distinct labels >= 0 at valid centres,
            sorted, and how many centres carry each (kept in a summary).
        by_key: Discrete labels: the centres with label >= 0, sorted by label (stably).
        label_range: Continuous labels: ``(min, max)`` over valid centres (every dimension).
        labelled, n_labelled: Continuous labels: centres with a finite label (every
            dimension finite), and how many.
        deltas: Continuous labels: finite label changes over ``time_offset`` at time refs,
            ``(n,)`` or ``(n, D)``;
            ``n_time_refs_labelled`` of them (kept in a summary).
        device: Where the sampler draws (kept in a summary).
    """

    neural: torch.Tensor | None
    centers: torch.Tensor | None
    time_refs: torch.Tensor | None
    labels: torch.Tensor | None
    n_centers: int = 0
    n_time_refs: int = 0
    label_dtype: torch.dtype | None = None
    key_values: torch.Tensor | None = None
    key_counts: torch.Tensor | None = None
    by_key: torch.Tensor | None = None
    label_range: tuple[float, float] | None = None
    deltas: torch.Tensor | None = None
    device: torch.device = torch.device("cpu")
    labelled: torch.Tensor | None = None
    n_labelled: int = 0
    n_time_refs_labelled: int = 0
    label_dim: int | None = None

    @property
    def held(self) -> bool:
        """True when this process has the session's index tensors (not a summary)."""
        return self.centers is not None

    def summary(self) -> "SessionTensors":
        """The compact form another process keeps of this session (no per-sample data)."""
        return SessionTensors(None, None, None, None, self.n_centers, self.n_time_refs, self.label_dtype,
                              self.key_values, self.key_counts, None, self.label_range, None, self.device,
                              None, self.n_labelled, self.n_time_refs_labelled, self.label_dim)


def build_session_tensors(neural: np.ndarray, segment: np.ndarray, left: int, right: int, time_offset: int,
                          labels: np.ndarray | None, device: torch.device) -> SessionTensors:
    """Index tensors of one session's split (``neural`` may be a labels-only placeholder:
    then ``neural`` is None and the caller usually keeps only :meth:`SessionTensors.summary`)."""
    ok = valid_centers(segment, left, right)
    centers = np.flatnonzero(ok)
    if len(centers) == 0:
        raise ValueError(f"no window of {left + right} samples fits inside one contiguous segment "
                         f"({len(segment)} samples); use a model with a smaller receptive field")
    partner = centers + time_offset
    good = partner < len(segment)
    good[good] = ok[partner[good]] & (segment[partner[good]] == segment[centers[good]])
    time_refs = centers[good]
    if len(time_refs) == 0:
        raise ValueError(f"no two windows {time_offset} samples apart (time_offsets) fit inside one contiguous "
                         f"segment ({len(segment)} samples); use a smaller time_offsets")
    t = SessionTensors(
        neural=None if is_placeholder(neural) else torch.as_tensor(neural, dtype=torch.float32, device=device),
        centers=torch.as_tensor(centers, device=device), time_refs=torch.as_tensor(time_refs, device=device),
        labels=None if labels is None else torch.as_tensor(labels, device=device),
        n_centers=len(centers), n_time_refs=len(time_refs), device=torch.device(device))
    if t.labels is not None:
        t.label_dtype = t.labels.dtype
        if len(t.labels) != len(segment):
            raise ValueError(f"{len(segment)} samples but {len(t.labels)} labels")
        floating = t.labels.dtype.is_floating_point
        if t.labels.ndim != 1 and not (floating and t.labels.ndim == 2):
            kind = "float" if floating else "integer"
            raise ValueError(f"labels of shape {tuple(t.labels.shape)} ({kind}); expected (T,) integers (discrete) "
                             "or (T,) / (T, D) floats (continuous)")
        at = t.labels[t.centers]
        if not floating:
            keep = at >= 0
            order = torch.argsort(at[keep], stable=True)
            t.by_key = t.centers[keep][order]
            t.key_values, t.key_counts = torch.unique_consecutive(at[keep][order], return_counts=True)
        else:
            t.label_dim = int(at.shape[1]) if at.ndim == 2 else None
            known = torch.isfinite(at) if at.ndim == 1 else torch.isfinite(at).all(1)
            t.labelled = t.centers[known]
            t.n_labelled = int(known.sum())
            if t.n_labelled:
                t.label_range = (float(at[known].min()), float(at[known].max()))
            else:
                t.label_range = (0.0, 0.0)
            r = t.time_refs
            d = (t.labels[r + time_offset] - t.labels[r]).double()
            t.deltas = d[torch.isfinite(d) if d.ndim == 1 else torch.isfinite(d).all(1)]
            t.n_time_refs_labelled = int(len(t.deltas))
    return t


@dataclass
class Batch:
    """Index tensors for one step, each ``(S * B,)``: block ``s`` of length B belongs to
    reference session s. Negatives are in the reference's session. In a distributed run
    an index is only known (else -1) where its session is held by this process."""

    ref_session: torch.Tensor
    ref: torch.Tensor
    pos_session: torch.Tensor
    pos: torch.Tensor
    neg: torch.Tensor


class Sampler:
    """Base of the samplers: draws a :class:`Batch` for ``len(sessions)`` sessions (one
    encoder each, or one shared encoder for a single/padded session).

    Every random number is drawn whether or not a session is held here, so processes with
    the same seed draw the same batch; an index is resolved by the process that holds its
    session. Subclasses choose positives in :meth:`positives`.

    Args:
        sessions: Per-session tensors (full, or :meth:`SessionTensors.summary` for
            sessions held by another process).
        time_offset: Steps between reference and time positive (also the fallback).
        generator: Seeded ``torch.Generator`` on the sessions' device.
        reduce: Sum of a tensor over processes (distributed runs with summaries); the
            identity when every session is held.
    """

    #: Where references are drawn: ``centers`` (any valid window) or ``time_refs``.
    reference_pool = "centers"

    def __init__(self, sessions: list[SessionTensors], time_offset: int = DEFAULT.model.time_offsets,
                 generator: torch.Generator | None = None, reduce: Callable | None = None):
        self.sessions = sessions
        self.time_offset = int(time_offset)
        self.held = [s.held for s in sessions]
        if not all(self.held) and reduce is None:
            raise ValueError("sessions held by other processes need a reduce function (a distributed run)")
        self.reduce = reduce or (lambda t: t)
        self.device = sessions[0].device
        self.generator = generator or torch.Generator(device=self.device).manual_seed(0)
        self._n_centers = torch.tensor([s.n_centers for s in sessions], device=self.device)

    def _rand_index(self, n: torch.Tensor) -> torch.Tensor:
        """Uniform integers in [0, n) elementwise."""
        u = torch.rand(n.shape, device=self.device, generator=self.generator, dtype=torch.float64)
        return torch.minimum((u * n).long(), (n - 1).clamp(min=0))

    def _pick(self, j: int, pool: str, count: int) -> torch.Tensor:
        """``count`` uniform draws from session j's ``centers`` / ``time_refs`` (-1 where not held)."""
        s = self.sessions[j]
        n = s.n_centers if pool == "centers" else s.n_time_refs
        r = torch.randint(n, (count,), device=self.device, generator=self.generator)
        return getattr(s, pool)[r] if s.held else torch.full_like(r, -1)

    def _time_partner(self, ref: torch.Tensor) -> torch.Tensor:
        return torch.where(ref >= 0, ref + self.time_offset, ref)

    def positives(self, ref_session: torch.Tensor, ref: torch.Tensor, batch_size: int):
        """``(pos_session, pos, found)`` for the references; ``found`` False where the
        reference has no partner (it is then replaced by a time pair), None if all have."""
        raise NotImplementedError

    def sample(self, batch_size: int) -> Batch:
        S, B = len(self.sessions), int(batch_size)
        ref_session = torch.arange(S, device=self.device).repeat_interleave(B)
        ref = torch.cat([self._pick(j, self.reference_pool, B) for j in range(S)])
        neg = torch.cat([self._pick(j, "centers", B) for j in range(S)])
        pos_session, pos, found = self.positives(ref_session, ref, B)
        if found is not None and not bool(found.all()):
            # no partner with this label: fall back to a time pair in the own session
            fb_ref = torch.cat([self._pick(j, "time_refs", B) for j in range(S)])
            miss = ~found
            ref = torch.where(miss, fb_ref, ref)
            pos = torch.where(miss, self._time_partner(fb_ref), pos)
            pos_session = torch.where(miss, ref_session, pos_session)
        return Batch(ref_session, ref, pos_session, pos, neg)


class TimeSampler(Sampler):
    """CEBRA-Time: the positive is ``time_offset`` samples later in the same segment."""

    reference_pool = "time_refs"

    def positives(self, ref_session, ref, batch_size):
        return ref_session, self._time_partner(ref), None


class _LabelSampler(Sampler):
    """Positives by the references' labels, from another session when there are several
    (``cross_session``); the labels of references held elsewhere come through ``reduce``."""

    label_cast = torch.long

    def __init__(self, sessions, time_offset=DEFAULT.model.time_offsets, generator=None, reduce=None,
                 cross_session: bool = True, any_session: bool = False):
        super().__init__(sessions, time_offset, generator, reduce)
        self.cross_session = cross_session and len(sessions) > 1
        self.any_session = any_session
        # references drawn / carrying a label / labelled but without a partner (device counters, no sync)
        self._counts_seen = torch.zeros(3, dtype=torch.long, device=self.device)
        for j, s in enumerate(sessions):
            if s.label_dtype is None:
                raise ValueError(f"{type(self).__name__} needs labels for every session (session {j} has none)")
        self._build_index([j for j, h in enumerate(self.held) if h])

    def _build_index(self, held_ids: list[int]) -> None:
        raise NotImplementedError

    def _positive(self, pos_session, labels):
        raise NotImplementedError

    def _other_session(self, ref_session: torch.Tensor) -> torch.Tensor:
        S = len(self.sessions)
        if not self.cross_session:
            return ref_session
        if self.any_session:  # cebra's multi-session rule: any session, the reference's own included
            return torch.randint(0, S, ref_session.shape, device=self.device, generator=self.generator)
        shift = torch.randint(1, S, ref_session.shape, device=self.device, generator=self.generator)
        return (ref_session + shift) % S

    def _ref_labels(self, ref: torch.Tensor, B: int) -> torch.Tensor:
        """Labels at the references, shared by the processes that hold them."""
        parts = []
        for s, r in zip(self.sessions, ref.split(B)):
            shape = (len(r),) if s.label_dim is None else (len(r), s.label_dim)
            parts.append(s.labels[r] if s.held else torch.zeros(shape, dtype=s.label_dtype, device=self.device))
        labels = torch.cat(parts).to(self.label_cast)
        return labels if all(self.held) else self.reduce(labels)

    def positives(self, ref_session, ref, batch_size):
        pos_session = self._other_session(ref_session)
        labels = self._ref_labels(ref, batch_size)
        pos, found = self._positive(pos_session, labels)
        if labels.dtype.is_floating_point:
            labelled = torch.isfinite(labels) if labels.ndim == 1 else torch.isfinite(labels).all(1)
        else:
            labelled = labels >= 0
        self._counts_seen += torch.stack([torch.tensor(len(labels), device=self.device), labelled.sum(),
                                          (labelled & ~found).sum()])
        return pos_session, pos, found

    def positive_counts(self) -> dict:
        """``{"references", "labelled", "fallback"}`` since the sampler was made: references
        drawn, those carrying a label, and labelled ones whose positive fell back to a time
        pair because no sample with a matching label exists (the silent failure to watch)."""
        n, labelled, fallback = (int(x) for x in self._counts_seen.tolist())
        return {"references": n, "labelled": labelled, "fallback": fallback}

    def _concat_held(self, arrays, held_ids):
        """One tensor of the held sessions' arrays and each session's offset in it (-1: not held)."""
        base = torch.full((len(self.sessions),), -1, dtype=torch.long, device=self.device)
        offset = 0
        for j, a in zip(held_ids, arrays):
            base[j] = offset
            offset += len(a)
        cat = torch.cat(arrays) if arrays else torch.zeros(0, device=self.device)
        return cat, base


class DiscreteSampler(_LabelSampler):
    """A positive with the reference's integer label (>= 0), from another session.

    Args:
        jitter: Optional ``(labels, generator) -> labels`` applied to the references'
            labels before the search (stimulus-aligned learning moves them in stimulus
            time). Other arguments as :class:`Sampler`, plus ``cross_session``.
        nearest: Optional ``labels -> block ids``. When given, a (jittered) label absent
            from the positive's session is replaced by the nearest label it has in the
            same block (ties: the one nearer the reference's own label); without it only
            exact matches count. Stimulus keys are ordered in stimulus time within a block
            (a movie, a trial condition), so this pairs the samples nearest in stimulus
            time whatever the sessions' sampling rates.
        max_distance: With ``nearest``: the farthest a substitute label may lie from the
            (jittered) one; farther counts as no partner.
    """

    def __init__(self, sessions, time_offset=DEFAULT.model.time_offsets, generator=None, reduce=None,
                 cross_session=True, jitter: Callable | None = None, any_session: bool = False,
                 nearest: Callable | None = None, max_distance: int = 0):
        self.jitter = jitter
        self.nearest = nearest
        self.max_distance = int(max_distance)
        super().__init__(sessions, time_offset, generator, reduce, cross_session, any_session)

    def _build_index(self, held_ids):
        """Per (session, label) counts for all sessions; indices for held ones."""
        if any(s.key_values is None for s in self.sessions):
            raise ValueError("discrete sampling needs integer labels")
        dev = self.device
        tops = [int(s.key_values.max()) for s in self.sessions if len(s.key_values)]
        self._span = max(tops) + 2 if tops else 2
        comp, counts, starts = [], [], []
        for j, s in enumerate(self.sessions):
            comp.append(j * self._span + s.key_values.to(dev))
            counts.append(s.key_counts.to(dev))
            starts.append(torch.cumsum(s.key_counts.to(dev), 0) - s.key_counts.to(dev))
        self._comp = torch.cat(comp).contiguous()
        self._counts = torch.cat(counts)
        self._starts = torch.cat(starts)
        self._by_key, self._base = self._concat_held([self.sessions[j].by_key for j in held_ids], held_ids)

    def _positive(self, pos_session, labels):
        own = labels
        if self.jitter is not None:
            labels = self.jitter(labels, self.generator)
        if len(self._comp) == 0:  # no session has a label >= 0: every reference falls back
            return torch.full_like(labels, -1), torch.zeros_like(labels, dtype=torch.bool)
        if self.nearest is None:
            # a (jittered) label outside [0, span) would land in another session's key range
            known = (labels >= 0) & (labels < self._span)
            comp = pos_session * self._span + torch.where(known, labels, 0)
            g = torch.searchsorted(self._comp, comp).clamp(max=len(self._comp) - 1)
            hit = (self._comp[g] == comp) & known
        else:
            g = self._nearest(pos_session, labels, own)
            hit = (labels >= 0) & (g >= 0)
            g = g.clamp(min=0)
        count = torch.where(hit, self._counts[g], 0)
        found = count > 0
        position = self._starts[g] + self._rand_index(count)
        base = self._base[pos_session]
        held = (base >= 0) & found  # resolved here only where the positive's session is held
        if len(self._by_key) == 0:  # this rank holds no labelled session
            return torch.full_like(labels, -1), found
        pos = self._by_key[torch.where(held, base + position, 0)]
        return torch.where(held, pos, -1), found

    def _nearest(self, pos_session, labels, own):
        """Index into the sorted (session, label) table of the label nearest ``labels`` in
        ``pos_session``, within the label's block and ``max_distance``; -1 where none."""
        n = len(self._comp)
        offset = pos_session * self._span
        # beyond this session table's largest label: search from its end (the distance still counts)
        right = torch.searchsorted(self._comp, offset + labels.clamp(min=0, max=self._span - 1)).clamp(max=n - 1)
        left = (right - 1).clamp(min=0)
        block = self.nearest(labels)

        def candidate(i):
            key = self._comp[i] - offset
            usable = ((key >= 0) & (key < self._span) & (self.nearest(key) == block)
                      & ((key - labels).abs() <= self.max_distance))
            return key, usable

        key_l, ok_l = candidate(left)
        key_r, ok_r = candidate(right)
        d_l, d_r = (labels - key_l).abs(), (key_r - labels).abs()
        # ties go to the candidate nearer the reference's own (unjittered) label
        tie_left = (key_l - own).abs() <= (key_r - own).abs()
        pick_left = ok_l & (~ok_r | (d_l < d_r) | ((d_l == d_r) & tie_left))
        return torch.where(pick_left, left, torch.where(ok_r, right, torch.full_like(right, -1)))


class ContinuousSampler(_LabelSampler):
    """The positive whose label is nearest to ``label(ref) + delta``.

    One label per sample (``(T,)``) is searched in a sorted table. ``(T, D)`` labels (image
    features of the frame shown, a 2-D position) take the Euclidean nearest of the
    positive session's *distinct* label rows, then a uniform sample among the centres
    carrying that row: labels computed from the stimulus repeat on every repeat, so the
    search runs over the frames, not the samples, and every repeat is a candidate. The
    dimensions are compared as given: put them on a common scale first (PCA scores of the
    frames keep pixel distances).

    Args:
        conditional: ``"time_delta"`` (delta drawn from the label changes seen over
            ``time_offset`` steps, CEBRA's default for behaviour) or ``"delta"``
            (N(0, delta^2), in every dimension).
        delta: Std for ``"delta"``. Other arguments as :class:`Sampler`.
    """

    label_cast = torch.float64
    #: Query rows x label rows per distance block (bounds memory: 2^22 doubles = 32 MiB).
    search_block = 1 << 22
    #: On the CPU, search ``(T, D)`` label rows with a k-d tree (scipy) instead of distance
    #: blocks up to this D: among 4 x 30 000 distinct rows, a batch of 4 x 512 takes 5 ms
    #: instead of 160 ms at D = 3, but 670 ms instead of 170 ms at D = 16 (trees lose their
    #: edge in many dimensions). 0: always distance blocks.
    tree_max_dim = 8

    def __init__(self, sessions, time_offset=DEFAULT.model.time_offsets, generator=None, reduce=None,
                 cross_session=True, conditional: str = "time_delta", delta: float = 0.1, any_session: bool = False):
        if conditional not in ("time_delta", "delta"):
            raise ValueError(f"unknown conditional {conditional!r}; expected 'time_delta' or 'delta'")
        self.conditional = conditional
        self.delta = float(delta)
        super().__init__(sessions, time_offset, generator, reduce, cross_session, any_session)

    def _build_index(self, held_ids):
        if any(s.label_range is None for s in self.sessions):
            raise ValueError("continuous sampling needs float labels for every session; integers are discrete labels")
        dims = {s.label_dim for s in self.sessions}
        if len(dims) > 1:
            shown = sorted("1" if d is None else str(d) for d in dims)
            raise ValueError(f"continuous labels of every session need the same number of dimensions (got {shown})")
        self.label_dim = dims.pop()
        dev = self.device
        self._n_labelled = torch.tensor([s.n_labelled for s in self.sessions], device=dev)
        # empirical label changes over time_offset steps (for time_delta), every session
        self._n_deltas = torch.tensor([s.n_time_refs_labelled for s in self.sessions], device=dev)
        self._delta_start = torch.cumsum(self._n_deltas, 0) - self._n_deltas
        self._deltas, self._delta_base = self._concat_held([self.sessions[j].deltas for j in held_ids], held_ids)
        if self.label_dim is None:
            self._build_sorted(held_ids)
        else:
            self._build_rows(held_ids)

    def _build_sorted(self, held_ids):
        """One label per sample: a sorted (session, label) composite over held sessions."""
        dev = self.device
        lo = min(s.label_range[0] for s in self.sessions)
        hi = max(s.label_range[1] for s in self.sessions)
        self._lab_lo, self._span = lo, (hi - lo) * 4 + 1.0
        comp, local = [], []
        for j in held_ids:
            s = self.sessions[j]
            comp.append(j * self._span + (s.labels[s.labelled].double() - lo))
            local.append(s.labelled)
        if comp:
            c = torch.cat(comp)
            order = torch.argsort(c, stable=True)
            self._comp, self._local = c[order].contiguous(), torch.cat(local)[order]
        else:
            self._comp = torch.zeros(0, dtype=torch.float64, device=dev)
            self._local = torch.zeros(0, dtype=torch.long, device=dev)
        self._bounds = torch.searchsorted(self._comp, torch.arange(len(self.sessions) + 1, device=dev,
                                                                   dtype=torch.float64) * self._span)

    def _build_rows(self, held_ids):
        """``(T, D)`` labels: per held session, its distinct label rows and the centres of each."""
        self._rows = {}
        for j in held_ids:
            s = self.sessions[j]
            if s.n_labelled == 0:
                continue
            rows, inverse, counts = torch.unique(s.labels[s.labelled].double(), dim=0, return_inverse=True,
                                                 return_counts=True)
            by_row = s.labelled[torch.argsort(inverse, stable=True)]
            if rows.device.type == "cpu" and rows.shape[1] <= self.tree_max_dim:
                from scipy.spatial import cKDTree

                rows = cKDTree(rows.numpy())
            self._rows[j] = (rows, by_row, torch.cumsum(counts, 0) - counts, counts)

    def _jitter(self, n: int) -> torch.Tensor:
        """``(n,)`` or ``(n, D)`` float64: the label offsets of the positives' targets."""
        shape = (n,) if self.label_dim is None else (n, self.label_dim)
        if self.conditional == "delta":
            return torch.randn(shape, device=self.device, generator=self.generator, dtype=torch.float64) * self.delta
        total = max(int(self._n_deltas.sum()), 1)
        i = torch.randint(total, (n,), device=self.device, generator=self.generator)
        d = (torch.searchsorted(self._delta_start, i, right=True) - 1).clamp(min=0)  # session of each change
        base = self._delta_base[d]
        held = base >= 0
        k = torch.where(held, base + i - self._delta_start[d], 0)
        if len(self._deltas):
            jitter = self._deltas[k].double()
            jitter = torch.where(held if jitter.ndim == 1 else held[:, None], jitter, 0.0)
        else:
            jitter = torch.zeros(shape, device=self.device, dtype=torch.float64)
        return jitter if all(self.held) else self.reduce(jitter)

    def _positive(self, pos_session, labels):
        jitter = self._jitter(len(labels))
        if self.label_dim is None:
            known = torch.isfinite(labels)
            pos = self._nearest_sorted(pos_session, torch.where(known, labels, 0.0) + jitter)
        else:
            known = torch.isfinite(labels).all(1)
            pos = self._nearest_rows(pos_session, torch.where(known[:, None], labels, 0.0) + jitter, known)
        found = (self._n_labelled[pos_session] > 0) & known
        return pos, found

    def _nearest_sorted(self, pos_session, query):
        """``(B,)`` the centre of ``pos_session`` whose 1-D label is nearest ``query``
        (-1 where that session is held by another process)."""
        target = (query - self._lab_lo).clamp(min=0, max=self._span / 4)
        comp = pos_session.double() * self._span + target
        lo_b, hi_b = self._bounds[pos_session], self._bounds[pos_session + 1]
        held = hi_b > lo_b  # sessions held here have their labels in the search array
        if not len(self._comp):
            return torch.full_like(pos_session, -1)
        right = torch.searchsorted(self._comp, comp).clamp(min=lo_b, max=(hi_b - 1).clamp(min=0))
        left = (right - 1).clamp(min=lo_b)
        # rows whose session is not held here have an empty range: point them anywhere valid
        right, left = torch.where(held, right, 0), torch.where(held, left, 0)
        pick_left = (comp - self._comp[left]).abs() < (self._comp[right] - comp).abs()
        return torch.where(held, self._local[torch.where(pick_left, left, right)], -1)

    def _nearest_rows(self, pos_session, query, known):
        """``(B,)`` a centre of ``pos_session`` carrying the label row nearest ``query``
        ``(B, D)``, uniform among the centres with that row (-1 where not ``known`` or the
        session is held by another process)."""
        # one uniform draw per reference on every process, so processes stay in step
        u = torch.rand(len(query), device=self.device, generator=self.generator, dtype=torch.float64)
        pos = torch.full_like(pos_session, -1)
        for j, (rows, by_row, starts, counts) in self._rows.items():
            idx = torch.nonzero((pos_session == j) & known).flatten()
            if not len(idx):
                continue
            if isinstance(rows, torch.Tensor):
                step = max(1, self.search_block // len(rows))
                k = torch.cat([torch.cdist(query[idx[a:a + step]], rows).argmin(1)
                               for a in range(0, len(idx), step)])
            else:  # a k-d tree of the rows (CPU)
                k = torch.as_tensor(rows.query(query[idx].numpy())[1], dtype=torch.long)
            n = counts[k]
            pos[idx] = by_row[starts[k] + torch.minimum((u[idx] * n).long(), n - 1)]
        return pos


def gather_windows(neural: torch.Tensor, centers: torch.Tensor, left: int, right: int) -> torch.Tensor:
    """``(B, N, left + right)`` windows around ``centers`` from ``neural`` ``(T, N)``."""
    offsets = torch.arange(-left, right, device=neural.device)
    idx = centers[:, None] + offsets[None]
    return neural[idx].transpose(1, 2)
