"""Labelled tables read from CSV, ``.npz`` or Parquet files: numeric features and a raw target column.

``read_table`` returns a :class:`Table`; ``fnmlp.table_data.prepare_table`` turns one into training
splits. ``infer_task`` says whether a target column asks for classification or regression,
``encode_labels`` turns class values into indices, ``match_columns`` lines a new table's columns up
with the features a network was trained on.

Rows are named in messages as a person finds them: ``line 7`` of a CSV file (the header is line 1),
``row 5`` (counting from 0) of an ``.npz`` or Parquet file.
"""

from __future__ import annotations

import csv
import os
from typing import Any, Optional, Sequence, Union

import attrs
import numpy as np

from ..utils import checks as _checks
from ..model.tree import readonly

__all__ = ["MAX_CLASSES", "TASKS", "Table", "decode_labels", "encode_labels", "infer_task", "match_columns",
           "read_columns", "read_table"]

PathLike = Union[str, "os.PathLike[str]"]

TASKS = ("classify", "regress")
MAX_CLASSES = 20
"""An integer target with at most this many distinct values (and fewer than half the rows) is classes."""

PARQUET_SUFFIXES = (".parquet", ".pq")


def _optional_readonly(array: Any) -> Optional[np.ndarray]:
    return None if array is None else readonly(array)


@attrs.frozen(eq=False)
class Table:
    """A table read from ``source``.

    - ``features``: the ``k`` feature column names, in the order of ``x``'s columns.
    - ``x``: float64 ``(n, k)``, read-only; NaN marks a missing cell, only when read with ``impute="mean"``.
    - ``target``: the target column's name, or ``None`` when read without one (for prediction).
    - ``y``: the raw target column ``(n,)``, read-only: int64, float64, bool or str (``<U``) values;
      ``None`` without a target.
    - ``lines``: int64 ``(n,)``, the CSV line each row came from, or ``None`` for other formats.
    - ``impute``: ``None`` or ``"mean"``, as ``read_table`` was called.
    """

    source: str
    features: tuple
    x: np.ndarray = attrs.field(converter=readonly)
    target: Optional[str] = None
    y: Optional[np.ndarray] = attrs.field(default=None, converter=_optional_readonly)
    lines: Optional[np.ndarray] = attrs.field(default=None, converter=_optional_readonly)
    impute: Optional[str] = None

    @property
    def num_rows(self) -> int:
        return self.x.shape[0]

    def row_name(self, i: int) -> str:
        """How messages name row ``i``: its CSV line, else its index."""
        return f"row {i}" if self.lines is None else f"line {int(self.lines[i])}"


def read_table(path: PathLike, *, target: Optional[str], features: Optional[Sequence[str]] = None,
               delimiter: str = ",", impute: Optional[str] = None) -> Table:
    """The labelled table at ``path``, by its suffix:

    - ``.npz``: arrays ``x`` ``(n, k)`` (numbers) and ``y`` ``(n,)`` (the target, whatever ``target``
      calls it), with column names from a string array ``columns`` ``(k,)`` when present, else
      ``f0..f{k-1}``;
    - ``.parquet`` / ``.pq``: read with pyarrow (``pip install 'fnmlp[parquet]'``);
    - anything else: delimited text with a header row (``delimiter``, a comma by default).

    ``target`` names the target column (``None``: no target, as for new inputs). ``features`` picks
    the feature columns, in that order; by default every column but the target. A feature cell that
    is empty or NaN is refused, naming its row and column, unless ``impute="mean"``: it is then kept
    as NaN, for ``prepare_table`` to fill with the training split's mean.

    Raises ``FileNotFoundError`` for a missing file, ``ValueError`` naming the file and what is wrong
    (a missing or non-numeric column, a ragged row, a missing value), ``ImportError`` for Parquet
    without pyarrow.
    """
    source = _checks.path("path", path)
    if target is not None:
        target = _checks.instance("target", target, str)
    if features is not None:
        if isinstance(features, str) or not isinstance(features, Sequence):
            _checks.fail(TypeError, "features", "a sequence of column names", _checks.describe(features))
        features = tuple(_checks.instance(f"features[{i}]", f, str) for i, f in enumerate(features))
        if target is not None and target in features:
            _checks.fail(ValueError, "features", f"feature columns other than the target {target!r}",
                         list(features))
    if not isinstance(delimiter, str) or len(delimiter) != 1:
        _checks.fail(TypeError, "delimiter", "a one-character string", _checks.describe(delimiter))
    if impute not in (None, "mean"):
        _checks.fail(ValueError, "impute", "None or 'mean'", repr(impute))
    if not os.path.isfile(source):
        _checks.fail(FileNotFoundError, "path", "an existing file", repr(source))

    lower = source.lower()
    lines = None
    if lower.endswith(".npz"):
        columns = _read_npz(source, target)
    elif lower.endswith(PARQUET_SUFFIXES):
        columns = _read_parquet(source)
    else:
        columns, lines = _read_csv(source, delimiter)
    chosen = _choose(source, list(columns), target, features)
    table = Table(source, chosen, np.empty((0, 0)), target, None, lines, impute)
    n = len(next(iter(columns.values()))) if columns else 0
    if n == 0:
        _checks.fail(ValueError, source, "at least one data row", "none")
    x = np.empty((n, len(chosen)))
    for j, name in enumerate(chosen):
        x[:, j] = _numeric(table, name, columns[name])
    y = None if target is None else _target_column(table, columns[target])
    return attrs.evolve(table, x=x, y=y)


