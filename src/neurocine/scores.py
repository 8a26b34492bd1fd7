"""The one result type of every protocol: each method's number with its interval, beside
the strongest baseline chosen on validation data, and the paired margins over it.

Every protocol (frame ID, trials, seen and novel reconstruction, scenes, adapt, the folds of
cross-validation) returns a :class:`Comparison`; the stages write ``to_json()`` into
metrics.json, and the report, the CLI and the benches read it back with ``from_json()``
and its attributes. A renamed key therefore fails here, loudly, instead of making a report
section go quiet. The JSON layout is the one metrics.json has always had:

* each method's entry at the top level, ``{metric: mean, "<metric>_ci95": [lo, hi], ...}``
  (or ``"ci95"`` for the adapt and fold layouts);
* ``"valid"``: each method's numbers on the validation split (what chose the decoders and
  the strongest baseline);
* ``"strongest_baseline"``: the baseline with the best validation number;
* ``"comparison"``: ``{"<model> - <baseline>": {"mean", "ci95"}}``, paired differences
  (the same bootstrap resamples for both sides);
* anything else the protocol says (per-session numbers, supervision, the protocol's words)
  is carried in :attr:`Comparison.details` as it is.

Example:
    >>> c = Comparison(metric="accuracy_1s", models=("cebra",), baselines=("knn", "linear"),
    ...                test={"cebra": {"accuracy_1s": 0.6, "accuracy_1s_ci95": [0.5, 0.7]},
    ...                      "knn": {"accuracy_1s": 0.4, "accuracy_1s_ci95": [0.3, 0.5]},
    ...                      "linear": {"accuracy_1s": 0.5, "accuracy_1s_ci95": [0.4, 0.6]}},
    ...                valid={"knn": {"accuracy_1s": 0.3}, "linear": {"accuracy_1s": 0.45}},
    ...                margins={"cebra - linear": Interval(0.1, (0.02, 0.18))})
    >>> c.strongest_baseline, c.score("cebra").ci95, c.margin().value
    ('linear', (0.5, 0.7), 0.1)
    >>> Comparison.from_json(c.to_json(), "accuracy_1s") == c
    True
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any, Mapping

import numpy as np

from neurocine.errors import NeurocineError

#: The JSON keys of the layout, named once.
STRONGEST, COMPARISON, VALID, CI = "strongest_baseline", "comparison", "valid", "ci95"
#: Keys of a protocol's JSON that are not methods.
_RESERVED = (STRONGEST, COMPARISON, VALID)


class ResultError(NeurocineError, KeyError):
    """A metrics entry lacks what its layout promises (a renamed or missing key)."""

    def __str__(self) -> str:  # KeyError quotes its message; say it as a sentence
        return str(self.args[0]) if self.args else ""


@dataclass(frozen=True)
class Interval:
    """A number with its 95 % confidence interval.

    Attributes:
        value: The estimate (a mean, or a median for :func:`block_bootstrap_median`).
        ci95: ``(low, high)``.
        sd: The spread of the estimate (bootstrap or between folds), when known.
        n_folds: Folds the estimate averages (cross-validation), when it does.
    """

    value: float
    ci95: tuple[float, float]
    sd: float | None = None
    n_folds: int | None = None

    def entry(self, metric: str, ci_key: str = "{metric}_ci95") -> dict:
        """``{metric: value, "<metric>_ci95": [lo, hi]}``: one number of a method's entry in
        a :class:`Comparison` (``ci_key="ci95"``: the adapt layouts)."""
        return {metric: self.value, ci_key.format(metric=metric): [float(self.ci95[0]), float(self.ci95[1])]}

    def to_json(self, value_key: str = "mean", full: bool = True) -> dict:
        """``{value_key, "ci95"}`` and, when ``full``, the sd and folds when known."""
        out = {value_key: self.value, CI: [float(self.ci95[0]), float(self.ci95[1])]}
        if not full:
            return out
        if self.sd is not None:
            out["sd"] = self.sd
        if self.n_folds is not None:
            out["n_folds"] = self.n_folds
        return out

    @classmethod
    def from_json(cls, data: Mapping, value_key: str = "mean", where: str = "interval") -> "Interval":
        try:
            lo, hi = data[CI]
            return cls(float(data[value_key]), (float(lo), float(hi)), data.get("sd"), data.get("n_folds"))
        except (KeyError, TypeError, ValueError) as exc:
            raise ResultError(f"{where}: expected {{{value_key!r}, {CI!r}: [low, high]}}, got "
                              f"{sorted(data) if isinstance(data, Mapping) else type(data).__name__}") from exc


def _frozen(mapping: Mapping | None) -> Mapping:
    return MappingProxyType(dict(mapping or {}))


@dataclass(frozen=True, eq=False)
class Comparison:
    """One protocol's numbers: every method on test (with intervals) and on valid, the
    strongest baseline chosen on valid, and each model's paired margin over baselines.

    Attributes:
        metric: The headline metric (``"accuracy_1s"``, ``"accuracy"``, ``"ssim"``).
        models: The methods that are ours (embeddings, HalfUNet), first the main one.
        baselines: The methods the models are measured against (not chance).
        test: ``{method: {metric: value, "<metric>_ci95": [lo, hi], other numbers}}`` on test.
        valid: The same on valid (empty: no validation samples); None: the layout has none.
        margins: ``{"<model> - <baseline>": Interval}`` of :attr:`metric`, paired.
        strongest: The strongest baseline as the protocol named it (default: the best on
            valid by :attr:`metric`).
        details: Everything else of the protocol's JSON (kept as it is).
        ci_key: ``"{metric}_ci95"`` or ``"ci95"``: how each method names its interval.
        section: Where the methods sit inside the JSON (``"frame_id"`` for adapt, with the
            margins beside it at the top level; ``""``: the methods at the top level).
    """

    metric: str
    models: tuple[str, ...]
    baselines: tuple[str, ...]
    test: Mapping[str, Mapping[str, Any]]
    valid: Mapping[str, Mapping[str, Any]] | None = None
    margins: Mapping[str, Interval] = field(default_factory=dict)
    strongest: str | None = None
    details: Mapping[str, Any] = field(default_factory=dict)
    ci_key: str = "{metric}_ci95"
    section: str = ""

    def __post_init__(self):
        object.__setattr__(self, "models", tuple(self.models))
        object.__setattr__(self, "baselines", tuple(self.baselines))
        object.__setattr__(self, "test", _frozen(self.test))
        object.__setattr__(self, "valid", None if self.valid is None else _frozen(self.valid))
        object.__setattr__(self, "margins", _frozen(self.margins))
        object.__setattr__(self, "details", _frozen(self.details))

    def __eq__(self, other) -> bool:
        return isinstance(other, Comparison) and self.to_json() == other.to_json() and self.metric == other.metric

    # ---------------------------------------------------------------------- reading
    @property
    def model(self) -> str:
        """The main model (the first)."""
        return self.models[0]

    @property
    def strongest_baseline(self) -> str | None:
        """The baseline with the best validation :attr:`metric` (as the protocol named it;
        else chosen here on valid, never on test: with an empty valid split it is the first;
        None where the layout has no valid split and the protocol named none)."""
        if self.strongest is not None:
            return self.strongest
        if not self.baselines or self.valid is None:
            return None
        rank = self.valid
        return max(self.baselines, key=lambda b: _number(rank.get(b, {}).get(self.metric)))

    def ci_name(self, metric: str | None = None) -> str:
        return self.ci_key.format(metric=metric or self.metric)

    def has(self, method: str) -> bool:
        return method in self.test

    def score(self, method: str, metric: str | None = None) -> Interval:
        """``method``'s test number and interval (``metric``: another of its numbers)."""
        metric = metric or self.metric
        entry = self._entry(method)
        try:
            lo, hi = entry[self.ci_name(metric)]
            return Interval(float(entry[metric]), (float(lo), float(hi)))
        except (KeyError, TypeError, ValueError) as exc:
            raise ResultError(f"{method}: no {metric!r} with its {self.ci_name(metric)!r} in this result "
                              f"(it has {sorted(entry)})") from exc

    def value(self, method: str, metric: str | None = None, split: str = "test") -> float | None:
        """One number of ``method`` on ``split`` (None when the entry lacks it)."""
        entry = (self.valid or {}).get(method, {}) if split == VALID else self.test.get(method, {})
        found = entry.get(metric or self.metric)
        return None if found is None else float(found)

    def valid_score(self, method: str, metric: str | None = None) -> float | None:
        return self.value(method, metric, VALID)

    def margin(self, model: str | None = None, baseline: str | None = None) -> Interval:
        """``model - baseline`` (default: the main model over the strongest baseline)."""
        key = f"{model or self.model} - {baseline or self.strongest_baseline}"
        if key not in self.margins:
            raise ResultError(f"no paired margin {key!r} in this result (it has {sorted(self.margins)})")
        return self.margins[key]

    def has_margin(self, model: str | None = None, baseline: str | None = None) -> bool:
        return bool(self.models) and f"{model or self.model} - {baseline or self.strongest_baseline}" in self.margins

    def _entry(self, method: str) -> Mapping:
        if method not in self.test:
            raise ResultError(f"no method {method!r} in this result (it has {sorted(self.test)})")
        return self.test[method]

    def replace(self, **changes) -> "Comparison":
        """A copy with fields changed; ``details`` given as keywords are added to them."""
        extra = {k: changes.pop(k) for k in list(changes) if k not in self.__dataclass_fields__}
        if extra:
            changes["details"] = {**self.details, **extra}
        return replace(self, **changes)

    # ------------------------------------------------------------------------ JSON
    def to_json(self) -> dict:
        """The metrics.json entry (the layout of the module docstring): the methods at the
        top level, or under :attr:`section` with the margins beside it; the strongest
        baseline named where the layout has a valid split."""
        methods = {m: dict(e) for m, e in self.test.items()}
        out = {k: _json(v) for k, v in self.details.items()}
        if self.section:
            out[self.section] = methods
        else:
            out.update(methods)
        if self.valid is not None:
            out[VALID] = {m: dict(e) for m, e in self.valid.items()}
        if self.baselines and self.strongest_baseline is not None:
            out[STRONGEST] = self.strongest_baseline
        if self.margins or self.baselines:
            out[COMPARISON] = {k: iv.to_json(full=False) for k, iv in self.margins.items()}
        return out

    @classmethod
    def from_json(cls, data: Mapping, metric: str, *, models=None, baselines=None, ci_key: str = "{metric}_ci95",
                  section: str = "", chance: tuple[str, ...] = ("chance",)) -> "Comparison":
        """Read a metrics.json entry back. ``models``: the model methods (default: the left
        sides of the paired margins); ``baselines``: the rest (default: every other method
        with a ``metric``, except ``chance``)."""
        if not isinstance(data, Mapping):
            raise ResultError(f"expected a metrics entry (a mapping), got {type(data).__name__}")
        if section and not isinstance(data.get(section), Mapping):
            raise ResultError(f"expected {section!r} to be a mapping of methods, got {sorted(data)}")
        margins = {k: Interval.from_json(v, where=f"{COMPARISON}[{k!r}]")
                   for k, v in (data.get(COMPARISON) or {}).items()}
        valid = data.get(VALID) if VALID in data else None
        test, details = {}, {}
        for k, v in (data[section] if section else data).items():
            if k in _RESERVED:
                continue
            if isinstance(v, Mapping) and metric in v and (v[metric] is None or isinstance(v[metric], (int, float))):
                test[k] = v
            else:
                details[k] = v
        if section:
            if details:
                raise ResultError(f"{section!r} holds entries without {metric!r}: {sorted(details)}")
            details = {k: v for k, v in data.items() if k != section and k not in _RESERVED}
        if models is None:
            models = list(dict.fromkeys(k.split(" - ", 1)[0] for k in margins))
        models = tuple(m for m in models if m in test)
        if baselines is None:
            baselines = tuple(m for m in test if m not in models and m not in chance)
        strongest = data.get(STRONGEST)
        return cls(metric, models, tuple(baselines), test, valid, margins, strongest, details, ci_key, section)

