"""Cross-validation: every repeat and trial tested once, the embedding retrained per fold,
intervals over folds, the cv entries in metrics.json and the report; and the levers that
make the encoder ignore a population's shared gain and offset."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import yaml

from conftest import TINY_CONFIG
from neurocine.cli import main
from neurocine.evaluate.folds import fold_interval, fold_session, repeat_ids, trial_units
from neurocine.stimuli import STIMULI


def test_every_repeat_and_trial_is_tested_once(sim_sessions):
    s = sim_sessions[0]
    K = 5
    frames = s.label("natural_movie_one.frame")
    rep = repeat_ids(frames)
    unit, conditions = trial_units(s)
    tested_repeats, tested_trials = [], []
    for k in range(K):
        f = fold_session(s, k, K, seed=0)
        masks = [f.mask(sp) for sp in ("train", "valid", "test")]
        assert not (masks[0] & masks[1]).any() and not (masks[0] & masks[2]).any() and not (masks[1] & masks[2]).any()
        tested_repeats += sorted(set(rep[f.test_mask & (rep >= 0)]))
        tested_trials += sorted(set(unit[f.test_mask & (unit >= 0)]))
        # the next fold's test block validates this fold
        nxt = fold_session(s, (k + 1) % K, K, seed=0)
        np.testing.assert_array_equal(f.valid_mask, nxt.test_mask)
        # a test repeat is whole, and no test sample trains
        for r in set(rep[f.test_mask & (rep >= 0)]):
            assert f.test_mask[rep == r].all()
    assert sorted(tested_repeats) == list(range(rep.max() + 1))       # each repeat tested exactly once
    assert sorted(tested_trials) == list(range(len(conditions)))      # each trial tested exactly once
    cond = STIMULI["drifting_gratings"].condition_ids(s.labels)
    assert len(conditions) == len(np.unique(unit[cond >= 0]))


def test_repeats_of_binned_movies_and_the_fold_interval():
    assert repeat_ids(np.r_[15, 45, 75, 15, 45, -1, 15]).tolist() == [0, 0, 0, 1, 1, -1, 2]
    narrow = fold_interval([0.5, 0.5, 0.5], 1 / 3)
    assert narrow.ci95 == (0.5, 0.5)
    wide = fold_interval([0.2, 0.4, 0.6, 0.3, 0.5], 0.2)
    naive = 0.158 / np.sqrt(5) * 2.776  # sd / sqrt(K) * t: the interval without the overlap correction
    assert wide.ci95[1] - wide.value > naive


def test_run_with_folds_writes_cv_entries_and_a_report(tmp_path, sim_dir, capsys):
    cfg = {"dataset": {"data_dir": str(sim_dir)}, **TINY_CONFIG, "output_dir": str(tmp_path / "out"),
           "evaluation": {"folds": 3}, "training": {"validate_every": 20, "label_free_model": False}}
    cfg["reconstruction"] = {"enabled": False}
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(cfg))
    assert main(["run", "--config", str(tmp_path / "c.yaml"), "--quiet", "--no-tensorboard"]) == 0
    out = capsys.readouterr().out
    assert "cross-validate: 3 folds;" in out
    m = json.loads((tmp_path / "out" / "metrics.json").read_text())
    for cv in (m["frame_id"]["natural_movie_one"]["cv"], m["frame_id"]["cv"],
               m["classification"]["drifting_gratings.direction"]["cv"]):
        assert cv["folds"] == 3 and len(cv["per_fold"]) == 3
        lo, hi = cv["margin"]["ci95"]
        assert lo <= cv["margin"]["mean"] <= hi
        for f in cv["per_fold"]:
            assert f["margin"] == pytest.approx(f["cebra"] - f["baseline"])
            assert f["baseline"] == f["baselines"][f["strongest_baseline"]]
    assert len(m["cross_validation"]["runs"]) == 3
    page = (tmp_path / "out" / "report.html").read_text()
    assert "id='cv-natural_movie_one'" in page and "3-fold cross-validation" in page
    assert (tmp_path / "out" / "figures" / "folds_natural_movie_one.png").exists()
    # reused when the folder is run again, recomputed when its entries are gone
    assert main(["cross-validate", str(tmp_path / "out"), "--quiet"]) == 0
    assert "reusing" in capsys.readouterr().out


def test_sample_normalization_ignores_a_shared_gain_and_offset():
    from neurocine.embed.models import MultiSessionEncoder

    torch.manual_seed(0)
    model = MultiSessionEncoder("offset10-model", [12], 8, 4, input_normalization="sample").eval()
    x = torch.randn(6, 12, 10)
    gain, offset = torch.rand(6, 1, 10) * 3 + 0.2, torch.randn(6, 1, 10)
    with torch.no_grad():
        torch.testing.assert_close(model(0, x * gain + offset), model(0, x), atol=1e-4, rtol=1e-4)
    plain = MultiSessionEncoder("offset10-model", [12], 8, 4).eval()
    with torch.no_grad():
        assert not torch.allclose(plain(0, x * gain + offset), plain(0, x), atol=1e-3)


def test_augmentation_is_off_by_default_and_seeded():
    from neurocine.embed.trainer import make_augment
    from neurocine.settings import CebraSettings

    assert make_augment(CebraSettings(), "cpu") is None
    on = CebraSettings.from_params({"augment_gain": 0.3, "augment_offset": 0.2, "neuron_dropout": 0.1})
    x = torch.ones(4, 5, 10)
    a, b = make_augment(on, "cpu")[0](x), make_augment(on, "cpu")[0](x)
    torch.testing.assert_close(a, b)
    assert not torch.allclose(a, x)


def test_input_smoothing_keeps_rates_and_spreads_a_spike_inside_the_window():
    from neurocine.embed.models import MultiSessionEncoder, SmoothedInput

    torch.manual_seed(0)
    model = MultiSessionEncoder("offset10-model", [12], 8, 4, smoothing=2.0).eval()
    smooth = model.encoders[0]
    assert isinstance(smooth, SmoothedInput) and (model.left, model.right) == (5, 5)  # the window is unchanged
    seen = []
    smooth.encoder.register_forward_pre_hook(lambda module, args: seen.append(args[0].clone()))
    constant = torch.full((2, 12, 10), 0.7)
    spike = torch.zeros(1, 12, 10)
    spike[0, 3, 5] = 1.0
    with torch.no_grad():
        model(0, constant), model(0, spike)
    torch.testing.assert_close(seen[0], constant)  # renormalised at the window's edges: a rate stays a rate
    bump = seen[1][0, 3]
    assert bump.argmax() == 5 and 0 < bump[5] < 1 and bump[2] > 0 and bump[8] > 0
    assert bump[5] > bump[4] > bump[3] > bump[2] and bump[5] > bump[6] > bump[7] > bump[8]  # a bump, centred
    assert seen[1][0, [0, 1, 2, 4]].abs().max() == 0  # the other neurons stay silent
    assert not any(k.endswith("matrix") for k in model.state_dict())  # a fixed transform: no weight saved
    long = torch.randn(1, 12, 40)  # transform's path: a long input, each output from its own smoothed window
    with torch.no_grad():
        each = torch.stack([model(0, long[:, :, i:i + 10])[0] for i in range(31)], 1)
        torch.testing.assert_close(model(0, long)[0], each, atol=1e-5, rtol=1e-5)


def test_weight_decay_selects_adamw():
    from neurocine.embed.trainer import make_optimizer

    params = [torch.nn.Parameter(torch.ones(3))]
    assert type(make_optimizer(params, 1e-3)) is torch.optim.Adam  # 0: cebra's optimizer, results unchanged
    opt = make_optimizer(params, 1e-3, 0.5)
    assert type(opt) is torch.optim.AdamW and opt.param_groups[0]["weight_decay"] == 0.5
