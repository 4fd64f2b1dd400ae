"""``MLPClassifier``: labels of any sortable type, softmax cross-entropy, accuracy."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..model.losses import log_softmax
from ..utils import checks as _checks
from ._base import BaseMLP
from ._fit import fit_targets, partial_fit_targets
from ._inputs import check_y_column, label_kind, same_length, unique
from ._params import PARAMETERS_DOC
from ._scoring import weighted_mean


class MLPClassifier(BaseMLP):
    """A multi-layer perceptron classifier trained on softmax cross-entropy by ``fnmlp.fit``.

    Labels may be of any type ``numpy.unique`` sorts (integers, strings, ...); ``classes_`` holds them
    in that order, and the network has one output per class.
    """ + PARAMETERS_DOC + """    classes_ : ndarray of shape (n_classes,)
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
        learned = fit_targets(self, X, y, self._settings())
        self.__dict__.update(learned)
        return self

    def partial_fit(self, X, y, classes=None) -> "MLPClassifier":
        """One epoch on ``(X, y)``, continuing the network (and its optimizer state) of earlier calls.
        The first call needs ``classes``, every label ``y`` will ever hold."""
        self.__dict__.update(partial_fit_targets(self, X, y, classes))
        return self

    def _encode_targets(self, y: Any, x: np.ndarray, classes: Any = None, first: bool = True,
                        partial: bool = False):
        """``(class indices (n,) int64, {"classes_", "n_outputs_"})``; ``first``: no earlier fit;
        ``partial``: for ``partial_fit``, whose first call needs ``classes``."""
        y = check_y_column(y)
        if y.ndim != 1:
            _checks.fail(ValueError, "y", "a 1-D array of labels (multi-label y is not supported)", f"shape {y.shape}")
        same_length(x, y)
        if label_kind(y) == "continuous":
            raise ValueError("Unknown label type: continuous. y: expected class labels, got continuous values "
                             "(for regression use MLPRegressor)")
        if first and classes is None and partial:
            _checks.fail(ValueError, "classes", "every label y will hold, on the first call to partial_fit", None)
        if first and classes is not None:
            known = unique("classes", np.asarray(classes))
        elif first:
            known = unique("y", y)
        else:
            known = self.classes_
            if classes is not None and not np.array_equal(unique("classes", np.asarray(classes)), known):
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
        y = check_y_column(y)
        same_length(predicted, y)
        return weighted_mean(predicted == y, sample_weight)
