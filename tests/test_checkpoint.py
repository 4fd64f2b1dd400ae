"""Checkpoints: exact round trips, resuming bit for bit, rejected files, atomic replacement."""

import copy
import json
import os
import re
import stat
import sys
import zipfile

import attrs
import numpy as np
import pytest

import fnmlp
from fnmlp.runs import checkpoint
from fnmlp.training import fit, fit_from
from helpers import random_problem, sgd_state

META = {"config": {"hidden": [10, 8], "lr": 0.05}, "history": [{"epoch": 1, "val_loss": float("nan")}],
        "seed": 11785, "note": "r\u00e9sum\u00e9"}


def spec_with(num_bn):
    return fnmlp.MLPSpec.from_hidden_sizes(6, [5, 4], 3, activation="tanh", num_bn_layers=num_bn)


def arrays_of(num_bn, dtype):
    """Spec, params, BatchNorm state and a non-zero optimizer state, all of ``dtype``."""
    spec = spec_with(num_bn)
    params, state = fnmlp.astype(random_problem(spec, 4, seed=num_bn)[:2], dtype)
    velocity = fnmlp.tree_map(lambda a: a * np.asarray(-0.01, dtype), params)
    return spec, params, state, sgd_state(velocity)


def assert_identical(loaded, saved):
    assert fnmlp.tree_allclose(loaded, saved, rtol=0, atol=0)
    for a, b in zip(fnmlp.tree_leaves(loaded), fnmlp.tree_leaves(saved)):
        assert a.dtype == b.dtype and not a.flags.writeable
        np.testing.assert_array_equal(a, b)


def same_meta(loaded, saved):
    return json.dumps(loaded, sort_keys=True) == json.dumps(saved, sort_keys=True)  # NaN != NaN


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("num_bn", [0, 2])
def test_checkpoint_round_trip_is_exact(tmp_path, dtype, num_bn):
    spec, params, state, opt_state = arrays_of(num_bn, dtype)
    path = tmp_path / "model.npz"
    fnmlp.save_checkpoint(path, spec, params, state, opt_state, META)
    loaded_spec, loaded_params, loaded_state, loaded_opt_state, meta = fnmlp.load_checkpoint(path)
    assert loaded_spec == spec
    assert_identical(loaded_params, params)
    assert_identical(loaded_state, state)
    assert_identical(loaded_opt_state, opt_state)
    assert same_meta(meta, META) and np.isnan(meta["history"][0]["val_loss"])
    assert_identical(fnmlp.load_params(path)[1], params)
    with np.load(path, allow_pickle=False) as npz:
        assert len(npz.files) == 1 + 2 * len(fnmlp.tree_leaves(params)) + len(fnmlp.tree_leaves(state))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_params_file_holds_the_network_and_no_optimizer_state(tmp_path, dtype):
    spec, params, state, _ = arrays_of(1, dtype)
    path = tmp_path / "params.npz"
    fnmlp.save_params(path, spec, params, state)
    loaded_spec, loaded_params, loaded_state, meta = fnmlp.load_params(path)
    assert (loaded_spec, meta) == (spec, {})
    assert_identical(loaded_params, params)
    assert_identical(loaded_state, state)
    assert fnmlp.load_checkpoint(path)[3] is None
    with pytest.raises(ValueError, match="expected training state, got a parameters-only checkpoint"):
        fnmlp.load_train_state(path)
    logits = fnmlp.predict(spec, params, state, np.ones((2, 6), dtype))
    np.testing.assert_array_equal(fnmlp.predict(loaded_spec, loaded_params, loaded_state, np.ones((2, 6), dtype)),
                                  logits)


def test_the_file_gets_exactly_the_name_given(tmp_path):
    spec, params, state, _ = arrays_of(0, np.float64)
    fnmlp.save_params(str(tmp_path / "weights.bin"), spec, params, state)
    assert os.listdir(tmp_path) == ["weights.bin"]
    assert_identical(fnmlp.load_params(str(tmp_path / "weights.bin"))[1], params)


