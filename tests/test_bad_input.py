"""Bad input at every public boundary, as tables: entry point x kind of bad input.

Each row calls one entry point with one bad argument and names the exception and the start of its
message, ``"<argument>: expected <what>"``; every message must also say what came (``", got "``).
After the failure, everything the caller holds must be as it was, byte for byte: the records and
arrays passed in, the stateful adapter's every attribute (its BatchNorm layers, activations and
criterion included), NumPy's global generator and the files on disk. The command line rows go
through ``fnmlp.cli.main`` and must exit with status 2 and one line, ``fnmlp: error: ...``.
"""

import copy
import os
import types
from pathlib import Path
from typing import Callable

import attrs
import numpy as np
import pytest

import fnmlp
import fnmlp.hw1 as hw1
from fnmlp import cli
from fnmlp.config import TrainConfig, build
from helpers import replace_leaf, sgd_state


@attrs.frozen
class Row:
    entry: str  #: the entry point called
    bad: str  #: what is wrong with its input
    call: Callable  #: ``call(world)``
    error: type
    message: str  #: how the message starts: "<argument>: expected <what>"
    setup: Callable = None  #: ``setup(world)`` before the snapshot: the state the failing call must keep


def ids(rows):
    return [f"{row.entry}: {row.bad}" for row in rows]


# --- Comparing everything a caller holds ----------------------------------------------------------

def assert_same(before, after, path="value"):
    """``after`` equals ``before`` in type, shape, dtype and every value (NaN equal to NaN)."""
    if isinstance(before, np.ndarray):
        assert isinstance(after, np.ndarray) and (before.dtype, before.shape) == (after.dtype, after.shape), path
        assert np.array_equal(before, after, equal_nan=before.dtype.kind in "fc"), path
    elif isinstance(before, np.random.RandomState):
        assert_same(before.get_state(legacy=False), after.get_state(legacy=False), path)
    elif isinstance(before, np.random.Generator):
        assert_same(before.bit_generator.state, after.bit_generator.state, path)
    elif attrs.has(type(before)):
        assert type(before) is type(after), path
        for field in attrs.fields(type(before)):
            assert_same(getattr(before, field.name), getattr(after, field.name), f"{path}.{field.name}")
    elif isinstance(before, dict):
        assert before.keys() == after.keys(), path
        for key in before:
            assert_same(before[key], after[key], f"{path}[{key!r}]")
    elif isinstance(before, (list, tuple)):
        assert type(before) is type(after) and len(before) == len(after), path
        for i, (b, a) in enumerate(zip(before, after)):
            assert_same(b, a, f"{path}[{i}]")
    elif isinstance(before, (hw1.MLP, hw1.Activation, hw1.Criterion, hw1.BatchNorm, types.SimpleNamespace)):
        assert type(before) is type(after), path
        assert_same(vars(before), vars(after), path)
    elif isinstance(before, float) and np.isnan(before):
        assert isinstance(after, float) and np.isnan(after), path
    else:
        assert type(before) is type(after) and before == after, path


def files_under(directory):
    """``{relative path: bytes}`` of every file below ``directory``, and every directory as ``None``."""
    found = {}
    for root, dirs, names in os.walk(directory):
        for name in dirs:
            found[os.path.relpath(os.path.join(root, name), directory)] = None
        for name in names:
            path = os.path.join(root, name)
            found[os.path.relpath(path, directory)] = Path(path).read_bytes()
    return found


def assert_fails_cleanly(row, world, tmp_path):
    """Call ``row``; check the exception, its message, and that nothing changed."""
    if row.setup is not None:
        row.setup(world)
    before = copy.deepcopy(world)
    global_rng = np.random.get_state(legacy=False)
    disk = files_under(tmp_path)
    with pytest.raises(row.error) as info:
        row.call(world)
    message = str(info.value)
    assert message.startswith(row.message), message
    assert ": expected " in message and ", got " in message, message
    assert "\n" not in message, message
    assert_same(before, world, "world")
    assert_same(global_rng, np.random.get_state(legacy=False), "np.random's state")
    assert files_under(tmp_path) == disk


# --- The pure API ---------------------------------------------------------------------------------

def pure_world(tmp_path):
    """Everything a user of the functional API holds: a spec, its records, data, a forward cache,
    an optimizer with momentum under way, a training state, a checkpoint file."""
    w = types.SimpleNamespace()
    w.spec = fnmlp.MLPSpec((4, 5, 3), ("relu", "identity"), num_bn_layers=1)
    w.params, w.state = fnmlp.init_params(w.spec, 0)
    rng = np.random.default_rng(0)
    w.x = rng.standard_normal((6, 4))
    w.y = np.array([0, 1, 2, 0, 1, 2])
    w.x_nan = w.x.copy()
    w.x_nan[2, 1] = np.nan
    w.y_float = w.y.astype(np.float64)
    w.logits, w.cache, _ = fnmlp.forward(w.spec, w.params, w.state, w.x, train=True)
    other = fnmlp.MLPSpec((4, 7, 3), ("relu", "identity"), num_bn_layers=1)
    w.other_params, other_state = fnmlp.init_params(other, 1)
    w.other_cache = fnmlp.forward(other, w.other_params, other_state, w.x, train=True)[1]
    w.opt = fnmlp.sgd(0.1, momentum=0.9)
    _, w.grads, _ = fnmlp.loss_and_grads(w.spec, w.params, w.state, w.x, w.y)
    w.opt_state = w.opt.update(w.grads, w.opt.init(w.params), w.params)[1]
    w.start = attrs.evolve(fnmlp.initial_state(w.params, w.state, w.opt, 6, rng=0), epoch=2)
    w.nan_params = replace_leaf(w.params, "W", 1, np.full((5, 3), np.nan))
    w.checkpoint = tmp_path / "model.npz"
    fnmlp.save_checkpoint(w.checkpoint, w.spec, w.params, w.state, w.opt_state, {"note": "kept"})
    w.directory = tmp_path
    return w


def fit(w, **change):
    args = dict(spec=w.spec, params=w.params, bn_state=w.state, optimizer=w.opt, train=(w.x, w.y),
                validation=(w.x, w.y), epochs=1, batch_size=3, rng=0)
    return fnmlp.fit(**{**args, **change})


def fit_from(w, **change):
    args = dict(spec=w.spec, optimizer=w.opt, start=w.start, train=(w.x, w.y), epochs=3, batch_size=3)
    return fnmlp.fit_from(**{**args, **change})


def forward(w, x=None, **change):
    args = dict(spec=w.spec, params=w.params, bn_state=w.state, x=w.x if x is None else x, train=True)
    return fnmlp.forward(**{**args, **change})


def loss(w, labels, x=None):
    return fnmlp.loss_and_grads(w.spec, w.params, w.state, w.x if x is None else x, labels)


def start(w, **change):
    return attrs.evolve(w.start, **change)


