"""A labelled table made ready for training: split, imputed, standardised, labels encoded.

Every statistic (the means that fill missing cells, each feature's mean and standard deviation, a
regression target's mean and standard deviation) comes from the train split alone and is kept in a
:class:`Preprocessing` record, which ``to_dict`` makes JSON-ready, so that new rows can be prepared
exactly as the training rows were.
"""

from __future__ import annotations

from typing import Any, Optional

import attrs
import numpy as np

from ..utils import checks as _checks
from .mnist import Dataset, Split
from .tables import TASKS, Table, decode_labels, encode_labels, infer_task, match_columns
from ..model.tree import readonly

__all__ = ["Preprocessing", "TableData", "feature_stats", "prepare_table", "split_table", "standardize_features"]


def _fraction(name: str, value: Any) -> float:
    return _checks.real(name, value, minimum=0.0, below=1.0)


def _rng(seed: Any) -> np.random.Generator:
    if isinstance(seed, np.random.Generator):
        return seed
    return np.random.default_rng(_checks.integer("seed", seed, minimum=0))


def split_table(num_rows: int, *, validation_fraction: float = 0.1, test_fraction: float = 0.1, seed: Any = 0,
                stratify: Any = None) -> tuple:
    """``(train, validation, test)``: sorted int64 row indices, each row in exactly one.

    The test split has ``round(num_rows * test_fraction)`` rows, the validation split
    ``round(num_rows * validation_fraction)``, the train split the rest. ``stratify``, class indices
    ``(num_rows,)`` in ``0..K-1``, makes each split hold every class in proportion (largest
    remainders, every class keeping at least one train row). Rows are drawn with
    ``np.random.default_rng(seed)`` (or the ``Generator`` ``seed``), so a seed gives the same splits.
    Too few rows for a non-empty split of each asked-for kind is a ``ValueError``.
    """
    n = _checks.integer("num_rows", num_rows, minimum=1)
    validation_fraction = _fraction("validation_fraction", validation_fraction)
    test_fraction = _fraction("test_fraction", test_fraction)
    if validation_fraction + test_fraction >= 1.0:
        _checks.fail(ValueError, "validation_fraction + test_fraction", "less than 1, to leave train rows",
                     validation_fraction + test_fraction)
    n_test, n_val = (int(np.floor(n * f + 0.5)) for f in (test_fraction, validation_fraction))
    labels = None
    if stratify is not None:
        labels = np.asarray(stratify)
        if labels.shape != (n,) or labels.dtype.kind not in "iu" or labels.min() < 0:
            _checks.fail(ValueError, "stratify", f"class indices (>= 0) of shape ({n},)", _checks.describe(labels))
    num_classes = 1 if labels is None else int(np.count_nonzero(np.bincount(labels)))
    for wanted, got, what in ((test_fraction, n_test, "test"), (validation_fraction, n_val, "validation")):
        if wanted > 0 and got == 0:
            _checks.fail(ValueError, "num_rows", f"enough rows for a {what} split of {wanted:g}", n)
    if n - n_test - n_val < num_classes:
        needed = "a train row" if labels is None else f"a train row of each of the {num_classes} classes"
        _checks.fail(ValueError, "num_rows", f"enough rows for {n_test} test and {n_val} validation rows and {needed}",
                     n)
    rng = _rng(seed)
    if labels is None:
        order = rng.permutation(n)
        return tuple(np.sort(part) for part in (order[n_test + n_val:], order[n_test:n_test + n_val], order[:n_test]))
    members = [rng.permutation(np.flatnonzero(labels == c)) for c in range(labels.max() + 1)]
    counts = np.array([m.size for m in members])
    test = _allocate(counts, n_test, np.maximum(counts - 1, 0))
    val = _allocate(counts, n_val, np.maximum(counts - test - 1, 0))
    parts = ([m[t + v:] for m, t, v in zip(members, test, val)], [m[t:t + v] for m, t, v in zip(members, test, val)],
             [m[:t] for m, t in zip(members, test)])
    return tuple(np.sort(np.concatenate(part)).astype(np.int64) for part in parts)


def _allocate(counts: np.ndarray, total: int, caps: np.ndarray) -> np.ndarray:
    """Per-class row counts summing to ``total``, in proportion to ``counts`` (largest remainders
    first, ties to the lower class), none above ``caps``; ``caps.sum() >= total``."""
    quota = counts * (total / counts.sum())
    share = np.minimum(np.floor(quota).astype(np.int64), caps)
    order = np.argsort(-(quota - share), kind="stable")
    while share.sum() < total:
        for c in order:
            if share.sum() < total and share[c] < caps[c]:
                share[c] += 1
    return share