def generators():
    with_gauss = np.random.RandomState(3)
    with_gauss.standard_normal()  # caches the second Box-Muller value: has_gauss = 1
    return {"RandomState": np.random.RandomState(7), "RandomState with a cached gaussian": with_gauss,
            "Generator PCG64": np.random.default_rng(5), "Generator Philox": np.random.Generator(np.random.Philox(9)),
            "RandomState on PCG64": np.random.RandomState(np.random.PCG64(2))}


def draws(rng):
    return np.concatenate([rng.standard_normal(3), rng.random(5), rng.permutation(20)])


@pytest.mark.parametrize("name", list(generators()))
def test_train_state_round_trip_continues_the_same_random_stream(tmp_path, name):
    rng = generators()[name]
    draws(rng)
    spec, params, state, opt_state = arrays_of(1, np.float32)
    order = np.random.default_rng(0).permutation(30)
    saved = fnmlp.TrainState(params, state, opt_state, 4, order, rng)
    optimizer = fnmlp.sgd(0.05, 0.9)
    fnmlp.save_train_state(tmp_path / "ckpt.npz", spec, optimizer, saved, META)
    loaded_spec, loaded_optimizer, loaded, meta = fnmlp.load_train_state(tmp_path / "ckpt.npz")
    assert (loaded_spec, loaded_optimizer, loaded.epoch) == (spec, optimizer, 4)
    assert same_meta(meta, META)
    for field in ("params", "bn_state", "opt_state"):
        assert_identical(getattr(loaded, field), getattr(saved, field))
    assert loaded.order.dtype == order.dtype and not loaded.order.flags.writeable
    np.testing.assert_array_equal(loaded.order, order)
    assert type(loaded.rng) is type(rng) and loaded.rng is not rng
    np.testing.assert_array_equal(draws(loaded.rng), draws(copy.deepcopy(rng)))
    assert_identical(fnmlp.load_checkpoint(tmp_path / "ckpt.npz")[3], opt_state)


def problem(n=120, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 6))
    return x, (x @ rng.standard_normal((6, 3))).argmax(axis=1)


@pytest.mark.parametrize("dtype, rng", [(np.float32, lambda: 4), (np.float64, lambda: np.random.default_rng(4))],
                         ids=["float32-RandomState", "float64-Generator"])
def test_resuming_from_a_checkpoint_equals_training_without_a_break(tmp_path, dtype, rng):
    x, labels = problem()
    x = x.astype(dtype)
    spec = spec_with(1)
    params, state = fnmlp.init_params(spec, 1, weight_init="lecun", dtype=dtype)
    optimizer = fnmlp.sgd(0.05, 0.9)
    data = dict(train=(x[:100], labels[:100]), validation=(x[100:], labels[100:]))
    whole = fit(spec, params, state, optimizer, **data, epochs=5, batch_size=16, rng=rng())

    def save_each_epoch(stats, train_state):
        fnmlp.save_train_state(tmp_path / f"epoch{stats.epoch}.npz", spec, optimizer, train_state,
                               {"history": [stats.val_loss]})

    fit(spec, params, state, optimizer, **data, epochs=3, batch_size=16, rng=rng(), on_epoch=save_each_epoch)
    loaded_spec, loaded_optimizer, start, meta = fnmlp.load_train_state(tmp_path / "epoch2.npz")
    assert meta == {"history": [whole.history[1].val_loss]}
    resumed = fit_from(loaded_spec, loaded_optimizer, start, **data, epochs=5, batch_size=16)
    assert [s.val_loss for s in resumed.history] == [s.val_loss for s in whole.history[2:]]
    assert [s.train_loss for s in resumed.history] == [s.train_loss for s in whole.history[2:]]
    for a, b in zip(fnmlp.tree_leaves(resumed.final), fnmlp.tree_leaves(whole.final)):
        if isinstance(a, np.ndarray):
            assert a.dtype == b.dtype
            np.testing.assert_array_equal(a, b)


