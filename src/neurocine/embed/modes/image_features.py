"""Stimulus alignment plus image features of the frame shown: a learning mode built for
given per-frame features (issue 23's lever of an image-feature space, as CEBRA's
DINO-feature experiment), so it is registered by :func:`aligned_image_features` with those
features rather than at import.

Its samplers are stimulus alignment's, unchanged, plus a continuous sampler on the features
of the frame each sample shows; their InfoNCE losses are summed each step, as ``hybrid``
sums its samplers'. Measured in ``docs/numbers.md`` (``bench/bench_reconstruction.py
--image-features 16 --with-alignment``).
"""

from __future__ import annotations

import numpy as np

from neurocine.embed.modes.base import MODES
from neurocine.embed.modes.stimulus_aligned import StimulusAligned
from neurocine.embed.sampling import ContinuousSampler, build_session_tensors
from neurocine.session import placeholder_traces

#: The name the mode is registered under.
NAME = "aligned_image_features"


def aligned_image_features(features: np.ndarray, window: tuple[int, int],
                           label: str = "natural_movie_one.frame") -> str:
    """Register (or re-register, for other features) the mode and return its name, for
    ``CEBRA(learning_mode=...)``.

    Args:
        features: ``(K, D)`` features of every frame of the movie (e.g.
            :func:`neurocine.decoders.image_features.frame_features`, fitted on the frames
            the model may see).
        window: ``(left, right)`` receptive field of the encoder that will be trained.
        label: The movie's frame label (which frame each sample shows).
    """
    feats = np.asarray(features, dtype=np.float64)

    class AlignedImageFeatures(StimulusAligned):
        name = NAME

        def __init__(self, settings=None):
            super().__init__(settings)
            self.pending = []  # feature tensors of the parts read since the last samplers() call

        def sampler_labels(self, part):
            f = np.asarray(part.table[label])
            y = np.where((f >= 0)[:, None], feats[np.maximum(f, 0)], np.nan)
            # the same centres as the alignment tensors (same segments and window); no dF/F copy
            self.pending.append(build_session_tensors(placeholder_traces(len(y), 1), part.segment, *window,
                                                      self.settings.time_offsets, y, "cpu"))
            return super().sampler_labels(part)

        def samplers(self, tensors, seed, device, reduce=None):
            feature_t, self.pending = self.pending, []
            gen = self.generator(device, seed + 2)
            return super().samplers(tensors, seed, device, reduce) + [
                ContinuousSampler(feature_t, self.settings.time_offsets, gen, reduce,
                                  conditional=self.settings.conditional, delta=self.settings.delta)]

        def supervision(self, facts):
            return super().supervision(facts) + " + image features of the frame shown"

    if NAME in MODES:
        del MODES[NAME]
    MODES.register(NAME, AlignedImageFeatures)
    return NAME


__all__ = ["aligned_image_features", "NAME"]
