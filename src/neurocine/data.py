"""Loading sessions, normalisation, and the arrays and loaders that training reads.

Example:
    >>> import tempfile
    >>> from neurocine.io.simulate import simulate_dataset
    >>> d = tempfile.mkdtemp()
    >>> _ = simulate_dataset(d, sessions=2, neurons=(20, 30), grating_repeats=1,
    ...                      spontaneous_s=2.0, progress=False)
    >>> sessions = load_sessions(d)
    >>> [s.num_neurons for s in sessions]
    [20, 30]
    >>> train = split_sessions(sessions, "train")
    >>> train[0].neural.dtype, train[0].neural.shape[1]
    (dtype('float32'), 20)
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch

from neurocine.config import MODES, Config, ConfigError, DatasetConfig
from neurocine.errors import DataError, TemplateNotFound
from neurocine.io.detect import read_session
from neurocine.session import SPLITS, Session, placeholder_traces
from neurocine.stimuli import label_spec, spec_for

__all__ = [
    "SessionList", "SplitData", "find_session_files", "load_sessions", "load_dataset",
    "split_sessions", "normalized_splits", "fit_zscore", "normalize_sessions", "normalize_time",
    "SplitDataset", "make_dataloader", "TensorSampler", "pad_splits", "load_template", "prepare_splits",
    "sharded_splits", "LazySplits", "keep_rows", "find_template", "template_frames", "training_rows",
]


class SessionList(list):
    """A list of :class:`Session` with ``skipped``: ``[(path, reason), ...]`` of files
    passed over with ``skip_bad=True``."""

    def __init__(self, items=(), skipped=None):
        super().__init__(items)
        self.skipped: list[tuple[Path, str]] = list(skipped or [])


def find_session_files(data_dir: str | Path, pattern: str = "*.h5 *.nwb",
                       max_sessions: int | None = None) -> list[Path]:
    """Session files in ``data_dir`` matching ``pattern`` (one or more globs separated by
    spaces), sorted by name.

    Raises:
        DataError: the folder is missing or has no matching file.
        ConfigError: ``max_sessions`` <= 0.
    """
    if max_sessions is not None and max_sessions <= 0:
        raise ConfigError(f"max_sessions={max_sessions}, expected a positive integer or None")
    d = Path(data_dir)
    if not d.exists():
        raise DataError(d, "data directory not found")
    if not d.is_dir():
        raise DataError(d, "is not a directory (expected a folder of <session_id>.h5 or .nwb files)")
    found = {p for glob in pattern.split() for p in d.glob(glob) if not p.name.startswith(".")}
    files = sorted(p for p in found if p.is_file() or p.is_symlink())  # a broken link is reported when read
    if not files:
        raise DataError(d, f"no files matching '{pattern}' (expected <session_id>.h5 or Allen <id>.nwb session "
                           "files)")
    return files[:max_sessions] if max_sessions else files


def load_sessions(data_dir: str | Path, pattern: str = "*.h5 *.nwb", max_sessions: int | None = None,
                  skip_bad: bool = False, progress: bool = False, with_traces=None) -> SessionList:
    """Read every session file in ``data_dir`` (layout detected per file).

    Args:
        data_dir: Folder of ``<session_id>.h5`` files.
        pattern: Glob for session files.
        max_sessions: Read at most this many files (sorted by name).
        skip_bad: Skip unreadable files (recorded in ``.skipped``) instead of raising.
        progress: Show a tqdm bar.
        with_traces: None reads every file's dF/F. Otherwise the positions (in the sorted
            file list) whose dF/F is read; the other sessions carry labels, splits and
            shapes only, with zero-memory placeholder traces (a distributed rank's shard).

    Returns:
        :class:`SessionList` of raw (un-normalised) sessions.

    Raises:
        DataError: the first bad file, when ``skip_bad`` is False; or no file was good.
    """
    from tqdm.auto import tqdm

    files = find_session_files(data_dir, pattern, max_sessions)
    out = SessionList()
    wanted = None if with_traces is None else set(int(i) for i in with_traces)
    seen: dict[str, Path] = {}
    for i, path in enumerate(tqdm(files, desc="load", unit="session", disable=not progress)):
        try:
            session = read_session(path, traces=wanted is None or i in wanted)
            if session.session_id in seen:
                raise DataError(path, f"session id {session.session_id!r} is also the id of {seen[session.session_id]}; "
                                      "each session must appear once")
        except DataError as exc:
            if not skip_bad:
                raise
            out.skipped.append((path, exc.reason))
            continue
        seen[session.session_id] = path
        out.append(session)
    if not out:
        raise DataError(data_dir, f"none of the {len(files)} session files could be read "
                                  f"(first: {out.skipped[0][0].name}: {out.skipped[0][1]})")
    return out


# ----------------------------------------------------------------------- normalisation
def fit_zscore(traces: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-neuron mean and std of ``traces[mask]``.

    Args:
        traces: ``(T, N)`` dF/F.
        mask: ``(T,) bool``, the samples to fit on (the train split).

    Returns:
        ``(mean (N,), std (N,))`` float32; a constant neuron gets std 1.
    """
    x = traces[mask].astype(np.float64)
    mean = x.mean(axis=0)
    std = x.std(axis=0)
    std[std < 1e-8] = 1.0
    return mean.astype(np.float32), std.astype(np.float32)


def normalize_time(timestamps: np.ndarray, domain: tuple[float, float]) -> np.ndarray:
    """Map ``timestamps`` (s) to [0, 1] over ``domain``; ``(T,) float32``."""
    start, end = domain
    span = max(end - start, 1e-9)
    return ((timestamps - start) / span).astype(np.float32)


def normalize_sessions(sessions: list[Session], zscore: bool = True) -> list[Session]:
    """Z-score each session's traces per neuron with its **train-split** statistics
    (applied to every split, so no valid/test statistics leak into training).

    Returns new :class:`Session` objects; the inputs are not modified.
    """
    if not zscore:
        return list(sessions)
    out = []
    for s in sessions:
        if not s.has_traces:
            out.append(s)
            continue
        mean, std = fit_zscore(s.traces, s.train_mask)
        out.append(replace(s, traces=((s.traces - mean) / std).astype(np.float32)))
    return out


# ---------------------------------------------------------------------------- splits
@dataclass
class SplitData:
    """One split of one session (or, in ``pad`` mode, of all sessions concatenated).

    Attributes:
        session_id: Session id (``"pad"`` for padded data).
        neural: ``(T_split, N) float32``, z-scored dF/F when normalised.
        time: ``(T_split,) float32``: [0, 1] over the session domain when
            ``normalize_time``, else seconds.
        index: ``(T_split,) int64`` sample index in the session.
        segment: ``(T_split,) int64`` id of the contiguous run of samples each belongs to;
            a model window never crosses a segment boundary.
        labels: ``{name: (T_split,) array}``, the session's label table cut to the split
            (see :mod:`neurocine.stimuli`).
        session_index: ``(T_split,) int64`` session of each sample (0 unless ``pad``).
        num_neurons: Per-session neuron counts (``pad``: before padding).
        sampling_rate: Hz (of the first session, in ``pad`` mode).
    """

    session_id: str
    neural: np.ndarray
    time: np.ndarray
    index: np.ndarray
    segment: np.ndarray
    labels: dict
    session_index: np.ndarray
    num_neurons: tuple[int, ...]
    sampling_rate: float = 30.0

    def __len__(self) -> int:
        return int(self.neural.shape[0])

    @property
    def shape(self) -> tuple[int, int]:
        return tuple(self.neural.shape)

    def label(self, name: str) -> np.ndarray:
        """``(T_split,)`` values of label ``name`` (its fill value where absent)."""
        if name in self.labels:
            return self.labels[name]
        return label_spec(name).empty(len(self))


def contiguous_segments(index: np.ndarray) -> np.ndarray:
    """``(T,) int64`` run id: increments wherever consecutive indices are not adjacent."""
    if len(index) == 0:
        return np.zeros(0, dtype=np.int64)
    return np.concatenate([[0], np.cumsum(np.diff(index) != 1)]).astype(np.int64)


def session_split(session: Session, split: str, time_normalized: bool = True, session_index: int = 0) -> SplitData:
    """Cut ``split`` (``train``/``valid``/``test``/``all``) out of one session."""
    mask = session.mask(split)
    idx = np.flatnonzero(mask)
    t = normalize_time(session.timestamps, session.domain) if time_normalized else session.timestamps.astype(np.float32)
    if session.has_traces:
        neural = np.ascontiguousarray(session.traces[idx], dtype=np.float32)
    else:  # labels-only session: keep the placeholder (no memory)
        neural = placeholder_traces(len(idx), session.num_neurons)
    return SplitData(
        session_id=session.session_id, neural=neural,
        time=t[idx], index=idx.astype(np.int64), segment=contiguous_segments(idx),
        labels={name: values[idx] for name, values in session.labels.items()},
        session_index=np.full(len(idx), session_index, dtype=np.int64), num_neurons=(session.num_neurons,),
        sampling_rate=float(session.sampling_rate))


def keep_rows(part: SplitData, keep: np.ndarray) -> SplitData:
    """``part`` without the rows where ``keep`` is False; segments are recomputed, so no
    window bridges the removed rows."""
    idx = np.flatnonzero(keep)
    return replace(part, neural=part.neural[idx], time=part.time[idx], index=part.index[idx],
                   segment=contiguous_segments(part.index[idx]), labels={k: v[idx] for k, v in part.labels.items()},
                   session_index=part.session_index[idx])


def training_rows(parts, train_on: str = "movie"):
    """The rows that train an embedding (``dataset.train_on``): ``"movie"`` keeps the samples
    of movies (frame labels) of each part that has any, ``"all"`` keeps every row."""
    if train_on == "all":
        return parts
    from neurocine.stimuli import LABELS

    def keep(part):
        mask = np.zeros(len(part), dtype=bool)
        for name, spec in LABELS.items():
            if spec.kind == "frame" and name in part.labels:
                mask |= spec.present(part.labels[name])
        return keep_rows(part, mask) if mask.any() else part

    return [keep(p) for p in parts]


def split_sessions(sessions: list[Session], split: str = "train", time_normalized: bool = True) -> list[SplitData]:
    """One :class:`SplitData` per session (the ``separate`` mode)."""
    return [session_split(s, split, time_normalized, i) for i, s in enumerate(sessions)]


def normalized_splits(sessions: list[Session], split: str = "train", zscore: bool = True,
                      time_normalized: bool = True) -> list[SplitData]:
    """One :class:`SplitData` per raw session, z-scored with that session's **train-split**
    statistics. Only the split's rows are copied and scaled (the result equals
    ``split_sessions(normalize_sessions(sessions), split)`` without a full-session copy)."""
    parts = []
    for i, s in enumerate(sessions):
        part = session_split(s, split, time_normalized, i)
        if zscore and s.has_traces:
            mean, std = fit_zscore(s.traces, s.train_mask)
            part.neural -= mean
            part.neural /= std
        parts.append(part)
    return parts


class LazySplits:
    """One split of every session in ``files``, as a sequence of :class:`SplitData`: the
    sessions in ``held`` (position -> normalised SplitData) from memory, the others read
    from their file (labels only, placeholder traces) on each access and not kept.

    A distributed rank passes this to ``CEBRA.fit`` so that it never holds every session's
    labels at once: memory per process stays that of its own sessions."""

    def __init__(self, files: list[Path], split: str, held: dict[int, SplitData], time_normalized: bool = True):
        self.files, self.split, self.held, self.time_normalized = list(files), split, held, time_normalized

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, i: int) -> SplitData:
        if not -len(self) <= i < len(self):
            raise IndexError(i)
        i = i % len(self)
        if i in self.held:
            return self.held[i]
        return session_split(read_session(self.files[i], traces=False), self.split, self.time_normalized, i)

    def __iter__(self):
        return (self[i] for i in range(len(self)))


