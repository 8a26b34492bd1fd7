"""The newest commands (adapt, import-movie, NWB 2, folds, continuous labels) keep every
promise the older ones keep: each class of fault of issue 32 is refused in one line naming
the file or key, before any long work, and nothing the user has on disk is lost.

Each case runs what a user would run (``neurocine ...`` in process) on files written
independently of neurocine's writers (tests/conftest.py, tests/nwb2_files.py)."""

from __future__ import annotations

import io
import json
import os
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

import neurocine
from conftest import TINY_CONFIG, kirby_arrays, trained_and_new, write_kirby_fixture
from neurocine.cli import main
from neurocine.errors import ConfigError, DataError
from neurocine.results import CHECKPOINT, MARKER, Results
from test_reliability import digest, one_line_error


# ------------------------------------------------------------------ a trained folder
@pytest.fixture(scope="module")
def run(sim_dir, tmp_path_factory):
    """``(root, trained results folder, its config, a folder with one new animal)``: two
    simulated sessions trained with a tiny config, the third kept apart for adapt."""
    root = tmp_path_factory.mktemp("newcmds")
    data, new = trained_and_new(sim_dir, root)
    cfg = {"dataset": {"data_dir": str(data)}, **TINY_CONFIG, "output_dir": str(root / "run"),
           "reconstruction": {"enabled": False}, "training": {"validate_every": 20, "checkpoint_every": 20,
                                                              "label_free_model": False}}
    path = root / "c.yaml"
    path.write_text(yaml.safe_dump(cfg))
    assert main(["train", "--config", str(path), "--quiet", "--no-tensorboard"]) == 0
    assert main(["decode-frames", str(root / "run"), "--quiet"]) == 0
    return root, root / "run", path, new


def _adapt(results, new, out, *extra):
    return ["adapt", str(results), "--data_dir", str(new), "--out", str(out), "--repeats", "1", *extra, "--quiet"]


# ------------------------------------------------------------------ 1. output folders
def test_adapt_refuses_its_own_inputs_and_an_empty_path(run, tmp_path, capsys, monkeypatch):
    root, results, _, new = run
    before = digest(results)
    one_line_error(capsys, _adapt(results, new, results), "which this command reads")
    one_line_error(capsys, _adapt(results, new, results / "sub"), "which this command reads")
    one_line_error(capsys, _adapt(results, new, new / "out"), "the data folder")
    one_line_error(capsys, _adapt(results, new, root / "trained" / "out"), "the data folder")  # the trained run's data
    monkeypatch.chdir(tmp_path)
    one_line_error(capsys, _adapt(results, new, ""), "--out ''", "empty path")
    assert list(tmp_path.iterdir()) == [] and digest(results) == before
    assert not (results / "sub").exists() and not (new / "out").exists()


def test_imports_refuse_an_empty_path_and_a_results_folder(run, tmp_path, capsys, monkeypatch):
    _, results, _, _ = run
    np.savez(tmp_path / "m.npz", data=np.ones((3, 10, 6), np.float32), frame=np.arange(6) * 100, rate=1.0)
    before = digest(results)
    monkeypatch.chdir(tmp_path)
    one_line_error(capsys, ["import-movie", "m.npz", "--out", ""], "--out ''", "empty path")
    one_line_error(capsys, ["import-trials", "m.npz", "--out", " "], "empty path")
    one_line_error(capsys, ["import-movie", "m.npz", "--out", str(results)], "is a neurocine results folder")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.npz"] and digest(results) == before


def test_an_id_from_a_file_never_makes_a_hidden_or_escaping_file(tmp_path, capsys):
    np.savez(tmp_path / "m.npz", data=np.ones((3, 10, 6), np.float32), frame=np.arange(6) * 100, rate=1.0,
             session_id="../../evil")
    assert main(["import-movie", str(tmp_path / "m.npz"), "--out", str(tmp_path / "out")]) == 0
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["___.._evil.h5"]
    capsys.readouterr()
    assert main(["inspect", str(tmp_path / "out")]) == 0 and "___.._evil" in capsys.readouterr().out


