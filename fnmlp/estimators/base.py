"""scikit-learn-style estimators over fnmlp's pure functions: ``MLPClassifier`` and ``MLPRegressor``.

They follow scikit-learn's estimator conventions (the constructor only stores its arguments;
``get_params``/``set_params``; ``fit`` returns ``self``; learned attributes end in ``_``) without
importing scikit-learn, so they work in ``Pipeline``, ``GridSearchCV``, ``cross_val_score``, ``clone``,
``pickle`` and ``joblib``. Training is ``fnmlp.fit`` (and ``fit_from`` for ``partial_fit``) on an
``MLPSpec``, at the speed of the functional API.

Hyperparameters carry scikit-learn's names and defaults where scikit-learn's ``MLPClassifier`` has
them, plus fnmlp's own ``dropout``, ``num_bn_layers``, ``dtype`` and ``weight_init``. Parameters are
checked by ``fit``, never by the constructor or ``set_params``.

Three functions turn scikit-learn's settings into fnmlp's: ``_make_spec`` (dropout, the ``alpha``
L2 penalty, the loss), ``_make_optimizer`` (SGD with momentum or Nesterov momentum, Adam) and
``_fit_kwargs`` (early stopping on the validation split ``fit`` holds out).

fnmlp's own ``.npz`` (``fnmlp.save_params(path, est.spec_, est.params_, est.bn_state_)``) stays the
pickle-free way to keep the parameters.
"""

from __future__ import annotations

import copy
import inspect
import numbers
import sys
import warnings
from typing import Any

import numpy as np

from ..utils import checks as _checks
from ..model.initializers import SCALES
from ..model.losses import MEAN_SQUARED_ERROR, log_softmax
from ..model.network import predict as _network_predict
from ..optimizers import adam, sgd
from ..model.params import init_params
from ..model.spec import MLPSpec
from ..training import loop as training
from ..training.loop import EarlyStopping, TrainState
from ..model.tree import readonly, tree_map

__all__ = ["MLPClassifier", "MLPRegressor", "NotFittedError", "DataConversionWarning", "ConvergenceWarning"]

_ACTIVATIONS = {"identity": "identity", "logistic": "sigmoid", "sigmoid": "sigmoid", "tanh": "tanh",
                "relu": "relu"}
_SOLVERS = ("sgd", "adam")


# --- Exceptions and warnings that scikit-learn recognises ------------------------------------------

class NotFittedError(ValueError, AttributeError):
    """A method that needs a fitted estimator was called before ``fit`` (scikit-learn's bases)."""


class DataConversionWarning(UserWarning):
    """The input was converted: a column vector ``y`` of shape ``(n, 1)`` became ``(n,)``."""


class ConvergenceWarning(UserWarning):
    """``max_iter`` epochs ended before the training loss stopped improving."""


def _as_sklearn(ours: type, module: str, name: str) -> type:
    """``ours``, or, when scikit-learn is already loaded, a subclass of both ``ours`` and scikit-learn's
    class of the same role, so ``except sklearn.exceptions.NotFittedError`` and scikit-learn's warning
    filters catch fnmlp's too. scikit-learn is never imported here: only found if the caller loaded it."""
    theirs = getattr(sys.modules.get(module), name, None)
    if theirs is None or issubclass(ours, theirs):
        return ours
    key = (ours, theirs)
    if key not in _BRIDGES:
        _BRIDGES[key] = type(ours.__name__, (ours, theirs), {
            "__module__": __name__, "__reduce__": lambda self: (ours, self.args)})
    return _BRIDGES[key]


_BRIDGES: dict = {}


def _warn(category: type, message: str, stacklevel: int) -> None:
    """Warn as from ``stacklevel`` frames above the function calling ``_warn`` (1: its caller)."""
    warnings.warn(message, _as_sklearn(category, "sklearn.exceptions", category.__name__), stacklevel=stacklevel + 2)


# --- How scikit-learn's settings become fnmlp's spec, optimizer and early stopping ------------------

def _make_spec(n_features: int, hidden_layer_sizes: tuple, n_outputs: int, *, activation: str,
               num_bn_layers: int, dropout: Any, alpha: float, loss: str, loss_scale: float = 1.0) -> MLPSpec:
    """The network: ``activation`` on every hidden layer, an identity output layer, the first
    ``num_bn_layers`` layers with BatchNorm, ``dropout`` (a rate, or one per hidden layer) on each
    hidden layer's output (no dropout on the input), ``loss`` (``"softmax_cross_entropy"`` or
    ``"mse"``) and scikit-learn's ``alpha`` penalty. The estimator's objective is ``loss_scale`` times
    the spec's (the regressor's is scikit-learn's half MSE), so the spec's ``l2`` is
    ``alpha / loss_scale``: the penalised objective is then exactly scikit-learn's, scaled."""
    rates = dropout if isinstance(dropout, tuple) else (dropout,) * len(hidden_layer_sizes)
    return MLPSpec.from_hidden_sizes(n_features, hidden_layer_sizes, n_outputs, activation=activation,
                                     num_bn_layers=num_bn_layers, dropout=(0.0, *rates) if any(rates) else None,
                                     loss=loss, l2=alpha / loss_scale)


