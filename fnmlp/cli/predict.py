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
from ..runs.trained import load_trained_run


def add_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "predict", help="label new inputs with a trained run; CSV of classes and probabilities",
        description="Label INPUT with the network in RUN_DIR/params.npz, its pixels scaled as the run's training "
                    "data was. INPUT is an IDX file of uint8 images (gzip or not), a .npy array of uint8 pixels "
                    "0-255 of shape (n, 28, 28) or (n, 784), a PNG image or a directory of PNG images (in name "
                    "order; made MNIST-like: gray, white ink on black, 28x28, see the README). Writes CSV: index, "
                    "file (for PNGs), predicted class, then the probability of each class.")
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
    inputs = read_inputs(args.input, trained.width)
    x = standardize(inputs.pixels, trained.pixel_mean, trained.pixel_std, trained.dtype)
    predicted, probabilities = predict_proba(trained, x)
    text = predictions_csv(predicted, probabilities, inputs.names)
    if args.out is None:
        sys.stdout.write(text)
        return 0
    try:
        with atomic_write(args.out, "w", name="--out") as file:
            file.write(text)
    except OSError as error:
        _checks.fail(ValueError, "--out", "a file fnmlp can write",
                     f"{os.fspath(args.out)!r} ({error.strerror or error})")
    print(f"wrote {len(predicted)} predictions to {args.out}", file=sys.stderr)
    return 0


def predictions_csv(predicted: np.ndarray, probabilities: np.ndarray, names: Optional[Sequence[str]] = None) -> str:
    """``index,[file,]predicted,prob_0,...``: one row per input, probabilities at full precision."""
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    classes = [f"prob_{k}" for k in range(probabilities.shape[1])]
    writer.writerow(["index", *(["file"] if names is not None else []), "predicted", *classes])
    for index, (label, row) in enumerate(zip(predicted, probabilities)):
        writer.writerow([index, *([names[index]] if names is not None else []), int(label),
                         *(repr(float(p)) for p in row)])
    return text.getvalue()
