"""Packaged configs, the generated listing, --set and --version."""

from __future__ import annotations

import subprocess
import sys

import pytest
import yaml

from neurocine import ConfigError
from neurocine.cli import main, parse_settings
from neurocine.settings import Config
from neurocine.settings.files import packaged, resolve


def test_packaged_configs_are_in_the_package_and_load():
    names = packaged()
    assert {"allen", "allen_gpu", "demo"} <= set(names)
    for name, path in names.items():
        assert "site-packages" in str(path) or "src/neurocine/configs" in str(path)
        resolve(name)
    assert resolve(None) == Config()


@pytest.mark.parametrize("name", ["allen", "allen_gpu", "demo", None])
def test_config_show_lists_every_setting_and_reads_back_as_the_same_config(name, capsys):
    assert main(["config", "show"] + ([name] if name else [])) == 0
    text = capsys.readouterr().out
    assert Config.from_dict(yaml.safe_load(text)) == resolve(name)
    assert "# InfoNCE temperature" in text and "cosine | euclidean" in text and "integer >= 1" in text


def test_config_list_and_version(capsys):
    assert main(["config", "list"]) == 0
    assert "allen_gpu" in capsys.readouterr().out
    proc = subprocess.run([sys.executable, "-m", "neurocine", "--version"], capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stdout.startswith("neurocine ") and "torch" in proc.stdout
    assert "cebra" in proc.stdout and "CUDA" in proc.stdout


def test_set_is_typed_validated_and_recorded(sim_dir, tmp_path, capsys):
    assert parse_settings(["reconstruction.output_shape=[64,128]", "model.temperature=0.1"]) == \
        {"reconstruction.output_shape": [64, 128], "model.temperature": 0.1}
    with pytest.raises(ConfigError, match="expected KEY=VALUE"):
        parse_settings(["model.temperature"])
    out = tmp_path / "res"
    argv = ["train", "--data_dir", str(sim_dir), "--out", str(out), "--quiet", "--no-tensorboard",
            "--set", "model.max_iterations=4", "--set", "model.batch_size=64", "--set", "model.temperature=0.3",
            "--set", "training.label_free_model=false", "--set", "reconstruction.output_shape=[8, 16]"]
    assert main(argv) == 0  # no --config: the built-in defaults
    saved = yaml.safe_load((out / "config.yaml").read_text())
    assert saved["model"]["temperature"] == 0.3 and saved["reconstruction"]["output_shape"] == [8, 16]
    assert saved["training"]["tensorboard"] is False and not (out / "tensorboard").exists()
    capsys.readouterr()
    assert main(["train", "--data_dir", str(sim_dir), "--set", "model.temperature=-1"]) == 2
    assert "config key 'model.temperature'" in capsys.readouterr().err
    assert main(["train", "--data_dir", str(sim_dir), "--set", "model.nope=1"]) == 2
    assert "unknown config key 'model.nope'" in capsys.readouterr().err


def test_tensorboard_event_files_are_written(tiny_results):
    pytest.importorskip("tensorboard")
    events = sorted(p.parent.name for p in (tiny_results / "tensorboard").rglob("events.out.tfevents.*"))
    assert {"cebra", "cebra_label_free", "halfunet_reconstruct"} <= set(events)
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(tiny_results / "tensorboard" / "cebra"))
    acc.Reload()
    assert {"train/loss", "valid/loss", "train/learning_rate", "train/steps_per_second"} <= set(acc.Tags()["scalars"])
    assert len(acc.Scalars("train/loss")) == 40