PURE = [
    # forward / predict: x
    Row("forward", "x 1-D", lambda w: forward(w, w.x[0]), ValueError, "x: expected a 2-D array, got shape (4,)"),
    Row("forward", "x 3-D", lambda w: forward(w, w.x[None]), ValueError, "x: expected a 2-D array"),
    Row("forward", "x of the wrong width", lambda w: forward(w, w.x[:, :3]), ValueError,
        "x: expected 4 columns, got shape (6, 3)"),
    Row("forward", "x without rows", lambda w: forward(w, w.x[:0]), ValueError,
        "x: expected at least one row, got shape (0, 4)"),
    Row("forward", "x with NaN", lambda w: forward(w, w.x_nan), ValueError,
        "x: expected finite values, got NaN or infinity"),
    Row("forward", "x with infinity", lambda w: forward(w, w.x * np.inf), ValueError, "x: expected finite values"),
    Row("forward", "x complex", lambda w: forward(w, w.x.astype(complex)), TypeError,
        "x: expected an array of real numbers, got dtype complex128"),
    Row("forward", "x of objects", lambda w: forward(w, w.x.astype(object)), TypeError,
        "x: expected an array of real numbers, got dtype object"),
    Row("forward", "x of strings", lambda w: forward(w, np.full((6, 4), "1")), TypeError,
        "x: expected an array of real numbers, got dtype <U1"),
    Row("forward", "x ragged", lambda w: forward(w, [[1.0, 2.0, 3.0, 4.0], [1.0]]), TypeError,
        "x: expected an array, got [[1.0, 2.0, 3.0, 4.0], [1.0]]"),
    Row("forward", "train not a bool", lambda w: forward(w, train=1), TypeError,
        "train: expected True or False, got 1"),
    Row("forward", "no spec", lambda w: forward(w, spec=(4, 5, 3)), TypeError, "spec: expected a MLPSpec, got tuple"),
    Row("forward", "params of another spec", lambda w: forward(w, params=w.other_params), ValueError,
        "params.W[0]: expected shape (4, 5), got shape (4, 7)"),
    Row("forward", "params with NaN", lambda w: forward(w, params=w.nan_params), ValueError,
        "params.W[1]: expected finite values, got NaN or infinity"),
    Row("forward", "integer params", lambda w: forward(w, params=replace_leaf(w.params, "b", 0, np.zeros(5, int))),
        TypeError, "params.b[0]: expected dtype float32 or float64, got int64"),
    Row("forward", "state and params swapped", lambda w: forward(w, params=w.state, bn_state=w.params), TypeError,
        "params: expected a Params, got BatchNormState"),
    Row("forward", "state without BatchNorm arrays", lambda w: forward(w, bn_state=fnmlp.BatchNormState()),
        ValueError, "bn_state.running_mean: expected 1 arrays"),
    Row("forward", "running variance infinite",
        lambda w: forward(w, bn_state=replace_leaf(w.state, "running_var", 0, np.full(5, np.inf))), ValueError,
        "bn_state.running_var[0]: expected finite values"),
    Row("predict", "x with NaN", lambda w: fnmlp.predict(w.spec, w.params, w.state, w.x_nan), ValueError,
        "x: expected finite values"),
    Row("predict", "params with NaN", lambda w: fnmlp.predict(w.spec, w.nan_params, w.state, w.x), ValueError,
        "params.W[1]: expected finite values"),
    # backward
    Row("backward", "cache of another network", lambda w: fnmlp.backward(w.spec, w.params, w.other_cache, w.logits),
        ValueError, "cache: expected the cache of a forward pass of this spec, (4, 5, 3) with 1 BatchNorm layers, "
                    "got outputs of shapes [(6, 4), (6, 7), (6, 3)]"),
    Row("backward", "cache without its BatchNorm part",
        lambda w: fnmlp.backward(w.spec, w.params, attrs.evolve(w.cache, batchnorm=()), w.logits), ValueError,
        "cache: expected the cache of a forward pass of this spec"),
    Row("backward", "no cache", lambda w: fnmlp.backward(w.spec, w.params, None, w.logits), TypeError,
        "cache: expected a ForwardCache, got NoneType"),
    Row("backward", "dlogits with NaN", lambda w: fnmlp.backward(w.spec, w.params, w.cache, w.logits * np.nan),
        ValueError, "dlogits: expected finite values"),
    Row("backward", "dlogits of fewer rows", lambda w: fnmlp.backward(w.spec, w.params, w.cache, w.logits[:2]),
        ValueError, "dlogits: expected shape (6, 3), the logits' shape, got shape (2, 3)"),
    Row("backward", "dlogits 1-D", lambda w: fnmlp.backward(w.spec, w.params, w.cache, w.logits[0]), ValueError,
        "dlogits: expected a 2-D array"),
    Row("backward", "params with NaN", lambda w: fnmlp.backward(w.spec, w.nan_params, w.cache, w.logits),
        ValueError, "params.W[1]: expected finite values"),
    Row("backward_with_input_grad", "dlogits of the wrong width",
        lambda w: fnmlp.backward_with_input_grad(w.spec, w.params, w.cache, w.logits[:, :2]), ValueError,
        "dlogits: expected 3 columns"),
    # loss_and_grads: targets (class labels for cross-entropy)
    Row("loss_and_grads", "labels out of range", lambda w: loss(w, w.y + 1), ValueError,
        "targets: expected class indices in 0..2, got values in 1..3"),
    Row("loss_and_grads", "negative labels", lambda w: loss(w, w.y - 1), ValueError,
        "targets: expected class indices in 0..2, got values in -1..1"),
    Row("loss_and_grads", "float labels of whole numbers", lambda w: loss(w, w.y_float), TypeError,
        "targets: expected integer class indices or one-hot rows, got dtype float64 (whole numbers: pass "
        "labels.astype(int))"),
    Row("loss_and_grads", "float labels with fractions", lambda w: loss(w, w.y_float + 0.5), TypeError,
        "targets: expected integer class indices or one-hot rows, got dtype float64"),
    Row("loss_and_grads", "boolean labels", lambda w: loss(w, w.y > 0), TypeError,
        "targets: expected integer class indices or one-hot rows, got dtype bool"),
    Row("loss_and_grads", "one-hot labels of the wrong width", lambda w: loss(w, np.eye(4)[w.y]), ValueError,
        "targets: expected one-hot rows of width 3, got shape (6, 4)"),
    Row("loss_and_grads", "rows with two ones", lambda w: loss(w, np.eye(3)[w.y] + np.eye(3)[(w.y + 1) % 3]),
        ValueError, "targets: expected one-hot rows (a single 1, the rest 0), got rows with other values"),
    Row("loss_and_grads", "one-hot labels with NaN", lambda w: loss(w, np.eye(3)[w.y] * np.nan), ValueError,
        "targets: expected one-hot rows (a single 1, the rest 0), got NaN or infinity"),
    Row("loss_and_grads", "fewer labels than rows", lambda w: loss(w, w.y[:4]), ValueError,
        "targets: expected 6 rows, as many as x, got 4"),
    Row("loss_and_grads", "labels 3-D", lambda w: loss(w, np.eye(3)[w.y][None]), ValueError,
        "targets: expected one-hot (batch, classes) or indices (batch,), got shape (1, 6, 3)"),
    Row("loss_and_grads", "x with NaN", lambda w: loss(w, w.y, x=w.x_nan), ValueError, "x: expected finite values"),
    # the loss alone
    Row("softmax_cross_entropy", "logits with NaN", lambda w: fnmlp.softmax_cross_entropy(w.logits * np.nan, w.y),
        ValueError, "logits: expected finite values"),
    Row("softmax_cross_entropy", "logits 1-D", lambda w: fnmlp.softmax_cross_entropy(w.logits[0], w.y), ValueError,
        "logits: expected a 2-D array"),
    Row("softmax_cross_entropy", "no logits", lambda w: fnmlp.softmax_cross_entropy(w.logits[:0], w.y[:0]),
        ValueError, "logits: expected at least one row"),
    Row("softmax_cross_entropy", "more labels than rows", lambda w: fnmlp.softmax_cross_entropy(w.logits[:2], w.y),
        ValueError, "labels: expected 2 rows, as many as logits, got 6"),
    Row("softmax_cross_entropy_grad", "no cache", lambda w: fnmlp.softmax_cross_entropy_grad(w.cache), TypeError,
        "cache: expected a SoftmaxCrossEntropyCache, got ForwardCache"),
    Row("one_hot", "float labels", lambda w: fnmlp.one_hot(w.y_float, 3), TypeError,
        "labels: expected integer class indices or one-hot rows, got dtype float64 (whole numbers"),
    Row("one_hot", "a label past num_classes", lambda w: fnmlp.one_hot(w.y, 2), ValueError,
        "labels: expected class indices in 0..1, got values in 0..2"),
    Row("one_hot", "no classes", lambda w: fnmlp.one_hot(w.y, 0), ValueError,
        "num_classes: expected an integer in 1..inf, got 0"),
    Row("one_hot", "a fractional number of classes", lambda w: fnmlp.one_hot(w.y, 3.5), TypeError,
        "num_classes: expected an integer, got 3.5"),
    Row("one_hot", "True classes", lambda w: fnmlp.one_hot(w.y, True), TypeError,
        "num_classes: expected an integer, got True"),
    Row("one_hot", "an unknown dtype", lambda w: fnmlp.one_hot(w.y, 3, dtype="float99"), TypeError,
        "dtype: expected a numeric dtype such as float64, got 'float99'"),
    Row("one_hot", "a complex dtype", lambda w: fnmlp.one_hot(w.y, 3, dtype=complex), TypeError,
        "dtype: expected a numeric dtype such as float64"),
    # init_params
    Row("init_params", "no spec", lambda w: fnmlp.init_params([4, 5, 3]), TypeError, "spec: expected a MLPSpec"),
    Row("init_params", "an integer dtype", lambda w: fnmlp.init_params(w.spec, dtype=np.int32), TypeError,
        "dtype: expected float32 or float64, got <class 'numpy.int32'>"),
    Row("init_params", "float16", lambda w: fnmlp.init_params(w.spec, dtype="float16"), TypeError,
        "dtype: expected float32 or float64, got 'float16'"),
    Row("init_params", "an unknown dtype", lambda w: fnmlp.init_params(w.spec, dtype="double precision"), TypeError,
        "dtype: expected float32 or float64, got 'double precision'"),
    Row("init_params", "dtype None", lambda w: fnmlp.init_params(w.spec, dtype=None), TypeError,
        "dtype: expected float32 or float64, got None"),
    Row("init_params", "weight_init giving NaN",
        lambda w: fnmlp.init_params(w.spec, weight_init=lambda m, n: np.full((m, n), np.nan)), ValueError,
        "weight_init(4, 5): expected finite values, got NaN or infinity"),
    Row("init_params", "weight_init giving the transpose",
        lambda w: fnmlp.init_params(w.spec, weight_init=lambda m, n: np.zeros((n, m))), ValueError,
        "weight_init(4, 5): expected an array of shape (4, 5), got shape (5, 4)"),
    Row("init_params", "weight_init giving strings",
        lambda w: fnmlp.init_params(w.spec, weight_init=lambda m, n: np.full((m, n), "0.1")), TypeError,
        "weight_init(4, 5): expected an array of real numbers, got dtype <U3"),
    Row("init_params", "weight_init giving complex numbers",
        lambda w: fnmlp.init_params(w.spec, weight_init=lambda m, n: np.ones((m, n), complex)), TypeError,
        "weight_init(4, 5): expected an array of real numbers, got dtype complex128"),
    Row("init_params", "weight_init giving None", lambda w: fnmlp.init_params(w.spec, weight_init=lambda m, n: None),
        TypeError, "weight_init(4, 5): expected an array of real numbers, got dtype object"),
    Row("init_params", "a float32 overflow", lambda w: fnmlp.init_params(
        w.spec, weight_init=lambda m, n: np.full((m, n), 1e300), dtype=np.float32), ValueError,
        "weight_init(4, 5): expected finite values"),
    Row("init_params", "an unknown scheme", lambda w: fnmlp.init_params(w.spec, weight_init="glorot"), ValueError,
        "weight_init: expected a callable or one of ['he', 'lecun', 'normal', 'xavier'], got 'glorot'"),
    Row("init_params", "weight_init not callable", lambda w: fnmlp.init_params(w.spec, weight_init=0.1), TypeError,
        "weight_init: expected a scheme name or a callable (fan_in, fan_out), got 0.1"),
    Row("init_params", "bias_init giving infinity",
        lambda w: fnmlp.init_params(w.spec, bias_init=lambda n: np.full(n, np.inf)), ValueError,
        "bias_init(5): expected finite values"),
    Row("init_params", "bias_init not callable", lambda w: fnmlp.init_params(w.spec, bias_init=np.zeros(5)),
        TypeError, "bias_init: expected a callable (fan_out)"),
    Row("init_params", "a negative seed", lambda w: fnmlp.init_params(w.spec, rng=-1), ValueError,
        "rng: expected an integer in 0..4294967295, got -1"),
    Row("init_params", "a seed as text", lambda w: fnmlp.init_params(w.spec, rng="11785"), TypeError,
        "rng: expected an integer, got '11785'"),
    # MLPSpec
    Row("MLPSpec", "a zero width", lambda w: fnmlp.MLPSpec((4, 0), ("relu",)), ValueError,
        "layer_sizes[1]: expected an integer in 1..inf, got 0"),
    Row("MLPSpec", "one size", lambda w: fnmlp.MLPSpec((4,), ()), ValueError,
        "layer_sizes: expected at least an input and an output size, got (4,)"),
    Row("MLPSpec", "a fractional width", lambda w: fnmlp.MLPSpec((4, 2.5), ("relu",)), TypeError,
        "layer_sizes[1]: expected an integer, got 2.5"),
    Row("MLPSpec", "True as a width", lambda w: fnmlp.MLPSpec((True, 3), ("relu",)), TypeError,
        "layer_sizes[0]: expected an integer, got True"),
    Row("MLPSpec", "numpy's True as a width", lambda w: fnmlp.MLPSpec((np.True_, 3), ("relu",)), TypeError,
        "layer_sizes[0]: expected an integer, got np.True_"),
    Row("MLPSpec", "sizes as a string", lambda w: fnmlp.MLPSpec("43", ("relu",)), TypeError,
        "layer_sizes: expected a sequence of positive integers, got '43'"),
    Row("MLPSpec", "sizes as a 2-D array", lambda w: fnmlp.MLPSpec(np.ones((2, 2), int), ("relu",)), TypeError,
        "layer_sizes: expected a sequence of positive integers, got array of shape (2, 2)"),
    Row("MLPSpec", "activations as one string", lambda w: fnmlp.MLPSpec((4, 3), "relu"), TypeError,
        "activations: expected a sequence of activations (names or Activation records), one per layer, got 'relu'"),
    Row("MLPSpec", "an unknown activation", lambda w: fnmlp.MLPSpec((4, 3), ("swish",)), ValueError,
        "activations[0]: expected one of ['elu', 'gelu', 'identity', 'leaky_relu', 'linear', 'relu', 'sigmoid', "
        "'silu', 'softplus', 'tanh'] (make it known first with fnmlp.register_activation(fnmlp.Activation('swish', "),
    Row("MLPSpec", "an activation that is not a name", lambda w: fnmlp.MLPSpec((4, 3), (["relu"],)), TypeError,
        "activations[0]: expected an Activation or an activation name, one of ['elu', 'gelu', 'identity', "),
    Row("MLPSpec", "an activation too few", lambda w: fnmlp.MLPSpec((4, 3, 2), ("relu",)), ValueError,
        "activations: expected 2 names (one per layer), got 1: ('relu',)"),
    Row("MLPSpec", "more BatchNorm layers than layers", lambda w: fnmlp.MLPSpec((4, 3), ("relu",), num_bn_layers=2),
        ValueError, "num_bn_layers: expected an integer in 0..1, got 2"),
    Row("MLPSpec", "negative BatchNorm layers", lambda w: fnmlp.MLPSpec((4, 3), ("relu",), num_bn_layers=-1),
        ValueError, "num_bn_layers: expected an integer in 0..inf, got -1"),
    Row("MLPSpec", "True BatchNorm layers", lambda w: fnmlp.MLPSpec((4, 3), ("relu",), num_bn_layers=True),
        TypeError, "num_bn_layers: expected an integer, got True"),
    Row("MLPSpec", "bn_alpha above 1", lambda w: fnmlp.MLPSpec((4, 3), ("relu",), bn_alpha=1.5), ValueError,
        "bn_alpha: expected a finite number in [0.0, 1.0], got 1.5"),
    Row("MLPSpec", "bn_alpha NaN", lambda w: fnmlp.MLPSpec((4, 3), ("relu",), bn_alpha=np.nan), ValueError,
        "bn_alpha: expected a finite number in [0.0, 1.0], got nan"),
    Row("MLPSpec", "bn_eps 0", lambda w: fnmlp.MLPSpec((4, 3), ("relu",), bn_eps=0), ValueError,
        "bn_eps: expected a finite number in (0.0, inf), got 0.0"),
    Row("MLPSpec.from_hidden_sizes", "an unknown activation",
        lambda w: fnmlp.MLPSpec.from_hidden_sizes(4, [5], 3, activation="swish"), ValueError,
        "activation: expected one of ['elu', 'gelu', 'identity', 'leaky_relu', 'linear', 'relu', 'sigmoid', 'silu', "
        "'softplus', 'tanh'] (make it known first with fnmlp.register_activation(fnmlp.Activation('swish', fn, "
        "derivative, uses=...))), got 'swish'"),
    Row("MLPSpec.from_hidden_sizes", "an unknown activation, no hidden layer",
        lambda w: fnmlp.MLPSpec.from_hidden_sizes(4, [], 3, activation="swish"), ValueError,
        "activation: expected one of"),
    Row("MLPSpec.from_hidden_sizes", "an output activation that is not a name",
        lambda w: fnmlp.MLPSpec.from_hidden_sizes(4, [5], 3, output_activation=None), TypeError,
        "output_activation: expected an Activation or an activation name"),
    Row("MLPSpec.from_hidden_sizes", "hidden sizes as a string",
        lambda w: fnmlp.MLPSpec.from_hidden_sizes(4, "64", 3), TypeError,
        "hidden_sizes: expected a sequence of positive integers, got '64'"),
    Row("MLPSpec.from_hidden_sizes", "a zero hidden size",
        lambda w: fnmlp.MLPSpec.from_hidden_sizes(4, [5, 0], 3), ValueError,
        "hidden_sizes[1]: expected an integer in 1..inf, got 0"),
    Row("MLPSpec.from_hidden_sizes", "input_size 0", lambda w: fnmlp.MLPSpec.from_hidden_sizes(0, [5], 3),
        ValueError, "input_size: expected an integer in 1..inf, got 0"),
    # the optimizer
    Row("sgd", "a negative learning rate", lambda w: fnmlp.sgd(-0.1), ValueError,
        "lr: expected a finite number in [0.0, inf), got -0.1"),
    Row("sgd", "a NaN learning rate", lambda w: fnmlp.sgd(np.nan), ValueError, "lr: expected a finite number"),
    Row("sgd", "an infinite learning rate", lambda w: fnmlp.sgd(np.inf), ValueError,
        "lr: expected a finite number in [0.0, inf), got inf"),
    Row("sgd", "a learning rate as text", lambda w: fnmlp.sgd("0.1"), TypeError,
        "lr: expected a real number or a schedule (a callable step -> lr), got '0.1'"),
    Row("sgd", "True as the learning rate", lambda w: fnmlp.sgd(True), TypeError,
        "lr: expected a real number or a schedule (a callable step -> lr), got True"),
    Row("sgd", "momentum 1", lambda w: fnmlp.sgd(0.1, 1.0), ValueError,
        "momentum: expected a finite number in [0.0, 1.0), got 1.0"),
    Row("sgd", "negative momentum", lambda w: fnmlp.sgd(0.1, -0.5), ValueError,
        "momentum: expected a finite number in [0.0, 1.0), got -0.5"),
    Row("sgd", "momentum NaN", lambda w: fnmlp.sgd(lr=0.1, momentum=np.nan), ValueError,
        "momentum: expected a finite number in [0.0, 1.0), got nan"),
    Row("SGD.init", "BatchNorm state for params", lambda w: w.opt.init(w.state), TypeError,
        "params: expected a Params, got BatchNormState"),
    Row("SGD.update", "NaN gradients", lambda w: w.opt.update(replace_leaf(w.grads, "b", 1, np.full(3, np.nan)),
                                                              w.opt_state, w.params), ValueError,
        "grads.b[1]: expected finite values, got NaN or infinity"),
    Row("SGD.update", "infinite gradients", lambda w: w.opt.update(
        fnmlp.tree_map(lambda g: np.full_like(g, -np.inf), w.grads), w.opt_state, w.params), ValueError,
        "grads.W[0]: expected finite values"),
    Row("SGD.update", "integer gradients", lambda w: w.opt.update(fnmlp.tree_map(lambda g: g.astype(int), w.grads),
                                                                  w.opt_state, w.params), TypeError,
        "grads.W[0]: expected dtype float32 or float64, got int64"),
    Row("SGD.update", "gradients of another network",
        lambda w: w.opt.update(w.other_params, w.opt_state, w.params), ValueError,
        "grads: expected arrays shaped like params"),
    Row("SGD.update", "no optimizer state", lambda w: w.opt.update(w.grads, w.params, w.params), TypeError,
        "opt_state: expected a tuple of 2 states, got Params"),
    Row("SGD.update", "velocity of another network",
        lambda w: w.opt.update(w.grads, sgd_state(w.other_params), w.params), ValueError,
        "opt_state[1].trace.W[0]: expected shape (4, 5), got shape (4, 7)"),
    Row("SGD.update", "params that are not Params", lambda w: w.opt.update(w.grads, w.opt_state, w.state),
        TypeError, "params: expected a Params, got BatchNormState"),
    # fit
    Row("fit", "no spec", lambda w: fit(w, spec=None), TypeError, "spec: expected a MLPSpec, got NoneType"),
    Row("fit", "params with NaN", lambda w: fit(w, params=w.nan_params), ValueError,
        "params.W[1]: expected finite values"),
    Row("fit", "no BatchNorm state", lambda w: fit(w, bn_state=fnmlp.BatchNormState()), ValueError,
        "bn_state.running_mean: expected 1 arrays"),
    Row("fit", "an optimizer that is not SGD", lambda w: fit(w, optimizer=(0.1, 0.9)), TypeError,
        "optimizer: expected a Optimizer, got tuple"),
    Row("fit", "train not a pair", lambda w: fit(w, train=w.x), TypeError, "train: expected an (x, labels) pair"),
    Row("fit", "train x with NaN", lambda w: fit(w, train=(w.x_nan, w.y)), ValueError,
        "train x: expected finite values"),
    Row("fit", "train x without rows", lambda w: fit(w, train=(w.x[:0], w.y[:0])), ValueError,
        "train x: expected at least one row"),
    Row("fit", "train x float16", lambda w: fit(w, train=(w.x.astype(np.float16), w.y)), TypeError,
        "train x: expected float32 or float64, the dtypes fit trains in (convert with x.astype(np.float32)), got "
        "dtype float16"),
    Row("fit", "train x of integers", lambda w: fit(w, train=(np.round(w.x * 100).astype(np.int64), w.y)), TypeError,
        "train x: expected float32 or float64, the dtypes fit trains in (scale pixels first, as fnmlp's data loaders "
        "and fnmlp.datasets.inputs.standardize do), got dtype int64"),
    Row("fit", "train x of bools", lambda w: fit(w, train=(w.x > 0, w.y)), TypeError,
        "train x: expected float32 or float64, the dtypes fit trains in"),
    Row("fit", "train x as a list of integers", lambda w: fit(w, train=(np.round(w.x).astype(int).tolist(), w.y)),
        TypeError, "train x: expected float32 or float64, the dtypes fit trains in (scale pixels first"),
    Row("fit", "validation x of uint8", lambda w: fit(w, validation=(np.zeros((6, 4), np.uint8), w.y)), TypeError,
        "validation x: expected float32 or float64, the dtypes fit trains in"),
    Row("fit_from", "test x float16", lambda w: fit_from(w, test=(w.x.astype(np.float16), w.y)), TypeError,
        "test x: expected float32 or float64, the dtypes fit trains in"),
    Row("fit", "train labels as floats", lambda w: fit(w, train=(w.x, w.y_float)), TypeError,
        "train labels: expected integer class indices or one-hot rows, got dtype float64 (whole numbers"),
    Row("fit", "validation x with NaN", lambda w: fit(w, validation=(w.x_nan, w.y)), ValueError,
        "validation x: expected finite values, got NaN or infinity"),
    Row("fit", "validation x that overflows float32", lambda w: fit(
        w, train=(w.x.astype(np.float32), w.y), validation=(np.full((2, 4), 1e300), w.y[:2])), ValueError,
        "validation x: expected finite values"),
    Row("fit", "validation x of the wrong width", lambda w: fit(w, validation=(w.x[:, 1:], w.y)), ValueError,
        "validation x: expected 4 columns"),
    Row("fit", "test labels out of range", lambda w: fit(w, test=(w.x, w.y + 3)), ValueError,
        "test labels: expected class indices in 0..2"),
    Row("fit", "batch size 0", lambda w: fit(w, batch_size=0), ValueError,
        "batch_size: expected an integer in 1..6, got 0"),
    Row("fit", "a batch larger than the data", lambda w: fit(w, batch_size=7), ValueError,
        "batch_size: expected an integer in 1..6, got 7"),
    Row("fit", "batch size True", lambda w: fit(w, batch_size=True), TypeError, "batch_size: expected an integer"),
    Row("fit", "negative epochs", lambda w: fit(w, epochs=-1), ValueError, "epochs: expected an integer in 0..inf"),
    Row("fit", "fractional epochs", lambda w: fit(w, epochs=1.5), TypeError, "epochs: expected an integer, got 1.5"),
    Row("fit", "a negative seed", lambda w: fit(w, rng=-3), ValueError, "rng: expected an integer in 0..4294967295"),
    Row("fit", "on_epoch not callable", lambda w: fit(w, on_epoch="print"), TypeError,
        "on_epoch: expected a callable or None, got 'print'"),
    Row("fit", "on_batch not callable", lambda w: fit(w, on_batch=3), TypeError,
        "on_batch: expected a callable or None, got 3"),
    Row("fit", "augment not callable", lambda w: fit(w, augment="shift:2"), TypeError,
        "augment: expected a callable or None, got 'shift:2'"),
    Row("fit", "an augment returning fewer features", lambda w: fit(w, augment=lambda x, rng: x[:, 1:]), ValueError,
        "augment: expected a function returning the batch's shape (3, 4) and dtype float64, got shape (3, 3)"),
    Row("fit", "an augment returning float32", lambda w: fit(w, augment=lambda x, rng: x.astype(np.float32)),
        ValueError, "augment: expected a function returning the batch's shape (3, 4) and dtype float64"),
    Row("fit", "an augment returning a list", lambda w: fit(w, augment=lambda x, rng: x.tolist()), TypeError,
        "augment: expected a function returning an array, got [["),
    Row("fit", "an augment returning NaN", lambda w: fit(w, augment=lambda x, rng: x * np.nan), ValueError,
        "augment: expected finite values, got NaN or infinity"),
    # fit_from
    Row("fit_from", "no start", lambda w: fit_from(w, start=w.params), TypeError,
        "start: expected a TrainState, got Params"),
    Row("fit_from", "epochs below the start's", lambda w: fit_from(w, epochs=1), ValueError,
        "epochs: expected a total of at least 2, the epochs start has done, got 1"),
    Row("fit_from", "an augment_rng that is not a generator",
        lambda w: fit_from(w, start=attrs.evolve(w.start, augment_rng=7)), TypeError,
        "start.augment_rng: expected a NumPy Generator or RandomState, got int"),
    Row("fit_from", "a negative start epoch", lambda w: fit_from(w, start=start(w, epoch=-1)), ValueError,
        "start.epoch: expected an integer in 0..inf, got -1"),
    Row("fit_from", "a fractional start epoch", lambda w: fit_from(w, start=start(w, epoch=1.5)), TypeError,
        "start.epoch: expected an integer, got 1.5"),
    Row("fit_from", "an order with a repeated row", lambda w: fit_from(w, start=start(w, order=np.zeros(6, int))),
        ValueError, "start.order: expected a permutation of 0..5, got repeated or missing rows"),
    Row("fit_from", "an order of floats", lambda w: fit_from(w, start=start(w, order=np.arange(6.0))), TypeError,
        "start.order: expected a 1-D integer array, got array of shape (6,) and dtype float64"),
    Row("fit_from", "an order for other data", lambda w: fit_from(w, start=start(w, order=np.arange(9))),
        ValueError, "start.order: expected a permutation of the 6 rows 0..5, got shape (9,)"),
    Row("fit_from", "no generator", lambda w: fit_from(w, start=start(w, rng=11785)), TypeError,
        "start.rng: expected a NumPy Generator or RandomState, got int"),
    Row("fit_from", "no optimizer state", lambda w: fit_from(w, start=start(w, opt_state=None)), TypeError,
        "start.opt_state: expected a tuple of 2 states, got NoneType"),
    Row("fit_from", "velocity of another network",
        lambda w: fit_from(w, start=start(w, opt_state=sgd_state(w.other_params))), ValueError,
        "start.opt_state[1].trace.W[0]: expected shape (4, 5), got shape (4, 7)"),
    Row("fit_from", "params with NaN", lambda w: fit_from(w, start=start(w, params=w.nan_params)), ValueError,
        "start.params.W[1]: expected finite values"),
    # evaluate, initial_state, tree_map
    Row("evaluate", "empty x and labels", lambda w: fnmlp.evaluate(w.spec, w.params, w.state, w.x[:0], w.y[:0]),
        ValueError, "x: expected at least one row, got shape (0, 4)"),
    Row("evaluate", "x with NaN", lambda w: fnmlp.evaluate(w.spec, w.params, w.state, w.x_nan, w.y), ValueError,
        "x: expected finite values"),
    Row("evaluate", "labels for other rows", lambda w: fnmlp.evaluate(w.spec, w.params, w.state, w.x, w.y[:3]),
        ValueError, "targets: expected 6 rows, as many as x, got 3"),
    Row("evaluate", "params with NaN", lambda w: fnmlp.evaluate(w.spec, w.nan_params, w.state, w.x, w.y),
        ValueError, "params.W[1]: expected finite values"),
    Row("evaluate", "no BatchNorm state", lambda w: fnmlp.evaluate(w.spec, w.params, None, w.x, w.y), TypeError,
        "bn_state: expected a BatchNormState, got NoneType"),
    Row("initial_state", "no training rows", lambda w: fnmlp.initial_state(w.params, w.state, w.opt, 0), ValueError,
        "num_train: expected an integer in 1..inf, got 0"),
    Row("initial_state", "no optimizer", lambda w: fnmlp.initial_state(w.params, w.state, None, 6), TypeError,
        "optimizer: expected a Optimizer, got NoneType"),
    Row("tree_map", "trees of two shapes", lambda w: fnmlp.tree_map(np.add, w.params, w.state), ValueError,
        "tree_map: trees differ in structure: expected Params of 4, got BatchNormState of 2"),
    # checkpoints
    Row("load_checkpoint", "a directory", lambda w: fnmlp.load_checkpoint(w.directory), IsADirectoryError,
        "path: expected a checkpoint file, got the directory"),
    Row("load_params", "no path", lambda w: fnmlp.load_params(None), TypeError, "path: expected a file path, got None"),
    Row("load_params", "a missing file", lambda w: fnmlp.load_params(w.directory / "missing.npz"), FileNotFoundError,
        "path: expected a checkpoint file, got '{tmp}/missing.npz', which does not exist"),
    Row("load_checkpoint", "a missing file", lambda w: fnmlp.load_checkpoint(str(w.directory / "missing.npz")),
        FileNotFoundError, "path: expected a checkpoint file, got '{tmp}/missing.npz', which does not exist"),
    Row("load_train_state", "a file in a missing directory",
        lambda w: fnmlp.load_train_state(w.directory / "gone" / "checkpoint.npz"), FileNotFoundError,
        "path: expected a checkpoint file, got '{tmp}/gone/checkpoint.npz', which does not exist"),
    Row("load_train_state", "a parameters-only file", lambda w: fnmlp.load_train_state(w.checkpoint), ValueError,
        "{}: expected training state"),
    Row("save_params", "a directory", lambda w: fnmlp.save_params(w.directory, w.spec, w.params, w.state),
        IsADirectoryError, "path: expected a checkpoint file, got the directory"),
    Row("save_params", "a missing directory",
        lambda w: fnmlp.save_params(w.directory / "missing" / "p.npz", w.spec, w.params, w.state), FileNotFoundError,
        "path: expected a file in an existing directory"),
    Row("save_params", "params of another spec",
        lambda w: fnmlp.save_params(w.checkpoint, w.spec, w.other_params, w.state), ValueError,
        "params.W[0]: expected shape (4, 5), got shape (4, 7)"),
    Row("save_checkpoint", "params as the optimizer state",
        lambda w: fnmlp.save_checkpoint(w.checkpoint, w.spec, w.params, w.state, w.params), TypeError,
        "opt_state: expected an optimizer state (a tuple or a state record of fnmlp.optimizers), got Params"),
    Row("save_checkpoint", "meta that JSON cannot hold",
        lambda w: fnmlp.save_checkpoint(w.checkpoint, w.spec, w.params, w.state, None, {"lr": np.float32(0.1)}),
        TypeError, "meta: expected a JSON-serialisable dict"),
    Row("save_train_state", "an order with a repeated row",
        lambda w: fnmlp.save_train_state(w.checkpoint, w.spec, w.opt, start(w, order=np.zeros(6, int))),
        ValueError, "train_state.order: expected a permutation of 0..5"),
    Row("save_train_state", "no optimizer",
        lambda w: fnmlp.save_train_state(w.checkpoint, w.spec, None, w.start), TypeError,
        "optimizer: expected a Optimizer, got NoneType"),
]


