"""A run's data, one concept per module: discovery (:mod:`~neurocine.data.discovery`),
normalisation (:mod:`~neurocine.data.normalise`), splits (:mod:`~neurocine.data.splits`),
the run's dataset (:mod:`~neurocine.data.dataset`), loaders
(:mod:`~neurocine.data.loaders`) and stimulus templates (:mod:`~neurocine.data.templates`).

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

from neurocine.data.dataset import FileInfo, RunData, load_dataset, prepare_splits, sharded_splits
from neurocine.data.discovery import SessionList, find_session_files, load_sessions, shard
from neurocine.data.loaders import SplitDataset, TensorSampler, make_dataloader
from neurocine.data.normalise import fit_zscore, normalize_sessions, normalize_time
from neurocine.data.splits import (LazySplits, SplitData, contiguous_segments, keep_rows, normalized_splits,
                                   pad_splits, session_split, split_sessions, training_rows)
from neurocine.data.templates import find_template, load_template, template_frames

__all__ = [
    "SessionList", "SplitData", "find_session_files", "load_sessions", "load_dataset",
    "split_sessions", "normalized_splits", "fit_zscore", "normalize_sessions", "normalize_time",
    "SplitDataset", "make_dataloader", "TensorSampler", "pad_splits", "load_template", "prepare_splits",
    "sharded_splits", "LazySplits", "keep_rows", "find_template", "template_frames", "training_rows",
    "contiguous_segments", "session_split", "shard", "RunData", "FileInfo",
]
