"""``stimulus_aligned``: positives are samples of another session recorded while the same
stimulus state was on screen: the same movie frame (up to ``stimulus_jitter`` frames
away), or the same trial condition at the same time since trial onset.

This is what puts several sessions (different mice, different neuron counts) into one
space; CEBRA 0.6.1 refuses multi-session training without labels. It is *supervised* by
the stimulus labels: the frame-ID it reaches must be compared with decoders that see the
same labels.

Alignment keys (``int64``, comparable across sessions; -1: no stimulus) count *stimulus
time* in movie frames (1/30 s), whatever a session's sampling rate:

* movie ``m`` (registry order of :data:`neurocine.stimuli.STIMULI` movies, natural_movie_one
  first): ``m * MOVIE_BLOCK + frame``;
* trial stimulus: ``TRIAL_BASE + (condition offset + condition) * TRIAL_SPAN + time since
  trial onset`` (in 1/30 s, so sessions at 30 Hz, 31 Hz or in 1-s bins pair the same
  moment), the condition being the mixed-radix id of the stimulus's class labels (drifting
  gratings: direction id x 5 + temporal-frequency id).

A reference's key is moved by up to ``stimulus_jitter`` frames, and its positive is a
sample of the key nearest to that in the same movie or trial condition (at most
``max(stimulus_jitter, 30)`` frames, 1 s, away): sessions sampled more sparsely than the
movie (binned spike counts, dF/F averaged per second) still find partners. References
without a partner fall back to time contrast, are counted, and ``CEBRA.fit`` warns when
they exceed 5 % of the labelled references.
"""

from __future__ import annotations

import numpy as np
import torch

from neurocine.embed.modes.base import LearningMode, register
from neurocine.embed.sampling import DiscreteSampler
from neurocine.errors import ConfigError
from neurocine.stimuli import LABELS, MOVIE_RATE_HZ, STIMULI

MOVIE_BLOCK = 10_000
TRIAL_BASE = 100_000
TRIAL_SPAN = 1000  # time since onset (1/30 s) is capped below this (33 s)
#: The farthest (in frames, 1/30 s) a positive's stimulus time may be from the jittered key.
MIN_NEAREST_DISTANCE = 30


def _movies():
    return [s for s in STIMULI.values() if s.structure == "movie"]


def _trial_offsets() -> dict[str, int]:
    """First condition id of each trial stimulus in the shared key space."""
    out, offset = {}, 0
    for s in STIMULI.values():
        if s.structure == "trials":
            out[s.name] = offset
            offset += s.n_conditions
    return out


def alignment_keys(labels: dict, segment: np.ndarray, rate: float = MOVIE_RATE_HZ) -> np.ndarray:
    """``(T,) int64`` key of the stimulus state at each sample (see the module docstring).

    Args:
        labels: The part's label table.
        segment: ``(T,)`` contiguous-run ids (a trial restarts at a segment change).
        rate: The samples' rate, Hz: time since a trial's onset is counted in 1/30 s.

    Example:
        >>> frame = np.array([-1, 0, 1, 899, -1])
        >>> alignment_keys({"natural_movie_one.frame": frame}, np.zeros(5, dtype=np.int64)).tolist()
        [-1, 0, 1, 899, -1]
        >>> d = np.array([0.0, 0.0, 0.0, np.nan], dtype=np.float32)   # a 1-Hz trial: 0, 1, 2 s after onset
        >>> (alignment_keys({"drifting_gratings.direction": d}, np.zeros(4, np.int64), rate=1.0) % TRIAL_SPAN).tolist()
        [0, 30, 60, 999]
    """
    T = len(segment)
    keys = np.full(T, -1, dtype=np.int64)
    for m, stim in enumerate(_movies()):
        frame = labels.get(stim.labels[0])
        if frame is not None:
            keys = np.where(frame >= 0, m * MOVIE_BLOCK + frame, keys).astype(np.int64)
    offsets = _trial_offsets()
    for name, offset in offsets.items():
        cond = STIMULI[name].condition_ids(labels)  # from whichever of its labels the part carries
        if not (cond >= 0).any():
            continue
        present = cond >= 0
        # samples since onset: restart the count at each trial (condition change or gap)
        change = np.ones(T, dtype=bool)
        change[1:] = (~present[:-1]) | (cond[1:] != cond[:-1]) | (segment[1:] != segment[:-1])
        run_start = np.maximum.accumulate(np.where(change, np.arange(T), 0))
        since_onset = np.round((np.arange(T) - run_start) * (MOVIE_RATE_HZ / float(rate))).astype(np.int64)
        in_trial = np.minimum(since_onset, TRIAL_SPAN - 1)
        keys = np.where(present, TRIAL_BASE + (offset + cond) * TRIAL_SPAN + in_trial, keys)
    return keys


