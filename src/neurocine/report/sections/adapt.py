"""A new animal (``metrics.json["adapt"]``): the learning curve over repeats."""

from __future__ import annotations

import html

from neurocine.report.sections import section
from neurocine.report.tables import ci, table, verdict

NAMES = {"adapted": "adapted model, other animals' decoders (no label of the new animal)",
         "adapted_own": "adapted model, its own decoders", "scratch": "model from scratch on its repeats",
         "template_own": "its per-frame template on dF/F", "ridge_own": "its ridge decoder on dF/F",
         "chance": "chance"}


@section("adapt")
def adapt(m: dict) -> str:
    """Per number of repeats: every way of decoding the new animal, with intervals."""
    parts = [f"<h2>A new animal: {html.escape(', '.join(map(str, m.get('session_ids', []))))}</h2>",
             f"<p class='note'>The model of {len(m.get('base_sessions', []))} trained sessions was adapted to the new "
             "animal(s) from their first K movie repeats (only their encoders fitted; the trained encoders frozen). "
             "Test: their test repeat; frame ID within 1 s, 95 % block-bootstrap intervals.</p>"]
    rows = []
    for c in m.get("curve", [m]):
        f = c["frame_id"]
        rows.append([str(c["repeats"]), f"{c['seconds']:.1f}"]
                    + [f"{f[k]['accuracy_1s']:.3f} {ci(f[k]['ci95'])}" for k in NAMES])
    parts.append(table(["repeats", "fit (s)"] + list(NAMES.values()), rows, "adapt-curve"))
    for c in m.get("curve", [m]):
        d = c["comparison"]["adapted - template_own"]
        parts.append(f"<p class='comparison'>K = {c['repeats']}: adapted (others' decoders) - its template on dF/F "
                     f"{d['mean']:+.3f} {ci(d['ci95'])}: {verdict(d)} it.</p>")
    return "\n".join(parts)


__all__ = ["adapt", "NAMES"]
