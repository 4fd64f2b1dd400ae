"""A run trained on its own data (a table or a folder of images, ``fnmlp.datasets.sources``): its
labelled rows (its own split, or another labelled table or folder), new rows or images as its inputs,
its outputs as class values or targets, and a regression's figures.

Inputs are prepared exactly as the training rows were, with the statistics kept in ``params.npz``:
a table's ``Preprocessing`` (columns matched by name, missing cells filled, per-feature scaling), an
image folder's gray levels resized to its image size and scaled by its pixel mean and std.
"""

from __future__ import annotations

import datetime
import os
from typing import Any, Optional, Union

import attrs
import numpy as np

from ..datasets.image_folder import read_image_folder, read_images
from ..datasets.inputs import standardize
from ..datasets.sources import data_kind, labelled_split, load_folder_data, load_table_data
from ..datasets.tables import match_columns, read_columns, read_table
from ..model.losses import MEAN_SQUARED_ERROR
from ..model.network import predict
from ..model.tree import readonly
from ..utils import checks as _checks
from .files import PARAMS
from .trained import TrainedRun

__all__ = ["Labelled", "RegressionEvaluation", "evaluate_regression", "labelled_data", "new_inputs",
           "predict_outputs", "regression_record", "target_values"]

PathLike = Union[str, "os.PathLike[str]"]
CHUNK_ROWS = 4096


def _optional(array: Any) -> Optional[np.ndarray]:
    return None if array is None else readonly(array)


@attrs.frozen(eq=False)
class Labelled:
    """Labelled rows for a trained run: ``x`` its inputs ``(n, features)`` in its dtype, ``labels``
    int64 class indices ``(n,)`` (classification) or ``targets`` float64 ``(n, outputs)`` in the
    table's units (regression), and ``pixels`` uint8 ``(n, H * W)`` for images. Read-only arrays."""

    dataset: str
    split: str
    x: np.ndarray = attrs.field(converter=readonly)
    labels: Optional[np.ndarray] = attrs.field(default=None, converter=_optional)
    targets: Optional[np.ndarray] = attrs.field(default=None, converter=_optional)
    pixels: Optional[np.ndarray] = attrs.field(default=None, converter=_optional)


def _own_kind(run: TrainedRun) -> None:
    if run.kind not in ("table", "images"):
        _checks.fail(ValueError, "run", "a run trained on a table or a folder of images", f"one of {run.kind} data")


def labelled_data(run: TrainedRun, split: str = "test", data: Optional[PathLike] = None) -> Labelled:
    """The run's ``split`` of its own data, read and split again with its recorded options, or every
    row of ``data``: a labelled table (the run's target column and feature columns, matched by name)
    for a table run, a folder of class subfolders (class names among the run's) for an image run."""
    _own_kind(run)
    if split not in ("train", "validation", "test"):
        _checks.fail(ValueError, "split", "one of test, validation, train", repr(split))
    if data is None:
        return _own_split(run, split)
    source = _checks.path("data", data, "a labelled table or folder of images")
    if data_kind(source) != ("table" if run.kind == "table" else "images"):
        _checks.fail(ValueError, "data", "a table file, as the run trained on" if run.kind == "table"
                     else "a folder of class subfolders of PNG images, as the run trained on", repr(source))
    name = os.path.basename(os.path.normpath(source))
    if run.kind == "images":
        folder = read_image_folder(source, run.image_size)
        unknown = [c for c in folder.classes if c not in run.classes]
        if unknown:
            _checks.fail(ValueError, "data", f"class folders among the run's classes {list(run.classes)}",
                         f"{unknown[0]!r} in {source}")
        labels = np.array([run.classes.index(c) for c in folder.classes], dtype=np.int64)[folder.labels]
        x = standardize(folder.pixels, run.pixel_mean, run.pixel_std, run.dtype)
        return Labelled(name, "all", x, labels=labels, pixels=folder.pixels)
    prep, options = run.preprocessing, run.options
    columns = [c for c in read_columns(source, delimiter=options["delimiter"]) if c != prep.target]
    match_columns(columns, prep.features)
    table = read_table(source, target=prep.target, features=prep.features, delimiter=options["delimiter"],
                       impute=None if prep.fill is None else "mean")
    rows = labelled_split(prep, table, run.dtype)
    return _labelled(run, name, "all", rows.x, rows.y)


def _labelled(run: TrainedRun, name: str, split: str, x: np.ndarray, y: np.ndarray) -> Labelled:
    if run.task == "classify":
        return Labelled(name, split, x, labels=y)
    prep = run.preprocessing
    return Labelled(name, split, x, targets=np.asarray(y, np.float64).reshape(y.shape[0], -1) * prep.target_std
                    + prep.target_mean)


