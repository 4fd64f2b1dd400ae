"""The training loop: what fit computes, resuming, divergence, and agreement with a manual loop."""

import re

import attrs
import numpy as np
import pytest

import fnmlp
from fnmlp.training.batches import gather_into_buffers as _gather_into_buffers
from fnmlp.training.loop import EpochStats, TrainingDiverged, evaluate, fit, fit_from


def problem(n=600, features=12, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, features))
    labels = (x @ rng.standard_normal((features, classes))).argmax(axis=1)
    return x, labels


def small_spec(num_bn=1):
    return fnmlp.MLPSpec.from_hidden_sizes(12, [10, 8], 3, activation="tanh", num_bn_layers=num_bn)


def test_fit_equals_a_manual_loop_over_the_pure_functions():
    x, labels = problem(n=250)
    spec = small_spec()
    params, state = fnmlp.init_params(spec, 3, weight_init="lecun")
    opt = fnmlp.sgd(0.05, momentum=0.9)
    result = fit(spec, params, state, opt, (x[:200], labels[:200]), (x[200:], labels[200:]),
                 epochs=2, batch_size=64, rng=7)

    shuffler = np.random.RandomState(7)
    order = np.arange(200)
    opt_state = opt.init(params)
    for epoch in range(2):
        shuffler.shuffle(order)
        losses, wrong = [], 0
        for begin in range(0, 200, 64):
            rows = order[begin:begin + 64]
            logits = fnmlp.forward(spec, params, state, x[rows], train=True)[0]
            wrong += int((logits.argmax(axis=1) != labels[rows]).sum())
            loss, grads, state = fnmlp.loss_and_grads(spec, params, state, x[rows], labels[rows])
            losses.append(loss * len(rows))
            params, opt_state = opt.update(grads, opt_state, params)
        stats = result.history[epoch]
        assert stats.epoch == epoch + 1
        assert stats.train_loss == pytest.approx(sum(losses) / 200, rel=1e-12)
        assert stats.train_error == wrong / 200
        val_logits = fnmlp.predict(spec, params, state, x[200:])
        val_losses, _ = fnmlp.softmax_cross_entropy(val_logits, labels[200:])
        assert stats.val_loss == pytest.approx(val_losses.mean(), rel=1e-12)
        assert stats.val_error == np.mean(val_logits.argmax(axis=1) != labels[200:])
    assert fnmlp.tree_allclose(result.params, params, rtol=1e-12, atol=1e-14)
    assert fnmlp.tree_allclose(result.bn_state, state, rtol=1e-12, atol=1e-14)
    assert fnmlp.tree_allclose(result.final.opt_state, opt_state, rtol=1e-12, atol=1e-14)
    assert result.test_loss is None and result.final.epoch == 2


def test_training_learns_and_reports_test_figures():
    x, labels = problem(n=1200)
    spec = small_spec()
    params, state = fnmlp.init_params(spec, 0, weight_init="lecun")
    result = fit(spec, params, state, fnmlp.sgd(0.05, 0.9), (x[:800], labels[:800]), (x[800:1000], labels[800:1000]),
                 (x[1000:], labels[1000:]), epochs=8, batch_size=32, rng=0)
    losses = [s.train_loss for s in result.history]
    assert losses[-1] < 0.5 * losses[0]
    assert result.history[-1].val_error < 0.15
    assert (result.test_loss, result.test_error) == evaluate(spec, result.params, result.bn_state, x[1000:], labels[1000:])
    assert all(isinstance(s, EpochStats) and s.seconds > 0 for s in result.history)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_resumed_training_is_bit_identical(dtype):
    x, labels = problem()
    x = x.astype(dtype)
    spec = small_spec(num_bn=2)
    params, state = fnmlp.init_params(spec, 1, dtype=dtype)
    opt = fnmlp.sgd(0.02, 0.9)
    data = dict(train=(x[:500], labels[:500]), validation=(x[500:], labels[500:]))
    whole = fit(spec, params, state, opt, **data, epochs=6, batch_size=50, rng=4)
    first = fit(spec, params, state, opt, **data, epochs=3, batch_size=50, rng=4)
    order_before = first.final.order.copy()
    second = fit_from(spec, opt, first.final, **data, epochs=6, batch_size=50)
    np.testing.assert_array_equal(first.final.order, order_before)
    assert first.history + second.history == tuple(
        EpochStats(s.epoch, s.train_loss, s.train_error, s.val_loss, s.val_error, t.seconds, s.lr)
        for s, t in zip(whole.history, first.history + second.history))
    for a, b in zip(fnmlp.tree_leaves(whole.final), fnmlp.tree_leaves(second.final)):
        if isinstance(a, np.ndarray):
            assert a.dtype == b.dtype == (dtype if a.dtype.kind == "f" else a.dtype)
            np.testing.assert_array_equal(a, b)
    again = fit(spec, params, state, opt, **data, epochs=6, batch_size=50, rng=4)
    assert [s.val_loss for s in again.history] == [s.val_loss for s in whole.history]


