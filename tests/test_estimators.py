"""fnmlp.estimators: scikit-learn's own estimator checks, the same training as the functional API,
labels of any type, partial_fit, pickling, pipelines under GridSearchCV, and the boundary checks.

scikit-learn's checks run on both estimators with their default settings (Adam, ``alpha=1e-4``).
"""

import pickle
import subprocess
import sys
import warnings

import numpy as np
import pytest

sklearn = pytest.importorskip("sklearn")

import joblib  # noqa: E402  (scikit-learn's dependency)
from sklearn.base import clone  # noqa: E402
from sklearn.datasets import make_blobs, make_regression  # noqa: E402
from sklearn.exceptions import NotFittedError as SklearnNotFittedError  # noqa: E402
from sklearn.metrics import r2_score  # noqa: E402
from sklearn.model_selection import GridSearchCV  # noqa: E402
from sklearn.pipeline import Pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

import fnmlp  # noqa: E402
from fnmlp.estimators import _scoring, _stopping  # noqa: E402
from fnmlp.estimators import MLPClassifier, MLPRegressor, NotFittedError  # noqa: E402

SGD = dict(solver="sgd", alpha=0.0, nesterovs_momentum=False)  # what the exact comparisons write out by hand

pytestmark = pytest.mark.filterwarnings("ignore:Stochastic Optimizer. Maximum iterations")


def _expected_failed_checks(estimator):
    return {}


with warnings.catch_warnings():  # collecting the checks warns that the estimators are not BaseEstimators
    warnings.filterwarnings("ignore", message=".*does not inherit from `sklearn.base.BaseEstimator`")
    _with_checks = parametrize_with_checks([MLPClassifier(), MLPRegressor()],
                                           expected_failed_checks=_expected_failed_checks)


@_with_checks
def test_scikit_learn_estimator_checks(estimator, check):
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*does not inherit from `sklearn.base.BaseEstimator`")
        check(estimator)


def _causes(exc):
    while exc is not None:
        yield exc
        exc = exc.__cause__ or exc.__context__


def test_regressor_targets_and_predictions_around_the_network():
    """What MLPRegressor does around the training: target checks, and predict and score on a network
    given by hand."""
    x = np.random.default_rng(0).standard_normal((20, 3))
    est = MLPRegressor((4,), **SGD)
    targets, learned = est._encode_targets(np.arange(20), x.astype(np.float32))
    assert targets.shape == (20, 1) and targets.dtype == np.float32 and learned == {"n_outputs_": 1, "_y_1d": True}
    with pytest.warns(UserWarning, match="A column-vector y was passed"):
        targets, learned = est._encode_targets(np.arange(20.0)[:, None], x)
    assert targets.shape == (20, 1) and learned["_y_1d"]
    targets, learned = est._encode_targets(np.ones((20, 2)), x)
    assert targets.shape == (20, 2) and learned == {"n_outputs_": 2, "_y_1d": False}
    with pytest.raises(ValueError, match="Input y contains NaN or infinity"):
        est._encode_targets(np.full(20, np.nan), x)
    with pytest.raises(ValueError, match="y: expected values within float32's range"):
        est._encode_targets(np.full(20, 1e300), x.astype(np.float32))
    with pytest.raises(ValueError, match="Complex data not supported"):
        est._encode_targets(np.ones(20) * 1j, x)

    spec = fnmlp.MLPSpec.from_hidden_sizes(3, (4,), 2, activation="relu")
    params, bn_state = fnmlp.init_params(spec, 0)
    est.__dict__.update(spec_=spec, params_=params, bn_state_=bn_state, n_features_in_=3, n_outputs_=2, _y_1d=False)
    outputs = fnmlp.predict(spec, params, bn_state, x)
    assert np.array_equal(est.predict(x), outputs)
    y = outputs + np.random.default_rng(1).standard_normal(outputs.shape)
    assert est.score(x, y) == pytest.approx(r2_score(y, outputs), rel=1e-12)
    est._y_1d = True
    assert np.array_equal(est.predict(x), outputs[:, 0])
    with pytest.raises(ValueError, match="X has 2 features, but MLPRegressor is expecting 3 features as input"):
        est.predict(x[:, :2])


