"""A run's own data: a table file (CSV, ``.npz``, Parquet) or a folder of class subfolders of PNG images,
read, split and scaled for training, and described by a JSON-ready record (``data_meta``) from which
a trained network takes new rows or images exactly as it took its training data.

- ``data_kind(path)``: ``"table"`` for a file, ``"images"`` for a directory (one holding MNIST's IDX
  files is refused: it is a ``dataset``, not a folder of classes);
- ``load_table_data(path, target=..., ...)``: a :class:`TableData` (``fnmlp.datasets.table_data``),
  its validation and test splits cut from the table or read from their own files;
- ``load_folder_data(path, ...)``: a :class:`FolderData`, an ``fnmlp.Dataset`` that keeps its class
  names and image size;
- ``labelled_split(preprocessing, table)``: a labelled table as a network's inputs and targets.
"""

from __future__ import annotations

import os
from typing import Any, Optional, Sequence, Union

import attrs
import numpy as np

from ..utils import checks as _checks
from .image_folder import image_folder_dataset, read_image_folder
from .mnist import IDX_FILES, Dataset, Split
from .table_data import Preprocessing, TableData, prepare_table
from .tables import Table, infer_task, read_table

__all__ = ["FolderData", "data_kind", "data_meta", "encode_with", "labelled_split", "load_folder_data",
           "load_table_data"]

PathLike = Union[str, "os.PathLike[str]"]


@attrs.frozen(eq=False)
class FolderData(Dataset):
    """An image folder split for training: an ``fnmlp.Dataset`` (pixels scaled as ``load_idx_dataset``
    scales them) with the class folders' names ``classes`` (in label order) and the ``image_size``
    ``(H, W)`` every image was resized to."""

    classes: tuple = ()
    image_size: tuple = ()


def data_kind(path: PathLike) -> str:
    """``"table"`` when ``path`` is a file, ``"images"`` when it is a directory. Raises
    ``FileNotFoundError`` when it is neither, ``ValueError`` for a directory of IDX files."""
    source = _checks.path("data", path, "a table file or a folder of images")
    if os.path.isfile(source):
        return "table"
    if not os.path.isdir(source):
        _checks.fail(FileNotFoundError, "data", "a table file or a folder of class subfolders of PNG images",
                     f"{source!r}, which does not exist")
    names = set(os.listdir(source))
    if any(stem in names or f"{stem}.gz" in names for stem in IDX_FILES):
        _checks.fail(ValueError, "data", "a table file or a folder of class subfolders of PNG images",
                     f"{source!r}, a directory of MNIST-format IDX files (name it as the dataset instead)")
    return "images"


def _renamed(error: Exception, old: str, new: str) -> Exception:
    """``error`` (of the same type) with a leading ``old:`` argument name replaced by ``new``."""
    argument, sep, rest = str(error).partition(": ")
    return type(error)(f"{new}: {rest}") if sep and argument == old else error


def load_table_data(path: PathLike, *, target: Optional[str], features: Optional[Sequence[str]] = None,
                    task: Optional[str] = None, delimiter: str = ",", impute: Optional[str] = None,
                    validation_fraction: float = 0.1, test_fraction: float = 0.1,
                    validation: Optional[PathLike] = None, test: Optional[PathLike] = None, seed: Any = 0,
                    dtype: Any = np.float64) -> TableData:
    """The table at ``path`` (``read_table``) split and scaled by ``prepare_table``: ``task``
    inferred by ``infer_task`` unless given, ``validation_fraction`` and ``test_fraction`` of the rows
    held out (stratified by class), or the splits read from the table files ``validation`` and
    ``test`` (the same columns; a class the training rows lack is refused) and scaled with the
    training split's statistics. Errors name the argument (``target``, ``features``, ``validation``,
    ``test``, ``data`` for the main file itself) or the file, line and column at fault."""
    if target is None:
        _checks.fail(ValueError, "target", "the name of the table's target column", "none")
    try:
        table = read_table(path, target=target, features=features, delimiter=delimiter, impute=impute)
    except (ValueError, TypeError, FileNotFoundError) as error:
        raise _renamed(error, "path", "data") from None
    task = infer_task(table.y) if task is None else task
    if task == "classify" and np.unique(table.y).size < 2:
        _checks.fail(ValueError, "target", "a column of at least two classes to tell apart",
                     f"{target!r}, which holds only {table.y[0].item()!r} in {table.source}")
    held = {"validation": validation, "test": test}
    fractions = {"validation_fraction": 0.0 if validation is not None else validation_fraction,
                 "test_fraction": 0.0 if test is not None else test_fraction}
    try:
        data = prepare_table(table, task=task, seed=seed, dtype=dtype, name=os.path.basename(table.source),
                             **fractions)
    except ValueError as error:
        argument, _, rest = str(error).partition(": ")
        if argument != "num_rows":
            raise
        _checks.fail(ValueError, "data", rest.split(", got")[0].removeprefix("expected "),
                     f"{table.source}, of {table.num_rows} rows")
    replaced = {}
    for name, other in held.items():
        if other is not None:
            try:
                rows = read_table(other, target=target, features=data.preprocessing.features, delimiter=delimiter,
                                  impute=impute)
            except (ValueError, TypeError, FileNotFoundError) as error:
                raise _renamed(error, "path", name) from None
            replaced[name] = labelled_split(data.preprocessing, rows, dtype)
    if not replaced:
        return data
    rows = tuple(np.arange(replaced[name].y.shape[0]) if name in replaced else part
                 for name, part in zip(("train", "validation", "test"), data.rows))
    return attrs.evolve(data, rows=rows, **replaced)


