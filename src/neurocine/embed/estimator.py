"""``neurocine.CEBRA``: an sklearn-style estimator, a drop-in for ``cebra.CEBRA``.

Same parameter names as ``cebra.CEBRA``; its parameters, defaults and their help come from
the one settings table (:mod:`neurocine.settings`, sections ``model`` and ``training``), so
every parameter can be set from YAML and ``CEBRA.from_config(cfg)`` builds it in one call.
It adds multi-session training without labels (stimulus-aligned), device-side sampling,
early stopping, checkpoints and a one-file save/load. How positives are chosen is the
learning mode's business (:mod:`neurocine.embed.modes`).

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
from sklearn.exceptions import NotFittedError

from neurocine.settings import (CEBRA_RUNTIME, CEBRA_RUNTIME_HELP, CebraSettings, Config, estimator_doc,
                                estimator_fields, estimator_params, keys_where, make_estimator_init)
from neurocine.data import SplitData, normalized_splits, pad_splits
from neurocine.data.normalise import as_counts
from neurocine.embed.distributed import make_context, sum_across_ranks
from neurocine.embed import modes
from neurocine.embed.adapt import adapt_encoders, key_table
from neurocine.embed.models import (MultiSessionEncoder, make_criterion, resolve_device, session_smoothing,
                                    smoothing_of)
from neurocine.embed.modes.stimulus_aligned import alignment_keys
from neurocine.embed.sampling import build_session_tensors
from neurocine.embed.trainer import TrainState, train_contrastive
from neurocine.tblog import open_writer
from neurocine.torchio import load_saved, load_state, save_atomic
from neurocine.errors import ConfigError, DataError, MismatchError, first_line
from neurocine.session import Session, is_placeholder
from neurocine.stimuli import STIMULI, label_spec

FORMAT = "neurocine-cebra-1"
#: Share of labelled references whose positive fell back to time contrast above which
#: ``fit`` warns (the learning mode would quietly become another).
FALLBACK_WARNING = 0.05
#: Share of references without any label (time contrast by design) above which ``fit`` warns.
UNLABELLED_WARNING = 0.5


def positive_summary(samplers) -> dict:
    """How a fit's label positives went, summed over its label samplers:
    ``{"references", "labelled", "fallback", "fallback_fraction", "unlabelled_fraction"}``
    (empty for label-free modes). ``fallback``: labelled references with no partner (they
    were trained by time contrast); ``unlabelled``: references without a label at all
    (samples outside any stimulus, time contrast by design)."""
    counts = [s.positive_counts() for s in samplers if hasattr(s, "positive_counts")]
    if not counts:
        return {}
    out = {k: sum(c[k] for c in counts) for k in ("references", "labelled", "fallback")}
    out["fallback_fraction"] = out["fallback"] / out["labelled"] if out["labelled"] else None
    out["unlabelled_fraction"] = 1 - out["labelled"] / out["references"] if out["references"] else None
    return out
#: Parameters that are not settings (the pipeline sets them per run).
RUNTIME, RUNTIME_HELP = CEBRA_RUNTIME, CEBRA_RUNTIME_HELP


@dataclass
class _Part:
    """One session's fit input: ``neural (T, N)``, ``segment (T,)``, user labels ``y``,
    the label table (neurocine inputs) and the sampling rate (Hz)."""

    session_id: str
    neural: np.ndarray
    segment: np.ndarray
    y: np.ndarray | None
    table: dict
    sampling_rate: float = 30.0
    modality: str = "dff"


def _signal_of(arr: np.ndarray) -> str:
    """``"spikes"`` for an array of non-negative integers (counts), else ``"dff"``."""
    return "spikes" if as_counts(arr) is not None else "dff"


def _as_array(x, i: int) -> np.ndarray:
    """One session's ``(T, N)`` array, checked as scikit-learn checks inputs (2-D, finite,
    numeric, dense)."""
    from sklearn.utils.validation import check_array

    arr = x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else x
    return check_array(arr, dtype=np.float32, input_name=f"session {i}")


def _is_one_array(X) -> bool:
    """A single session's array (numpy, torch, sparse or any array-like), not a list of them."""
    import scipy.sparse

    if isinstance(X, (list, tuple)):  # rows of one array (nested lists), or a list of sessions
        return len(X) > 0 and not hasattr(X[0], "shape") and np.ndim(X[0]) == 1
    return isinstance(X, (np.ndarray, torch.Tensor)) or scipy.sparse.issparse(X) or hasattr(X, "__array__")


