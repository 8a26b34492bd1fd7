"""``neurocine.CEBRA``: an sklearn-style estimator, a drop-in for ``cebra.CEBRA``.

Same parameter names as ``cebra.CEBRA``; defaults chosen for Allen two-photon data (batch
512, 32 output dimensions, offset10-model, time offset 10 samples = 0.33 s). It adds
multi-session training without labels (stimulus-aligned), device-side sampling, early
stopping, checkpoints and a one-file save/load.

Example:
    >>> import numpy as np
    >>> import neurocine
    >>> X = np.random.default_rng(0).normal(size=(2000, 30)).astype("float32")
    >>> model = neurocine.CEBRA(max_iterations=5, batch_size=64, device="cpu", verbose=False)
    >>> model.fit(X).transform(X).shape
    (2000, 32)
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from sklearn.base import BaseEstimator, TransformerMixin

from neurocine.data import SplitData
from neurocine.embed.models import MultiSessionEncoder, make_criterion, resolve_device
from neurocine.embed.sampling import ContrastiveSampler, build_session_tensors, stimulus_keys
from neurocine.embed.trainer import TrainSettings, TrainState, save_atomic, train_contrastive
from neurocine.errors import ConfigError, NeurocineError
from neurocine.session import is_placeholder

LEARNING_MODES = ("auto", "time_contrastive", "stimulus_aligned", "behavior", "hybrid")
FORMAT = "neurocine-cebra-1"


@dataclass
class _Part:
    session_id: str
    neural: np.ndarray
    segment: np.ndarray
    labels: np.ndarray | None
    keys: np.ndarray | None


@dataclass
class _Facts:
    """What fit needs to know about a session before building its tensors."""
    session_id: str
    num_neurons: int
    holds: bool
    has_labels: bool
    has_keys: bool
    integer_labels: bool


class _Parts:
    """Fit inputs as per-session parts, converted on access.

    ``X`` may be a lazy sequence (``len`` and indexing, e.g. :class:`neurocine.data.LazySplits`):
    its items are then read once per pass and not kept, so a distributed rank never holds
    every session's labels at once. Parts of an in-memory list are converted once."""

    def __init__(self, X, y):
        from neurocine.session import Session

        if isinstance(X, (np.ndarray, torch.Tensor, SplitData, Session)):
            X = [X]
            y = None if y is None else [y]
        if not (hasattr(X, "__len__") and hasattr(X, "__getitem__")):
            X = list(X)
        if y is not None:
            if not (hasattr(y, "__len__") and hasattr(y, "__getitem__")):
                y = list(y)
            if len(y) != len(X):
                raise ConfigError(f"fit: {len(X)} sessions but {len(y)} label arrays")
        self.X, self.y = X, y
        self._cache = {} if isinstance(X, (list, tuple)) else None

    def __len__(self) -> int:
        return len(self.X)

    def __getitem__(self, i: int) -> _Part:
        if self._cache is not None and i in self._cache:
            return self._cache[i]
        part = self._convert(i)
        if self._cache is not None:
            self._cache[i] = part
        return part

    def _convert(self, i: int) -> _Part:
        from neurocine.session import Session

        x = self.X[i]
        if isinstance(x, Session):
            from neurocine.data import normalized_splits

            x = normalized_splits([x], "train")[0]
        if isinstance(x, SplitData):
            keys = stimulus_keys(x.movie_frame, x.grating_orientation, x.grating_temporal_frequency, x.segment)
            part = _Part(x.session_id, x.neural, x.segment, None, keys)
        else:
            arr = x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)
            if arr.ndim != 2:
                raise ConfigError(f"fit: session {i} has shape {arr.shape}, expected (T, N)")
            if not np.isfinite(arr).all():
                raise ConfigError(f"fit: session {i} contains NaN/inf values")
            part = _Part(str(i), arr.astype(np.float32), np.zeros(len(arr), dtype=np.int64), None, None)
        if self.y is not None:
            lab = self.y[i]
            lab = np.asarray(lab.detach().cpu() if isinstance(lab, torch.Tensor) else lab)
            if lab.ndim == 2 and lab.shape[1] == 1:
                lab = lab[:, 0]
            if lab.shape[0] != len(part.neural):
                raise ConfigError(f"fit: session {i} has {len(part.neural)} samples but {lab.shape[0]} labels")
            part.labels = lab
        return part

    def facts(self) -> list[_Facts]:
        out = []
        for i in range(len(self)):
            p = self[i]
            out.append(_Facts(p.session_id, int(p.neural.shape[1]), not is_placeholder(p.neural),
                              p.labels is not None, p.keys is not None and bool((p.keys >= 0).any()),
                              p.labels is not None and np.issubdtype(p.labels.dtype, np.integer)))
        return out


