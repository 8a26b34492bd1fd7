"""Contrastive sampling on the device: references, positives and negatives as index
tensors, with no per-sample Python.

Every session's split is one ``(T, N)`` tensor. A model with receptive field
``left + right`` samples sees the window ``[c - left, c + right)`` around a centre ``c``;
only centres whose whole window lies inside one contiguous *segment* (a run of adjacent
samples of the same split, see :func:`neurocine.data.contiguous_segments`) are ever drawn,
so no window crosses a split boundary or an inter-trial gap (CEBRA issue #259).

Positives, by mode:

* ``time``: the sample ``time_offset`` steps later in the same segment (CEBRA-Time).
* ``discrete``: a sample with the same integer label; with several sessions, drawn from a
  different session (this is how sessions are *aligned*); labels < 0 fall back to time.
  Stimulus alignment uses a per-sample stimulus key (movie frame, or grating condition and
  time in trial) as the discrete label.
* ``continuous``: the sample whose 1-D label is nearest to ``label(ref) + delta``, with
  ``delta`` drawn from the empirical label change over ``time_offset`` steps
  (``time_delta``) or from N(0, delta^2) (``delta``); sorted search, O(B log T).

Negatives are uniform over the reference's own session.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

MOVIE_KEY_SPAN = 100_000  # keys >= this are grating keys


def stimulus_keys(movie_frame: np.ndarray, grating_orientation: np.ndarray,
                  grating_temporal_frequency: np.ndarray, segment: np.ndarray) -> np.ndarray:
    """``(T,) int64`` key of the stimulus state at each sample, comparable across sessions.

    Movie samples: the frame index (0..899). Grating samples: ``MOVIE_KEY_SPAN`` + condition
    (direction x temporal frequency) * 1000 + samples since trial onset. Otherwise -1.
    """
    keys = np.where(movie_frame >= 0, movie_frame, -1).astype(np.int64)
    g = np.isfinite(grating_orientation) & np.isfinite(grating_temporal_frequency)
    if g.any():
        cond = (np.round(np.nan_to_num(grating_orientation) / 45).astype(np.int64) % 8) * 5
        tf_id = np.searchsorted(np.array([1.0, 2.0, 4.0, 8.0, 15.0]), np.nan_to_num(grating_temporal_frequency))
        cond = cond + np.clip(tf_id, 0, 4)
        # samples since onset: restart the count at each trial (condition change or gap)
        change = np.ones(len(keys), dtype=bool)
        change[1:] = (~g[:-1]) | (cond[1:] != cond[:-1]) | (segment[1:] != segment[:-1])
        run_start = np.maximum.accumulate(np.where(change, np.arange(len(keys)), 0))
        in_trial = np.arange(len(keys)) - run_start
        keys = np.where(g, MOVIE_KEY_SPAN + cond * 1000 + in_trial, keys)
    return keys


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
    """One session's split on the device, ready for sampling.

    Attributes:
        neural: ``(T, N) float32``, or None when another rank holds this session's data
            (its labels and window centres still take part in sampling).
        centers: ``(C,) int64`` valid window centres.
        time_refs: ``(R,) int64`` centres whose ``+time_offset`` partner is a valid centre
            of the same segment.
        labels: ``(T,)`` int64 (discrete) / float (continuous) or None.
    """

    neural: torch.Tensor | None
    centers: torch.Tensor
    time_refs: torch.Tensor
    labels: torch.Tensor | None


def build_session_tensors(neural: np.ndarray, segment: np.ndarray, left: int, right: int, time_offset: int,
                          labels: np.ndarray | None, device: torch.device) -> SessionTensors:
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
        time_refs = centers  # degenerate: positive = the reference itself
    from neurocine.session import is_placeholder

    return SessionTensors(
        neural=None if is_placeholder(neural) else torch.as_tensor(neural, dtype=torch.float32, device=device),
        centers=torch.as_tensor(centers, device=device), time_refs=torch.as_tensor(time_refs, device=device),
        labels=None if labels is None else torch.as_tensor(labels, device=device))


@dataclass
class Batch:
    """Index tensors for one step, each ``(S * B,)``: block ``s`` of length B belongs to
    reference session s. Negatives are in the reference's session."""

    ref_session: torch.Tensor
    ref: torch.Tensor
    pos_session: torch.Tensor
    pos: torch.Tensor
    neg: torch.Tensor


