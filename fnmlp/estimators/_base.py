"""``BaseMLP``: scikit-learn's estimator protocol shared by both estimators (the constructor that
only stores its arguments, ``get_params``/``set_params``, ``repr``, pickling, tags, the fitted check)
and the eval-mode outputs their ``predict`` methods read. Checks, building and training live in the
modules next to it; a subclass sets the loss and encodes its targets."""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np

from ..model.network import predict as _network_predict
from ._build import network
from ._inputs import check_X
from ._learned import unpickled
from ._params import settings
from ._sklearn import more_tags, not_fitted, tags


class BaseMLP:
    """What both estimators share: the constructor, scikit-learn's protocol and the network's outputs.

    A subclass sets the class attributes below and defines ``_encode_targets(y, x, classes, first,
    partial) -> (targets as its loss takes them, learned attributes they decide)`` and
    ``_validation_score(val_error)``, scikit-learn's validation score from ``EpochStats.val_error``."""

    _estimator_type = None  # scikit-learn before 1.6 read this; 1.6 and later read __sklearn_tags__
    _loss = None
    _loss_scale = 1.0  # the estimator's objective (loss_curve_, tol) is _loss_scale times the spec's loss
    _multi_output = False

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

    def set_params(self, **params: Any) -> "BaseMLP":
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
        self.__dict__.update(unpickled(state))

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "params_")

    def __sklearn_tags__(self) -> Any:
        return tags(self._estimator_type, self._multi_output)

    def _more_tags(self) -> dict:
        """Tags for scikit-learn before 1.6."""
        return more_tags(self._multi_output)

    @property
    def coefs_(self) -> list:
        """The weight matrices, ``coefs_[i]`` ``(n_i, n_{i+1})`` (read-only views of ``params_.W``)."""
        return list(self._fitted().params_.W)

    @property
    def intercepts_(self) -> list:
        """The bias vectors, ``intercepts_[i]`` ``(n_{i+1},)`` (read-only views of ``params_.b``)."""
        return list(self._fitted().params_.b)

    # checks, the network, its outputs

    def _fitted(self) -> "BaseMLP":
        if not hasattr(self, "params_"):
            raise not_fitted(self)
        return self

    def _settings(self) -> dict:
        """Every constructor argument checked and normalised, by name (``_params.settings``)."""
        return settings(self)

    def _network(self, s: dict, n_features: int, n_outputs: int) -> tuple:
        """``(spec, optimizer)`` for the checked settings ``s`` (``_build.network``)."""
        return network(s, n_features, n_outputs, self._loss, self._loss_scale)

    def _outputs(self, X: Any) -> np.ndarray:
        """Eval-mode network outputs ``(n_samples, n_outputs_)`` for ``X``, in the training dtype."""
        self._fitted()
        x = check_X(X, self.params_.W[0].dtype, self.n_features_in_, type(self).__name__)
        return _network_predict(self.spec_, self.params_, self.bn_state_, x)


def _equal(a: Any, b: Any) -> bool:
    try:
        return bool(np.all(a == b))
    except Exception:
        return False