def test_divergence_stops_with_the_last_good_state():
    x, labels = problem()
    spec = fnmlp.MLPSpec.from_hidden_sizes(12, [10], 3, activation="relu")
    params, state = fnmlp.init_params(spec, 0)
    seen = []
    with pytest.raises(TrainingDiverged) as info:
        fit(spec, params, state, fnmlp.sgd(2.0, 0.9), (x, labels), epochs=50, batch_size=20, rng=0,
            on_epoch=lambda stats, ts: seen.append(ts))
    diverged = info.value
    assert "epoch" in str(diverged) and "batch" in str(diverged)
    assert diverged.loss > 1e6, "a million times the first batch's loss, about 1"
    assert len(diverged.history) == diverged.epoch - 1 == len(seen) == 3
    good = diverged.last_good
    assert good.epoch == diverged.epoch - 1
    assert all(np.isfinite(a).all() for a in fnmlp.tree_leaves(good.params))
    assert good is seen[-1]

    params32, state32 = fnmlp.init_params(spec, 0, dtype=np.float32)  # lr 1e300 is infinite in float32
    with pytest.raises(TrainingDiverged) as info:
        fit(spec, params32, state32, fnmlp.sgd(1e300), (x.astype(np.float32), labels), epochs=1, batch_size=20, rng=0)
    assert np.isnan(info.value.loss) and (info.value.epoch, info.value.batch) == (1, 1)
    assert "the loss became nan at epoch 1, batch 1" in str(info.value)


@pytest.mark.parametrize("lr, dtype", [(1e300, np.float64), (1e30, np.float32)])
def test_a_finite_loss_a_million_times_the_first_batchs_is_divergence(lr, dtype):
    """An absurd learning rate gives losses of ~lr that neither overflow nor train: the loop stops at
    the first batch whose mean loss passes 1e6 times the first batch's (at least 1)."""
    x, labels = problem(n=200)
    spec = fnmlp.MLPSpec.from_hidden_sizes(12, [16], 3, activation="sigmoid")
    params, state = fnmlp.init_params(spec, 0, dtype=dtype)
    first = fnmlp.loss_and_grads(spec, params, state, x[:20].astype(dtype), labels[:20])[0]
    with pytest.raises(TrainingDiverged) as info:
        fit(spec, params, state, fnmlp.sgd(lr, 0.9), (x.astype(dtype), labels), epochs=3, batch_size=20, rng=0)
    diverged = info.value
    assert (diverged.epoch, diverged.batch, diverged.history) == (1, 1, ())
    assert np.isfinite(diverged.loss) and diverged.loss > 1e6 * max(1.0, first) and diverged.loss > lr / 100
    assert str(diverged).startswith(f"training diverged: the loss became {diverged.loss:.4g} (over 1e+06 times the "
                                    "first batch's) at epoch 1, batch 1")
    assert fnmlp.tree_allclose(diverged.last_good.params, params, rtol=0, atol=0)
    calm = fit(spec, params, state, fnmlp.sgd(1.0, 0.9), (x.astype(dtype), labels), epochs=3, batch_size=20, rng=0)
    assert len(calm.history) == 3, "a large but sane learning rate trains on"


def test_fit_trains_in_the_dtype_of_x_and_casts_the_parameters_to_it():
    """float32 parameters with float64 x train in float64 and come back so (and the other way round);
    validation x is cast to the training x's dtype. The result equals training from parameters cast
    beforehand."""
    x, labels = problem(n=60)
    spec = small_spec()
    for params_dtype, x_dtype in ((np.float32, np.float64), (np.float64, np.float32)):
        params, state = fnmlp.init_params(spec, 0, dtype=params_dtype)
        data = dict(train=(x.astype(x_dtype), labels), validation=(x[:20], labels[:20]), epochs=1, batch_size=20,
                    rng=0)
        result = fit(spec, params, state, fnmlp.adam(0.01), **data)
        leaves = fnmlp.tree_leaves(result.params) + fnmlp.tree_leaves(result.bn_state)
        assert {a.dtype for a in leaves} == {np.dtype(x_dtype)}
        moments = [a for a in fnmlp.tree_leaves(result.final.opt_state) if isinstance(a, np.ndarray)]
        assert moments and {a.dtype for a in moments} == {np.dtype(x_dtype)}
        cast = fit(spec, fnmlp.tree_map(lambda a: a.astype(x_dtype), params),
                   fnmlp.tree_map(lambda a: a.astype(x_dtype), state), fnmlp.adam(0.01), **data)
        assert fnmlp.tree_allclose(result.params, cast.params, rtol=0, atol=0)
        assert result.history[0].val_loss == cast.history[0].val_loss