def pad_splits(parts: list[SplitData]) -> SplitData:
    """Concatenate per-session splits, zero-padding neurons to the largest N (``pad`` mode).

    Segments are renumbered so no run spans two sessions.
    """
    n_max = max(p.neural.shape[1] for p in parts)
    neural = np.zeros((sum(len(p) for p in parts), n_max), dtype=np.float32)
    row, seg_offset, segs = 0, 0, []
    for p in parts:
        neural[row:row + len(p), :p.neural.shape[1]] = p.neural
        row += len(p)
        segs.append(p.segment + seg_offset)
        seg_offset += int(p.segment.max()) + 1 if len(p) else 0
    cat = lambda name: np.concatenate([getattr(p, name) for p in parts])  # noqa: E731
    names = list(dict.fromkeys(n for p in parts for n in p.labels))
    labels = {}
    for n in names:
        spec = spec_for(n, next(p.labels[n] for p in parts if n in p.labels))
        labels[n] = np.concatenate([p.labels[n] if n in p.labels else spec.empty(len(p)) for p in parts])
    return SplitData(session_id="pad", neural=neural, time=cat("time"), index=cat("index"),
                     segment=np.concatenate(segs), labels=labels, session_index=cat("session_index"),
                     num_neurons=tuple(n for p in parts for n in p.num_neurons), sampling_rate=parts[0].sampling_rate)