def _own_split(run: TrainedRun, split: str) -> Labelled:
    options = run.options
    fractions = {"validation_fraction": options["validation_fraction"], "test_fraction": options["test_fraction"],
                 "seed": options["seed"], "dtype": run.dtype}
    if not os.path.exists(options["data"]):
        _checks.fail(FileNotFoundError, "the run's data", "the table or folder it was trained on",
                     f"{options['data']!r}, which no longer exists; name labelled data to evaluate on")
    if run.kind == "table":
        data = load_table_data(options["data"], target=options["target"], features=options["features"],
                               task=run.task, delimiter=options["delimiter"], impute=options["impute"],
                               validation=options["validation"], test=options["test"], **fractions)
        same = _same_preprocessing(data.preprocessing, run.preprocessing)
    else:
        data = load_folder_data(options["data"], image_size=run.image_size, **fractions)
        same = (data.classes == run.classes and data.pixel_mean == run.pixel_mean
                and data.pixel_std == run.pixel_std)
    if not same:
        _checks.fail(ValueError, "the run's data", f"{options['data']} as the run was trained on it",
                     "data that changed since (its statistics differ); name labelled data to evaluate on")
    part = getattr(data, split)
    limit = options.get("limit")
    x, y = (part.x, part.y) if limit is None else (part.x[:limit], part.y[:limit])
    if run.kind == "table":
        return _labelled(run, data.name, split, x, y)
    raw = (x.astype(np.float64) * run.pixel_std + run.pixel_mean) * 255
    pixels = np.clip(np.rint(raw), 0, 255).astype(np.uint8)
    return Labelled(data.name, split, x, labels=y, pixels=pixels)


def _same_preprocessing(a: Any, b: Any) -> bool:
    arrays = all((x is None and y is None) or (x is not None and y is not None and np.array_equal(x, y))
                 for x, y in ((a.mean, b.mean), (a.std, b.std), (a.fill, b.fill)))
    return (arrays and a.features == b.features and a.classes == b.classes and a.task == b.task
            and (a.target_mean, a.target_std) == (b.target_mean, b.target_std))


def new_inputs(run: TrainedRun, path: PathLike) -> tuple:
    """``(x, names)``: the run's inputs ``(n, features)`` in its dtype for the rows of the table at
    ``path`` (its columns matched by name to the run's features; the target column, if there, is
    left out; a missing or an extra column is a ``ValueError`` naming it), ``names`` ``None``; or for
    a PNG image or a directory of them, resized as the run's images were, ``names`` their files."""
    _own_kind(run)
    source = _checks.path("INPUT", path, "a table file, a PNG image or a directory of them")
    if not os.path.exists(source):
        _checks.fail(FileNotFoundError, "INPUT", "a table file" if run.kind == "table" else
                     "a PNG image or a directory of them", f"{source!r}, which does not exist")
    if run.kind == "images":
        pixels, names = read_images(source, run.image_size)
        return standardize(pixels, run.pixel_mean, run.pixel_std, run.dtype), names
    if os.path.isdir(source):
        _checks.fail(ValueError, "INPUT", "a table file, as the run trained on", f"{source!r}, a directory")
    prep, delimiter = run.preprocessing, run.options["delimiter"]
    match_columns([c for c in read_columns(source, delimiter=delimiter) if c != prep.target], prep.features)
    table = read_table(source, target=None, features=prep.features, delimiter=delimiter,
                       impute=None if prep.fill is None else "mean")
    return prep.inputs(table, run.dtype), None


def predict_outputs(run: TrainedRun, x: Any) -> np.ndarray:
    """The network's eval-mode outputs ``(n, outputs)`` for inputs ``x``, in the run's dtype."""
    return np.concatenate([predict(run.spec, run.params, run.bn_state, x[begin:begin + CHUNK_ROWS])
                           for begin in range(0, x.shape[0], CHUNK_ROWS)] or [np.empty((0, run.spec.layer_sizes[-1]))])


def target_values(run: TrainedRun, outputs: Any) -> np.ndarray:
    """A regression network's ``outputs`` ``(n, k)`` as targets in the table's units, float64."""
    prep = run.preprocessing
    return np.asarray(outputs, dtype=np.float64) * prep.target_std + prep.target_mean


@attrs.frozen(eq=False)
class RegressionEvaluation:
    """A regression network's figures on labelled rows: ``targets`` and ``predicted`` float64
    ``(n, k)`` in the table's units, ``mse``, ``mae`` (means over rows and targets) and ``r2``
    (scikit-learn's ``r2_score``, averaged over targets)."""

    dataset: str
    split: str
    targets: np.ndarray = attrs.field(converter=readonly)
    predicted: np.ndarray = attrs.field(converter=readonly)
    mse: float
    mae: float
    r2: float


def evaluate_regression(run: TrainedRun, labelled: Labelled) -> RegressionEvaluation:
    """``run``'s ``RegressionEvaluation`` on ``labelled`` rows (``labelled_data``)."""
    if run.task != "regress" or labelled.targets is None:
        _checks.fail(ValueError, "run", "a regression run and labelled targets", f"a {run.task} run")
    predicted = target_values(run, predict_outputs(run, labelled.x))
    diff = predicted - labelled.targets
    r2 = MEAN_SQUARED_ERROR.metric(MEAN_SQUARED_ERROR.metric_totals(predicted, labelled.targets))
    return RegressionEvaluation(labelled.dataset, labelled.split, labelled.targets, predicted,
                                float(np.mean(diff ** 2)), float(np.mean(np.abs(diff))), float(r2))


def regression_record(evaluation: RegressionEvaluation, run: TrainedRun) -> dict:
    """What ``evaluation.json`` holds for a regression: the figures and the target's name."""
    return {"params": os.fspath(run.directory / PARAMS), "dataset": evaluation.dataset, "split": evaluation.split,
            "rows": int(evaluation.targets.shape[0]), "target": run.preprocessing.target,
            "mse": evaluation.mse, "mae": evaluation.mae, "r2": evaluation.r2,
            "evaluated_at": datetime.datetime.now().astimezone().isoformat(timespec="seconds")}