#: The margin of a fold summary is over each fold's own strongest baseline.
PER_FOLD = "strongest"
_OVER = "the strongest baseline of each fold (chosen on its validation data)"


@dataclass(frozen=True, eq=False)
class FoldComparison(Comparison):
    """Cross-validation's numbers (:func:`neurocine.evaluate.folds.summarize`): each
    method's mean over folds with the interval between folds (:attr:`test` holds
    :class:`Interval` s), the margin over the strongest baseline of each fold (chosen on that
    fold's valid data, so it may differ between folds: :attr:`strongest_baseline` is
    ``"strongest"``), the per-fold numbers in ``details["per_fold"]``.

    Its JSON: ``{"folds", "per_fold", "interval", <model>: interval, "baselines": {name:
    interval}, "margin": interval + "over", "also"?, "valid_margin"?}``.
    """

    def __post_init__(self):
        super().__post_init__()
        object.__setattr__(self, "strongest", PER_FOLD)

    def score(self, method: str, metric: str | None = None) -> Interval:
        return self._entry(method)

    def value(self, method: str, metric: str | None = None, split: str = "test") -> float | None:
        return self.test[method].value if split != VALID and method in self.test else None

    @property
    def valid_margin(self) -> Interval | None:
        return self.details.get("valid_margin")

    @property
    def per_fold(self) -> list:
        return list(self.details.get("per_fold", []))

    def to_json(self) -> dict:
        d = dict(self.details)
        out = {k: d.pop(k) for k in ("folds", "per_fold", "interval") if k in d}
        out[self.model] = self.test[self.model].to_json()
        out["baselines"] = {b: self.test[b].to_json() for b in self.baselines}
        out["margin"] = {**self.margin().to_json(), "over": _OVER}
        return {**out, **{k: _json(v) for k, v in d.items()}}

    @classmethod
    def from_json(cls, data: Mapping, metric: str, *, model: str = "cebra", **_) -> "FoldComparison":
        if not isinstance(data, Mapping) or model not in data or "margin" not in data:
            raise ResultError(f"expected a cross-validation entry with {model!r} and 'margin', got "
                              f"{sorted(data) if isinstance(data, Mapping) else type(data).__name__}")
        test = {model: Interval.from_json(data[model], where=model)}
        test.update({b: Interval.from_json(v, where=f"baselines[{b!r}]") for b, v in data.get("baselines", {}).items()})
        details = {k: v for k, v in data.items() if k not in (model, "baselines", "margin")}
        if "valid_margin" in details:
            details["valid_margin"] = Interval.from_json(details["valid_margin"], where="valid_margin")
        margins = {f"{model} - {PER_FOLD}": Interval.from_json(data["margin"], where="margin")}
        return cls(metric, (model,), tuple(b for b in test if b != model), test, None, margins, PER_FOLD, details)


def _number(x) -> float:
    return float(x) if x is not None and np.isfinite(x) else float("-inf")


def _json(value):
    return value.to_json() if hasattr(value, "to_json") else value


__all__ = ["Interval", "Comparison", "FoldComparison", "ResultError", "PER_FOLD", "STRONGEST", "COMPARISON", "VALID",
           "CI"]
