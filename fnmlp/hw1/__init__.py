"""The 11-785 HW1 Part 1 handout's (Spring 2019) stateful classes, as thin adapters over the pure core.

Code written against the handout runs unchanged::

    import fnmlp.hw1 as hw1
    np.random.seed(11785)
    mlp = hw1.MLP(784, 10, [64, 32], [hw1.Sigmoid(), hw1.Sigmoid(), hw1.Identity()],
                  hw1.random_normal_weight_init, hw1.zeros_bias_init, hw1.SoftmaxCrossEntropy(),
                  lr=0.008, momentum=0.856, num_bn_layers=1)
    mlp.zero_grads(); mlp.forward(x); mlp.backward(one_hot_y); mlp.step()

No math lives here: the activations call ``fnmlp.activations``, the criterion ``fnmlp.losses``,
``BatchNorm`` ``fnmlp.batchnorm``, and ``MLP`` runs ``fnmlp.network``'s forward and backward and
``fnmlp.optimizers``' SGD update, then exposes the results under the handout's names:

- The public attributes are the model. ``W``, ``b``, each BatchNorm layer's ``gamma``, ``beta``,
  running statistics, ``alpha`` and ``eps`` (one value for all layers), ``activations``, ``lr``,
  ``momentum`` and ``train_mode`` are read, and checked, at every call, so ``mlp.W = [...]``,
  ``mlp.W[0] = w`` and writing into ``mlp.W[0]`` all take effect. A bad one raises before the call
  changes anything. Arrays are checked for type, shape and dtype but not for NaN: parameters that
  training made non-finite are what ``get_training_stats`` reports as ``TrainingDiverged``.
- Every array handed out is a writable ``ndarray`` that no later call writes into: calls rebind the
  attributes to new arrays, so an array kept from an earlier call keeps its values.
- ``dW`` and ``db`` are gradients of the mean loss over the batch; BatchNorm's ``dgamma`` and
  ``dbeta`` are sums over the batch (gradients of the summed loss); ``step`` applies
  ``v = momentum * v - lr * g; p = p + v`` to every parameter with its gradient as exposed.

The checks of the arguments and attributes, and the records they become for the core, live in the
private ``fnmlp._handout``; this module keeps the handout's classes and functions.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from ._handout import (LastForward, activation_records, batchnorm_fields, batchnorm_layers, dataset, gradients,
                       handout_sgd, initial_arrays, one_hot_labels, owned, records, row, widths)
from ..model import activations as core_activations
from ..model import inference
from ..model.batchnorm import BatchNormCache, batchnorm_backward, batchnorm_forward
from ..model.kernels import backward as _backward, forward as _forward
from ..model.losses import SOFTMAX_CROSS_ENTROPY
from ..model.params import param_shapes
from ..model.spec import MLPSpec
from ..model.tree import readonly
from ..optimizers import apply_updates
from ..training.loop import run_epochs
from ..utils import checks as _checks

__all__ = ["Activation", "Identity", "Sigmoid", "Tanh", "ReLU", "Criterion", "SoftmaxCrossEntropy", "BatchNorm",
           "MLP", "random_normal_weight_init", "zeros_bias_init", "get_training_stats"]


class Activation:
    """An elementwise activation. ``forward(x)`` (or calling the object) returns ``f(x)``, with ``x``'s
    shape and dtype, and keeps it in ``state``; ``derivative()`` is ``f'(x)``, computed from ``state``."""

    name = None  #: the ``fnmlp.activations.ACTIVATIONS`` entry a subclass adapts

    def __init__(self) -> None:
        self.state = None

    def __call__(self, x: Any) -> np.ndarray:
        return self.forward(x)

    def forward(self, x: Any) -> np.ndarray:
        self.state = self._core().apply(_checks.float_array("x", x, ndim=None))
        return self.state

    def derivative(self) -> np.ndarray:
        core = self._core()
        if self.state is None:
            _checks.fail(ValueError, f"{type(self).__name__}.state", "the output of a forward call", None)
        return core.derivative(self.state)

    def _core(self):
        if self.name is None:
            raise NotImplementedError("Activation is abstract: use Identity, Sigmoid, Tanh or ReLU")
        return core_activations.ACTIVATIONS[self.name]


