"""scikit-learn estimators over the pure functions, by convention (scikit-learn is never imported):
``MLPClassifier`` and ``MLPRegressor``. An adapter: imports the model, optimizers and training."""

from .base import ConvergenceWarning, DataConversionWarning, MLPClassifier, MLPRegressor, NotFittedError

__all__ = ["MLPClassifier", "MLPRegressor", "NotFittedError", "DataConversionWarning", "ConvergenceWarning"]
