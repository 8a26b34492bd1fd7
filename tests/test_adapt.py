"""A new animal into a trained model: only its encoder is fitted, the trained sessions do not
change, and it is decoded with the other animals' decoders beside its own baselines."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import yaml

import neurocine
from conftest import TINY_CONFIG, trained_and_new
from neurocine.cli import main
from neurocine.data import normalized_splits, training_rows
from neurocine.errors import ConfigError
from neurocine.evaluate.adapt import (METHODS, TRIAL_METHODS, adapt_protocol, first_repeats, first_trials, read_adapt,
                                     read_adapt_trials)
from neurocine.settings import Config

FRAME = "natural_movie_one.frame"


@pytest.fixture(scope="module")
def base(sim_sessions):
    rest = list(sim_sessions[:2])
    splits = {sp: normalized_splits(rest, sp) for sp in ("train", "valid", "test")}
    model = neurocine.CEBRA(max_iterations=60, batch_size=128, device="cpu", validate_every=20)
    model.fit(training_rows(splits["train"]), valid=training_rows(splits["valid"]))
    new = {sp: normalized_splits([sim_sessions[2]], sp)[0] for sp in ("train", "valid", "test")}
    return model, splits, new


def test_adapt_fits_only_the_new_encoder(base, tmp_path):
    import copy

    model, _, new = base
    before = copy.deepcopy(model.model_.state_dict())
    keys = model.key_table_[0]
    assert len(keys) > 100 and (np.diff(keys) > 0).all()
    adapted = copy.deepcopy(model).adapt(first_repeats(new["train"], FRAME, 2), valid=new["valid"], max_iterations=30)
    after = adapted.model_.state_dict()
    for name, value in before.items():  # the trained sessions' encoders are untouched
        torch.testing.assert_close(after[name], value, rtol=0, atol=0)
    sid = new["train"].session_id
    assert adapted.session_ids_[-1] == sid and len(adapted.model_) == 3
    emb = adapted.transform(new["test"], session_id=sid)
    assert emb.shape == (len(new["test"]), 32) and np.isfinite(emb).all()
    assert adapted.adapted_[0]["sessions"] == [sid] and adapted.adapted_[0]["steps"] >= 1
    adapted.save(tmp_path / "m.pt")
    back = neurocine.CEBRA.load(tmp_path / "m.pt")
    np.testing.assert_allclose(back.transform(new["test"], session_id=sid), emb, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(back.key_table_[0], keys)
    with pytest.raises(ConfigError, match="already in the model"):
        back.adapt(new["train"], max_iterations=2)


def test_input_layer_adapts_the_first_layer_only(base):
    import copy

    model, _, new = base
    adapted = copy.deepcopy(model).adapt(first_repeats(new["train"], FRAME, 2), init="input_layer", max_iterations=20)
    template, fresh = model.model_.encoders[0].net, adapted.model_.encoders[-1].net
    assert fresh[0].in_channels == new["train"].neural.shape[1]
    for a, b in zip(list(template.parameters())[2:], list(fresh.parameters())[2:]):  # the trunk: shared, frozen
        torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_a_model_without_stimulus_states_cannot_adapt():
    X = np.random.default_rng(0).normal(size=(500, 6)).astype(np.float32)
    model = neurocine.CEBRA(max_iterations=3, batch_size=64, device="cpu").fit(X)
    with pytest.raises(ConfigError, match="no stimulus states"):
        model.adapt(X)


def test_adapt_protocol_reports_every_way_with_intervals(base):
    model, splits, new = base
    cfg = Config().override({"model.device": "cpu", "model.max_iterations": 30, "model.batch_size": 128,
                             "training.validate_every": 10})
    res, adapted = adapt_protocol(model, splits, new, cfg, k=2, label=FRAME)
    assert set(res.test) == set(METHODS) and res.details["repeats"] == 2 and res.details["seconds"] > 0
    for m in METHODS:
        lo, hi = res.score(m).ci95
        assert lo <= res.value(m) <= hi
    d = res.margin("adapted", "template_own")
    assert d.ci95[0] <= d.value <= d.ci95[1]
    assert "trained sessions" in res.test["adapted"]["decoder"]
    assert read_adapt(res.to_json()) == res  # the learning curve's entry in metrics.json reads back whole
    assert len(model.model_) == 2  # the base model is not changed: a copy is adapted


def test_adapt_protocol_on_trials_decodes_every_grating_label(base):
    movie_only, splits, new = base
    cfg = Config().override({"model.device": "cpu", "model.max_iterations": 30, "model.batch_size": 128,
                             "training.validate_every": 10})
    with pytest.raises(ConfigError, match="none of the new session's stimulus states"):
        adapt_protocol(movie_only, splits, new, cfg, k=2, unit="trials")  # trained on movie rows only
    model = neurocine.CEBRA(max_iterations=60, batch_size=128, device="cpu", validate_every=20)
    model.fit(splits["train"], valid=splits["valid"])  # every row: the gratings' states too
    res, adapted = adapt_protocol(model, splits, new, cfg, k=2, unit="trials")
    assert res["trials_per_condition"] == 2 and res["seconds"] > 0
    assert set(res["classes"]) == {"drifting_gratings.direction", "drifting_gratings.temporal_frequency",
                                   "drifting_gratings.orientation"}
    for label, e in res["classes"].items():
        assert set(TRIAL_METHODS) <= set(e.test) and e.details["n_test_trials"] > 5
        for m in TRIAL_METHODS:
            lo, hi = e.score(m).ci95
            assert 0 <= lo <= e.value(m) <= hi <= 1
        assert e.value("chance") == pytest.approx(1 / e.details["n_classes"])
        assert "trained sessions" in e.test["adapted"]["decoder"]
        d = e.margin("adapted", "logistic_own")
        assert d.ci95[0] <= d.value <= d.ci95[1]
        assert read_adapt_trials(e.to_json()) == e
    # the adapted encoder saw only K trials per condition of the new animal
    assert adapted.adapted_[0]["sessions"] == [new["train"].session_id]
    with pytest.raises(ValueError, match="unit="):
        adapt_protocol(model, splits, new, cfg, k=2, unit="epochs")


def test_first_repeats_and_trials(sim_sessions):
    part = normalized_splits([sim_sessions[0]], "train")[0]
    two = first_repeats(part, FRAME, 2)
    frames = two.label(FRAME)
    assert (frames >= 0).all() and len(two) == 2 * 900
    one_each = first_trials(part, 1)
    from neurocine.evaluate.trials import stimulus_trials

    assert len(stimulus_trials(one_each, "drifting_gratings")) <= 40


def test_neurocine_adapt_from_the_command_line(sim_dir, tmp_path, capsys):
    files = sorted(sim_dir.glob("*.h5"))
    trained, new = trained_and_new(sim_dir, tmp_path)
    cfg = {"dataset": {"data_dir": str(trained), "train_on": "all"}, **TINY_CONFIG, "output_dir": str(tmp_path / "run"),
           "reconstruction": {"enabled": False}, "training": {"validate_every": 20, "label_free_model": False}}
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(cfg))
    assert main(["train", "--config", str(tmp_path / "c.yaml"), "--quiet", "--no-tensorboard"]) == 0
    assert main(["adapt", str(tmp_path / "run"), "--data_dir", str(new), "--out", str(tmp_path / "adapted"),
                 "--repeats", "1", "2", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "adapt: 2 repeat(s): adapted" in out
    m = json.loads((tmp_path / "adapted" / "metrics.json").read_text())["adapt"]
    assert m["repeats"] == 2 and m["session_ids"] == [files[2].stem] and [c["repeats"] for c in m["curve"]] == [1, 2]
    assert set(m["frame_id"]) == set(METHODS) and m["seconds"] > 0
    model = neurocine.CEBRA.load(tmp_path / "adapted" / "model.pt")
    assert model.session_ids_[-1] == files[2].stem and len(model.model_) == 3
    page = (tmp_path / "adapted" / "report.html").read_text()
    assert "id='adapt-curve'" in page and "data:image/png" in page
    assert main(["adapt", str(tmp_path / "run"), "--data_dir", str(new), "--out", str(tmp_path / "trials"),
                 "--trials-per-condition", "1", "3", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "adapt: 3 trial(s) per condition, drifting_gratings.direction: adapted" in out
    m = json.loads((tmp_path / "trials" / "metrics.json").read_text())["adapt"]
    assert "curve" not in m and [c["trials_per_condition"] for c in m["trials"]["curve"]] == [1, 3]
    assert m["model_adapted_from"] == "3 trial(s) per condition"
    page = (tmp_path / "trials" / "report.html").read_text()
    assert "id='adapt-trials-drifting_gratings.direction'" in page and "data:image/png" in page
