"""Report sections: one module per part of the results, each rendering its metrics.json
entry as HTML, registered by the entry's key. A stage without a section of its own is
rendered generically (its numbers as a table), so a new stage shows up in the report.
"""

from __future__ import annotations

import html
import json

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


# the built-in sections register themselves on import
from neurocine.report.sections import adapt, classes, cv, frame_id, reconstruction, scenes, training  # noqa: E402,F401,I001

__all__ = ["SECTIONS", "section", "render_section"]