def test_a_failed_first_write_leaves_no_folder_but_what_resumes(tmp_path):
    out = Results(tmp_path / "a" / "b")
    with pytest.raises(RuntimeError):
        with out.lock():
            (out.out / "half.json").write_text("{}")
            raise RuntimeError("refused mid-way")
    assert not (tmp_path / "a").exists()  # every folder this run made is gone
    keep = Results(tmp_path / "c")
    with pytest.raises(KeyboardInterrupt):
        with keep.lock():
            (keep.out / CHECKPOINT).write_bytes(b"x")
            raise KeyboardInterrupt
    assert (tmp_path / "c" / CHECKPOINT).exists() and (tmp_path / "c" / MARKER).exists()
    (tmp_path / "d").mkdir()  # an existing folder is never removed
    with pytest.raises(RuntimeError):
        with Results(tmp_path / "d").lock():
            raise RuntimeError
    assert (tmp_path / "d").is_dir()


# ------------------------------------------------------------------ 3. sizes before allocation
def _forged_npz(path: Path, shape, descr="<f4", **good):
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": descr, "fortran_order": False, "shape": shape})
    buf.write(b"\0" * 64)
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("data.npy", buf.getvalue())
        for key, value in good.items():
            b = io.BytesIO()
            np.save(b, value)
            z.writestr(f"{key}.npy", b.getvalue())
    return path


@pytest.mark.parametrize("shape, size", [((100000, 100000, 1), "40.0 GB"), ((10 ** 18,), "4e+18 B")])
def test_a_forged_npy_header_is_refused_before_allocating(tmp_path, capsys, shape, size):
    npz = _forged_npz(tmp_path / "f.npz", shape, frame=np.arange(6), rate=np.array(30.0))
    one_line_error(capsys, ["import-movie", str(npz), "--out", str(tmp_path / "o")], npz, "array 'data' declares",
                   size, "holds 64 B")
    trials = _forged_npz(tmp_path / "t.npz", shape, time_s=np.arange(5) / 30.0, direction=np.zeros(2),
                         tf=np.ones(2))
    one_line_error(capsys, ["import-trials", str(trials), "--out", str(tmp_path / "o"), "--dff", "data",
                            "--label", "drifting_gratings.direction=direction",
                            "--label", "drifting_gratings.temporal_frequency=tf"], trials, "declares", size)
    assert not (tmp_path / "o").exists()


def test_a_bin_width_that_cannot_fit_in_memory_is_refused_naming_the_setting(tmp_path, capsys):
    from nwb2_files import write_ecephys_nwb

    write_ecephys_nwb(tmp_path / "d" / "session_1.nwb", movie_frames=30, repeats=3, grating_trials=12)
    line = one_line_error(capsys, ["inspect", str(tmp_path / "d"), "--set", "dataset.bin_s=1e-8"],
                          "dataset.bin_s=1e-08", "session_1.nwb", "more than the free memory")
    assert "malformed" not in line


# ------------------------------------------------------------------ 4. model files
def _edited_model(results: Path, dest: Path, edit) -> Path:
    shutil.copytree(results, dest)
    blob = torch.load(dest / "model.pt", weights_only=True)
    edit(blob)
    torch.save(blob, dest / "model.pt")
    return dest


def _first_weight(blob):
    return next(iter(blob["model"]))


@pytest.mark.parametrize("edit, expected", [
    (lambda b: b["model"].__setitem__(_first_weight(b), torch.zeros(3, 3)), "has shape (3, 3), the model's is"),
    (lambda b: b["model"].__setitem__(_first_weight(b), b["model"][_first_weight(b)] * float("nan")), "NaN/inf"),
    (lambda b: b["model"].pop(_first_weight(b)), "encoder weights lack"),
])
def test_a_damaged_model_file_is_one_line_before_use(run, tmp_path, capsys, edit, expected):
    _, results, _, new = run
    copy = _edited_model(results, tmp_path / "r", edit)
    one_line_error(capsys, _adapt(copy, new, tmp_path / "o"), copy / "model.pt", expected)
    with pytest.raises(DataError, match="model.pt"):
        neurocine.CEBRA.load(copy / "model.pt")
    assert not (tmp_path / "o").exists()


def test_a_config_that_disagrees_with_the_model_is_refused(run, tmp_path, capsys):
    _, results, _, new = run
    copy = tmp_path / "r"
    shutil.copytree(results, copy)
    cfg = yaml.safe_load((copy / "config.yaml").read_text())
    cfg["model"]["output_dimension"] = 16
    (copy / "config.yaml").write_text(yaml.safe_dump(cfg))
    one_line_error(capsys, _adapt(copy, new, tmp_path / "o"), "model.output_dimension is 32 in the model but 16 in",
                   copy / "config.yaml")