def read_columns(path: PathLike, *, delimiter: str = ",") -> tuple:
    """The column names of the table at ``path``, in file order: a CSV file's header, an ``.npz``
    file's ``columns`` (or ``f0..``; its ``y`` is no column), a Parquet file's schema."""
    source = _checks.path("path", path)
    if not os.path.isfile(source):
        _checks.fail(FileNotFoundError, "path", "an existing file", repr(source))
    lower = source.lower()
    if lower.endswith(".npz"):
        return tuple(_read_npz(source, None))
    if lower.endswith(PARQUET_SUFFIXES):
        return tuple(_read_parquet(source))
    with open(source, newline="", encoding="utf-8-sig") as file:
        for row in csv.reader(file, delimiter=delimiter):
            if row and (len(row) > 1 or row[0].strip()):
                header = [name.strip() for name in row]
                _check_header(source, header)
                return tuple(header)
    _checks.fail(ValueError, source, "a header row naming the columns", "an empty file")


def _choose(source: str, available: list, target: Optional[str], features: Optional[tuple]) -> tuple:
    """The feature columns, checked against ``available``."""
    if target is not None and target not in available:
        _checks.fail(ValueError, "target", f"a column of {source} (one of {available})", repr(target))
    if features is None:
        chosen = tuple(name for name in available if name != target)
    else:
        missing = [name for name in features if name not in available]
        if missing:
            _checks.fail(ValueError, "features", f"columns of {source} (available: {available})",
                         f"{missing[0]!r}, which it does not have")
        if len(set(features)) != len(features):
            _checks.fail(ValueError, "features", "each column once", list(features))
        chosen = features
    if not chosen:
        _checks.fail(ValueError, source, "at least one feature column besides the target", available)
    return chosen


def _read_csv(source: str, delimiter: str) -> tuple:
    """``({name: list of cell strings}, lines)``: the header's columns and each row's line number."""
    with open(source, newline="", encoding="utf-8-sig") as file:
        reader = csv.reader(file, delimiter=delimiter)
        header = None
        rows, lines = [], []
        for row in reader:
            if not row or (len(row) == 1 and not row[0].strip()):
                continue  # a blank line
            if header is None:
                header = [name.strip() for name in row]
                _check_header(source, header)
                continue
            if len(row) != len(header):
                _checks.fail(ValueError, f"{source}, line {reader.line_num}",
                             f"{len(header)} fields, as the header has", f"{len(row)}")
            rows.append(row)
            lines.append(reader.line_num)
    if header is None:
        _checks.fail(ValueError, source, "a header row naming the columns", "an empty file")
    columns = {name: [row[j] for row in rows] for j, name in enumerate(header)}
    return columns, np.array(lines, dtype=np.int64)


def _check_header(source: str, header: list) -> None:
    if any(not name for name in header):
        _checks.fail(ValueError, f"{source}, line 1", "a header naming every column", header)
    seen = set()
    for name in header:
        if name in seen:
            _checks.fail(ValueError, f"{source}, header", "each column name once", f"{name!r} twice")
        seen.add(name)