def _make_optimizer(solver: str, learning_rate_init: float, momentum: float, nesterovs_momentum: bool,
                    beta_1: float, beta_2: float, epsilon: float, loss_scale: float = 1.0) -> Any:
    """``sgd(learning_rate_init, momentum, nesterov=nesterovs_momentum)`` or ``adam(learning_rate_init,
    beta_1, beta_2, epsilon)``, scikit-learn's two solvers (same update formulas). The gradient fnmlp
    computes is ``1 / loss_scale`` times the gradient of the estimator's objective, so the step is
    rescaled to be scikit-learn's exactly: SGD's rate times ``loss_scale``, Adam's ``epsilon`` over it
    (Adam is otherwise invariant to the gradient's scale)."""
    if solver == "adam":
        return adam(learning_rate_init, beta_1, beta_2, epsilon / loss_scale)
    return sgd(learning_rate_init * loss_scale, momentum, nesterov=nesterovs_momentum and momentum > 0)


def _fit_kwargs(early_stopping: bool, n_iter_no_change: int, tol: float) -> dict:
    """Extra keywords for ``fnmlp.fit`` (``fit`` itself passes the ``validation`` split).

    scikit-learn's ``early_stopping``: the validation score (accuracy, or R^2 for the regressor) is
    checked after each epoch; an epoch that does not raise it by ``tol`` over the best so far counts,
    training stops after ``n_iter_no_change + 1`` such epochs in a row, and the best epoch's
    parameters are kept. fnmlp's ``EarlyStopping(patience=n_iter_no_change + 1, min_delta=tol,
    monitor="val_error")`` is that rule (the error is ``1 - accuracy``; R^2 is watched with higher
    better), with two differences at the margin: an epoch that equals the best plus ``tol`` exactly
    counts as no improvement (scikit-learn: as one), and the parameters kept are those of the last
    epoch that improved by more than ``tol`` (scikit-learn: by any amount)."""
    if not early_stopping:
        return {}
    return {"early_stopping": EarlyStopping(patience=n_iter_no_change + 1, min_delta=tol, monitor="val_error")}


def _validation_split(x: np.ndarray, targets: np.ndarray, fraction: float, rng: Any, stratify: bool) -> tuple:
    """``((x, targets) to train on, (x, targets) to validate on)``: ``ceil(fraction * n)`` random rows
    held out; with ``stratify`` (class indices), ``ceil(fraction * count)`` rows of each class."""
    order = rng.permutation(x.shape[0])
    if stratify:
        shuffled = targets[order]
        held = np.zeros(x.shape[0], bool)
        for c in np.unique(shuffled):
            rows = np.flatnonzero(shuffled == c)
            held[rows[:int(np.ceil(fraction * rows.shape[0]))]] = True
    else:
        held = np.arange(x.shape[0]) < int(np.ceil(fraction * x.shape[0]))
    val, train = order[held], order[~held]
    if val.shape[0] < 2 or train.shape[0] < 1:
        _checks.fail(ValueError, "validation_fraction", f"a share of the {x.shape[0]} rows that leaves at least 2 "
                     f"to validate on and 1 to train on", f"{fraction} ({val.shape[0]} to validate on)")
    return (x[train], targets[train]), (x[val], targets[val])


# --- Tags -------------------------------------------------------------------------------------------

class _TagRecord:
    """A stand-in for scikit-learn's tag dataclasses when scikit-learn is not loaded."""

    def __init__(self, **fields: Any):
        self.__dict__.update(fields)

    def __repr__(self) -> str:
        return f"Tags({', '.join(f'{k}={v!r}' for k, v in self.__dict__.items())})"


def _tags(estimator_type: str, multi_output: bool) -> Any:
    """scikit-learn's ``Tags`` (1.6 and later), built from the classes scikit-learn loaded, or a
    look-alike of plain records without scikit-learn."""
    sk = sys.modules.get("sklearn.utils")
    make = {name: getattr(sk, name, None) or _TagRecord
            for name in ("Tags", "TargetTags", "InputTags", "ClassifierTags", "RegressorTags")}
    classifier = estimator_type == "classifier"
    return make["Tags"](
        estimator_type=estimator_type,
        target_tags=make["TargetTags"](required=True, one_d_labels=False, two_d_labels=False,
                                       positive_only=False, multi_output=multi_output, single_output=True),
        transformer_tags=None,
        classifier_tags=make["ClassifierTags"](poor_score=False, multi_class=True, multi_label=False)
        if classifier else None,
        regressor_tags=None if classifier else make["RegressorTags"](poor_score=False),
        array_api_support=False, no_validation=False, non_deterministic=False, requires_fit=True,
        _skip_test=False,
        input_tags=make["InputTags"](one_d_array=False, two_d_array=True, three_d_array=False, sparse=False,
                                     categorical=False, string=False, dict=False, positive_only=False,
                                     allow_nan=False, pairwise=False))


# --- Input checks at the boundary -------------------------------------------------------------------

def _is_sparse(value: Any) -> bool:
    return type(value).__module__.startswith("scipy.sparse") or (hasattr(value, "toarray") and hasattr(value, "nnz"))


