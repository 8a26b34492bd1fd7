"""Learning modes: how CEBRA picks positives, one registered class per mode.

A mode says which labels it needs, which per-sample labels its samplers index, how it
samples positives, whether it puts several sessions into one aligned space, and which
labels supervised it. The estimator and the pipeline ask the mode object; nothing else
compares mode names.

Add a mode: one file here with a :class:`~neurocine.embed.modes.base.LearningMode`
subclass decorated with ``@register("name")``, imported below. ``init(name, params)``
builds one (with the fit's :data:`~neurocine.settings.CebraSettings`; the table's defaults
when none are given); ``get_options()`` lists them (the config's ``model.learning_mode``
choices).

Example:
    >>> sorted(get_options())
    ['behavior', 'hybrid', 'stimulus_aligned', 'time_contrastive']
    >>> mode = init("stimulus_aligned")
    >>> mode.aligns_sessions, mode.settings.stimulus_jitter, mode.settings.positive_sessions
    (True, 15, 'any')
"""

from __future__ import annotations

from neurocine.embed.modes.base import MODES, Facts, LearningMode, as_settings, get_options, init, register, resolve

# the built-in modes register themselves on import
from neurocine.embed.modes import time_contrastive, stimulus_aligned, behavior, hybrid  # noqa: E402,F401

__all__ = ["LearningMode", "Facts", "MODES", "register", "init", "get_options", "resolve", "as_settings"]
