"""The estimators' parameters, taken from the settings table: ``neurocine.CEBRA`` (sections
``model`` and ``training``) and ``neurocine.decoders.HalfUNet`` (``reconstruction``) get
their constructor signature, defaults and docstrings from the rows marked for them, and
their fits read a frozen, typed settings object built once from those parameters
(:data:`CebraSettings`), so the learning modes, samplers and training loop see the
table's defaults and nothing else.

Example:
    >>> s = CebraSettings()
    >>> s.stimulus_jitter, s.positive_sessions, s.negatives, s.time_offsets
    (15, 'any', 'in_batch', 10)
    >>> s.batch_size = 8
    Traceback (most recent call last):
    ...
    dataclasses.FrozenInstanceError: cannot assign to field 'batch_size'
"""

from __future__ import annotations

import copy
import dataclasses
import inspect
from typing import Any

from neurocine.errors import ConfigError
from neurocine.settings.build import coerce, rule_error, walk
from neurocine.settings.table import Config

#: Parameters of ``neurocine.CEBRA`` that are not settings (the pipeline sets them per run).
CEBRA_RUNTIME = {"checkpoint_path": None, "verbose": False, "log_dir": None}
CEBRA_RUNTIME_HELP = {"checkpoint_path": "file for atomic checkpoints (``fit(resume=True)`` continues from it).",
                      "verbose": "show a progress bar.",
                      "log_dir": "folder for TensorBoard event files (train and valid loss, learning rate, steps/s); "
                                 "needs the tensorboard package."}


def estimator_fields(estimator: str) -> list[tuple[str, str, Any, Any, dict]]:
    """``[(parameter, config key, type hint, default, field metadata), ...]`` of one
    estimator (``"cebra"`` or ``"halfunet"``), in table order."""
    out = []
    for key, f, hint, default in walk(Config):
        name = f.metadata.get("estimators", {}).get(estimator)
        if name:
            out.append((f.name if name is True else name, key, hint, default, dict(f.metadata)))
    return out


def estimator_params(estimator: str, cfg: Config) -> dict[str, Any]:
    """The parameters of ``estimator`` as ``cfg`` sets them (the "one call" that builds an
    estimator from its config sections)."""
    values = {key: value for key, _, _, value in walk(cfg)}
    return {name: copy.deepcopy(values[key]) for name, key, _, _, _ in estimator_fields(estimator)}


def estimator_signature(estimator: str, runtime: dict[str, Any]) -> tuple[inspect.Signature, dict[str, Any]]:
    """``(signature, defaults)`` of an estimator's ``__init__``: its table fields plus
    ``runtime`` parameters (not in YAML), all keyword arguments with defaults."""
    # lists (YAML's [H, W]) become tuples: an estimator's defaults must be immutable
    defaults = {name: tuple(default) if isinstance(default, list) else default
                for name, _, _, default, _ in estimator_fields(estimator)}
    defaults.update(runtime)
    params = [inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
    params += [inspect.Parameter(n, inspect.Parameter.KEYWORD_ONLY, default=d) for n, d in defaults.items()]
    return inspect.Signature(params), defaults


def make_estimator_init(estimator: str, runtime: dict[str, Any], class_name: str):
    """An sklearn-style ``__init__`` (stores every parameter, validates nothing) whose
    signature is the table's; unknown keywords are a TypeError as in a written one."""
    signature, defaults = estimator_signature(estimator, runtime)

    def __init__(self, **params):
        unknown = sorted(set(params) - set(defaults))
        if unknown:
            raise TypeError(f"{class_name}.__init__() got an unexpected keyword argument {unknown[0]!r}")
        for name, default in defaults.items():
            setattr(self, name, params.get(name, copy.deepcopy(default)))

    __init__.__signature__ = signature
    __init__.__qualname__ = f"{class_name}.__init__"
    return __init__


def validate_estimator_params(estimator: str, params: dict[str, Any]) -> None:
    """Apply the table's types and rules to an estimator's parameters (its ``fit`` calls
    this); raises :class:`ConfigError` naming the parameter and its config key."""
    for name, key, hint, _, meta in estimator_fields(estimator):
        value = params[name]
        try:
            coerce(value, hint, key)
        except ConfigError as exc:
            raise ConfigError(f"{name}={value!r}: {str(exc).split(': ', 1)[-1]} (config key '{key}')") from None
        error = rule_error(value, meta, hint)
        if error:
            raise ConfigError(f"{name}={value!r}: {error} (config key '{key}')")


def estimator_doc(estimator: str, runtime_help: dict[str, str]) -> str:
    """The ``Args:`` block of an estimator docstring, from the table's help texts."""
    lines = ["Args:"]
    for name, key, _, default, meta in estimator_fields(estimator):
        lines.append(f"    {name}: {meta['help']} (default {default!r}; config key ``{key}``).")
    for name, text in runtime_help.items():
        lines.append(f"    {name}: {text}")
    return "\n".join(lines)


def settings_class(estimator: str, runtime: dict[str, Any], class_name: str) -> type:
    """A frozen dataclass with one field per parameter of ``estimator`` (the table's type and
    default) plus the ``runtime`` ones: what a fit reads, typed, never re-defaulted."""
    fields = []
    for name, _, hint, default, _ in estimator_fields(estimator):
        default = tuple(default) if isinstance(default, list) else default
        fields.append((name, Any, dataclasses.field(default=default)))
    fields += [(name, Any, dataclasses.field(default=value)) for name, value in runtime.items()]
    cls = dataclasses.make_dataclass(class_name, fields, frozen=True)
    cls.__module__ = __name__
    cls.__doc__ = (f"The parameters of one {estimator} fit, frozen (fields and defaults from the settings "
                   "table); build with ``from_params``, which checks them against the table.")

    def from_params(klass, params: dict | None = None, **more):
        """Settings from estimator parameters (missing ones take the table's defaults),
        checked against the table's rules."""
        values = {**(params or {}), **more}
        known = {f.name for f in dataclasses.fields(klass)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ConfigError(f"unknown parameter {unknown[0]!r} (known: {', '.join(sorted(known))})")
        out = klass(**values)
        validate_estimator_params(estimator, dataclasses.asdict(out))
        return out

    cls.from_params = classmethod(from_params)
    return cls


#: A CEBRA fit's settings (see the module docstring).
CebraSettings = settings_class("cebra", CEBRA_RUNTIME, "CebraSettings")


__all__ = ["estimator_fields", "estimator_params", "estimator_signature", "make_estimator_init",
           "validate_estimator_params", "estimator_doc", "settings_class", "CebraSettings", "CEBRA_RUNTIME",
           "CEBRA_RUNTIME_HELP"]