def test_fit_checks_its_arguments():
    x, labels = problem(n=50)
    spec = small_spec()
    params, state = fnmlp.init_params(spec, 0)
    opt = fnmlp.sgd(0.1)
    cases = [
        (dict(batch_size=0), ValueError, "batch_size: expected an integer in 1..50"),
        (dict(batch_size=51), ValueError, "batch_size: expected an integer in 1..50"),
        (dict(epochs=-1), ValueError, "epochs: expected an integer in 0..inf"),
        (dict(train=(x, labels[:10])), ValueError, "train labels: expected 50 rows"),
        (dict(train=(x[:, :5], labels)), ValueError, "train x: expected 12 columns"),
        (dict(train=x), TypeError, "train: expected an (x, labels) pair"),
        (dict(validation=(x, labels + 3)), ValueError, "validation labels: expected class indices in 0..2"),
    ]
    for change, error, message in cases:
        kwargs = {**dict(train=(x, labels), epochs=1, batch_size=10), **change}
        with pytest.raises(error) as info:
            fit(spec, params, state, opt, **kwargs)
        assert str(info.value).startswith(message), str(info.value)


def test_resuming_checks_the_row_order_and_velocity():
    x, labels = problem(n=50)
    spec = small_spec()
    params, state = fnmlp.init_params(spec, 0)
    opt = fnmlp.sgd(0.1)
    start = fnmlp.initial_state(params, state, opt, 50, rng=0)
    for order, error, expected in ((np.arange(1, 51), ValueError, "a permutation of 0..49"),
                                   (np.arange(-1, 49), ValueError, "a permutation of 0..49"),
                                   (np.r_[0, np.arange(49)], ValueError, "a permutation of 0..49"),
                                   (np.arange(50.0), TypeError, "a 1-D integer array")):
        with pytest.raises(error, match=rf"^start\.order: expected {re.escape(expected)}, got "):
            fit_from(spec, opt, attrs.evolve(start, order=order), (x, labels), epochs=1, batch_size=10)
    other = fnmlp.sgd(0.1).init(fnmlp.init_params(small_spec(num_bn=0), 0)[0])
    with pytest.raises(ValueError, match=r"^start\.opt_state\[1\]\.trace\.gamma: expected 1 entries, got 0"):
        fit_from(spec, opt, attrs.evolve(start, opt_state=other), (x, labels), epochs=1, batch_size=10)


def test_states_handed_out_stay_as_they_were_while_training_goes_on():
    x, labels = problem(n=120)
    spec = small_spec()
    params, state = fnmlp.init_params(spec, 0, weight_init="lecun")
    seen, copies = [], []

    def on_epoch(stats, train_state):
        seen.append(train_state)
        copies.append([np.array(a) for a in fnmlp.tree_leaves(train_state) if isinstance(a, np.ndarray)])

    result = fit(spec, params, state, fnmlp.sgd(0.05, 0.9), (x, labels), epochs=3, batch_size=32, rng=0,
                 on_epoch=on_epoch)
    assert seen[-1] is result.final and len(seen) == 3
    for train_state, kept in zip(seen, copies):
        arrays = [a for a in fnmlp.tree_leaves(train_state) if isinstance(a, np.ndarray)]
        assert len(arrays) == len(kept) == 8 + 2 + 8 + 1
        for array, copy in zip(arrays, kept):
            np.testing.assert_array_equal(array, copy)
    assert not fnmlp.tree_allclose(seen[0].params, seen[1].params)