OPTIMIZERS = {
    "adam, warm-up and cosine": lambda: fnmlp.adam(fnmlp.optimizers.warmup_cosine_decay(0.02, 4, 30)),
    "adamw on every array": lambda: fnmlp.adamw(1e-2, weight_decay=0.1, mask=fnmlp.Params(W=[True] * 3, b=[True] * 3,
                                                                                         gamma=[True], beta=[True])),
    "nesterov sgd, decay, step schedule, clipping": lambda: fnmlp.optimizers.Optimizer(fnmlp.optimizers.chain(
        fnmlp.optimizers.clip_by_global_norm(2.0),
        fnmlp.sgd(fnmlp.optimizers.piecewise_constant([10], [0.1, 0.02]), 0.9, True, 1e-3).transform)),
}


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_resuming_any_optimizer_with_early_stopping_from_a_checkpoint_is_bit_identical(tmp_path, name):
    x, labels = problem()
    spec = spec_with(1)
    params, state = fnmlp.init_params(spec, 1, weight_init="lecun")
    optimizer, stopping = OPTIMIZERS[name](), fnmlp.EarlyStopping(2, monitor="val_error")
    data = dict(train=(x[:100], labels[:100]), validation=(x[100:], labels[100:]))
    whole = fit(spec, params, state, optimizer, **data, epochs=6, batch_size=16, rng=3, early_stopping=stopping)

    def save_each_epoch(stats, train_state):
        fnmlp.save_train_state(tmp_path / f"epoch{stats.epoch}.npz", spec, optimizer, train_state)

    fit(spec, params, state, optimizer, **data, epochs=3, batch_size=16, rng=3, early_stopping=stopping,
        on_epoch=save_each_epoch)
    _, loaded_optimizer, start, _ = fnmlp.load_train_state(tmp_path / "epoch2.npz")
    assert loaded_optimizer == optimizer and start.early_stopping.best_epoch in (1, 2)
    resumed = fit_from(spec, loaded_optimizer, start, **data, epochs=6, batch_size=16, early_stopping=stopping)
    assert [attrs.evolve(s, seconds=0) for s in resumed.history] == [
        attrs.evolve(s, seconds=0) for s in whole.history[2:]]
    assert resumed.best_epoch == whole.best_epoch
    for a, b in zip(fnmlp.tree_leaves((resumed.final, resumed.params)), fnmlp.tree_leaves((whole.final, whole.params))):
        if isinstance(a, np.ndarray):
            assert a.dtype == b.dtype
            np.testing.assert_array_equal(a, b)
    assert resumed.final.dropout_rng.random() == whole.final.dropout_rng.random()


def test_an_optimizer_with_a_users_function_is_refused_before_writing(tmp_path):
    spec, params, state, _ = arrays_of(1, np.float64)
    optimizer = fnmlp.adam(lambda step: 0.01)
    train_state = fnmlp.initial_state(params, state, optimizer, 5, 0)
    with pytest.raises(TypeError, match=r"^optimizer\.transform\.transforms\[1\]\.schedule: expected a value a "
                                        r"checkpoint can store"):
        fnmlp.save_train_state(tmp_path / "ckpt.npz", spec, optimizer, train_state)
    assert not os.listdir(tmp_path)


def test_a_version_1_checkpoint_still_loads_as_sgd(tmp_path):
    spec, params, state, opt_state = arrays_of(1, np.float64)
    path = tmp_path / "v1.npz"
    fnmlp.save_train_state(path, spec, fnmlp.sgd(0.05, 0.9),
                           fnmlp.TrainState(params, state, opt_state, 3, np.arange(10), np.random.RandomState(0)))

    def as_version_1(header, arrays):
        header["version"] = 1
        header["opt_state"] = True
        header["train"]["optimizer"] = {"type": "SGD", "lr": 0.05, "momentum": 0.9}
        for key in ("dropout_rng", "early_stopping"):
            del header["train"][key]
        for name in list(arrays):
            if name.startswith("opt_state.1.trace."):
                arrays["opt_state.velocity." + name[len("opt_state.1.trace."):]] = arrays.pop(name)

    rewrite(path, as_version_1)
    _, optimizer, loaded, _ = fnmlp.load_train_state(path)
    assert optimizer == fnmlp.sgd(0.05, 0.9) and loaded.dropout_rng is None and loaded.early_stopping is None
    assert_identical(loaded.opt_state, opt_state)


def saved_train_state(tmp_path):
    spec, params, state, opt_state = arrays_of(1, np.float64)
    path = tmp_path / "train.npz"
    train_state = fnmlp.TrainState(params, state, opt_state, 2, np.arange(10), np.random.RandomState(0))
    fnmlp.save_train_state(path, spec, fnmlp.sgd(0.1), train_state, META)
    return path