def _as_numeric(name: str, value: Any) -> np.ndarray:
    """``value`` as an ndarray of booleans, integers or floats (object arrays of numbers converted)."""
    if value is None:
        raise ValueError(f"{name}: expected an array-like, got None")
    if _is_sparse(value):
        raise TypeError(f"{name}: expected a dense array, got a {type(value).__name__} (sparse input is not "
                        f"supported; convert it with {name}.toarray())")
    try:
        array = np.asarray(value)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"{name}: expected an array of numbers, got {_checks.describe(value)} ({exc})") from None
    if array.dtype.kind == "c":
        raise ValueError(f"Complex data not supported: {name} has dtype {array.dtype}")
    if array.dtype.kind == "O":
        if any(isinstance(v, complex) for v in array.flat):
            raise ValueError(f"Complex data not supported: {name} holds complex numbers")
        try:
            array = array.astype(np.float64)
        except (TypeError, ValueError) as exc:  # e.g. "float() argument must be a string or a real number"
            raise type(exc)(f"{name}: expected an array of numbers: {exc}") from None
    if array.dtype.kind not in "biuf":
        raise TypeError(f"{name}: expected an array of numbers, got dtype {array.dtype}")
    return array


def _check_X(X: Any, dtype: Any, n_features: int = None, owner: str = "") -> np.ndarray:
    """``X`` as a finite 2-D float32/float64 array ``(n_samples, n_features)``: in ``dtype`` if given,
    else float32 stays float32 and anything else becomes float64."""
    x = _as_numeric("X", X)
    if x.ndim != 2:
        raise ValueError(f"X: expected a 2-D array (n_samples, n_features), got shape {x.shape}"
                         + (". Reshape your data with X.reshape(-1, 1) if it has a single feature, or "
                            "X.reshape(1, -1) if it is a single sample" if x.ndim == 1 else ""))
    if x.shape[0] == 0:
        raise ValueError(f"X: Found array with 0 sample(s) (shape={x.shape}) while a minimum of 1 is required.")
    if x.shape[1] == 0:
        raise ValueError(f"X: Found array with 0 feature(s) (shape={x.shape}) while a minimum of 1 is required.")
    if n_features is not None and x.shape[1] != n_features:
        raise ValueError(f"X has {x.shape[1]} features, but {owner} is expecting {n_features} features as input.")
    target = dtype if dtype is not None else (x.dtype if x.dtype in _checks.FLOAT_DTYPES else np.float64)
    with np.errstate(over="ignore"):  # values past float32's range become inf, refused below
        x = x.astype(target, copy=False)
    if not _checks.is_finite(x):
        raise ValueError("Input X contains NaN or infinity.")
    return x


def _check_y_column(y: Any, name: str = "y") -> np.ndarray:
    """``y`` as an array; ``None`` refused, a column vector ``(n, 1)`` flattened with a warning."""
    if y is None:
        raise ValueError(f"{name}: this estimator requires y to be passed, but the target y is None")
    if _is_sparse(y):
        raise TypeError(f"{name}: expected a dense array, got a {type(y).__name__} (sparse input is not supported)")
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        _warn(DataConversionWarning, "A column-vector y was passed when a 1d array was expected. Please change "
                                     "the shape of y to (n_samples,), for example using ravel().", 4)
        y = y[:, 0]
    return y


def _same_length(x: np.ndarray, y: np.ndarray) -> None:
    if x.shape[0] != y.shape[0]:
        raise ValueError(f"y: expected {x.shape[0]} rows, as many as X, got {y.shape[0]} (found input variables "
                         f"with inconsistent numbers of samples: [{x.shape[0]}, {y.shape[0]}])")


def _label_kind(y: np.ndarray) -> str:
    """``"continuous"`` for float labels that are not whole numbers, else ``"classes"`` (after
    refusing NaN, infinity and complex labels)."""
    if y.dtype.kind == "c" or (y.dtype.kind == "O" and any(isinstance(v, complex) for v in y.flat)):
        raise ValueError("Complex data not supported: y holds complex numbers")
    values = y
    if y.dtype.kind == "O" and all(isinstance(v, numbers.Real) and not isinstance(v, bool) for v in y.flat):
        values = y.astype(np.float64)
    if values.dtype.kind == "f":
        if not np.isfinite(values).all():
            raise ValueError("Input y contains NaN or infinity.")
        if (values != np.round(values)).any():
            return "continuous"
    return "classes"


# --- The shared machinery ---------------------------------------------------------------------------

class _Stop(Exception):
    """Raised from ``fit``'s ``on_epoch`` once the training loss stops improving."""