def feature_stats(x: Any) -> tuple:
    """``(mean, std)``, float64 ``(k,)`` each, of the columns of ``x`` ``(n, k)``; a constant column's
    std is 1, so standardising leaves it centred instead of dividing by 0."""
    x = _checks.float_array("x", x, ndim=2)
    mean = x.mean(axis=0, dtype=np.float64)
    std = x.std(axis=0, dtype=np.float64)
    return mean, np.where(std > 0, std, 1.0)


def standardize_features(x: Any, mean: Any, std: Any, dtype: Any = np.float64) -> np.ndarray:
    """``(x - mean) / std`` in ``dtype``, a new ``(n, k)`` array."""
    x = _checks.float_array("x", x, ndim=2, finite=False)
    dtype = _checks.float_dtype("dtype", dtype)
    return ((x.astype(np.float64) - np.asarray(mean, np.float64)) / np.asarray(std, np.float64)).astype(dtype)


def _vector(value: Any) -> Optional[np.ndarray]:
    return None if value is None else readonly(np.asarray(value, dtype=np.float64))


@attrs.frozen(eq=False)
class Preprocessing:
    """How a table's rows became a network's inputs, and its outputs become targets again.

    - ``features``: the ``k`` feature names in input order; ``target``: the target column's name.
    - ``task``: ``"classify"`` or ``"regress"``.
    - ``mean``, ``std``: float64 ``(k,)``; an input is ``(value - mean) / std``.
    - ``fill``: float64 ``(k,)``, the value a missing cell takes (the train split's mean), or ``None``.
    - ``classes``: the original class values in output order (``str``/``int``/``float``/``bool``), or
      ``None`` for regression.
    - ``target_mean``, ``target_std``: a regression network predicts ``(target - target_mean) /
      target_std``; ``0.0`` and ``1.0`` when not scaled (and for classification).
    """

    features: tuple = attrs.field(converter=tuple)
    target: str
    task: str
    mean: np.ndarray = attrs.field(converter=_vector)
    std: np.ndarray = attrs.field(converter=_vector)
    fill: Optional[np.ndarray] = attrs.field(default=None, converter=_vector)
    classes: Optional[tuple] = attrs.field(default=None, converter=lambda v: None if v is None else tuple(v))
    target_mean: float = 0.0
    target_std: float = 1.0

    def to_dict(self) -> dict:
        """A JSON-ready dict; ``Preprocessing.from_dict`` rebuilds the record."""
        return {"features": list(self.features), "target": self.target, "task": self.task,
                "mean": self.mean.tolist(), "std": self.std.tolist(),
                "fill": None if self.fill is None else self.fill.tolist(),
                "classes": None if self.classes is None else list(self.classes),
                "target_mean": float(self.target_mean), "target_std": float(self.target_std)}

    @classmethod
    def from_dict(cls, data: dict) -> "Preprocessing":
        return cls(**data)

    def inputs(self, table: Table, dtype: Any = np.float64) -> np.ndarray:
        """The network's inputs ``(n, k)`` in ``dtype`` for ``table``'s rows: its columns matched to
        ``features`` (``match_columns``), missing cells filled, standardised."""
        _checks.instance("table", table, Table)
        x = table.x[:, match_columns(table.features, self.features)]
        missing = np.isnan(x)
        if missing.any():
            if self.fill is None:
                i, j = (int(v[0]) for v in np.nonzero(missing))
                _checks.fail(ValueError, f"{table.source}, column {self.features[j]!r}",
                             "a value in every row (the network was trained without imputation)",
                             f"a missing value in {table.row_name(i)}")
            x = np.where(missing, self.fill, x)
        return standardize_features(x, self.mean, self.std, dtype)

    def targets(self, outputs: Any) -> np.ndarray:
        """What the network's eval-mode outputs ``(n, K)`` predict: class values ``(n,)`` (the arg-max
        decoded) or regression targets ``(n, K)`` in the table's units."""
        outputs = np.asarray(outputs)
        if self.task == "classify":
            return decode_labels(outputs.argmax(axis=1), self.classes)
        return outputs * self.target_std + self.target_mean


