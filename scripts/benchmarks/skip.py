"""How a contender that cannot run here says so."""

from __future__ import annotations

import importlib
from typing import Any


class Skip(Exception):
    """A contender that cannot run here; the message says why."""


def optional(module: str) -> Any:
    """``module`` imported, or ``Skip`` naming the package to install."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise Skip(f"{module.split('.')[0]} is not installed (pip install -e '.[bench]')") from None
