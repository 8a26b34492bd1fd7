"""Kept for code written against earlier versions: the settings live in
:mod:`neurocine.settings` (``from neurocine.settings import Config``)."""

from neurocine.settings import *  # noqa: F401,F403
from neurocine.settings import __all__  # noqa: F401
