"""The shape of the code: data flows one way (no module imports a higher layer, no import
cycle), and every default reachable from the Python API is the settings table's."""

from __future__ import annotations

import ast
import dataclasses
import inspect
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "neurocine"

#: Layers, lowest first: a module may import its own layer and the ones below.
LAYERS = [
    ("errors", "registry", "atomic", "stimuli", "tblog"),
    ("settings", "config", "torchio"),
    ("session",),
    ("io",),
    ("data", "provenance", "calibration", "results", "scores"),
    ("embed", "decoders"),
    ("evaluate",),
    ("report",),
    ("stages",),
    ("pipeline", "adapt_run", "cli", "__init__", "__main__"),
]
LAYER = {name: i for i, names in enumerate(LAYERS) for name in names}


def module_name(path: Path) -> str:
    rel = path.relative_to(SRC.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def top(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def imports(path: Path):
    """``(imported neurocine module, at module level?)`` of one file."""
    tree = ast.parse(path.read_text())
    module_level = {id(n) for n in tree.body} | {id(c) for n in tree.body if isinstance(n, ast.If) for c in n.body}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "neurocine":  # from neurocine import provenance
            for alias in node.names:
                yield f"neurocine.{alias.name}", id(node) in module_level
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("neurocine"):
            yield node.module, id(node) in module_level
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("neurocine"):
                    yield alias.name, id(node) in module_level


FILES = sorted(SRC.rglob("*.py"))


def test_every_module_has_a_layer():
    assert {top(module_name(p)) for p in FILES} <= set(LAYER)


@pytest.mark.parametrize("path", FILES, ids=lambda p: module_name(p))
def test_no_module_imports_a_higher_layer(path):
    here = LAYER[top(module_name(path))]
    upward = [m for m, _ in imports(path) if LAYER[top(m)] > here]
    assert not upward, f"{module_name(path)} (layer {here}) imports {upward}"


def test_no_import_cycle_between_packages():
    """Across the top-level packages and modules, imports form no cycle (a package may of
    course import its own modules)."""
    edges = {}
    for path in FILES:
        a = top(module_name(path))
        for m, _ in imports(path):
            b = top(m)
            if a != b:
                edges.setdefault(a, set()).add(b)
    seen, stack = set(), []

    def visit(node):
        if node in stack:
            raise AssertionError(f"import cycle: {' -> '.join(stack[stack.index(node):] + [node])}")
        if node in seen:
            return
        stack.append(node)
        for nxt in edges.get(node, ()):
            visit(nxt)
        stack.pop()
        seen.add(node)

    for node in list(edges):
        visit(node)


def test_few_imports_hide_inside_functions():
    """Imports of neurocine's own modules sit at module level (a function-level import was
    the way to dodge an import cycle); the ones left are plug-in loading and the light
    entry points that must not import torch."""
    inner = [(module_name(p), m) for p in FILES for m, at_top in imports(p) if not at_top]
    assert len(inner) <= 2, inner


# ------------------------------------------------------------------ the table's defaults
def table_defaults() -> dict:
    from neurocine.settings import rows

    return {key: default for key, _, _, default in rows()}


def test_estimator_defaults_are_the_tables():
    from neurocine.decoders import HalfUNet
    from neurocine.embed import CEBRA
    from neurocine.settings import CebraSettings, estimator_fields

    for estimator, cls in (("cebra", CEBRA), ("halfunet", HalfUNet)):
        params = cls().get_params()
        for name, key, _, default, _ in estimator_fields(estimator):
            expected = tuple(default) if isinstance(default, list) else default
            assert params[name] == expected, (estimator, name, key)
    settings = CebraSettings()
    for name, key, _, default, _ in estimator_fields("cebra"):
        assert getattr(settings, name) == default, name


def test_learning_modes_and_the_training_loop_read_the_table():
    import torch

    from neurocine.embed import modes
    from neurocine.embed.sampling import build_session_tensors
    from neurocine.settings import DEFAULT

    tensors = [build_session_tensors(torch.zeros(500, 3).numpy(), torch.zeros(500, dtype=torch.long).numpy(),
                                     5, 5, DEFAULT.model.time_offsets, torch.arange(500).numpy() % 900,
                                     torch.device("cpu"))]
    for name in modes.get_options():
        mode = modes.init(name)  # no settings given: the table's
        assert mode.settings.stimulus_jitter == DEFAULT.model.stimulus_jitter == 15
        assert mode.settings.positive_sessions == DEFAULT.model.positive_sessions == "any"
        assert mode.settings.negatives == DEFAULT.model.negatives == "in_batch"
    sampler = modes.init("stimulus_aligned").samplers(tensors, 0, torch.device("cpu"))[0]
    assert sampler.time_offset == DEFAULT.model.time_offsets and sampler.any_session
    assert sampler.max_distance == max(DEFAULT.model.stimulus_jitter, 30)
    assert modes.as_settings({"stimulus_jitter": 3}).positive_sessions == "any"


PUBLIC = ["neurocine.data", "neurocine.data.splits", "neurocine.data.templates", "neurocine.embed.sampling",
          "neurocine.embed.trainer", "neurocine.evaluate.frame_id", "neurocine.evaluate.trials",
          "neurocine.evaluate.reconstruction", "neurocine.evaluate.scenes", "neurocine.decoders.frame_id",
          "neurocine.decoders.classify", "neurocine.decoders.halfunet", "neurocine.decoders.image_features",
          "neurocine.evaluate.images", "neurocine.evaluate.cebra_adapt", "neurocine.evaluate.image_features",
          "neurocine.evaluate.adapt", "neurocine.evaluate.cv", "neurocine.evaluate.folds"]
#: Parameter names of functions that mean a setting under another name.
ALIASES = {"time_offset": "model.time_offsets", "tolerance": "decoding.tolerance_frames",
           "n_neighbors": "decoding.n_neighbors"}
#: The original design's own API keeps the original design's defaults (documented in its docstring).
SEED_API = {"halfunet_decoding"}
#: Parameters that share a setting's name but mean where one call runs, not the setting.
NOT_SETTINGS = {"device"}


def test_function_defaults_that_are_settings_equal_the_table():
    import importlib

    defaults = table_defaults()
    by_name = {}
    for key, value in defaults.items():
        by_name.setdefault(key.rsplit(".", 1)[-1], []).append((key, value))
    checked = 0
    for module in PUBLIC:
        mod = importlib.import_module(module)
        for name, obj in vars(mod).items():
            if name.startswith("_") or not callable(obj) or name in SEED_API:
                continue
            targets = [obj.__init__] if inspect.isclass(obj) else [obj]
            for fn in targets:
                try:
                    sig = inspect.signature(fn)
                except (TypeError, ValueError):
                    continue
                for p in sig.parameters.values():
                    if p.default in (inspect.Parameter.empty, None) or p.name in NOT_SETTINGS:
                        continue
                    keys = [ALIASES[p.name]] if p.name in ALIASES else [k for k, _ in by_name.get(p.name, [])]
                    if len(keys) != 1:
                        continue
                    expected = defaults[keys[0]]
                    expected = tuple(expected) if isinstance(expected, list) else expected
                    default = p.default
                    if repr(default) == "<factory>":  # a dataclass field's default_factory
                        field = {f.name: f for f in dataclasses.fields(obj)}[p.name]
                        default = field.default_factory()
                        default = tuple(default) if isinstance(default, list) else default
                    assert default == expected, f"{module}.{name}({p.name}={default!r}) vs {keys[0]}"
                    checked += 1
    assert checked >= 10


def test_load_dataset_reads_with_the_tables_dataset_defaults(sim_dir):
    import numpy as np

    from neurocine.data import load_dataset, load_sessions, normalized_splits
    from neurocine.settings import DEFAULT

    parts = load_dataset({"data_dir": str(sim_dir)}, "train")
    expected = normalized_splits(load_sessions(sim_dir), "train", DEFAULT.dataset.normalize,
                                 DEFAULT.dataset.normalize_time)
    assert dataclasses.is_dataclass(parts[0]) and len(parts) == len(expected)
    np.testing.assert_array_equal(parts[0].neural, expected[0].neural)
    np.testing.assert_array_equal(parts[0].time, expected[0].time)


@pytest.mark.parametrize("package", ["neurocine.stages", "neurocine.report.sections", "neurocine.embed.modes"])
def test_no_plugin_module_imports_the_package_that_imports_it(package):
    """A stage, a report section or a learning mode imports the machinery it needs from
    ``base`` (never the package's ``__init__``, which imports every plug-in at its end: a
    cycle that works only by import order)."""
    folder = SRC.parent / package.replace(".", "/")
    offenders = [(module_name(p), m) for p in sorted(folder.glob("*.py")) if p.name != "__init__.py"
                 for m, _ in imports(p) if m == package]
    assert not offenders, offenders
