"""The command line: ``fnmlp train``, ``evaluate``, ``predict``, ``export`` and ``sweep``, one module each, with
shared exit codes and errors (``common``) and progress. It may import every layer; no layer imports it."""

from .common import EXIT_DIVERGED, EXIT_INTERRUPTED, EXIT_USAGE, UsageError
from .main import build_parser, main

__all__ = ["EXIT_DIVERGED", "EXIT_INTERRUPTED", "EXIT_USAGE", "UsageError", "build_parser", "main"]
