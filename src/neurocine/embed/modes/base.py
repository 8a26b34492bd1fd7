"""The :class:`LearningMode` base class and the mode registry."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import torch

from neurocine.errors import ConfigError
from neurocine.registry import LEARNING_MODES
from neurocine.settings import CebraSettings

#: The registered modes (a registry that refuses a second mode of the same name).
MODES = LEARNING_MODES


def register(name: str):
    """Class decorator: register a :class:`LearningMode` under ``name``."""
    def wrap(cls):
        cls.name = name
        MODES.register(name, cls)
        return cls
    return wrap


def get_options() -> list[str]:
    """Names of the registered modes."""
    return list(MODES)


def as_settings(settings) -> CebraSettings:
    """A fit's settings: a :data:`~neurocine.settings.CebraSettings`, or a dict of estimator
    parameters (the others take the table's defaults), or None (every default)."""
    if isinstance(settings, CebraSettings):
        return settings
    return CebraSettings.from_params(settings or {})


def init(name: str, settings=None) -> "LearningMode":
    """The mode registered as ``name``, built with a fit's settings (default: the table's)."""
    if name not in MODES:
        raise ConfigError(f"learning_mode: {name!r}, expected one of auto, {', '.join(MODES)}")
    return MODES[name](settings)


@dataclass
class Facts:
    """What a mode may know about one session's fit input before its tensors are built.

    Attributes:
        session_id: The session's id (or its position).
        num_neurons: N.
        holds: False for a labels-only part (its data is on another process).
        has_y: Labels were passed to ``fit`` (``y``).
        y_integer: ``y`` holds integers (discrete) rather than floats (continuous).
        labels: Names of the session's label table (neurocine inputs; empty for arrays).
        stimuli: Registered stimuli with at least one labelled sample in the part.
        modality: Its signal, ``"dff"`` or ``"spikes"`` (an array: ``"spikes"`` when it
            holds non-negative integers).
    """

    session_id: str
    num_neurons: int
    holds: bool
    has_y: bool
    y_integer: bool
    labels: tuple[str, ...]
    stimuli: tuple[str, ...]
    modality: str = "dff"


class LearningMode:
    """One way of choosing positives.

    Subclasses set :attr:`aligns_sessions` and implement :meth:`check`,
    :meth:`sampler_labels`, :meth:`samplers` and :meth:`supervision`.

    Args:
        settings: The fit's settings (:data:`~neurocine.settings.CebraSettings`:
            ``time_offsets``, ``conditional``, ``delta``, ``stimulus_jitter``,
            ``behavior_label``, ...), a dict of some of them, or None: the table's defaults.
    """

    name: ClassVar[str] = "?"
    #: Several sessions trained in this mode share one embedding space.
    aligns_sessions: ClassVar[bool] = True

    def __init__(self, settings=None):
        self.settings = as_settings(settings)

    # -- what the inputs must have
    def check(self, facts: list[Facts]) -> None:
        """Raise :class:`ConfigError` when the inputs lack what this mode needs."""

    def sampler_labels(self, part) -> np.ndarray | None:
        """Per-sample labels the samplers index for one fit part (None: none)."""
        return None

    # -- how positives are drawn
    def samplers(self, tensors: list, seed: int, device, reduce=None) -> list:
        """The samplers whose losses are summed each step."""
        raise NotImplementedError

    # -- what trained it
    def supervision(self, facts: list[Facts]) -> str:
        """Which labels trained the model (``"none"`` for label-free modes)."""
        return "none"

    @staticmethod
    def generator(device, seed: int) -> torch.Generator:
        return torch.Generator(device=device).manual_seed(seed)


def resolve(name: str, settings, facts: list[Facts]) -> LearningMode:
    """The mode to train with: ``name``, or for ``"auto"``: ``behavior`` when ``y`` was
    given, ``stimulus_aligned`` when every session has stimulus labels, else
    ``time_contrastive`` (with a warning for several sessions: they are not aligned).
    ``conditional="time"`` forces time contrast; ``hybrid=True`` wraps a label mode."""
    settings = as_settings(settings)
    if settings.conditional == "time":
        name = "time_contrastive"
    elif name == "auto":
        if all(f.has_y for f in facts):
            name = "behavior"
        elif all(f.stimuli for f in facts):
            name = "stimulus_aligned"
        else:
            name = "time_contrastive"
            if len(facts) > 1:
                warnings.warn("multi-session fit without labels or stimulus information: sessions are trained "
                              "with per-session time contrast and their embeddings are NOT aligned",
                              RuntimeWarning, stacklevel=4)
    if settings.hybrid and name in ("behavior", "stimulus_aligned"):
        mode = MODES["hybrid"](settings, inner=name)
    else:
        mode = init(name, settings)
    mode.check(facts)
    return mode
