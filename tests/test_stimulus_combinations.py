"""`neurocine run` finishes with its report whatever stimuli the sessions carry: a stage with
nothing to do says so in one line and records why; every movie a session shows is decoded
and reconstructed under its own name."""

from __future__ import annotations

import json

import numpy as np
import pytest
import yaml

from conftest import SHARED_DATA, TINY_CONFIG, add_movie, write_brainsets_fixture, write_nwb_fixture
from neurocine.cli import main

STAGE_KEYS = {"decode-frames": ("frame_id",), "reconstruct": ("reconstruction",),
              "reconstruct-novel": ("reconstruction", "novel_frames"), "decode-classes": ("classification",),
              "reconstruct-scenes": ("scenes",)}


def _run(tmp_path, data_dir, capsys, **overrides):
    cfg = {"dataset": {"data_dir": str(data_dir)}, **TINY_CONFIG, "output_dir": str(tmp_path / "results")}
    for section, values in overrides.items():
        cfg[section] = {**cfg.get(section, {}), **values}
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(cfg))
    assert main(["run", "--config", str(path), "--quiet", "--no-tensorboard"]) == 0
    out = capsys.readouterr().out
    res = tmp_path / "results"
    assert (res / "report.html").exists()
    return json.loads((res / "metrics.json").read_text()), out, (res / "report.html").read_text()


def _section(metrics, stage):
    node = metrics
    for k in STAGE_KEYS[stage]:
        node = node[k]
    return node


def _trial_npz(path, label_key: str, values: np.ndarray, cells=12, samples=20, seed=0):
    """Trial arrays whose responses depend on the trial's condition."""
    rng = np.random.default_rng(seed)
    codes = np.unique(values[np.isfinite(values)] if values.dtype.kind == "f" else values, return_inverse=True)[1]
    tuning = rng.normal(0, 1, (cells, codes.max() + 1))
    dff = rng.normal(0, 0.5, (cells, len(values), samples)) + tuning[:, codes][:, :, None]
    np.savez(path, dff=dff.astype(np.float32), time_s=(np.arange(samples) - 3) / 30.0, **{label_key: values})
    return path


def test_gratings_only(tmp_path, capsys):
    directions = np.tile(np.arange(0, 360, 45, dtype=np.float32), 12)
    npz = _trial_npz(tmp_path / "dg.npz", "direction", directions)
    assert main(["import-trials", str(npz), "--out", str(tmp_path / "data"),
                 "--label", "drifting_gratings.direction=direction"]) == 0
    m, out, page = _run(tmp_path, tmp_path / "data", capsys)
    for stage in ("decode-frames", "reconstruct", "reconstruct-novel", "reconstruct-scenes"):
        assert "skipped" in _section(m, stage), stage
        assert f"{stage}: skipped: " in out
    assert "no movie samples" in m["frame_id"]["skipped"]
    # direction-only trials still align: their samples carry stimulus keys (not silent time contrast)
    assert m["training"]["learning_mode"] == "stimulus_aligned"
    assert m["training"]["positives"]["unlabelled_fraction"] < 0.2
    assert m["training"]["positives"]["fallback_fraction"] < 0.05
    assert "natural-scene" in m["scenes"]["skipped"]
    assert m["classification"]["drifting_gratings.direction"]["cebra"]["accuracy"] > 0.5
    assert page.count("Skipped: ") == 4


def test_natural_scenes_only(tmp_path, capsys):
    images = np.tile(np.arange(12), 10)
    npz = _trial_npz(tmp_path / "ns.npz", "image", images)
    data = tmp_path / "data"
    assert main(["import-trials", str(npz), "--out", str(data), "--label", "natural_scenes.image=image"]) == 0
    rng = np.random.default_rng(1)
    np.save(data / "natural_scenes.npy", rng.integers(0, 256, (118, 8, 16), dtype=np.uint8))
    m, out, _ = _run(tmp_path, data, capsys, reconstruction={"output_shape": [8, 16]})
    assert "skipped" in m["frame_id"] and "skipped" in m["reconstruction"]
    assert m["scenes"]["n_test_trials"] > 0 and "halfunet" in m["scenes"]
    assert "natural_scenes.image" in m["classification"]


