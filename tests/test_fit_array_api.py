"""``fit`` and ``fit_from`` on array_api_strict's arrays against the same runs in NumPy: the same
batches and dropout masks (drawn on the host), results equal to 1e-10 in float64 and kept in the
data's namespace and device; resuming, checkpoints through the host, and what is refused by name."""

import sys
import types

import attrs
import numpy as np
import pytest

import fnmlp

xs = pytest.importorskip("array_api_strict")
NO_FLOAT64 = xs.Device("no_float64")
SPEC = fnmlp.MLPSpec((6, 12, 8, 3), ("relu", "tanh", "identity"), l2=1e-3)
BN_SPEC = fnmlp.MLPSpec((6, 12, 8, 3), ("relu", "tanh", "identity"), num_bn_layers=2, l2=1e-3)
OPTIMIZER = fnmlp.adamw(fnmlp.optimizers.warmup_cosine_decay(0.02, 4, 30), weight_decay=0.01)


def data(rows=90, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(rows, 6)), rng.integers(0, 3, rows)


def strict(tree, device=None):
    return fnmlp.to_namespace(tree, xs, device)


def relative(ours, wanted):
    pairs = list(zip(fnmlp.tree_leaves(fnmlp.to_numpy(ours)), fnmlp.tree_leaves(wanted)))
    assert pairs
    difference = max(float(np.abs(np.asarray(a, np.float64) - b).max()) for a, b in pairs)
    return difference / max(float(np.abs(b).max()) for _, b in pairs)


def arrays_of(result):
    return [result.final.params, result.final.bn_state, result.final.opt_state]


def run(spec, train, validation, test, params, state, epochs=3, optimizer=OPTIMIZER):
    return fnmlp.fit(spec, params, state, optimizer, train, validation, test, epochs=epochs, batch_size=16, rng=2)


@pytest.mark.parametrize("spec", [SPEC, BN_SPEC, fnmlp.MLPSpec((6, 12, 3), ("gelu", "identity"), dropout=(0.2, 0.3))],
                         ids=["plain", "batchnorm", "dropout"])
def test_fit_on_array_api_strict_matches_numpy_to_1e10(spec):
    params, state = fnmlp.init_params(spec, 0)
    train, validation, test = data(), data(40, 1), data(30, 2)
    ours = run(spec, train, validation, test, params, state)
    theirs = run(spec, strict(train), strict(validation), strict(test), strict(params), strict(state))
    for leaf in fnmlp.tree_leaves(arrays_of(theirs)):
        assert isinstance(leaf, int) or (fnmlp.array_namespace(leaf) is xs and leaf.dtype == xs.float64)
    assert relative(arrays_of(theirs), arrays_of(ours)) < 1e-10
    assert theirs.final.opt_state[0].step == ours.final.opt_state[0].step == theirs.final.opt_state[-1].step == 18
    assert np.array_equal(theirs.final.order, ours.final.order)
    for a, b in zip(theirs.history, ours.history):
        for field in ("train_loss", "train_metric", "val_loss", "val_metric", "lr"):
            assert abs(getattr(a, field) - getattr(b, field)) <= 1e-10 * max(1.0, abs(getattr(b, field)))
    assert abs(theirs.test_loss - ours.test_loss) < 1e-10 * ours.test_loss and theirs.test_metric == ours.test_metric
    again = fnmlp.evaluate(spec, theirs.params, theirs.bn_state, *strict(test))
    assert abs(again[0] - ours.test_loss) < 1e-10 * ours.test_loss and again[1] == ours.test_metric


def test_fit_from_a_checkpoint_on_the_host_continues_as_a_straight_run(tmp_path):
    params, state = fnmlp.init_params(BN_SPEC, 0)
    train = strict(data())
    straight = run(BN_SPEC, train, None, None, strict(params), strict(state))
    saved = []
    first = fnmlp.fit(BN_SPEC, strict(params), strict(state), OPTIMIZER, train, epochs=1, batch_size=16, rng=2,
                      on_epoch=lambda stats, ts: saved.append(fnmlp.save_train_state(tmp_path / "ts.npz", BN_SPEC,
                                                                                     OPTIMIZER, ts)))
    _, optimizer, loaded, _ = fnmlp.load_train_state(tmp_path / "ts.npz")
    assert all(isinstance(leaf, (np.ndarray, int)) for leaf in fnmlp.tree_leaves(loaded.opt_state))
    moved = attrs.evolve(loaded, **dict(zip(("params", "bn_state", "opt_state"),
                                            strict((loaded.params, loaded.bn_state, loaded.opt_state)))))
    resumed = fnmlp.fit_from(BN_SPEC, optimizer, moved, train, epochs=3, batch_size=16)
    in_memory = fnmlp.fit_from(BN_SPEC, OPTIMIZER, first.final, train, epochs=3, batch_size=16)
    assert saved == [None]
    for result in (resumed, in_memory):
        assert relative(arrays_of(result), fnmlp.to_numpy(arrays_of(straight))) == 0
        assert [h.train_loss for h in result.history] == [h.train_loss for h in straight.history[1:]]
    fnmlp.save_params(tmp_path / "p.npz", BN_SPEC, straight.final.params, straight.final.bn_state)
    _, back, _, _ = fnmlp.load_params(tmp_path / "p.npz")
    assert isinstance(back.W[0], np.ndarray) and relative(back, fnmlp.to_numpy(straight.final.params)) == 0


