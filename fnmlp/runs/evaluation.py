"""A trained classifier measured on labelled data: per-class figures, the confusion matrix, the
worst mistakes, and the ``evaluation.json`` that records them.

Everything here is computation on arrays, apart from ``load_split`` (which reads a data set) and
``write_evaluation`` (which writes the JSON file atomically).
"""

from __future__ import annotations

import datetime
import json
import os
from typing import Any, Optional, Union

import attrs
import numpy as np

from ..utils import checks as _checks
from ..utils.atomic import atomic_write
from ..datasets.mnist import DATASET_NAMES, load_dataset
from ..datasets.inputs import standardize
from ..model.losses import log_softmax
from ..model.network import predict
from .files import PARAMS
from .trained import TrainedRun
from ..training.loop import evaluate
from ..model.tree import readonly

__all__ = ["EVALUATION", "Evaluation", "class_table", "confusion_matrix", "evaluate_inputs", "evaluate_run",
           "evaluation_record",
           "load_split", "predict_proba", "worst_mistakes", "write_evaluation"]

PathLike = Union[str, "os.PathLike[str]"]
EVALUATION = "evaluation.json"
SPLITS = ("test", "validation", "train")
CHUNK_ROWS = 4096


@attrs.frozen(eq=False)
class Evaluation:
    """A network's figures on one split: ``labels`` int64 ``(n,)``, ``predicted`` int64 ``(n,)``,
    ``probabilities`` ``(n, classes)`` (rows sum to 1), the mean cross-entropy ``loss`` and the
    ``error`` rate, as ``fnmlp.evaluate`` computes them. Arrays are read-only."""

    dataset: str
    split: str
    labels: np.ndarray = attrs.field(converter=readonly)
    predicted: np.ndarray = attrs.field(converter=readonly)
    probabilities: np.ndarray = attrs.field(converter=readonly)
    loss: float
    error: float

    @property
    def confusion(self) -> np.ndarray:
        return confusion_matrix(self.labels, self.predicted, self.probabilities.shape[1])


def load_split(run: TrainedRun, split: str = "test", dataset: Optional[str] = None) -> tuple:
    """``(name, pixels, labels)``: the raw uint8 pixels ``(n, features)`` and int64 labels ``(n,)`` of
    ``split`` of the run's data set, or of ``dataset`` (a name or a directory of IDX files).

    The data set is read as ``load_dataset`` reads it and its pixels recovered from its own
    standardisation, so that ``standardize`` can apply the run's.
    """
    if split not in SPLITS:
        _checks.fail(ValueError, "split", f"one of {', '.join(SPLITS)}", repr(split))
    source = run.source if dataset is None else _checks.instance("dataset", dataset, str)
    named = source.lower() in DATASET_NAMES
    if not named and not os.path.isdir(source):
        _checks.fail(FileNotFoundError, "dataset" if dataset is not None else "the run's data set",
                     f"{', '.join(DATASET_NAMES)} or a directory of IDX files",
                     f"{source!r}, which is neither" + ("; name another data set" if dataset is None else ""))
    kwargs = {} if named else {"num_classes": run.num_classes}
    data = load_dataset(source, dtype=np.float32, **kwargs)
    if data.num_classes != run.num_classes:
        _checks.fail(ValueError, "dataset", f"a data set of {run.num_classes} classes, as the run's",
                     f"{data.name}, of {data.num_classes}")
    part = getattr(data, split)
    raw = (part.x.astype(np.float64) * data.pixel_std + data.pixel_mean) * 255
    pixels = np.rint(raw)
    if np.abs(raw - pixels).max(initial=0) > 0.01:
        _checks.fail(ValueError, data.name, "standardised pixels from which the raw ones can be recovered",
                     "others")
    if pixels.shape[1] != run.width:
        _checks.fail(ValueError, "dataset", f"images of {run.width} pixels, as the network takes",
                     f"{data.name}, of {pixels.shape[1]}")
    return data.name, np.clip(pixels, 0, 255).astype(np.uint8), np.asarray(part.y)


def predict_proba(run: TrainedRun, x: Any) -> tuple:
    """``(predicted, probabilities)``: the class of highest logit, int64 ``(n,)``, and the softmax of
    the logits, ``(n, classes)`` in the run's dtype, for standardised inputs ``x`` ``(n, features)``."""
    predicted, probabilities = [], []
    for begin in range(0, x.shape[0], CHUNK_ROWS):
        logits = predict(run.spec, run.params, run.bn_state, x[begin:begin + CHUNK_ROWS])
        predicted.append(logits.argmax(axis=1))
        probabilities.append(np.exp(log_softmax(logits)))
    return np.concatenate(predicted).astype(np.int64), np.concatenate(probabilities)