# ------------------------------------------------------------------ 5. labels at fit
@pytest.mark.parametrize("y, expected", [
    (np.full((400, 3), np.nan), "no sample has a label"),
    (np.r_[np.zeros(399), np.inf], "infinite values"),
    (np.zeros((400, 0)), "a label of no dimension"),
    (np.full(400, 1e300), "overflow"),
    (np.full((400, 2), -1e20), "overflow"),
])
def test_labels_the_samplers_cannot_use_are_refused_at_fit(y, expected):
    X = np.random.default_rng(0).normal(size=(400, 5)).astype(np.float32)
    with pytest.raises(ConfigError, match=expected) as info:
        neurocine.CEBRA(max_iterations=2, batch_size=64, device="cpu").fit(X, y)
    assert "y of session 0" in str(info.value) and "\n" not in str(info.value)


def test_partly_labelled_rows_still_train_with_labels():
    X = np.random.default_rng(0).normal(size=(400, 5)).astype(np.float32)
    y = np.full((400, 2), np.nan)
    y[::3] = np.random.default_rng(1).normal(size=(len(y[::3]), 2))
    model = neurocine.CEBRA(max_iterations=2, batch_size=64, device="cpu").fit(X, y)
    assert model.supervision_ == "user labels (fit y)"


# ------------------------------------------------------------------ 6. resume
def resume_argv(cfg, out):
    return ["train", "--config", str(cfg), "--out", str(out), "--resume", "--quiet", "--no-tensorboard"]