@attrs.frozen(eq=False)
class TableData:
    """A table split for training, shaped like ``fnmlp.Dataset``.

    ``train``, ``validation``, ``test``: :class:`Split`\\ s of standardised ``x`` ``(n, k)`` and ``y``:
    int64 class indices ``(n,)`` for classification, float64 scaled targets ``(n,)`` for regression.
    ``rows``: the table rows of each split, int64. ``num_outputs``: the network's output width.
    ``num_classes`` is ``None`` for regression; ``pixel_mean``/``pixel_std`` are ``0.0``/``1.0`` (the
    inputs are already standardised per feature, by ``preprocessing``).
    """

    name: str
    train: Split
    validation: Split
    test: Split
    preprocessing: Preprocessing
    rows: tuple
    pixel_mean: float = 0.0
    pixel_std: float = 1.0

    @property
    def task(self) -> str:
        return self.preprocessing.task

    @property
    def num_classes(self) -> Optional[int]:
        classes = self.preprocessing.classes
        return None if classes is None else len(classes)

    @property
    def num_outputs(self) -> int:
        return self.num_classes or 1

    def to_dataset(self) -> Dataset:
        """The classification splits as an ``fnmlp.Dataset``; regression has no ``num_classes`` for one."""
        if self.num_classes is None:
            _checks.fail(ValueError, "TableData", "a classification table for an fnmlp.Dataset",
                         "a regression table (use its train/validation/test splits directly)")
        return Dataset(self.name, self.train, self.validation, self.test, self.num_classes, 0.0, 1.0)


def prepare_table(table: Table, *, task: Optional[str] = None, validation_fraction: float = 0.1,
                  test_fraction: float = 0.1, seed: Any = 0, stratify: Optional[bool] = None,
                  scale_target: bool = True, dtype: Any = np.float64, name: Optional[str] = None) -> TableData:
    """``table`` split (``split_table``; stratified by class unless ``stratify=False``), its missing
    cells filled with the train split's means (tables read with ``impute="mean"``), standardised with
    the train split's ``feature_stats``, its target encoded (``encode_labels``) or, for regression,
    scaled by the train split's mean and std (unless ``scale_target=False``). ``task`` defaults to
    ``infer_task(table.y)``; ``x`` has ``dtype``; ``name`` defaults to the table's source."""
    _checks.instance("table", table, Table)
    if table.y is None:
        _checks.fail(ValueError, "table", "a table read with a target column", "one without")
    task = infer_task(table.y) if task is None else task
    if task not in TASKS:
        _checks.fail(ValueError, "task", f"one of {list(TASKS)}", repr(task))
    stratify = task == "classify" if stratify is None else _checks.boolean("stratify", stratify)
    scale_target = _checks.boolean("scale_target", scale_target)
    dtype = _checks.float_dtype("dtype", dtype)
    if task == "classify":
        y, classes = encode_labels(table.y)
    else:
        if table.y.dtype.kind not in "iuf":
            _checks.fail(ValueError, f"{table.source}, target column {table.target!r}",
                         "numbers, for regression", f"values of dtype {table.y.dtype}")
        y, classes = table.y.astype(np.float64), None
    rows = split_table(table.num_rows, validation_fraction=validation_fraction, test_fraction=test_fraction,
                       seed=seed, stratify=y if stratify and classes is not None else None)
    x, fill = table.x, None
    if table.impute == "mean":
        fill = _fill_values(table, rows[0])
        x = np.where(np.isnan(x), fill, x)
    mean, std = feature_stats(x[rows[0]])
    target_mean, target_std = 0.0, 1.0
    if classes is None and scale_target:
        target_mean, target_std = (float(s[0]) for s in feature_stats(y[rows[0], None]))
        y = (y - target_mean) / target_std
    prep = Preprocessing(table.features, table.target, task, mean, std, fill, classes, target_mean, target_std)
    splits = [Split(standardize_features(x[r], mean, std, dtype) if r.size else np.empty((0, x.shape[1]), dtype),
                    y[r]) for r in rows]  # a split of fraction 0 is empty
    return TableData(table.source if name is None else name, *splits, prep, rows)


def _fill_values(table: Table, train_rows: np.ndarray) -> np.ndarray:
    """Each column's mean over the train rows that have a value."""
    x = table.x[train_rows]
    present = ~np.isnan(x)
    counts = present.sum(axis=0)
    if not counts.all():
        j = int(np.flatnonzero(counts == 0)[0])
        _checks.fail(ValueError, f"{table.source}, column {table.features[j]!r}",
                     "a value in at least one train row, to impute the others", "none")
    return np.where(present, x, 0.0).sum(axis=0) / counts
