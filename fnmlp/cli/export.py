"""``fnmlp export RUN_DIR --onnx FILE``: a trained run as an ONNX model that takes the raw inputs (its
input scaling included) and gives what ``fnmlp predict`` gives."""

from __future__ import annotations

import argparse
from typing import Any

from ..export.onnx import export_onnx
from ..runs.trained import load_trained_run
from ..utils.atomic import write_target
from .common import UsageError, flagged


def add_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "export", help="write a trained run as an ONNX model, its input scaling included",
        description="Write the network in RUN_DIR/params.npz as an ONNX model (needs the onnx package: pip install "
                    "'fnmlp[onnx]'). Its input 'input' [N, features] takes raw values: a table's feature columns in "
                    "the run's order (NaN for a missing cell when the run imputed) or an image's pixels 0-255, row "
                    "by row; the model scales them as the run's training data was scaled. A classifier's outputs "
                    "are 'logits' and 'probabilities' [N, classes] (the run's class values are in the model's "
                    "metadata, 'classes'); a regression's is 'values' [N, targets] in the table's units.")
    parser.add_argument("run_dir", metavar="RUN_DIR", help="a directory written by fnmlp train")
    parser.add_argument("--onnx", metavar="FILE", required=True,
                        help="the ONNX file to write, atomically (a regular file or a new path)")
    parser.add_argument("--dtype", choices=["float32", "float64"], default="float32",
                        help="the model's input, weights and outputs (default: float32)")
    parser.set_defaults(run=run)


def onnx_arguments(trained: Any) -> dict:
    """``export_onnx``'s keyword arguments for a ``TrainedRun``: its input scaling, classes, features
    and task."""
    if trained.kind == "table":
        prep = trained.preprocessing
        return {"standardize": prep, "classes": None if prep.classes is None else list(prep.classes),
                "features": list(prep.features), "task": trained.task}
    classes = list(trained.classes) if trained.classes is not None else list(range(trained.num_classes))
    return {"standardize": {"pixel_mean": trained.pixel_mean, "pixel_std": trained.pixel_std}, "classes": classes,
            "task": "classify"}


def run(args: argparse.Namespace) -> int:
    write_target(args.onnx, "--onnx")
    trained = load_trained_run(args.run_dir)
    arguments = onnx_arguments(trained)
    try:
        export_onnx(trained.spec, trained.params, trained.bn_state, args.onnx, dtype=args.dtype, **arguments)
    except ImportError as error:
        raise UsageError(str(error)) from None
    except (ValueError, TypeError) as error:
        raise flagged(error, {"path": "--onnx"}) from None
    outputs = "logits, probabilities" if arguments["task"] == "classify" else "values"
    print(f"wrote {args.onnx}: input 'input' [N, {trained.width}] {args.dtype}, outputs {outputs}")
    return 0