def _dataset_config(config) -> DatasetConfig:
    if isinstance(config, Config):
        return config.dataset
    if isinstance(config, DatasetConfig):
        return config
    if isinstance(config, dict):
        return Config.from_dict(config if "dataset" in config else {"dataset": config}).dataset
    raise ConfigError(f"load_dataset: expected a Config, DatasetConfig or dict, got {type(config).__name__}")


def load_dataset(config, split: str = "train", sessions: list[Session] | None = None) -> list[SplitData]:
    """The seed's ``load_dataset``: load, normalise and cut one split.

    Args:
        config: :class:`Config`, its ``dataset`` section, or the same as a dict.
        split: ``"train"``, ``"valid"``, ``"test"`` or ``"all"``.
        sessions: Already-loaded raw sessions (skips reading files).

    Returns:
        ``separate``: one :class:`SplitData` per session, ``(T_split, N_i)``.
        ``pad``: a one-element list, ``(sum T_split, max N)`` with ``session_index``.
        ``first_only``: a one-element list with the first session.

    Example:
        >>> import tempfile
        >>> from neurocine.io.simulate import simulate_dataset
        >>> d = tempfile.mkdtemp()
        >>> _ = simulate_dataset(d, sessions=2, neurons=(20, 30), grating_repeats=1,
        ...                      spontaneous_s=2.0, progress=False)
        >>> [x.neural.shape[1] for x in load_dataset({"data_dir": d, "mode": "pad"})]
        [30]
    """
    ds = _dataset_config(config)
    ds.validate()
    if split not in SPLITS + ("all",):
        raise ConfigError(f"load_dataset: unknown split {split!r}; expected one of train, valid, test, all")
    if sessions is None:
        sessions = load_sessions(ds.data_dir, ds.file_pattern, ds.max_sessions, ds.skip_bad)
    if ds.mode == "first_only":
        sessions = sessions[:1]
    parts = normalized_splits(sessions, split, ds.normalize, ds.normalize_time)
    if ds.mode == "pad":
        return [pad_splits(parts)]
    assert ds.mode in MODES
    return parts