def encode_with(classes: Sequence, table: Table) -> np.ndarray:
    """int64 ``(n,)``: the position in ``classes`` of each of ``table``'s target values; a value that
    is not among them is a ``ValueError`` naming it and its row."""
    lookup = {value: index for index, value in enumerate(classes)}
    indices = np.empty(table.num_rows, dtype=np.int64)
    for i, value in enumerate(table.y.tolist()):
        if value not in lookup:
            _checks.fail(ValueError, f"{table.source}, target column {table.target!r}",
                         f"classes the network was trained on ({list(classes)})", f"{value!r} in {table.row_name(i)}")
        indices[i] = lookup[value]
    return indices


def labelled_split(preprocessing: Preprocessing, table: Table, dtype: Any = np.float64) -> Split:
    """A labelled ``table`` as ``preprocessing`` makes a network's rows: ``x`` its inputs in ``dtype``,
    ``y`` class indices (int64) or targets scaled as in training (float64)."""
    x = preprocessing.inputs(table, dtype)
    if table.y is None:
        _checks.fail(ValueError, "table", f"a table with the target column {preprocessing.target!r}", "none")
    if preprocessing.task == "classify":
        return Split(x, encode_with(preprocessing.classes, table))
    if table.y.dtype.kind not in "iuf":
        _checks.fail(ValueError, f"{table.source}, target column {table.target!r}", "numbers, for regression",
                     f"values of dtype {table.y.dtype}")
    return Split(x, (table.y.astype(np.float64) - preprocessing.target_mean) / preprocessing.target_std)


def load_folder_data(path: PathLike, *, image_size: Optional[tuple] = None, validation_fraction: float = 0.1,
                     test_fraction: float = 0.1, seed: Any = 0, dtype: Any = np.float64) -> FolderData:
    """The images in ``path``'s class subfolders (``read_image_folder``, resized to ``image_size``,
    by default the first image's size) split and scaled by ``image_folder_dataset``. Fewer than two
    classes is a ``ValueError`` naming ``data``."""
    try:
        folder = read_image_folder(path, None if image_size is None else tuple(image_size))
    except (ValueError, TypeError, FileNotFoundError) as error:
        raise _renamed(error, "directory", "data") from None
    if len(folder.classes) < 2:
        _checks.fail(ValueError, "data", "a folder of at least two class subfolders",
                     f"{folder.source!r}, with only {folder.classes[0]!r}")
    try:
        dataset = image_folder_dataset(folder, validation_fraction=validation_fraction, test_fraction=test_fraction,
                                       seed=seed, dtype=dtype)
    except ValueError as error:
        argument, _, rest = str(error).partition(": ")
        if argument != "num_rows":
            raise
        _checks.fail(ValueError, "data", rest.split(", got")[0].removeprefix("expected ").replace("rows", "images"),
                     f"{folder.source}, of {folder.labels.shape[0]} images")
    return FolderData(**attrs.asdict(dataset, recurse=False), classes=folder.classes,
                      image_size=folder.image_size)


def data_meta(data: Any, source: str, options: dict) -> dict:
    """What a network trained on ``data`` (a ``TableData`` or ``FolderData`` read from ``source``)
    needs to take new inputs, JSON-ready: ``name``, ``source``, ``kind`` (``table`` or ``images``),
    ``num_classes`` (``None`` for a regression), ``num_outputs``, ``pixel_mean`` and ``pixel_std``,
    and ``preprocessing`` (a table's ``Preprocessing.to_dict()``) or ``classes`` and ``image_size``
    (an image folder's); ``options`` (how the data was read and split) is kept as given."""
    common = {"name": data.name, "source": os.path.abspath(source), "num_classes": data.num_classes,
              "pixel_mean": float(data.pixel_mean), "pixel_std": float(data.pixel_std), "options": dict(options)}
    if isinstance(data, TableData):
        return {**common, "kind": "table", "num_outputs": data.num_outputs,
                "preprocessing": data.preprocessing.to_dict()}
    _checks.instance("data", data, FolderData)
    return {**common, "kind": "images", "num_outputs": data.num_classes, "classes": list(data.classes),
            "image_size": list(data.image_size)}