class Identity(Activation):
    """``f(x) = x``; ``derivative()`` is the scalar ``1.0``, as in the handout."""

    name = "identity"

    def derivative(self) -> float:
        return 1.0


class Sigmoid(Activation):
    """``f(x) = 1 / (1 + exp(-x))``; ``derivative()`` is ``s * (1 - s)``."""

    name = "sigmoid"


class Tanh(Activation):
    """``f(x) = tanh(x)``; ``derivative()`` is ``1 - t**2``."""

    name = "tanh"


class ReLU(Activation):
    """``f(x) = max(x, 0)``; ``derivative()`` is 1.0 where the output is positive, 0.0 elsewhere."""

    name = "relu"


_BUILTIN_CLASSES = (Identity, Sigmoid, Tanh, ReLU)  # the MLP runs their core records directly


class Criterion:
    """A loss of ``logits`` against ``labels``: ``forward(x, y)`` (or calling the object) returns the
    per-example ``loss`` and keeps all three."""

    def __init__(self) -> None:
        self.logits = None
        self.labels = None
        self.loss = None

    def __call__(self, x: Any, y: Any) -> np.ndarray:
        return self.forward(x, y)

    def forward(self, x: Any, y: Any) -> np.ndarray:
        raise NotImplementedError

    def derivative(self) -> np.ndarray:
        raise NotImplementedError


class SoftmaxCrossEntropy(Criterion):
    """Softmax cross-entropy of logits ``x`` ``(batch, classes)`` against one-hot ``y``.

    ``forward`` returns the per-example losses ``(batch,)`` (via LogSumExp) and keeps the softmax in
    ``sm``; ``derivative()`` is ``sm - y`` ``(batch, classes)``, each example's gradient, not divided
    by the batch.
    """

    def __init__(self) -> None:
        super().__init__()
        self.sm = None
        self._cache = None

    def forward(self, x: Any, y: Any) -> np.ndarray:
        x = _checks.float_array("x", x, ndim=2)
        y, indices = one_hot_labels("y", y, x.shape)
        return self._forward(x, y, indices)

    def derivative(self) -> np.ndarray:
        if self._cache is None:
            _checks.fail(ValueError, "SoftmaxCrossEntropy.sm", "the softmax of a forward call", None)
        return SOFTMAX_CROSS_ENTROPY.grad(self._cache)

    def _forward(self, x: np.ndarray, y: np.ndarray, indices: np.ndarray) -> np.ndarray:
        losses, cache = SOFTMAX_CROSS_ENTROPY.value(x, indices)
        self.logits, self.labels, self.loss, self.sm, self._cache = x, y, losses, cache.probs, cache
        return losses


