"""``MLPRegressor``: one or more real targets, scikit-learn's half mean squared error, R^2."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..model.losses import MEAN_SQUARED_ERROR
from ..utils import checks as _checks
from ._base import BaseMLP
from ._fit import fit_targets, partial_fit_targets
from ._inputs import as_numeric, check_y_column, same_length
from ._params import PARAMETERS_DOC
from ._scoring import weighted_r2


class MLPRegressor(BaseMLP):
    """A multi-layer perceptron regressor trained on mean squared error (``fnmlp.MEAN_SQUARED_ERROR``)
    by ``fnmlp.fit``. Its objective is scikit-learn's, half of that (``loss_curve_``, ``tol``), with
    the step sizes and ``alpha`` rescaled so that training steps as scikit-learn's would (for one
    target: with ``k`` targets scikit-learn's gradient is ``k`` times that of the loss it reports,
    while fnmlp descends the loss it reports).

    ``y`` is ``(n_samples,)`` or ``(n_samples, n_targets)``; the network has one linear output per target.
    """ + PARAMETERS_DOC

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
        self.__dict__.update(fit_targets(self, X, y, self._settings()))
        return self

    def partial_fit(self, X, y) -> "MLPRegressor":
        """One epoch on ``(X, y)``, continuing the network (and its optimizer state) of earlier calls."""
        self.__dict__.update(partial_fit_targets(self, X, y, None))
        return self

    def _encode_targets(self, y: Any, x: np.ndarray, classes: Any = None, first: bool = True,
                        partial: bool = False):
        """``(targets (n, n_outputs) in x's dtype, {"n_outputs_", "_y_1d"})``."""
        y = as_numeric("y", check_y_column(y))
        if y.ndim not in (1, 2):
            _checks.fail(ValueError, "y", "a 1-D or 2-D array of targets", f"shape {y.shape}")
        same_length(x, y)
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
        y = as_numeric("y", check_y_column(y)).astype(np.float64)
        same_length(predicted, y)
        y, predicted = y.reshape(y.shape[0], -1), predicted.reshape(y.shape[0], -1)
        if sample_weight is None:  # the MSE loss's own metric
            return MEAN_SQUARED_ERROR.metric(MEAN_SQUARED_ERROR.metric_totals(predicted, y))
        return weighted_r2(y, predicted, sample_weight)
