"""The constructor's parameters: their documentation, shared by both estimators, and their checks.

``settings`` checks every parameter and normalises it (``"logistic"`` becomes ``"sigmoid"``, one
``hidden_layer_sizes`` integer a tuple), by scikit-learn's name; ``fit`` calls it before anything
changes, never the constructor or ``set_params``."""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from ..model.initializers import SCALES
from ..utils import checks as _checks

ACTIVATIONS = {"identity": "identity", "logistic": "sigmoid", "sigmoid": "sigmoid", "tanh": "tanh",
               "relu": "relu"}
SOLVERS = ("sgd", "adam")


def settings(est: Any) -> dict:
    """Every constructor argument of ``est`` checked and normalised, by name; raises before any state changes."""
    s = {"hidden_layer_sizes": _hidden_layer_sizes(est.hidden_layer_sizes)}
    if not isinstance(est.activation, str) or est.activation not in ACTIVATIONS:
        _checks.fail(ValueError, "activation", f"one of {sorted(ACTIVATIONS)}", repr(est.activation))
    s["activation"] = ACTIVATIONS[est.activation]
    if not isinstance(est.solver, str) or est.solver not in SOLVERS:
        _checks.fail(ValueError, "solver", f"one of {list(SOLVERS)} (fnmlp has no 'lbfgs')", repr(est.solver))
    s["solver"] = est.solver
    s["alpha"] = _checks.real("alpha", est.alpha, minimum=0.0)
    if isinstance(est.batch_size, str) and est.batch_size == "auto":
        s["batch_size"] = "auto"
    else:
        s["batch_size"] = _checks.integer("batch_size", est.batch_size, minimum=1)
    s["learning_rate_init"] = _checks.real("learning_rate_init", est.learning_rate_init, above=0.0)
    s["max_iter"] = _checks.integer("max_iter", est.max_iter, minimum=1)
    s["tol"] = _checks.real("tol", est.tol, minimum=0.0)
    s["momentum"] = _checks.real("momentum", est.momentum, minimum=0.0, below=1.0)
    s["nesterovs_momentum"] = _checks.boolean("nesterovs_momentum", est.nesterovs_momentum)
    s["early_stopping"] = _checks.boolean("early_stopping", est.early_stopping)
    s["validation_fraction"] = _checks.real("validation_fraction", est.validation_fraction, above=0.0, below=1.0)
    s["beta_1"] = _checks.real("beta_1", est.beta_1, minimum=0.0, below=1.0)
    s["beta_2"] = _checks.real("beta_2", est.beta_2, minimum=0.0, below=1.0)
    s["epsilon"] = _checks.real("epsilon", est.epsilon, above=0.0)
    s["n_iter_no_change"] = _checks.integer("n_iter_no_change", est.n_iter_no_change, minimum=1)
    rs = est.random_state
    if rs is not None and not isinstance(rs, (np.random.Generator, np.random.RandomState)):
        _checks.integer("random_state", rs, minimum=0, maximum=2**32 - 1)
    if isinstance(est.verbose, bool) or not isinstance(est.verbose, numbers.Integral):
        _checks.boolean("verbose", est.verbose)
    s["verbose"] = bool(est.verbose)
    s["dropout"] = _dropout(est.dropout, len(s["hidden_layer_sizes"]))
    s["num_bn_layers"] = _checks.integer("num_bn_layers", est.num_bn_layers, minimum=0,
                                         maximum=len(s["hidden_layer_sizes"]) + 1)
    s["dtype"] = None if est.dtype is None else _checks.float_dtype("dtype", est.dtype)
    if not isinstance(est.weight_init, str) or est.weight_init not in SCALES:
        _checks.fail(ValueError, "weight_init", f"one of {sorted(SCALES)}", repr(est.weight_init))
    s["weight_init"] = est.weight_init
    return s


def _hidden_layer_sizes(hidden: Any) -> tuple:
    """One width or a sequence of them as a tuple of positive ints."""
    given = hidden
    if isinstance(hidden, numbers.Integral) and not isinstance(hidden, bool):
        hidden = (hidden,)
    if isinstance(hidden, (str, bytes)) or not hasattr(hidden, "__iter__"):
        _checks.fail(TypeError, "hidden_layer_sizes", "an integer or a sequence of positive integers",
                     _checks.describe(given))
    return tuple(_checks.integer(f"hidden_layer_sizes[{i}]", n, minimum=1) for i, n in enumerate(hidden))


