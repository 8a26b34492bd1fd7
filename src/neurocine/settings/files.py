"""The configs that ship inside the package, and the commented listing of every setting.

``neurocine config list`` names the packaged configs; ``neurocine config show NAME`` prints
one as a complete YAML file: every setting of the table (:mod:`neurocine.settings.table`) with the
config's value (or the default), its allowed values and its help, so a user starts from a
file that documents itself. ``--config`` takes a packaged name or a path.
"""

from __future__ import annotations

import typing
from importlib import resources
from pathlib import Path

import yaml

from neurocine.errors import ConfigError
from neurocine.settings.build import walk
from neurocine.settings.table import Config


def packaged() -> dict[str, Path]:
    """``{name: path}`` of the configs inside the package."""
    folder = resources.files("neurocine") / "configs"
    return {Path(str(p)).stem: Path(str(p)) for p in folder.iterdir() if str(p).endswith(".yaml")}


def resolve(name_or_path: str | None) -> Config:
    """The config a ``--config`` value names: a packaged config (``allen``), a YAML path, or
    the built-in defaults (None)."""
    if name_or_path is None:
        return Config()
    configs = packaged()
    if name_or_path in configs and not Path(name_or_path).exists():
        return Config.load(configs[name_or_path])
    path = Path(name_or_path)
    if not path.is_file() and path.suffix == "" and name_or_path not in configs:
        raise ConfigError(f"{name_or_path}: no such config file, and not a packaged config "
                          f"(packaged: {', '.join(sorted(configs))})")
    return Config.load(path)


def _allowed(hint, meta) -> str:
    if typing.get_origin(hint) is typing.Literal:
        return " | ".join(map(str, typing.get_args(hint)))
    bounds = [f"{op} {meta[k]}" for k, op in (("ge", ">="), ("gt", ">"), ("le", "<=")) if meta.get(k) is not None]
    base = {int: "integer", float: "number", bool: "true | false", str: "text"}
    args = [a for a in typing.get_args(hint) if a is not type(None)] or [hint]
    kind = base.get(args[0], "list" if typing.get_origin(args[0]) is list else str(args[0]))
    text = kind + (" " + ", ".join(bounds) if bounds else "")
    if type(None) in typing.get_args(hint):
        text += " | null"
    return text


def listing(cfg: Config, title: str) -> str:
    """Every setting as commented YAML, with ``cfg``'s values."""
    lines = [f"# neurocine config: {title}",
             "# Every setting, with its allowed values and what it does; unknown keys are errors.",
             "# Defaults are the built-in ones unless this config changes them (marked 'set here')."]
    default = {key: value for key, _, _, value in walk(Config)}
    section = None
    for key, f, hint, value in walk(cfg):
        top = key.split(".")[0] if "." in key else None
        depth = key.count(".")
        if top != section:
            lines.append("")
            if top:
                lines.append(f"{top}:")
            section = top
        parent = key.rsplit(".", 1)[0]
        if depth == 2 and not any(line.strip() == f"{parent.split('.')[1]}:" for line in lines[-12:]):
            lines.append(f"  {parent.split('.')[1]}:")
        meta = dict(f.metadata)
        note = "set here; " if value != default[key] else ""
        dumped = yaml.safe_dump(value, default_flow_style=True).strip().removesuffix("...").strip()
        pad = "  " * depth
        lines.append(f"{pad}# {meta.get('help', '')} [{note}default {default[key]!r}; {_allowed(hint, meta)}]")
        lines.append(f"{pad}{key.rsplit('.', 1)[-1]}: {dumped}")
    return "\n".join(lines) + "\n"


__all__ = ["packaged", "resolve", "listing"]