def raises_naming(path, match=""):
    return pytest.raises(ValueError, match=re.escape(f"{path}: ") + match)


def test_truncated_or_corrupted_files_are_rejected(tmp_path):
    path = saved_train_state(tmp_path)
    whole = path.read_bytes()
    for cut in (1, 4, 30, 100, len(whole) // 3, len(whole) // 2, len(whole) - 22, len(whole) - 1):
        path.write_bytes(whole[:cut])
        with raises_naming(path, "expected an fnmlp checkpoint"):
            fnmlp.load_train_state(path)
        with raises_naming(path):
            fnmlp.load_params(path)
    flipped = bytearray(whole)
    at = whole.index(b"\x93NUMPY", whole.index(b"params.W.0.npy")) + 130
    flipped[at] ^= 0xFF
    path.write_bytes(bytes(flipped))
    with raises_naming(path, r"expected an fnmlp checkpoint \(an npz file\), got an unreadable npz \(Bad CRC"):
        fnmlp.load_checkpoint(path)


def test_foreign_files_are_rejected(tmp_path):
    cases = {
        "empty.npz": (lambda p: p.write_bytes(b""), "got an empty file"),
        "text.npz": (lambda p: p.write_text("W = [[1, 2], [3, 4]]\n"), "not a complete zip archive"),
        "array.npy": (lambda p: np.save(p, np.ones(3)), "not a complete zip archive"),
        "plain.npz": (lambda p: np.savez(p, W=np.ones((2, 2))), r"without the 'fnmlp.json' header, holding \['W'\]"),
        "pickled.npz": (lambda p: np.savez(p, fnmlp_json=np.array([{}], dtype=object)), "allow_pickle"),
        "other.zip": (lambda p: write_zip(p, {"fnmlp.json.npy": "{}"}), "which is not"),
    }
    for name, (write, message) in cases.items():
        path = tmp_path / name
        write(path)
        for load in (fnmlp.load_checkpoint, fnmlp.load_params, fnmlp.load_train_state):
            with raises_naming(path, f"expected .*{message}"):
                load(path)
    with pytest.raises(FileNotFoundError):
        fnmlp.load_params(tmp_path / "missing.npz")


def write_zip(path, members):
    with zipfile.ZipFile(path, "w") as archive:
        for name, text in members.items():
            archive.writestr(name, text)


def rewrite(path, edit):
    """Rewrite the checkpoint at ``path`` after ``edit(header, arrays)`` changed its contents (an
    ``arrays["fnmlp.json"]`` that ``edit`` sets replaces the header)."""
    with np.load(path) as npz:
        arrays = {name: npz[name] for name in npz.files}
    header = json.loads(arrays.pop("fnmlp.json").tobytes())
    edit(header, arrays)
    arrays.setdefault("fnmlp.json", np.frombuffer(json.dumps(header).encode(), np.uint8))
    with open(path, "wb") as file:
        np.savez(file, **arrays)


def set_in(mapping, keys, value):
    for key in keys[:-1]:
        mapping = mapping[key]
    mapping[keys[-1]] = value


TAMPERING = {
    "wider spec": (lambda h, a: set_in(h, ["spec", "layer_sizes"], [6, 7, 4, 3]),
                   r"params.W\[0\]: expected shape \(6, 7\), got shape \(6, 5\)"),
    "fewer BatchNorm layers": (lambda h, a: set_in(h, ["spec", "num_bn_layers"], 0),
                               r"opt_state\[1\]\.trace\.gamma: expected 0 arrays"),
    "missing array": (lambda h, a: a.pop("params.b.1"), "array 'params.b.1' is missing"),
    "integer weights": (lambda h, a: set_in(a, ["params.W.1"], a["params.W.1"].astype(int)),
                        r"params.W\[1\]: expected dtype float32 or float64, got int64"),
    "bad velocity": (lambda h, a: set_in(a, ["opt_state.1.trace.b.0"], np.zeros(2)),
                     r"opt_state\[1\]\.trace\.b\[0\]: expected shape \(5,\)"),
    "invalid spec": (lambda h, a: set_in(h, ["spec", "activations"], ["tanh", "identity"]),
                     "expected a valid spec, got activations"),
    "newer version": (lambda h, a: set_in(h, ["version"], checkpoint.VERSION + 1),
                      f"expected format version {checkpoint.VERSION} or older, got version "
                      f"{checkpoint.VERSION + 1} \\(written by a newer fnmlp\\)"),
    "other format": (lambda h, a: set_in(h, ["format"], "somebody-else"), "is not an fnmlp header"),
    "no meta": (lambda h, a: h.pop("meta"), "expected a header with 'meta', got None"),
    "header not JSON": (lambda h, a: set_in(a, ["fnmlp.json"], np.frombuffer(b"{oops", np.uint8)),
                        "expected a UTF-8 JSON 'fnmlp.json'"),
    "order not a permutation": (lambda h, a: set_in(a, ["order"], np.zeros(10, int)),
                                r"order: expected a permutation of 0..9"),
    "float order": (lambda h, a: set_in(a, ["order"], np.arange(10.0)), "order: expected a 1-D integer array"),
    "unknown generator": (lambda h, a: set_in(h, ["train", "rng", "state", "bit_generator"], "Lehmer"),
                          "expected a valid training state, got rng: expected a bit generator among .*, got 'Lehmer'"),
    "missing generator key": (lambda h, a: a.pop("rng.state.key"), "array 'rng.state.key' is missing"),
    "no optimizer state": (lambda h, a: set_in(h, ["opt_state"], None),
                           "opt_state: expected the optimizer state of the training state, got none"),
    "unknown optimizer": (lambda h, a: set_in(h, ["train", "optimizer", "type"], "Adam"),
                          r"optimizer: expected one of \['AddDecayedWeights', .*\], got 'Adam'"),
    "no epoch": (lambda h, a: h["train"].pop("epoch"), "expected a valid training state, got no 'epoch' entry"),
    "negative learning rate": (lambda h, a: set_in(h, ["train", "optimizer", "transform", "transforms", 0, "lr"], -1.0),
                               "lr: expected"),
    "unknown optimizer field": (lambda h, a: set_in(h, ["train", "optimizer", "lr"], 0.1),
                                r"optimizer\.lr: expected a field of Optimizer among \['transform'\]"),
    "a state that does not fit the optimizer": (
        lambda h, a: set_in(h, ["train", "optimizer"], fnmlp.optimizers.serialization.to_json(fnmlp.adam(0.1))),
        r"opt_state\[0\]: expected a AdamState, got EmptyState"),
}


@pytest.mark.parametrize("case", list(TAMPERING))
def test_checkpoints_that_do_not_fit_their_header_are_rejected(tmp_path, case):
    path = saved_train_state(tmp_path)
    fnmlp.load_train_state(path)
    edit, message = TAMPERING[case]
    rewrite(path, edit)
    with raises_naming(path, ".*" + message):
        fnmlp.load_train_state(path)


def snapshot(directory):
    return {name: (directory / name).read_bytes() for name in os.listdir(directory)}


def test_saving_checks_everything_before_touching_the_file_system(tmp_path):
    spec, params, state, opt_state = arrays_of(1, np.float64)
    path = tmp_path / "ckpt.npz"
    fnmlp.save_checkpoint(path, spec, params, state, opt_state, META)
    before = snapshot(tmp_path)
    other_spec = spec_with(0)
    train_state = fnmlp.TrainState(params, state, opt_state, 1, np.arange(5), np.random.RandomState(0))
    cases = [
        (lambda p: fnmlp.save_checkpoint(p, spec, params, state, opt_state, {"lr": np.float32(0.1)}), TypeError,
         r"meta: expected a JSON-serialisable dict, got .*float32 is not JSON serializable"),
        (lambda p: fnmlp.save_params(p, spec, params, state, {"tags": {"a", "b"}}), TypeError,
         "meta: expected a JSON-serialisable dict"),
        (lambda p: fnmlp.save_params(p, spec, params, state, {(1, 2): "pair"}), TypeError,
         "meta: expected a JSON-serialisable dict"),
        (lambda p: fnmlp.save_params(p, spec, params, state, [1, 2]), TypeError,
         r"meta: expected a JSON-serialisable dict, got \[1, 2\]"),
        (lambda p: fnmlp.save_train_state(p, spec, fnmlp.sgd(0.1), train_state, {"model": spec}), TypeError,
         "meta: expected a JSON-serialisable dict"),
        (lambda p: fnmlp.save_params(p, other_spec, params, state), ValueError,
         r"params.gamma: expected 0 arrays"),
        (lambda p: fnmlp.save_checkpoint(p, spec, params, state, params), TypeError,
         "opt_state: expected an optimizer state"),
        (lambda p: fnmlp.save_train_state(p, spec, fnmlp.sgd(0.1), attrs.evolve(train_state, rng=None)),
         TypeError, "train_state.rng: expected a NumPy RandomState or Generator, got NoneType"),
        (lambda p: fnmlp.save_train_state(p, spec, fnmlp.sgd(0.1), attrs.evolve(train_state, order=np.ones(5, int))),
         ValueError, "train_state.order: expected a permutation of 0..4"),
        (lambda p: fnmlp.save_train_state(p, spec, (0.1, 0.9), train_state), TypeError,
         "optimizer: expected a Optimizer, got tuple"),
        (lambda p: fnmlp.save_params(b"bytes.npz", spec, params, state), TypeError, "path: expected a file path"),
    ]
    for save, error, message in cases:
        for target in (path, tmp_path / "new.npz"):
            with pytest.raises(error, match=message):
                save(target)
            assert snapshot(tmp_path) == before


def crash_on(monkeypatch, module, name, after_calls, error):
    """Make ``module.name`` raise ``error`` on its call number ``after_calls + 1``."""
    original, calls = getattr(module, name), []

    def failing(*args, **kwargs):
        calls.append(name)
        if len(calls) > after_calls:
            raise error
        return original(*args, **kwargs)

    monkeypatch.setattr(module, name, failing)


CRASHES = {
    "before the rename": (os, "replace", 0, OSError("disk on fire")),
    "while writing the arrays": (np.lib.format, "write_array", 3, OSError("no space left on device")),
    "Ctrl-C while writing": (np.lib.format, "write_array", 5, KeyboardInterrupt()),
    "while syncing": (os, "fsync", 0, OSError("I/O error")),
}


@pytest.mark.parametrize("crash", list(CRASHES))
def test_a_crash_while_saving_leaves_the_previous_file_and_no_temporary_file(tmp_path, monkeypatch, crash):
    spec, params, state, opt_state = arrays_of(2, np.float32)
    path = tmp_path / "ckpt.npz"
    fnmlp.save_checkpoint(path, spec, params, state, opt_state, {"epoch": 1})
    before = snapshot(tmp_path)
    newer = fnmlp.tree_map(lambda a: a + 1, params)
    module, name, after_calls, error = CRASHES[crash]
    with monkeypatch.context() as patch:
        crash_on(patch, module, name, after_calls, error)
        for target in (path, tmp_path / "fresh.npz"):
            with pytest.raises(type(error)):
                fnmlp.save_checkpoint(target, spec, newer, state, opt_state, {"epoch": 2})
    assert snapshot(tmp_path) == before
    assert fnmlp.load_checkpoint(path)[4] == {"epoch": 1}
    fnmlp.save_checkpoint(path, spec, newer, state, opt_state, {"epoch": 2})
    assert os.listdir(tmp_path) == ["ckpt.npz"]
    assert_identical(fnmlp.load_params(path)[1], newer)


def test_the_data_is_synced_before_the_rename_and_the_directory_after(tmp_path, monkeypatch):
    events = []
    fsync, replace = os.fsync, os.replace

    def recording_fsync(descriptor):
        directory = stat.S_ISDIR(os.fstat(descriptor).st_mode)
        events.append("fsync directory" if directory else "fsync file")
        return fsync(descriptor)

    def recording_replace(source, target):
        assert os.path.dirname(source) == str(tmp_path)
        events.append("replace")
        return replace(source, target)

    monkeypatch.setattr(os, "fsync", recording_fsync)
    monkeypatch.setattr(os, "replace", recording_replace)
    spec, params, state, _ = arrays_of(0, np.float64)
    fnmlp.save_params(tmp_path / "params.npz", spec, params, state)
    expected = ["fsync file", "replace", "fsync directory"]
    assert events == expected if sys.platform.startswith("linux") else events in (expected, expected[:2])
