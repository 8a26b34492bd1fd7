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

from neurocine.io.recording import simulation_tag

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


#: What the report calls each modality's traces.
SIGNAL = {"dff": "dF/F", "spikes": "spikes"}


def signal_words(text: str, signal: str | None) -> str:
    """``text`` (a report section, a summary line) with "dF/F" said as the run's signal:
    numbers decoded from spikes never say dF/F.

    Example:
        >>> signal_words("ridge from dF/F", "spikes")
        'ridge from spikes'
    """
    if not signal or signal == "dF/F":
        return text
    return text.replace("dF/F", "dF/F or spikes" if "and" in signal else signal)


def data_source(data_dir: str | Path, files: list[Path], session_ids: list[str], layouts: list[str],
                sha256s: list[str] | None = None, simulations: list[dict | None] | None = None,
                modalities: list[str] | None = None, metadata: list[dict | None] | None = None) -> dict:
    """``{"data": "simulated" | "recorded" | "mixed", ...}`` for the session files of a run.

    Every file is asked itself: the simulator stores what made it inside each file
    (:func:`neurocine.io.recording.simulation_tag`), so a simulated file copied without
    ``simulation.json`` is still reported as simulated. Each file is listed with session
    id, layout, size, SHA-256 and, when simulated, its simulator and seed; the folder's
    ``simulation.json`` (when present) adds the simulator's settings. ``sha256s`` and
    ``simulations`` (what :func:`neurocine.io.read_session` recorded while reading the
    files) spare opening the files again; without them each file is read here.
    ``modalities`` (``"dff"`` or ``"spikes"`` per session) give ``signal``: what every
    number was decoded from (``"dF/F"``, ``"spikes"``, or ``"dF/F and spikes"``);
    ``metadata`` (per session, from the reader) adds the units kept per area of spike
    sessions.
    """
    data_dir = Path(data_dir)
    entries = []
    for i, (p, sid, lay) in enumerate(zip(files, session_ids, layouts)):
        p = Path(p)
        digest = sha256s[i] if sha256s is not None and sha256s[i] else sha256(p)
        entry = {"file": p.name, "session_id": sid, "layout": lay, "bytes": p.stat().st_size, "sha256": digest}
        tag = simulations[i] if simulations is not None else simulation_tag(p)
        entry["simulated"] = tag is not None
        if tag is not None:
            entry["simulation"] = tag
        entry["signal"] = SIGNAL[modalities[i]] if modalities is not None else "dF/F"
        meta = metadata[i] if metadata is not None else None
        if meta and "units_kept_per_area" in meta:
            entry["units_kept_per_area"] = meta["units_kept_per_area"]
            entry["units_dropped"] = meta.get("units_dropped", {})
            entry["bin_s"] = meta.get("bin_s")
        entries.append(entry)
    simulated = [e for e in entries if e["simulated"]]
    kind = "recorded" if not simulated else "simulated" if len(simulated) == len(entries) else "mixed"
    signals = sorted({e["signal"] for e in entries})
    out = {"data": kind, "data_dir": str(data_dir), "signal": " and ".join(signals) or "dF/F", "files": entries}
    if simulated:
        seeds = sorted({e["simulation"].get("seed") for e in simulated}, key=str)
        out.update({"simulator": "neurocine.io.simulate", "simulation_seed": seeds[0] if len(seeds) == 1 else seeds,
                    "simulated_files": len(simulated)})
        sim = data_dir / SIMULATION_FILE
        if sim.is_file():
            try:
                out["simulation"] = json.loads(sim.read_text())
            except (json.JSONDecodeError, OSError, UnicodeDecodeError):
                pass
    return out


def collect(cfg, files: list[Path], session_ids: list[str], layouts: list[str], sha256s=None,
            simulations=None, modalities=None, metadata=None) -> dict:
    """Everything ``metrics.json["provenance"]`` holds."""
    return {**data_source(cfg.dataset.data_dir, files, session_ids, layouts, sha256s, simulations, modalities,
                          metadata),
            "versions": versions(),
            "git_commit": git_commit(), "seed": cfg.training.seed, "config": cfg.to_dict()}


__all__ = ["signal_words", "SIGNAL", "collect", "data_source", "versions", "git_commit", "sha256"]