def test_the_early_stopping_split_holds_out_a_share_of_each_class():
    x = np.arange(100.0)[:, None]
    classes = np.repeat([0, 1, 2], [50, 30, 20])
    (xt, yt), (xv, yv) = _stopping.validation_split(x, classes, 0.1, np.random.default_rng(0), stratify=True)
    assert np.bincount(yv).tolist() == [5, 3, 2] and np.bincount(yt).tolist() == [45, 27, 18]
    assert sorted(np.concatenate([xt, xv])[:, 0].tolist()) == list(range(100))
    assert np.array_equal(classes[xv[:, 0].astype(int)], yv) and np.array_equal(classes[xt[:, 0].astype(int)], yt)
    (xt2, _), (xv2, _) = _stopping.validation_split(x, classes, 0.1, np.random.default_rng(0), stratify=True)
    assert np.array_equal(xv, xv2) and np.array_equal(xt, xt2)
    (xt, _), (xv, _) = _stopping.validation_split(x, x[:, 0], 0.25, np.random.default_rng(1), stratify=False)
    assert xv.shape == (25, 1) and xt.shape == (75, 1) and not set(xv[:, 0]) & set(xt[:, 0])
    with pytest.raises(ValueError, match=r"validation_fraction: expected a share of the 5 rows that leaves at least "
                                         r"2 to validate on and 1 to train on, got 0.1 \(1 to validate on\)"):
        _stopping.validation_split(x[:5], x[:5, 0], 0.1, np.random.default_rng(0), stratify=False)


def test_settings_build_the_spec_and_the_optimizer_scikit_learn_means():
    est = MLPClassifier((4, 3), alpha=0.3, dropout=(0.1, 0.2))
    spec, optimizer = est._network(est._settings(), 5, 3)
    assert spec.layer_sizes == (5, 4, 3, 3) and spec.activation_names == ("relu", "relu", "identity")
    assert spec.l2 == 0.3 and spec.dropout == (0.0, 0.1, 0.2) and spec.loss is fnmlp.SOFTMAX_CROSS_ENTROPY
    est = MLPRegressor((4,), alpha=0.3, dropout=0.25, num_bn_layers=1)
    spec, _ = est._network(est._settings(), 5, 2)
    # scikit-learn's regression objective is half the mean squared error: fnmlp's, halved, with 2 * alpha
    assert spec.l2 == 0.6 and spec.dropout == (0.0, 0.25) and spec.loss is fnmlp.MEAN_SQUARED_ERROR
    assert spec.num_bn_layers == 1
    for dropout in (0.0, None, (0.0,)):
        plain = MLPClassifier((4,), dropout=dropout)
        assert plain._network(plain._settings(), 2, 2)[0].dropout == (0.0, 0.0)
    # partial_fit ignores early_stopping, as scikit-learn's does
    x, y = make_blobs(60, random_state=0)
    est = MLPClassifier((4,), early_stopping=True).partial_fit(x, y, classes=[0, 1, 2])
    assert est.n_iter_ == 1 and est.t_ == 60


@pytest.mark.parametrize("cls, settings", [
    (MLPRegressor, dict(solver="sgd", learning_rate_init=0.05, momentum=0.9, nesterovs_momentum=True)),
    (MLPRegressor, dict(solver="adam", learning_rate_init=0.01, beta_1=0.8, beta_2=0.99)),
    (MLPClassifier, dict(solver="adam", learning_rate_init=0.01)),
    (MLPClassifier, dict(solver="sgd", learning_rate_init=0.1, momentum=0.5, nesterovs_momentum=False)),
])
def test_training_steps_as_scikit_learns_own_mlp(cls, settings):
    """From the same initial weights, three full-batch epochs of scikit-learn's MLP and of fnmlp's take
    the same steps and report the same loss_curve_: the loss, alpha, the solvers and their parameters
    mean the same (the regressor's objective is scikit-learn's half MSE). Adam agrees to where epsilon
    enters: scikit-learn adds it to the uncorrected sqrt(v), fnmlp (as PyTorch) to the corrected one.
    One target: with k targets scikit-learn steps along k times the gradient of the loss it reports."""
    from sklearn import neural_network
    if cls is MLPRegressor:
        x, y = make_regression(64, n_features=4, noise=1.0, random_state=0)
        y = y / y.std()
    else:
        x, y = blobs(64)
    x = StandardScaler().fit_transform(x)
    common = dict(hidden_layer_sizes=(6,), activation="tanh", alpha=0.1, batch_size=64, random_state=0, **settings)
    ours = cls(max_iter=3, tol=0.0, **common).fit(x, y)
    start, _ = fnmlp.init_params(ours.spec_, np.random.default_rng(0), weight_init="xavier")

    theirs = getattr(neural_network, cls.__name__)(shuffle=False, **common)
    first = {"classes": np.unique(y)} if cls is MLPClassifier else {}
    theirs.partial_fit(x, y, **first)  # builds its attributes; then start again from fnmlp's weights
    theirs.coefs_, theirs.intercepts_ = [W.copy() for W in start.W], [b.copy() for b in start.b]
    del theirs._optimizer
    theirs.loss_curve_ = []
    for _ in range(3):
        theirs.partial_fit(x, y)
    rtol, atol = (1e-9, 1e-12) if settings["solver"] == "sgd" else (1e-4, 1e-6)  # steps of 0.01: atol is 1e-4 of one
    for mine, other in zip(ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_):
        np.testing.assert_allclose(mine, other, rtol=rtol, atol=atol)
    np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=rtol)
    assert ours.score(x, y) == pytest.approx(theirs.score(x, y), rel=rtol)
    assert not np.allclose(ours.coefs_[0], start.W[0], rtol=1e-3)  # it did train


