"""The settings table: every section's choices and ranges are checked when the config is
loaded (before any data is read), with one line naming the key; the estimators take
their parameters from it."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest
import yaml

from neurocine import ConfigError
from neurocine.cli import main
from neurocine.settings import Config, help_table

BAD_VALUES = {
    "dataset": [("mode", "stack"), ("max_sessions", 0)],
    "model": [("output_dimension", 0), ("learning_rate", -1), ("temperature", 0), ("max_iterations", -5),
              ("learning_mode", "bogus"), ("batch_size", 0), ("distance", "manhattan"), ("device", "gpu0"),
              ("model_architecture", "offset99-model"), ("stimulus_jitter", -1)],
    "training": [("validate_every", 0), ("checkpoint_every", -1), ("seed", -1), ("max_epochs", 0),
                 ("early_stopping.patience", 0), ("early_stopping.min_delta", -0.1)],
    "decoding": [("n_neighbors", 0), ("tolerance_frames", -1)],
    "reconstruction": [("loss_fn", "bogus"), ("batch_size", 0), ("output_shape", [0, 5]), ("lr", 0),
                       ("input_noise", -1), ("num_epochs", 0), ("latent_dim", 0)],
}
CASES = [(section, key, value) for section, pairs in BAD_VALUES.items() for key, value in pairs]


def _write(tmp_path, section, key, value):
    data = {"dataset": {"data_dir": str(tmp_path / "no_data_here")}, "output_dir": str(tmp_path / "out")}
    node = data.setdefault(section, {})
    *parents, leaf = key.split(".")
    for p in parents:
        node = node.setdefault(p, {})
    node[leaf] = value
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.mark.parametrize("section, key, value", CASES, ids=[f"{s}.{k}" for s, k, _ in CASES])
def test_bad_value_exits_2_naming_the_key_before_reading_data(tmp_path, capsys, section, key, value):
    path = _write(tmp_path, section, key, value)
    for command in ("train", "run"):
        assert main([command, "--config", str(path), "--quiet"]) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1, err
        assert f"config key '{section}.{key}'" in err, err
        assert "no_data_here" not in err  # refused before the (missing) data folder was looked at
        assert not (tmp_path / "out").exists()


def test_bad_value_exits_within_seconds_as_a_command(tmp_path):
    path = _write(tmp_path, "reconstruction", "loss_fn", "bogus")
    t = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "neurocine", "train", "--config", str(path)],
                          capture_output=True, text=True)
    assert proc.returncode == 2 and time.perf_counter() - t < 30
    assert proc.stderr.strip().splitlines() == [
        f"neurocine: error: {path}: config key 'reconstruction.loss_fn': 'bogus' is not one of mse, l1, bce, l1_ssim, "
        "l1_ssim_edges"]


def test_types_and_unknown_keys_are_named():
    with pytest.raises(ConfigError, match="unknown config key 'model.batch_sise'"):
        Config.from_dict({"model": {"batch_sise": 4}})
    with pytest.raises(ConfigError, match="config key 'model.batch_size': 'many' is not a valid int"):
        Config.from_dict({"model": {"batch_size": "many"}})
    with pytest.raises(ConfigError, match="config key 'model.temperature': .*nan"):
        Config.from_dict({"model": {"temperature": float("nan")}})


def test_override_returns_a_validated_copy():
    cfg = Config()
    other = cfg.override({"model.batch_size": 8, "reconstruction.patience": None, "model.behavior_label": None})
    assert other.model.batch_size == 8 and cfg.model.batch_size == 512  # the original is not mutated
    # null means null (it was silently skipped before), where the table allows it
    assert other.reconstruction.patience is None and other.model.behavior_label is None
    with pytest.raises(ConfigError, match="config key 'dataset.data_dir' must not be null"):
        cfg.override({"dataset.data_dir": None})
    with pytest.raises(ConfigError, match="config key 'model.batch_size': 0"):
        cfg.override({"model.batch_size": 0})
    # a section is set key by key, never replaced by its defaults
    with pytest.raises(ConfigError, match="'model' is a section"):
        cfg.override({"model": 0})
    with pytest.raises(ConfigError, match="'model' is a section, expected a mapping"):
        Config.from_dict({"model": 0})
    with pytest.raises(ConfigError, match="output_dimension': 1000000000000, expected an integer <= 4096"):
        cfg.override({"model.output_dimension": 10 ** 12})
    with pytest.raises(ConfigError, match="config key 'output_dir': '', expected a folder path"):
        cfg.override({"output_dir": ""})


def test_every_setting_has_help_and_the_files_in_configs_load():
    from pathlib import Path

    assert all(text for _, _, text in help_table())
    for path in sorted((Path(__file__).parents[1] / "configs").glob("*.yaml")):
        Config.load(path)


def test_a_renamed_setting_is_refused_naming_its_new_name(tmp_path):
    """novel_frames.folds (held-out blocks, not cross-validation folds) is now
    novel_frames.blocks: an old config is refused, in one line that says the new name."""
    old = tmp_path / "old.yaml"
    old.write_text("novel_frames:\n  folds: 6\n")
    with pytest.raises(ConfigError, match=r"unknown config key 'novel_frames.folds'; it was renamed "
                                          r"'novel_frames.blocks'"):
        Config.load(old)
    with pytest.raises(ConfigError, match="it was renamed 'novel_frames.run_blocks'"):
        Config().override({"novel_frames.run_folds": 2})
    assert Config().override({"novel_frames.blocks": 5}).novel_frames.blocks == 5
