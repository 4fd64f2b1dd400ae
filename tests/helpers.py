"""Test helpers: an independent loop-by-loop reference MLP and finite-difference gradients.

The reference follows the handout's formulas literally (no caches, no in-place tricks, divides by
sqrt(var + eps) rather than multiplying by its reciprocal), so agreement with fnmlp checks the
library against a second derivation rather than against itself.
"""

import attrs
import numpy as np

import fnmlp


def reference_activation(name, z):
    """The activation ``name`` (or an ``Activation`` record's name) written out directly."""
    name = getattr(name, "name", name)
    if name in ("identity", "linear"):
        return z
    if name == "sigmoid":
        return 1.0 / (1.0 + np.exp(-z))
    if name == "tanh":
        return np.tanh(z)
    if name == "relu":
        return np.where(z > 0, z, 0.0)
    if name == "leaky_relu":
        return np.where(z > 0, z, 0.01 * z)
    if name == "elu":
        return np.where(z > 0, z, np.exp(np.minimum(z, 0)) - 1)
    if name == "gelu":
        return 0.5 * z * (1 + np.tanh(np.sqrt(2 / np.pi) * (z + 0.044715 * z ** 3)))
    if name == "softplus":
        return np.logaddexp(0.0, z)
    if name == "silu":
        return z / (1 + np.exp(-z))
    raise ValueError(name)


KINKED = ("relu", "leaky_relu", "elu")


def reference_forward(spec, params, state, x, train, masks=None):
    """Returns (logits, pre_activations, new_running_mean, new_running_var). ``masks[i]`` (or ``None``)
    multiplies layer ``i``'s input: dropout with its mask held fixed."""
    a = x
    pre, means, variances = [], [], []
    for i in range(spec.num_layers):
        if masks is not None and masks[i] is not None:
            a = a * masks[i]
        z = a @ params.W[i] + params.b[i]
        if i < spec.num_bn_layers:
            if train:
                mean = z.mean(axis=0)
                var = ((z - mean) ** 2).mean(axis=0)
                means.append(spec.bn_alpha * state.running_mean[i] + (1 - spec.bn_alpha) * mean)
                variances.append(spec.bn_alpha * state.running_var[i] + (1 - spec.bn_alpha) * var)
            else:
                mean, var = state.running_mean[i], state.running_var[i]
                means.append(mean)
                variances.append(var)
            z = params.gamma[i] * (z - mean) / np.sqrt(var + spec.bn_eps) + params.beta[i]
        pre.append(z)
        a = reference_activation(spec.activations[i], z)
    return a, pre, means, variances


def reference_mean_loss(spec, params, state, x, labels, train=True, masks=None):
    """The mean of ``spec.loss`` (cross-entropy or MSE) over the batch plus the L2 term
    ``0.5 * l2 / batch * sum ||W||^2``, written out directly."""
    logits = reference_forward(spec, params, state, x, train, masks)[0]
    penalty = 0.5 * spec.l2 / x.shape[0] * sum((W ** 2).sum() for W in params.W)
    if spec.loss.name == "mse":
        targets = np.asarray(labels, dtype=np.float64).reshape(logits.shape)
        return ((logits - targets) ** 2).mean() + penalty
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return -log_probs[np.arange(len(labels)), labels].mean() + penalty


def replace_leaf(record, field, layer, array):
    """``record`` with ``getattr(record, field)[layer]`` replaced by ``array``."""
    arrays = list(getattr(record, field))
    arrays[layer] = array
    return attrs.evolve(record, **{field: arrays})


def numerical_grad(loss_fn, array, coords, step=1e-5):
    """Central differences of ``loss_fn(perturbed_array)`` at the flat indices ``coords``, with one
    Richardson step: ``(4 D(step / 2) - D(step)) / 3`` cancels the ``step**2`` truncation term, which
    matters where the loss curves sharply (BatchNorm over two rows whose values nearly coincide)."""

    def central(flat, h):
        plus, minus = array.copy(), array.copy()
        plus.flat[flat] += h
        minus.flat[flat] -= h
        return (loss_fn(plus) - loss_fn(minus)) / (2 * h)

    return np.array([(4 * central(flat, step / 2) - central(flat, step)) / 3 for flat in coords])


def sample_coords(size, rng, at_most=300):
    """Every flat index of an array of ``size`` elements, or ``at_most`` random ones."""
    if size <= at_most:
        return np.arange(size)
    return rng.choice(size, at_most, replace=False)


def relative_error(numerical, analytical):
    """Largest coordinate error relative to the largest gradient magnitude of the array."""
    scale = max(np.abs(numerical).max(), np.abs(analytical).max())
    return np.abs(numerical - analytical).max() / scale


def random_problem(spec, batch, seed, kink_margin=1e-3):
    """Params with non-trivial BatchNorm values, running statistics, inputs and labels.

    For ReLU networks, redraws until every pre-activation is at least ``kink_margin`` from 0, so
    that finite differences never straddle the kink.
    """
    for attempt in range(50):
        rng = np.random.default_rng([seed, attempt])
        params, _ = fnmlp.init_params(spec, weight_init=lambda m, n: rng.standard_normal((m, n)) / np.sqrt(m),
                                      bias_init=lambda n: rng.uniform(-0.5, 0.5, n))
        widths = spec.bn_widths
        params = attrs.evolve(params, gamma=[rng.uniform(0.5, 1.5, n) for n in widths],
                              beta=[rng.uniform(-0.5, 0.5, n) for n in widths])
        state = fnmlp.BatchNormState(running_mean=[rng.uniform(-0.5, 0.5, n) for n in widths],
                                     running_var=[rng.uniform(0.5, 2.0, n) for n in widths])
        x = rng.standard_normal((batch, spec.layer_sizes[0]))
        labels = rng.integers(0, spec.layer_sizes[-1], batch)
        names = [getattr(a, "name", a) for a in spec.activations]
        if not set(names) & set(KINKED):
            return params, state, x, labels
        margins = [np.abs(z).min() for train in (True, False)
                   for z, name in zip(reference_forward(spec, params, state, x, train)[1], names)
                   if name in KINKED]
        if min(margins) > kink_margin:
            return params, state, x, labels
    raise RuntimeError("could not draw a problem away from the ReLU kink")


def sgd_state(velocity):
    """The state of ``fnmlp.sgd(lr, momentum)`` with a constant ``lr``, holding ``velocity``."""
    return (fnmlp.optimizers.EmptyState(), fnmlp.optimizers.TraceState(velocity))
