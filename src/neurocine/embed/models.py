"""Encoders and criterions: thin wrappers over CEBRA's own registry and losses.

Architectures come from ``cebra.models.init`` (``offset10-model``, ``offset5-model``,
``offset1-model``, ``offset36-model``, ...) and losses from ``cebra.models.criterions``;
nothing here re-implements them.
"""

from __future__ import annotations

import warnings

import cebra.models
import torch
from cebra.models import criterions
from torch import nn

from neurocine.data.normalise import smoothing_matrix
from neurocine.errors import ConfigError


def available_models() -> list[str]:
    """Names in CEBRA's model registry."""
    return sorted(cebra.models.get_options())


def init_encoder(name: str, num_neurons: int, num_units: int, num_output: int) -> nn.Module:
    """``cebra.models.init(name, ...)`` with a one-line error for unknown names."""
    options = cebra.models.get_options()
    if name not in options:
        near = [o for o in options if o.startswith(name.split("-")[0])][:6]
        raise ConfigError(f"model.model_architecture: unknown model {name!r} (e.g. {', '.join(near or options[:6])})")
    return cebra.models.init(name, num_neurons=num_neurons, num_units=num_units, num_output=num_output)


def receptive_field(encoder: nn.Module) -> tuple[int, int]:
    """``(left, right)``: the window ``[c - left, c + right)`` the encoder sees for sample c."""
    off = encoder.get_offset()
    return int(off.left), int(off.right)


class SampleNormalized(nn.Module):
    """A CEBRA encoder whose input is first normalised per sample across neurons (each time
    point of a window minus the population's mean, over its standard deviation): the
    embedding then ignores a gain or offset shared by the whole population at a moment
    (arousal, running, neuropil), as a correlation-based template decoder does."""

    def __init__(self, encoder: nn.Module):
        super().__init__()
        self.encoder = encoder

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x (B, N, W)`` -> the encoder's output on ``x`` normalised over N."""
        mean = x.mean(dim=1, keepdim=True)
        std = x.std(dim=1, keepdim=True, unbiased=False).clamp(min=1e-6)
        return self.encoder((x - mean) / std)

    def get_offset(self):
        return self.encoder.get_offset()