def test_mixed_libraries_and_devices_are_refused_before_training():
    params, state = fnmlp.init_params(SPEC, 0)
    x, y = data()
    with pytest.raises(TypeError, match=r"^params.W\[0\]: expected an array of array_api_strict, as train x is, "
                                        r"got an array of numpy"):
        run(SPEC, strict((x, y)), None, None, params, state)
    with pytest.raises(TypeError, match=r"^train labels: expected an array of array_api_strict, as train x is, "
                                        r"got an array of numpy"):
        run(SPEC, (strict(x), y), None, None, strict(params), strict(state))
    other = xs.Device("device1")
    with pytest.raises(TypeError, match=r"^validation x: expected an array on device .*CPU_DEVICE.*, as train x "
                                        r"is, got one on device .*device1"):
        run(SPEC, strict((x, y)), strict((x, y), other), None, strict(params), strict(state))
    with pytest.raises(TypeError, match=r"^params.W\[0\]: expected an array of array_api_strict, as x is, got an "
                                        r"array of numpy"):
        fnmlp.evaluate(SPEC, params, state, *strict((x, y)))
    start = fnmlp.initial_state(params, state, OPTIMIZER, 90, 0)
    with pytest.raises(TypeError, match=r"^start.params.W\[0\]: expected an array of array_api_strict"):
        fnmlp.fit_from(SPEC, OPTIMIZER, start, strict((x, y)), epochs=1, batch_size=16)
    with pytest.raises(TypeError, match=r"^augment: expected None for arrays of array_api_strict"):
        fnmlp.fit(SPEC, strict(params), strict(state), OPTIMIZER, strict((x, y)), epochs=1, batch_size=16,
                  augment=lambda batch, rng: batch)
    with pytest.raises(TypeError, match=r"^train x: expected float32 or float64.*got dtype int64"):
        run(SPEC, (xs.asarray(np.ones((90, 6), np.int64)), xs.asarray(y)), None, None, strict(params), strict(state))


def test_a_device_without_float64_trains_in_float32_and_refuses_float64():
    spec = fnmlp.MLPSpec((6, 12, 3), ("relu", "identity"), loss="mse")
    like = xs.asarray(np.zeros(1, np.float32), device=NO_FLOAT64)
    params, state = fnmlp.init_params(spec, 0, dtype=np.float32, like=like)
    x = xs.asarray(data()[0].astype(np.float32), device=NO_FLOAT64)
    targets = np.random.default_rng(3).normal(size=(90, 3))
    result = run(spec, (x, xs.asarray(targets.astype(np.float32), device=NO_FLOAT64)), None, None, params, state,
                 epochs=1)
    assert result.final.params.W[0].device == NO_FLOAT64 and result.final.params.W[0].dtype == xs.float32
    assert np.isfinite(result.history[0].train_loss)
    with pytest.raises(TypeError, match=r"^train labels: expected a dtype that array_api_strict has on device .*"
                                        r"no_float64.*got float64"):
        run(spec, (x, xs.asarray(np.ones((90, 3), np.int32), device=NO_FLOAT64)), None, None, params, state)


def test_records_register_as_jax_pytrees_rebuilt_without_converters(monkeypatch):
    from fnmlp.optimizers.transform import AdamState, ScheduleState, TraceState
    from fnmlp.utils import namespace

    registered = {}
    fake_jax = types.SimpleNamespace(
        tree_util=types.SimpleNamespace(register_pytree_node=lambda cls, *fns: registered.setdefault(cls, fns)),
        core=types.SimpleNamespace(Tracer=type("Tracer", (), {})))
    monkeypatch.setitem(sys.modules, "jax", fake_jax)
    monkeypatch.setattr(namespace, "_JAX_DONE", False)
    fnmlp.register_jax_pytrees()
    assert {fnmlp.Params, fnmlp.BatchNormState, AdamState, TraceState, ScheduleState,
            fnmlp.optimizers.EmptyState} <= set(registered)
    params, _ = fnmlp.init_params(BN_SPEC, 0)
    flatten, unflatten = registered[fnmlp.Params]
    children, aux = flatten(params)
    assert children == (params.W, params.b, params.gamma, params.beta)
    placeholders = tuple((object(),) * len(field) for field in children)
    rebuilt = unflatten(aux, placeholders)
    assert type(rebuilt) is fnmlp.Params and rebuilt.W is placeholders[0] and rebuilt.beta is placeholders[3]
    step_children, _ = registered[AdamState][0](AdamState(7, params, params))
    assert step_children[0] == 7


def test_register_jax_pytrees_without_jax_says_to_import_it(monkeypatch):
    monkeypatch.delitem(sys.modules, "jax", raising=False)
    with pytest.raises(ImportError, match=r"^fnmlp.register_jax_pytrees needs JAX imported first: import jax$"):
        fnmlp.register_jax_pytrees()
