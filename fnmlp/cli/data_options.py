"""``fnmlp train``'s options for a run's own data (``--data`` and the options of a table or an image
folder), and the wording that turns the data readers' hints into flags."""

from __future__ import annotations

import argparse
from typing import Any, Callable

from ..training.config import TASKS
from .common import integer, number

HINTS = {"impute='mean'": "--impute mean", "features=[...]": "--features ...", "as the dataset": "with --dataset"}
"""Library wording in the readers' messages (argument names) and the flags a command-line user types."""
INPUT_HINTS = {" (leave the others out with features=[...])": "", "impute='mean'": "train --impute mean",
               "features=[...]": "train --features ..."}
"""The same for evaluate's and predict's messages, where train's options no longer apply."""


def delimiter(text: str) -> str:
    """``--delimiter``'s value: one character, with ``tab`` and ``\\t`` for a tab."""
    return "\t" if text in ("tab", "\\t") else text


def add_train_options(train: argparse.ArgumentParser, option: Callable) -> None:
    """Add the own-data group to ``fnmlp train``; ``option(group, flag, help, **kwargs)`` adds one
    option whose default comes from the handout's configuration."""
    data = train.add_argument_group(
        "your own data", "a table or a folder of images instead of --dataset; features are standardised with the "
        "training split's statistics, kept in params.npz for evaluate, predict and export")
    option(data, "--data", "a table with a header row (CSV, or another --delimiter), an .npz file with arrays x "
           "(n, features) and y (n,) (column names from an optional string array columns), a Parquet file "
           "(pip install 'fnmlp[parquet]'), or a folder with one subfolder of PNG images per class",
           metavar="FILE|DIR")
    option(data, "--target", "the table's column to predict (required for a table)", metavar="COLUMN")
    option(data, "--features", "the table's feature columns, in this order (default: every column but the target)",
           nargs="+", metavar="COLUMN")
    option(data, "--task", "classify (a softmax output per class, labels kept as they are, strings too) or regress "
           "(one linear output, mean squared error, reported as R^2); default: inferred from the target: strings, "
           "booleans and integers of at most 20 values are classes, other numbers regression targets",
           choices=list(TASKS))
    option(data, "--delimiter", "the CSV field separator, one character (tab or \\t for a tab)", type=delimiter,
           metavar="C")
    option(data, "--impute", "fill missing feature cells (empty or NaN) with the training split's column means; "
           "without it a missing cell is refused, naming its row and column", choices=["mean"])
    option(data, "--validation-fraction", "the share of rows held out for validation (stratified by class, drawn "
           "with --seed)", type=number, metavar="F")
    option(data, "--test-fraction", "the share of rows held out for testing (stratified by class, drawn with --seed)",
           type=number, metavar="F")
    option(data, "--validation", "a table file with the same columns holding the validation rows (instead of "
           "--validation-fraction)", metavar="FILE")
    option(data, "--test", "a table file with the same columns holding the test rows (instead of --test-fraction)",
           metavar="FILE")
    option(data, "--image-size", "resize every image of a folder to H x W pixels (default: the first image's size)",
           type=integer, nargs=2, metavar=("H", "W"))


def with_flags(message: Any, hints: dict = HINTS) -> str:
    """``message`` with the readers' argument-style hints (``impute='mean'``) written as flags."""
    text = str(message)
    for library, flag in hints.items():
        text = text.replace(library, flag)
    return text