@pytest.mark.parametrize("row", PURE, ids=ids(PURE))
def test_the_functional_api_refuses_bad_input_and_changes_nothing(row, tmp_path):
    if "{" in row.message:
        row = attrs.evolve(row, message=row.message.format(tmp_path / "model.npz", tmp=tmp_path))
    assert_fails_cleanly(row, pure_world(tmp_path), tmp_path)


def test_borderline_input_that_is_accepted(tmp_path):
    """What is not refused, and what it means: NumPy integers and 1-D integer arrays as sizes;
    boolean, integer and float16 x, computed as float64; labels as a list, or one-hot of bools;
    no labels at all for one_hot; epochs equal to a resumed start's (nothing to train)."""
    w = pure_world(tmp_path)
    spec = fnmlp.MLPSpec((np.int64(4), np.int32(5), np.uint8(3)), ("relu", "identity"), num_bn_layers=np.int16(1))
    assert spec == w.spec and all(type(n) is int for n in spec.layer_sizes) and type(spec.num_bn_layers) is int
    assert fnmlp.MLPSpec(np.array([4, 5, 3]), np.array(["relu", "identity"]), num_bn_layers=1) == w.spec
    assert fnmlp.MLPSpec.from_hidden_sizes(4, np.array([5]), 3, activation="relu", num_bn_layers=1) == w.spec
    as_float64 = fnmlp.predict(w.spec, w.params, w.state, np.round(w.x).astype(np.float64))
    for x in (np.round(w.x).astype(np.int8), np.round(w.x).astype(np.float16)):
        logits = fnmlp.predict(w.spec, w.params, w.state, x)
        assert logits.dtype == np.float64
        np.testing.assert_array_equal(logits, as_float64)
    bits = w.x > 0
    np.testing.assert_array_equal(fnmlp.predict(w.spec, w.params, w.state, bits),
                                  fnmlp.predict(w.spec, w.params, w.state, bits.astype(np.float64)))
    loss = fnmlp.loss_and_grads(w.spec, w.params, w.state, w.x, w.y)[0]
    assert fnmlp.loss_and_grads(w.spec, w.params, w.state, w.x, list(w.y))[0] == loss
    assert fnmlp.loss_and_grads(w.spec, w.params, w.state, w.x, np.eye(3, dtype=bool)[w.y])[0] == loss
    assert fnmlp.one_hot(np.array([], dtype=int), 3).shape == (0, 3)
    result = fnmlp.fit_from(w.spec, w.opt, w.start, (w.x, w.y), epochs=w.start.epoch, batch_size=6)
    assert result.history == () and result.final is w.start