def prepare_splits(dataset: DatasetConfig, progress: bool = False):
    """Load, normalise and cut every split of the sessions ``dataset`` names.

    Returns:
        ``(sessions, {split: [SplitData per session]})``: the raw sessions (a
        :class:`SessionList`, whose ``skipped`` lists files passed over) and the
        normalised splits (``first_only``: the first session alone).
    """
    dataset.validate()
    sessions = load_sessions(dataset.data_dir, dataset.file_pattern, dataset.max_sessions, dataset.skip_bad,
                             progress=progress)
    if dataset.mode == "first_only":
        sessions = SessionList(sessions[:1], sessions.skipped)
    splits = {s: normalized_splits(sessions, s, dataset.normalize, dataset.normalize_time) for s in SPLITS}
    return sessions, splits


def sharded_splits(dataset: DatasetConfig, rank: int, world: int, progress: bool = False):
    """A distributed rank's view of the sessions: the dF/F of files ``rank, rank + world,
    ...`` read and normalised; every other session read (labels only) when needed and not
    kept (:class:`LazySplits`).

    Returns:
        ``({split: LazySplits}, session_ids, num_neurons)``.
    """
    from tqdm.auto import tqdm

    from neurocine.embed.distributed import shard

    dataset.validate()
    if dataset.skip_bad:
        raise DataError(dataset.data_dir, "dataset.skip_bad is not supported under torchrun (a bad file is found "
                                          "only by the rank that reads its dF/F); run 'neurocine check' and remove "
                                          "bad files")
    files = find_session_files(dataset.data_dir, dataset.file_pattern, dataset.max_sessions)
    mine = set(shard(len(files), world, rank))
    held = {split: {} for split in SPLITS}
    session_ids, num_neurons = [], []
    for i, path in enumerate(tqdm(files, desc="load", unit="session", disable=not progress)):
        session = read_session(path, traces=i in mine)
        session_ids.append(session.session_id)
        num_neurons.append(session.num_neurons)
        if i in mine:
            for split in SPLITS:
                part = normalized_splits([session], split, dataset.normalize, dataset.normalize_time)[0]
                part.session_index[:] = i
                held[split][i] = part
        del session
    return ({split: LazySplits(files, split, held[split], dataset.normalize_time) for split in SPLITS},
            session_ids, num_neurons)


