"""Each concept is one place: a label, a learning mode and a decoder stage registered
from this file alone are read from the session files, trained with, decoded, recorded in
metrics.json and shown in report.html by the unchanged ``neurocine run``."""

from __future__ import annotations

import json

import h5py
import numpy as np
import pytest
import yaml

from neurocine import stimuli
from neurocine.cli import main
from neurocine.embed import modes
from neurocine.embed.modes import LearningMode
from neurocine.embed.sampling import DiscreteSampler
from neurocine.stages import STAGES, Stage

TOY = "toy.parity"


class ToyParity(LearningMode):
    """Positives: samples of the same session whose movie frame has the same parity."""

    name = "toy_parity"
    aligns_sessions = False

    def check(self, facts):
        assert all(TOY in f.labels for f in facts)

    def sampler_labels(self, part):
        return part.table[TOY]

    def samplers(self, tensors, seed, device, reduce=None):
        return [DiscreteSampler(tensors, self.settings.time_offsets, self.generator(device, seed), reduce,
                                cross_session=False)]

    def supervision(self, facts):
        return TOY


class ToyDecode(Stage):
    """Decode the toy label from the embedding with a nearest-centroid rule."""

    name = "toy-decode"
    key = "toy"
    help = "decode the toy label"

    def run(self, ctx):
        accuracy = {}
        for sid, d in ctx.embeddings().items():
            tr, te = d["train"], d["test"]
            ytr, yte = tr["labels"][TOY], te["labels"][TOY]
            centroids = np.stack([tr["embedding"][ytr == c].mean(0) for c in (0, 1)])
            keep = yte >= 0
            pred = np.argmin(((te["embedding"][keep, None] - centroids[None]) ** 2).sum(-1), axis=1)
            accuracy[sid] = float(np.mean(pred == yte[keep]))
        return {"accuracy": accuracy, "n_sessions": len(accuracy)}

    def summary(self, m):
        return f"toy accuracy {np.mean(list(m['accuracy'].values())):.3f}"

    def report(self, m):
        return f"<h2 id='toy-section'>Toy parity</h2><p>{m['n_sessions']} sessions decoded</p>"


@pytest.fixture
def toy_concepts(monkeypatch):
    monkeypatch.setitem(stimuli.LABELS, TOY, stimuli.LabelSpec(
        TOY, "class", "int64", classes=(0, 1), needs=("natural_movie_one.frame",),
        derive=lambda t: np.where(t["natural_movie_one.frame"] >= 0, t["natural_movie_one.frame"] % 2, -1)))
    monkeypatch.setitem(modes.MODES, ToyParity.name, ToyParity)
    monkeypatch.setitem(STAGES, ToyDecode.name, ToyDecode())


def test_a_toy_label_mode_and_stage_are_picked_up_everywhere(toy_concepts, sim_dir, tmp_path, capsys):
    cfg = {"dataset": {"data_dir": str(sim_dir)},
           "model": {"learning_mode": "toy_parity", "batch_size": 64, "max_iterations": 20, "device": "cpu"},
           "training": {"validate_every": 10},
           "reconstruction": {"enabled": False},
           "output_dir": str(tmp_path / "out")}
    (tmp_path / "toy.yaml").write_text(yaml.safe_dump(cfg))
    assert main(["run", "--config", str(tmp_path / "toy.yaml"), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "toy-decode: toy accuracy" in out
    metrics = json.loads((tmp_path / "out" / "metrics.json").read_text())
    assert metrics["training"]["learning_mode"] == "toy_parity" and metrics["training"]["supervision"] == TOY
    assert not metrics["training"]["aligned"] and "cross_session" not in metrics["frame_id"]
    assert metrics["toy"]["n_sessions"] == 3 and all(0 <= a <= 1 for a in metrics["toy"]["accuracy"].values())
    assert "toy-decode" in metrics["wall_time_s"]
    page = (tmp_path / "out" / "report.html").read_text()
    assert "id='toy-section'" in page and "stage-toy-decode" in page
    with h5py.File(tmp_path / "out" / "embeddings.h5") as f:  # the derived label reached every split
        sid = next(iter(f))
        assert TOY in f[sid]["test"]["labels"]
    assert main(["toy-decode", str(tmp_path / "out"), "--force", "--quiet"]) == 0  # and it is a subcommand