# --- Data sets ------------------------------------------------------------------------------------

DATA = [
    Row("load_mnist", "float16", lambda w: fnmlp.load_mnist(dtype=np.float16), TypeError,
        "dtype: expected float32 or float64"),
    Row("load_mnist", "a negative validation size", lambda w: fnmlp.load_mnist(validation_size=-1), ValueError,
        "validation_size: expected an integer in 0..inf, got -1"),
    Row("load_mnist", "verify as text", lambda w: fnmlp.load_mnist(verify="yes"), TypeError,
        "verify: expected True or False, got 'yes'"),
    Row("load_idx_dataset", "a directory without IDX files", lambda w: fnmlp.load_idx_dataset(w.directory),
        FileNotFoundError, "{}: expected a file train-images-idx3-ubyte or train-images-idx3-ubyte.gz, got neither"),
    Row("load_idx_dataset", "a file for the directory", lambda w: fnmlp.load_idx_dataset(w.file), FileNotFoundError,
        "directory: expected an existing directory"),
    Row("load_idx_dataset", "no classes", lambda w: fnmlp.load_idx_dataset(w.directory, num_classes=0), ValueError,
        "num_classes: expected an integer in 1..256, got 0"),
    Row("load_idx_dataset", "checksums as a number", lambda w: fnmlp.load_idx_dataset(w.directory, checksums=1),
        TypeError, "checksums: expected None, a mapping or a path to a SHA256SUMS file, got 1"),
    Row("load_dataset", "a number", lambda w: fnmlp.load_dataset(784), TypeError,
        "name_or_dir: expected a data set name or a directory, got 784"),
    Row("load_dataset", "an unknown name", lambda w: fnmlp.load_dataset("cifar-10"), ValueError,
        "name_or_dir: expected one of 'mnist', 'fashion-mnist' or a directory, got 'cifar-10'"),
    Row("read_idx", "no path", lambda w: fnmlp.read_idx(None), TypeError, "path: expected a file path, got None"),
    Row("download_mnist", "no destination", lambda w: fnmlp.download_mnist(None), TypeError,
        "dest: expected a directory path, got None"),
    Row("download_mnist", "a zero timeout", lambda w: fnmlp.download_mnist(w.directory, timeout=0), ValueError,
        "timeout: expected a finite number in (0, inf), got 0.0"),
    Row("Split", "x 1-D", lambda w: fnmlp.Split(np.ones(3), np.zeros(3, int)), ValueError,
        "Split: expected x (n, features) and y (n,), got x (3,) and y (3,)"),
]