def test_early_stopping_keeps_the_best_epoch_of_fnmlps_early_stopping():
    x, y = blobs(300, seed=2)
    est = MLPClassifier((16,), learning_rate_init=0.01, max_iter=200, early_stopping=True, validation_fraction=0.2,
                        n_iter_no_change=3, tol=0.0, random_state=0, alpha=0.01).fit(x, y)
    rng = np.random.default_rng(0)
    params, bn_state = fnmlp.init_params(est.spec_, rng, weight_init="xavier")
    train, validation = _stopping.validation_split(x, y, 0.2, rng, stratify=True)
    result = fnmlp.fit(est.spec_, params, bn_state, fnmlp.adam(0.01), train, validation, epochs=200, batch_size=200,
                       rng=rng, early_stopping=fnmlp.EarlyStopping(4, 0.0, "val_error"))
    assert result.stopped_early and est.n_iter_ == len(result.history) < 200
    assert fnmlp.tree_allclose(est.params_, result.params, rtol=0, atol=0)
    assert est.validation_scores_ == [1 - s.val_error for s in result.history]
    best = int(np.argmax(est.validation_scores_))  # scikit-learn's rule with tol=0, ties aside
    assert est.best_validation_score_ == est.validation_scores_[best] and result.best_epoch == best + 1
    assert len(est.validation_scores_) == best + 1 + 4  # n_iter_no_change + 1 epochs without improvement
    assert est.score(*validation) == pytest.approx(est.best_validation_score_, abs=1e-12)
    assert est.loss_curve_ == [s.train_loss for s in result.history]
    assert MLPClassifier((4,), max_iter=2).fit(x, y).validation_scores_ is None

    xr, yr = make_regression(200, n_features=3, noise=1.0, random_state=0)
    reg = MLPRegressor((16,), learning_rate_init=0.01, early_stopping=True, n_iter_no_change=2, random_state=0)
    reg.fit(StandardScaler().fit_transform(xr), yr / yr.std())
    assert reg.n_iter_ == len(reg.validation_scores_) and reg.best_validation_score_ == max(reg.validation_scores_)
    assert reg.best_validation_score_ > 0.5  # R^2 of the held-out rows


def test_dropout_trains_with_its_own_rng_carried_across_partial_fit():
    x, y = blobs()
    est = MLPClassifier((16,), dropout=0.3, batch_size=40, random_state=1)
    est.partial_fit(x[:120], y[:120], classes=[0, 1, 2]).partial_fit(x[120:], y[120:])
    spec = est.spec_
    rng = np.random.default_rng(1)
    params, bn_state = fnmlp.init_params(spec, rng, weight_init="xavier")
    optimizer = fnmlp.adam(0.001)
    first = fnmlp.fit_from(spec, optimizer, fnmlp.initial_state(params, bn_state, optimizer, 120, rng),
                           (x[:120], y[:120]), epochs=1, batch_size=40).final
    second = fnmlp.fit_from(spec, optimizer, fnmlp.TrainState(first.params, first.bn_state, first.opt_state, 0,
                                                              np.arange(120), first.rng, first.dropout_rng),
                            (x[120:], y[120:]), epochs=1, batch_size=40).final
    assert fnmlp.tree_allclose(est.params_, second.params, rtol=0, atol=0)
    plain = MLPClassifier((16,), batch_size=40, random_state=1).partial_fit(x[:120], y[:120], classes=[0, 1, 2])
    assert not fnmlp.tree_allclose(plain.params_, MLPClassifier((16,), dropout=0.3, batch_size=40, random_state=1)
                                   .partial_fit(x[:120], y[:120], classes=[0, 1, 2]).params_)
    assert np.array_equal(est.predict_proba(x), est.predict_proba(x))  # no dropout at prediction


# --- parameters -------------------------------------------------------------------------------------

