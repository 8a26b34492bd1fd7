"""One registry helper for every kind of named plug-in (layouts, labels, stimuli, learning
modes, stages, report sections): a second registration of a name is refused, so two
definitions can never silently replace each other (as CEBRA's ``cebra.registry`` does).

A registry may name the module that fills it (``provider``): asking for its names imports
that module first, so a setting that must be one of the registered learning modes can be
checked from the settings table without the table importing the modes.

Example:
    >>> colours = Registry("colour")
    >>> colours.register("red", 1)
    1
    >>> colours.register("red", 2)
    Traceback (most recent call last):
    ...
    ValueError: colour 'red' is already registered
"""

from __future__ import annotations

import importlib


class Registry(dict):
    """``{name: thing}`` of one kind that refuses duplicate names.

    Args:
        kind: What is registered (``"layout"``, ``"learning mode"``): named in errors.
        provider: Module whose import registers the built-in entries (optional).
    """

    def __init__(self, kind: str, provider: str | None = None):
        super().__init__()
        self.kind = kind
        self.provider = provider

    def __setitem__(self, name, thing):
        if name in self:
            raise ValueError(f"{self.kind} {name!r} is already registered")
        super().__setitem__(name, thing)

    def register(self, name: str, thing):
        """Add ``thing`` under ``name`` and return it (a decorator's body)."""
        self[name] = thing
        return thing

    def names(self) -> list[str]:
        """The registered names, after importing the provider."""
        if self.provider is not None:
            importlib.import_module(self.provider)
        return list(self)

    def update(self, *args, **kwargs):  # dict.update would bypass the check
        for name, thing in dict(*args, **kwargs).items():
            self[name] = thing


#: The learning modes (filled by :mod:`neurocine.embed.modes`).
LEARNING_MODES = Registry("learning mode", provider="neurocine.embed.modes")

__all__ = ["Registry", "LEARNING_MODES"]