@pytest.mark.parametrize("row", DATA, ids=ids(DATA))
def test_the_data_loaders_refuse_bad_input_and_change_nothing(row, tmp_path):
    world = types.SimpleNamespace(directory=tmp_path, file=tmp_path / "notes.txt")
    world.file.write_text("not a directory\n")
    if "{}" in row.message:
        row = attrs.evolve(row, message=row.message.format(tmp_path))
    assert_fails_cleanly(row, world, tmp_path)


# --- The handout's stateful adapter ---------------------------------------------------------------

def handout_mlp(**change):
    args = dict(input_size=4, output_size=3, hiddens=[5, 6], activations=[hw1.Sigmoid(), hw1.ReLU(), hw1.Identity()],
                weight_init_fn=hw1.random_normal_weight_init, bias_init_fn=hw1.zeros_bias_init,
                criterion=hw1.SoftmaxCrossEntropy(), lr=0.1, momentum=0.5, num_bn_layers=2)
    return hw1.MLP(**{**args, **change})


def hw1_world(tmp_path):
    """An MLP in mid-training (momentum under way, a forward and backward done), its data, and
    standalone layers that have seen a forward pass."""
    np.random.seed(4)
    w = types.SimpleNamespace(mlp=handout_mlp())
    rng = np.random.default_rng(5)
    w.x = rng.standard_normal((8, 4))
    w.y = np.eye(3)[rng.integers(0, 3, 8)]
    for _ in range(2):
        w.mlp.zero_grads()
        w.mlp.forward(w.x)
        w.mlp.backward(w.y)
        w.mlp.step()
    w.mlp.forward(w.x)
    w.mlp.backward(w.y)
    w.dset = ((w.x, w.y), (w.x[:4], w.y[:4]), (w.x[:4], w.y[:4]))
    w.bn = hw1.BatchNorm(4)
    w.bn(w.x)
    w.sigmoid = hw1.Sigmoid()
    w.sigmoid(w.x)
    w.loss = hw1.SoftmaxCrossEntropy()
    w.loss(w.x[:, :3], w.y)
    return w


