"""Provenance: what a run's numbers come from, and runs that never invent data."""

from __future__ import annotations

import json
import subprocess
import sys

import yaml

from conftest import kirby_arrays, write_kirby_fixture
from neurocine.provenance import data_source, sha256


def test_simulated_and_recorded_folders_are_told_apart(sim_dir, tmp_path):
    files = sorted(sim_dir.glob("*.h5"))
    sim = data_source(sim_dir, files, [f.stem for f in files], ["kirby"] * len(files))
    assert sim["data"] == "simulated" and sim["simulation_seed"] == 0
    # a simulated file copied without simulation.json still says what it is
    copy = tmp_path / "copy"
    copy.mkdir()
    (copy / files[0].name).write_bytes(files[0].read_bytes())
    copied = data_source(copy, [copy / files[0].name], [files[0].stem], ["kirby"])
    assert copied["data"] == "simulated" and copied["simulation_seed"] == 0
    assert copied["files"][0]["sha256"] == sha256(files[0]) and copied["files"][0]["simulated"]
    # a recording (written without the simulator) is recorded; beside a simulated file: mixed
    recorded = write_kirby_fixture(copy / "123.h5", kirby_arrays())
    rec = data_source(copy, [recorded], ["123"], ["kirby"])
    assert rec["data"] == "recorded" and not rec["files"][0]["simulated"]
    both = data_source(copy, [recorded, copy / files[0].name], ["123", files[0].stem], ["kirby"] * 2)
    assert both["data"] == "mixed" and both["simulated_files"] == 1


def _run(tmp_path, *args):
    return subprocess.run([sys.executable, "-m", "neurocine", "run", *args], capture_output=True, text=True,
                          cwd=tmp_path)


def test_a_mistyped_data_dir_is_an_error_that_creates_nothing(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text(yaml.safe_dump({"output_dir": str(tmp_path / "results")}))
    before = sorted(p.name for p in tmp_path.iterdir())
    proc = _run(tmp_path, "--config", str(cfg), "--data_dir", str(tmp_path / "dtaa"))
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [f"neurocine: error: {tmp_path / 'dtaa'}: data directory not found"]
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # no data folder, no results folder


def test_an_existing_folder_without_sessions_is_never_simulated_into(tmp_path):
    own = tmp_path / "mine"
    own.mkdir()
    (own / "notes.txt").write_text("my files")
    cfg = tmp_path / "c.yaml"
    cfg.write_text(yaml.safe_dump({"dataset": {"data_dir": str(own), "simulate": True},
                                   "output_dir": str(tmp_path / "results")}))
    proc = _run(tmp_path, "--config", str(cfg))
    assert proc.returncode == 2 and "no files matching '*.h5 *.nwb'" in proc.stderr
    assert sorted(p.name for p in own.iterdir()) == ["notes.txt"] and not (tmp_path / "results").exists()


def test_metrics_name_their_data_source(tiny_results):
    m = json.loads((tiny_results / "metrics.json").read_text())
    prov = m["provenance"]
    assert prov["data"] == "simulated" and prov["simulation_seed"] == 0
    assert len(prov["files"]) == 2 and all(len(f["sha256"]) == 64 for f in prov["files"])
    assert {"neurocine", "torch", "cebra", "python"} <= set(prov["versions"])
    assert prov["seed"] == 0 and prov["config"]["model"]["batch_size"] == 128
