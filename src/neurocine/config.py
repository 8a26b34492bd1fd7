"""One typed configuration, read from YAML (the seed's ``allen_config.yaml`` sections).

Unknown keys are errors that name the key; CLI flags override file values; the resolved
config is saved beside the results.

Example:
    >>> cfg = Config.from_dict({"dataset": {"data_dir": "data", "mode": "pad"}})
    >>> cfg.dataset.mode, cfg.model.batch_size
    ('pad', 512)
"""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from neurocine.errors import ConfigError

MODES = ("separate", "pad", "first_only")


@dataclass
class DatasetConfig:
    """``dataset:`` section.

    Attributes:
        data_dir: Folder of ``<session_id>.h5`` files (kirby or brainsets layout).
        file_pattern: Glob for session files.
        max_sessions: Load at most this many (sorted by name); None for all.
        mode: ``separate`` (per-session arrays, default), ``pad`` (concatenated, zero-padded
            to the largest N, with a session index) or ``first_only``.
        normalize: Per-neuron z-score with train-split statistics.
        normalize_time: Map timestamps to [0, 1] over each session's domain.
        skip_bad: Skip unreadable files (listed) instead of stopping.
        movie_path: ``(900, H, W) uint8`` movie frames (.npy); default
            ``<data_dir>/natural_movie_one.npy``.
    """

    data_dir: str = "data"
    file_pattern: str = "*.h5"
    max_sessions: int | None = None
    mode: str = "separate"
    normalize: bool = True
    normalize_time: bool = True
    skip_bad: bool = False
    movie_path: str | None = None

    def validate(self) -> None:
        if self.mode not in MODES:
            raise ConfigError(f"dataset.mode: unknown mode {self.mode!r}; expected one of {', '.join(MODES)}")
        if self.max_sessions is not None and self.max_sessions <= 0:
            raise ConfigError(f"dataset.max_sessions: {self.max_sessions}, expected a positive integer or null")


@dataclass
class EarlyStoppingConfig:
    """``training.early_stopping``: stop when validation loss has not improved for
    ``patience`` validations (by at least ``min_delta``)."""

    enabled: bool = True
    patience: int = 10
    min_delta: float = 0.0


@dataclass
class ModelConfig:
    """``model:`` section; names follow ``cebra.CEBRA``.

    ``batch_size`` defaults to 512, not the seed's 4: InfoNCE contrasts each reference
    with the other samples of the batch as negatives, so a batch of 4 gives 3 negatives
    per step and a very noisy, biased loss (CEBRA's own examples use 512-4096).
    """

    model_architecture: str = "offset10-model"
    batch_size: int = 512
    learning_rate: float = 3e-4
    output_dimension: int = 32
    num_hidden_units: int = 32
    max_iterations: int = 5000
    learning_mode: str = "stimulus_aligned"
    conditional: str = "time_delta"
    time_offsets: int = 10
    temperature: float = 0.2
    stimulus_jitter: int = 15
    temperature_mode: str = "constant"
    min_temperature: float | None = 0.1
    distance: str = "cosine"
    device: str = "cuda_if_available"
    mixed_precision: bool = True
    compile: bool = False


@dataclass
class TrainingConfig:
    """``training:`` section.

    ``max_epochs`` bounds training in passes over the train samples; training stops at
    whichever of ``model.max_iterations`` and ``max_epochs`` comes first.
    """

    max_epochs: int = 100
    early_stopping: EarlyStoppingConfig = field(default_factory=EarlyStoppingConfig)
    validate_every: int = 100
    checkpoint_every: int = 500
    seed: int = 0


@dataclass
class DecodingConfig:
    """``decoding:`` frame-identification settings."""

    n_neighbors: int = 5
    tolerance_frames: int = 30


@dataclass
class ReconstructionConfig:
    """``reconstruction:`` HalfUNet settings (see :func:`neurocine.decoders.halfunet_decoding`)."""

    enabled: bool = True
    num_epochs: int = 30
    lr: float = 1e-3
    batch_size: int = 64
    loss_fn: str = "l1_ssim"      # seed: mse; SSIM in the loss gave +0.05 SSIM on the demo
    input_noise: float = 1.0      # augmentation, in embedding stds (0 disables)
    latent_dim: int | None = None
    patience: int = 3
    max_train_samples: int | None = None
    output_shape: list[int] = field(default_factory=lambda: [64, 128])
    gradient_checkpointing: bool = False