def assign(path, value):
    """A setup doing ``w.mlp.<path> = value``, ``path`` like ``"lr"``, ``"W[1]"`` or ``"bn_layers[0].gamma"``."""
    def setup(w):
        *owners, last = path.split(".")
        owner = w.mlp
        for name in owners:
            field, _, index = name.partition("[")
            owner = getattr(owner, field)[int(index[:-1])] if index else getattr(owner, field)
        field, _, index = last.partition("[")
        if index:
            getattr(owner, field)[int(index[:-1])] = value
        else:
            setattr(owner, field, value)
    return setup


def gts(w, dset=None, nepochs=1, batch_size=4, mlp=None):
    return hw1.get_training_stats(w.mlp if mlp is None else mlp, w.dset if dset is None else dset, nepochs, batch_size)


HW1 = [
    # the constructor: checked before any draw from np.random
    Row("MLP", "an activation too few", lambda w: handout_mlp(activations=[hw1.Sigmoid(), hw1.Identity()]),
        ValueError, "activations: expected a list of 3 (one per layer), got 2 items"),
    Row("MLP", "activation classes, not objects", lambda w: handout_mlp(activations=[hw1.Sigmoid] * 3), TypeError,
        "activations[0]: expected an Identity, Sigmoid, Tanh or ReLU object"),
    Row("MLP", "hiddens as a string", lambda w: handout_mlp(hiddens="56"), TypeError,
        "hiddens: expected a sequence of layer widths, got '56'"),
    Row("MLP", "a zero hidden width", lambda w: handout_mlp(hiddens=[5, 0]), ValueError,
        "hiddens[1]: expected an integer in 1..inf, got 0"),
    Row("MLP", "True as a hidden width", lambda w: handout_mlp(hiddens=[5, True]), TypeError,
        "hiddens[1]: expected an integer, got True"),
    Row("MLP", "input_size 0", lambda w: handout_mlp(input_size=0), ValueError,
        "input_size: expected an integer in 1..inf, got 0"),
    Row("MLP", "a fractional output size", lambda w: handout_mlp(output_size=2.5), TypeError,
        "output_size: expected an integer, got 2.5"),
    Row("MLP", "more BatchNorm layers than layers", lambda w: handout_mlp(num_bn_layers=4), ValueError,
        "num_bn_layers: expected an integer in 0..3, got 4"),
    Row("MLP", "negative BatchNorm layers", lambda w: handout_mlp(num_bn_layers=-1), ValueError,
        "num_bn_layers: expected an integer in 0..3, got -1"),
    Row("MLP", "a NaN learning rate", lambda w: handout_mlp(lr=np.nan), ValueError,
        "lr: expected a finite number in [0.0, inf), got nan"),
    Row("MLP", "momentum 1", lambda w: handout_mlp(momentum=1), ValueError,
        "momentum: expected a finite number in [0.0, 1.0), got 1.0"),
    Row("MLP", "no criterion", lambda w: handout_mlp(criterion=None), TypeError,
        "criterion: expected a SoftmaxCrossEntropy, got NoneType"),
    Row("MLP", "weight_init_fn not callable", lambda w: handout_mlp(weight_init_fn=np.ones((4, 5))), TypeError,
        "weight_init_fn: expected a callable"),
    Row("MLP", "weight_init_fn giving NaN", lambda w: handout_mlp(weight_init_fn=lambda m, n: np.full((m, n), np.nan)),
        ValueError, "weight_init_fn(4, 5): expected finite values, got NaN or infinity"),
    Row("MLP", "weight_init_fn giving strings", lambda w: handout_mlp(weight_init_fn=lambda m, n: np.full((m, n), "1")),
        TypeError, "weight_init_fn(4, 5): expected an array of real numbers, got dtype <U1"),
    Row("MLP", "bias_init_fn giving a column", lambda w: handout_mlp(
        weight_init_fn=lambda m, n: np.ones((m, n)), bias_init_fn=lambda n: np.zeros((n, 1))), ValueError,
        "bias_init_fn(5): expected an array of shape (1, 5) or shape (5,), got shape (5, 1)"),
    # forward
    Row("MLP.forward", "x 1-D", lambda w: w.mlp.forward(w.x[0]), ValueError, "x: expected a 2-D array, got shape (4,)"),
    Row("MLP.forward", "x of the wrong width", lambda w: w.mlp.forward(w.x[:, :2]), ValueError,
        "x: expected 4 columns, got shape (8, 2)"),
    Row("MLP.forward", "x without rows", lambda w: w.mlp.forward(w.x[:0]), ValueError, "x: expected at least one row"),
    Row("MLP.forward", "x with NaN", lambda w: w.mlp.forward(w.x * np.nan), ValueError, "x: expected finite values"),
    Row("MLP.forward", "x complex", lambda w: w.mlp.forward(w.x + 1j), TypeError,
        "x: expected an array of real numbers"),
    Row("MLP.forward", "W[1] transposed", lambda w: w.mlp.forward(w.x), ValueError,
        "W[1]: expected shape (5, 6), got shape (6, 5)", setup=assign("W[1]", np.zeros((6, 5)))),
    Row("MLP.forward", "integer W[0]", lambda w: w.mlp.forward(w.x), TypeError,
        "W[0]: expected a float32 or float64 ndarray", setup=assign("W[0]", np.zeros((4, 5), int))),
    Row("MLP.forward", "a bias too few", lambda w: w.mlp.forward(w.x), ValueError,
        "b: expected a list of 3 (one per layer), got 2 items", setup=assign("b", [np.zeros(5), np.zeros(6)])),
    Row("MLP.forward", "BatchNorm gamma of the wrong width", lambda w: w.mlp.forward(w.x), ValueError,
        "bn_layers[1].gamma: expected shape (1, 6) or shape (6,), got shape (1, 5)",
        setup=assign("bn_layers[1].gamma", np.ones((1, 5)))),
    Row("MLP.forward", "BatchNorm layers that disagree on alpha", lambda w: w.mlp.forward(w.x), ValueError,
        "bn_layers: expected the same alpha and eps in every layer", setup=assign("bn_layers[0].alpha", 0.5)),
    Row("MLP.forward", "BatchNorm eps 0", lambda w: w.mlp.forward(w.x), ValueError,
        "bn_layers[0].eps: expected a finite number in (0.0, inf), got 0.0", setup=assign("bn_layers[0].eps", 0.0)),
    Row("MLP.forward", "an activation by name", lambda w: w.mlp.forward(w.x), TypeError,
        "activations[1]: expected an Identity, Sigmoid, Tanh or ReLU object, or another with the handout's interface "
        "(forward(x), derivative()), got 'relu'",
        setup=assign("activations[1]", "relu")),
    Row("MLP.forward", "train_mode as text", lambda w: w.mlp.forward(w.x), TypeError,
        "train_mode: expected True or False, got 'eval'", setup=assign("train_mode", "eval")),
    # backward
    Row("MLP.backward", "labels of the wrong width", lambda w: w.mlp.backward(w.y[:, :2]), ValueError,
        "labels: expected one-hot rows of shape (8, 3), got shape (8, 2)"),
    Row("MLP.backward", "class indices", lambda w: w.mlp.backward(w.y.argmax(axis=1)), ValueError,
        "labels: expected one-hot rows of shape (8, 3), got shape (8,)"),
    Row("MLP.backward", "labels for fewer rows", lambda w: w.mlp.backward(w.y[:5]), ValueError,
        "labels: expected one-hot rows of shape (8, 3), got shape (5, 3)"),
    Row("MLP.backward", "soft labels", lambda w: w.mlp.backward(w.y * 0.8 + 0.2 / 3), ValueError,
        "labels: expected one-hot rows (a single 1, the rest 0), got rows with other values"),
    Row("MLP.backward", "labels with NaN", lambda w: w.mlp.backward(w.y * np.nan), ValueError,
        "labels: expected one-hot rows (a single 1, the rest 0), got NaN or infinity"),
    Row("MLP.backward", "no forward before",
        lambda w: handout_mlp(weight_init_fn=lambda m, n: np.ones((m, n))).backward(w.y), ValueError,
        "MLP.backward: expected a forward(x) call before it, got none"),
    Row("MLP.backward", "no criterion", lambda w: w.mlp.backward(w.y), TypeError,
        "criterion: expected a SoftmaxCrossEntropy, got NoneType", setup=assign("criterion", None)),
    # step and zero_grads
    Row("MLP.step", "dW[0] of the wrong shape", lambda w: w.mlp.step(), ValueError,
        "dW[0]: expected shape (4, 5), got shape (5, 4)", setup=assign("dW[0]", np.zeros((5, 4)))),
    Row("MLP.step", "no db", lambda w: w.mlp.step(), TypeError, "db: expected a list of 3 (one per layer), got None",
        setup=assign("db", None)),
    Row("MLP.step", "BatchNorm dbeta of the wrong width", lambda w: w.mlp.step(), ValueError,
        "bn_layers[0].dbeta: expected shape (1, 5) or shape (5,), got shape (6,)",
        setup=assign("bn_layers[0].dbeta", np.ones(6))),
    Row("MLP.step", "a negative learning rate", lambda w: w.mlp.step(), ValueError,
        "lr: expected a finite number in [0.0, inf), got -0.1", setup=assign("lr", -0.1)),
    Row("MLP.step", "a learning rate per layer", lambda w: w.mlp.step(), TypeError,
        "lr: expected a real number, got array of shape (3,)", setup=assign("lr", np.array([0.1, 0.2, 0.3]))),
    Row("MLP.step", "momentum 1", lambda w: w.mlp.step(), ValueError,
        "momentum: expected a finite number in [0.0, 1.0), got 1.0", setup=assign("momentum", 1.0)),
    Row("MLP.zero_grads", "BatchNorm layers removed", lambda w: w.mlp.zero_grads(), TypeError,
        "bn_layers: expected a list of 2 (one per BatchNorm layer), got None", setup=assign("bn_layers", None)),
    # get_training_stats: everything is checked before the first shuffle and the first batch
    Row("get_training_stats", "a pair for dset", lambda w: gts(w, dset=w.dset[:2]), TypeError,
        "dset: expected a (train, val, test) triple"),
    Row("get_training_stats", "class indices for training", lambda w: gts(w, dset=(
        (w.x, w.y.argmax(axis=1)), *w.dset[1:])), ValueError, "train labels: expected one-hot rows of shape (8, 3)"),
    Row("get_training_stats", "validation x with NaN", lambda w: gts(w, dset=(
        w.dset[0], (w.x[:4] * np.nan, w.y[:4]), w.dset[2])), ValueError, "val x: expected finite values"),
    Row("get_training_stats", "test x of the wrong width", lambda w: gts(w, dset=(
        *w.dset[:2], (w.x[:4, :3], w.y[:4]))), ValueError, "test x: expected 4 columns"),
    Row("get_training_stats", "batch size 0", lambda w: gts(w, batch_size=0), ValueError,
        "batch_size: expected an integer in 1..8, got 0"),
    Row("get_training_stats", "a batch larger than the data", lambda w: gts(w, batch_size=9), ValueError,
        "batch_size: expected an integer in 1..8, got 9"),
    Row("get_training_stats", "negative epochs", lambda w: gts(w, nepochs=-1), ValueError,
        "nepochs: expected an integer in 0..inf, got -1"),
    Row("get_training_stats", "not an MLP", lambda w: gts(w, mlp=vars(w.mlp)), TypeError,
        "mlp: expected a MLP, got dict"),
    Row("get_training_stats", "a negative learning rate", gts, ValueError,
        "lr: expected a finite number in [0.0, inf), got -1.0", setup=assign("lr", -1.0)),
    Row("get_training_stats", "W[0] of the wrong shape", gts, ValueError,
        "W[0]: expected shape (4, 5), got shape (3, 3)", setup=assign("W[0]", np.ones((3, 3)))),
    Row("get_training_stats", "a criterion that is not softmax cross-entropy", gts, TypeError,
        "criterion: expected a SoftmaxCrossEntropy, got Criterion", setup=assign("criterion", hw1.Criterion())),
    # the layers alone
    Row("BatchNorm", "no features", lambda w: hw1.BatchNorm(0), ValueError,
        "fan_in: expected an integer in 1..inf, got 0"),
    Row("BatchNorm", "True features", lambda w: hw1.BatchNorm(True), TypeError,
        "fan_in: expected an integer, got True"),
    Row("BatchNorm", "alpha above 1", lambda w: hw1.BatchNorm(4, alpha=2), ValueError,
        "alpha: expected a finite number in [0.0, 1.0], got 2.0"),
    Row("BatchNorm.forward", "x of the wrong width", lambda w: w.bn(w.x[:, :3]), ValueError, "x: expected 4 columns"),
    Row("BatchNorm.forward", "x with infinity", lambda w: w.bn(np.full((8, 4), np.inf)), ValueError,
        "x: expected finite values"),
    Row("BatchNorm.forward", "eval as text", lambda w: w.bn(w.x, eval="no"), TypeError,
        "eval: expected True or False, got 'no'"),
    Row("BatchNorm.backward", "delta of another batch", lambda w: w.bn.backward(w.x[:3]), ValueError,
        "delta: expected shape (8, 4), the last forward's, got shape (3, 4)"),
    Row("BatchNorm.backward", "delta with NaN", lambda w: w.bn.backward(w.x * np.nan), ValueError,
        "delta: expected finite values"),
    Row("BatchNorm.backward", "no forward before", lambda w: hw1.BatchNorm(4).backward(w.x), ValueError,
        "BatchNorm.norm: expected the output of a forward call, got None"),
    Row("Sigmoid", "x of objects", lambda w: w.sigmoid(np.array([1.0, None])), TypeError,
        "x: expected an array of real numbers, got dtype object"),
    Row("Sigmoid", "x with NaN", lambda w: w.sigmoid(np.array([np.nan])), ValueError, "x: expected finite values"),
    Row("Tanh.derivative", "no forward before", lambda w: hw1.Tanh().derivative(), ValueError,
        "Tanh.state: expected the output of a forward call, got None"),
    Row("SoftmaxCrossEntropy", "labels of the wrong width", lambda w: w.loss(w.x[:, :3], w.y[:, :2]), ValueError,
        "y: expected one-hot rows of shape (8, 3), got shape (8, 2)"),
    Row("SoftmaxCrossEntropy", "logits with NaN", lambda w: w.loss(w.x[:, :3] * np.nan, w.y), ValueError,
        "x: expected finite values"),
    Row("SoftmaxCrossEntropy.derivative", "no forward before", lambda w: hw1.SoftmaxCrossEntropy().derivative(),
        ValueError, "SoftmaxCrossEntropy.sm: expected the softmax of a forward call, got None"),
]