def evaluate_run(run: TrainedRun, pixels: np.ndarray, labels: np.ndarray, *, dataset: str,
                 split: str) -> Evaluation:
    """The run's ``Evaluation`` on raw uint8 ``pixels`` ``(n, features)`` with int64 ``labels`` ``(n,)``,
    scaled as its training data was."""
    return evaluate_inputs(run, standardize(pixels, run.pixel_mean, run.pixel_std, run.dtype), labels,
                           dataset=dataset, split=split)


def evaluate_inputs(run: TrainedRun, x: np.ndarray, labels: np.ndarray, *, dataset: str, split: str) -> Evaluation:
    """The run's ``Evaluation`` on its inputs ``x`` ``(n, features)`` (already scaled) with int64
    class indices ``labels`` ``(n,)``."""
    loss, error = evaluate(run.spec, run.params, run.bn_state, x, labels)
    predicted, probabilities = predict_proba(run, x)
    return Evaluation(dataset, split, labels, predicted, probabilities, float(loss), float(error))


def confusion_matrix(labels: Any, predicted: Any, num_classes: int) -> np.ndarray:
    """int64 ``(num_classes, num_classes)``: entry ``[t, p]`` counts the rows of true class ``t``
    predicted as ``p``."""
    labels, predicted = np.asarray(labels), np.asarray(predicted)
    if labels.shape != predicted.shape or labels.ndim != 1:
        _checks.fail(ValueError, "labels, predicted", "two (n,) arrays", f"{labels.shape} and {predicted.shape}")
    flat = labels.astype(np.int64) * num_classes + predicted.astype(np.int64)
    return np.bincount(flat, minlength=num_classes * num_classes).reshape(num_classes, num_classes)


def class_table(confusion: np.ndarray) -> list:
    """One dict per true class: ``class``, ``count``, ``error`` (the fraction predicted otherwise,
    ``None`` for a class with no rows), ``confused_with`` (the wrong class predicted most often, the
    lowest on a tie; ``None`` without mistakes) and ``confusions`` (how often)."""
    rows = []
    for label, counts in enumerate(np.asarray(confusion)):
        count = int(counts.sum())
        wrong = counts.copy()
        wrong[label] = 0
        mistakes = int(wrong.sum())
        rows.append({"class": label, "count": count, "error": mistakes / count if count else None,
                     "confused_with": int(wrong.argmax()) if mistakes else None,
                     "confusions": int(wrong.max()) if mistakes else 0})
    return rows


def worst_mistakes(labels: Any, predicted: Any, probabilities: Any, limit: int) -> np.ndarray:
    """The indices, int64, of at most ``limit`` wrongly predicted rows, the most confident first (the
    probability given to the predicted class; ties by index)."""
    labels, predicted, probabilities = np.asarray(labels), np.asarray(predicted), np.asarray(probabilities)
    limit = _checks.integer("limit", limit, minimum=0)
    wrong = np.flatnonzero(labels != predicted)
    confidence = probabilities[wrong, predicted[wrong]]
    order = np.lexsort((wrong, -confidence))
    return wrong[order[:limit]].astype(np.int64)


def evaluation_record(evaluation: Evaluation, run: TrainedRun, mistakes: np.ndarray) -> dict:
    """What ``evaluation.json`` holds: the figures, the per-class table, the confusion matrix and the
    ``mistakes`` (indices into the split) with their true and predicted classes and probability.
    Classes are the run's class values where it has them (a table's or an image folder's), else indices."""
    name = (lambda k: run.classes[int(k)]) if run.classes is not None else int
    classes = [{**row, "class": name(row["class"]),
                "confused_with": None if row["confused_with"] is None else name(row["confused_with"])}
               for row in class_table(evaluation.confusion)]
    return {
        "params": os.fspath(run.directory / PARAMS),
        "dataset": evaluation.dataset,
        "split": evaluation.split,
        "rows": int(evaluation.labels.shape[0]),
        "loss": evaluation.loss,
        "error": evaluation.error,
        "classes": classes,
        "confusion": evaluation.confusion.tolist(),
        "worst_mistakes": [{"index": int(i), "true": name(evaluation.labels[i]),
                            "predicted": name(evaluation.predicted[i]),
                            "probability": float(evaluation.probabilities[i, evaluation.predicted[i]])}
                           for i in mistakes],
        "evaluated_at": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
    }


def write_evaluation(path: PathLike, record: dict) -> None:
    """``record`` as indented JSON at ``path``, replaced atomically."""
    with atomic_write(path, "w") as file:
        json.dump(record, file, indent=2)
        file.write("\n")
