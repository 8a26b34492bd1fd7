"""``hybrid``: a label mode plus a time-contrastive loss, summed each step (CEBRA's
``hybrid=True``).

The label part is ``behavior`` when ``fit`` gets labels (or ``learning_mode: behavior`` with
``hybrid: true``), else ``stimulus_aligned``.
"""

from __future__ import annotations

from neurocine.embed.modes.base import LearningMode, register
from neurocine.embed.modes.behavior import Behavior
from neurocine.embed.modes.stimulus_aligned import StimulusAligned
from neurocine.embed.modes.time_contrastive import TimeContrastive


@register("hybrid")
class Hybrid(LearningMode):
    aligns_sessions = True

    def __init__(self, settings=None, inner: str | None = None):
        super().__init__(settings)
        self.inner_name = inner
        self.inner = None

    def check(self, facts):
        name = self.inner_name or ("behavior" if all(f.has_y for f in facts) else "stimulus_aligned")
        self.inner = (Behavior if name == "behavior" else StimulusAligned)(self.settings)
        self.inner.check(facts)

    def sampler_labels(self, part):
        return self.inner.sampler_labels(part)

    def samplers(self, tensors, seed, device, reduce=None):
        return (self.inner.samplers(tensors, seed, device, reduce)
                + TimeContrastive(self.settings).samplers(tensors, seed + 1, device, reduce))

    def supervision(self, facts):
        return self.inner.supervision(facts)