class BatchNorm:
    """Batch normalisation of ``fan_in`` features; ``alpha`` weighs the old running statistics.

    ``forward(x, eval=False)`` (or calling the object) normalises ``x`` ``(batch, fan_in)``: in
    training mode with the batch's mean and biased variance, moving
    ``running = alpha * running + (1 - alpha) * batch_stat``; with ``eval``, with the running
    statistics, left unchanged. Either way ``out = gamma * norm + beta``. It keeps ``x``, ``norm``
    and ``out`` ``(batch, fan_in)``, and the ``mean`` and ``var`` it normalised with ``(1, fan_in)``.
    ``backward(delta)`` returns the gradient for ``x`` and sets ``dgamma = sum(delta * norm)`` and
    ``dbeta = sum(delta)`` over the batch, ``(fan_in,)``. ``gamma``, ``beta``, ``running_mean`` and
    ``running_var`` are ``(1, fan_in)``; ``eps = 1e-8``.
    """

    def __init__(self, fan_in: int, alpha: float = 0.9) -> None:
        fan_in = _checks.integer("fan_in", fan_in, minimum=1)
        self.alpha = _checks.real("alpha", alpha, minimum=0.0, maximum=1.0)
        self.eps = 1e-8
        self.x = self.norm = self.out = None
        self.mean, self.var = np.zeros((1, fan_in)), np.ones((1, fan_in))
        self.gamma, self.beta = np.ones((1, fan_in)), np.zeros((1, fan_in))
        self.dgamma, self.dbeta = np.zeros(fan_in), np.zeros(fan_in)
        self.running_mean, self.running_var = np.zeros((1, fan_in)), np.ones((1, fan_in))
        self._fan_in = fan_in
        self._cache = None

    def __call__(self, x: Any, eval: bool = False) -> np.ndarray:
        return self.forward(x, eval)

    def forward(self, x: Any, eval: bool = False) -> np.ndarray:
        train = not _checks.boolean("eval", eval)
        x = _checks.float_array("x", x, ndim=2, width=self._fan_in)
        gamma, beta, running_mean, running_var, alpha, eps = batchnorm_fields("BatchNorm", self, self._fan_in)
        out, cache, new_mean, new_var = batchnorm_forward(x, readonly(gamma), readonly(beta), readonly(running_mean),
                                                          readonly(running_var), train=train, alpha=alpha, eps=eps)
        self._remember(cache, new_mean, new_var)
        return out

    def backward(self, delta: Any) -> np.ndarray:
        if self._cache is None:
            _checks.fail(ValueError, "BatchNorm.norm", "the output of a forward call", None)
        shape = self._cache.normalized.shape
        delta = _checks.float_array("delta", delta, ndim=2)
        if delta.shape != shape:
            _checks.fail(ValueError, "delta", f"shape {shape}, the last forward's", f"shape {delta.shape}")
        gamma = batchnorm_fields("BatchNorm", self, self._fan_in)[0]
        dx, self.dgamma, self.dbeta = batchnorm_backward(self._cache, readonly(gamma),
                                                         delta.astype(self._cache.normalized.dtype, copy=False))
        return dx

    def _remember(self, cache: BatchNormCache, running_mean: np.ndarray, running_var: np.ndarray) -> None:
        self._cache = cache
        self.x, self.norm, self.out = cache.z, cache.normalized, cache.out
        self.mean, self.var = row(cache.mean), row(cache.var)
        if cache.train:
            self.running_mean, self.running_var = row(running_mean), row(running_var)


def random_normal_weight_init(d0: int, d1: int) -> np.ndarray:
    """``np.random.randn(d0, d1)``: standard normal weights from NumPy's global generator."""
    return np.random.randn(d0, d1)


def zeros_bias_init(d: int) -> np.ndarray:
    """Zero biases of shape ``(1, d)``."""
    return np.zeros((1, d))


