"""The one settings table: every knob, its type, allowed values, default and help.

Each YAML section (the ``allen_config.yaml`` sections of the original design, the notes
neurocine grew from, plus ``decoding`` and ``reconstruction``) is a dataclass whose fields
are declared with :func:`setting`. That one declaration feeds

* loading: unknown keys, wrong types, values outside their range or choices are refused
  when the config is loaded (before any data is read), with one line naming the key;
* the estimators: ``neurocine.CEBRA`` and ``neurocine.decoders.HalfUNet`` take their
  constructor parameters, defaults and docstrings from the fields marked for them
  (:func:`estimator_params`, :func:`estimator_signature`), so a parameter exists once and
  every one is reachable from YAML;
* the help text, the commented default config (``neurocine config show``) and the docs;
* the command line's shortcut flags (``--data_dir``, ``--batch_size``, ...: rows with a
  ``flag``);
* the check that a resumed run or a reused results folder was made with the same settings
  (rows with ``affects_results=False`` may differ; ``run_length=True`` rows may grow on
  ``--resume``).

Every section is frozen: a config is built once, validated, and passed as is; code that
needs other values makes a new one (:meth:`Config.override`).

Example:
    >>> cfg = Config.from_dict({"dataset": {"data_dir": "data", "mode": "pad"}})
    >>> cfg.dataset.mode, cfg.model.batch_size
    ('pad', 512)
    >>> Config.from_dict({"model": {"batch_size": 0}})
    Traceback (most recent call last):
    ...
    neurocine.errors.ConfigError: config key 'model.batch_size': 0, expected an integer >= 1
"""

from __future__ import annotations

import copy
import dataclasses
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Literal

import yaml

from neurocine.atomic import atomic_write
from neurocine.errors import ConfigError
from neurocine.registry import LEARNING_MODES
from neurocine.settings.build import build, check_fields, walk, renamed_hint


MODES = ("separate", "pad", "first_only")


def setting(default, help: str, *, ge=None, gt=None, le=None, choices: Callable[[], list] | None = None,
            check: Callable[[Any], str | None] | None = None, cebra: str | bool = False,
            halfunet: str | bool = False, affects_results: bool = True, run_length: bool = False,
            flag: tuple[str, ...] = ()):
    """A config field with its rules.

    Args:
        default: Default value (lists are copied per instance).
        help: One line: what it does, and why the default.
        ge, gt, le: Numeric bounds (None: unbounded).
        choices: Callable returning the allowed values, for choices known only at run
            time (registered learning modes, CEBRA's architectures); static choices are
            ``Literal`` annotations.
        check: ``value -> error text or None`` for rules beyond the above.
        cebra, halfunet: This field is a parameter of ``neurocine.CEBRA`` /
            ``neurocine.decoders.HalfUNet``: True (same name) or the parameter's name.
        affects_results: False for settings that do not change what a run computes
            (where it runs, how often it saves): a results folder may be reused or resumed
            with another value.
        run_length: The setting only says how long to train: a resumed run may extend it.
        flag: Command-line shortcut flags (``--batch_size``, ``--batch-size``) of
            ``neurocine train`` / ``run``, besides ``--set KEY=VALUE``.
    """
    meta = dict(help=help, ge=ge, gt=gt, le=le, choices=choices, check=check, estimators={},
                affects_results=affects_results, run_length=run_length, flag=tuple(flag))
    for est, name in (("cebra", cebra), ("halfunet", halfunet)):
        if name:
            meta["estimators"][est] = name
    if isinstance(default, (list, dict)):
        return field(default_factory=lambda: copy.deepcopy(default), metadata=meta)
    return field(default=default, metadata=meta)


def _architectures() -> list[str]:
    import cebra.models  # noqa: PLC0415 - cebra is heavy: only when a config is checked

    return sorted(cebra.models.get_options())