class CEBRA(BaseEstimator, TransformerMixin):
    """CEBRA embeddings of one or many sessions.

    Args:
        model_architecture: Name in CEBRA's registry (``offset10-model``, ``offset1-model``, ...).
        device: ``cpu``, ``cuda``, ``cuda_if_available`` or ``mps``.
        criterion: ``"infonce"`` (CEBRA's InfoNCE).
        distance: ``"cosine"`` or ``"euclidean"``.
        conditional: For continuous labels: ``"time_delta"`` (CEBRA's default for
            behavior) or ``"delta"``; ``"time"`` forces time-contrastive learning.
        temperature, temperature_mode, min_temperature: InfoNCE temperature, ``constant``
            or learnable (``auto``).
        time_offsets: Samples between a reference and its time positive (10 = 0.33 s at 30 Hz).
        delta: Label jitter std for ``conditional="delta"``.
        max_iterations: Optimizer steps.
        batch_size: References per session per step (also the negatives). Values below 64
            work but give few negatives and a noisy InfoNCE; a warning says so.
        learning_rate: Adam learning rate.
        output_dimension: Embedding dimension.
        num_hidden_units: Hidden units of the encoder.
        hybrid: Add a time-contrastive loss to the label/stimulus loss.
        learning_mode: ``auto`` (labels -> behavior; sessions with stimulus labels ->
            stimulus_aligned; else time_contrastive), or one of those explicitly.
        validate_every, patience, min_delta: Early stopping on validation InfoNCE
            (needs ``valid`` data in :meth:`fit`).
        checkpoint_every, checkpoint_path: Atomic checkpoints for ``fit(resume=True)``.
        mixed_precision: bf16 autocast on CUDA.
        compile: ``torch.compile`` the encoders.
        seed: Seed of weights and sampling; a seeded CPU run is reproducible.
        stimulus_jitter: Stimulus-aligned positives are drawn up to this many samples
            away in stimulus time (0 = the identical frame), which keeps the embedding
            smooth in stimulus time instead of memorising training repeats.
        verbose: Progress bar.
    """

    def __init__(self, model_architecture: str = "offset10-model", device: str = "cuda_if_available",
                 criterion: str = "infonce", distance: str = "cosine", conditional: str = "time_delta",
                 temperature: float = 0.2, temperature_mode: str = "constant", min_temperature: float | None = 0.1,
                 time_offsets: int = 10, delta: float = 0.1, max_iterations: int = 5000, batch_size: int = 512,
                 learning_rate: float = 3e-4, output_dimension: int = 32, num_hidden_units: int = 32,
                 hybrid: bool = False, learning_mode: str = "auto", validate_every: int = 100,
                 patience: int | None = 10, min_delta: float = 0.0, checkpoint_every: int = 500,
                 checkpoint_path: str | None = None, mixed_precision: bool = True, compile: bool = False,
                 seed: int = 0, verbose: bool = False, stimulus_jitter: int = 15):
        self.model_architecture = model_architecture
        self.device = device
        self.criterion = criterion
        self.distance = distance
        self.conditional = conditional
        self.temperature = temperature
        self.temperature_mode = temperature_mode
        self.min_temperature = min_temperature
        self.time_offsets = time_offsets
        self.delta = delta
        self.max_iterations = max_iterations
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.output_dimension = output_dimension
        self.num_hidden_units = num_hidden_units
        self.hybrid = hybrid
        self.learning_mode = learning_mode
        self.validate_every = validate_every
        self.patience = patience
        self.min_delta = min_delta
        self.checkpoint_every = checkpoint_every
        self.checkpoint_path = checkpoint_path
        self.mixed_precision = mixed_precision
        self.compile = compile
        self.seed = seed
        self.verbose = verbose
        self.stimulus_jitter = stimulus_jitter

    # ------------------------------------------------------------------------ fit
    def _resolve_mode(self, parts: list[_Facts]) -> str:
        mode = self.learning_mode
        if mode not in LEARNING_MODES:
            raise ConfigError(f"learning_mode: {mode!r}, expected one of {', '.join(LEARNING_MODES)}")
        has_labels = all(f.has_labels for f in parts)
        has_keys = all(f.has_keys for f in parts)
        if self.conditional == "time":
            return "time_contrastive"
        if mode == "auto":
            if has_labels:
                mode = "behavior"
            elif has_keys:
                mode = "stimulus_aligned"
            else:
                mode = "time_contrastive"
                if len(parts) > 1:
                    warnings.warn("multi-session fit without labels or stimulus information: sessions are trained "
                                  "with per-session time contrast and their embeddings are NOT aligned",
                                  RuntimeWarning, stacklevel=3)
        if mode == "hybrid":
            mode = "behavior" if has_labels else "stimulus_aligned"
            self._hybrid = True
        if mode == "behavior" and not has_labels:
            raise ConfigError("learning_mode='behavior' needs labels: fit(X, y)")
        if mode == "stimulus_aligned" and not has_keys:
            raise ConfigError("learning_mode='stimulus_aligned' needs sessions with stimulus labels "
                              "(neurocine Session/SplitData with movie frames or gratings)")
        return mode

    def _samplers(self, tensors, mode: str, labels_discrete: bool, generator_seed: int, device, dist_ctx=None):
        def gen(k):
            return torch.Generator(device=device).manual_seed(generator_seed + k)

        reduce = None
        if dist_ctx is not None and not dist_ctx.shared_encoder:
            from neurocine.embed.distributed import sum_across_ranks

            reduce = lambda t: sum_across_ranks(t, dist_ctx)  # noqa: E731
        common = dict(time_offset=self.time_offsets, conditional=self.conditional, delta=self.delta, reduce=reduce)
        jitter = dict(key_jitter=self.stimulus_jitter if mode == "stimulus_aligned" else 0)
        if mode == "time_contrastive":
            return [ContrastiveSampler(tensors, "time", generator=gen(0), **common)]
        kind = "discrete" if (mode == "stimulus_aligned" or labels_discrete) else "continuous"
        out = [ContrastiveSampler(tensors, kind, generator=gen(0), **common, **jitter)]
        if self.hybrid or getattr(self, "_hybrid", False):
            out.append(ContrastiveSampler(tensors, "time", generator=gen(1), **common))
        return out

    def _tensors(self, parts: _Parts, mode: str, device, dist_ctx=None):
        """Index tensors per session; in a distributed run only a compact summary of the
        sessions another rank owns (sizes and label counts, no per-sample arrays)."""
        left, right = self.model_.left, self.model_.right
        out = []
        for j in range(len(parts)):
            p = parts[j]
            lab = p.keys if mode == "stimulus_aligned" else p.labels if mode == "behavior" else None
            try:
                t = build_session_tensors(p.neural, p.segment, left, right, self.time_offsets, lab, device)
            except ValueError as exc:
                raise ConfigError(f"session {p.session_id}: {exc}") from None
            owned = dist_ctx is None or dist_ctx.shared_encoder or dist_ctx.owner[j] == dist_ctx.rank
            out.append(t if owned else t.summary())
        return out

    def fit(self, X, y=None, valid=None, valid_y=None, resume: bool = False, distributed: bool | None = None) -> "CEBRA":
        """Train on one or many sessions.

        Args:
            X: ``(T, N)`` array, a list of them (one per session, N may differ), or
                neurocine :class:`~neurocine.data.SplitData` / :class:`~neurocine.Session` (list).
            y: Labels: ``(T,)`` / ``(T, 1)`` per session (int -> discrete, float ->
                continuous), a list for several sessions, or None.
            valid, valid_y: Validation data of the same form, for early stopping.
            resume: Continue from ``checkpoint_path`` if it exists.
            distributed: Train across the initialised ``torch.distributed`` process group
                (None: when one is initialised with more than one process). Every rank
                passes all sessions; a rank may hold only some sessions' data (others
                as labels-only parts: ``neurocine.pipeline.sharded_splits`` gives a
                rank's lazy view, ``load_sessions(..., with_traces=...)`` an eager one). The
                result equals a one-process fit with the same seed (see
                :mod:`neurocine.embed.distributed`).

        Returns:
            self.
        """
        if self.batch_size is None or self.batch_size < 1:
            raise ConfigError(f"batch_size: {self.batch_size}, expected a positive integer")
        if self.batch_size < 64:
            warnings.warn(f"batch_size={self.batch_size}: InfoNCE uses the other samples of the batch as negatives, "
                          "so a small batch gives a noisy, biased loss; 512 or more is recommended",
                          UserWarning, stacklevel=2)
        if self.criterion != "infonce":
            raise ConfigError(f"criterion: {self.criterion!r}; neurocine implements CEBRA's 'infonce'")
        parts = _Parts(X, y)
        facts = parts.facts()
        self._hybrid = self.learning_mode == "hybrid"
        mode = self._resolve_mode(facts)
        device = resolve_device(self.device)
        torch.manual_seed(self.seed)
        self.model_ = MultiSessionEncoder(self.model_architecture, [f.num_neurons for f in facts],
                                          self.num_hidden_units, self.output_dimension).to(device)
        self.criterion_ = make_criterion(self.distance, self.temperature_mode, self.temperature,
                                         self.min_temperature).to(device)
        discrete = mode == "behavior" and all(f.integer_labels for f in facts)
        holds = [f.holds for f in facts]
        dist_ctx = None
        if distributed is not False:
            from neurocine.embed.distributed import make_context

            dist_ctx = make_context(holds, device)
            if distributed and dist_ctx is None:
                raise ConfigError("fit(distributed=True) needs an initialised torch.distributed process group "
                                  "with more than one process (launch with torchrun)")
        if dist_ctx is None and not all(holds):
            missing = [f.session_id for f in facts if not f.holds][:4]
            raise ConfigError(f"fit: sessions {missing} were read without traces (labels only); outside a "
                              "distributed run every session needs its dF/F")
        train_t = self._tensors(parts, mode, device, dist_ctx)
        samplers = self._samplers(train_t, mode, discrete, self.seed, device, dist_ctx)
        valid_t = valid_s = None
        if valid is not None:
            vparts = _Parts(valid, valid_y)
            vfacts = vparts.facts()
            if [f.num_neurons for f in vfacts] != self.model_.num_neurons:
                raise ConfigError("fit: validation sessions differ from training sessions in neuron counts")
            if [f.holds for f in vfacts] != holds:
                raise ConfigError("fit: validation and training parts must hold the same sessions' data")
            valid_t = self._tensors(vparts, mode, device, dist_ctx)
            valid_s = self._samplers(valid_t, mode, discrete, self.seed + 777, device, dist_ctx)
            del vparts
        session_ids = [f.session_id for f in facts]
        del parts  # only index tensors (and held sessions' data) are needed from here on
        settings = TrainSettings(
            max_steps=int(self.max_iterations), batch_size=int(self.batch_size), learning_rate=self.learning_rate,
            validate_every=int(self.validate_every), patience=self.patience, min_delta=self.min_delta,
            checkpoint_every=int(self.checkpoint_every or 0), checkpoint_path=self.checkpoint_path, resume=resume,
            mixed_precision=self.mixed_precision, compile=self.compile, seed=self.seed, progress=bool(self.verbose))
        self.state_: TrainState = train_contrastive(self.model_, self.criterion_, train_t, samplers, settings,
                                                    valid_t, valid_s, device, dist_ctx=dist_ctx)
        self.owned_sessions_ = dist_ctx.owned_sessions() if dist_ctx is not None else list(range(len(session_ids)))
        self.session_owner_ = list(dist_ctx.owner) if dist_ctx is not None else [0] * len(session_ids)
        self.session_ids_ = session_ids
        self.learning_mode_ = mode
        self.device_ = device
        return self

    # ------------------------------------------------------------------ transform
    def _session_index(self, session_id) -> int:
        if session_id is None:
            if len(self.model_) > 1:
                raise ConfigError(f"transform: this model has {len(self.model_)} sessions; pass session_id "
                                  f"(an index or one of {self.session_ids_[:4]}...)")
            return 0
        if isinstance(session_id, (int, np.integer)) and 0 <= int(session_id) < len(self.model_):
            return int(session_id)
        if str(session_id) in self.session_ids_:
            return self.session_ids_.index(str(session_id))
        raise ConfigError(f"transform: unknown session_id {session_id!r}; known: {self.session_ids_}")

    @torch.no_grad()
    def transform(self, X, session_id=None, batch_size: int = 16384) -> np.ndarray:
        """Embed samples.

        Args:
            X: ``(T, N)`` array of contiguous samples (edges padded by repetition, as
                CEBRA does), or a :class:`SplitData` (embedded segment by segment so no
                window crosses a split boundary).
            session_id: Session index or id (required for multi-session models).
            batch_size: Samples per forward pass.

        Returns:
            ``(T, output_dimension) float32``.
        """
        if not hasattr(self, "model_"):
            raise NeurocineError("transform: this CEBRA model is not fitted yet; call fit() or CEBRA.load()")
        j = self._session_index(session_id)
        if isinstance(X, SplitData):
            segments, neural = X.segment, X.neural
        else:
            neural = X.detach().cpu().numpy() if isinstance(X, torch.Tensor) else np.asarray(X, dtype=np.float32)
            segments = np.zeros(len(neural), dtype=np.int64)
        n_in = self.model_.num_neurons[j]
        if is_placeholder(neural):
            raise ConfigError(f"transform: session {j} was read without traces (labels only); embed it on the "
                              "rank that holds its data")
        if neural.ndim != 2 or neural.shape[1] != n_in:
            raise ConfigError(f"transform: input has shape {neural.shape}, expected (T, {n_in}) for session {j}")
        enc = self.model_.encoders[j].eval()
        left, right = self.model_.left, self.model_.right
        out = np.empty((len(neural), self.model_.num_output), dtype=np.float32)
        device = next(enc.parameters()).device
        bounds = np.flatnonzero(np.diff(segments) != 0) + 1
        for lo, hi in zip(np.r_[0, bounds], np.r_[bounds, len(neural)]):
            x = torch.as_tensor(neural[lo:hi], dtype=torch.float32, device=device)
            padded = torch.cat([x[:1].expand(left, -1), x, x[-1:].expand(max(right - 1, 0), -1)])
            for s in range(0, hi - lo, batch_size):
                e = min(s + batch_size, hi - lo)
                chunk = padded[s:e + left + right - 1].T[None]
                y = enc(chunk)
                y = y[0].T if y.ndim == 3 else y
                out[lo + s:lo + e] = y.float().cpu().numpy()
        return out

    # ------------------------------------------------------------------- save/load
    def save(self, path: str | Path) -> Path:
        """Write the fitted model (weights, parameters, session ids, history) to one file."""
        if not hasattr(self, "model_"):
            raise NeurocineError("save: the model is not fitted")
        blob = {"format": FORMAT, "params": self.get_params(), "num_neurons": self.model_.num_neurons,
                "session_ids": self.session_ids_, "learning_mode": self.learning_mode_,
                "model": {k: v.detach().cpu() for k, v in self.model_.state_dict().items()},
                "criterion": {k: v.detach().cpu() for k, v in self.criterion_.state_dict().items()},
                "state": vars(self.state_)}
        return save_atomic(blob, path)

    @classmethod
    def load(cls, path: str | Path, device: str = "cpu") -> "CEBRA":
        """Load a model saved by :meth:`save`, on ``device`` (default CPU; a CUDA-trained
        model loads on a CPU-only machine)."""
        path = Path(path)
        if not path.is_file():
            raise NeurocineError(f"{path}: model file not found")
        try:
            blob = torch.load(path, map_location="cpu", weights_only=False)
        except Exception as exc:  # torch raises many types for a broken file
            raise NeurocineError(f"{path}: not a readable model file ({type(exc).__name__})") from exc
        if not isinstance(blob, dict) or blob.get("format") != FORMAT:
            raise NeurocineError(f"{path}: not a neurocine CEBRA model file")
        model = cls(**blob["params"])
        dev = resolve_device(device)
        model.model_ = MultiSessionEncoder(model.model_architecture, blob["num_neurons"], model.num_hidden_units,
                                           model.output_dimension)
        model.model_.load_state_dict(blob["model"])
        model.model_.to(dev).eval()
        model.criterion_ = make_criterion(model.distance, model.temperature_mode, model.temperature,
                                          model.min_temperature)
        model.criterion_.load_state_dict(blob["criterion"])
        model.session_ids_ = list(blob["session_ids"])
        model.learning_mode_ = blob["learning_mode"]
        model.state_ = TrainState(**blob["state"])
        model.device_ = dev
        return model