class _BaseMLP:
    """The parameters, their checks and the training shared by both estimators."""

    _estimator_type = None  # scikit-learn before 1.6 read this; 1.6 and later read __sklearn_tags__
    _loss = None
    _loss_scale = 1.0  # the estimator's objective (loss_curve_, tol) is _loss_scale times the spec's loss

    # The constructor only stores its arguments, scikit-learn's way; both estimators take the same ones.
    def __init__(self, hidden_layer_sizes=(100,), activation="relu", *, solver="adam", alpha=0.0001,
                 batch_size="auto", learning_rate_init=0.001, max_iter=200, tol=1e-4, verbose=False,
                 momentum=0.9, nesterovs_momentum=True, early_stopping=False, validation_fraction=0.1,
                 beta_1=0.9, beta_2=0.999, epsilon=1e-8, n_iter_no_change=10, random_state=None,
                 dropout=0.0, num_bn_layers=0, dtype=None, weight_init="xavier"):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate_init = learning_rate_init
        self.max_iter = max_iter
        self.tol = tol
        self.verbose = verbose
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.random_state = random_state
        self.dropout = dropout
        self.num_bn_layers = num_bn_layers
        self.dtype = dtype
        self.weight_init = weight_init

    # get_params, set_params, repr, pickling

    @classmethod
    def _get_param_names(cls) -> list:
        return sorted(name for name in inspect.signature(cls.__init__).parameters if name != "self")

    def get_params(self, deep: bool = True) -> dict:
        """The constructor's arguments by name (``deep`` is accepted; no parameter is an estimator)."""
        return {name: getattr(self, name) for name in self._get_param_names()}

    def set_params(self, **params: Any) -> "_BaseMLP":
        """Set constructor arguments by name; returns ``self``. Values are checked by ``fit``."""
        valid = self._get_param_names()
        for name in params:
            if name not in valid:
                raise ValueError(f"Invalid parameter {name!r} for estimator {type(self).__name__}. "
                                 f"Valid parameters are: {valid!r}.")
        for name, value in params.items():
            setattr(self, name, value)
        return self

    def __repr__(self) -> str:
        defaults = {name: p.default for name, p in inspect.signature(type(self).__init__).parameters.items()}
        changed = []
        for name in self._get_param_names():
            value, default = getattr(self, name, None), defaults.get(name)
            same = value is default or (type(value) is type(default) and _equal(value, default))
            if not same:
                changed.append(f"{name}={value!r}")
        return f"{type(self).__name__}({', '.join(changed)})"

    def __setstate__(self, state: dict) -> None:
        for name in ("params_", "bn_state_", "_opt_state"):  # unpickled arrays come back writable
            if name in state:
                state[name] = tree_map(lambda a: readonly(a) if isinstance(a, np.ndarray) else a, state[name])
        self.__dict__.update(state)

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "params_")

    def __sklearn_tags__(self) -> Any:
        return _tags(self._estimator_type, self._multi_output)

    def _more_tags(self) -> dict:
        """Tags for scikit-learn before 1.6."""
        return {"multioutput": self._multi_output, "requires_y": True, "poor_score": False,
                "X_types": ["2darray"], "allow_nan": False}

    @property
    def coefs_(self) -> list:
        """The weight matrices, ``coefs_[i]`` ``(n_i, n_{i+1})`` (read-only views of ``params_.W``)."""
        return list(self._fitted().params_.W)

    @property
    def intercepts_(self) -> list:
        """The bias vectors, ``intercepts_[i]`` ``(n_{i+1},)`` (read-only views of ``params_.b``)."""
        return list(self._fitted().params_.b)

    # checks

    def _fitted(self) -> "_BaseMLP":
        if not hasattr(self, "params_"):
            error = _as_sklearn(NotFittedError, "sklearn.exceptions", "NotFittedError")
            raise error(f"This {type(self).__name__} instance is not fitted yet. Call 'fit' with appropriate "
                        f"arguments before using this estimator.")
        return self

    def _settings(self) -> dict:
        """Every constructor argument checked and normalised, by name; raises before any state changes."""
        s = {}
        hidden = self.hidden_layer_sizes
        if isinstance(hidden, numbers.Integral) and not isinstance(hidden, bool):
            hidden = (hidden,)
        if isinstance(hidden, (str, bytes)) or not hasattr(hidden, "__iter__"):
            _checks.fail(TypeError, "hidden_layer_sizes", "an integer or a sequence of positive integers",
                         _checks.describe(self.hidden_layer_sizes))
        s["hidden_layer_sizes"] = tuple(_checks.integer(f"hidden_layer_sizes[{i}]", n, minimum=1)
                                        for i, n in enumerate(hidden))
        if not isinstance(self.activation, str) or self.activation not in _ACTIVATIONS:
            _checks.fail(ValueError, "activation", f"one of {sorted(_ACTIVATIONS)}", repr(self.activation))
        s["activation"] = _ACTIVATIONS[self.activation]
        if not isinstance(self.solver, str) or self.solver not in _SOLVERS:
            _checks.fail(ValueError, "solver", f"one of {list(_SOLVERS)} (fnmlp has no 'lbfgs')", repr(self.solver))
        s["solver"] = self.solver
        s["alpha"] = _checks.real("alpha", self.alpha, minimum=0.0)
        if isinstance(self.batch_size, str) and self.batch_size == "auto":
            s["batch_size"] = "auto"
        else:
            s["batch_size"] = _checks.integer("batch_size", self.batch_size, minimum=1)
        s["learning_rate_init"] = _checks.real("learning_rate_init", self.learning_rate_init, above=0.0)
        s["max_iter"] = _checks.integer("max_iter", self.max_iter, minimum=1)
        s["tol"] = _checks.real("tol", self.tol, minimum=0.0)
        s["momentum"] = _checks.real("momentum", self.momentum, minimum=0.0, below=1.0)
        s["nesterovs_momentum"] = _checks.boolean("nesterovs_momentum", self.nesterovs_momentum)
        s["early_stopping"] = _checks.boolean("early_stopping", self.early_stopping)
        s["validation_fraction"] = _checks.real("validation_fraction", self.validation_fraction,
                                                above=0.0, below=1.0)
        s["beta_1"] = _checks.real("beta_1", self.beta_1, minimum=0.0, below=1.0)
        s["beta_2"] = _checks.real("beta_2", self.beta_2, minimum=0.0, below=1.0)
        s["epsilon"] = _checks.real("epsilon", self.epsilon, above=0.0)
        s["n_iter_no_change"] = _checks.integer("n_iter_no_change", self.n_iter_no_change, minimum=1)
        rs = self.random_state
        if rs is not None and not isinstance(rs, (np.random.Generator, np.random.RandomState)):
            _checks.integer("random_state", rs, minimum=0, maximum=2**32 - 1)
        if isinstance(self.verbose, bool) or not isinstance(self.verbose, numbers.Integral):
            _checks.boolean("verbose", self.verbose)
        s["verbose"] = bool(self.verbose)
        dropout = self.dropout
        if dropout is not None and not (isinstance(dropout, numbers.Real) and not isinstance(dropout, bool)):
            if isinstance(dropout, (str, bytes)) or not hasattr(dropout, "__iter__"):
                _checks.fail(TypeError, "dropout", "a rate in [0, 1), one per hidden layer, or None",
                             _checks.describe(dropout))
            dropout = tuple(_checks.real(f"dropout[{i}]", r, minimum=0.0, below=1.0) for i, r in enumerate(dropout))
            if len(dropout) != len(s["hidden_layer_sizes"]):
                _checks.fail(ValueError, "dropout", f"{len(s['hidden_layer_sizes'])} rates, one per hidden layer",
                             len(dropout))
            s["dropout"] = dropout if any(dropout) else 0.0
        else:
            s["dropout"] = 0.0 if dropout is None else _checks.real("dropout", dropout, minimum=0.0, below=1.0)
        s["num_bn_layers"] = _checks.integer("num_bn_layers", self.num_bn_layers, minimum=0,
                                             maximum=len(s["hidden_layer_sizes"]) + 1)
        s["dtype"] = None if self.dtype is None else _checks.float_dtype("dtype", self.dtype)
        if not isinstance(self.weight_init, str) or self.weight_init not in SCALES:
            _checks.fail(ValueError, "weight_init", f"one of {sorted(SCALES)}", repr(self.weight_init))
        s["weight_init"] = self.weight_init
        return s

    def _network(self, s: dict, n_features: int, n_outputs: int):
        """``(spec, optimizer)`` for the checked settings ``s``."""
        spec = _make_spec(n_features, s["hidden_layer_sizes"], n_outputs, activation=s["activation"],
                          num_bn_layers=s["num_bn_layers"], dropout=s["dropout"], alpha=s["alpha"], loss=self._loss,
                          loss_scale=self._loss_scale)
        optimizer = _make_optimizer(s["solver"], s["learning_rate_init"], s["momentum"], s["nesterovs_momentum"],
                                    s["beta_1"], s["beta_2"], s["epsilon"], loss_scale=self._loss_scale)
        return spec, optimizer

    @staticmethod
    def _batch_size(s: dict, n: int) -> int:
        if s["batch_size"] == "auto":
            return min(200, n)
        if s["batch_size"] > n:
            warnings.warn(f"batch_size={s['batch_size']} is larger than the {n} samples: it is clipped to {n}",
                          UserWarning, stacklevel=4)  # _batch_size, _fit_targets, fit, the caller
        return min(s["batch_size"], n)

    def _rng(self) -> Any:
        """A generator of the estimator's own: NumPy's default (PCG64) seeded by an int ``random_state``,
        or a copy of a ``random_state`` generator, so fitting twice with the same one trains the same
        network. (Not ``as_rng``'s ``RandomState`` for ints: ``fit`` copies its generator after every
        epoch, and copying an MT19937 costs about a millisecond, as much as an epoch of 300 rows.)"""
        if isinstance(self.random_state, (np.random.Generator, np.random.RandomState)):
            return copy.deepcopy(self.random_state)
        return np.random.default_rng(self.random_state)

    # training

    def _fit_targets(self, X: Any, y: Any, s: dict) -> dict:
        """The learned attributes of a fresh fit on ``(X, targets)``; nothing on ``self`` changes."""
        x = _check_X(X, s["dtype"])
        targets, learned = self._encode_targets(y, x)
        spec, optimizer = self._network(s, x.shape[1], learned["n_outputs_"])
        fit_kwargs = _fit_kwargs(s["early_stopping"], s["n_iter_no_change"], s["tol"])
        rng = self._rng()
        params, bn_state = init_params(spec, rng, weight_init=s["weight_init"], dtype=x.dtype)
        train = (x, targets)
        if s["early_stopping"]:  # the validation score decides when to stop, not the training loss
            train, fit_kwargs["validation"] = _validation_split(x, targets, s["validation_fraction"], rng,
                                                                self._estimator_type == "classifier")
        plateau = _Plateau(s["tol"], s["n_iter_no_change"], s["verbose"], self._loss_scale,
                           stop=not s["early_stopping"])
        try:
            result = training.fit(spec, params, bn_state, optimizer, train, epochs=s["max_iter"],
                                  batch_size=self._batch_size(s, train[0].shape[0]), rng=rng, on_epoch=plateau,
                                  **fit_kwargs)
        except _Stop:
            final = plateau.last
            params, bn_state = final.params, final.bn_state
        else:
            final, params, bn_state = result.final, result.params, result.bn_state
            if not result.stopped_early:
                _warn(ConvergenceWarning, f"Stochastic Optimizer: Maximum iterations ({s['max_iter']}) reached and "
                                          f"the optimization hasn't converged yet.", 2)
            elif s["verbose"]:
                print(f"Validation score did not improve more than tol={s['tol']} for {s['n_iter_no_change']} "
                      f"consecutive epochs. Stopping.")
        learned.update(spec_=spec, n_features_in_=x.shape[1],
                       **self._after(final, plateau.losses, train[0].shape[0], params, bn_state))
        scores = None
        if s["early_stopping"]:
            scores = [self._validation_score(stats.val_error) for stats in plateau.stats]
        learned.update(validation_scores_=scores, best_validation_score_=None if scores is None else max(scores))
        return learned

    def _partial_fit_targets(self, X: Any, y: Any, classes: Any) -> dict:
        """The learned attributes after one more epoch on ``(X, y)``; nothing on ``self`` changes."""
        s = self._settings()
        first = not hasattr(self, "params_")
        x = _check_X(X, s["dtype"] if first else self.params_.W[0].dtype,
                     None if first else self.n_features_in_, type(self).__name__)
        targets, learned = self._encode_targets(y, x, classes, first, partial=True)
        n_outputs = learned["n_outputs_"]
        if not first and n_outputs != self.n_outputs_:
            _checks.fail(ValueError, "y", f"{self.n_outputs_} targets per row, as in earlier calls", n_outputs)
        spec, optimizer = self._network(s, x.shape[1], n_outputs)  # early_stopping is for fit only, as in scikit-learn
        if first:
            rng = self._rng()
            params, bn_state = init_params(spec, rng, weight_init=s["weight_init"], dtype=x.dtype)
            start = training.initial_state(params, bn_state, optimizer, x.shape[0], rng)
            epochs, losses = 0, []
        else:
            if spec != self.spec_:
                raise ValueError(f"partial_fit: the parameters now describe {spec}, but the fitted network is "
                                 f"{self.spec_}; call fit to start again")
            start = TrainState(self.params_, self.bn_state_, self._opt_state, 0, np.arange(x.shape[0]),
                               self._rng_state, self._dropout_rng)
            epochs, losses = self.n_iter_, list(self.loss_curve_)
        result = training.fit_from(spec, optimizer, start, (x, targets), epochs=1,
                                   batch_size=self._batch_size(s, x.shape[0]))
        losses.append(self._loss_scale * result.history[-1].train_loss)
        if s["verbose"]:
            print(f"Iteration {epochs + 1}, loss = {losses[-1]:.8f}")
        learned.update(spec_=spec, n_features_in_=x.shape[1], **self._after(result.final, losses, x.shape[0]))
        learned["n_iter_"] = epochs + 1
        learned["t_"] = (0 if first else self.t_) + x.shape[0]
        return learned

    @staticmethod
    def _after(final: TrainState, losses: list, n: int, params: Any = None, bn_state: Any = None) -> dict:
        """The learned attributes after training ended in ``final``; ``params`` and ``bn_state``, if
        given, are the ones to keep (early stopping's best), else ``final``'s."""
        return {"params_": final.params if params is None else params,
                "bn_state_": final.bn_state if bn_state is None else bn_state, "_opt_state": final.opt_state,
                "_rng_state": final.rng, "_dropout_rng": final.dropout_rng, "loss_curve_": list(losses),
                "loss_": losses[-1],
                "best_loss_": min(losses), "n_iter_": len(losses), "t_": n * len(losses)}

    def _outputs(self, X: Any) -> np.ndarray:
        """Eval-mode network outputs ``(n_samples, n_outputs_)`` for ``X``, in the training dtype."""
        self._fitted()
        x = _check_X(X, self.params_.W[0].dtype, self.n_features_in_, type(self).__name__)
        return _network_predict(self.spec_, self.params_, self.bn_state_, x)