def _learning_modes() -> list[str]:
    return ["auto", *LEARNING_MODES.names()]


def _device(value) -> str | None:
    if value is None or re.fullmatch(r"cpu|cuda|cuda:\d+|mps|cuda_if_available", str(value)):
        return None
    return "expected cpu, cuda, cuda:N, mps or cuda_if_available"


def _shape(value) -> str | None:
    if len(value) != 2 or min(value) < 1 or max(value) > 8192:
        return "expected [H, W] with 1 <= H, W <= 8192"
    return None


@dataclass(frozen=True)
class DatasetConfig:
    """``dataset:``: where the sessions are and how they are prepared."""

    data_dir: str = setting("data", "folder of session files, searched with its sub-folders (AllenSDK caches nest "
                                    "one folder per session)", flag=("--data_dir", "--data-dir"))
    file_pattern: str = setting("*.h5 *.nwb", "globs (space-separated) for session files under data_dir: "
                                              "kirby/brainsets .h5, Allen NWB 1 and 2 .nwb")
    exclude: str = setting("probe_*_lfp.nwb *_truth.npz",
                           "globs (space-separated) of files under data_dir that are not "
                                                          "sessions (Neuropixels LFP files of an AllenSDK cache)")
    max_sessions: int | None = setting(None, "read at most this many files (sorted by name); null for all", ge=1,
                                       flag=("--max_sessions", "--max-sessions"))
    mode: Literal["separate", "pad", "first_only"] = setting(
        "separate", "separate: one encoder per session (neuron counts differ); pad: one encoder on inputs "
                    "zero-padded to the largest N; first_only: the first session alone", flag=("--mode",))
    normalize: bool = setting(True, "z-score each neuron with train-split statistics (applied to every split)")
    normalize_time: bool = setting(True, "map timestamps to [0, 1] over each session")
    skip_bad: bool = setting(False, "skip unreadable session files (listed) instead of stopping",
                             affects_results=False)
    movie_path: str | None = setting(None, "natural_movie_one frames, (900, H, W) uint8 .npy; "
                                           "default <data_dir>/natural_movie_one.npy")
    train_on: Literal["movie", "all"] = setting(
        "movie", "samples that train the embedding: the movie samples of sessions that show a movie (movie: "
                 "frame ID reaches cebra.CEBRA's accuracy 2-3x sooner; sessions without a movie use all) or every "
                 "sample of the train split (all); every split is still embedded")
    areas: list[str] = setting(["VIS*"], "spikes: the brain areas whose units are kept (fnmatch patterns of "
                                         "electrodes.location: VISp, VIS*, LGd, ...)")
    bin_s: float = setting(1 / 30, "spikes: bin width in seconds (one movie frame by default, so frame labels stay "
                                   "exact)", gt=0, le=60)
    populations: Literal["session", "per_area"] = setting(
        "session", "spikes: one population (encoder) per session, or per area of a session (the visual areas differ)")
    spike_transform: Literal["none", "sqrt", "anscombe"] = setting(
        "none", "spikes: the encoder sees counts (none) or a variance-stabilised version (sqrt, anscombe)")
    unit_filter: Literal["allensdk", "none"] = setting(
        "allensdk", "spikes: AllenSDK's default unit filter (quality good, ISI violations <= 0.5, presence ratio >= "
                    "0.95, amplitude cutoff <= 0.1; a valid peak channel in a named area), or every unit (none)")
    simulate: bool = setting(False, "simulate the demo sessions into data_dir when it is missing or empty "
                                    "(never otherwise: a missing data_dir is an error)")
    simulate_seed: int = setting(0, "seed of the simulated sessions", ge=0)

    def validate(self) -> None:
        """Re-check the section (for code that edits a loaded config)."""
        check_fields(self, "dataset.")


