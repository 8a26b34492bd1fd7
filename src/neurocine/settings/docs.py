"""The settings page of the documentation, generated from the table (as suite2p's
``generate_settings_docs``): ``python -m neurocine.settings.docs > docs/settings.md``; a
test keeps the committed page equal to this output."""

from __future__ import annotations

import typing

from neurocine.settings.build import walk
from neurocine.settings.table import Config


def _allowed(hint, meta) -> str:
    if typing.get_origin(hint) is typing.Literal:
        return ", ".join(f"`{a}`" for a in typing.get_args(hint))
    bounds = [f"{op} {meta[k]}" for k, op in (("ge", ">="), ("gt", ">"), ("le", "<=")) if meta.get(k) is not None]
    base = {int: "integer", float: "number", bool: "true / false", str: "text"}
    args = [a for a in typing.get_args(hint) if a is not type(None)] or [hint]
    kind = base.get(args[0], "list" if typing.get_origin(args[0]) is list else str(args[0]))
    text = kind + (" " + ", ".join(bounds) if bounds else "")
    if meta.get("choices") is not None:
        text += " (registered names)"
    if type(None) in typing.get_args(hint):
        text += ", or null"
    return text


def settings_markdown() -> str:
    """The settings page: one table per section, every row with its default, allowed values,
    help, and whether it changes results."""
    lines = ["# Settings", "",
             "Every setting of neurocine, generated from the one table in `src/neurocine/settings/table.py` "
             "(`python -m neurocine.settings.docs > docs/settings.md`). A config file sets any of them "
             "(`neurocine config show allen` prints a commented one), `--set KEY=VALUE` sets one from the command "
             "line, and the estimators (`neurocine.CEBRA`, `neurocine.decoders.HalfUNet`) take the rows marked for "
             "them as parameters. Unknown keys and values outside these rules stop with one line naming the key, "
             "before any data is read.", "",
             "Rows marked *does not change results* may differ when a results folder is reused or resumed; rows "
             "marked *run length* may grow on `--resume`.", ""]
    section = None
    for key, f, hint, default in walk(Config):
        top = key.rsplit(".", 1)[0] if "." in key else "(top level)"
        if top != section:
            lines += ["", f"## `{top}`", "", "| setting | default | allowed | what it does |", "|---|---|---|---|"]
            section = top
        meta = dict(f.metadata)
        notes = []
        if not meta.get("affects_results", True):
            notes.append("does not change results")
        if meta.get("run_length"):
            notes.append("run length")
        if meta.get("flag"):
            notes.append("flag " + " / ".join(f"`{x}`" for x in meta["flag"]))
        est = ", ".join(f"`{'neurocine.CEBRA' if e == 'cebra' else 'HalfUNet'}({f.name if n is True else n})`"
                        for e, n in meta.get("estimators", {}).items())
        if est:
            notes.append("parameter of " + est)
        text = meta.get("help", "").replace("|", "\\|") + (f" ({'; '.join(notes)})" if notes else "")
        lines.append(f"| `{key.rsplit('.', 1)[-1]}` | `{default!r}` | {_allowed(hint, meta)} | {text} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":  # pragma: no cover
    print(settings_markdown(), end="")