class _Plateau:
    """``fit``'s ``on_epoch``: scikit-learn's convergence rule on the training loss (the spec's loss
    times ``loss_scale``, with the L2 penalty: scikit-learn's ``loss_curve_``). An epoch whose loss
    is not below the best so far by ``tol`` counts; after ``n_iter_no_change + 1`` such epochs in a
    row, training stops (raising ``_Stop``; ``last`` holds the state after the last epoch). Without
    ``stop`` it only records the losses."""

    def __init__(self, tol: float, n_iter_no_change: int, verbose: bool, loss_scale: float = 1.0, stop: bool = True):
        self.tol, self.patience, self.verbose, self.scale, self.stop = tol, n_iter_no_change, verbose, loss_scale, stop
        self.losses, self.stats, self.best, self.count, self.last = [], [], np.inf, 0, None

    def __call__(self, stats: Any, state: TrainState) -> None:
        loss = self.scale * stats.train_loss
        self.losses.append(loss)
        self.stats.append(stats)
        self.last = state
        if self.verbose:
            print(f"Iteration {stats.epoch}, loss = {loss:.8f}")
        self.count = self.count + 1 if loss > self.best - self.tol else 0
        self.best = min(self.best, loss)
        if self.stop and self.count > self.patience:
            if self.verbose:
                print(f"Training loss did not improve more than tol={self.tol} for {self.patience} consecutive "
                      f"epochs. Stopping.")
            raise _Stop