def test_movie_only_and_a_missing_template(tmp_path, capsys):
    data = tmp_path / "data"
    data.mkdir()
    def movie_only(d):
        from temporaldata import Interval

        del d.drifting_gratings
        k = np.arange(4 * 45)  # 4 repeats of a 45-frame stretch, 1.5 s each: 2 train, 1 valid, 1 test
        start = 5.0 + k / 30.0
        d.natural_movie_one = Interval(start=start, end=start + 1 / 30.0, timestamps=start + 1 / 60.0,
                                       frame=(k % 45).astype(np.int64), repeat=(k // 45).astype(np.int64),
                                       timekeys=["start", "end", "timestamps"])
        d.train_domain = Interval(start=np.array([5.0]), end=np.array([8.0]))
        d.valid_domain = Interval(start=np.array([8.0]), end=np.array([9.5]))
        d.test_domain = Interval(start=np.array([9.5]), end=np.array([11.0]))

    write_brainsets_fixture(data / "777000111.h5", extra=movie_only)
    m, out, page = _run(tmp_path, data, capsys)
    assert "cebra" in m["frame_id"] and m["frame_id"]["movies"] == ["natural_movie_one"]
    assert "skipped" in m["classification"]
    for stage in ("reconstruct", "reconstruct-novel"):
        assert "template of natural_movie_one not found" in _section(m, stage)["skipped"], stage
    # the template arrives: the skipped stages run again, the finished ones are reused
    np.save(data / "natural_movie_one.npy", np.random.default_rng(0).integers(0, 256, (900, 8, 16), dtype=np.uint8))
    m, out, _ = _run(tmp_path, data, capsys)
    assert "halfunet" in m["reconstruction"] and "halfunet" in m["reconstruction"]["novel_frames"]
    assert "decode-frames: reusing" in out


def test_every_movie_is_decoded_and_reconstructed(tmp_path, capsys):
    data = tmp_path / "data"
    data.mkdir()
    write_nwb_fixture(data / "501021421.nwb", repeats=3, tail=2701,
                      extra=lambda f, first, stop: add_movie(f, first, stop, "natural_movie_two"))
    m, out, page = _run(tmp_path, data, capsys, reconstruction={"output_shape": [8, 16]})
    movies = ["natural_movie_one", "natural_movie_two"]
    for stage in ("decode-frames", "reconstruct", "reconstruct-novel"):
        section = _section(m, stage)
        assert section["movies"] == movies, stage
        for movie in movies:
            assert section[movie]["label"] == f"{movie}.frame"
        # natural_movie_one's numbers stay where earlier versions put them
        assert section["label"] == "natural_movie_one.frame"
    fid = m["frame_id"]
    assert fid["natural_movie_two"]["chance"]["accuracy_1s"] > 0 and "template" in fid["natural_movie_two"]
    assert fid["cebra"] == fid["natural_movie_one"]["cebra"]
    for name in ("frame_id_error.png", "frame_id_error_natural_movie_two.png", "reconstructions_natural_movie_two.png",
                 "reconstructions_novel_natural_movie_two.png"):
        assert (tmp_path / "results" / "figures" / name).exists(), name
    assert (tmp_path / "results" / "halfunet_natural_movie_two.pt").exists()
    assert "Frame identification: natural_movie_two.frame" in page and "id='frame-id-natural_movie_two'" in page
    assert "natural_movie_two accuracy within 1 s" in out


@pytest.mark.skipif(not (SHARED_DATA / "allen_2p_drifting_gratings_527745328").is_dir(),
                    reason="real recordings not available (../shared/data is absent in this clone)")
def test_real_gratings_run_to_a_report(tmp_path, capsys):
    npz = SHARED_DATA / "allen_2p_drifting_gratings_527745328" / "dff_trials_527745328.npz"
    assert main(["import-trials", str(npz), "--out", str(tmp_path / "data"), "--stimulus-s", "2.0"]) == 0
    m, out, page = _run(tmp_path, tmp_path / "data", capsys)
    assert m["provenance"]["data"] == "recorded"
    for label in ("drifting_gratings.direction", "drifting_gratings.temporal_frequency",
                  "drifting_gratings.orientation"):
        r = m["classification"][label]
        assert r["n_test_trials"] > 100 and r["logistic_dff"]["accuracy"] > r["chance"]["accuracy"]
    assert "skipped" in m["frame_id"] and "skipped" in m["reconstruction"]
    assert "id='classes-drifting_gratings-direction'" in page


NM1 = SHARED_DATA / "allen_2p_natural_movie_one_501574836" / "nm1_spikes_501574836.npz"


@pytest.mark.skipif(not NM1.is_file(), reason="real recordings not available (../shared/data is absent in this clone)")
def test_real_movie_spikes_import_and_run_end_to_end(tmp_path, capsys):
    """The real Allen 2P session watching natural_movie_one (inferred spikes, 10 repeats)
    through the product: import-movie, then run with 3 folds; every number says spikes, the
    Poisson decoder joins the baselines, chance is over the frames decoders can output."""
    assert main(["import-movie", str(NM1), "--out", str(tmp_path / "data"), "--units", "spikes"]) == 0
    m, out, page = _run(tmp_path, tmp_path / "data", capsys, evaluation={"folds": 3},
                        reconstruction={"enabled": False}, training={"label_free_model": False})
    assert m["provenance"]["data"] == "recorded" and m["provenance"]["signal"] == "spikes"
    fid = m["frame_id"]
    assert fid["cebra"]["n"] == 905 and "poisson_bayes" in fid and fid["strongest_baseline"] in fid
    for method in ("cebra", "poisson_bayes", "template"):
        assert fid[method]["accuracy_exact"] <= fid[method]["accuracy_1s"]
        assert "median_abs_frame_error_ci95" in fid[method]
    assert fid["poisson_bayes"]["accuracy_1s"] > 5 * fid["chance"]["accuracy_1s"]  # real information in the spikes
    cv = fid["cv"]
    assert cv["folds"] == 3 and len(cv["per_fold"]) == 3 and "accuracy_exact" in cv["also"]
    assert "exact frame" in out and "spikes" in out and "Poisson naive Bayes" in page
