"""Report sections: one module per part of the results, each rendering its metrics.json
entry as HTML, registered by the entry's key (:mod:`neurocine.report.sections.base`). A
stage without a section of its own is rendered generically (its numbers as a table), so a
new stage shows up in the report.
"""

from __future__ import annotations

from neurocine.report.sections.base import SECTIONS, Part, render_section, section

# the built-in sections register themselves on import
from neurocine.report.sections import adapt, classes, cv, frame_id, reconstruction, scenes, training  # noqa: E402,F401,I001

__all__ = ["SECTIONS", "section", "render_section", "Part"]
