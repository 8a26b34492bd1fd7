"""Stage ``decode-classes``: trials found in a split, every class label decoded beside
logistic regression and kNN on dF/F, and the supervision shown in the report."""

from __future__ import annotations

import json

import numpy as np
import pytest

from neurocine import load_dataset
from neurocine.cli import main
from neurocine.settings import DatasetConfig
from neurocine.io.trials import trials_session
from neurocine.evaluate.trials import decode_label, stimulus_trials


def test_stimulus_trials_are_one_run_per_trial():
    rng = np.random.default_rng(0)
    direction = np.tile(np.arange(8) * 45.0, 5)  # 40 trials of 12 samples, stimulus on for samples 2..9
    s = trials_session(rng.normal(size=(4, 40, 12)).astype(np.float32), {"drifting_gratings.direction": direction},
                       (np.arange(12) - 2) / 30.0, 30.0, "toy", stimulus_s=8 / 30)
    seen = 0
    for split in ("train", "valid", "test"):
        part = load_dataset(DatasetConfig(data_dir="unused"), split, sessions=[s])[0]
        rows = stimulus_trials(part, "drifting_gratings")
        seen += len(rows)
        for r in rows:
            assert len(r) == 8 and (np.diff(part.index[r]) == 1).all()  # the stimulus period, contiguous
            assert len(np.unique(part.label("drifting_gratings.direction")[r])) == 1
    assert seen == 40


@pytest.mark.parametrize("informative_model", [False, True])
def test_decode_label_scores_models_and_baselines_on_the_same_trials(informative_model):
    rng = np.random.default_rng(1)
    sessions = []
    for sid in ("a", "b"):
        centers = rng.normal(0, 3, (4, 10))  # each class's mean dF/F in this session
        entry = {"session_id": sid}
        for split, n in (("train", 80), ("valid", 16), ("test", 40)):
            y = np.arange(n) % 4
            dff = centers[y] + rng.normal(0, 1, (n, 10))
            # a model that kept the class information, or one that lost it
            emb = dff[:, :3] * 2 if informative_model else rng.normal(0, 1, (n, 3))
            entry[split] = {"y": y, "dff": dff, "cebra": emb}
        sessions.append(entry)
    res = decode_label(sessions, ["cebra"], n_neighbors=5, n_classes=4, seed=0, n_boot=200)
    assert res.details["n_test_trials"] == 80 and res.value("chance") == 0.25
    assert res.value("logistic_dff") > 0.9
    for k in ("cebra", "logistic_dff", "knn_dff"):
        lo, hi = res.score(k).ci95
        assert lo <= res.value(k) <= hi
    b = res.strongest_baseline
    assert b in ("logistic_dff", "knn_dff") and set(res.margins) == {f"cebra - {b}"}
    assert set(res.details["per_session"]) == {"a", "b"}
    if informative_model:
        assert res.value("cebra") > 0.8
    else:  # class-free features: near chance, and clearly below the baseline
        assert res.value("cebra") < 0.5 and res.margin("cebra").ci95[1] < 0


def test_the_demo_gratings_are_decoded_with_their_supervision(tiny_results):
    res = json.loads((tiny_results / "metrics.json").read_text())["classification"]
    d = res["drifting_gratings.direction"]
    assert d["n_classes"] == 8 and d["n_test_trials"] > 0
    for k in ("cebra", "cebra_label_free", "logistic_dff", "knn_dff", "chance"):
        assert 0 <= d[k]["accuracy"] <= 1
    assert d["supervision"]["cebra"] == "natural_movie_one frame"
    assert d["supervision"]["baselines"] == "drifting_gratings.direction (train trials)"
    assert main(["report", str(tiny_results), "--quiet"]) == 0
    text = (tiny_results / "report.html").read_text()
    assert "Labels that trained each model: CEBRA embedding natural_movie_one frame" in text
