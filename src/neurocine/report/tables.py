"""HTML building blocks of the report: tables with the best value in bold, intervals, verdicts."""

from __future__ import annotations

import html


def table(headers, rows, table_id: str | None = None, best_col: int | None = None, best: str = "max",
          skip_best=("chance",)) -> str:
    """An HTML table; the best value of ``best_col`` (ignoring rows named in
    ``skip_best``) is bold."""
    def fmt(x, digits=3):
        if x is None:
            return "–"
        if isinstance(x, float):
            return f"{x:.{digits}f}"
        return html.escape(str(x))

    out = [f'<table{f" id={table_id!r}" if table_id else ""}>',
           "<tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in headers) + "</tr>"]
    best_val = None
    if best_col is not None:
        vals = [r[best_col] for r in rows if isinstance(r[best_col], float) and r[0] not in skip_best]
        best_val = (max if best == "max" else min)(vals) if vals else None
    for r in rows:
        cells = []
        for j, v in enumerate(r):
            cls = ' class="best"' if best_col == j and best_val is not None and v == best_val else ""
            cells.append(f"<td{cls}>{fmt(v)}</td>")
        out.append("<tr>" + "".join(cells) + "</tr>")
    out.append("</table>")
    return "\n".join(out)


def ci(x) -> str:
    """``[lo, hi]`` of a 95 % interval (``–`` when absent)."""
    return "–" if not x else f"[{x[0]:.3f}, {x[1]:.3f}]"


def scored(x, signed: bool = False) -> str:
    """``0.512 [0.480, 0.545]`` of an :class:`~neurocine.scores.Interval` (``+0.012 [...]``
    when ``signed``: a margin)."""
    return f"{x.value:{'+' if signed else ''}.3f} {ci(x.ci95)}"


def verdict(diff) -> str:
    """Where a paired difference's interval (:class:`~neurocine.scores.Interval`) lies:
    above, below, or across zero."""
    lo, hi = diff.ci95
    return "above" if lo > 0 else "below" if hi < 0 else "not distinguishable from"


def skipped_note(title: str, reason) -> str:
    """The section of something that had nothing to do."""
    return f"<h2>{html.escape(title)}</h2><p class='note skipped'>Skipped: {html.escape(str(reason))}</p>"


__all__ = ["table", "ci", "scored", "verdict", "skipped_note"]
