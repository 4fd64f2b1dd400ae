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

from .activations import ACTIVATIONS, Activation, get_activation, register_activation
from .batchnorm import BatchNormCache, batchnorm_backward, batchnorm_forward
from .checkpoint import (load_checkpoint, load_params, load_train_state, save_checkpoint, save_params,
                         save_train_state)
from .datasets import (Dataset, Split, download_mnist, load_dataset, load_fashion_mnist, load_idx_dataset,
                       load_mnist)
from .idx import read_idx
from .initializers import as_rng, weight_initializer, zeros_bias_init
from .gradcheck import GradReport, check_activation, check_grads, check_loss
from .losses import (LOSSES, MEAN_SQUARED_ERROR, SOFTMAX_CROSS_ENTROPY, Loss, SoftmaxCrossEntropyCache,
                     SquaredErrorCache, class_indices, get_loss, log_softmax, mean_squared_error,
                     mean_squared_error_grad, one_hot, register_loss, softmax_cross_entropy, softmax_cross_entropy_grad)
from .network import ForwardCache, backward, backward_with_input_grad, forward, loss_and_grads, predict
from . import optimizers
from .optimizers import Optimizer, adam, adamw, sgd
from .params import BatchNormState, Params, astype, check_params, check_state, init_params, param_shapes
from .spec import MLPSpec
from .training import (EarlyStopping, EarlyStoppingState, EpochStats, FitResult, TrainState, TrainingDiverged,
                       evaluate, fit, fit_from, initial_state, run_epochs)
from .tree import readonly, tree_allclose, tree_leaves, tree_map
from . import hw1  # the handout's stateful classes over the functions above

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
    "GradReport", "check_activation", "check_grads", "check_loss",
]
