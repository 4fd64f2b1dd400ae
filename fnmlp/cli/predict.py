"""``fnmlp predict RUN_DIR INPUT``: a trained run labels new inputs, as CSV."""

from __future__ import annotations

import argparse
import csv
import io
import os
import sys
from typing import Any, Optional, Sequence

import numpy as np

from ..utils import checks as _checks
from ..utils.atomic import atomic_write, write_target
from ..runs.evaluation import predict_proba
from ..datasets.inputs import read_inputs, standardize
from ..runs.own_data import new_inputs, predict_outputs, target_values
from ..runs.trained import load_trained_run
from .common import UsageError, flagged
from .data_options import INPUT_HINTS, with_flags


def add_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "predict", help="label new inputs with a trained run; CSV of classes and probabilities",
        description="Label INPUT with the network in RUN_DIR/params.npz, its pixels scaled as the run's training "
                    "data was. INPUT is an IDX file of uint8 images (gzip or not), a .npy array of uint8 pixels "
                    "0-255 of shape (n, 28, 28) or (n, 784), a PNG image or a directory of PNG images (in name "
                    "order; made MNIST-like: gray, white ink on black, 28x28, see the README). Writes CSV: index, "
                    "file (for PNGs), predicted class, then the probability of each class. For a run trained with "
                    "train --data, INPUT is a table with the run's feature columns (matched by name; the target "
                    "column may be there and is left out), or PNG images for a folder run (resized as its "
                    "images were), and the CSV holds the original class labels with prob_<class> columns, or the "
                    "predicted value of a regression.")
    parser.add_argument("run_dir", metavar="RUN_DIR", help="a directory written by fnmlp train")
    parser.add_argument("input", metavar="INPUT", help="IDX file, .npy file, PNG image or directory of PNGs")
    parser.add_argument("--out", metavar="FILE", default=None,
                        help="write the CSV to FILE, atomically (default: stdout); through a symbolic link, to the "
                             "file it points to; anything but a regular file or a new path is refused")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.out is not None:
        write_target(args.out, "--out")
    trained = load_trained_run(args.run_dir)
    if trained.kind != "idx":
        text, count = _own_data_predictions(trained, args.input)
    else:
        inputs = read_inputs(args.input, trained.width)
        x = standardize(inputs.pixels, trained.pixel_mean, trained.pixel_std, trained.dtype)
        predicted, probabilities = predict_proba(trained, x)
        text, count = predictions_csv(predicted, probabilities, inputs.names), len(predicted)
    if args.out is None:
        sys.stdout.write(text)
        return 0
    try:
        with atomic_write(args.out, "w", name="--out") as file:
            file.write(text)
    except OSError as error:
        _checks.fail(ValueError, "--out", "a file fnmlp can write",
                     f"{os.fspath(args.out)!r} ({error.strerror or error})")
    print(f"wrote {count} predictions to {args.out}", file=sys.stderr)
    return 0


def _own_data_predictions(trained: Any, source: str) -> tuple:
    """``(CSV text, rows)`` of a run trained on a table or a folder of images."""
    try:
        x, names = new_inputs(trained, source)
    except (ValueError, TypeError, FileNotFoundError) as error:
        raise flagged(UsageError(with_flags(error, INPUT_HINTS)), {"path": "INPUT", "columns": "INPUT"}) from None
    if trained.task == "regress":
        return values_csv(target_values(trained, predict_outputs(trained, x)), names), x.shape[0]
    predicted, probabilities = predict_proba(trained, x)
    return predictions_csv(predicted, probabilities, names, trained.classes), x.shape[0]


def predictions_csv(predicted: np.ndarray, probabilities: np.ndarray, names: Optional[Sequence[str]] = None,
                    classes: Optional[Sequence] = None) -> str:
    """``index,[file,]predicted,prob_0,...``: one row per input, probabilities at full precision. With
    ``classes`` (the original class values), ``predicted`` is the class value and the probability
    columns are ``prob_<class>``."""
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    columns = [f"prob_{k if classes is None else classes[k]}" for k in range(probabilities.shape[1])]
    writer.writerow(["index", *(["file"] if names is not None else []), "predicted", *columns])
    for index, (label, row) in enumerate(zip(predicted, probabilities)):
        writer.writerow([index, *([names[index]] if names is not None else []),
                         int(label) if classes is None else classes[int(label)], *(repr(float(p)) for p in row)])
    return text.getvalue()


def values_csv(values: np.ndarray, names: Optional[Sequence[str]] = None) -> str:
    """``index,[file,]predicted`` (``predicted_0``, ... for several targets): a regression's
    predicted values ``(n, k)`` at full precision."""
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    columns = ["predicted"] if values.shape[1] == 1 else [f"predicted_{k}" for k in range(values.shape[1])]
    writer.writerow(["index", *(["file"] if names is not None else []), *columns])
    for index, row in enumerate(values):
        writer.writerow([index, *([names[index]] if names is not None else []), *(repr(float(v)) for v in row)])
    return text.getvalue()
