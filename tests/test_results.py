"""The results folder: metrics, embeddings, arrays; one-line errors on broken files."""

from __future__ import annotations

import numpy as np
import pytest

from neurocine import DataError
from neurocine.results import Results


def test_metrics_update_keeps_other_stages_and_writes_valid_json(tmp_path):
    r = Results(tmp_path / "out")
    r.update("a", {"x": np.float32(0.5), "n": np.int64(3), "bad": float("nan"), "arr": np.arange(3)})
    r.update("b", {"y": 1})
    m = r.metrics()
    assert m["a"] == {"x": 0.5, "n": 3, "bad": None, "arr": [0, 1, 2]} and m["b"] == {"y": 1}
    assert "NaN" not in (tmp_path / "out" / "metrics.json").read_text()  # strict JSON


def test_corrupt_metrics_is_a_one_line_error(tmp_path):
    (tmp_path / "metrics.json").write_text("{not json")
    with pytest.raises(DataError, match="metrics.json: not valid JSON"):
        Results(tmp_path).metrics()


def test_embeddings_round_trip(tmp_path):
    r = Results(tmp_path)
    rec = {"session_id": "s1", "embedding": np.ones((5, 3), np.float32), "timestamps": np.arange(5.0),
           "index": np.arange(5), "labels": {"natural_movie_one.frame": np.array([0, 1, 2, -1, -1])}}
    r.write_embeddings([("attrs", {"learning_mode": "x"}), ("test", rec)])
    back = r.read_embeddings()
    np.testing.assert_array_equal(back["s1"]["test"]["labels"]["natural_movie_one.frame"], [0, 1, 2, -1, -1])
    assert back["s1"]["test"]["embedding"].shape == (5, 3) and r.embeddings_attrs()["learning_mode"] == "x"


def test_missing_files_say_which_stage_writes_them(tmp_path):
    with pytest.raises(DataError, match="missing embeddings.h5: run 'neurocine train' first"):
        Results(tmp_path).read_embeddings()
    (tmp_path / "embeddings.h5").write_bytes(b"\x89HDF\r\n\x1a\n" + b"\0" * 64)
    with pytest.raises(DataError, match="unreadable embeddings"):
        Results(tmp_path).read_embeddings()
