"""Training (``metrics.json["training"]``)."""

from __future__ import annotations

import html

from neurocine.report.sections.base import section


@section("training")
def training(m: dict) -> str:
    """What was trained."""
    return (f"<p class='note'>{len(m.get('sessions', []))} sessions "
            f"({', '.join(map(str, m.get('num_neurons', [])))} neurons); "
            f"{html.escape(str(m.get('learning_mode')))} CEBRA, {m.get('steps')} steps on "
            f"{html.escape(str(m.get('device')))}. Supervision: "
            f"<span id='supervision'>{html.escape(str(m.get('supervision')))}</span>.</p>")