def test_batches_are_gathered_into_reused_buffers_that_nothing_returned_holds(monkeypatch):
    x, labels = problem(n=50)
    gather = _gather_into_buffers(16, x, labels)
    rows = np.array([49, 0, 7])
    first = gather(x, rows)
    np.testing.assert_array_equal(first, x[rows])
    np.testing.assert_array_equal(gather(labels, rows), labels[rows])
    again = gather(x, np.array([3, 4, 5]))
    assert np.shares_memory(first, again)  # the same buffer, batch after batch
    np.testing.assert_array_equal(again, x[3:6])

    batches = []

    def recording(batch_size, *arrays):
        inner = _gather_into_buffers(batch_size, *arrays)
        return lambda array, rows: batches.append(inner(array, rows)) or batches[-1]

    monkeypatch.setattr(fnmlp.training.flat_step, "gather_into_buffers", recording)
    spec = small_spec()
    params, state = fnmlp.init_params(spec, 0)
    seen = []
    result = fit(spec, params, state, fnmlp.sgd(0.1, 0.9), (x, labels), (x, labels), epochs=2, batch_size=16,
                 rng=0, on_epoch=lambda stats, ts: seen.append(ts))
    assert len(batches) == 2 * 2 * 4  # x and labels, 4 batches, 2 epochs
    returned = [a for ts in (result.final, *seen) for a in fnmlp.tree_leaves(ts) if isinstance(a, np.ndarray)]
    assert len(returned) == 3 * (8 + 2 + 8 + 1)  # params, BatchNorm state, velocity, order
    assert not any(np.shares_memory(a, batch) for a in returned for batch in batches)
    assert not any(a.flags.writeable for a in returned)


def test_fit_checks_the_training_data_once(monkeypatch):
    x, labels = problem(n=40)
    spec = small_spec()
    params, state = fnmlp.init_params(spec, 0)
    checked = []
    original = fnmlp.training.loop._check_data
    monkeypatch.setattr(fnmlp.training.loop, "_check_data",
                        lambda name, *args: checked.append(name) or original(name, *args))
    fit(spec, params, state, fnmlp.sgd(0.1), (x, labels), (x, labels), epochs=1, batch_size=10)
    assert checked == ["train", "validation"]
    checked.clear()
    fit_from(spec, fnmlp.sgd(0.1), fnmlp.initial_state(params, state, fnmlp.sgd(0.1), 40), (x, labels),
             epochs=1, batch_size=10)
    assert checked == ["train"]


def test_a_train_state_keeps_a_copy_of_the_callers_generator():
    x, labels = problem(n=40)
    spec = small_spec()
    params, state = fnmlp.init_params(spec, 0)
    caller = np.random.default_rng(5)
    start = fnmlp.initial_state(params, state, fnmlp.sgd(0.1), 40, rng=caller)
    unchanged = fit(spec, params, state, fnmlp.sgd(0.1), (x, labels), epochs=0, batch_size=10, rng=caller)
    expected = np.random.default_rng(5).random(3)
    caller.random(3)  # the caller goes on drawing from its own generator
    assert start.rng is not caller and unchanged.final.rng is not caller
    np.testing.assert_array_equal(start.rng.random(3), expected)
    np.testing.assert_array_equal(unchanged.final.rng.random(3), expected)


def test_run_epochs_refuses_bad_arguments_before_the_first_shuffle_or_step():
    x, labels = problem(n=6)
    steps = []

    def step(carry, xb, yb):
        steps.append(len(xb))
        return carry, 0.0, 0

    cases = [
        (dict(labels=labels[:4]), ValueError, "labels: expected 6 rows, as many as x, got 4"),
        (dict(batch_size=0), ValueError, "batch_size: expected an integer in 1..6, got 0"),
        (dict(order=np.array([0, 1, 2, 3, 4, 4])), ValueError, "order: expected a permutation of 0..5"),
        (dict(first_epoch=1.0), TypeError, "first_epoch: expected an integer, got 1.0"),
    ]
    for change, error, message in cases:
        order = np.arange(6)
        kwargs = {**dict(labels=labels, order=order, first_epoch=1, batch_size=2), **change}
        labels_given = kwargs.pop("labels")
        with pytest.raises(error, match=f"^{re.escape(message)}"):
            fnmlp.run_epochs(step, lambda carry: (0.0, 0.0), None, x, labels_given,
                             shuffle=np.random.default_rng(0).shuffle, last_epoch=2, **kwargs)
        np.testing.assert_array_equal(order, np.arange(6))
    assert steps == []


