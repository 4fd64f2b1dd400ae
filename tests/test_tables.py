"""Reading labelled tables (CSV, .npz, Parquet), splitting, imputing and standardising them."""

import json
import sys

import numpy as np
import pytest

import fnmlp
from fnmlp.datasets.table_data import (Preprocessing, feature_stats, prepare_table, split_table, standardize_features)
from fnmlp.datasets.tables import decode_labels, encode_labels, infer_task, match_columns, read_table

IRIS_LIKE = """\
sepal,petal,colour,species
5.1,1.4,red,setosa
4.9,1.3,red,setosa

6.2,4.5,blue,versicolor
5.9,4.2,blue,versicolor
7.1,6.0,green,virginica
6.8,5.7,green,virginica
"""


def write(tmp_path, text, name="data.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_csv_with_string_labels(tmp_path):
    table = read_table(write(tmp_path, IRIS_LIKE), target="species", features=["sepal", "petal"])
    assert table.features == ("sepal", "petal")
    np.testing.assert_array_equal(table.x[2], [6.2, 4.5])
    assert table.x.dtype == np.float64 and not table.x.flags.writeable
    assert list(table.y) == ["setosa", "setosa", "versicolor", "versicolor", "virginica", "virginica"]
    assert table.lines.tolist() == [2, 3, 5, 6, 7, 8]  # the blank line 4 is skipped
    assert infer_task(table.y) == "classify"
    indices, classes = encode_labels(table.y)
    assert classes == ("setosa", "versicolor", "virginica")
    assert indices.tolist() == [0, 0, 1, 1, 2, 2]
    assert json.loads(json.dumps(classes)) == list(classes)
    assert decode_labels(indices, classes).tolist() == list(table.y)


def test_other_delimiter_and_every_column_but_the_target(tmp_path):
    table = read_table(write(tmp_path, "a;b;y\n1;2;0\n3;4;1\n"), target="y", delimiter=";")
    assert table.features == ("a", "b")
    np.testing.assert_array_equal(table.x, [[1, 2], [3, 4]])
    assert table.y.dtype == np.int64 and table.y.tolist() == [0, 1]


def test_missing_target_names_it_and_lists_the_columns(tmp_path):
    with pytest.raises(ValueError, match=r"^target: .*\['sepal', 'petal', 'colour', 'species'\]\), got 'label'$"):
        read_table(write(tmp_path, IRIS_LIKE), target="label")


def test_non_numeric_feature_names_the_column_and_features(tmp_path):
    with pytest.raises(ValueError, match=r"column 'colour'.*features=.*'red' in line 2"):
        read_table(write(tmp_path, IRIS_LIKE), target="species")


def test_ragged_row_names_its_line(tmp_path):
    text = "a,b,y\n1,2,0\n\n3,4,5,1\n"
    with pytest.raises(ValueError, match=r"line 4: expected 3 fields.*got 4"):
        read_table(write(tmp_path, text), target="y")


@pytest.mark.parametrize("cell", ["", "nan", "NaN"])
def test_missing_cell_names_row_and_column(tmp_path, cell):
    text = f"a,b,y\n1,2,0\n3,{cell},1\n5,6,0\n"
    with pytest.raises(ValueError, match=r"column 'b'.*impute='mean'.*line 3"):
        read_table(write(tmp_path, text), target="y")


def test_missing_target_cell_is_refused(tmp_path):
    with pytest.raises(ValueError, match=r"target column 'y'.*line 3"):
        read_table(write(tmp_path, "a,y\n1,cat\n2,\n"), target="y")


def test_impute_mean_uses_the_train_split_only(tmp_path):
    # 20 rows; column a has a gap in row 0 and a huge value; whichever split that value lands in,
    # the fill is the mean over train rows with a value, nothing else.
    rows = [f"{'' if i == 0 else (1000 if i == 7 else i)},{i % 3},{i % 2}" for i in range(20)]
    table = read_table(write(tmp_path, "a,b,y\n" + "\n".join(rows) + "\n"), target="y", impute="mean")
    assert np.isnan(table.x[0, 0]) and table.impute == "mean"
    data = prepare_table(table, validation_fraction=0.25, test_fraction=0.25, seed=3)
    train = data.rows[0]
    column = table.x[train, 0]
    expected = column[~np.isnan(column)].mean()
    assert data.preprocessing.fill[0] == pytest.approx(expected)
    assert data.preprocessing.fill[1] == pytest.approx(table.x[train, 1].mean())
    filled = np.where(np.isnan(table.x), data.preprocessing.fill, table.x)
    mean, std = feature_stats(filled[train])
    np.testing.assert_allclose(data.preprocessing.mean, mean)
    for split, rows_ in zip((data.train, data.validation, data.test), data.rows):
        np.testing.assert_allclose(split.x, (filled[rows_] - mean) / std)
    assert np.isfinite(data.train.x).all() and np.isfinite(data.test.x).all()
    # a column with no train value cannot be imputed
    table2 = read_table(write(tmp_path, "a,y\n,0\n,1\n,0\n,1\n", "empty.csv"), target="y", impute="mean")
    with pytest.raises(ValueError, match=r"column 'a'.*at least one train row"):
        prepare_table(table2, validation_fraction=0.0, test_fraction=0.0)


def test_stratified_split_keeps_class_proportions():
    labels = np.repeat([0, 1, 2], [60, 30, 10])
    train, val, test = split_table(100, validation_fraction=0.2, test_fraction=0.1, seed=7, stratify=labels)
    assert np.array_equal(np.sort(np.concatenate([train, val, test])), np.arange(100))
    assert [np.bincount(labels[part], minlength=3).tolist() for part in (train, val, test)] == \
        [[42, 21, 7], [12, 6, 2], [6, 3, 1]]
    again = split_table(100, validation_fraction=0.2, test_fraction=0.1, seed=7, stratify=labels)
    assert all(np.array_equal(a, b) for a, b in zip((train, val, test), again))
    other = split_table(100, validation_fraction=0.2, test_fraction=0.1, seed=8, stratify=labels)
    assert not np.array_equal(other[2], test)


def test_split_rounding_keeps_a_train_row_per_class_and_refuses_too_few_rows():
    labels = np.array([0, 0, 0, 1, 1])
    train, val, test = split_table(5, validation_fraction=0.2, test_fraction=0.2, seed=0, stratify=labels)
    assert (len(train), len(val), len(test)) == (3, 1, 1)
    assert set(labels[train]) == {0, 1}
    with pytest.raises(ValueError, match="num_rows.*test split"):
        split_table(4, validation_fraction=0.1, test_fraction=0.1)
    with pytest.raises(ValueError, match="num_rows.*each of the 2 classes"):
        split_table(4, validation_fraction=0.25, test_fraction=0.5, stratify=np.array([0, 0, 0, 1]))
    with pytest.raises(ValueError, match="validation_fraction"):
        split_table(10, validation_fraction=1.2)


def test_unstratified_split_sizes():
    train, val, test = split_table(10, validation_fraction=0.2, test_fraction=0.3, seed=1)
    assert (len(train), len(val), len(test)) == (5, 2, 3)
    assert np.array_equal(np.sort(np.concatenate([train, val, test])), np.arange(10))


def test_feature_stats_constant_column_and_standardize():
    x = np.array([[1.0, 5.0], [3.0, 5.0]])
    mean, std = feature_stats(x)
    np.testing.assert_array_equal(mean, [2.0, 5.0])
    np.testing.assert_array_equal(std, [1.0, 1.0])
    np.testing.assert_array_equal(standardize_features(x, mean, std), [[-1.0, 0.0], [1.0, 0.0]])


def test_npz_with_and_without_column_names(tmp_path):
    x = np.arange(12.0).reshape(6, 2)
    np.savez(tmp_path / "plain.npz", x=x, y=np.array([1.5, 2.5, 3.0, 4.0, 5.0, 6.5]))
    table = read_table(tmp_path / "plain.npz", target="price")
    assert table.features == ("f0", "f1") and table.target == "price"
    np.testing.assert_array_equal(table.x, x)
    assert infer_task(table.y) == "regress"
    assert table.row_name(3) == "row 3"
    np.savez(tmp_path / "named.npz", x=x, y=np.array(["a", "b"] * 3), columns=np.array(["h", "w"]))
    table = read_table(tmp_path / "named.npz", target="kind", features=["w"])
    assert table.features == ("w",)
    np.testing.assert_array_equal(table.x[:, 0], x[:, 1])
    assert table.y.tolist() == ["a", "b"] * 3
    x_nan = x.copy()
    x_nan[4, 1] = np.nan
    np.savez(tmp_path / "gap.npz", x=x_nan, y=np.zeros(6))
    with pytest.raises(ValueError, match=r"column 'f1'.*row 4"):
        read_table(tmp_path / "gap.npz", target="y")


def test_parquet(tmp_path):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    data = pa.table({"size": [1.0, 2.0, None, 4.0], "rooms": [1, 2, 3, 4], "city": ["x", "y", "x", "y"],
                     "label": ["cheap", "dear", "cheap", "dear"]})
    path = tmp_path / "houses.parquet"
    pq.write_table(data, path)
    with pytest.raises(ValueError, match=r"column 'size'.*row 2"):
        read_table(path, target="label", features=["size", "rooms"])
    with pytest.raises(ValueError, match=r"column 'city'.*features=.*'x' in row 0"):
        read_table(path, target="label", features=["rooms", "city"])
    table = read_table(path, target="label", features=["rooms", "size"], impute="mean")
    np.testing.assert_array_equal(table.x[:, 0], [1, 2, 3, 4])
    assert np.isnan(table.x[2, 1])
    assert table.y.tolist() == ["cheap", "dear", "cheap", "dear"]


def test_parquet_without_pyarrow(tmp_path, monkeypatch):
    path = write(tmp_path, "not really", "t.parquet")
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    with pytest.raises(ImportError, match=r"^reading Parquet needs pyarrow: pip install 'fnmlp\[parquet\]'$"):
        read_table(path, target="y")


@pytest.mark.parametrize("values, task", [
    (["a", "b", "a"], "classify"),
    ([True, False, True], "classify"),
    ([0, 1, 0, 1, 1, 0], "classify"),
    ([0, 1, 2], "regress"),  # three values in three rows: not fewer than half the rows
    (list(range(21)) * 3, "regress"),  # 21 distinct integers
    (list(range(20)) * 3, "classify"),
    ([0.0, 1.0, 0.0, 1.0], "regress"),
    ([1.5, 2.5], "regress"),
])
def test_infer_task(values, task):
    assert infer_task(np.array(values)) == task


def test_encode_labels_refuses_one_class_and_keeps_json_types():
    with pytest.raises(ValueError, match="at least two classes.*'cat'"):
        encode_labels(np.array(["cat", "cat"]))
    indices, classes = encode_labels(np.array([3, 1, 3, 2]))
    assert classes == (1, 2, 3) and all(type(c) is int for c in classes)
    assert indices.tolist() == [2, 0, 2, 1]
    _, classes = encode_labels(np.array([True, False]))
    assert classes == (False, True) and json.dumps(list(classes)) == "[false, true]"


def test_match_columns():
    np.testing.assert_array_equal(match_columns(["b", "c", "a"], ["a", "b", "c"]), [2, 0, 1])
    with pytest.raises(ValueError, match="no column 'c'"):
        match_columns(["a", "b"], ["a", "b", "c"])
    with pytest.raises(ValueError, match="also 'd'"):
        match_columns(["a", "b", "d"], ["a", "b"])


def test_classification_table_trains_as_a_dataset(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(90, 2)) * [1.0, 50.0] + [0.0, 300.0]
    species = np.where(x[:, 0] > 0.3, "b", "a")
    text = "u,v,kind\n" + "".join(f"{a},{b},{k}\n" for (a, b), k in zip(x, species))
    table = read_table(write(tmp_path, text), target="kind")
    data = prepare_table(table, seed=0)
    dataset = data.to_dataset()
    assert isinstance(dataset, fnmlp.Dataset) and dataset.num_classes == 2
    assert (dataset.pixel_mean, dataset.pixel_std) == (0.0, 1.0)
    np.testing.assert_allclose(data.train.x.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(data.train.x.std(axis=0), 1.0)
    spec = fnmlp.MLPSpec((2, 8, 2), ("tanh", "identity"))
    params, state = fnmlp.init_params(spec, 0, weight_init="xavier")
    result = fnmlp.fit(spec, params, state, fnmlp.adam(0.05), data.train, data.validation, epochs=30,
                       batch_size=16, rng=0)
    outputs = fnmlp.predict(spec, result.params, result.bn_state, data.preprocessing.inputs(table))
    assert (data.preprocessing.targets(outputs) == species).mean() > 0.9


def test_regression_target_scaled_and_preprocessing_round_trips(tmp_path):
    x = np.arange(40.0).reshape(20, 2)
    np.savez(tmp_path / "r.npz", x=x, y=1000.0 + 10.0 * x[:, 0])
    table = read_table(tmp_path / "r.npz", target="price")
    data = prepare_table(table, validation_fraction=0.2, test_fraction=0.2, seed=0)
    prep = data.preprocessing
    assert data.task == "regress" and data.num_classes is None and data.num_outputs == 1
    assert data.train.y.mean() == pytest.approx(0.0) and data.train.y.std() == pytest.approx(1.0)
    np.testing.assert_allclose(prep.targets(data.test.y[:, None]).ravel(), table.y[data.rows[2]])
    with pytest.raises(ValueError, match="regression table"):
        data.to_dataset()
    again = Preprocessing.from_dict(json.loads(json.dumps(prep.to_dict())))
    np.testing.assert_array_equal(again.inputs(table), prep.inputs(table))
    assert (again.target_mean, again.target_std, again.task) == (prep.target_mean, prep.target_std, "regress")
