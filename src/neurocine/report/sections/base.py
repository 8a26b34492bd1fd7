"""The machinery of report sections: the registry :data:`SECTIONS` (``{metrics key:
render}``), :func:`render_section`, and :class:`Part`, one part of a report page (a metrics
entry, its section and figures): every stage is one, and a page that is not a run's (the
adapt folder's) lists its parts without any stage. The sections live one per module beside
this one and import it (never the package, which imports them).
"""

from __future__ import annotations

import html
import json
from typing import ClassVar

from neurocine.registry import Registry

#: ``{metrics key: render(metrics) -> HTML}``.
SECTIONS = Registry("report section")


def section(key: str):
    """Decorator: register the renderer of ``metrics[key]``."""
    def wrap(fn):
        SECTIONS.register(key, fn)
        return fn
    return wrap


def render_section(key: str, metrics: dict, title: str = "") -> str:
    """The HTML of ``metrics`` (the entry at ``key``): its registered section, or a generic
    one listing the numbers."""
    if key in SECTIONS:
        return SECTIONS[key](metrics)
    rows = "".join(f"<tr><td>{html.escape(str(k))}</td><td>{html.escape(json.dumps(v, default=str)[:300])}</td></tr>"
                   for k, v in metrics.items() if k != "figures")
    return f"<h2>{html.escape(title or key)}</h2><table>{rows}</table>"


class Part:
    """One part of a report page: the metrics.json entry at :attr:`key`, rendered by its
    registered section (or generically), and the figures it lists.

    Example:
        >>> Part("adapt", "adapt").key, Part("x", "x").figure_list({"figures": [["a.png", "A"]]})
        ('adapt', [('a.png', 'A')])
    """

    name: ClassVar[str] = "?"
    key: ClassVar[str] = "?"
    figures: ClassVar[tuple[tuple[str, str], ...]] = ()

    def __init__(self, name: str | None = None, key: str | None = None):
        if name is not None:
            self.name = name
        if key is not None:
            self.key = key

    def report(self, metrics: dict) -> str:
        """This part's HTML (tables); its figures are appended by the report: the section
        registered for :attr:`key`, or its numbers as a table."""
        return render_section(self.key, metrics, self.name)

    def figure_list(self, metrics: dict) -> list[tuple[str, str]]:
        """``(file, caption)`` of the figures: the class's :attr:`figures` and any the
        metrics list under ``"figures"`` (one per movie, ...)."""
        return list(self.figures) + [tuple(f) for f in metrics.get("figures", [])]


__all__ = ["SECTIONS", "section", "render_section", "Part"]
