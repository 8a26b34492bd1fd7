"""Where a run's numbers come from: the data (simulated, with its seed, or recorded files
with ids and checksums), package versions, the git commit, seeds and the config.

Stored in ``metrics.json["provenance"]`` and shown at the top of report.html, so a number
copied from a report can always be traced to its inputs.
"""

from __future__ import annotations

import hashlib
import json
import platform
import subprocess
from importlib import metadata
from pathlib import Path

SIMULATION_FILE = "simulation.json"


def sha256(path: str | Path, chunk: int = 1 << 22) -> str:
    """Hex SHA-256 of a file."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(chunk), b""):
            h.update(block)
    return h.hexdigest()


def versions() -> dict[str, str]:
    """Versions of Python and of the packages results depend on."""
    out = {"python": platform.python_version()}
    for name in ("neurocine", "torch", "cebra", "numpy", "scikit-learn", "scikit-image", "h5py", "temporaldata"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def git_commit() -> str | None:
    """The commit of the neurocine source tree, when it is a git checkout (else None)."""
    here = Path(__file__).resolve().parent
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, timeout=5)
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "."], cwd=here, capture_output=True,
                               text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    if sha.returncode != 0:
        return None
    return sha.stdout.strip() + ("+uncommitted changes" if dirty.stdout.strip() else "")


def data_source(data_dir: str | Path, files: list[Path], session_ids: list[str], layouts: list[str]) -> dict:
    """``{"data": "simulated" | "recorded", ...}`` for the session files of a run.

    A folder holding the simulator's ``simulation.json`` is simulated (its seed and
    settings are recorded); anything else counts as recorded data, listed file by file
    with session id, layout, size and SHA-256.
    """
    data_dir = Path(data_dir)
    entries = [{"file": p.name, "session_id": sid, "layout": lay, "bytes": p.stat().st_size, "sha256": sha256(p)}
               for p, sid, lay in zip(files, session_ids, layouts)]
    sim = data_dir / SIMULATION_FILE
    if sim.is_file():
        try:
            settings = json.loads(sim.read_text())
        except (json.JSONDecodeError, OSError):
            settings = {}
        return {"data": "simulated", "data_dir": str(data_dir), "simulator": "neurocine.io.simulate",
                "simulation_seed": settings.get("seed"), "simulation": settings, "files": entries}
    return {"data": "recorded", "data_dir": str(data_dir), "files": entries}


def collect(cfg, files: list[Path], session_ids: list[str], layouts: list[str]) -> dict:
    """Everything ``metrics.json["provenance"]`` holds."""
    return {**data_source(cfg.dataset.data_dir, files, session_ids, layouts), "versions": versions(),
            "git_commit": git_commit(), "seed": cfg.training.seed, "config": cfg.to_dict()}


__all__ = ["collect", "data_source", "versions", "git_commit", "sha256"]
