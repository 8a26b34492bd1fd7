"""Everything read from or written to a results folder, in one place.

Results folder::

    config.yaml        the resolved config (what the run was asked to do)
    model.pt           the CEBRA model (neurocine.CEBRA.load)
    checkpoint.pt      training checkpoint (for --resume)
    embeddings.h5      /<session_id>/<split>/{embedding, timestamps, index, labels/<label name>}
    metrics.json       one entry per stage (training, frame_id, reconstruction, ...)
    halfunet.pt        the HalfUNet decoder (neurocine.decoders.HalfUNet.load)
    *_predictions.npz  per-sample predictions of a stage
    figures/*.png      the stages' figures
    report.html        one self-contained page

Every write is atomic (:mod:`neurocine.atomic`): a crash leaves the previous file intact.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import h5py
import numpy as np

from neurocine.atomic import atomic_h5, atomic_write
from neurocine.errors import DataError

METRICS = "metrics.json"
CONFIG = "config.yaml"
EMBEDDINGS = "embeddings.h5"
MODEL = "model.pt"
CHECKPOINT = "checkpoint.pt"


def _jsonable(x):
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, np.ndarray):
        return _jsonable(x.tolist())
    if isinstance(x, (np.floating, float)):
        x = float(x)
        return x if math.isfinite(x) else None  # JSON has no NaN/inf: they become null
    if isinstance(x, np.integer):
        return int(x)
    if isinstance(x, np.bool_):
        return bool(x)
    return x


class Results:
    """One results folder.

    Args:
        out: The folder (created by the first write).
    """

    def __init__(self, out: str | Path):
        self.out = Path(out)

    def path(self, name: str) -> Path:
        return self.out / name

    def figure(self, name: str) -> Path:
        """Where figure ``name`` (e.g. ``frame_id_error.png``) goes."""
        return self.out / "figures" / name

    def exists(self, *names: str) -> bool:
        return all((self.out / n).exists() for n in names)

    def require(self, name: str, stage: str) -> Path:
        """``out/name``, or a DataError saying which stage writes it."""
        p = self.out / name
        if not p.exists():
            raise DataError(self.out, f"missing {name}: run 'neurocine {stage}' first")
        return p

    # ------------------------------------------------------------------- metrics
    def metrics(self) -> dict:
        """metrics.json as a dict ({} when absent)."""
        p = self.out / METRICS
        if not p.exists():
            return {}
        try:
            data = json.loads(p.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise DataError(p, f"not valid JSON ({getattr(exc, 'msg', type(exc).__name__)}); remove it and "
                               "re-run the stages with --force") from None
        if not isinstance(data, dict):
            raise DataError(p, "expected a JSON object of stage results")
        return data

    def get(self, key: str, default=None):
        """``metrics[key]`` for a dotted key (``"reconstruction.novel_frames"``)."""
        node = self.metrics()
        for part in key.split("."):
            if not isinstance(node, dict) or part not in node:
                return default
            node = node[part]
        return node

    def update(self, key: str, value, keep: tuple[str, ...] = ()) -> dict:
        """Set ``metrics[key] = value`` (a dotted key sets a nested entry), atomically;
        entries of the old value named in ``keep`` (written by other stages) survive.
        Returns the whole metrics."""
        metrics = self.metrics()
        *parents, leaf = key.split(".")
        node = metrics
        for part in parents:
            node = node.setdefault(part, {})
        old = node.get(leaf) if isinstance(node.get(leaf), dict) else {}
        node[leaf] = _jsonable(value)
        for name in keep:
            if name in old and isinstance(node[leaf], dict):
                node[leaf].setdefault(name, old[name])
        self.write_json(METRICS, metrics)
        return metrics

    def write_json(self, name: str, data) -> Path:
        text = json.dumps(_jsonable(data), indent=2)
        return atomic_write(self.out / name, lambda tmp: tmp.write_text(text))

    # -------------------------------------------------------------------- config
    def config(self):
        """The run's config.yaml, validated."""
        from neurocine.config import Config

        p = self.out / CONFIG
        if not p.exists():
            raise DataError(self.out, "no config.yaml: run 'neurocine train' into this folder first")
        return Config.load(p)

    def save_config(self, cfg) -> Path:
        return cfg.save(self.out / CONFIG)

    # ---------------------------------------------------------------- embeddings
    def write_embeddings(self, records, name: str = EMBEDDINGS) -> Path:
        """embeddings.h5 from an iterable of ``(split, record)``; a record is
        :func:`embedding_record`'s dict. Attributes of the file come first as
        ``("attrs", dict)`` items."""
        with atomic_h5(self.out / name, overwrite=True) as f:
            for split, record in records:
                if split == "attrs":
                    f.attrs.update({k: v for k, v in record.items()})
                    continue
                g = f.require_group(record["session_id"]).create_group(split)
                for key in ("embedding", "timestamps", "index"):
                    g.create_dataset(key, data=record[key])
                lab = g.create_group("labels")
                for label, values in record["labels"].items():
                    lab.create_dataset(label, data=values)
        return self.out / name

    def read_embeddings(self, name: str = EMBEDDINGS) -> dict:
        """``{session_id: {split: {"embedding", "timestamps", "index", "labels": {...}}}}``."""
        p = self.require(name, "train")
        out = {}
        try:
            with h5py.File(p, "r") as f:
                for sid in f:
                    out[sid] = {}
                    for split in f[sid]:
                        g = f[sid][split]
                        out[sid][split] = {k: g[k][()] for k in ("embedding", "timestamps", "index")}
                        out[sid][split]["labels"] = {n: g["labels"][n][()] for n in g["labels"]}
        except (OSError, KeyError) as exc:
            raise DataError(p, f"unreadable embeddings ({type(exc).__name__}); re-run 'neurocine train --force'") from None
        return out

    def embeddings_attrs(self) -> dict:
        with h5py.File(self.require(EMBEDDINGS, "train"), "r") as f:
            return {k: (v.decode() if isinstance(v, bytes) else v) for k, v in f.attrs.items()}

    # -------------------------------------------------------------------- arrays
    def save_arrays(self, name: str, arrays: dict) -> Path:
        """``out/name`` (``.npz``, compressed) holding ``arrays``."""
        return atomic_write(self.out / name, lambda tmp: np.savez_compressed(tmp, **arrays), suffix=".npz")


def embedding_record(embedding: np.ndarray, part) -> dict:
    """What embeddings.h5 stores of one session's split (``part``: a SplitData)."""
    return {"session_id": part.session_id, "embedding": embedding.astype(np.float32), "timestamps": part.time,
            "index": part.index, "labels": dict(part.labels)}


__all__ = ["Results", "embedding_record", "METRICS", "CONFIG", "EMBEDDINGS", "MODEL", "CHECKPOINT"]
