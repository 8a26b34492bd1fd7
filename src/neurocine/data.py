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
from neurocine.errors import DataError
from neurocine.io.detect import read_session
from neurocine.session import SPLITS, Session, placeholder_traces

__all__ = [
    "SessionList", "SplitData", "find_session_files", "load_sessions", "load_dataset",
    "split_sessions", "normalized_splits", "fit_zscore", "normalize_sessions", "normalize_time",
    "SplitDataset", "make_dataloader", "TensorSampler", "pad_splits",
]


class SessionList(list):
    """A list of :class:`Session` with ``skipped``: ``[(path, reason), ...]`` of files
    passed over with ``skip_bad=True``."""

    def __init__(self, items=(), skipped=None):
        super().__init__(items)
        self.skipped: list[tuple[Path, str]] = list(skipped or [])


def find_session_files(data_dir: str | Path, pattern: str = "*.h5", max_sessions: int | None = None) -> list[Path]:
    """Session files in ``data_dir`` matching ``pattern``, sorted by name.

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
        raise DataError(d, "is not a directory (expected a folder of <session_id>.h5 files)")
    files = sorted(p for p in d.glob(pattern) if p.is_file() and not p.name.startswith("."))
    if not files:
        raise DataError(d, f"no files matching '{pattern}' (expected <session_id>.h5 session files)")
    return files[:max_sessions] if max_sessions else files


def load_sessions(data_dir: str | Path, pattern: str = "*.h5", max_sessions: int | None = None,
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
    for i, path in enumerate(tqdm(files, desc="load", unit="session", disable=not progress)):
        try:
            out.append(read_session(path, traces=wanted is None or i in wanted))
        except DataError as exc:
            if not skip_bad:
                raise
            out.skipped.append((path, exc.reason))
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
        movie_frame, movie_repeat: ``(T_split,) int64``, -1 outside the movie.
        grating_orientation, grating_temporal_frequency: ``(T_split,) float32``, NaN outside.
        session_index: ``(T_split,) int64`` session of each sample (0 unless ``pad``).
        num_neurons: Per-session neuron counts (``pad``: before padding).
    """

    session_id: str
    neural: np.ndarray
    time: np.ndarray
    index: np.ndarray
    segment: np.ndarray
    movie_frame: np.ndarray
    movie_repeat: np.ndarray
    grating_orientation: np.ndarray
    grating_temporal_frequency: np.ndarray
    session_index: np.ndarray
    num_neurons: tuple[int, ...]

    def __len__(self) -> int:
        return int(self.neural.shape[0])

    @property
    def shape(self) -> tuple[int, int]:
        return tuple(self.neural.shape)


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
        movie_frame=session.movie_frame[idx], movie_repeat=session.movie_repeat[idx],
        grating_orientation=session.grating_orientation[idx],
        grating_temporal_frequency=session.grating_temporal_frequency[idx],
        session_index=np.full(len(idx), session_index, dtype=np.int64), num_neurons=(session.num_neurons,))


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
    return SplitData(session_id="pad", neural=neural, time=cat("time"), index=cat("index"),
                     segment=np.concatenate(segs), movie_frame=cat("movie_frame"), movie_repeat=cat("movie_repeat"),
                     grating_orientation=cat("grating_orientation"),
                     grating_temporal_frequency=cat("grating_temporal_frequency"),
                     session_index=cat("session_index"), num_neurons=tuple(n for p in parts for n in p.num_neurons))


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
        ...               np.arange(100), z, z - 1, z - 1, z * np.nan, z * np.nan, z, (7,))
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
