"""Every Python block of README.md and docs/ runs, on small simulated data.

Each ```python block is executed on its own (a fresh namespace) in a folder holding
`data/` (two small simulated sessions and their movie) and the repository's `configs/`.
To keep the suite fast, training lengths and image sizes written in a block are scaled
down (`max_iterations=`, `"model.max_iterations":`, `num_epochs=`, `(64, 128)`): the calls, names and shapes are the
ones a reader copies."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
SMALLER = [(re.compile(r"max_iterations=\d+"), "max_iterations=20"),
           (re.compile(r'"model.max_iterations": \d+'), '"model.max_iterations": 20'),
           (re.compile(r"num_epochs=\d+"), "num_epochs=1"),
           (re.compile(r"\(64, 128\)"), "(16, 32)")]


def python_blocks():
    for page in PAGES:
        text = page.read_text()
        for i, match in enumerate(re.finditer(r"```python\n(.*?)```", text, flags=re.S)):
            line = text[:match.start()].count("\n") + 1
            yield pytest.param(match.group(1), id=f"{page.relative_to(ROOT)}:{line}")


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    from neurocine.io.simulate import simulate_dataset

    d = tmp_path_factory.mktemp("docs")
    simulate_dataset(d / "data", sessions=2, neurons=(20, 30), grating_repeats=1, spontaneous_s=2.0,
                     frame_shape=(16, 32), progress=False)
    shutil.copytree(ROOT / "configs", d / "configs")
    return d


def test_pages_have_python_blocks():
    assert len(list(python_blocks())) >= 3


@pytest.mark.parametrize("code", list(python_blocks()))
def test_python_block_runs(code, workdir, monkeypatch):
    import warnings

    monkeypatch.chdir(workdir)
    for pattern, small in SMALLER:
        code = pattern.sub(small, code)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # e.g. device="cuda" on a CPU machine
        exec(compile(code, "<doc block>", "exec"), {"__name__": "__doc_block__"})
    assert os.getcwd() == str(workdir)


def test_settings_page_is_generated_from_the_table():
    """docs/settings.md is what the table generates (regenerate with
    `python -m neurocine.settings.docs > docs/settings.md`)."""
    from neurocine.settings.docs import settings_markdown

    assert (ROOT / "docs" / "settings.md").read_text() == settings_markdown()


def test_readme_is_a_front_page():
    lines = (ROOT / "README.md").read_text().splitlines()
    assert len(lines) <= 200
    for page in ("guide", "numbers", "formats", "settings", "benchmarks", "api", "contributing"):
        assert (ROOT / "docs" / f"{page}.md").exists() and f"docs/{page}.md" in "\n".join(lines)


# ------------------------------------------------------------------ README's numbers
def readme_table_rows():
    """``(line number, row text)`` of every data row of README's tables."""
    rows = []
    for i, line in enumerate((ROOT / "README.md").read_text().splitlines(), start=1):
        if line.startswith("|") and not re.fullmatch(r"\|[-:| ]+\|", line) and "reproduce |" not in line:
            rows.append((i, line))
    return rows


def _commands(row: str) -> list[str]:
    return [c for c in re.findall(r"`([^`]+)`", row.rsplit("|", 2)[-2])
            if c.startswith(("neurocine ", "python bench/", "neurocine.", "--"))]


def test_every_readme_table_row_names_how_to_reproduce_it():
    """Each row's last column names the command (``neurocine ...``, ``python bench/...``)
    or the function (``neurocine.evaluate....``) that reproduces it; each command parses
    (the subcommand and flags exist), each bench script exists and takes the flags given,
    each function imports."""
    import importlib
    import shlex
    import subprocess
    import sys

    from neurocine.cli import build_parser

    rows = readme_table_rows()
    assert len(rows) >= 20
    helps = {}
    for line, row in rows:
        commands = _commands(row)
        assert any(c.startswith(("neurocine", "python bench/")) for c in commands), f"README.md:{line}: {row[:80]}"
        for c in commands:
            if c.startswith("neurocine "):
                try:
                    build_parser().parse_args(shlex.split(c)[1:])
                except SystemExit:
                    pytest.fail(f"README.md:{line}: `{c}` is not a command neurocine takes")
            elif c.startswith("python bench/"):
                script, *args = shlex.split(c)[1:]
                assert (ROOT / script).is_file(), f"README.md:{line}: no {script}"
                if script not in helps:
                    helps[script] = subprocess.run([sys.executable, str(ROOT / script), "--help"], capture_output=True,
                                                   text=True, cwd=ROOT / "bench", timeout=120).stdout
                for flag in (a for a in args if a.startswith("--")):
                    assert flag in helps[script], f"README.md:{line}: {script} takes no {flag}"
            elif c.startswith("neurocine."):
                module, name = c.rsplit(".", 1)
                assert callable(getattr(importlib.import_module(module), name)), f"README.md:{line}: {c}"


SCENES = ROOT.parent / "shared" / "data" / "allen_2p_natural_scenes_501498760"


@pytest.mark.skipif(not SCENES.is_dir(), reason=f"no real recordings at {SCENES} (a clone without ../shared/data)")
def test_the_cheap_readme_row_reproduces():
    """The natural-scenes row says the responses show no image information: the function it
    names, run on the real recording (seconds), finds none (both checks' p above 0.05)."""
    import numpy as np

    from neurocine.evaluate.images import image_information

    row = next(r for _, r in readme_table_rows() if r.startswith("| natural scenes, real 501498760"))
    assert "no image information" in row and "neurocine.evaluate.images.image_information" in row
    load = lambda n: np.load(SCENES / f"{n}.npy")  # noqa: E731
    shown = np.concatenate([load("Allen_train_input"), load("Allen_test_input")]) / 255.0
    every = load("all_input_scenes_118_961") / 255.0
    order = np.array([int(np.argmin(np.abs(every - im).sum(1))) for im in shown])
    got = image_information(np.concatenate([load("Allen_train_output"), load("Allen_test_output")]), every[order])
    assert got["encoding_p"] > 0.05 and got["rsa_p"] > 0.05
    # and the numbers docs/numbers.md quotes for them: encoding r 0.063, p 0.14; RSA r +0.000, p 0.99
    assert round(got["encoding_top10_cv_r"], 3) == 0.063 and round(got["encoding_p"], 2) == 0.14
    assert abs(got["rsa_r"]) < 0.0005 and round(got["rsa_p"], 2) == 0.99