def _read_npz(source: str, target: Optional[str]) -> dict:
    try:
        with np.load(source, allow_pickle=False) as archive:
            arrays = {key: archive[key] for key in archive.files}
    except (OSError, ValueError, EOFError) as error:
        _checks.fail(ValueError, source, "an .npz archive with arrays x and y", f"an unreadable file ({error})")
    if "x" not in arrays or (target is not None and "y" not in arrays):
        _checks.fail(ValueError, source, "arrays x (n, features)" + (" and y (n,)" if target is not None else ""),
                     f"arrays {sorted(arrays)}")
    x = arrays["x"]
    if x.ndim != 2:
        _checks.fail(ValueError, f"{source}: x", "a 2-D array (n, features)", f"shape {x.shape}")
    names = [f"f{j}" for j in range(x.shape[1])]
    if "columns" in arrays:
        names = [str(name) for name in np.asarray(arrays["columns"]).ravel()]
        if len(names) != x.shape[1]:
            _checks.fail(ValueError, f"{source}: columns", f"{x.shape[1]} names, one per column of x", len(names))
    _check_header(source, names)
    columns = {name: x[:, j] for j, name in enumerate(names)}
    if target is not None:
        y = arrays["y"]
        if y.shape != (x.shape[0],):
            _checks.fail(ValueError, f"{source}: y", f"shape ({x.shape[0]},), one value per row of x",
                         f"shape {y.shape}")
        if target in columns:
            _checks.fail(ValueError, "target", f"a name for y that no column of x has ({names})", repr(target))
        columns[target] = y
    return columns


def _read_parquet(source: str) -> dict:
    try:
        import pyarrow.parquet as parquet
        import pyarrow.types as types
    except ImportError:
        raise ImportError("reading Parquet needs pyarrow: pip install 'fnmlp[parquet]'") from None
    try:
        table = parquet.read_table(source)
    except Exception as error:  # pyarrow raises its own ArrowInvalid, OSError, ...
        _checks.fail(ValueError, source, "a Parquet file", f"an unreadable file ({type(error).__name__}: {error})")
    _check_header(source, list(table.column_names))
    columns = {}
    for name in table.column_names:
        column = table.column(name)
        kind = column.type
        if types.is_boolean(kind) or types.is_integer(kind) or types.is_floating(kind):
            if column.null_count and not types.is_floating(kind):
                column = column.cast("float64")
            values = column.to_numpy()
            columns[name] = values.astype(np.float64) if column.null_count else values
        else:
            columns[name] = np.array(column.to_pylist(), dtype=object)
    return columns


def _numeric(table: Table, name: str, column: Any) -> np.ndarray:
    """A feature column as float64 ``(n,)``, NaN where missing; see ``read_table`` for what is refused."""
    where = f"{table.source}, column {name!r}"
    hint = "numbers (leave the column out with features=[...])"
    if isinstance(column, list):
        try:
            values = np.array(column, dtype=np.float64)
        except ValueError:
            values = np.empty(len(column))
            for i, cell in enumerate(column):
                cell = cell.strip()
                try:
                    values[i] = float(cell) if cell else np.nan
                except ValueError:
                    _checks.fail(ValueError, where, hint, f"{cell!r} in {table.row_name(i)}")
    else:
        column = np.asarray(column)
        if column.dtype.kind not in "biuf":
            i = next((i for i, value in enumerate(column) if value is not None), 0)
            _checks.fail(ValueError, where, hint, f"{column[i]!r} in {table.row_name(i)}")
        values = column.astype(np.float64)
    finite = np.isfinite(values)
    if not finite.all():
        i = int(np.flatnonzero(~finite)[0])
        if not np.isnan(values[i]):
            _checks.fail(ValueError, where, "finite numbers", f"{values[i]} in {table.row_name(i)}")
        if table.impute is None:
            _checks.fail(ValueError, where, "a value in every row (or impute='mean' to fill gaps with the "
                         "training mean)", f"an empty cell or NaN in {table.row_name(i)}")
    return values


