"""What every command shares: exit codes, the one-line usage error, argument types, and the
translation of a library error's argument name into the command's flag."""

from __future__ import annotations

import argparse
import sys
from typing import Mapping, NoReturn

EXIT_USAGE, EXIT_DIVERGED, EXIT_INTERRUPTED = 2, 3, 130


class UsageError(Exception):
    """A bad option or input: reported in one line, exit status 2."""


class Parser(argparse.ArgumentParser):
    """An argument parser that raises ``UsageError`` where argparse would print its usage and exit."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(message.removeprefix("argument "))


def integer(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None


def number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None


def flag(option: str) -> str:
    """A field or argument name as its command-line flag: ``batch_size`` -> ``--batch-size``."""
    return "--" + option.replace("_", "-")


def flagged(error: BaseException, flags: Mapping[str, str]) -> UsageError:
    """``error`` as a ``UsageError`` whose leading ``argument:`` is the flag ``flags`` maps it to."""
    message = " ".join(str(error).split())
    argument, sep, rest = message.partition(": ")
    if sep and argument in flags:
        message = f"{flags[argument]}: {rest}"
    return UsageError(message)


def report(error: BaseException) -> None:
    """``fnmlp: error: <message>`` on one line of stderr."""
    message = " ".join(str(error).split()) or type(error).__name__
    print(f"fnmlp: error: {message}", file=sys.stderr)
