"""``behavior`` (CEBRA-Behavior): positives share the label the user chose.

Labels come from ``fit(X, y)`` or, for neurocine sessions, from the label table entry
``behavior_label``. Integer labels (class labels) are discrete; floats (frame indices,
continuous labels, ``(T, D)`` feature rows from ``fit(X, y)``) are continuous, with
``time_delta`` or ``delta`` positives (the nearest label row). With several
sessions the positive comes from another session, which aligns them.
"""

from __future__ import annotations

import numpy as np

from neurocine.embed.modes.base import LearningMode, register
from neurocine.embed.sampling import ContinuousSampler, DiscreteSampler
from neurocine.errors import ConfigError
from neurocine.stimuli import spec_for


@register("behavior")
class Behavior(LearningMode):
    aligns_sessions = True

    @property
    def label_name(self) -> str | None:
        return self.settings.behavior_label

    def check(self, facts):
        if all(f.has_y for f in facts):
            return
        name = self.label_name
        if name is None or not all(name in f.labels for f in facts):
            missing = [f.session_id for f in facts if name is None or name not in f.labels][:3]
            raise ConfigError(f"learning_mode={self.name!r} needs labels: fit(X, y), or sessions whose label table "
                              f"has behavior_label={name!r} (missing in {missing})")

    def sampler_labels(self, part):
        if part.y is not None:
            return part.y
        values = part.table[self.label_name]
        spec = spec_for(self.label_name, values)
        if spec.kind == "class":
            return spec.class_ids(values)
        return np.where(spec.present(values), values, np.nan).astype(np.float64)

    def samplers(self, tensors, seed, device, reduce=None):
        gen = self.generator(device, seed)
        s = self.settings
        offset, any_session = s.time_offsets, s.positive_sessions == "any"
        if tensors[0].key_values is not None:  # integer labels
            return [DiscreteSampler(tensors, offset, gen, reduce, any_session=any_session)]
        return [ContinuousSampler(tensors, offset, gen, reduce, conditional=s.conditional, delta=s.delta,
                                  any_session=any_session)]

    def supervision(self, facts):
        if all(f.has_y for f in facts):
            return "user labels (fit y)"
        return self.label_name