def _dropout(dropout: Any, num_hidden: int) -> Any:
    """One rate (``None`` is 0.0), or a tuple of ``num_hidden`` rates, one per hidden layer (0.0 when all are)."""
    if dropout is None:
        return 0.0
    if isinstance(dropout, numbers.Real) and not isinstance(dropout, bool):
        return _checks.real("dropout", dropout, minimum=0.0, below=1.0)
    if isinstance(dropout, (str, bytes)) or not hasattr(dropout, "__iter__"):
        _checks.fail(TypeError, "dropout", "a rate in [0, 1), one per hidden layer, or None", _checks.describe(dropout))
    rates = tuple(_checks.real(f"dropout[{i}]", r, minimum=0.0, below=1.0) for i, r in enumerate(dropout))
    if len(rates) != num_hidden:
        _checks.fail(ValueError, "dropout", f"{num_hidden} rates, one per hidden layer", len(rates))
    return rates if any(rates) else 0.0


PARAMETERS_DOC = """
    Parameters (scikit-learn's names and defaults where its ``MLPClassifier`` has them)
    ----------
    hidden_layer_sizes : int or tuple of int, default=(100,)
        The width of each hidden layer.
    activation : {"identity", "logistic", "tanh", "relu"}, default="relu"
        The hidden layers' activation (``"sigmoid"`` is ``"logistic"``).
    solver : {"sgd", "adam"}, default="adam"
        ``"sgd"``: mini-batch SGD with momentum (``fnmlp.sgd``); ``"adam"``: ``fnmlp.adam``. Both
        with a constant ``learning_rate_init`` (scikit-learn's ``learning_rate="constant"``).
    alpha : float, default=0.0001
        L2 penalty on the weights, scikit-learn's formula: ``+ (0.5 * alpha / batch) * sum ||W||^2``
        added to the objective (``MLPSpec(l2=...)``).
    batch_size : int or "auto", default="auto"
        Rows per batch; ``"auto"`` is ``min(200, n_samples)``; larger than ``n_samples`` is clipped.
    learning_rate_init : float, default=0.001
        The step size.
    max_iter : int, default=200
        The most epochs ``fit`` trains (each ``partial_fit`` trains one).
    tol : float, default=0.0001
        ``fit`` stops once the training loss has not fallen by ``tol`` below its best for
        ``n_iter_no_change`` consecutive epochs (and one more); with ``early_stopping``, the validation
        score instead.
    verbose : bool, default=False
        Print the training loss after each epoch.
    momentum : float, default=0.9
        SGD momentum, ``v = momentum * v - lr * g; p = p + v``.
    nesterovs_momentum : bool, default=True
        Nesterov momentum for ``"sgd"`` (when ``momentum > 0``).
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the rows (stratified for the classifier) and stop once their
        score (accuracy, or R^2) has not risen by ``tol`` above its best for ``n_iter_no_change + 1``
        epochs, keeping the best epoch's parameters: ``fnmlp.EarlyStopping(n_iter_no_change + 1, tol,
        "val_error")`` (see ``fnmlp.estimators._stopping`` for the two marginal differences from
        scikit-learn, and why this watches ``val_error`` where ``TrainConfig.early_stopping`` watches
        ``val_loss``).
    validation_fraction : float, default=0.1
        The share of the training rows held out with ``early_stopping``.
    beta_1, beta_2, epsilon : float, default=0.9, 0.999, 1e-8
        Adam's parameters (with ``solver="adam"``).
    n_iter_no_change : int, default=10
        See ``tol``.
    random_state : None, int, numpy Generator or RandomState, default=None
        Seeds the initial weights and the shuffling. A generator is copied, never advanced, so fitting
        twice with it trains the same network.

    fnmlp's own
    -----------
    dropout : float or tuple of float, default=0.0
        Inverted-dropout rate on each hidden layer's output in training (one rate, or one per hidden
        layer); no dropout on the input, nothing at prediction.
    num_bn_layers : int, default=0
        BatchNorm between the affine map and the activation of the first ``num_bn_layers`` layers.
    dtype : None, "float32" or "float64", default=None
        The dtype training computes in; ``None``: float32 ``X`` stays float32, anything else is float64.
    weight_init : {"normal", "lecun", "xavier", "he"}, default="xavier"
        Initial weights (zero biases); ``"xavier"`` has the variance of scikit-learn's uniform Glorot
        initialisation for relu and tanh, ``2 / (fan_in + fan_out)``.

    Attributes
    ----------
    n_features_in_ : int
    n_outputs_ : int
    spec_ : MLPSpec
    params_ : Params, bn_state_ : BatchNormState
        The trained network, as ``fnmlp.predict(spec_, params_, bn_state_, X)`` takes it.
    coefs_, intercepts_ : list of arrays
        Read-only views of ``params_.W`` and ``params_.b``.
    loss_curve_ : list of float
        The mean training loss of each epoch, as its batches were trained, with the L2 penalty:
        scikit-learn's (for the regressor, half the mean squared error, as scikit-learn's).
    loss_, best_loss_ : float
        The last and the lowest of ``loss_curve_``.
    n_iter_ : int
        Epochs trained. ``t_``: training rows seen.
    validation_scores_ : list of float or None
        With ``early_stopping``, the validation score (accuracy, or R^2) after each epoch; ``best_validation_score_``
        its highest. ``None`` without.
"""