class _Parts:
    """Fit inputs as per-session parts, converted on access.

    ``X`` may be a lazy sequence (``len`` and indexing, e.g. :class:`neurocine.data.LazySplits`):
    its items are then read once per pass and not kept, so a distributed rank never holds
    every session's labels at once. Parts of an in-memory list are converted once."""

    def __init__(self, X, y):
        if isinstance(X, (SplitData, Session)) or _is_one_array(X):
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
        x = self.X[i]
        if isinstance(x, Session):
            x = normalized_splits([x], "train")[0]
        if isinstance(x, SplitData):
            part = _Part(x.session_id, x.neural, x.segment, None, x.labels, float(x.sampling_rate), x.modality)
        else:
            arr = _as_array(x, i)
            part = _Part(str(i), arr, np.zeros(len(arr), dtype=np.int64), None, {}, modality=_signal_of(arr))
        if self.y is not None:
            lab = self.y[i]
            lab = np.asarray(lab.detach().cpu() if isinstance(lab, torch.Tensor) else lab)
            if lab.dtype.kind not in "iufb":
                raise ConfigError(f"fit: Unknown label type {lab.dtype} for session {i}; expected numbers "
                                  "(integers: discrete labels, floats: continuous)")
            if lab.ndim == 2 and lab.shape[1] == 1:
                lab = lab[:, 0]
            if lab.ndim == 0 or lab.shape[0] != len(part.neural):
                raise ConfigError(f"fit: session {i} has {len(part.neural)} samples but "
                                  f"{lab.shape[0] if lab.ndim else 'a scalar of'} labels")
            part.y = check_labels(lab, f"y of session {i}")
        return part

    def facts(self) -> list[modes.Facts]:
        out = []
        for i in range(len(self)):
            p = self[i]
            shown = tuple(name for name, stim in STIMULI.items()
                          if any(n in p.table and label_spec(n).present(p.table[n]).any() for n in stim.labels))
            out.append(modes.Facts(p.session_id, int(p.neural.shape[1]), not is_placeholder(p.neural),
                                   p.y is not None, p.y is not None and np.issubdtype(p.y.dtype, np.integer),
                                   tuple(p.table), shown, p.modality))
        return out


#: Largest label magnitude accepted: squared distances between labels stay finite in float32.
LABEL_LIMIT = 1e15


def check_labels(y: np.ndarray, name: str = "y") -> np.ndarray:
    """Refuse, in one line naming ``name``, labels the samplers cannot use: a label row of
    no dimension (``(T, 0)``), infinite values, values beyond :data:`LABEL_LIMIT` (their
    distances overflow), and continuous labels that are NaN everywhere (no sample has a
    label: the model would train on time alone while saying it used the labels).

    Example:
        >>> check_labels(np.array([0.5, np.nan, 2.0])).shape
        (3,)
        >>> check_labels(np.full((4, 3), np.nan))  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        neurocine.errors.ConfigError: fit: y is NaN for every sample, so no sample has a label; ...
    """
    if y.ndim == 2 and y.shape[1] == 0:
        raise ConfigError(f"fit: {name} has shape {y.shape}, a label of no dimension; expected (T,) or (T, D) with "
                          "D >= 1")
    if y.dtype.kind == "f" and y.size:
        if np.isinf(y).any():
            raise ConfigError(f"fit: {name} holds {int(np.isinf(y).sum())} infinite values; expected finite "
                              "numbers (NaN: no label)")
        if np.isnan(y).all():
            raise ConfigError(f"fit: {name} is NaN for every sample, so no sample has a label; pass labels, or "
                              "y=None for time contrast")
    if y.size and np.nanmax(np.abs(y.astype(np.float64))) > LABEL_LIMIT:
        raise ConfigError(f"fit: {name} holds values beyond +-{LABEL_LIMIT:g} (largest "
                          f"{np.nanmax(np.abs(y.astype(np.float64))):g}); distances between them overflow: rescale "
                          "the labels")
    return y


