"""Building and checking settings dataclasses from plain data (YAML, ``--set``, estimator
parameters): types coerced, unknown keys and values outside a row's rules refused with one
line naming the key. Works on any dataclass whose fields carry :func:`setting` metadata;
the rows themselves are in :mod:`neurocine.settings.table`."""

from __future__ import annotations

import dataclasses
import difflib
import typing
from typing import Literal

from neurocine.errors import ConfigError


#: Settings that were renamed: ``{old dotted key: new}`` (an old config is refused naming the new one).
RENAMED = {"novel_frames.folds": "novel_frames.blocks", "novel_frames.run_folds": "novel_frames.run_blocks"}


def renamed_hint(key: str) -> str:
    """``"; it was renamed 'new'"`` when ``key`` is a setting's old name, else ``""``."""
    return f"; it was renamed '{RENAMED[key]}'" if key in RENAMED else ""


def build(cls, data: dict, prefix: str):
    if not isinstance(data, dict):
        raise ConfigError(f"'{prefix.rstrip('.') or 'config'}' must be a mapping, got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - names, key=str)
    if unknown:
        key = f"{prefix}{unknown[0]}"
        raise ConfigError(f"unknown config key '{key}'{renamed_hint(key)} (known in this section: "
                          f"{', '.join(sorted(names))})")
    kwargs = {}
    for key, value in data.items():
        hint = hints[key]
        if dataclasses.is_dataclass(hint):
            if value is not None and not isinstance(value, dict):
                raise ConfigError(f"config key '{prefix}{key}' is a section, expected a mapping of its settings "
                                  f"(got {value!r})")
            kwargs[key] = build(hint, value or {}, f"{prefix}{key}.")
        else:
            kwargs[key] = coerce(value, hint, f"{prefix}{key}")
    return cls(**kwargs)


def coerce(value, hint, key: str):
    if typing.get_origin(hint) is list:
        item = typing.get_args(hint)[0]
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"config key '{key}': {value!r} is not a list")
        return [coerce(v, item, f"{key}[{i}]") for i, v in enumerate(value)]
    if typing.get_origin(hint) is Literal:
        allowed = typing.get_args(hint)
        if value not in allowed:
            raise ConfigError(f"config key '{key}': {value!r} is not one of {', '.join(map(str, allowed))}")
        return value
    args = typing.get_args(hint)
    optional = type(None) in args
    base = next((a for a in args if a is not type(None)), hint) if args else hint
    if value is None:
        if optional:
            return None
        raise ConfigError(f"config key '{key}' must not be null")
    try:
        if base is bool:
            if isinstance(value, bool):
                return value
            raise ValueError
        if base is int:
            if isinstance(value, bool) or float(value) != int(float(value)):
                raise ValueError
            return int(float(value))
        if base is float:
            if isinstance(value, bool):
                raise ValueError
            out = float(value)
            if out != out:  # NaN passes every bound test: refuse it here
                raise ValueError
            return out
        if base is str:
            if not isinstance(value, (str, int, float)) or isinstance(value, bool):
                raise ValueError
            return str(value)
    except (TypeError, ValueError, OverflowError):
        raise ConfigError(f"config key '{key}': {value!r} is not a valid {getattr(base, '__name__', base)}") from None
    return value


def _is_int(hint) -> bool:
    return hint is int or int in typing.get_args(hint)


def rule_error(value, meta: dict, hint=None) -> str | None:
    """Why ``value`` breaks its field's rules, or None."""
    if value is None:
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        kind = "an integer" if _is_int(hint) else "a number"
        if meta.get("ge") is not None and value < meta["ge"]:
            return f"expected {kind} >= {meta['ge']}"
        if meta.get("gt") is not None and value <= meta["gt"]:
            return f"expected {kind} > {meta['gt']}"
        if meta.get("le") is not None and value > meta["le"]:
            return f"expected {kind} <= {meta['le']}"
    if meta.get("check") is not None:
        return meta["check"](value)
    if meta.get("choices") is not None:
        allowed = meta["choices"]()
        if value not in allowed:
            if len(allowed) <= 12:
                return f"expected one of {', '.join(allowed)}"
            near = difflib.get_close_matches(str(value), allowed, n=4, cutoff=0.5) or allowed[:4]
            return f"expected one of {len(allowed)} registered names, e.g. {', '.join(near)}"
    return None


def check_fields(obj, prefix: str) -> None:
    """Every field's rules, recursively; the first violation raises, naming the key.
    Run-time choices (which may import torch or cebra) are checked after the others."""
    deferred = []
    hints = typing.get_type_hints(type(obj))
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        if dataclasses.is_dataclass(value):
            check_fields(value, f"{prefix}{f.name}.")
            continue
        meta = dict(f.metadata)
        if meta.get("choices") is not None:
            deferred.append((f, value, meta))
            continue
        error = rule_error(value, meta, hints[f.name])
        if error:
            raise ConfigError(f"config key '{prefix}{f.name}': {value!r}, {error}")
    for f, value, meta in deferred:
        error = rule_error(value, meta, hints[f.name])
        if error:
            raise ConfigError(f"config key '{prefix}{f.name}': {value!r}, {error}")


def walk(obj_or_cls, prefix=""):
    """``(dotted key, field, type hint, value or default)`` over every leaf field, in
    order; ``obj_or_cls`` is a settings object (values) or a settings class (defaults)."""
    cls = obj_or_cls if isinstance(obj_or_cls, type) else type(obj_or_cls)
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        hint = hints[f.name]
        if dataclasses.is_dataclass(hint):
            yield from walk(hint if isinstance(obj_or_cls, type) else getattr(obj_or_cls, f.name), f"{prefix}{f.name}.")
            continue
        if isinstance(obj_or_cls, type):
            value = f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default
        else:
            value = getattr(obj_or_cls, f.name)
        yield f"{prefix}{f.name}", f, hint, value


__all__ = ["build", "coerce", "rule_error", "check_fields", "walk"]
