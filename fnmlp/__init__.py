"""fnmlp: multi-layer perceptrons in NumPy, as pure functions over immutable records.

The functional API::

    spec = fnmlp.MLPSpec((784, 64, 10), ("sigmoid", "identity"))
    params, state = fnmlp.init_params(spec, rng=0)
    opt = fnmlp.sgd(lr=0.01, momentum=0.9)                 # or fnmlp.adam(1e-3), fnmlp.optimizers.chain(...)
    opt_state = opt.init(params)
    loss, grads, state = fnmlp.loss_and_grads(spec, params, state, x, labels)   # rng=... with dropout
    params, opt_state = opt.update(grads, opt_state, params)

    fnmlp.save_params("params.npz", spec, params, state)   # and load_params; no pickle

``fnmlp.hw1`` wraps the same functions in the 11-785 handout's stateful classes.
"""

__version__ = "0.1.0"

import sys

from .model.activations import ACTIVATIONS, Activation, get_activation, register_activation
from .model.batchnorm import BatchNormCache, batchnorm_backward, batchnorm_forward
from .model.initializers import as_rng, weight_initializer, zeros_bias_init
from .model.gradcheck import GradReport, check_activation, check_grads, check_loss
from .model.losses import (LOSSES, MEAN_SQUARED_ERROR, SOFTMAX_CROSS_ENTROPY, Loss, SoftmaxCrossEntropyCache,
                           SquaredErrorCache, class_indices, get_loss, log_softmax, mean_squared_error,
                           mean_squared_error_grad, one_hot, register_loss, softmax_cross_entropy,
                           softmax_cross_entropy_grad)
from .model.network import ForwardCache, backward, backward_with_input_grad, forward, loss_and_grads, predict
from .model.params import BatchNormState, Params, astype, check_params, check_state, init_params, param_shapes
from .model.spec import MLPSpec
from .model.tree import readonly, to_namespace, to_numpy, tree_allclose, tree_leaves, tree_map
from .utils.namespace import array_namespace, register_jax_pytrees
from . import optimizers
from .optimizers import Optimizer, adam, adamw, sgd
from .training import (EarlyStopping, EarlyStoppingState, EpochStats, FitResult, TrainState, TrainingDiverged,
                       evaluate, fit, fit_from, initial_state, run_epochs)

from .model import activations, gradcheck, inference, losses
from .training import config

# Modules that moved into the layer folders stay importable under their old names
# (``import fnmlp.config``, ``from fnmlp.inference import fold``).
for _name, _module in {"activations": activations, "losses": losses, "inference": inference,
                       "gradcheck": gradcheck, "config": config}.items():
    sys.modules[f"{__name__}.{_name}"] = _module
del _name, _module

if "jax" in sys.modules:  # records are JAX pytrees once JAX is in use; fnmlp never imports it
    register_jax_pytrees()

# Files, data sets and the handout's adapter load on first use, so that ``import fnmlp`` brings in the
# model and training layers only.
_LAZY = {
    "hw1": ("fnmlp.hw1", None),
    **{name: ("fnmlp.runs.checkpoint", name) for name in (
        "load_checkpoint", "load_params", "load_train_state", "save_checkpoint", "save_params",
        "save_train_state")},
    **{name: ("fnmlp.datasets.mnist", name) for name in (
        "Dataset", "Split", "download_mnist", "load_dataset", "load_fashion_mnist", "load_idx_dataset",
        "load_mnist")},
    "read_idx": ("fnmlp.datasets.idx", "read_idx"),
    "export_onnx": ("fnmlp.export", "export_onnx"),
}


def __getattr__(name: str):
    if name not in _LAZY:
        raise AttributeError(f"module 'fnmlp' has no attribute {name!r}")
    import importlib

    module_name, attribute = _LAZY[name]
    module = importlib.import_module(module_name)
    value = module if attribute is None else getattr(module, attribute)
    globals()[name] = value
    return value


def __dir__() -> list:
    return sorted(set(globals()) | set(_LAZY))


__all__ = [
    "ACTIVATIONS", "Activation", "EpochStats", "FitResult", "TrainState", "TrainingDiverged", "evaluate", "fit",
    "fit_from", "initial_state", "run_epochs", "BatchNormCache", "BatchNormState", "ForwardCache", "MLPSpec", "Params",
    "Optimizer", "adam", "adamw", "optimizers", "EarlyStopping", "EarlyStoppingState", "SoftmaxCrossEntropyCache",
    "as_rng", "astype", "backward", "backward_with_input_grad",
    "batchnorm_backward", "batchnorm_forward", "check_params", "check_state", "class_indices", "forward",
    "init_params", "log_softmax", "loss_and_grads", "one_hot", "param_shapes", "predict", "readonly", "sgd",
    "softmax_cross_entropy", "softmax_cross_entropy_grad", "tree_allclose", "tree_leaves", "tree_map",
    "weight_initializer", "zeros_bias_init",
    "Dataset", "Split", "download_mnist", "load_dataset", "load_fashion_mnist", "load_idx_dataset", "load_mnist",
    "read_idx", "hw1",
    "load_checkpoint", "load_params", "load_train_state", "save_checkpoint", "save_params", "save_train_state",
    "get_activation", "register_activation", "LOSSES", "Loss", "MEAN_SQUARED_ERROR", "SOFTMAX_CROSS_ENTROPY",
    "SquaredErrorCache", "get_loss", "mean_squared_error", "mean_squared_error_grad", "register_loss",
    "GradReport", "check_activation", "check_grads", "check_loss", "export_onnx",
    "array_namespace", "to_namespace", "to_numpy", "register_jax_pytrees",
]