@dataclass(frozen=True)
class ModelConfig:
    """``model:``: the CEBRA encoder, loss and sampling (names follow ``cebra.CEBRA``)."""

    model_architecture: str = setting("offset10-model", "encoder from CEBRA's registry (offset10-model sees "
                                                        "10 samples = 0.33 s)", choices=_architectures, cebra=True)
    device: str = setting("cuda_if_available", "cpu, cuda, cuda:N, mps or cuda_if_available (a missing GPU "
                                               "falls back to the CPU with a warning)", check=_device,
                          cebra=True, halfunet=True, affects_results=False, flag=("--device",))
    criterion: Literal["infonce"] = setting("infonce", "contrastive loss (CEBRA's InfoNCE)", cebra=True)
    distance: Literal["cosine", "euclidean"] = setting("cosine", "similarity of embeddings in the loss", cebra=True)
    conditional: Literal["time_delta", "delta", "time"] = setting(
        "time_delta", "continuous-label positives: time_delta (label change seen over time_offsets) or delta "
                      "(Gaussian with std delta); time forces time-contrastive learning", cebra=True)
    temperature: float = setting(0.2, "InfoNCE temperature; CEBRA's 1.0 separates 900 movie frames poorly with "
                                      "cosine similarity", gt=0, cebra=True)
    temperature_mode: Literal["constant", "auto"] = setting("constant", "constant, or auto (learned)", cebra=True)
    min_temperature: float | None = setting(0.1, "lower bound of a learned temperature", gt=0, cebra=True)
    time_offsets: int = setting(10, "samples between a reference and its time positive (10 = 0.33 s at 30 Hz)",
                                ge=1, cebra=True)
    delta: float = setting(0.1, "label jitter std for conditional: delta", gt=0, cebra=True)
    max_iterations: int = setting(5000, "optimizer steps", ge=1, cebra=True, run_length=True,
                                  flag=("--max_iterations", "--max-iterations"))
    batch_size: int = setting(512,
                              "references per session per step (also the negatives); the original design's 4 gives "
                                   "3 negatives and a noisy, biased InfoNCE", ge=1, le=1 << 20, cebra=True,
                                   flag=("--batch_size", "--batch-size"))
    learning_rate: float = setting(3e-3, "Adam learning rate (cebra's 3e-4 reaches the same validation frame ID "
                                         "about 5x later; 1e-2 was no better)", gt=0, cebra=True)
    weight_decay: float = setting(0.0, "decoupled weight decay of the encoder (AdamW; 0: Adam, as cebra); measured "
                                       "on the real movie's validation folds: see docs/numbers.md", ge=0, le=1,
                                  cebra=True)
    output_dimension: int = setting(32, "embedding dimension", ge=1, le=4096, cebra=True)
    num_hidden_units: int = setting(32, "hidden units of the encoder", ge=1, le=16384, cebra=True)
    hybrid: bool = setting(False, "add a time-contrastive loss to a label or stimulus loss", cebra=True)
    learning_mode: str = setting("auto", "auto (labels -> behavior; stimulus labels -> stimulus_aligned; else "
                                         "time_contrastive) or a registered mode", choices=_learning_modes, cebra=True)
    behavior_label: str | None = setting("natural_movie_one.frame", "label of the session table that behavior "
                                                                    "and hybrid modes train on (when fit gets no y)",
                                         cebra=True)
    negatives: Literal["session", "pooled", "in_batch"] = setting(
        "in_batch", "negatives of a reference: its own session's (session), every session's, as cebra's "
                    "multi-session solver does (pooled), or the batch's positives, as SimCLR/CLIP do (in_batch: no "
                    "negative samples are encoded, a third less work; the fastest to a good embedding on validation)",
        cebra=True)
    negative_block: int = setting(
        8, "in_batch and pooled negatives come from the sessions of the reference's block of this many sessions, "
           "blocks redrawn at random each step, so a step's cost grows linearly with the session count (all "
           "sessions at once: 256 sessions ran 30x slower per session than 4); 0: every session (quadratic). "
           "Fits with at most this many sessions are unchanged", cebra=True, ge=0)
    positive_sessions: Literal["other", "any"] = setting(
        "any", "label positives of a multi-session fit come from another session (other) or from a random "
               "session, the reference's own included (any, as cebra; faster to a good embedding on validation)",
        cebra=True)
    grouped_sessions: Literal["auto", "on", "off"] = setting(
        "auto", "run the sessions' encoders as grouped convolutions in one call (on), one after the other "
                "(off), or grouped on CUDA from 16 sessions on (auto; on a CPU a step measured no consistent gain, "
                "0.85-1.12x from 4 to 256 sessions)", cebra=True, affects_results=False)
    stimulus_jitter: int = setting(15, "stimulus_aligned positives lie up to this many samples away in stimulus "
                                       "time (0: the same frame); keeps the embedding smooth", ge=0, cebra=True)
    input_normalization: Literal["none", "sample"] = setting(
        "none", "normalise each sample of the encoder's input across neurons (sample: the embedding ignores a gain or "
                "offset shared by the population at a moment, as a correlation template does) or not (none)",
        cebra=True)
    input_smoothing: float | None = setting(
        None, "smooth each neuron's input window along time with a fixed Gaussian of this std in samples before the "
              "encoder (0: off; the window every decoder shares is unchanged); null: by each session's signal, 8 "
              "samples for spike counts (real 2P spikes, validation folds: margin over the strongest baseline "
              "-0.098 -> +0.008) and 0 for dF/F",
        ge=0, le=100, cebra=True)
    augment_gain: float = setting(0.0, "training windows scaled by exp(N(0, sd)), one factor per window shared by its "
                                       "neurons (0: off)", ge=0, le=5, cebra=True)
    augment_offset: float = setting(0.0, "training windows shifted by N(0, sd) z-units, one shift per window "
                                         "(0: off)", ge=0, le=10, cebra=True)
    neuron_dropout: float = setting(0.0, "each training window's neurons zeroed with this probability (0: off)", ge=0,
                                    le=0.9, cebra=True)
    mixed_precision: bool = setting(True, "bf16 autocast on CUDA", cebra=True, halfunet=True)
    compile: bool = setting(False, "torch.compile the encoders (first steps slower)", cebra=True,
                            affects_results=False)


