"""What scikit-learn recognises, without importing it: the estimators' exceptions and warnings
(bridged to scikit-learn's own classes when it is loaded) and their tags."""

from __future__ import annotations

import sys
import warnings
from typing import Any


class NotFittedError(ValueError, AttributeError):
    """A method that needs a fitted estimator was called before ``fit`` (scikit-learn's bases)."""


class DataConversionWarning(UserWarning):
    """The input was converted: a column vector ``y`` of shape ``(n, 1)`` became ``(n,)``."""


class ConvergenceWarning(UserWarning):
    """``max_iter`` epochs ended before the training loss stopped improving."""


def as_sklearn(ours: type, module: str, name: str) -> type:
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


def warn(category: type, message: str, stacklevel: int) -> None:
    """Warn as from ``stacklevel`` frames above the function calling ``warn`` (1: its caller)."""
    warnings.warn(message, as_sklearn(category, "sklearn.exceptions", category.__name__), stacklevel=stacklevel + 2)


def not_fitted(estimator: Any) -> Exception:
    """The ``NotFittedError`` (scikit-learn's too, when loaded) for an unfitted ``estimator``."""
    error = as_sklearn(NotFittedError, "sklearn.exceptions", "NotFittedError")
    return error(f"This {type(estimator).__name__} instance is not fitted yet. Call 'fit' with appropriate "
                 f"arguments before using this estimator.")


class _TagRecord:
    """A stand-in for scikit-learn's tag dataclasses when scikit-learn is not loaded."""

    def __init__(self, **fields: Any):
        self.__dict__.update(fields)

    def __repr__(self) -> str:
        return f"Tags({', '.join(f'{k}={v!r}' for k, v in self.__dict__.items())})"


def tags(estimator_type: str, multi_output: bool) -> Any:
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


def more_tags(multi_output: bool) -> dict:
    """Tags for scikit-learn before 1.6."""
    return {"multioutput": multi_output, "requires_y": True, "poor_score": False,
            "X_types": ["2darray"], "allow_nan": False}
