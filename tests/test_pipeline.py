"""End to end on a tiny config: run -> every stage's outputs, stage reuse, --force, and
report.html rendered in headless Chromium."""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import pytest

from neurocine.cli import main

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


def test_run_writes_every_output(tiny_run):
    root, _, stdout = tiny_run
    res = root / "results"
    for name in ("config.yaml", "model.pt", "embeddings.h5", "model_label_free.pt", "embeddings_label_free.h5",
                 "metrics.json", "halfunet.pt", "report.html", "figures/loss_curve.png", "figures/embedding.png",
                 "figures/frame_id_error.png", "figures/reconstructions.png", "figures/reconstructions_novel.png",
                 "figures/reconstructions_pooled.png", "figures/reconstructions_novel_pooled.png"):
        assert (res / name).exists(), name
    m = json.loads((res / "metrics.json").read_text())
    fid = m["frame_id"]
    for method in ("cebra", "cebra_label_free", "raw_knn", "raw_window_knn", "pca_knn", "linear", "template", "chance"):
        entry = fid[method]
        assert 0 <= entry["accuracy_1s"] <= 1 and entry["mean_abs_frame_error"] >= 0
        lo, hi = entry["accuracy_1s_ci95"]
        assert lo <= entry["accuracy_1s"] <= hi
        assert method in fid["valid"]
    assert fid["cebra"]["supervision"] == "natural_movie_one frame"  # trained on the movie samples (train_on)
    assert m["training"]["trained_on"] == "movie"
    assert fid["cebra_label_free"]["supervision"] == "none"
    assert fid["strongest_baseline"] in ("raw_knn", "raw_window_knn", "pca_knn", "linear", "template")
    assert f"cebra - {fid['strongest_baseline']}" in fid["comparison"]
    assert set(fid["per_session"]) == set(m["training"]["sessions"])
    assert {"embedding", "pca_dff", "shuffled_labels"} <= set(fid["consistency"])
    assert fid["consistency"]["split"] == "test"
    rec = m["reconstruction"]
    for method in ("halfunet", "halfunet_retrieval", "ridge_embedding", "ridge_dff", "mean_frame", "retrieval",
                   "retrieval_ridge_dff"):
        assert {"ssim", "ssim_ci95", "psnr", "pixel_r"} <= set(rec[method]) and method in rec["valid"]
        assert {"ssim", "ssim_ci95", "psnr", "pixel_r"} <= set(rec["novel_frames"][method])
    novel = rec["novel_frames"]
    for block in (rec, novel):  # every model against the strongest baseline, the model of record chosen on valid
        assert block["best_model"] in ("halfunet", "halfunet_retrieval")
        for model in ("halfunet", "halfunet_retrieval"):
            d = block["comparison"][f"{model} - {block['strongest_baseline']}"]
            assert d["ci95"][0] <= d["mean"] <= d["ci95"][1]
    assert set(rec["blend_weights"]) == {"halfunet_retrieval", "retrieval_ridge_dff"}
    assert all(0 <= w <= 1 for w in rec["blend_weights"].values())
    for block in (rec["pooled"], novel["pooled"]):  # two sessions saw the test repeat: at once beside each alone
        assert block["n_sessions"] == 2 and block["n_test_frames"] > 0
        assert set(block["alone"]) == set(rec["valid"]) and block["strongest_baseline"] in rec["valid"]
        d = block["comparison"][f"{block['best_model']} - {block['strongest_baseline']}"]
        assert d["ci95"][0] <= d["mean"] <= d["ci95"][1]
    assert novel["pooled"]["n_test_frames"] <= novel["n_test_frames"] // 2  # frames every session saw, in the block
    page = (res / "report.html").read_text()
    assert "id='reconstruction-pooled'" in page and "id='reconstruction-novel-pooled'" in page
    assert "every animal at once" in page
    assert novel["folds"][0]["frames"] == [0, 150]
    assert all(v == 0 for v in novel["frames_removed_from_training"]["fold 0"].values())
    assert m["provenance"]["data"] == "simulated"
    # every default stage ran (seed-repeats only runs when asked for with more than one seed)
    assert set(m["wall_time_s"]) == {"train", "decode-frames", "decode-classes", "reconstruct", "reconstruct-novel",
                                     "reconstruct-scenes", "report"}
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
    assert int(total.group(1)) == 7 and int(loaded.group(1)) == 7
    for table in ("frame-id", "reconstruction", "reconstruction-novel", "wall-time", "provenance"):
        assert f'id="{table}"' in dom
    assert "SIMULATED data" in dom and 'id="supervision"' in dom and "95 % CI" in dom
    assert "strongest baseline" in dom and "per-frame template on the dF/F window" in dom