@dataclass(frozen=True)
class EarlyStoppingConfig:
    """``training.early_stopping:``: stop when the validation loss stops improving."""

    enabled: bool = setting(True, "stop early on validation InfoNCE", cebra="early_stopping")
    patience: int = setting(10, "validations without improvement before stopping", ge=1, cebra="patience")
    min_delta: float = setting(0.0, "smallest decrease that counts as an improvement", ge=0, cebra="min_delta")


@dataclass(frozen=True)
class TrainingConfig:
    """``training:``: how long, how often to validate and checkpoint, the seed."""

    max_epochs: int | None = setting(None, "also stop after this many passes over the train samples "
                                           "(whichever of this and max_iterations comes first); null: no bound",
                                     ge=1, cebra=True, run_length=True)
    early_stopping: EarlyStoppingConfig = field(default_factory=EarlyStoppingConfig)
    validate_every: int = setting(100, "steps between validation losses", ge=1, cebra=True)
    checkpoint_every: int = setting(500, "steps between checkpoints (0: only at the end)", ge=0, cebra=True,
                                    affects_results=False)
    seed: int = setting(0, "seed of weights, sampling and decoders; a seeded CPU run is reproducible", ge=0,
                        cebra=True, halfunet=True)
    seed_repeats: int = setting(1, "fit the embedding with this many seeds (seed, seed + 1, ...) and report the "
                                   "frame ID's mean and sd over them (each repeat costs one training)", ge=1)
    tensorboard: bool = setting(True, "write TensorBoard event files (losses, learning rate, steps/s) to "
                                      "<output_dir>/tensorboard when the tensorboard package is installed")
    label_free_model: bool = setting(True, "also train a label-free (time-contrastive) model with the same "
                                           "settings, decoded beside the main one, so a supervised embedding is "
                                           "never shown alone (doubles training time)")


