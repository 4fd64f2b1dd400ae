"""A trained network as a run directory holds it: its parameters and how its inputs were scaled.

``params.npz`` records its data set in its meta (``run_files.dataset_meta``); runs written before
that are read with the figures of their ``summary.json``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Optional, Union

import attrs
import numpy as np

from ..datasets.table_data import Preprocessing
from ..utils import checks as _checks
from .checkpoint import load_params
from .files import PARAMS, SUMMARY
from ..model.params import BatchNormState, Params
from ..model.spec import MLPSpec

__all__ = ["PARAMS", "TrainedRun", "load_trained_run"]

PathLike = Union[str, "os.PathLike[str]"]
_DATASET_KEYS = ("pixel_mean", "pixel_std")


@attrs.frozen(eq=False)
class TrainedRun:
    """A run's network and data: ``spec``, ``params``, ``bn_state`` (read-only arrays, as saved),
    ``dataset`` (its name), ``source`` (what ``load_dataset`` takes), ``num_classes``, and the
    ``pixel_mean`` and ``pixel_std`` that scaled its inputs.

    A run on its own data (``kind`` ``"table"`` or ``"images"``, else ``"idx"``) also has ``source``
    (the file or folder it trained on), ``classes`` (the original class values in output order;
    ``None`` and ``num_classes`` ``None`` for a regression), ``preprocessing`` (a table's
    ``Preprocessing``), ``image_size`` (an image folder's ``(H, W)``) and ``options`` (how its data
    was read and split: ``fnmlp.runs.files.DATA_OPTIONS``)."""

    directory: Path
    spec: MLPSpec
    params: Params
    bn_state: BatchNormState
    dataset: str
    source: str
    num_classes: Optional[int]
    pixel_mean: float
    pixel_std: float
    kind: str = "idx"
    classes: Optional[tuple] = None
    preprocessing: Optional[Preprocessing] = None
    image_size: Optional[tuple] = None
    options: Optional[dict] = None

    @property
    def task(self) -> str:
        """``"regress"`` for a network trained on mean squared error, else ``"classify"``."""
        return "regress" if self.spec.loss.name == "mse" else "classify"

    @property
    def dtype(self) -> np.dtype:
        """The dtype the network computes in: its parameters'."""
        return self.params.W[0].dtype

    @property
    def width(self) -> int:
        """The number of inputs the network takes."""
        return self.spec.layer_sizes[0]


def load_trained_run(directory: PathLike) -> TrainedRun:
    """The network in ``directory/params.npz`` with its data set's scaling.

    Raises ``FileNotFoundError`` for a missing directory or ``params.npz``, ``ValueError`` for a
    corrupt one, or for a run that records no scaling in ``params.npz`` nor ``summary.json``.
    """
    directory = Path(_checks.path("RUN_DIR", directory, "a run directory"))
    if not directory.is_dir():
        _checks.fail(FileNotFoundError, "RUN_DIR", "a run directory written by fnmlp train",
                     f"{os.fspath(directory)!r}, which " + ("is not a directory" if directory.exists()
                                                             else "does not exist"))
    path = directory / PARAMS
    if not path.is_file():
        _checks.fail(FileNotFoundError, "RUN_DIR", f"a run directory holding {PARAMS}",
                     f"{os.fspath(directory)!r}, which has none")
    spec, params, bn_state, meta = load_params(path)
    dataset = _dataset(directory, meta)
    if dataset.get("kind") in ("table", "images"):
        return _own_data_run(directory, path, spec, params, bn_state, dataset)
    num_classes = dataset.get("num_classes", spec.layer_sizes[-1])
    if num_classes != spec.layer_sizes[-1]:
        _checks.fail(ValueError, os.fspath(path), f"a network with one output per class ({num_classes})",
                     f"{spec.layer_sizes[-1]} outputs")
    return TrainedRun(directory, spec, params, bn_state, str(dataset.get("name", dataset.get("source"))),
                      str(dataset.get("source", dataset.get("name"))), int(num_classes),
                      float(dataset["pixel_mean"]), float(dataset["pixel_std"]))


def _own_data_run(directory: Path, path: Path, spec: MLPSpec, params: Params, bn_state: BatchNormState,
                  dataset: dict) -> TrainedRun:
    """The ``TrainedRun`` of a run on a table or an image folder, from its ``params.npz`` record."""
    try:
        preprocessing = (Preprocessing.from_dict(dataset["preprocessing"]) if dataset["kind"] == "table" else None)
        classes = (preprocessing.classes if preprocessing is not None
                   else tuple(dataset["classes"]))
        image_size = None if dataset.get("image_size") is None else tuple(int(n) for n in dataset["image_size"])
        options, source, num_outputs = dict(dataset["options"]), str(dataset["source"]), int(dataset["num_outputs"])
    except (KeyError, TypeError, ValueError) as error:
        _checks.fail(ValueError, os.fspath(path), "a record of the data its network was trained on",
                     f"a damaged one ({type(error).__name__}: {error})")
    if num_outputs != spec.layer_sizes[-1] or (classes is not None and len(classes) != num_outputs):
        _checks.fail(ValueError, os.fspath(path), f"a network with one output per class or target ({num_outputs})",
                     f"{spec.layer_sizes[-1]} outputs")
    return TrainedRun(directory, spec, params, bn_state, str(dataset.get("name", source)), source,
                      None if classes is None else len(classes), float(dataset["pixel_mean"]),
                      float(dataset["pixel_std"]), dataset["kind"], classes, preprocessing, image_size, options)


def _dataset(directory: Path, meta: dict) -> dict:
    """The data set's record: ``meta["dataset"]``, else from ``summary.json`` (runs of older fnmlp)."""
    dataset = meta.get("dataset")
    if _complete(dataset):
        return dataset
    summary = _read_summary(directory / SUMMARY)
    dataset = summary.get("dataset") if isinstance(summary, dict) else None
    if not _complete(dataset):
        _checks.fail(ValueError, os.fspath(directory), f"a run whose {PARAMS} or {SUMMARY} records the pixel "
                     "mean and standard deviation of its data set", "neither does")
    config = summary.get("config")
    source = config.get("dataset") if isinstance(config, dict) else None
    return {**dataset, "source": source if isinstance(source, str) else dataset.get("name")}


def _complete(dataset: Any) -> bool:
    return (isinstance(dataset, dict)
            and all(isinstance(dataset.get(key), (int, float)) and not isinstance(dataset.get(key), bool)
                    and np.isfinite(dataset[key]) for key in _DATASET_KEYS)
            and dataset["pixel_std"] > 0)


def _read_summary(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as error:
        _checks.fail(ValueError, os.fspath(path), "a readable JSON summary", f"{type(error).__name__}: {error}")