def test_a_schedule_steps_per_batch_and_each_epoch_reports_its_last_rate():
    x, labels = problem(n=100)
    spec = small_spec()
    params, state = fnmlp.init_params(spec, 0, weight_init="lecun")
    schedule = fnmlp.optimizers.piecewise_constant([7, 12], [0.1, 0.05, 0.01])
    result = fit(spec, params, state, fnmlp.adam(schedule), (x, labels), epochs=4, batch_size=30, rng=0)
    # 4 batches an epoch: the last steps of epochs 1..4 are steps 3, 7, 11, 15
    assert [s.lr for s in result.history] == [0.1, 0.05, 0.05, 0.01]
    assert result.final.opt_state[1] == fnmlp.optimizers.ScheduleState(16)
    assert result.final.opt_state[0].step == 16


def test_early_stopping_stops_after_patience_and_returns_the_best_epoch():
    x, labels = problem(n=300)
    spec = small_spec()
    params, state = fnmlp.init_params(spec, 0, weight_init="lecun")
    data = dict(train=(x[:60], labels[:60]), validation=(x[200:], labels[200:]), test=(x[200:], labels[200:]))
    opt = fnmlp.sgd(0.3, 0.9)  # overfits 60 rows quickly: validation loss turns up
    seen = []
    stopping = fnmlp.EarlyStopping(patience=3)
    result = fit(spec, params, state, opt, **data, epochs=60, batch_size=20, rng=1, early_stopping=stopping,
                 on_epoch=lambda stats, ts: seen.append(ts))
    losses = [s.val_loss for s in result.history]
    best = int(np.argmin(losses)) + 1
    assert result.stopped_early and result.best_epoch == best
    assert len(result.history) == best + 3 < 60, "three epochs without improvement, then stop"
    assert all(loss >= losses[best - 1] for loss in losses[best:])
    assert fnmlp.tree_allclose(result.params, seen[best - 1].params, rtol=0, atol=0)
    assert fnmlp.tree_allclose(result.bn_state, seen[best - 1].bn_state, rtol=0, atol=0)
    assert result.final.epoch == best + 3 and not fnmlp.tree_allclose(result.final.params, result.params)
    assert (result.test_loss, result.test_error) == evaluate(spec, seen[best - 1].params, seen[best - 1].bn_state,
                                                             x[200:], labels[200:])
    assert result.test_loss == pytest.approx(losses[best - 1], rel=1e-12)
    on_without = fit_from(spec, opt, result.final, **data, epochs=result.final.epoch + 1, batch_size=20)
    assert on_without.best_epoch is None and on_without.final.early_stopping is None, "resumed without it"
    assert on_without.params is on_without.final.params
    # min_delta: an improvement must be larger than it to count
    strict = fit(spec, params, state, opt, **data, epochs=60, batch_size=20, rng=1,
                 early_stopping=fnmlp.EarlyStopping(3, min_delta=10.0, monitor="val_error"))
    assert strict.best_epoch == 1 and len(strict.history) == 4
    with pytest.raises(ValueError, match="^validation: expected data for early stopping to monitor val_loss"):
        fit(spec, params, state, opt, (x, labels), epochs=1, batch_size=20, early_stopping=stopping)
    with pytest.raises(ValueError, match="^monitor: expected 'val_loss', 'val_metric' or 'val_error', got 'loss'"):
        fnmlp.EarlyStopping(3, monitor="loss")
    with pytest.raises(ValueError, match="^patience: expected an integer in 1..inf, got 0"):
        fnmlp.EarlyStopping(0)


@pytest.mark.parametrize("make", [lambda: fnmlp.adam(fnmlp.optimizers.warmup_cosine_decay(0.01, 5, 40)),
                                  lambda: fnmlp.sgd(fnmlp.optimizers.exponential_decay(0.1, 0.99), 0.9, True, 1e-3)])
def test_resuming_with_any_optimizer_and_early_stopping_is_bit_identical(make):
    x, labels = problem()
    x = x.astype(np.float32)
    spec = small_spec(num_bn=1)
    params, state = fnmlp.init_params(spec, 1, dtype=np.float32)
    opt, stopping = make(), fnmlp.EarlyStopping(2, min_delta=1e-3)
    data = dict(train=(x[:500], labels[:500]), validation=(x[500:], labels[500:]))
    whole = fit(spec, params, state, opt, **data, epochs=7, batch_size=50, rng=4, early_stopping=stopping)
    first = fit(spec, params, state, opt, **data, epochs=3, batch_size=50, rng=4, early_stopping=stopping)
    second = fit_from(spec, opt, first.final, **data, epochs=7, batch_size=50, early_stopping=stopping)
    assert [attrs.evolve(s, seconds=0) for s in whole.history] == [
        attrs.evolve(s, seconds=0) for s in first.history + second.history]
    assert (whole.best_epoch, whole.stopped_early) == (second.best_epoch, second.stopped_early)
    for a, b in zip(fnmlp.tree_leaves((whole.final, whole.params)), fnmlp.tree_leaves((second.final, second.params))):
        if isinstance(a, np.ndarray):
            assert a.dtype == b.dtype
            np.testing.assert_array_equal(a, b)
        else:
            assert type(a) is type(b)


