"""FlatLayout, and the in-place fast paths built on it agreeing bit for bit with the pure functions."""

import attrs
import numpy as np
import pytest

import fnmlp
from fnmlp import optimizers as optim
from fnmlp.model.flat import FlatLayout
from fnmlp.model.kernels import backward as _backward, forward as _forward
from helpers import random_problem


def spec_with_bn():
    return fnmlp.MLPSpec.from_hidden_sizes(6, [5, 4], 3, activation="tanh", num_bn_layers=2)


def test_flatten_unflatten_and_split_place_every_array_in_one_buffer():
    spec = spec_with_bn()
    params = fnmlp.init_params(spec, 0)[0]
    leaves = fnmlp.tree_leaves(params)
    layout = FlatLayout.of(params)
    assert layout.size == sum(a.size for a in leaves) == 6 * 5 + 5 * 4 + 4 * 3 + 5 + 4 + 3 + 2 * (5 + 4)
    assert layout.dtype == np.float64 and FlatLayout.of(params, np.float32).dtype == np.float32

    buffer = layout.flatten(params)
    assert buffer.shape == (layout.size,)
    np.testing.assert_array_equal(buffer, np.concatenate([a.ravel() for a in leaves]))
    record = layout.unflatten(buffer)
    assert type(record) is fnmlp.Params and fnmlp.tree_allclose(record, params, rtol=0, atol=0)
    assert all(np.shares_memory(a, buffer) and not a.flags.writeable for a in fnmlp.tree_leaves(record))

    views = layout.split(buffer)
    assert list(views) == ["W", "b", "gamma", "beta"]
    views["gamma"][1][...] = 7.0
    assert (record.gamma[1] == 7.0).all() and (params.gamma[1] == 1.0).all()
    assert (buffer == 7.0).sum() == 4

    state = fnmlp.init_params(spec, 0)[1]
    state_layout = FlatLayout.of(state, np.float32)
    assert fnmlp.tree_allclose(state_layout.unflatten(state_layout.flatten(state)), state, rtol=0, atol=0)
    with pytest.raises(ValueError, match=r"^buffer: expected shape \(18,\), got shape \(17,\)"):
        state_layout.unflatten(np.zeros(17))


@pytest.mark.parametrize("num_bn", [0, 2])
def test_backward_into_a_buffer_equals_backward(num_bn):
    spec = fnmlp.MLPSpec.from_hidden_sizes(6, [5, 4], 3, activation="relu", num_bn_layers=num_bn)
    params, state, x, labels = random_problem(spec, 9, seed=2)
    _, cache, _ = _forward(spec, params, state, x, True)
    dlogits = np.random.default_rng(0).standard_normal((9, 3))
    expected = _backward(spec, params, cache, dlogits, input_grad=False)
    layout = FlatLayout.of(params)
    buffer = np.full(layout.size, np.nan)
    assert _backward(spec, params, cache, dlogits, input_grad=False, out=layout.split(buffer)) is None
    assert fnmlp.tree_allclose(layout.unflatten(buffer), expected, rtol=0, atol=0)


@attrs.frozen
class HalfStep:
    """A user's transform with no ``update_flat``: ``u = u / 2``, counting its steps."""

    def init(self, params):
        return fnmlp.optimizers.ScheduleState(0)

    def update(self, updates, state, params):
        return fnmlp.tree_map(lambda u: u / 2, updates), fnmlp.optimizers.ScheduleState(state.step + 1)


SCHEDULE = optim.warmup_cosine_decay(0.05, 2, 6)
OPTIMIZERS = {
    "sgd": lambda lr: fnmlp.sgd(lr),
    "sgd momentum": lambda lr: fnmlp.sgd(lr, 0.85),
    "sgd nesterov": lambda lr: fnmlp.sgd(lr, 0.85, nesterov=True),
    "sgd weight decay": lambda lr: fnmlp.sgd(lr, 0.9, weight_decay=0.1),
    "sgd weight decay on gamma": lambda lr: fnmlp.sgd(lr, 0.9, weight_decay=0.1, mask=lambda p: fnmlp.Params(
        W=[False] * len(p.W), b=[False] * len(p.b), gamma=[True] * len(p.gamma), beta=[False] * len(p.beta))),
    "adam": lambda lr: fnmlp.adam(lr),
    "adamw": lambda lr: fnmlp.adamw(lr, weight_decay=0.2),
    "clipped chain": lambda lr: optim.Optimizer(optim.chain(optim.clip_by_global_norm(0.5), optim.trace(0.5),
                                                            optim.scale_by_learning_rate(lr))),
    "a transform without a flat step": lambda lr: optim.Optimizer(optim.chain(HalfStep(), optim.scale_by_adam(),
                                                                              optim.scale_by_learning_rate(lr))),
}


@pytest.mark.parametrize("lr", [0.03, SCHEDULE], ids=["constant", "schedule"])
@pytest.mark.parametrize("name", list(OPTIMIZERS))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_flat_step_is_the_pure_update(name, lr, dtype):
    """What ``fit`` runs (``update_flat`` on buffers it owns) against ``update``, over several steps."""
    params = fnmlp.astype(fnmlp.init_params(spec_with_bn(), 1)[0], dtype)
    opt = OPTIMIZERS[name](lr)
    opt_state = opt.init(params)
    layout = FlatLayout.of(params, dtype)
    weights, flat_state = layout.flatten(params), layout.flatten_tree(opt_state)
    rng = np.random.default_rng(3)
    exact = "clip" not in name  # the global norm is a BLAS dot product, whose rounding may follow alignment
    for _ in range(5):
        grads = fnmlp.tree_map(lambda a: rng.standard_normal(a.shape).astype(dtype), params)
        params, opt_state = opt.update(grads, opt_state, params)
        flat_state = opt.update_flat(layout.flatten(grads), flat_state, weights, layout)
        got = (layout.unflatten(weights), layout.unflatten_tree(flat_state, copy=True))
        if exact:
            assert fnmlp.tree_allclose(got, (params, opt_state), rtol=0, atol=0)
        else:
            assert fnmlp.tree_allclose(got, (params, opt_state), rtol=1e-5 if dtype == np.float32 else 1e-12)
    assert opt.learning_rate(flat_state) == opt.learning_rate(opt_state) == (0.03 if lr == 0.03 else SCHEDULE(4))


def test_a_layout_flattens_every_record_of_its_type_in_a_state_tree():
    params = fnmlp.init_params(spec_with_bn(), 0)[0]
    state = fnmlp.adam(0.1).init(fnmlp.tree_map(lambda a: a + 1, params))
    layout = FlatLayout.of(params, np.float32)
    flat = layout.flatten_tree(state)
    adam_state = flat[0]
    assert adam_state.step == 0 and adam_state.mu.shape == (layout.size,) and adam_state.mu.dtype == np.float32
    assert flat[1] == optim.EmptyState()
    back = layout.unflatten_tree(flat, copy=True)
    assert fnmlp.tree_allclose(back, state, rtol=0, atol=0)
    assert not np.shares_memory(back[0].mu.W[0], adam_state.mu)
    assert np.shares_memory(layout.unflatten_tree(flat)[0].nu.b[1], adam_state.nu)
