"""A run's data: the sessions of a data folder read once, normalised once, cut into splits
(:func:`prepare_splits`), the original design's :func:`load_dataset`, and a distributed rank's lazy
view (:func:`sharded_splits`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from neurocine.data.discovery import SessionList, find_session_files, load_sessions, read_options, shard
from neurocine.data.splits import LazySplits, SplitData, normalized_splits, pad_splits
from neurocine.data.templates import find_template
from neurocine.errors import ConfigError, DataError
from neurocine.io import read_session
from neurocine.session import SPLITS, Session
from neurocine.settings import MODES, Config, DatasetConfig


def _dataset_config(config) -> DatasetConfig:
    if isinstance(config, Config):
        return config.dataset
    if isinstance(config, DatasetConfig):
        return config
    if isinstance(config, dict):
        return Config.from_dict(config if "dataset" in config else {"dataset": config}).dataset
    raise ConfigError(f"load_dataset: expected a Config, DatasetConfig or dict, got {type(config).__name__}")


def load_dataset(config, split: str = "train", sessions: list[Session] | None = None) -> list[SplitData]:
    """The original design's ``load_dataset``: load, normalise and cut one split.

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
        >>> padded = load_dataset({"data_dir": d, "mode": "pad"})
        >>> len(padded), padded[0].neural.shape[1]
        (1, 30)
    """
    ds = _dataset_config(config)
    ds.validate()
    if split not in SPLITS + ("all",):
        raise ConfigError(f"load_dataset: unknown split {split!r}; expected one of train, valid, test, all")
    if sessions is None:
        sessions = load_sessions(ds.data_dir, ds.file_pattern, ds.max_sessions, ds.skip_bad, options=read_options(ds),
                                 exclude=ds.exclude)
    if ds.mode == "first_only":
        sessions = sessions[:1]
    parts = normalized_splits(sessions, split, ds.normalize, ds.normalize_time)
    if ds.mode == "pad":
        return [pad_splits(parts)]
    assert ds.mode in MODES
    return parts


def prepare_splits(dataset: DatasetConfig, progress: bool = False, checksums: bool = False):
    """Load, normalise and cut every split of the sessions ``dataset`` names.

    Args:
        checksums: Record each file's SHA-256 while reading it (``Session.sha256``).

    Returns:
        ``(sessions, {split: [SplitData per session]})``: the raw sessions (a
        :class:`SessionList`, whose ``skipped`` lists files passed over) and the
        normalised splits (``first_only``: the first session alone).
    """
    dataset.validate()
    sessions = load_sessions(dataset.data_dir, dataset.file_pattern, dataset.max_sessions, dataset.skip_bad,
                             progress=progress, checksums=checksums, options=read_options(dataset),
                             exclude=dataset.exclude)
    if dataset.mode == "first_only":
        sessions = SessionList(sessions[:1], sessions.skipped)
    splits = {s: normalized_splits(sessions, s, dataset.normalize, dataset.normalize_time) for s in SPLITS}
    return sessions, splits


@dataclass(frozen=True)
class FileInfo:
    """What a run knows of one session file after reading it once."""

    path: Path
    session_id: str
    layout: str
    num_neurons: int
    sha256: str | None
    simulation: dict | None
    modality: str = "dff"
    metadata: dict | None = None


class RunData:
    """A run's sessions, read once and normalised once (on first use), shared by every
    stage of ``neurocine run``: the normalised splits, what each file is (id, layout,
    neurons, checksum, simulated or not) and the stimulus templates (each found once).
    A stage run alone makes its own and so reads what it needs once too.

    Args:
        dataset: The run's ``dataset`` settings.
        progress: Show a progress bar while reading.
        keep_raw: Keep the raw sessions too (:meth:`sessions`: cross-validation re-splits
            and re-normalises them per fold).
    """

    def __init__(self, dataset: DatasetConfig, progress: bool = False, keep_raw: bool = False):
        self.dataset = dataset
        self.progress = progress
        self.keep_raw = keep_raw
        self._raw = None
        self._splits = None
        self.files: list[FileInfo] = []
        self.skipped: list = []
        self._templates: dict = {}

    @classmethod
    def for_config(cls, config, progress: bool = False) -> "RunData":
        """The run's data as the run's settings need it: the raw sessions kept only when
        cross-validation (``evaluation.folds``) will re-split them (decided here, once)."""
        return cls(config.dataset, progress=progress, keep_raw=config.evaluation.folds is not None)

    def _load(self) -> None:
        sessions, self._splits = prepare_splits(self.dataset, self.progress, checksums=True)
        self.skipped = list(sessions.skipped)
        self.files = [FileInfo(s.path, s.session_id, s.layout, s.num_neurons, s.sha256, s.simulation, s.modality,
                               s.metadata) for s in sessions]
        self._raw = sessions if self.keep_raw else None  # else every stage reads the normalised splits

    @property
    def splits(self) -> dict:
        """``{split: [SplitData per session]}``, normalised with train-split statistics."""
        if self._splits is None:
            self._load()
        return self._splits

    def sessions(self) -> SessionList:
        """The raw sessions (made with ``keep_raw=True``)."""
        if self._splits is None:
            self._load()
        if self._raw is None:
            raise ValueError("RunData(keep_raw=False) keeps only the normalised splits")
        return self._raw

    def info(self) -> list[FileInfo]:
        """What each session file is (read on first use)."""
        if self._splits is None:
            self._load()
        return self.files

    def template(self, stimulus: str, output_shape=None, n_frames: int | None = None):
        """:func:`~neurocine.data.templates.find_template` of the run, found once; only files
        whose layout carries templates are opened."""
        key = (stimulus, None if output_shape is None else tuple(output_shape), n_frames)
        if key not in self._templates:
            sources = [(f.path, f.layout) for f in self.info()]
            self._templates[key] = find_template(self.dataset, stimulus, output_shape, n_frames, sources=sources)
        return self._templates[key]


def refuse_under_torchrun(dataset) -> None:
    """The two dataset settings a run sharded over torchrun's processes cannot honour,
    refused before any process reads data (the CLI checks them before joining the group)."""
    if dataset.skip_bad:
        raise DataError(dataset.data_dir, "dataset.skip_bad is not supported under torchrun (a bad file is found "
                                          "only by the rank that reads its dF/F); run 'neurocine check' and remove "
                                          "bad files")
    if dataset.populations == "per_area":
        raise ConfigError("dataset.populations=per_area is not supported under torchrun (one file holds several "
                          "populations, so files cannot be sharded by rank); run on one process")


def sharded_splits(dataset: DatasetConfig, rank: int, world: int, progress: bool = False,
                   with_modalities: bool = False):
    """A distributed rank's view of the sessions: the dF/F of files ``rank, rank + world,
    ...`` read and normalised; every other session read (labels only) when needed and not
    kept (:class:`LazySplits`).

    Returns:
        ``({split: LazySplits}, session_ids, num_neurons)``, and each session's modality
        (``"dff"`` or ``"spikes"``) fourth when ``with_modalities``.
    """
    from tqdm.auto import tqdm  # noqa: PLC0415 - tqdm picks its front end at import

    dataset.validate()
    refuse_under_torchrun(dataset)
    options = read_options(dataset)
    files = find_session_files(dataset.data_dir, dataset.file_pattern, dataset.max_sessions, dataset.exclude)
    mine = set(shard(len(files), world, rank))
    held = {split: {} for split in SPLITS}
    session_ids, num_neurons, modalities = [], [], []
    for i, path in enumerate(tqdm(files, desc="load", unit="session", disable=not progress)):
        session = read_session(path, traces=i in mine, **options)
        session_ids.append(session.session_id)
        num_neurons.append(session.num_neurons)
        modalities.append(session.modality)
        if i in mine:
            for split in SPLITS:
                part = normalized_splits([session], split, dataset.normalize, dataset.normalize_time)[0]
                part.session_index[:] = i
                held[split][i] = part
        del session
    out = ({split: LazySplits(files, split, held[split], dataset.normalize_time, options) for split in SPLITS},
           session_ids, num_neurons)
    return (*out, modalities) if with_modalities else out


__all__ = ["load_dataset", "prepare_splits", "sharded_splits", "RunData", "FileInfo"]
