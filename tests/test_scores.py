"""The one result type (neurocine.scores): every layout of metrics.json reads back into it
and writes out unchanged, a renamed key fails loudly, and its choices follow valid only."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neurocine.evaluate.adapt import read_adapt, read_adapt_trials
from neurocine.evaluate.reconstruction import MODELS
from neurocine.scores import Comparison, FoldComparison, Interval, ResultError


def _entry(value, lo, hi, metric="accuracy_1s"):
    return {metric: value, f"{metric}_ci95": [lo, hi]}


def test_the_strongest_baseline_is_chosen_on_valid_never_on_test():
    test = {"m": _entry(0.5, 0.4, 0.6), "a": _entry(0.9, 0.8, 1.0), "b": _entry(0.1, 0.0, 0.2)}
    c = Comparison("accuracy_1s", ("m",), ("a", "b"), test, {"a": {"accuracy_1s": 0.2}, "b": {"accuracy_1s": 0.3}})
    assert c.strongest_baseline == "b"  # best on valid, though worst on test
    assert Comparison("accuracy_1s", ("m",), ("a", "b"), test, {}).strongest_baseline == "a"  # no valid: the first
    assert Comparison("accuracy_1s", ("m",), ("a", "b"), test).strongest_baseline is None  # no valid split at all


def test_a_renamed_or_missing_key_fails_loudly():
    c = Comparison("accuracy_1s", ("m",), ("a",), {"m": {"accuracy_1s": 0.5, "accuracy_1s_ci": [0.4, 0.6]},
                                                   "a": _entry(0.4, 0.3, 0.5)}, {})
    with pytest.raises(ResultError, match="no 'accuracy_1s' with its 'accuracy_1s_ci95'"):
        c.score("m")
    with pytest.raises(ResultError, match="no method 'x'"):
        c.score("x")
    with pytest.raises(ResultError, match="no paired margin 'm - a'"):
        c.margin()
    with pytest.raises(ResultError, match="expected {'mean', 'ci95'"):
        Comparison.from_json({"m": _entry(0.5, 0.4, 0.6), "comparison": {"m - a": {"mean": 0.1}}}, "accuracy_1s")
    with pytest.raises(ResultError, match="expected a cross-validation entry"):
        FoldComparison.from_json({"cebra": {"mean": 0.5, "ci95": [0.4, 0.6]}}, "accuracy_1s")


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(0, 1), min_size=3, max_size=6), st.booleans(), st.sampled_from(["", "frame_id"]))
def test_every_layout_reads_back_whole(values, with_valid, section):
    names = [f"method{i}" for i in range(len(values))]
    ci_key = "ci95" if section else "{metric}_ci95"
    test = {n: {"accuracy_1s": v, ci_key.format(metric="accuracy_1s"): [v - 0.1, v + 0.1], "decoder": "knn"}
            for n, v in zip(names, values)}
    valid = {n: {"accuracy_1s": v / 2} for n, v in zip(names, values)} if with_valid and not section else None
    margins = {f"{names[0]} - {b}": Interval(values[0] - values[i], (-1.0, 1.0)) for i, b in enumerate(names) if i}
    c = Comparison("accuracy_1s", (names[0],), tuple(names[1:]), test, valid, margins,
                   details={"per_session": {"s": 1}, "label": "x"}, ci_key=ci_key, section=section)
    data = json.loads(json.dumps(c.to_json()))  # what metrics.json holds
    back = Comparison.from_json(data, "accuracy_1s", ci_key=ci_key, section=section)
    assert back == c and back.to_json() == data
    assert back.models == (names[0],) and set(back.baselines) == set(names[1:])
    assert (back.strongest_baseline is not None) == (valid is not None)


def test_fold_summaries_read_back_whole():
    from neurocine.evaluate.folds import summarize

    per_fold = [{"fold": k, "cebra": 0.5 + 0.01 * k, "baselines": {"a": 0.4, "b": 0.45}, "strongest_baseline": "b",
                 "baseline": 0.45, "margin": 0.05 + 0.01 * k, "valid": {"cebra": 0.5, "baseline": 0.4, "margin": 0.1}}
                for k in range(5)]
    cv = summarize(per_fold, 5)
    data = json.loads(json.dumps(cv.to_json()))
    assert set(data) == {"folds", "per_fold", "interval", "cebra", "baselines", "margin", "valid_margin"}
    assert data["margin"]["over"].startswith("the strongest baseline of each fold")
    back = FoldComparison.from_json(data, "accuracy_1s")
    assert back.to_json() == data and back.margin().value == pytest.approx(0.07)
    assert back.score("b").value == pytest.approx(0.45) and back.valid_margin.value == pytest.approx(0.1)


def test_a_runs_metrics_read_back_into_the_result_type_unchanged(tiny_results):
    """Every decoding entry of a real run's metrics.json is a Comparison's JSON: read back and
    written out, it is the same (the schema the report and users read)."""
    m = json.loads((tiny_results / "metrics.json").read_text())
    entries = [(m["frame_id"]["natural_movie_one"], "accuracy_1s", {}),
               (m["reconstruction"]["natural_movie_one"], "ssim", {"models": MODELS}),
               (m["reconstruction"]["novel_frames"]["natural_movie_one"], "ssim", {"models": MODELS})]
    entries += [(e, "accuracy", {}) for k, e in m["classification"].items() if isinstance(e, dict) and "cebra" in e]
    for entry, metric, kw in entries:
        c = Comparison.from_json(entry, metric, **kw)
        assert c.to_json() == entry
        assert c.strongest_baseline in c.baselines and c.has_margin()
        assert c.score(c.model).ci95[0] <= c.value(c.model) <= c.score(c.model).ci95[1]


def test_the_adapt_layouts_read_back():
    test = {m: {"accuracy_1s": 0.3, "ci95": [0.2, 0.4]} for m in ("adapted", "adapted_own", "ridge_map",
                                                                    "template_own", "strongest_own", "chance")}
    entry = {"repeats": 1, "frame_id": test, "comparison": {"adapted - strongest_own": {"mean": 0.0,
                                                                                         "ci95": [-0.1, 0.1]}}}
    c = read_adapt(entry)
    assert c.to_json() == entry and c.margin("adapted", "strongest_own").ci95 == (-0.1, 0.1)
    trials = {m: {"accuracy": 0.5, "ci95": [0.4, 0.6]} for m in ("adapted", "adapted_own", "logistic_own")}
    entry = {**trials, "comparison": {"adapted - logistic_own": {"mean": 0.1, "ci95": [0.05, 0.15]}},
             "n_classes": 8}
    c = read_adapt_trials(entry)
    assert c.to_json() == entry and c.margin("adapted", "logistic_own").ci95[0] > 0
    assert np.isclose(c.value("logistic_own"), 0.5)
