"""scikit-learn-style estimators over fnmlp's pure functions: ``MLPClassifier`` and ``MLPRegressor``.

They follow scikit-learn's estimator conventions (the constructor only stores its arguments;
``get_params``/``set_params``; ``fit`` returns ``self``; learned attributes end in ``_``) without
importing scikit-learn, so they work in ``Pipeline``, ``GridSearchCV``, ``cross_val_score``, ``clone``,
``pickle`` and ``joblib``. Training is ``fnmlp.fit`` (and ``fit_from`` for ``partial_fit``) on an
``MLPSpec``, at the speed of the functional API. An adapter: imports the model, optimizers and training.

Hyperparameters carry scikit-learn's names and defaults where scikit-learn's ``MLPClassifier`` has
them, plus fnmlp's own ``dropout``, ``num_bn_layers``, ``dtype`` and ``weight_init``. Parameters are
checked by ``fit``, never by the constructor or ``set_params``.

One module per duty: ``classifier`` and ``regressor`` (the public classes) over ``_base`` (the
constructor and scikit-learn's protocol); ``_params`` (the parameters' checks and documentation);
``_inputs`` (``X`` and ``y`` at the boundary); ``_build`` (scikit-learn's settings as a
``TrainConfig``, built by ``fnmlp.training.config.build``); ``_fit`` (``fit`` and ``partial_fit``);
``_stopping`` (scikit-learn's stopping rules); ``_learned`` (the learned attributes); ``_scoring``
(weighted scores); ``_sklearn`` (exceptions, warnings and tags scikit-learn recognises).

fnmlp's own ``.npz`` (``fnmlp.save_params(path, est.spec_, est.params_, est.bn_state_)``) stays the
pickle-free way to keep the parameters.
"""

from ._sklearn import ConvergenceWarning, DataConversionWarning, NotFittedError
from .classifier import MLPClassifier
from .regressor import MLPRegressor

__all__ = ["MLPClassifier", "MLPRegressor", "NotFittedError", "DataConversionWarning", "ConvergenceWarning"]

# Pickles name the public path, whichever private module a class is defined in.
for _estimator in (MLPClassifier, MLPRegressor, NotFittedError, DataConversionWarning, ConvergenceWarning):
    _estimator.__module__ = __name__
del _estimator