def test_the_dropout_generator_is_derived_without_drawing_from_the_shuffling_one():
    params, state = fnmlp.init_params(small_spec(), 0)
    opt = fnmlp.sgd(0.1)
    rng = np.random.default_rng(5)
    start = fnmlp.initial_state(params, state, opt, 10, rng)
    again = fnmlp.initial_state(params, state, opt, 10, np.random.default_rng(5))
    assert isinstance(start.dropout_rng, np.random.Generator)
    assert start.dropout_rng.random() == again.dropout_rng.random()
    assert start.rng.random() == np.random.default_rng(5).random() == rng.random(), "no draw from rng"
    other = fnmlp.initial_state(params, state, opt, 10, 6).dropout_rng.random()
    assert fnmlp.initial_state(params, state, opt, 10, 6).dropout_rng.random() == other != again.dropout_rng.random()
    legacy = fnmlp.initial_state(params, state, opt, 10, np.random.RandomState(0))
    assert isinstance(legacy.dropout_rng, np.random.Generator)


def test_on_epoch_returning_true_stops_training_after_that_epoch():
    spec = fnmlp.MLPSpec((4, 5, 3), ("relu", "identity"))
    params, state = fnmlp.init_params(spec, rng=0)
    rng = np.random.default_rng(1)
    x, y = rng.standard_normal((30, 4)), rng.integers(0, 3, 30)
    seen = []

    def on_epoch(stats, train_state):
        seen.append(train_state.epoch)
        return stats.epoch == 2

    result = fnmlp.fit(spec, params, state, fnmlp.sgd(0.1), (x, y), epochs=5, batch_size=10, rng=0,
                       on_epoch=on_epoch)
    full = fnmlp.fit(spec, params, state, fnmlp.sgd(0.1), (x, y), epochs=2, batch_size=10, rng=0)
    assert seen == [1, 2] and len(result.history) == 2 and result.final.epoch == 2
    assert result.stop_requested and not result.stopped_early and not full.stop_requested
    assert fnmlp.tree_allclose(result.params, full.params, rtol=0, atol=0)


def test_the_metric_is_named_and_the_former_names_are_aliases(tmp_path):
    from fnmlp.runs.files import read_metrics, write_metrics

    spec = fnmlp.MLPSpec((3, 4, 2), ("tanh", "identity"), loss="mse")
    params, state = fnmlp.init_params(spec, rng=0)
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((40, 3)), rng.standard_normal((40, 2))
    result = fit(spec, params, state, fnmlp.sgd(0.05), (x, y), (x, y), (x, y), epochs=2, batch_size=10, rng=0)
    stats = result.history[-1]
    assert spec.loss.metric_name == "r2" and stats.val_metric == stats.val_error and stats.train_error == \
        stats.train_metric and result.test_error == result.test_metric
    _, r2 = evaluate(spec, result.params, result.bn_state, x, y)
    assert result.test_metric == r2 and -1 < r2 <= 1
    write_metrics(tmp_path / "metrics.csv", result.history, "r2")
    assert (tmp_path / "metrics.csv").read_text().splitlines()[0] == \
        "epoch,train_loss,train_r2,val_loss,val_r2,seconds,lr"
    assert read_metrics(tmp_path / "metrics.csv") == list(result.history)
    old = {"epoch": 1, "train_loss": 1.0, "train_error": 0.5, "val_loss": 2.0, "val_error": 0.25, "seconds": 1.0}
    assert EpochStats.from_dict(old).val_metric == 0.25


def test_a_regression_run_plots_r2_under_its_own_name(tmp_path):
    from fnmlp.plots.history import plot_history

    history = [EpochStats(e, 1.0 / e, 0.5 + 0.1 * e, 1.5 / e, 0.4 + 0.1 * e, 0.1, 0.01) for e in (1, 2, 3)]
    paths = plot_history(history, tmp_path, "r2")
    assert sorted(p.rsplit("/", 1)[1] for p in paths) == ["curves.png", "train_loss.png", "train_r2.png",
                                                          "val_loss.png", "val_r2.png"]
    assert not (tmp_path / "val_error.png").exists()