@dataclass
class Config:
    """The whole configuration."""

    dataset: DatasetConfig = field(default_factory=DatasetConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    training: TrainingConfig = field(default_factory=TrainingConfig)
    decoding: DecodingConfig = field(default_factory=DecodingConfig)
    reconstruction: ReconstructionConfig = field(default_factory=ReconstructionConfig)
    output_dir: str = "results"

    @classmethod
    def from_dict(cls, data: dict | None) -> "Config":
        """Build from a nested dict; unknown keys raise :class:`ConfigError`."""
        cfg = _build(cls, data or {}, "")
        cfg.dataset.validate()
        return cfg

    @classmethod
    def load(cls, path: str | Path) -> "Config":
        """Read a YAML file."""
        path = Path(path)
        if not path.is_file():
            raise ConfigError(f"{path}: config file not found")
        try:
            data = yaml.safe_load(path.read_text())
        except yaml.YAMLError as exc:
            raise ConfigError(f"{path}: invalid YAML ({str(exc).splitlines()[0]})") from exc
        if data is not None and not isinstance(data, dict):
            raise ConfigError(f"{path}: expected a mapping of sections (dataset, model, training, ...)")
        try:
            return cls.from_dict(data)
        except ConfigError as exc:
            raise ConfigError(f"{path}: {exc}") from None

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def override(self, dotted: dict[str, Any]) -> "Config":
        """Return a copy with ``{"model.batch_size": 8, ...}`` applied (None values skipped)."""
        data = self.to_dict()
        for key, value in dotted.items():
            if value is None:
                continue
            node = data
            parts = key.split(".")
            for p in parts[:-1]:
                if p not in node or not isinstance(node[p], dict):
                    raise ConfigError(f"unknown config key '{key}'")
                node = node[p]
            if parts[-1] not in node:
                raise ConfigError(f"unknown config key '{key}'")
            node[parts[-1]] = value
        return Config.from_dict(data)

    def save(self, path: str | Path) -> Path:
        """Write YAML atomically."""
        from neurocine.atomic import atomic_path

        with atomic_path(path) as tmp:
            tmp.write_text(yaml.safe_dump(self.to_dict(), sort_keys=False))
        return Path(path)


def _build(cls, data: dict, prefix: str):
    if not isinstance(data, dict):
        raise ConfigError(f"'{prefix.rstrip('.') or 'config'}' must be a mapping, got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - names)
    if unknown:
        raise ConfigError(f"unknown config key '{prefix}{unknown[0]}' (known in this section: {', '.join(sorted(names))})")
    kwargs = {}
    for key, value in data.items():
        hint = hints[key]
        if dataclasses.is_dataclass(hint):
            kwargs[key] = _build(hint, value or {}, f"{prefix}{key}.")
        else:
            kwargs[key] = _coerce(value, hint, f"{prefix}{key}")
    return cls(**kwargs)


def _coerce(value, hint, key: str):
    if typing.get_origin(hint) is list:
        item = typing.get_args(hint)[0]
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"config key '{key}': {value!r} is not a list")
        return [_coerce(v, item, f"{key}[{i}]") for i, v in enumerate(value)]
    args = typing.get_args(hint)
    optional = type(None) in args
    base = next((a for a in args if a is not type(None)), hint) if args else hint
    if value is None:
        if optional:
            return None
        raise ConfigError(f"config key '{key}' must not be null")
    try:
        if base is bool:
            if isinstance(value, bool):
                return value
            raise ValueError
        if base is int:
            if isinstance(value, bool) or float(value) != int(float(value)):
                raise ValueError
            return int(float(value))
        if base is float:
            if isinstance(value, bool):
                raise ValueError
            return float(value)
        if base is str:
            if not isinstance(value, (str, int, float)) or isinstance(value, bool):
                raise ValueError
            return str(value)
    except (TypeError, ValueError):
        raise ConfigError(f"config key '{key}': {value!r} is not a valid {getattr(base, '__name__', base)}") from None
    return value