# --------------------------------------------------------------------------- loaders
class SplitDataset(torch.utils.data.Dataset):
    """Map-style dataset over one :class:`SplitData`: item ``i`` is
    ``(neural (N,) float32, time () float32)``, as the seed's DataLoader yields."""

    def __init__(self, data: SplitData):
        self.neural = torch.from_numpy(data.neural)
        self.time = torch.from_numpy(data.time)

    def __len__(self) -> int:
        return self.neural.shape[0]

    def __getitem__(self, i):
        return self.neural[i], self.time[i]


def make_dataloader(data: SplitData, batch_size: int = 4, shuffle: bool = False, seed: int = 0,
                    num_workers: int = 0) -> torch.utils.data.DataLoader:
    """The seed's per-session DataLoader: batches of ``(neural [B, N], time [B])``.

    Convenient for inspection; training uses :class:`TensorSampler`, which is much faster.
    """
    g = torch.Generator().manual_seed(seed)
    return torch.utils.data.DataLoader(SplitDataset(data), batch_size=batch_size, shuffle=shuffle,
                                       generator=g, num_workers=num_workers)


class TensorSampler:
    """Fast path: one session split kept as a single tensor on ``device``; batches are
    drawn by sampling indices on the device (no per-item Python).

    Example:
        >>> import numpy as np
        >>> from neurocine.data import SplitData, TensorSampler
        >>> z = np.zeros(100, dtype=np.int64)
        >>> d = SplitData("s", np.ones((100, 7), np.float32), np.linspace(0, 1, 100, dtype=np.float32),
        ...               np.arange(100), z, {}, z, (7,))
        >>> neural, time, idx = TensorSampler(d).sample(32)
        >>> tuple(neural.shape), tuple(time.shape)
        ((32, 7), (32,))
    """

    def __init__(self, data: SplitData, device: str | torch.device = "cpu", seed: int = 0):
        self.device = torch.device(device)
        self.neural = torch.as_tensor(data.neural, device=self.device)
        self.time = torch.as_tensor(data.time, device=self.device)
        self.generator = torch.Generator(device=self.device).manual_seed(seed)

    def __len__(self) -> int:
        return self.neural.shape[0]

    def sample(self, batch_size: int):
        """``(neural [B, N], time [B], index [B])`` drawn uniformly with replacement."""
        idx = torch.randint(len(self), (batch_size,), device=self.device, generator=self.generator)
        return self.neural[idx], self.time[idx], idx

    def batches(self, batch_size: int):
        """Iterate the whole split once in order, ``batch_size`` rows at a time."""
        for start in range(0, len(self), batch_size):
            yield self.neural[start:start + batch_size], self.time[start:start + batch_size]


