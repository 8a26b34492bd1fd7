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