class SmoothedInput(nn.Module):
    """A CEBRA encoder whose input window is first smoothed along time, each neuron by the
    same fixed Gaussian of standard deviation ``sigma`` samples, cut at the window's edges
    and renormalised there (:func:`neurocine.data.normalise.smoothing_matrix`): sparse
    spikes become rates before the first learned layer. The window (the receptive field
    every baseline shares) is unchanged; no weight is added."""

    def __init__(self, encoder: nn.Module, sigma: float):
        super().__init__()
        if not sigma > 0:
            raise ConfigError(f"model.input_smoothing: {sigma!r}, expected a standard deviation > 0 samples")
        self.encoder = encoder
        self.sigma = float(sigma)
        left, right = receptive_field(encoder)
        self.register_buffer("matrix", torch.from_numpy(smoothing_matrix(left + right, sigma)), persistent=False)

    #: Windows per encoder call when a long input is read window by window.
    CHUNK = 4096

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x (B, N, W)`` -> ``(B, D)``, the encoder's output on each window smoothed over
        W; a longer input ``(B, N, L)`` (``transform``) -> ``(B, D, L - W + 1)``, each
        output read from its own window smoothed within it, as in training (smoothing the
        whole input at once would let each output see beyond its window)."""
        matrix = self.matrix.to(x.dtype)
        W = matrix.shape[0]
        if x.shape[-1] == W:
            return self.encoder(x @ matrix.T)
        B, N = x.shape[0], x.shape[1]
        windows = (x.unfold(2, W, 1) @ matrix.T).permute(0, 2, 1, 3).reshape(-1, N, W)  # (B * L', N, W)
        out = torch.cat([self.encoder(windows[i:i + self.CHUNK]) for i in range(0, len(windows), self.CHUNK)])
        return out.reshape(B, -1, out.shape[-1]).permute(0, 2, 1)

    def get_offset(self):
        return self.encoder.get_offset()


#: What ``model.input_smoothing: null`` gives a session of spike counts (Gaussian std in
#: samples; dF/F sessions get none): chosen on the validation folds of the real Allen 2P
#: session 501574836 (docs/numbers.md, "Levers on the validation folds").
SPIKE_SMOOTHING = 8.0


def session_smoothing(setting: float | None, modality: str) -> float:
    """The input smoothing of one session: the setting, or by its signal when it is None
    (spike counts: :data:`SPIKE_SMOOTHING`; dF/F, already smoothed by the calcium
    indicator: 0).

    Example:
        >>> session_smoothing(None, "spikes"), session_smoothing(None, "dff"), session_smoothing(1.0, "dff")
        (8.0, 0.0, 1.0)
    """
    if setting is not None:
        return float(setting)
    return SPIKE_SMOOTHING if modality == "spikes" else 0.0


def smoothing_of(encoder: nn.Module) -> float:
    """The input smoothing an encoder applies (0: none)."""
    return encoder.sigma if isinstance(encoder, SmoothedInput) else 0.0


def with_input(encoder: nn.Module, input_normalization: str = "none", smoothing: float = 0.0) -> nn.Module:
    """``encoder`` behind the input transforms the settings ask for: smoothing along time
    (``smoothing`` samples: ``model.input_smoothing`` resolved for the session) first, then
    normalisation across neurons (``model.input_normalization``)."""
    if input_normalization not in ("none", "sample"):
        raise ConfigError(f"model.input_normalization: {input_normalization!r}, expected 'none' or 'sample'")
    if input_normalization == "sample":
        encoder = SampleNormalized(encoder)
    return SmoothedInput(encoder, smoothing) if smoothing else encoder


class MultiSessionEncoder(nn.Module):
    """One CEBRA encoder per session (inputs differ in N), one shared output space.

    Args:
        name: CEBRA architecture name.
        num_neurons: Neurons per session.
        num_units: Hidden units.
        num_output: Output dimension.
        input_normalization: ``"none"`` or ``"sample"`` (:class:`SampleNormalized`).
        smoothing: Input smoothing, Gaussian std in samples (:class:`SmoothedInput`; 0:
            none), one number for every session or one per session: ``model.input_smoothing``
            resolved per session (:func:`session_smoothing`).
    """

    def __init__(self, name: str, num_neurons: list[int], num_units: int, num_output: int,
                 input_normalization: str = "none", smoothing: float | list[float] = 0.0):
        super().__init__()
        smoothing = list(smoothing) if isinstance(smoothing, (list, tuple)) else [smoothing] * len(num_neurons)
        if len(smoothing) != len(num_neurons):
            raise ConfigError(f"model.input_smoothing: {len(smoothing)} values for {len(num_neurons)} sessions")
        self.encoders = nn.ModuleList(with_input(init_encoder(name, n, num_units, num_output), input_normalization,
                                                 sigma) for n, sigma in zip(num_neurons, smoothing))
        self.num_neurons = [int(n) for n in num_neurons]
        self.left, self.right = receptive_field(self.encoders[0])
        self.num_output = int(num_output)

    def __len__(self) -> int:
        return len(self.encoders)

    def forward(self, session: int, windows: torch.Tensor) -> torch.Tensor:
        """``windows (B, N_s, left + right)`` -> ``(B, D)``."""
        return self.encoders[session](windows)


def make_criterion(distance: str = "cosine", temperature_mode: str = "constant", temperature: float = 1.0,
                   min_temperature: float | None = 0.1) -> nn.Module:
    """CEBRA's InfoNCE: cosine or euclidean similarity, fixed or learnable temperature."""
    if distance not in ("cosine", "euclidean"):
        raise ConfigError(f"model.distance: {distance!r}, expected 'cosine' or 'euclidean'")
    if temperature_mode == "constant":
        cls = criterions.FixedCosineInfoNCE if distance == "cosine" else criterions.FixedEuclideanInfoNCE
        return cls(temperature=temperature)
    if temperature_mode == "auto":
        cls = criterions.LearnableCosineInfoNCE if distance == "cosine" else criterions.LearnableEuclideanInfoNCE
        return cls(temperature=temperature, min_temperature=min_temperature)
    raise ConfigError(f"model.temperature_mode: {temperature_mode!r}, expected 'constant' or 'auto'")


def resolve_device(name: str) -> torch.device:
    """``cpu``, ``cuda``, ``cuda:K``, ``mps`` or ``cuda_if_available``; asking for an absent
    accelerator falls back to CPU with a warning (configs are shared between machines)."""
    name = str(name)
    if name == "cuda_if_available":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        warnings.warn(f"device={name!r} but CUDA is not available; using the CPU", RuntimeWarning, stacklevel=2)
        return torch.device("cpu")
    if name == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        warnings.warn("device='mps' but MPS is not available; using the CPU", RuntimeWarning, stacklevel=2)
        return torch.device("cpu")
    try:
        return torch.device(name)
    except RuntimeError as exc:
        raise ConfigError(f"device: {name!r} is not a device (cpu, cuda, cuda_if_available, mps)") from exc