NON_DEFAULT = dict(hidden_layer_sizes=(7, 5), activation="tanh", solver="sgd", alpha=0.5, batch_size=16,
                   learning_rate_init=0.02, max_iter=3, tol=0.1, verbose=True, momentum=0.5,
                   nesterovs_momentum=False, early_stopping=True, validation_fraction=0.2, beta_1=0.8,
                   beta_2=0.9, epsilon=1e-6, n_iter_no_change=4, random_state=np.random.RandomState(3),
                   dropout=(0.1, 0.2), num_bn_layers=1, dtype="float32", weight_init="he")


@pytest.mark.parametrize("cls", [MLPClassifier, MLPRegressor])
def test_parameters_round_trip_through_get_params_set_params_and_clone(cls):
    est = cls()
    assert set(est.get_params()) == set(NON_DEFAULT)
    assert est.get_params()["solver"] == "adam" and est.get_params()["alpha"] == 0.0001
    assert est.get_params()["hidden_layer_sizes"] == (100,) and est.get_params()["batch_size"] == "auto"
    assert est.set_params(**NON_DEFAULT) is est
    assert all(est.get_params()[k] is v for k, v in NON_DEFAULT.items())
    copy = clone(est)
    assert type(copy) is cls and copy is not est
    for name, value in NON_DEFAULT.items():
        if name == "random_state":
            assert copy.random_state is not value and np.array_equal(copy.random_state.get_state()[1],
                                                                     value.get_state()[1])
        else:
            assert copy.get_params()[name] == value
    with pytest.raises(ValueError, match="Invalid parameter 'hidden' for estimator"):
        est.set_params(hidden=3)


def test_repr_shows_the_parameters_that_differ_from_the_defaults():
    assert repr(MLPClassifier()) == "MLPClassifier()"
    assert repr(MLPClassifier((64,), max_iter=50, dtype="float32")) == \
        "MLPClassifier(dtype='float32', hidden_layer_sizes=(64,), max_iter=50)"


@pytest.mark.parametrize("name, value, message", [
    ("hidden_layer_sizes", (4, 0), r"hidden_layer_sizes\[1\]: expected an integer in 1..inf, got 0"),
    ("hidden_layer_sizes", "4", "hidden_layer_sizes: expected an integer or a sequence of positive integers"),
    ("activation", "softplus", "activation: expected one of"),
    ("solver", "lbfgs", "solver: expected one of \\['sgd', 'adam'\\] \\(fnmlp has no 'lbfgs'\\), got 'lbfgs'"),
    ("max_iter", 0, "max_iter: expected an integer in 1..inf, got 0"),
    ("batch_size", "all", "batch_size: expected an integer, got 'all'"),
    ("learning_rate_init", 0.0, r"learning_rate_init: expected a finite number in \(0.0, inf\), got 0.0"),
    ("momentum", 1.0, r"momentum: expected a finite number in \[0.0, 1.0\), got 1.0"),
    ("num_bn_layers", 3, "num_bn_layers: expected an integer in 0..2, got 3"),
    ("dtype", "float16", "dtype: expected float32 or float64"),
    ("weight_init", "glorot", "weight_init: expected one of"),
    ("random_state", -1, "random_state: expected an integer in 0..4294967295, got -1"),
    ("dropout", (0.1, 0.2), "dropout: expected 1 rates, one per hidden layer, got 2"),
    ("verbose", "yes", "verbose: expected True or False"),
])
def test_bad_parameters_are_refused_by_fit_naming_the_parameter(name, value, message):
    est = MLPClassifier((4,), **SGD).set_params(**{name: value})  # set_params itself never checks
    with pytest.raises((TypeError, ValueError), match=message):
        est.fit(np.zeros((4, 2)), [0, 1, 0, 1])
    assert not hasattr(est, "n_features_in_")


# --- training is fnmlp.fit --------------------------------------------------------------------------

def blobs(n=240, seed=0):
    x, y = make_blobs(n, n_features=5, centers=3, random_state=seed)
    return StandardScaler().fit_transform(x), y