@dataclass(frozen=True)
class DecodingConfig:
    """``decoding:``: frame identification and classification."""

    n_neighbors: int = setting(5, "neighbours of the kNN decoders", ge=1)
    tolerance_frames: int = setting(30, "a frame within this many frames counts as identified (30 = 1 s)", ge=0)


@dataclass(frozen=True)
class EvaluationConfig:
    """``evaluation:``: how decoding is measured beyond the file's own split."""

    folds: int | None = setting(
        None, "cross-validate with this many folds (stage cross-validate): movie repeats in contiguous blocks and "
              "trials stratified by condition, each a test fold once, the next fold validating, the embedding "
              "retrained per fold; intervals over folds; at least 3 (with 2 no block is left to validate on). "
              "null: the file's split only (one training)", ge=3, le=100)


@dataclass(frozen=True)
class NovelFramesConfig:
    """``novel_frames:``: reconstruction of movie frames never seen in training. The movie
    is cut into ``blocks`` contiguous blocks; for each block run it is removed from every
    train and valid repeat (for the embedding and for every decoder) and reconstructed
    from the test repeat."""

    enabled: bool = setting(True, "run the held-out-frames protocol (stage reconstruct-novel)")
    blocks: int = setting(6, "contiguous blocks the movie is cut into (6: 150-frame blocks of natural_movie_one); "
                             "named blocks, not folds: evaluation.folds is cross-validation", ge=2)
    run_blocks: int = setting(1, "how many of the blocks to hold out in turn (the first ones); each trains its own "
                                 "embedding", ge=1)


@dataclass(frozen=True)
class ReconstructionConfig:
    """``reconstruction:``: the HalfUNet decoder from embeddings to frames."""

    enabled: bool = setting(True, "run the reconstruct stage")
    num_epochs: int = setting(30, "maximum epochs (early stopping may end sooner)", ge=1, halfunet=True)
    lr: float = setting(1e-3, "peak AdamW learning rate (cosine schedule)", gt=0, halfunet=True)
    batch_size: int = setting(64, "images per step", ge=1, le=1 << 16, halfunet=True)
    loss_fn: Literal["mse", "l1", "bce", "l1_ssim", "l1_ssim_edges"] = setting(
        "l1_ssim", "0.84 (1 - SSIM) + 0.16 L1 (Zhao et al. 2017); the original design's mse gives blurrier frames; "
        "l1_ssim_edges adds Sobel-edge and contrast matching terms (docs/numbers.md)", halfunet=True)
    input_noise: float = setting(1.0, "Gaussian noise on the training embeddings, in their std (0 disables)",
                                 ge=0, halfunet=True)
    latent_dim: int | None = setting(None, "internal latent size (null: the embedding dimension); >= 1024 "
                                           "selects ComplexLargeUNetDecoderOnly", ge=1, le=1 << 16, halfunet=True)
    patience: int | None = setting(3, "epochs without validation improvement before stopping (null: never)",
                                   ge=1, halfunet=True)
    weight_decay: float = setting(1e-4, "AdamW weight decay", ge=0, halfunet=True)
    target_normalization: Literal["global", "pixel"] = setting(
        "global", "targets standardised by one mean (global) or by the mean training frame per pixel (pixel: an "
                  "untrained decoder outputs the mean frame, the floor)", halfunet=True)
    max_train_samples: int | None = setting(None, "train on at most this many samples (a CPU budget); null: all",
                                            ge=1)
    output_shape: list[int] = setting([64, 128], "[H, W] of the decoded frames", check=_shape, halfunet=True)
    gradient_checkpointing: bool = setting(False, "recompute activations in backward to save memory",
                                           halfunet=True)