def jitter_keys(keys: torch.Tensor, jitter: int, generator: torch.Generator) -> torch.Tensor:
    """Shift keys by up to ``jitter`` samples within their stimulus block (movie frames
    stay inside the movie; time in trial stays >= 0), so positives are near, not
    identical, stimulus times: this regularises like CEBRA's time_delta does."""
    shift = torch.randint(-jitter, jitter + 1, keys.shape, device=keys.device, generator=generator)
    movie = (keys >= 0) & (keys < TRIAL_BASE)
    trial = keys >= TRIAL_BASE
    n_frames = torch.tensor([LABELS[s.labels[0]].n_values for s in _movies()], device=keys.device)
    m = torch.where(movie, keys // MOVIE_BLOCK, 0)
    lo = m * MOVIE_BLOCK
    moved_movie = torch.minimum(torch.maximum(keys + shift, lo), lo + n_frames[m] - 1)
    block = (keys - TRIAL_BASE) // TRIAL_SPAN
    t = (keys - TRIAL_BASE) % TRIAL_SPAN
    moved_trial = TRIAL_BASE + block * TRIAL_SPAN + (t + shift).clamp(min=0, max=TRIAL_SPAN - 1)
    return torch.where(movie, moved_movie, torch.where(trial, moved_trial, keys))


def key_block(keys: torch.Tensor) -> torch.Tensor:
    """The stimulus block of each key (a movie, or one trial condition): positives are
    searched within it. -1 for keys < 0."""
    movie = keys // MOVIE_BLOCK
    trial = TRIAL_BASE + (keys - TRIAL_BASE) // TRIAL_SPAN
    return torch.where(keys < 0, torch.full_like(keys, -1), torch.where(keys < TRIAL_BASE, movie, trial))


@register("stimulus_aligned")
class StimulusAligned(LearningMode):
    aligns_sessions = True

    def check(self, facts):
        if not all(f.stimuli for f in facts):
            raise ConfigError("learning_mode='stimulus_aligned' needs sessions with stimulus labels "
                              "(neurocine Session/SplitData with movie frames or trials)")

    def sampler_labels(self, part):
        return alignment_keys(part.table, part.segment, part.sampling_rate)

    def samplers(self, tensors, seed, device, reduce=None):
        s = self.settings
        j = s.stimulus_jitter
        jitter = (lambda keys, gen: jitter_keys(keys, j, gen)) if j > 0 else None
        return [DiscreteSampler(tensors, s.time_offsets, self.generator(device, seed), reduce, jitter=jitter,
                                any_session=s.positive_sessions == "any", nearest=key_block,
                                max_distance=max(j, MIN_NEAREST_DISTANCE))]

    def supervision(self, facts):
        shown = sorted({s for f in facts for s in f.stimuli}, key=list(STIMULI).index)
        parts = [f"{s} frame" if STIMULI[s].structure == "movie" else f"{s} condition" for s in shown]
        return ", ".join(parts) or "stimulus labels"
