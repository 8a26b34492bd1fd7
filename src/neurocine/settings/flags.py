"""Command-line flags from the settings table: the shortcut flags of ``neurocine train`` and
``neurocine run`` (``--data_dir``, ``--batch_size``, ...) are the rows with a ``flag``, and
their values are checked by the table's own rules like ``--set KEY=VALUE``."""

from __future__ import annotations

import argparse
import typing

import yaml

from neurocine.errors import ConfigError
from neurocine.settings.table import rows


def add_setting_flags(parser: argparse.ArgumentParser) -> None:
    """One option per table row with a ``flag`` (its value read as YAML, like ``--set``)."""
    for key, f, hint, default in rows():
        names = f.metadata.get("flag", ())
        if not names:
            continue
        choices = typing.get_args(hint) if typing.get_origin(hint) is typing.Literal else None
        parser.add_argument(*names, dest=_dest(key), default=None, choices=choices, metavar=None if choices else
                            key.rsplit(".", 1)[-1].upper(), help=f"{f.metadata.get('help', '')} (config key {key})")


def setting_flag_values(args: argparse.Namespace) -> dict:
    """``{config key: value}`` of the shortcut flags given on the command line."""
    out = {}
    for key, f, _, _ in rows():
        raw = getattr(args, _dest(key), None) if f.metadata.get("flag") else None
        if raw is None:
            continue
        try:
            out[key] = yaml.safe_load(raw) if isinstance(raw, str) and key != "output_dir" else raw
        except yaml.YAMLError:
            raise ConfigError(f"{f.metadata['flag'][0]} {raw!r}: not a valid value for {key}") from None
        if key in ("dataset.data_dir", "output_dir"):  # paths stay text whatever they look like
            out[key] = str(raw)
    return out


def _dest(key: str) -> str:
    return "setting__" + key.replace(".", "__")


__all__ = ["add_setting_flags", "setting_flag_values"]