def test_fit_trains_exactly_what_the_functional_api_trains():
    x, y = blobs()
    est = MLPClassifier((16, 8), activation="tanh", batch_size=32, learning_rate_init=0.05, max_iter=6, tol=0.0,
                        random_state=5, num_bn_layers=1, weight_init="lecun", **SGD).fit(x, y)

    spec = fnmlp.MLPSpec.from_hidden_sizes(5, (16, 8), 3, activation="tanh", num_bn_layers=1)
    rng = np.random.default_rng(5)
    params, bn_state = fnmlp.init_params(spec, rng, weight_init="lecun")
    result = fnmlp.fit(spec, params, bn_state, fnmlp.sgd(0.05, 0.9), (x, y), epochs=6, batch_size=32, rng=rng)

    assert est.spec_ == spec and est.n_iter_ == 6 and est.t_ == 6 * 240
    assert fnmlp.tree_allclose(est.params_, result.params, rtol=0, atol=0)
    assert fnmlp.tree_allclose(est.bn_state_, result.bn_state, rtol=0, atol=0)
    assert est.loss_curve_ == [s.train_loss for s in result.history]
    assert est.loss_ == est.loss_curve_[-1] and est.best_loss_ == min(est.loss_curve_)
    logits = fnmlp.predict(spec, result.params, result.bn_state, x)
    assert np.array_equal(est.predict(x), logits.argmax(axis=1))
    probs = np.exp(logits - logits.max(axis=1, keepdims=True))
    np.testing.assert_allclose(est.predict_proba(x), probs / probs.sum(axis=1, keepdims=True), rtol=1e-12)
    assert est.coefs_[0] is not None and np.array_equal(est.coefs_[1], result.params.W[1])
    assert not est.params_.W[0].flags.writeable
    assert est.score(x, y) == np.mean(logits.argmax(axis=1) == y) > 0.9


def test_fit_stops_when_the_training_loss_stops_improving_as_scikit_learn_does():
    x, y = blobs()
    est = MLPClassifier((8,), learning_rate_init=0.1, max_iter=200, tol=1e-3, n_iter_no_change=3,
                        random_state=0, **SGD).fit(x, y)
    curve = est.loss_curve_
    assert est.n_iter_ == len(curve) < 200
    best, count = np.inf, 0  # scikit-learn's _update_no_improvement_count, written out
    for i, loss in enumerate(curve):
        count = count + 1 if loss > best - 1e-3 else 0
        best = min(best, loss)
        assert (count > 3) == (i == len(curve) - 1)
    with pytest.warns(UserWarning, match=r"Maximum iterations \(3\) reached"):
        MLPClassifier((8,), max_iter=3, random_state=0, **SGD).fit(x, y)


def test_float32_input_trains_in_float32_unless_dtype_says_otherwise():
    x, y = blobs()
    est = MLPClassifier((8,), max_iter=2, random_state=0, **SGD).fit(x.astype(np.float32), y)
    assert est.params_.W[0].dtype == np.float32 and est.predict_proba(x).dtype == np.float32
    est = MLPClassifier((8,), max_iter=2, random_state=0, dtype="float64", **SGD).fit(x.astype(np.float32), y)
    assert est.params_.W[0].dtype == np.float64
    est = MLPClassifier((8,), max_iter=2, random_state=0, dtype=np.float32, **SGD).fit(x.astype(int), y)
    assert est.params_.W[0].dtype == np.float32


def test_a_random_state_generator_is_copied_so_two_fits_agree():
    x, y = blobs()
    rng = np.random.default_rng(1)
    before = rng.bit_generator.state
    est = MLPClassifier((8,), max_iter=3, random_state=rng, **SGD)
    first = est.fit(x, y).params_
    assert rng.bit_generator.state == before
    assert fnmlp.tree_allclose(first, est.fit(x, y).params_, rtol=0, atol=0)
    other = MLPClassifier((8,), max_iter=3, random_state=2, **SGD).fit(x, y).params_
    assert not fnmlp.tree_allclose(first, other)


# --- labels -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("names", [np.array(["cat", "dog", "emu"]), np.array([-7, 3, 40]),
                                   np.array([1.0, 4.0, 18.0]), np.array(["b", 1, None], dtype=object)[:2]])
def test_any_label_type_scikit_learn_accepts(names):
    x, y = blobs()
    if len(names) == 2:
        x, y = x[y < 2], y[y < 2]
    labels = names[y]
    est = MLPClassifier((8,), max_iter=30, random_state=0, learning_rate_init=0.05, **SGD)
    if names.dtype == object:
        with pytest.raises(ValueError, match="Unknown label type: y mixes labels that cannot be sorted"):
            est.fit(x, labels)
        return
    est.fit(x, labels)
    reference = MLPClassifier((8,), max_iter=30, random_state=0, learning_rate_init=0.05, **SGD).fit(x, y)
    assert np.array_equal(est.classes_, np.sort(names))
    assert np.array_equal(est.predict(x), names[reference.predict(x)])
    assert est.predict(x).dtype == names.dtype
    assert est.score(x, labels) == reference.score(x, y) > 0.9
    np.testing.assert_allclose(est.predict_proba(x).sum(axis=1), 1.0, rtol=1e-12)