@dataclass(frozen=True)
class Config:
    """The whole configuration (every section optional in YAML)."""

    dataset: DatasetConfig = field(default_factory=DatasetConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    training: TrainingConfig = field(default_factory=TrainingConfig)
    decoding: DecodingConfig = field(default_factory=DecodingConfig)
    reconstruction: ReconstructionConfig = field(default_factory=ReconstructionConfig)
    novel_frames: NovelFramesConfig = field(default_factory=NovelFramesConfig)
    evaluation: EvaluationConfig = field(default_factory=EvaluationConfig)
    output_dir: str = setting("results", "results folder (made by neurocine, or one it made before)",
                              check=lambda v: None if str(v).strip() else "expected a folder path",
                              affects_results=False, flag=("--out",))

    @classmethod
    def from_dict(cls, data: dict | None) -> "Config":
        """Build and validate from a nested dict; unknown keys and bad values raise
        :class:`ConfigError` naming the key."""
        cfg = build(cls, data or {}, "")
        check_fields(cfg, "")
        return cfg

    @classmethod
    def load(cls, path: str | Path) -> "Config":
        """Read and validate a YAML file."""
        path = Path(path)
        if not path.is_file():
            raise ConfigError(f"{path}: config file not found")
        try:
            data = yaml.safe_load(path.read_text())
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
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
        """A validated copy with ``{"model.batch_size": 8, "reconstruction.patience": None,
        ...}`` applied (None sets a setting to null, where the table allows it); ``self`` is
        not modified. A section is set key by key: ``{"model": 0}`` is refused."""
        data = self.to_dict()
        for key, value in dotted.items():
            node = data
            parts = key.split(".")
            for p in parts[:-1]:
                if p not in node or not isinstance(node[p], dict):
                    raise ConfigError(f"unknown config key '{key}'")
                node = node[p]
            if parts[-1] not in node:
                raise ConfigError(f"unknown config key '{key}'" + renamed_hint(key))
            if isinstance(node[parts[-1]], dict):
                first = next(iter(node[parts[-1]]), "KEY")
                raise ConfigError(f"config key '{key}' is a section; set its settings one by one, e.g. "
                                  f"{key}.{first}=...")
            node[parts[-1]] = value
        return Config.from_dict(data)

    def save(self, path: str | Path) -> Path:
        """Write YAML atomically."""
        text = yaml.safe_dump(self.to_dict(), sort_keys=False)
        return atomic_write(path, lambda tmp: tmp.write_text(text))


#: Every setting at its default: where a function's keyword default is a setting, it reads it
#: from here (``n_neighbors: int = DEFAULT.decoding.n_neighbors``), so no default is restated.
DEFAULT = Config()


def help_table() -> list[tuple[str, Any, str]]:
    """``[(config key, default, help), ...]`` for every setting."""
    return [(key, default, f.metadata.get("help", "")) for key, f, _, default in walk(Config)]


def rows() -> list[tuple[str, dataclasses.Field, Any, Any]]:
    """``(dotted key, field, type hint, default)`` of every setting, in table order."""
    return list(walk(Config))


def keys_where(flag: str) -> tuple[str, ...]:
    """Dotted keys of the rows whose metadata ``flag`` is set (``run_length``) or, for
    ``affects_results``, unset: the settings that do not change results."""
    if flag == "affects_results":
        return tuple(k for k, f, _, _ in walk(Config) if not f.metadata.get("affects_results", True))
    return tuple(k for k, f, _, _ in walk(Config) if f.metadata.get(flag))


__all__ = ["Config", "DatasetConfig", "ModelConfig", "TrainingConfig", "EarlyStoppingConfig", "DecodingConfig",
           "ReconstructionConfig", "NovelFramesConfig", "EvaluationConfig", "MODES", "DEFAULT", "setting",
           "help_table", "rows", "keys_where"]