def _equal(a: Any, b: Any) -> bool:
    try:
        return bool(np.all(a == b))
    except Exception:
        return False


_PARAMETERS_DOC = """
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
        "val_error")`` (see ``_fit_kwargs`` for the two marginal differences from scikit-learn).
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


class MLPClassifier(_BaseMLP):
    """A multi-layer perceptron classifier trained on softmax cross-entropy by ``fnmlp.fit``.

    Labels may be of any type ``numpy.unique`` sorts (integers, strings, ...); ``classes_`` holds them
    in that order, and the network has one output per class.
    """ + _PARAMETERS_DOC + """    classes_ : ndarray of shape (n_classes,)
        The labels seen by ``fit`` (or given to the first ``partial_fit``).
    """

    _estimator_type = "classifier"
    _loss = "softmax_cross_entropy"
    _multi_output = False

    @staticmethod
    def _validation_score(val_error: float) -> float:
        return 1.0 - val_error  # accuracy

    def fit(self, X, y) -> "MLPClassifier":
        """Train a fresh network on ``X`` ``(n_samples, n_features)`` and labels ``y`` ``(n_samples,)``
        for at most ``max_iter`` epochs; returns ``self``."""
        learned = self._fit_targets(X, y, self._settings())
        self.__dict__.update(learned)
        return self

    def partial_fit(self, X, y, classes=None) -> "MLPClassifier":
        """One epoch on ``(X, y)``, continuing the network (and its optimizer state) of earlier calls.
        The first call needs ``classes``, every label ``y`` will ever hold."""
        self.__dict__.update(self._partial_fit_targets(X, y, classes))
        return self

    def _encode_targets(self, y: Any, x: np.ndarray, classes: Any = None, first: bool = True,
                        partial: bool = False):
        """``(class indices (n,) int64, {"classes_", "n_outputs_"})``; ``first``: no earlier fit;
        ``partial``: for ``partial_fit``, whose first call needs ``classes``."""
        y = _check_y_column(y)
        if y.ndim != 1:
            _checks.fail(ValueError, "y", "a 1-D array of labels (multi-label y is not supported)", f"shape {y.shape}")
        _same_length(x, y)
        if _label_kind(y) == "continuous":
            raise ValueError("Unknown label type: continuous. y: expected class labels, got continuous values "
                             "(for regression use MLPRegressor)")
        if first and classes is None and partial:
            _checks.fail(ValueError, "classes", "every label y will hold, on the first call to partial_fit", None)
        if first and classes is not None:
            known = _unique("classes", np.asarray(classes))
        elif first:
            known = _unique("y", y)
        else:
            known = self.classes_
            if classes is not None and not np.array_equal(_unique("classes", np.asarray(classes)), known):
                _checks.fail(ValueError, "classes", f"the classes of the first partial_fit call {known.tolist()}",
                             np.asarray(classes).tolist())
        if known.shape[0] < 2:
            _checks.fail(ValueError, "y", "at least 2 classes", f"{known.shape[0]} class: {known.tolist()}")
        indices = np.searchsorted(known, y)
        indices = np.minimum(indices, known.shape[0] - 1)
        unseen = known[indices] != y
        if unseen.any():
            _checks.fail(ValueError, "y", f"labels among the classes {known.tolist()}",
                         f"{np.unique(y[unseen]).tolist()}")
        return indices.astype(np.int64), {"classes_": known, "n_outputs_": known.shape[0]}

    def predict(self, X) -> np.ndarray:
        """The most probable class of each row of ``X``: ``(n_samples,)``, labels from ``classes_``."""
        outputs = self._outputs(X)
        return self.classes_[outputs.argmax(axis=1)]

    def predict_log_proba(self, X) -> np.ndarray:
        """Log-probabilities ``(n_samples, n_classes)``, columns in the order of ``classes_``."""
        return log_softmax(self._outputs(X))

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities ``(n_samples, n_classes)`` (the softmax of the outputs; rows sum to 1),
        columns in the order of ``classes_``."""
        return np.exp(self.predict_log_proba(X))

    def score(self, X, y, sample_weight=None) -> float:
        """Accuracy of ``predict(X)`` against ``y`` (weighted by ``sample_weight`` if given)."""
        predicted = self.predict(X)
        y = _check_y_column(y)
        _same_length(predicted, y)
        return _weighted_mean(predicted == y, sample_weight)