def test_continuous_and_single_class_targets_are_refused():
    x, y = blobs()
    with pytest.raises(ValueError, match="Unknown label type: continuous"):
        MLPClassifier(**SGD).fit(x, y + 0.5)
    with pytest.raises(ValueError, match=r"y: expected at least 2 classes, got 1 class: \['a'\]"):
        MLPClassifier(**SGD).fit(x, ["a"] * len(x))
    with pytest.warns(UserWarning, match="A column-vector y was passed"):
        MLPClassifier((4,), max_iter=1, **SGD).fit(x, y[:, None])


# --- partial_fit ------------------------------------------------------------------------------------

def test_partial_fit_continues_training_one_epoch_per_call():
    x, y = blobs()
    labels = np.array(["x", "y", "z"])[y]
    est = MLPClassifier((8,), batch_size=40, learning_rate_init=0.05, random_state=4, **SGD)
    with pytest.raises(ValueError, match=r"y: expected labels among the classes \['x', 'y'\], got \['z'\]"):
        est.partial_fit(x, labels, classes=["x", "y"])
    assert not hasattr(est, "params_")
    with pytest.raises(ValueError, match="classes: expected every label y will hold, on the first call to "
                                         "partial_fit, got None"):
        est.partial_fit(x, labels)
    est.partial_fit(x[:120], labels[:120], classes=["z", "y", "x"])
    est.partial_fit(x[120:], labels[120:])
    assert est.n_iter_ == 2 and est.t_ == 240 and len(est.loss_curve_) == 2
    assert np.array_equal(est.classes_, ["x", "y", "z"])

    spec = est.spec_
    rng = np.random.default_rng(4)
    params, bn_state = fnmlp.init_params(spec, rng, weight_init="xavier")
    optimizer = fnmlp.sgd(0.05, 0.9)
    first = fnmlp.fit_from(spec, optimizer, fnmlp.TrainState(params, bn_state, optimizer.init(params), 0,
                                                             np.arange(120), rng), (x[:120], y[:120]),
                           epochs=1, batch_size=40).final
    second = fnmlp.fit_from(spec, optimizer, fnmlp.TrainState(first.params, first.bn_state, first.opt_state, 0,
                                                              np.arange(120), first.rng), (x[120:], y[120:]),
                            epochs=1, batch_size=40).final
    assert fnmlp.tree_allclose(est.params_, second.params, rtol=0, atol=0)
    assert fnmlp.tree_allclose(est._opt_state, second.opt_state, rtol=0, atol=0)

    with pytest.raises(ValueError, match=r"y: expected labels among the classes \['x', 'y', 'z'\], got \['w'\]"):
        est.partial_fit(x[:3], ["w", "x", "y"])
    with pytest.raises(ValueError, match="X has 4 features, but MLPClassifier is expecting 5 features as input"):
        est.partial_fit(x[:3, :4], labels[:3])
    assert est.n_iter_ == 2


# --- pickling and scikit-learn's tools --------------------------------------------------------------

def test_fitted_estimators_pickle_and_joblib_round_trip(tmp_path):
    x, y = blobs()
    est = MLPClassifier((8,), max_iter=5, num_bn_layers=1, random_state=0, **SGD).fit(x, ["a", "b", "c"] * 80)
    for copy in (pickle.loads(pickle.dumps(est)), joblib.load(joblib.dump(est, tmp_path / "est.joblib")[0])):
        assert np.array_equal(copy.predict_proba(x), est.predict_proba(x))
        assert np.array_equal(copy.classes_, est.classes_) and copy.spec_ == est.spec_
        assert not copy.params_.W[0].flags.writeable and not copy.bn_state_.running_mean[0].flags.writeable
        assert not any(leaf.flags.writeable for leaf in fnmlp.tree_leaves(copy._opt_state)
                       if isinstance(leaf, np.ndarray))
        copy.partial_fit(x, ["a", "b", "c"] * 80)
        assert copy.n_iter_ == 6 and est.n_iter_ == 5
    fnmlp.save_params(tmp_path / "params.npz", est.spec_, est.params_, est.bn_state_,
                      meta={"classes": est.classes_.tolist()})  # the pickle-free way
    spec, params, bn_state, meta = fnmlp.load_params(tmp_path / "params.npz")
    classes = np.array(meta["classes"])
    assert np.array_equal(classes[fnmlp.predict(spec, params, bn_state, x).argmax(axis=1)], est.predict(x))