class MLP:
    """The handout's multi-layer perceptron.

    ``len(hiddens) + 1`` affine layers map ``input_size`` features through ``hiddens`` to
    ``output_size`` logits; layer ``i`` computes ``z = a @ W[i] + b[i]``, then, for
    ``i < num_bn_layers``, ``z = bn_layers[i](z, eval=not train_mode)``, then ``activations[i](z)``
    (one ``Identity``, ``Sigmoid``, ``Tanh`` or ``ReLU`` object per layer, or any other object with the
    handout's interface, ``forward(x)`` returning the output and keeping ``state``, and ``derivative()``,
    such as a subclass of ``Activation`` of your own: its methods are called for its layer). ``criterion`` must be a
    ``SoftmaxCrossEntropy``. Construction calls ``weight_init_fn(fan_in, fan_out)`` for each layer in
    order, then ``bias_init_fn(fan_out)`` for each layer (``b[i]`` keeps the shape it returns,
    ``(1, fan_out)`` or ``(fan_out,)``), and draws nothing else from any random generator.
    ``forward(x)`` returns the logits ``(batch, output_size)``; ``backward(one_hot_labels)`` sets
    ``dW[i]`` (``W[i]``'s shape) and ``db[i]`` ``(fan_out,)`` to the mean loss's gradients and each
    BatchNorm layer's ``dgamma``, ``dbeta``; ``step()`` moves every parameter by SGD with momentum.
    """

    def __init__(self, input_size: int, output_size: int, hiddens: Sequence[int], activations: Sequence[Activation],
                 weight_init_fn: Callable[[int, int], Any], bias_init_fn: Callable[[int], Any],
                 criterion: SoftmaxCrossEntropy, lr: float, momentum: float = 0.0, num_bn_layers: int = 0) -> None:
        input_size = _checks.integer("input_size", input_size, minimum=1)
        output_size = _checks.integer("output_size", output_size, minimum=1)
        hiddens = widths(hiddens)
        nlayers = len(hiddens) + 1
        self._wrappers = {}
        names = activation_records(activations, nlayers, self._wrappers, _BUILTIN_CLASSES)
        _checks.function("weight_init_fn", weight_init_fn)
        _checks.function("bias_init_fn", bias_init_fn)
        _checks.instance("criterion", criterion, SoftmaxCrossEntropy)
        optimizer = handout_sgd(lr, momentum)
        num_bn_layers = _checks.integer("num_bn_layers", num_bn_layers, minimum=0, maximum=nlayers)
        spec = MLPSpec((input_size, *hiddens, output_size), names, num_bn_layers)
        self.W, self.b, params = initial_arrays(spec, weight_init_fn, bias_init_fn)

        self.input_size, self.output_size = input_size, output_size
        self.nlayers, self.num_bn_layers, self.bn = nlayers, num_bn_layers, num_bn_layers > 0
        self.activations, self.criterion = activations, criterion
        self.lr, self.momentum = float(lr), float(momentum)
        self.train_mode = True
        self.bn_layers = [BatchNorm(n, spec.bn_alpha) for n in spec.bn_widths] if num_bn_layers else None
        self._spec, self._opt_state = spec, optimizer.init(params)
        self._last = None
        self.zero_grads()

    def __call__(self, x: Any) -> np.ndarray:
        return self.forward(x)

    def train(self) -> None:
        self.train_mode = True

    def eval(self) -> None:
        self.train_mode = False

    def forward(self, x: Any) -> np.ndarray:
        """The logits ``(batch, output_size)`` for ``x`` ``(batch, input_size)``, in ``x``'s dtype.

        Fills each activation's ``state`` and each BatchNorm layer's attributes, as the handout's
        layer-by-layer forward would; in training mode BatchNorm's running statistics move.
        """
        spec, params, state, bn_layers = self._records()
        train = _checks.boolean("train_mode", self.train_mode)
        x = _checks.float_array("x", x, ndim=2, width=spec.layer_sizes[0])
        logits, cache, new_state = _forward(spec, params, state, x, train)
        self._spec, self._last = spec, LastForward(spec, params, cache, bn_layers)
        for activation, output in zip(self.activations, cache.outputs[1:]):
            if type(activation) in _BUILTIN_CLASSES:  # others keep what their own forward kept
                activation.state = output
        for i, layer in enumerate(bn_layers):
            layer._remember(cache.batchnorm[i], new_state.running_mean[i], new_state.running_var[i])
        return logits

    def backward(self, labels: Any) -> None:
        """Back-propagate the criterion's loss of the last forward's logits against one-hot
        ``labels`` ``(batch, output_size)``; sets ``dW``, ``db`` and BatchNorm's ``dgamma``, ``dbeta``."""
        if self._last is None:
            _checks.fail(ValueError, "MLP.backward", "a forward(x) call before it", "none")
        criterion = _checks.instance("criterion", self.criterion, SoftmaxCrossEntropy)
        spec, params, cache = self._last.spec, self._last.params, self._last.cache
        logits = cache.outputs[-1]
        labels, indices = one_hot_labels("labels", labels, logits.shape)
        criterion._forward(logits, labels, indices)
        batch = logits.shape[0]
        dlogits = criterion.derivative()
        dlogits /= batch
        grads = _backward(spec, params, cache, dlogits, input_grad=False)
        self.dW = [owned(g) for g in grads.W]
        self.db = [owned(g) for g in grads.b]
        for layer, dgamma, dbeta in zip(self._last.bn_layers, grads.gamma, grads.beta):
            layer.dgamma, layer.dbeta = dgamma * batch, dbeta * batch

    def step(self) -> None:
        """One SGD-with-momentum update of ``W``, ``b`` and BatchNorm's ``gamma``, ``beta``, using the
        gradients as exposed, with ``lr`` and ``momentum`` as they are now."""
        spec, params, _, bn_layers = self._records()
        grads = gradients(spec, params, self.dW, self.db, bn_layers)
        transform = handout_sgd(self.lr, self.momentum).transform  # its update, unlike Optimizer.update, checks nothing
        updates, self._opt_state = transform.update(grads, self._opt_state, params)
        new = apply_updates(params, updates)
        self.W = [owned(w) for w in new.W]
        self.b = [owned(v).reshape(old.shape) for v, old in zip(new.b, self.b)]
        for layer, gamma, beta in zip(bn_layers, new.gamma, new.beta):
            layer.gamma, layer.beta = row(gamma), row(beta)

    def zero_grads(self) -> None:
        """Set ``dW``, ``db`` and BatchNorm's ``dgamma``, ``dbeta`` to float64 zeros of their shapes."""
        bn_layers = batchnorm_layers(self.bn_layers, self._spec.num_bn_layers, BatchNorm)
        shapes = param_shapes(self._spec)
        self.dW = [np.zeros(shape) for shape in shapes["W"]]
        self.db = [np.zeros(shape) for shape in shapes["b"]]
        for layer, shape in zip(bn_layers, shapes["gamma"]):
            layer.dgamma, layer.dbeta = np.zeros(shape), np.zeros(shape)

    def _records(self) -> tuple:
        """``(spec, params, bn_state, bn_layers)``: the core's records for the attributes as they are
        now, checked, and the BatchNorm objects (``_handout.records``)."""
        return records(self._spec, self._wrappers, _BUILTIN_CLASSES, BatchNorm, self.activations, self.W, self.b,
                       self.bn_layers)


