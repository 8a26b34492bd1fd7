"""End to end on a tiny config: run -> every stage's outputs, stage reuse, --force, and
report.html rendered in headless Chromium."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys

import pytest
import yaml

from neurocine.cli import main

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """The whole job on a tiny config; the data folder starts empty (simulated into)."""
    root = tmp_path_factory.mktemp("e2e")
    cfg = {"dataset": {"data_dir": str(root / "data")},
           "model": {"batch_size": 128, "max_iterations": 40, "device": "cpu", "learning_rate": 0.001},
           "training": {"validate_every": 20, "checkpoint_every": 20},
           "reconstruction": {"num_epochs": 2, "max_train_samples": 300, "output_shape": [16, 32], "batch_size": 32},
           "output_dir": str(root / "results")}
    path = root / "tiny.yaml"
    path.write_text(yaml.safe_dump(cfg))
    # a small simulated dataset, so the run stays fast; run would simulate the demo if empty
    from neurocine.io.simulate import simulate_dataset

    simulate_dataset(root / "data", sessions=2, neurons=(20, 30), grating_repeats=1, spontaneous_s=2.0,
                     frame_shape=(16, 32), progress=False)
    proc = subprocess.run([sys.executable, "-m", "neurocine", "run", "--config", str(path), "--quiet"],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return root, path, proc.stdout


def test_run_writes_every_output(tiny_run):
    root, _, stdout = tiny_run
    res = root / "results"
    for name in ("config.yaml", "model.pt", "embeddings.h5", "metrics.json", "halfunet.pt", "report.html",
                 "figures/loss_curve.png", "figures/embedding.png", "figures/frame_id_error.png",
                 "figures/reconstructions.png"):
        assert (res / name).exists(), name
    m = json.loads((res / "metrics.json").read_text())
    for method in ("cebra", "raw_knn", "pca_knn", "chance"):
        assert 0 <= m["frame_id"][method]["accuracy_1s"] <= 1
        assert m["frame_id"][method]["mean_abs_frame_error"] >= 0
    assert set(m["frame_id"]["per_session"]) == set(m["training"]["sessions"])
    for method in ("halfunet", "ridge_embedding", "ridge_dff"):
        assert set(m["reconstruction"][method]) == {"ssim", "psnr", "pixel_r"}
    assert set(m["wall_time_s"]) == {"train", "decode-frames", "reconstruct", "report"}
    assert "wall time per stage: train" in stdout


def test_finished_stages_are_reused_unless_forced(tiny_run, capsys):
    root, path, _ = tiny_run
    res = root / "results"
    before = (res / "model.pt").stat().st_mtime_ns
    assert main(["train", "--config", str(path), "--quiet"]) == 0
    assert "reusing" in capsys.readouterr().out
    assert (res / "model.pt").stat().st_mtime_ns == before
    assert main(["decode-frames", str(res), "--quiet"]) == 0
    assert "reusing" in capsys.readouterr().out
    assert main(["decode-frames", str(res), "--force", "--quiet"]) == 0
    assert "accuracy within 1 s" in capsys.readouterr().out


def test_stage_on_empty_folder_says_what_to_run(tmp_path, capsys):
    assert main(["decode-frames", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "no config.yaml: run 'neurocine train' into this folder first" in err


def test_unknown_config_key_is_named(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("model:\n  batch_sise: 4\n")
    assert main(["train", "--config", str(bad)]) == 2
    assert "unknown config key 'model.batch_sise'" in capsys.readouterr().err


@pytest.mark.skipif(CHROMIUM is None, reason="no chromium: `make test` installs Debian's chromium when it can")
def test_report_renders_in_headless_chromium(tiny_run, tmp_path):
    root, _, _ = tiny_run
    report = root / "results" / "report.html"
    proc = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                           "--disable-background-networking", "--disable-component-update", "--disable-sync",
                           f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=10000",
                           "--dump-dom", report.as_uri()], capture_output=True, text=True, timeout=120)
    dom = proc.stdout
    assert proc.returncode == 0 and "<table" in dom, proc.stderr[-1000:]
    loaded = re.search(r'data-images-loaded="(\d+)"', dom)
    total = re.search(r'data-images-total="(\d+)"', dom)
    assert loaded and total, "the page's load script did not run"
    assert int(total.group(1)) == 4 and int(loaded.group(1)) == 4
    for table in ("frame-id", "reconstruction", "wall-time"):
        assert f'id="{table}"' in dom
    assert "raw dF/F kNN" in dom and "HalfUNet" in dom and "id=\"supervision\"" in dom