@pytest.mark.parametrize("row", HW1, ids=ids(HW1))
def test_the_handout_adapter_refuses_bad_input_and_changes_nothing(row, tmp_path):
    assert_fails_cleanly(row, hw1_world(tmp_path), tmp_path)


def test_the_adapter_snapshot_sees_every_attribute():
    """The comparison behind the table notices a change anywhere in the adapter's state."""
    world = hw1_world(None)
    before = copy.deepcopy(world)
    changes = [lambda w: w.mlp.bn_layers[1].running_var.__setitem__((0, 2), 7.0),
               lambda w: w.mlp.activations[0].state.__setitem__((1, 1), 0.5),
               lambda w: setattr(w.mlp.criterion, "loss", w.mlp.criterion.loss[:2]),
               lambda w: setattr(w.mlp, "_opt_state", fnmlp.tree_map(np.negative, w.mlp._opt_state)),
               lambda w: setattr(w.mlp, "train_mode", False),
               lambda w: w.mlp.dW[2].__setitem__((0, 0), 1.0),
               lambda w: w.x.__setitem__((0, 0), np.nan)]
    for change in changes:
        changed = copy.deepcopy(before)
        change(changed)
        with pytest.raises(AssertionError):
            assert_same(before, changed)


# --- The command line -----------------------------------------------------------------------------