class MLPRegressor(_BaseMLP):
    """A multi-layer perceptron regressor trained on mean squared error (``fnmlp.MEAN_SQUARED_ERROR``)
    by ``fnmlp.fit``. Its objective is scikit-learn's, half of that (``loss_curve_``, ``tol``), with
    the step sizes and ``alpha`` rescaled so that training steps as scikit-learn's would (for one
    target: with ``k`` targets scikit-learn's gradient is ``k`` times that of the loss it reports,
    while fnmlp descends the loss it reports).

    ``y`` is ``(n_samples,)`` or ``(n_samples, n_targets)``; the network has one linear output per target.
    """ + _PARAMETERS_DOC

    _estimator_type = "regressor"
    _loss = "mse"
    _loss_scale = 0.5  # scikit-learn's squared_loss is half of fnmlp's mean squared error
    _multi_output = True

    @staticmethod
    def _validation_score(val_error: float) -> float:
        return val_error  # the MSE loss's metric is R^2

    def fit(self, X, y) -> "MLPRegressor":
        """Train a fresh network on ``X`` ``(n_samples, n_features)`` and targets ``y`` ``(n_samples,)``
        or ``(n_samples, n_targets)`` for at most ``max_iter`` epochs; returns ``self``."""
        self.__dict__.update(self._fit_targets(X, y, self._settings()))
        return self

    def partial_fit(self, X, y) -> "MLPRegressor":
        """One epoch on ``(X, y)``, continuing the network (and its optimizer state) of earlier calls."""
        self.__dict__.update(self._partial_fit_targets(X, y, None))
        return self

    def _encode_targets(self, y: Any, x: np.ndarray, classes: Any = None, first: bool = True,
                        partial: bool = False):
        """``(targets (n, n_outputs) in x's dtype, {"n_outputs_", "_y_1d"})``."""
        y = _as_numeric("y", _check_y_column(y))
        if y.ndim not in (1, 2):
            _checks.fail(ValueError, "y", "a 1-D or 2-D array of targets", f"shape {y.shape}")
        _same_length(x, y)
        if not np.isfinite(y).all():
            raise ValueError("Input y contains NaN or infinity.")
        with np.errstate(over="ignore"):
            targets = y.reshape(y.shape[0], -1).astype(x.dtype)
        if not np.isfinite(targets).all():
            _checks.fail(ValueError, "y", f"values within {x.dtype}'s range", "values that overflow it")
        return targets, {"n_outputs_": targets.shape[1], "_y_1d": y.ndim == 1}

    def predict(self, X) -> np.ndarray:
        """Predicted targets: ``(n_samples,)`` if ``fit`` had 1-D ``y``, else ``(n_samples, n_targets)``."""
        outputs = self._outputs(X)
        return outputs[:, 0] if self._y_1d else outputs

    def score(self, X, y, sample_weight=None) -> float:
        """The coefficient of determination R^2 of ``predict(X)`` (averaged over targets, weighted by
        ``sample_weight`` if given): ``1 - sum((y - pred)^2) / sum((y - mean(y))^2)``."""
        predicted = self.predict(X)
        y = _as_numeric("y", _check_y_column(y)).astype(np.float64)
        _same_length(predicted, y)
        y, predicted = y.reshape(y.shape[0], -1), predicted.reshape(y.shape[0], -1)
        if sample_weight is None:  # the MSE loss's own metric
            return MEAN_SQUARED_ERROR.metric(MEAN_SQUARED_ERROR.metric_totals(predicted, y))
        return _weighted_r2(y, predicted, sample_weight)


