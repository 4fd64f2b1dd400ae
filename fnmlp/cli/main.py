"""``fnmlp COMMAND``: the parser of every command, and ``main``, which runs one and maps its errors to
one line and an exit status."""

from __future__ import annotations

import argparse
import sys
from typing import Optional, Sequence

from .. import __version__
from . import evaluate, export, predict, sweep, train
from .common import EXIT_INTERRUPTED, EXIT_USAGE, Parser, UsageError, report


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="fnmlp", description="Train multi-layer perceptrons with fnmlp.")
    parser.add_argument("--version", action="version", version=f"fnmlp {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in (train, evaluate, predict, export, sweep):
        command.add_parser(commands)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the command line; returns the exit status (0, 2 usage, 3 diverged, 130 interrupted)."""
    try:
        args = build_parser().parse_args(argv)
        return args.run(args)
    except (UsageError, ValueError, TypeError, FileNotFoundError, ImportError) as error:
        report(error)
        return EXIT_USAGE
    except (OSError, MemoryError) as error:
        report(error)
        return 1
    except KeyboardInterrupt:
        print("fnmlp: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