def test_a_truncated_checkpoint_is_refused_before_anything_is_rewritten(run, tmp_path, capsys):
    _, results, cfg, _ = run
    copy = tmp_path / "r"
    shutil.copytree(results, copy)
    raw = (copy / CHECKPOINT).read_bytes()
    (copy / CHECKPOINT).write_bytes(raw[: len(raw) // 2])
    before = digest(copy)
    one_line_error(capsys, resume_argv(cfg, copy),
                   copy / CHECKPOINT, "not a readable torch file")
    assert digest(copy) == before


def test_a_checkpoint_of_other_settings_is_refused_without_a_config_to_compare(run, tmp_path, capsys):
    _, results, cfg, _ = run
    copy = tmp_path / "r"
    shutil.copytree(results, copy)
    (copy / "config.yaml").unlink()
    before = digest(copy)
    one_line_error(capsys, [*resume_argv(cfg, copy), "--set", "model.output_dimension=16"], copy / CHECKPOINT,
                   "the model's is (16",
                   "other settings")
    assert digest(copy) == before and not (copy / "config.yaml").exists()


def test_a_retrained_model_drops_the_results_of_the_old_one(run, tmp_path, capsys):
    _, results, cfg, _ = run
    copy = tmp_path / "r"
    shutil.copytree(results, copy)
    assert "frame_id" in json.loads((copy / "metrics.json").read_text())
    assert main(["train", "--config", str(cfg), "--out", str(copy), "--force", "--quiet", "--no-tensorboard"]) == 0
    assert "results computed from the old one were dropped (frame_id)" in capsys.readouterr().out
    metrics = json.loads((copy / "metrics.json").read_text())
    assert "frame_id" not in metrics and "training" in metrics
    assert main(["decode-frames", str(copy), "--quiet"]) == 0  # recomputed from the new model
    assert "frame_id" in json.loads((copy / "metrics.json").read_text())


# ------------------------------------------------------------------ 7. say what was dropped
def test_repeats_beyond_the_new_animals_are_named(run, tmp_path, capsys):
    _, results, _, new = run
    assert main(_adapt(results, new, tmp_path / "o", "50")) == 0
    assert "--repeats 50 left out: the new sessions have 8 train repeats" in capsys.readouterr().out


def test_folds_that_test_nothing_are_said_before_training(sim_sessions):
    from neurocine.evaluate.cv import tell_fold_plan
    from neurocine.evaluate.folds import fold_session

    said = []
    K = 40
    plan = [[fold_session(s, k, K, 0) for s in sim_sessions] for k in range(K)]
    tell_fold_plan(plan, K, said.append)
    assert len(said) == 1 and "natural_movie_one is tested in 10 of them" in said[0], said
    said.clear()
    plan = [[fold_session(s, k, 5, 0) for s in sim_sessions] for k in range(5)]
    tell_fold_plan(plan, 5, said.append)
    assert said == []
    with pytest.raises(ConfigError, match="evaluation.folds=3: no fold"):
        tell_fold_plan([[s.__class__(**{**s.__dict__, "test_mask": s.test_mask & False}) for s in sim_sessions]] * 3,
                       3, said.append)


def test_per_area_under_torchrun_is_refused_before_joining(sim_dir, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "0")
    monkeypatch.setenv("LOCAL_RANK", "0")
    one_line_error(capsys, ["train", "--data_dir", str(sim_dir), "--out", str(tmp_path / "o"), "--set",
                            "dataset.populations=per_area"], "per_area is not supported under torchrun")
    monkeypatch.setenv("RANK", "1")  # the other processes stop without repeating the line
    assert main(["train", "--data_dir", str(sim_dir), "--out", str(tmp_path / "o"), "--set",
                 "dataset.populations=per_area"]) == 2
    assert capsys.readouterr().err == "" and not (tmp_path / "o").exists()


def test_warnings_do_not_bury_the_one_line(tmp_path):
    """numpy warns of an overflow while the arrays are cast; the refused import prints one
    line (a subprocess: pytest would catch the warning itself), and a finished command
    still shows its warnings, after its output."""
    import subprocess
    import sys

    np.savez(tmp_path / "big.npz", data=np.full((3, 10, 6), 1e300), frame=np.arange(6) * 100, rate=1.0)
    proc = subprocess.run([sys.executable, "-m", "neurocine", "import-movie", str(tmp_path / "big.npz"), "--out",
                           str(tmp_path / "o")], capture_output=True, text=True, timeout=300)
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2 and len(lines) == 1 and "big.npz" in lines[0], proc.stderr
    code = ("import warnings, sys; from neurocine import cli\n"
            "cli.cmd_config = lambda args: (warnings.warn('a library says so'), print('listed'))[1]\n"
            "sys.exit(cli.main(['config', 'list']))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0 and "listed" in proc.stdout and "a library says so" in proc.stderr


def test_a_symlink_loop_is_called_a_loop(tmp_path, capsys):
    write_kirby_fixture(tmp_path / "1.h5", kirby_arrays())
    os.symlink(tmp_path / "y.h5", tmp_path / "x.h5")
    os.symlink(tmp_path / "x.h5", tmp_path / "y.h5")
    one_line_error(capsys, ["inspect", str(tmp_path)], tmp_path / "x.h5", "a loop of symbolic links")


def test_transposed_kirby_traces_are_called_transposed(tmp_path, capsys):
    a = kirby_arrays()
    write_kirby_fixture(tmp_path / "1.h5", a, traces=a["traces"].T.copy())
    one_line_error(capsys, ["inspect", str(tmp_path)], tmp_path / "1.h5", "it looks transposed", "(7, 600)")


def test_a_stage_asked_for_by_name_that_has_nothing_to_do_exits_2(run, tmp_path, capsys):
    root, results, _, _ = run
    data = tmp_path / "data"
    shutil.copytree(root / "trained", data)
    (data / "natural_movie_one.npy").unlink()  # no template: nothing to reconstruct
    copy = tmp_path / "r"
    shutil.copytree(results, copy)
    cfg = yaml.safe_load((copy / "config.yaml").read_text())
    cfg["dataset"]["data_dir"] = str(data)
    cfg["reconstruction"]["enabled"] = True
    (copy / "config.yaml").write_text(yaml.safe_dump(cfg))
    line = one_line_error(capsys, ["reconstruct", str(copy), "--quiet"], "reconstruct: nothing to do")
    assert "template" in line


def test_resume_check_builds_each_sessions_input_smoothing(tmp_path):
    """A spikes session's encoder sits behind its input smoothing, which names its
    weights: --resume's checkpoint check must build the same encoder, not refuse a good
    checkpoint (and still refuse one of another signal's layout)."""
    from neurocine.embed.models import MultiSessionEncoder
    from neurocine.settings import Config
    from neurocine.stages.train import check_checkpoints

    cfg = Config()
    results = Results(tmp_path / "r")
    results.out.mkdir(parents=True)
    trained = MultiSessionEncoder(cfg.model.model_architecture, [9, 7], cfg.model.num_hidden_units,
                                  cfg.model.output_dimension, "none", [8.0, 0.0])  # spikes, dF/F
    torch.save({"model": trained.state_dict()}, results.path(CHECKPOINT))
    check_checkpoints(results, cfg, [9, 7], ["spikes", "dff"])  # the same sessions: accepted
    with pytest.raises(DataError, match="checkpoint.pt"):
        check_checkpoints(results, cfg, [9, 7], ["dff", "dff"])