def get_training_stats(mlp: MLP, dset: Any, nepochs: int, batch_size: int) -> tuple:
    """Train ``mlp`` for ``nepochs`` epochs of mini-batches; returns four arrays ``(nepochs,)``: mean
    training loss, training error (a fraction, counted on each batch as it was trained), validation
    loss and validation error after each epoch.

    ``dset`` is ``(train, val, test)``, each ``(x, one_hot_labels)``; the test set is checked but, as
    in the handout's results, not used. Each epoch shuffles one index array in place with
    ``np.random.shuffle`` and, for each batch, calls ``zero_grads``, ``forward``, ``backward`` and
    ``step`` in training mode; validation runs in eval mode, which the MLP is left in. A NaN or
    infinite batch loss raises ``fnmlp.TrainingDiverged``.
    """
    _checks.instance("mlp", mlp, MLP)
    if not isinstance(dset, (tuple, list)) or len(dset) != 3:
        _checks.fail(TypeError, "dset", "a (train, val, test) triple", _checks.describe(dset))
    (x, labels, _), (val_x, _, val_indices), _ = (dataset(name, mlp._spec, data)
                                                  for name, data in zip(("train", "val", "test"), dset))
    nepochs = _checks.integer("nepochs", nepochs, minimum=0)
    batch_size = _checks.integer("batch_size", batch_size, minimum=1, maximum=x.shape[0])
    # What forward, backward and step read, checked before the first batch changes any of it:
    mlp._records()
    _checks.instance("criterion", mlp.criterion, SoftmaxCrossEntropy)
    handout_sgd(mlp.lr, mlp.momentum)

    def step(mlp: MLP, xb: np.ndarray, yb: np.ndarray) -> tuple:
        mlp.train()
        mlp.zero_grads()
        logits = mlp.forward(xb)
        mlp.backward(yb)
        mlp.step()
        wrong = int((logits.argmax(axis=1) != yb.argmax(axis=1)).sum())
        return mlp, float(mlp.criterion.loss.sum()), wrong

    def validate(mlp: MLP) -> tuple:
        mlp.eval()
        spec, params, state, _ = mlp._records()
        return inference.evaluate(spec, params, state, val_x, val_indices)

    _, history = run_epochs(step, validate, mlp, x, labels, order=np.arange(x.shape[0]), shuffle=np.random.shuffle,
                            first_epoch=1, last_epoch=nepochs, batch_size=batch_size)
    return tuple(np.array([getattr(stats, field) for stats in history], dtype=np.float64)
                 for field in ("train_loss", "train_error", "val_loss", "val_error"))