def _target_column(table: Table, column: Any) -> np.ndarray:
    """The target column as int64, float64, bool or str values; a missing value is refused."""
    where = f"{table.source}, target column {table.target!r}"
    if isinstance(column, list):
        cells = [cell.strip() for cell in column]
        missing = [i for i, cell in enumerate(cells) if not cell]
        if missing:
            _checks.fail(ValueError, where, "a value in every row", f"an empty cell in {table.row_name(missing[0])}")
        for kind in (int, float):
            try:
                column = np.array([kind(cell) for cell in cells])
                break
            except ValueError:
                pass
        else:
            column = np.array(cells, dtype=str)
    column = np.asarray(column)
    if column.dtype.kind == "O":
        bad = [i for i, v in enumerate(column) if not isinstance(v, str)]
        if bad:
            _checks.fail(ValueError, where, "strings or numbers, a value in every row",
                         f"{column[bad[0]]!r} in {table.row_name(bad[0])}")
        column = column.astype(str)
    if column.dtype.kind == "f":
        finite = np.isfinite(column)
        if not finite.all():
            i = int(np.flatnonzero(~finite)[0])
            _checks.fail(ValueError, where, "a finite value in every row", f"{column[i]} in {table.row_name(i)}")
        return column.astype(np.float64)
    if column.dtype.kind in "iu":
        return column.astype(np.int64)
    if column.dtype.kind in "bU":
        return column
    if column.dtype.kind == "S":
        return column.astype(str)
    _checks.fail(ValueError, where, "numbers, booleans or strings", f"dtype {column.dtype}")


def infer_task(target_values: Any) -> str:
    """``"classify"`` or ``"regress"`` for a target column ``(n,)``: strings and booleans are classes,
    so are integers with at most ``MAX_CLASSES`` distinct values and fewer distinct values than half
    the rows; other integers and every float column are regression targets."""
    values = np.asarray(target_values)
    if values.ndim != 1 or values.size == 0:
        _checks.fail(ValueError, "target_values", "a 1-D column of at least one value", f"shape {values.shape}")
    kind = values.dtype.kind
    if kind in "USbO":
        return "classify"
    if kind in "iu":
        distinct = np.unique(values).size
        return "classify" if distinct <= MAX_CLASSES and distinct < 0.5 * values.size else "regress"
    if kind == "f":
        return "regress"
    _checks.fail(TypeError, "target_values", "numbers, booleans or strings", f"dtype {values.dtype}")


def encode_labels(target_values: Any) -> tuple:
    """``(indices, classes)``: ``classes`` the sorted distinct values as a tuple of Python ``str``,
    ``int``, ``float`` or ``bool`` (JSON-ready), ``indices`` int64 ``(n,)`` with
    ``classes[indices[i]] == target_values[i]``. Fewer than two classes is a ``ValueError``."""
    values = np.asarray(target_values)
    if values.ndim != 1 or values.size == 0:
        _checks.fail(ValueError, "target_values", "a 1-D column of at least one value", f"shape {values.shape}")
    if values.dtype.kind == "f" and not np.isfinite(values).all():
        _checks.fail(ValueError, "target_values", "finite class values", "NaN or infinity")
    classes, indices = np.unique(values, return_inverse=True)
    if classes.size < 2:
        _checks.fail(ValueError, "target_values", "at least two classes to tell apart",
                     f"only {classes[0].item()!r}")
    return indices.astype(np.int64).reshape(-1), tuple(value.item() for value in classes)


def decode_labels(indices: Any, classes: Sequence) -> np.ndarray:
    """The class values ``(n,)`` of class indices ``(n,)``: ``np.array(classes)[indices]``."""
    indices = np.asarray(indices)
    if indices.dtype.kind not in "iu":
        _checks.fail(TypeError, "indices", "integer class indices", f"dtype {indices.dtype}")
    if indices.size and (indices.min() < 0 or indices.max() >= len(classes)):
        _checks.fail(ValueError, "indices", f"class indices in 0..{len(classes) - 1}",
                     f"values in {indices.min()}..{indices.max()}")
    return np.array(list(classes))[indices]


def match_columns(table_columns: Sequence[str], expected_features: Sequence[str]) -> np.ndarray:
    """int64 ``(k,)`` positions in ``table_columns`` of each of ``expected_features``, so that
    ``x[:, match_columns(columns, expected)]`` has the expected columns in the expected order.

    A column the features need but the table lacks, or one the table has besides them, is a
    ``ValueError`` naming it."""
    table_columns, expected_features = list(table_columns), list(expected_features)
    missing = [name for name in expected_features if name not in table_columns]
    if missing:
        _checks.fail(ValueError, "columns", f"the network's features {expected_features}",
                     f"no column {missing[0]!r}" + (f" (nor {missing[1:]})" if len(missing) > 1 else ""))
    extra = [name for name in table_columns if name not in expected_features]
    if extra:
        _checks.fail(ValueError, "columns", f"only the network's features {expected_features} (leave the others "
                     "out with features=[...])", f"also {extra[0]!r}" + (f" and {extra[1:]}" if len(extra) > 1 else ""))
    return np.array([table_columns.index(name) for name in expected_features], dtype=np.int64)