def test_classifier_in_a_pipeline_under_grid_search_with_two_jobs():
    x, y = make_blobs(200, n_features=4, centers=3, cluster_std=2.0, random_state=1)
    pipe = Pipeline([("scale", StandardScaler()), ("mlp", MLPClassifier((8,), max_iter=20, random_state=0,
                                                                          **SGD))])
    search = GridSearchCV(pipe, {"mlp__learning_rate_init": [1e-4, 0.05], "mlp__hidden_layer_sizes": [(4,), (16,)]},
                          cv=3, n_jobs=2, error_score="raise").fit(x, y)
    assert search.best_params_["mlp__learning_rate_init"] == 0.05
    assert search.best_score_ > 0.8 and search.cv_results_["mean_test_score"].min() < search.best_score_
    assert search.best_estimator_.named_steps["mlp"].n_iter_ >= 1
    assert search.score(x, y) == search.best_estimator_.score(x, y)


def test_regressor_in_a_pipeline_under_grid_search_with_two_jobs():
    x, y = make_regression(200, n_features=4, noise=5.0, random_state=1)
    pipe = Pipeline([("scale", StandardScaler()), ("mlp", MLPRegressor((16,), max_iter=50, random_state=0,
                                                                         **SGD))])
    search = GridSearchCV(pipe, {"mlp__learning_rate_init": [1e-5, 0.01]}, cv=3, n_jobs=2,
                          error_score="raise").fit(x, y / y.std())
    assert search.best_params_["mlp__learning_rate_init"] == 0.01 and search.best_score_ > 0.8


def test_not_fitted_is_scikit_learns_error_and_fnmlps():
    est = MLPClassifier()
    for method in (est.predict, est.predict_proba, est.predict_log_proba):
        with pytest.raises(NotFittedError, match="This MLPClassifier instance is not fitted yet") as caught:
            method(np.zeros((2, 2)))
        assert isinstance(caught.value, (SklearnNotFittedError, ValueError, AttributeError))
        assert isinstance(caught.value, SklearnNotFittedError)
    assert not hasattr(est, "coefs_")
    assert isinstance(pickle.loads(pickle.dumps(caught.value)), NotFittedError)


def test_tags_and_the_module_need_no_scikit_learn():
    code = ("import sys, fnmlp.estimators as e\n"
            "t = e.MLPClassifier().__sklearn_tags__(); r = e.MLPRegressor().__sklearn_tags__()\n"
            "assert t.estimator_type == 'classifier' and t.classifier_tags.multi_class and t.regressor_tags is None\n"
            "assert r.estimator_type == 'regressor' and r.target_tags.multi_output and not r.input_tags.sparse\n"
            "assert not [m for m in sys.modules if m.startswith('sklearn')]\n")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=fnmlp.__file__.rsplit("/fnmlp/", 1)[0])
    tags = sklearn.utils.get_tags(MLPClassifier())
    assert isinstance(tags, sklearn.utils.Tags) and tags.target_tags.required and not tags.input_tags.allow_nan
    assert sklearn.base.is_classifier(MLPClassifier()) and sklearn.base.is_regressor(MLPRegressor())
    assert MLPRegressor()._more_tags()["multioutput"] and not MLPClassifier()._more_tags()["multioutput"]


# --- the boundary -----------------------------------------------------------------------------------

@pytest.mark.parametrize("X, error, message", [
    (np.array([[0.0, np.nan]] * 4), ValueError, "Input X contains NaN or infinity"),
    (np.zeros(4), ValueError, "X: expected a 2-D array .*got shape \\(4,\\). Reshape your data"),
    (np.zeros((0, 2)), ValueError, r"Found array with 0 sample\(s\) \(shape=\(0, 2\)\)"),
    (np.zeros((4, 0)), ValueError, r"Found array with 0 feature\(s\)"),
    (np.full((4, 2), "a"), TypeError, "X: expected an array of numbers, got dtype <U1"),
    (np.zeros((4, 2), complex), ValueError, "Complex data not supported"),
    (np.array([[{"a": 1}, 1.0]] * 4, dtype=object), TypeError, "argument must be a string or a real number"),
    (None, ValueError, "X: expected an array-like, got None"),
    (np.full((4, 2), 1e300), ValueError, "Input X contains NaN or infinity"),  # overflows float32
])
def test_bad_inputs_get_clear_errors(X, error, message):
    est = MLPClassifier((4,), dtype="float32", **SGD)
    with pytest.raises(error, match=message):
        est.fit(X, [0, 1, 0, 1])
    assert not hasattr(est, "n_features_in_")


def test_bad_targets_and_mismatched_lengths_get_clear_errors():
    x = np.zeros((4, 2))
    with pytest.raises(ValueError, match="requires y to be passed, but the target y is None"):
        MLPClassifier(**SGD).fit(x, None)
    with pytest.raises(ValueError, match=r"y: expected 4 rows, as many as X, got 3"):
        MLPClassifier(**SGD).fit(x, [0, 1, 0])
    with pytest.raises(ValueError, match="Input y contains NaN or infinity"):
        MLPClassifier(**SGD).fit(x, [0.0, 1.0, np.nan, 1.0])
    with pytest.raises(ValueError, match="multi-label y is not supported"):
        MLPClassifier(**SGD).fit(x, np.eye(4, 2))


