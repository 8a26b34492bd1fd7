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

import errno
import json
import math
import os
import shutil
import socket
import time as _time
from collections.abc import Mapping
from contextlib import contextmanager
from pathlib import Path

import h5py
import numpy as np
import yaml

from neurocine.atomic import atomic_h5, atomic_write
from neurocine.errors import ConfigError, DataError, LockError, MismatchError, OutputError
from neurocine.provenance import sha256
from neurocine.settings import DEFAULT, Config, keys_where
from neurocine.torchio import load_checkpoint

METRICS = "metrics.json"
CONFIG = "config.yaml"
EMBEDDINGS = "embeddings.h5"
MODEL = "model.pt"
CHECKPOINT = "checkpoint.pt"


def _jsonable(x):
    if hasattr(x, "to_json"):  # a result type (neurocine.scores.Comparison, Interval)
        return _jsonable(x.to_json())
    if isinstance(x, Mapping):
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


LOCK = ".neurocine.lock"
#: Written into a results folder when neurocine creates it: only such folders are written into.
MARKER = ".neurocine-results"


def flatten(d: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(flatten(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


#: Settings added after results folders existed whose default is not what those folders
#: ran with: a folder that lacks the key ran with this value (all-session negatives).
BEFORE_THE_SETTING = {"model.negative_block": 0}


def config_differences(old: dict, new: dict, ignore=None) -> list[str]:
    """``["model.temperature: 0.2 -> 0.1", ...]`` between two config dicts, leaving out the
    settings that do not change results (``affects_results=False`` rows) or ``ignore``.

    A key one side lacks is read as what a folder written before the setting existed ran
    with: the table's default, which keeps the old behaviour, or, where the default changed
    it, :data:`BEFORE_THE_SETTING`. So adding a setting does not make every older results
    folder a mismatch, and a changed behaviour still does.

    Example:
        >>> config_differences({"model": {"temperature": 0.2}}, {"model": {"temperature": 0.2}})
        []
        >>> config_differences({}, {"model": {"negative_block": 8}})
        ['model.negative_block: 0 -> 8']
    """
    ignore = keys_where("affects_results") if ignore is None else ignore
    before = {**flatten(DEFAULT.to_dict()), **BEFORE_THE_SETTING}
    a, b = {**before, **flatten(old)}, {**before, **flatten(new)}
    keys = sorted((set(a) | set(b)) - set(ignore))
    return [f"{k}: {a.get(k)!r} -> {b.get(k)!r}" for k in keys if a.get(k) != b.get(k)]


class Results:
    """One results folder.

    Args:
        out: The folder (created by the first write).
    """
    def __init__(self, out: str | Path):
        self.given = out  # as typed: Path("") would read as "." and write into the current folder
        self.out = Path(out)

    def path(self, name: str) -> Path:
        return self.out / name

    # ------------------------------------------------------------ safety checks
    def check_writable(self) -> None:
        """Refuse, before any work, a results path that is a file, lies below a file, or
        on a read-only file system (OutputError, one line)."""
        if self.out.exists() and not self.out.is_dir():
            raise OutputError(self.out, OSError(errno.ENOTDIR, "is a file, expected a folder for the results"))
        parent = self.out
        while not parent.exists():
            parent = parent.parent
        if not parent.is_dir():
            raise OutputError(self.out, OSError(errno.ENOTDIR, f"{parent} is a file, not a folder"))
        if not os.access(parent, os.W_OK):
            raise OutputError(self.out, OSError(errno.EROFS if _read_only(parent) else errno.EACCES, ""))

    def check_owned(self, data_dir=None, inputs=()) -> None:
        """Refuse, before any work, a results folder that could hold what neurocine did not
        write, or that this command reads: an empty path (it would mean the current folder),
        the data folder (or each of a list of them) or a folder inside it (results there
        would be read as data), a folder this command reads from (``inputs``: adapt's
        trained results folder) or one inside it, or an existing non-empty folder without
        neurocine's marker (a user's own ``model.pt`` or ``report.html`` would be
        overwritten). A folder that an earlier version of neurocine wrote (its metrics.json
        names neurocine) is marked and accepted.

        Every command that writes a results folder calls this first (``run``, each stage,
        ``adapt``, ``report``), so a command added later inherits the same guard.

        Raises:
            OutputError: one line naming the folder and why.
        """
        refuse_empty_path(self.given)
        out = self.out.resolve()
        for given in (data_dir if isinstance(data_dir, (list, tuple)) else [data_dir]):
            if given is None or not str(given).strip():
                continue
            data = Path(given).resolve()
            if out == data or data in out.parents:
                raise OutputError(self.out, f"the results folder is the data folder {given} or inside it; results "
                                            "there would be read as data by the next run: choose another --out")
        for given in inputs:
            source = Path(given).resolve()
            if out == source or source in out.parents:
                raise OutputError(self.out, f"the results folder is {given}, which this command reads, or inside it; "
                                            "its model and numbers would be replaced: choose another --out")
        if not self.out.is_dir() or (self.out / MARKER).exists():
            return
        present = sorted(p.name for p in self.out.iterdir())
        if not present:
            return
        if self._written_by_neurocine():
            self._mark()
            return
        shown = ", ".join(present[:4]) + (f" and {len(present) - 4} more" if len(present) > 4 else "")
        raise OutputError(self.out, f"not a neurocine results folder: it holds {shown}, which neurocine did not "
                                    "write; choose a new or empty folder (--out)")

    def _written_by_neurocine(self) -> bool:
        try:
            return "neurocine" in self.metrics().get("provenance", {}).get("versions", {})
        except (DataError, AttributeError):
            return False

    def _mark(self) -> None:
        marker = self.out / MARKER
        if not marker.exists():
            atomic_write(marker, lambda tmp: tmp.write_text("a neurocine results folder: neurocine writes here\n"))

    def check_resume(self, cfg, name: str = CHECKPOINT) -> None:
        """Refuse, before any data is read, a ``--resume`` whose training length is shorter
        than the checkpoint's step (the folder's config would then contradict its model)."""
        p = self.out / name
        if not p.exists():
            return
        blob = load_checkpoint(p)  # refuses a file that holds more than tensors and plain data
        try:
            step = int(blob["state"]["step"])
        except (KeyError, TypeError, ValueError):
            raise DataError(p, "not a neurocine checkpoint (no training state); remove it or train without "
                               "--resume") from None
        if cfg.model.max_iterations < step:
            raise MismatchError(f"{p}: the checkpoint is at step {step}, beyond model.max_iterations="
                                f"{cfg.model.max_iterations}; resume with max_iterations >= {step}, or train anew "
                                "with --force")

    def check_config(self, cfg, resume: bool = False) -> None:
        """Refuse to add to a folder whose config.yaml differs from ``cfg`` (names the keys;
        ``--force`` recomputes). A resumed run may extend the training length."""
        p = self.out / CONFIG
        if not p.exists():
            return

        saved = yaml.safe_load(p.read_text()) or {}
        diff = config_differences(saved, cfg.to_dict(),
                                  keys_where("affects_results") + (keys_where("run_length") if resume else ()))
        if diff:
            shown = "; ".join(diff[:4]) + (f"; and {len(diff) - 4} more" if len(diff) > 4 else "")
            raise MismatchError(f"{self.out}: the run in this folder used other settings ({shown}); use --force to "
                                f"recompute with the new ones, or another --out")

    @contextmanager
    def lock(self):
        """Hold ``.neurocine.lock`` while writing: a second run into the folder stops with a
        LockError naming the holder (a lock left by a dead process is taken over). When the
        folder did not exist and the work fails or is interrupted, the folders made here are
        removed again, unless a training checkpoint is there to resume from."""
        path = self.out / LOCK
        created = self.out
        while not created.parent.exists() and created.parent != created:
            created = created.parent  # the topmost folder this call makes
        created = None if created.exists() else created
        me = f"pid {os.getpid()} on {socket.gethostname()} since {_time.strftime('%Y-%m-%d %H:%M:%S')}"
        for _ in range(2):
            try:
                self.out.mkdir(parents=True, exist_ok=True)
                fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
                break
            except FileExistsError:
                holder = path.read_text(errors="replace").strip() if path.exists() else ""
                if _stale(holder):
                    path.unlink(missing_ok=True)
                    continue
                raise LockError(f"{self.out}: in use by another neurocine run ({holder or 'unknown'}); wait for "
                                f"it to finish, or remove {path} if that process is gone") from None
            except OSError as exc:
                raise OutputError(path, exc) from None
        else:
            raise LockError(f"{self.out}: could not take {path}")
        try:
            with os.fdopen(fd, "w") as fh:
                fh.write(me)
            self._mark()
        except OSError as exc:
            path.unlink(missing_ok=True)
            raise OutputError(path, exc) from None
        except OutputError:
            path.unlink(missing_ok=True)
            raise
        try:
            yield
        except BaseException:
            if created is not None and not (self.out / CHECKPOINT).exists():
                shutil.rmtree(created, ignore_errors=True)  # a refused first run leaves nothing (but what resumes)
            raise
        finally:
            path.unlink(missing_ok=True)

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

    def get(self, key, default=None):
        """``metrics[key]`` for a dotted key (``"reconstruction.novel_frames"``), or a list
        of keys for names that hold dots (``["classification", "drifting_gratings.direction"]``)."""
        node = self.metrics()
        for part in (key if isinstance(key, (list, tuple)) else key.split(".")):
            if not isinstance(node, dict) or part not in node:
                return default
            node = node[part]
        return node

    def update(self, key, value, keep: tuple[str, ...] = ()) -> dict:
        """Set ``metrics[key] = value`` (a dotted key, or a list of keys, sets a nested
        entry), atomically; entries of the old value named in ``keep`` (written by other
        stages) survive. Returns the whole metrics."""
        metrics = self.metrics()
        *parents, leaf = key if isinstance(key, (list, tuple)) else key.split(".")
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

    def drop(self, keys) -> dict:
        """Remove top-level entries of metrics.json (atomically); returns the metrics."""
        metrics = {k: v for k, v in self.metrics().items() if k not in set(keys)}
        self.write_json(METRICS, metrics)
        return metrics

    def digest(self, name: str) -> str | None:
        """sha256 of ``out/name`` (None when absent): tells whether a stage rewrote a file."""
        p = self.out / name
        return sha256(p) if p.is_file() else None

    def write_json(self, name: str, data) -> Path:
        text = json.dumps(_jsonable(data), indent=2)
        return atomic_write(self.out / name, lambda tmp: tmp.write_text(text))

    # -------------------------------------------------------------------- config
    def config(self):
        """The run's config.yaml, validated."""
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
            raise DataError(p,
                            f"unreadable embeddings ({type(exc).__name__}); re-run 'neurocine train --force'") from None
        for sid, splits in out.items():
            for split, d in splits.items():
                e = d["embedding"]
                if e.ndim != 2 or e.dtype.kind != "f" or not np.isfinite(e).all():
                    raise DataError(p, f"/{sid}/{split}/embedding is not a finite (T, D) array; re-run "
                                       "'neurocine train --force'")
        return out

    def embeddings_attrs(self) -> dict:
        with h5py.File(self.require(EMBEDDINGS, "train"), "r") as f:
            return {k: (v.decode() if isinstance(v, bytes) else v) for k, v in f.attrs.items()}

    # -------------------------------------------------------------------- arrays
    def save_arrays(self, name: str, arrays: dict) -> Path:
        """``out/name`` (``.npz``, compressed) holding ``arrays``."""
        return atomic_write(self.out / name, lambda tmp: np.savez_compressed(tmp, **arrays), suffix=".npz")


def refuse_empty_path(given, what: str = "--out") -> None:
    """Refuse an output path that is empty or blank: ``Path("")`` is ``"."``, so it would
    write into whatever the current folder is.

    Example:
        >>> refuse_empty_path("results")
        >>> refuse_empty_path("  ")
        Traceback (most recent call last):
        ...
        neurocine.errors.ConfigError: --out '  ': an empty path would write into the current folder; expected a folder
    """
    if not str(given).strip():
        raise ConfigError(f"{what} {str(given)!r}: an empty path would write into the current folder; expected a "
                          "folder")


def _stale(holder: str) -> bool:
    """A lock written by a process of this host that no longer runs."""
    parts = holder.split()
    if len(parts) < 4 or parts[0] != "pid" or parts[2] != "on" or parts[3] != socket.gethostname():
        return False
    try:
        os.kill(int(parts[1]), 0)
    except ProcessLookupError:
        return True
    except (PermissionError, ValueError):
        return False
    return False


def _read_only(path: Path) -> bool:

    try:
        return bool(os.statvfs(path).f_flag & os.ST_RDONLY)
    except OSError:
        return False


def embedding_record(embedding: np.ndarray, part) -> dict:
    """What embeddings.h5 stores of one session's split (``part``: a SplitData)."""
    return {"session_id": part.session_id, "embedding": embedding.astype(np.float32), "timestamps": part.time,
            "index": part.index, "labels": dict(part.labels)}


__all__ = ["Results", "refuse_empty_path", "embedding_record",
           "config_differences", "METRICS", "CONFIG", "EMBEDDINGS", "MODEL",
           "CHECKPOINT", "LOCK", "MARKER"]