class ContrastiveSampler:
    """Draws :class:`Batch` es for ``len(sessions)`` sessions (one encoder each, or one
    shared encoder for a single/padded session).

    Args:
        sessions: Per-session tensors.
        mode: ``"time"``, ``"discrete"`` or ``"continuous"``.
        time_offset: Steps between reference and time positive.
        conditional: For continuous labels: ``"time_delta"`` or ``"delta"``.
        delta: Std of the label jitter for ``conditional="delta"``.
        cross_session: Draw label positives from another session (alignment).
        generator: Seeded ``torch.Generator`` on the sessions' device.
    """

    def __init__(self, sessions: list[SessionTensors], mode: str = "time", time_offset: int = 10,
                 conditional: str = "time_delta", delta: float = 0.1, cross_session: bool = True,
                 generator: torch.Generator | None = None, key_jitter: int = 0):
        if mode not in ("time", "discrete", "continuous"):
            raise ValueError(f"unknown sampling mode {mode!r}")
        self.sessions = sessions
        self.mode = mode
        self.time_offset = int(time_offset)
        self.conditional = conditional
        self.delta = float(delta)
        self.cross_session = cross_session and len(sessions) > 1
        self.key_jitter = int(key_jitter)
        self.device = sessions[0].centers.device
        self.generator = generator or torch.Generator(device=self.device).manual_seed(0)
        self._sizes = torch.tensor([len(s.centers) for s in sessions], device=self.device)
        if mode != "time":
            self._build_label_index()

    # -- label index over all sessions' valid centres, sorted by (session, label)
    def _build_label_index(self):
        sess, local, lab = [], [], []
        for j, s in enumerate(self.sessions):
            if s.labels is None:
                raise ValueError(f"sampling mode {self.mode!r} needs labels for every session (session {j} has none)")
            sess.append(torch.full_like(s.centers, j))
            local.append(s.centers)
            lab.append(s.labels[s.centers])
        self._g_session = torch.cat(sess)
        self._g_local = torch.cat(local)
        g_label = torch.cat(lab)
        if self.mode == "discrete":
            g_label = g_label.long()
            keep = g_label >= 0
            span = int(g_label.max().item()) + 2 if keep.any() else 2
            self._span = span
            comp = self._g_session[keep] * span + g_label[keep]
            order = torch.argsort(comp)
            self._comp = comp[order].contiguous()
            self._g_session = self._g_session[keep][order]
            self._g_local = self._g_local[keep][order]
        else:
            g_label = g_label.double()
            if g_label.ndim != 1:
                raise ValueError("continuous sampling supports one label dimension; use discrete labels or mode 'time'")
            lo, hi = g_label.min(), g_label.max()
            span = float((hi - lo).item()) * 4 + 1.0
            self._lab_lo, self._span = float(lo.item()), span
            comp = self._g_session.double() * span + (g_label - lo)
            order = torch.argsort(comp)
            self._comp = comp[order].contiguous()
            self._g_session = self._g_session[order]
            self._g_local = self._g_local[order]
            # session ranges in the sorted index
            bounds = torch.searchsorted(self._comp, torch.arange(len(self.sessions) + 1, device=self.device,
                                                                 dtype=torch.float64) * span)
            self._bounds = bounds
            # empirical label changes over time_offset steps (for time_delta)
            deltas = []
            for s in self.sessions:
                r = s.time_refs
                deltas.append((s.labels[r + self.time_offset] - s.labels[r]).double())
            self._deltas = torch.cat(deltas)

    def _rand_index(self, n: torch.Tensor) -> torch.Tensor:
        """Uniform integers in [0, n) elementwise."""
        u = torch.rand(n.shape, device=self.device, generator=self.generator, dtype=torch.float64)
        return torch.minimum((u * n).long(), (n - 1).clamp(min=0))

    def _pick(self, pool: torch.Tensor, count: int) -> torch.Tensor:
        return pool[torch.randint(len(pool), (count,), device=self.device, generator=self.generator)]

    def _other_session(self, ref_session: torch.Tensor) -> torch.Tensor:
        S = len(self.sessions)
        if not self.cross_session:
            return ref_session
        shift = torch.randint(1, S, ref_session.shape, device=self.device, generator=self.generator)
        return (ref_session + shift) % S

    def sample(self, batch_size: int) -> Batch:
        S, B = len(self.sessions), int(batch_size)
        dev = self.device
        ref_session = torch.arange(S, device=dev).repeat_interleave(B)
        pools = [s.time_refs if self.mode == "time" else s.centers for s in self.sessions]
        ref = torch.cat([self._pick(p, B) for p in pools])
        neg = torch.cat([self._pick(s.centers, B) for s in self.sessions])
        if self.mode == "time":
            return Batch(ref_session, ref, ref_session, ref + self.time_offset, neg)
        pos_session = self._other_session(ref_session)
        labels = torch.cat([s.labels[r] for s, r in zip(self.sessions, ref.split(B))])
        if self.mode == "discrete":
            labels = labels.long()
            if self.key_jitter > 0:
                labels = self._jitter_keys(labels)
            pos_session, pos, found = self._discrete_positive(pos_session, labels)
        else:
            pos, found = self._continuous_positive(pos_session, labels.double())
        if not bool(found.all()):
            # no partner with this label: fall back to the time positive in the own session
            fb_ref = torch.cat([self._pick(s.time_refs, B) for s in self.sessions])
            miss = ~found
            ref = torch.where(miss, fb_ref, ref)
            pos = torch.where(miss, fb_ref + self.time_offset, pos)
            pos_session = torch.where(miss, ref_session, pos_session)
        return Batch(ref_session, ref, pos_session, pos, neg)

    def _jitter_keys(self, keys: torch.Tensor) -> torch.Tensor:
        """Shift stimulus keys by up to ``key_jitter`` samples within their stimulus block
        (movie frames 0..899; time within a grating trial), so positives are near, not
        identical, stimulus times: this regularises like CEBRA's time_delta does."""
        shift = torch.randint(-self.key_jitter, self.key_jitter + 1, keys.shape, device=self.device,
                              generator=self.generator)
        movie = (keys >= 0) & (keys < MOVIE_KEY_SPAN)
        grating = keys >= MOVIE_KEY_SPAN
        block = (keys - MOVIE_KEY_SPAN) // 1000
        t = (keys - MOVIE_KEY_SPAN) % 1000
        moved_movie = (keys + shift).clamp(0, 899)
        moved_grating = MOVIE_KEY_SPAN + block * 1000 + (t + shift).clamp(min=0)
        return torch.where(movie, moved_movie, torch.where(grating, moved_grating, keys))

    def _discrete_positive(self, pos_session, labels):
        comp = pos_session * self._span + labels
        lo = torch.searchsorted(self._comp, comp, right=False)
        hi = torch.searchsorted(self._comp, comp, right=True)
        count = hi - lo
        found = (count > 0) & (labels >= 0)
        j = (lo + self._rand_index(count)).clamp(max=len(self._comp) - 1)
        return self._g_session[j], self._g_local[j], found

    def _continuous_positive(self, pos_session, labels):
        if self.conditional == "delta":
            jitter = torch.randn(labels.shape, device=self.device, generator=self.generator,
                                 dtype=torch.float64) * self.delta
        elif self.conditional == "time_delta":
            jitter = self._deltas[torch.randint(len(self._deltas), labels.shape, device=self.device,
                                                generator=self.generator)]
        else:
            raise ValueError(f"unknown conditional {self.conditional!r}; expected 'time_delta' or 'delta'")
        target = (labels + jitter - self._lab_lo).clamp(min=0, max=self._span / 4)
        comp = pos_session.double() * self._span + target
        lo_b, hi_b = self._bounds[pos_session], self._bounds[pos_session + 1]
        right = torch.searchsorted(self._comp, comp).clamp(min=lo_b, max=hi_b - 1)
        left = (right - 1).clamp(min=lo_b)
        pick_left = (comp - self._comp[left]).abs() < (self._comp[right] - comp).abs()
        j = torch.where(pick_left, left, right)
        found = hi_b > lo_b
        return self._g_local[j], found


def gather_windows(neural: torch.Tensor, centers: torch.Tensor, left: int, right: int) -> torch.Tensor:
    """``(B, N, left + right)`` windows around ``centers`` from ``neural`` ``(T, N)``."""
    offsets = torch.arange(-left, right, device=neural.device)
    idx = centers[:, None] + offsets[None]
    return neural[idx].transpose(1, 2)