def test_sparse_input_is_refused_with_its_name():
    scipy_sparse = pytest.importorskip("scipy.sparse")
    with pytest.raises(TypeError, match=r"X: expected a dense array, got a csr_matrix \(sparse input is not"):
        MLPClassifier(**SGD).fit(scipy_sparse.csr_matrix(np.eye(4)), [0, 1, 0, 1])


# --- the regressor ----------------------------------------------------------------------------------

def test_r2_is_scikit_learns_formula():
    rng = np.random.default_rng(0)
    y, pred, w = rng.standard_normal((30, 3)), rng.standard_normal((30, 3)), rng.uniform(size=30)
    metric = fnmlp.MEAN_SQUARED_ERROR.metric(fnmlp.MEAN_SQUARED_ERROR.metric_totals(pred, y))  # score's, unweighted
    assert metric == pytest.approx(r2_score(y, pred), rel=1e-12)
    assert _scoring.weighted_r2(y, pred, w) == pytest.approx(r2_score(y, pred, sample_weight=w), rel=1e-12)
    # written out: 1 - residual sum of squares / total sum of squares, per column, averaged
    by_hand = np.mean([1 - ((y[:, j] - pred[:, j]) ** 2).sum() / ((y[:, j] - y[:, j].mean()) ** 2).sum()
                       for j in range(3)])
    assert _scoring.weighted_r2(y, pred, None) == pytest.approx(by_hand, rel=1e-12)
    assert metric == pytest.approx(by_hand, rel=1e-12)
    assert _scoring.weighted_r2(np.ones((4, 1)), np.ones((4, 1)), None) == 1.0
    est = MLPRegressor((4,), max_iter=2, random_state=0).fit(y, pred)
    assert est.score(y, pred) == pytest.approx(r2_score(pred, est.predict(y)), rel=1e-12)
    assert est.score(y, pred, sample_weight=w) == pytest.approx(r2_score(pred, est.predict(y), sample_weight=w),
                                                                rel=1e-12)


def test_regressor_fits_a_smooth_function():
    x = np.random.default_rng(0).uniform(-3, 3, (400, 1))
    est = MLPRegressor((32,), activation="tanh", learning_rate_init=0.01, batch_size=50, max_iter=500, tol=1e-6,
                       random_state=0).fit(x, np.sin(x[:, 0]))
    grid = np.linspace(-3, 3, 101)[:, None]
    assert est.n_iter_ < 500 and est.score(grid, np.sin(grid[:, 0])) > 0.99
    assert est.score(grid, np.sin(grid[:, 0])) == pytest.approx(r2_score(np.sin(grid[:, 0]), est.predict(grid)),
                                                                rel=1e-12)


def test_regressor_learns_single_and_multiple_targets():
    x, y = make_regression(300, n_features=5, n_targets=2, noise=1.0, random_state=0)
    x, y = StandardScaler().fit_transform(x), y / y.std(axis=0)
    est = MLPRegressor((32,), learning_rate_init=0.01, max_iter=100, random_state=0, **SGD)
    assert est.fit(x, y).predict(x).shape == (300, 2) and est.n_outputs_ == 2
    assert est.score(x, y) == pytest.approx(r2_score(y, est.predict(x)), rel=1e-12) and est.score(x, y) > 0.95
    single = clone(est).fit(x, y[:, 0])
    assert single.predict(x).shape == (300,) and single.score(x, y[:, 0]) > 0.95
    outputs = fnmlp.predict(single.spec_, single.params_, single.bn_state_, x)
    assert np.array_equal(single.predict(x), outputs[:, 0])
    assert single.spec_.activation_names[-1] == "identity" and single.spec_.loss is fnmlp.MEAN_SQUARED_ERROR


def test_regressor_partial_fit_pickle_and_errors():
    x, y = make_regression(100, n_features=3, random_state=0)
    est = MLPRegressor((8,), random_state=0, **SGD).partial_fit(x, y / y.std())
    assert est.n_iter_ == 1 and est.predict(x).shape == (100,)
    copy = pickle.loads(pickle.dumps(est))
    assert np.array_equal(copy.predict(x), est.predict(x))
    with pytest.raises(ValueError, match="Input y contains NaN or infinity"):
        MLPRegressor(**SGD).fit(x, np.full(100, np.inf))
