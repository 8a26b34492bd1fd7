"""``time_contrastive`` (CEBRA-Time): the positive is ``time_offsets`` samples later.

Label-free. With several sessions each session is contrasted with itself only, so their
embeddings are not aligned.
"""

from __future__ import annotations

from neurocine.embed.modes.base import LearningMode, register
from neurocine.embed.sampling import TimeSampler


@register("time_contrastive")
class TimeContrastive(LearningMode):
    aligns_sessions = False

    def samplers(self, tensors, seed, device, reduce=None):
        return [TimeSampler(tensors, self.settings.time_offsets, self.generator(device, seed), reduce)]