def _unique(name: str, labels: np.ndarray) -> np.ndarray:
    try:
        return readonly(np.unique(labels))
    except TypeError as exc:
        raise ValueError(f"Unknown label type: {name} mixes labels that cannot be sorted together ({exc})") from None


def _weights(sample_weight: Any, n: int) -> np.ndarray:
    if sample_weight is None:
        return np.ones(n)
    weights = _checks.float_array("sample_weight", sample_weight, ndim=1)
    if weights.shape[0] != n:
        _checks.fail(ValueError, "sample_weight", f"{n} weights, one per row", weights.shape[0])
    return weights


def _weighted_mean(values: np.ndarray, sample_weight: Any) -> float:
    return float(np.average(values, weights=_weights(sample_weight, values.shape[0])))


def _weighted_r2(y: np.ndarray, predicted: np.ndarray, sample_weight: Any) -> float:
    """``r2_score(y, predicted, sample_weight=...)`` of ``(n, k)`` arrays: the R^2 of each column,
    averaged; a constant column predicted exactly scores 1. (Unweighted, it is the MSE loss's metric.)"""
    w = _weights(sample_weight, y.shape[0])[:, None]
    residual = (w * (y - predicted) ** 2).sum(axis=0)
    total = (w * (y - np.average(y, axis=0, weights=w[:, 0])) ** 2).sum(axis=0)
    scores = np.where(total > 0, 1.0 - residual / np.where(total > 0, total, 1.0),
                      np.where(residual == 0, 1.0, 0.0))
    return float(scores.mean())
