"""The command line: ``fnmlp train``, ``evaluate``, ``predict`` and ``sweep``, one module each, with
shared exit codes, errors and progress. It may import every layer; no layer imports it."""

from .train import main

__all__ = ["main"]