# ------------------------------------------------------------------------- templates
def find_template(dataset: DatasetConfig, stimulus: str, output_shape=None, n_frames: int | None = None) -> np.ndarray:
    """The template of ``stimulus`` for a run, from the first place that has it:
    ``dataset.movie_path`` (natural_movie_one), ``<data_dir>/<stimulus>.npy``, or a session
    file whose layout carries templates (Allen NWB: ``stimulus/templates``).

    Returns:
        ``(K, H, W) float32`` in [0, 1], resized to ``output_shape``.

    Raises:
        TemplateNotFound: no source holds it (naming where it was looked for).
        DataError: a source holds it but it is unreadable or of the wrong shape.
    """
    from neurocine.io.detect import LAYOUTS, detect_layout

    if stimulus == "natural_movie_one" and dataset.movie_path:
        return load_template(dataset.movie_path, output_shape, n_frames)
    npy = Path(dataset.data_dir) / f"{stimulus}.npy"
    if npy.is_file():
        return load_template(npy, output_shape, n_frames)
    for path in find_session_files(dataset.data_dir, dataset.file_pattern, dataset.max_sessions):
        layout = LAYOUTS.get(detect_layout(path))
        if layout is not None and layout.read_template is not None:
            frames = layout.read_template(path, stimulus)
            if frames is not None:
                return template_frames(frames, output_shape, n_frames, path)
    raise TemplateNotFound(npy, f"template of {stimulus} not found (expected a (frames, H, W) uint8 .npy here, "
                         f"dataset.movie_path, or Allen NWB files that carry it; for kirby/brainsets data save "
                         f"allensdk's get_stimulus_template('{stimulus}'))")


def load_template(path: str | Path, output_shape=None, n_frames: int | None = None) -> np.ndarray:
    """A stimulus template (movie frames or images) as ``(K, H, W) float32`` in [0, 1],
    resized (area-averaged) to ``output_shape`` when given.

    Args:
        path: ``.npy`` of ``(K, H, W)`` uint8 (0..255) or float (0..1) frames, e.g.
            allensdk's ``get_stimulus_template('natural_movie_one')``.
        output_shape: ``(H, W)`` to resize to, or None.
        n_frames: Expected K (the label's template length), checked when given.

    Raises:
        DataError: missing, unreadable, wrong rank, or wrong number of frames.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(path, "template not found (expected a (frames, H, W) uint8 .npy; for Allen data save "
                              "allensdk's get_stimulus_template('natural_movie_one'), or set dataset.movie_path)")
    try:
        movie = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise DataError(path, f"not a readable .npy file ({type(exc).__name__})") from None
    return template_frames(movie, output_shape, n_frames, path)


def template_frames(movie: np.ndarray, output_shape=None, n_frames: int | None = None, path=None) -> np.ndarray:
    """Template frames as ``(K, H, W) float32`` in [0, 1] (uint8 / 255), checked and resized."""
    if movie.ndim != 3:
        raise DataError(path, f"template has shape {movie.shape}, expected (frames, H, W)")
    if movie.dtype.kind not in "iuf" or movie.size == 0:
        raise DataError(path, f"template holds {movie.dtype} of shape {movie.shape}, expected (frames, H, W) numbers "
                              "(uint8 0..255 or float 0..1)")
    if movie.dtype.kind == "f" and not np.isfinite(movie).all():
        raise DataError(path, f"template has {int((~np.isfinite(movie)).sum())} NaN/inf pixels, expected finite "
                              "values (uint8 0..255 or float 0..1)")
    if n_frames is not None and movie.shape[0] != n_frames:
        raise DataError(path, f"template has {movie.shape[0]} frames, expected {n_frames}")
    scale = 255.0 if movie.dtype == np.uint8 or movie.max() > 1.5 else 1.0
    frames = movie.astype(np.float32) / scale
    if output_shape is not None and tuple(frames.shape[1:]) != tuple(output_shape):
        import torch.nn.functional as F

        frames = F.interpolate(torch.from_numpy(frames)[:, None], size=tuple(output_shape), mode="area")[:, 0].numpy()
    return frames