CHEAP = ["train", "--limit", "200", "--hidden", "8", "--epochs", "1", "--progress", "none"]


def cli_world(tmp_path):
    """A finished two-epoch run directory as ``fnmlp train`` leaves it (its checkpoint, that is),
    a plain file, and a checkpoint saved by the API without the run's options."""
    config = TrainConfig(limit=200, hidden=[8], epochs=2)
    built = build(config, num_features=784, num_classes=10, num_train=200)
    spec, optimizer = built.spec, built.optimizer
    params, state = fnmlp.init_params(spec, 0)
    done = attrs.evolve(fnmlp.initial_state(params, state, optimizer, 200, 0), epoch=2)
    (tmp_path / "run").mkdir()
    meta = {"config": config.to_dict(), "history": []}
    fnmlp.save_train_state(tmp_path / "run" / "checkpoint.npz", spec, optimizer, done, meta)
    (tmp_path / "api").mkdir()
    fnmlp.save_train_state(tmp_path / "api" / "checkpoint.npz", spec, optimizer, done, {"note": "no config"})
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "checkpoint.npz").write_bytes(b"PK\x03\x04 cut short")
    (tmp_path / "file").write_text("a file\n")
    (tmp_path / "empty").mkdir()


CLI = [  # (what is wrong, arguments after the command, how the message after "fnmlp: error: " starts)
    ("a learning rate that is not a number", ["--lr", "fast"], "--lr: expected a number, got 'fast'"),
    ("a negative learning rate", ["--lr", "-1"], "--lr: expected a finite number >= 0, got -1.0"),
    ("a NaN learning rate", ["--lr", "nan"], "--lr: expected a finite number >= 0, got nan"),
    ("an infinite learning rate", ["--lr", "inf"], "--lr: expected a finite number >= 0, got inf"),
    ("momentum 1", ["--momentum", "1"], "--momentum: expected a number in [0, 1), got 1.0"),
    ("momentum NaN", ["--momentum", "nan"], "--momentum: expected a number in [0, 1), got nan"),
    ("fractional epochs", ["--epochs", "1.5"], "--epochs: expected an integer, got '1.5'"),
    ("negative epochs", ["--epochs", "-1"], "--epochs: expected an integer >= 0, got -1"),
    ("batch size 0", ["--batch-size", "0"], "--batch-size: expected an integer >= 1, got 0"),
    ("a batch larger than the data", ["--batch-size", "201"],
     "--batch-size: expected at most 200, the training rows, got 201"),
    ("a hidden size that is not a number", ["--hidden", "8", "x"], "--hidden: expected an integer, got 'x'"),
    ("a zero hidden size", ["--hidden", "0"], "--hidden: expected positive sizes, got 0"),
    ("an unknown activation", ["--activation", "swish"], "--activation: expected names among"),
    ("too many activations", ["--activation", "relu", "relu", "relu"], "--activation: expected 1, 1 or 2 names"),
    ("negative BatchNorm layers", ["--bn", "-1"], "--bn: expected an integer >= 0, got -1"),
    ("more BatchNorm layers than layers", ["--bn", "3"], "--bn: expected at most 2, the number of layers, got 3"),
    ("an unknown initialiser", ["--init", "glorot"], "--init: invalid choice: 'glorot'"),
    ("float16", ["--dtype", "float16"], "--dtype: invalid choice: 'float16'"),
    ("a negative seed", ["--seed", "-1"], "--seed: expected an integer >= 0, got -1"),
    ("a warm-up longer than the run", ["--warmup-epochs", "10", "--epochs", "2"],
     "--warmup-epochs: expected fewer than the 2 epochs of the run (the schedule needs at least one step after "
     "the warm-up), got 10"),
    ("a seed past 32 bits", ["--seed", str(2 ** 32)], "--seed: expected an integer below 2**32"),
    ("limit 0", ["--limit", "0"], "--limit: expected an integer >= 1, got 0"),
    ("an unknown data set", ["--dataset", "cifar-10"],
     "--dataset: expected mnist, fashion-mnist or a directory of IDX files, got 'cifar-10'"),
    ("a data set directory without IDX files", ["--dataset", "{tmp}/empty"],
     "{tmp}/empty: expected a file train-images-idx3-ubyte"),
    ("an output path that is a file", ["--out", "{tmp}/file"], "--out: expected a directory, got {tmp}/file"),
    ("an output path inside a file", ["--out", "{tmp}/file/run"],
     "--out: expected a directory, got {tmp}/file/run, inside the file {tmp}/file"),
    ("an output directory holding a run", ["--out", "{tmp}/run"], "--out: {tmp}/run already holds a run"),
    ("an unknown option", ["--learning-rate", "0.1"], "unrecognized arguments: --learning-rate 0.1"),
    ("resume with other options", ["--resume", "{tmp}/run", "--lr", "0.1"],
     "--resume: the run keeps its own options; remove --lr"),
    ("resume a missing run", ["--resume", "{tmp}/missing"],
     "--resume: expected a run directory holding checkpoint.npz, got {tmp}/missing, which does not exist"),
    ("resume a directory without a checkpoint", ["--resume", "{tmp}/empty"],
     "--resume: expected a run directory holding checkpoint.npz, got {tmp}/empty"),
    ("resume a checkpoint without the run's options", ["--resume", "{tmp}/api"],
     "--resume: expected a run written by fnmlp train, got {tmp}/api/checkpoint.npz"),
    ("resume a broken checkpoint", ["--resume", "{tmp}/broken"],
     "{tmp}/broken/checkpoint.npz: expected an fnmlp checkpoint"),
    ("resume to fewer epochs than done", ["--resume", "{tmp}/run", "--epochs", "1"],
     "--epochs: expected at least 2, the epochs the run has done, got 1"),
    ("an unknown augmentation", ["--augment", "blur:2"],
     "--augment: 'blur:2': expected a transform among shift, affine, elastic, got 'blur'"),
    ("an augmentation probability above 1", ["--augment", "shift:2,p=1.5"],
     "--augment: 'shift:2,p=1.5': p: expected a finite number in [0.0, 1.0], got 1.5"),
    ("a rotation past half a turn", ["--augment", "affine:rot=200"],
     "--augment: 'affine:rot=200': rotation: expected r >= 0 with (-r, r) in [-180.0, 180.0], got 200.0"),
    ("a scale of -1 or less", ["--augment", "affine:scale=1.5"],
     "--augment: 'affine:scale=1.5': scale: expected r >= 0 with (-r, r) in (-1.0, inf), got 1.5"),
    ("a negative elastic alpha", ["--augment", "elastic:alpha=-1"],
     "--augment: 'elastic:alpha=-1': alpha: expected a finite number in [0.0, inf), got -1.0"),
    ("a negative shift", ["--augment", "shift:-1"], "--augment: 'shift:-1': max_pixels: expected an integer in 0.."),
    ("an augmentation key of another transform", ["--augment", "shift:alpha=3"],
     "--augment: 'shift:alpha=3': expected each key once, among max, fill, p, got 'alpha=3'"),
    ("an augmentation value that is not a number", ["--augment", "elastic:sigma=big"],
     "--augment: 'elastic:sigma=big': sigma: expected a number or low..high, got 'big'"),
    ("a picture of no augmentation", ["--show-augment"], "--augment: expected augmentation tokens to show, got none"),
    ("resume with augmentation", ["--resume", "{tmp}/run", "--augment", "shift:1"],
     "--resume: the run keeps its own options; remove --augment"),
]


@pytest.mark.parametrize("bad, args, message", CLI, ids=[row[0] for row in CLI])
def test_the_command_line_reports_bad_input_in_one_line_with_status_2(bad, args, message, tmp_path, capsys):
    cli_world(tmp_path)
    args = [arg.format(tmp=tmp_path) for arg in args]
    argv = ["train", *args] if "--resume" in args else [*CHEAP, "--out", str(tmp_path / "new"), *args]
    disk = files_under(tmp_path)
    code = cli.main(argv)
    captured = capsys.readouterr()
    assert code == cli.EXIT_USAGE
    assert captured.err.startswith("fnmlp: error: " + message.format(tmp=tmp_path)), captured.err
    assert captured.err.count("\n") == 1 and captured.err.endswith("\n"), captured.err
    assert captured.out == ""
    assert files_under(tmp_path) == disk


def test_the_command_line_without_a_command_says_so_in_one_line(capsys):
    assert cli.main([]) == cli.EXIT_USAGE
    err = capsys.readouterr().err
    assert err == "fnmlp: error: the following arguments are required: COMMAND\n"