class CEBRA(TransformerMixin, BaseEstimator):
    __doc__ = ("CEBRA embeddings of one or many sessions (parameters: ``cebra.CEBRA``'s names; defaults for "
               "Allen two-photon data).\n\n" + estimator_doc("cebra", RUNTIME_HELP))
    __init__ = make_estimator_init("cebra", RUNTIME, "CEBRA")

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float32"]  # embeddings are float32 whatever the input
        return tags

    @classmethod
    def from_config(cls, cfg: Config, **runtime) -> "CEBRA":
        """The estimator ``cfg`` describes (sections ``model`` and ``training``), with
        run-time parameters (``checkpoint_path``, ``verbose``)."""
        return cls(**estimator_params("cebra", cfg), **runtime)

    # ------------------------------------------------------------------------ fit
    def _params(self) -> dict:
        return {name: getattr(self, name) for name in self._get_param_names()}

    def _tensors(self, parts: _Parts, mode, device, dist_ctx=None):
        """Index tensors per session; in a distributed run only a compact summary of the
        sessions another rank owns (sizes and label counts, no per-sample arrays)."""
        left, right = self.model_.left, self.model_.right
        out = []
        for j in range(len(parts)):
            p = parts[j]
            try:
                t = build_session_tensors(p.neural, p.segment, left, right, mode.settings.time_offsets,
                                          mode.sampler_labels(p), device)
            except ValueError as exc:
                raise ConfigError(f"session {p.session_id}: {exc}") from None
            owned = dist_ctx is None or dist_ctx.shared_encoder or dist_ctx.owner[j] == dist_ctx.rank
            out.append(t if owned else t.summary())
        return out

    def _reduce(self, dist_ctx):
        if dist_ctx is None or dist_ctx.shared_encoder:
            return None
        return lambda t: sum_across_ranks(t, dist_ctx)

    def fit(self, X, y=None, valid=None, valid_y=None, resume: bool = False, distributed: bool | None = None,
            callback=None, callback_frequency: int = 100) -> "CEBRA":
        """Train on one or many sessions.

        Args:
            X: ``(T, N)`` array, a list of them (one per session, N may differ), or
                neurocine :class:`~neurocine.data.SplitData` / :class:`~neurocine.Session` (list).
            y: Labels: ``(T,)`` / ``(T, 1)`` per session (int -> discrete, float ->
                continuous), ``(T, D)`` float (continuous in D dimensions, e.g. image
                features of the frame shown; NaN rows: no label), a list for several
                sessions, or None.
            valid, valid_y: Validation data of the same form, for early stopping.
            resume: Continue from ``checkpoint_path`` if it exists.
            distributed: Train across the initialised ``torch.distributed`` process group
                (None: when one is initialised with more than one process). Every rank
                passes all sessions; a rank may hold only some sessions' data (others
                as labels-only parts: ``neurocine.data.sharded_splits`` gives a
                rank's lazy view, ``load_sessions(..., with_traces=...)`` an eager one). The
                result equals a one-process fit with the same seed (see
                :mod:`neurocine.embed.distributed`).
            callback, callback_frequency: ``callback(step, estimator)`` every
                ``callback_frequency`` steps (as ``cebra.CEBRA.fit``); the estimator can
                ``transform`` inside it.

        Returns:
            self.
        """
        settings = CebraSettings.from_params(self._params())  # checked against the table, then frozen
        if settings.batch_size < 64:
            warnings.warn(f"batch_size={settings.batch_size}: InfoNCE uses the other samples of the batch as "
                          "negatives, so a small batch gives a noisy, biased loss; 512 or more is recommended",
                          UserWarning, stacklevel=2)
        parts = _Parts(X, y)
        facts = parts.facts()
        mode = modes.resolve(settings.learning_mode, settings, facts)
        device = resolve_device(settings.device)
        torch.manual_seed(settings.seed)
        self.model_ = MultiSessionEncoder(settings.model_architecture, [f.num_neurons for f in facts],
                                          settings.num_hidden_units, settings.output_dimension,
                                          settings.input_normalization,
                                          [session_smoothing(settings.input_smoothing, f.modality) for f in facts]
                                          ).to(device)
        self.criterion_ = make_criterion(settings.distance, settings.temperature_mode, settings.temperature,
                                         settings.min_temperature).to(device)
        holds = [f.holds for f in facts]
        dist_ctx = None
        if distributed is not False:
            dist_ctx = make_context(holds, device)
            if distributed and dist_ctx is None:
                raise ConfigError("fit(distributed=True) needs an initialised torch.distributed process group "
                                  "with more than one process (launch with torchrun)")
        if dist_ctx is None and not all(holds):
            missing = [f.session_id for f in facts if not f.holds][:4]
            raise ConfigError(f"fit: sessions {missing} were read without traces (labels only); outside a "
                              "distributed run every session needs its dF/F")
        reduce = self._reduce(dist_ctx)
        train_t = self._tensors(parts, mode, device, dist_ctx)
        samplers = mode.samplers(train_t, settings.seed, device, reduce)
        valid_t = valid_s = None
        if valid is not None:
            vparts = _Parts(valid, valid_y)
            vfacts = vparts.facts()
            if [f.num_neurons for f in vfacts] != self.model_.num_neurons:
                raise ConfigError("fit: validation sessions differ from training sessions in neuron counts")
            if [f.holds for f in vfacts] != holds:
                raise ConfigError("fit: validation and training parts must hold the same sessions' data")
            valid_t = self._tensors(vparts, mode, device, dist_ctx)
            valid_s = mode.samplers(valid_t, settings.seed + 777, device, reduce)
            del vparts
        n_train = sum(len(parts[j].neural) for j in range(len(parts))) if settings.max_epochs else 0
        del parts  # only index tensors (and held sessions' data) are needed from here on
        session_ids = [f.session_id for f in facts]
        self.owned_sessions_ = dist_ctx.owned_sessions() if dist_ctx is not None else list(range(len(session_ids)))
        self.session_owner_ = list(dist_ctx.owner) if dist_ctx is not None else [0] * len(session_ids)
        self.session_ids_ = session_ids
        self.learning_mode_ = mode.name
        self.supervision_ = mode.supervision(facts)
        self.aligned_ = bool(mode.aligns_sessions and len(facts) > 1)
        self.device_ = device
        if len(facts) == 1:
            self.n_features_in_ = facts[0].num_neurons
        on_step = None
        if callback is not None:
            def on_step(state):
                if state.step % max(int(callback_frequency), 1) == 0:
                    self.state_ = state
                    callback(state.step, self)
                    self.model_.train()
        writer = open_writer(settings.log_dir if dist_ctx is None or dist_ctx.rank == 0 else None)
        try:
            self.state_: TrainState = train_contrastive(self.model_, self.criterion_, train_t, samplers, settings,
                                                        self.max_steps(n_train), valid_t, valid_s, device,
                                                        resume=resume, on_step=on_step, dist_ctx=dist_ctx,
                                                        writer=writer)
        finally:
            if writer is not None:
                writer.close()
        self.settings_ = settings
        self.key_table_ = None
        if dist_ctx is None:  # the stimulus states' mean embeddings: what adapt() aligns new sessions to
            self.key_table_ = self._key_table(_Parts(X, y), mode)
        self.positives_ = positive_summary(samplers)
        share = self.positives_.get("fallback_fraction") or 0.0
        if share > FALLBACK_WARNING:
            warnings.warn(f"{100 * share:.1f} % of the labelled references ({self.positives_['fallback']} of "
                          f"{self.positives_['labelled']}) found no positive with their label in "
                          f"{self.learning_mode_} mode and fell back to time contrast; the labels of the sessions "
                          "do not overlap enough (check their stimulus labels, or use fewer sessions per fit)",
                          RuntimeWarning, stacklevel=2)
        unlabelled = self.positives_.get("unlabelled_fraction") or 0.0
        if unlabelled > UNLABELLED_WARNING:
            warnings.warn(f"{100 * unlabelled:.1f} % of the references carry no label for {self.learning_mode_} mode "
                          "(samples outside any stimulus) and were trained by time contrast; check the sessions' "
                          "labels, or train on the stimulus samples (dataset.train_on)", RuntimeWarning, stacklevel=2)
        return self

    def _key_table(self, parts: "_Parts", mode):
        """The mean embedding of every stimulus state in the training data (None when the
        sessions carry no stimulus labels)."""
        keys, embs = [], []
        for j in range(len(parts)):
            p = parts[j]
            if not p.table:
                return None
            k = alignment_keys(p.table, p.segment, p.sampling_rate)
            if (k >= 0).any():
                keys.append(k)
                x = SplitData(p.session_id, p.neural, np.zeros(len(p.neural), np.float32), np.arange(len(p.neural)),
                              p.segment, {}, np.zeros(len(p.neural), np.int64), (p.neural.shape[1],),
                              modality=p.modality)
                embs.append(self.transform(x, session_id=j))
        return key_table(embs, keys) if keys else None

    def adapt(self, X, valid=None, *, init: str = "encoder", max_iterations: int | None = None,
              batch_size: int | None = None, learning_rate: float | None = None, patience: int | None = None,
              progress: bool = False) -> "CEBRA":
        """Add sessions to this trained model without changing it: only their encoders are
        fitted (:mod:`neurocine.embed.adapt`), against the stimulus states' embeddings the
        model learnt; the trained sessions' encoders and the shared space stay as they are.

        Args:
            X: The new sessions' training data: :class:`~neurocine.data.SplitData` (or a
                list), with stimulus labels (any neuron counts).
            valid: Their validation data (early stopping), in the same order.
            init: ``"encoder"`` (a whole new encoder) or ``"input_layer"`` (a trained
                encoder's trunk, frozen, under a new input layer).
            max_iterations, batch_size, learning_rate, patience: Of the adaptation (default:
                the model's ``max_iterations`` / 5, ``batch_size``, ``learning_rate``,
                ``patience``).

        Returns:
            self, with the new sessions appended (``session_ids_``; ``transform(x,
            session_id=new id)``) and ``adapted_`` recording what was fitted.
        """
        if not hasattr(self, "model_"):
            raise NotFittedError("adapt: the model is not fitted yet; call fit() or CEBRA.load()")
        if getattr(self, "key_table_", None) is None:
            raise ConfigError("adapt: this model has no stimulus states to align new sessions to (it was not trained "
                              "on stimulus labels, or was trained under torchrun)")
        parts = [_Parts(X, None)[j] for j in range(len(_Parts(X, None)))]
        vparts = [_Parts(valid, None)[j] for j in range(len(_Parts(valid, None)))] if valid is not None else None
        clash = [p.session_id for p in parts if p.session_id in self.session_ids_]
        if clash:
            raise ConfigError(f"adapt: sessions {clash[:3]} are already in the model")
        as_split = lambda p: SplitData(p.session_id, p.neural, np.zeros(len(p.neural), np.float32),  # noqa: E731
                                       np.arange(len(p.neural)), p.segment, p.table,
                                       np.zeros(len(p.neural), np.int64), (p.neural.shape[1],), p.sampling_rate,
                                       modality=p.modality)
        out = adapt_encoders(self, [as_split(p) for p in parts], [as_split(p) for p in vparts] if vparts else None,
                             init=init, max_iterations=max_iterations or max(self.max_iterations // 5, 1),
                             batch_size=batch_size, learning_rate=learning_rate,
                             validate_every=max(self.validate_every // 2, 1), patience=patience or self.patience,
                             progress=progress)
        for p, enc in zip(parts, out.pop("encoders")):
            self.model_.encoders.append(enc)
            self.model_.num_neurons.append(int(p.neural.shape[1]))
            self.session_ids_.append(p.session_id)
        self.adapted_ = getattr(self, "adapted_", []) + [{"sessions": [p.session_id for p in parts],
                                                          **{k: v for k, v in out.items()
                                                             if k not in ("history", "valid_history")}}]
        self.adapt_state_ = out
        self.aligned_ = True
        return self

    def max_steps(self, n_train: int) -> int:
        """Optimizer steps for ``n_train`` training samples: ``max_iterations``, or fewer
        when ``max_epochs`` passes over the data (``n_train // batch_size`` steps each)
        come first."""
        if not self.max_epochs:
            return int(self.max_iterations)
        return int(min(self.max_iterations, self.max_epochs * max(1, n_train // max(self.batch_size, 1))))

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
            raise NotFittedError("transform: this CEBRA model is not fitted yet; call fit() or CEBRA.load()")
        j = self._session_index(session_id)
        if isinstance(X, SplitData):
            segments, neural = X.segment, X.neural
        else:
            neural = _as_array(X, j)
            segments = np.zeros(len(neural), dtype=np.int64)
        n_in = self.model_.num_neurons[j]
        if is_placeholder(neural):
            raise ConfigError(f"transform: session {j} was read without traces (labels only); embed it on the "
                              "rank that holds its data")
        if neural.ndim != 2 or neural.shape[1] != n_in:
            raise ConfigError(f"X has {neural.shape[1] if neural.ndim == 2 else neural.shape} features, but CEBRA "
                              f"is expecting {n_in} features as input (session {self.session_ids_[j]})")
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
                if left + right == 1:  # a one-sample model (offset1, an MLP): a batch of windows
                    y = enc(padded[s:e][:, :, None])
                else:  # a convolution over the whole chunk: one output per sample
                    y = enc(padded[s:e + left + right - 1].T[None])
                    y = y[0].T if y.ndim == 3 else y
                out[lo + s:lo + e] = y.float().cpu().numpy()
        return out

    # ------------------------------------------------------------------- save/load
    def input_smoothing_by_session(self, session_ids: list[str]) -> dict[str, float]:
        """``{session id: std in samples}`` of the input smoothing each session's encoder
        applies (0: none); a ``pad`` model's one encoder reads every session."""
        sigmas = [smoothing_of(e) for e in self.model_.encoders]
        if len(sigmas) == 1:
            return {sid: sigmas[0] for sid in session_ids}
        return {sid: sigmas[self.session_ids_.index(sid)] for sid in session_ids if sid in self.session_ids_}

    def save(self, path: str | Path) -> Path:
        """Write the fitted model (weights, parameters, session ids, history) to one file."""
        if not hasattr(self, "model_"):
            raise NotFittedError("save: the model is not fitted")
        blob = {"format": FORMAT, "params": self.get_params(), "num_neurons": self.model_.num_neurons,
                "session_ids": self.session_ids_, "learning_mode": self.learning_mode_,
                "supervision": self.supervision_, "aligned": self.aligned_,
                "model": {k: v.detach().cpu() for k, v in self.model_.state_dict().items()},
                "criterion": {k: v.detach().cpu() for k, v in self.criterion_.state_dict().items()},
                "state": vars(self.state_), "adapted": getattr(self, "adapted_", []),
                "input_smoothing": [smoothing_of(e) for e in self.model_.encoders]}
        table = getattr(self, "key_table_", None)
        if table is not None:
            blob["key_table"] = {"keys": torch.from_numpy(table[0]), "embedding": torch.from_numpy(table[1])}
        return save_atomic(blob, path)

    @classmethod
    def load(cls, path: str | Path, device: str = "cpu", config: Config | None = None,
             config_source: str = "the config") -> "CEBRA":
        """Load a model saved by :meth:`save`, on ``device`` (default CPU; a CUDA-trained
        model loads on a CPU-only machine). Every weight is checked (names, shapes,
        finite values: one line naming the file and the weight).

        Args:
            config: The run's settings (a results folder's config.yaml): refused in one
                line when it disagrees with the file on a setting that shapes the model
                (``model.output_dimension is 32 in the model but 16 in config.yaml``), as
                a config copied from another run would describe a model that is not there.
            config_source: How the message names ``config``.
        """
        blob = load_saved(path, FORMAT, "model", "CEBRA model")
        known = set(cls._get_param_names())
        model = cls(**{k: v for k, v in blob["params"].items() if k in known})
        dev = resolve_device(device)
        try:
            model.model_ = MultiSessionEncoder(model.model_architecture, blob["num_neurons"], model.num_hidden_units,
                                               model.output_dimension, model.input_normalization,
                                               blob.get("input_smoothing", model.input_smoothing or 0.0))
            model.criterion_ = make_criterion(model.distance, model.temperature_mode, model.temperature,
                                              model.min_temperature)
        except (KeyError, TypeError, ValueError) as exc:
            raise DataError(path, f"its settings do not make a model ({type(exc).__name__}: "
                                  f"{first_line(exc, 120)}); the file is damaged") from None
        load_state(model.model_, blob.get("model"), path, "encoder")
        load_state(model.criterion_, blob.get("criterion"), path, "loss")
        model.model_.to(dev).eval()
        model.session_ids_ = list(blob["session_ids"])
        model.learning_mode_ = blob["learning_mode"]
        model.supervision_ = blob.get("supervision", "unknown")
        model.aligned_ = blob.get("aligned", len(model.session_ids_) > 1)
        if len(model.session_ids_) == 1:
            model.n_features_in_ = model.model_.num_neurons[0]
        model.state_ = TrainState(**blob["state"])
        model.device_ = dev
        model.settings_ = CebraSettings.from_params(model._params())
        table = blob.get("key_table")
        model.key_table_ = (table["keys"].numpy(), table["embedding"].numpy()) if table else None
        model.adapted_ = list(blob.get("adapted", []))
        if config is not None:
            model._check_config(config, path, config_source)
        return model

    def _check_config(self, cfg: Config, path, source: str) -> None:
        """MismatchError when ``cfg`` and this model's parameters differ on a setting that
        changes results (not the run-length or run-time ones)."""
        ignore = set(keys_where("affects_results")) | set(keys_where("run_length"))
        wanted = estimator_params("cebra", cfg)
        for param, key, *_ in estimator_fields("cebra"):
            if key in ignore:
                continue
            want, have = wanted[param], getattr(self, param, None)
            if isinstance(want, (list, tuple)) or isinstance(have, (list, tuple)):
                want, have = list(want or []), list(have or [])
            if want != have:
                raise MismatchError(f"{path}: {key} is {have!r} in the model but {want!r} in {source}; the two "
                                    "come from different runs (train anew with --force)")


def fit_inputs(mode: str, parts):
    """What the estimator trains on: per-session parts, or one padded part."""
    return [pad_splits(parts)] if mode == "pad" else parts


def embed_parts(model, mode: str, parts) -> list:
    """Per-session embeddings of ``parts`` (``pad`` mode: through the one padded encoder)."""
    if mode == "pad":
        padded = pad_splits(parts)
        emb = model.transform(padded, session_id=0)
        return [emb[padded.session_index == i] for i in range(len(parts))]
    return [model.transform(p, session_id=i) for i, p in enumerate(parts)]
