"""Gradient checks against central finite differences in float64, ready for pytest.

Each derivative is compared with ``(4 D(h/2) - D(h)) / 3``, ``D(h) = (f(p + h) - f(p - h)) / 2h``, the
central difference with one Richardson step (it cancels the ``h**2`` truncation term), ``h = 1e-5``.
Small arrays are checked at every coordinate, large ones at ``max_coords`` random coordinates plus
once along a random direction through every parameter at once. Coordinates whose perturbation
moves a pre-activation across a declared kink of its activation (``Activation.kinks``, 0 for ReLU)
are skipped, as finite differences are meaningless there.

An array passes when ``|numerical - analytic| <= rtol * scale + atol`` at every checked coordinate,
``scale`` the array's largest gradient magnitude. The functions return a ``GradReport`` and raise
``AssertionError`` naming the array, the coordinate and both values on the first array that fails.
"""

from __future__ import annotations

import copy
from typing import Any, Callable

import attrs
import numpy as np

from ..utils import checks as _checks
from ..utils import namespace
from . import kernels
from .activations import get_activation
from .losses import get_loss
from .network import backward_with_input_grad, check_targets, forward, loss_and_grads
from .params import BatchNormState, Params, astype, check_params, check_state, named_arrays
from .spec import MLPSpec
from .tree import to_namespace, to_numpy, tree_leaves, tree_map

STEP = 1e-5


@attrs.frozen
class GradReport:
    """``errors[name]``: the largest ``|numerical - analytic| / scale`` over the checked coordinates of
    that array (``scale`` its largest gradient magnitude, at least ``atol / rtol``); ``checked[name]``:
    how many coordinates were compared; ``skipped[name]``: how many were skipped next to a kink."""

    errors: dict
    checked: dict
    skipped: dict

    @property
    def max_error(self) -> float:
        return max(self.errors.values(), default=0.0)

    def __str__(self) -> str:
        return "\n".join(f"{name}: max relative error {error:.2e} over {self.checked[name]} coordinates"
                         for name, error in self.errors.items())


def _compare(name: str, coords: list, numerical: np.ndarray, analytic: np.ndarray, rtol: float, atol: float,
             where: Callable[[Any], str]) -> float:
    """The array's error; raises ``AssertionError`` at its worst coordinate when it fails."""
    numerical, analytic = np.asarray(numerical, np.float64), np.asarray(analytic, np.float64)
    if numerical.size == 0:
        return 0.0
    if not np.isfinite(analytic).all():
        bad = int(np.flatnonzero(~np.isfinite(analytic))[0])
        raise AssertionError(f"{name}{where(coords[bad])}: the analytic gradient is {analytic[bad]}, "
                             f"numerical {numerical[bad]:.10g}")
    scale = max(float(np.abs(numerical).max()), float(np.abs(analytic).max()))
    diff = np.abs(numerical - analytic)
    worst = int(diff.argmax())
    if not diff[worst] <= rtol * scale + atol:
        raise AssertionError(
            f"{name}{where(coords[worst])}: analytic gradient {analytic[worst]:.10g}, numerical {numerical[worst]:.10g} "
            f"(error {diff[worst]:.3g} > rtol {rtol:g} * largest gradient {scale:.3g} + atol {atol:g})")
    return float(diff[worst] / max(scale, atol / rtol))


def _richardson(f: Callable[[float], Any], step: float) -> Any:
    def central(h):
        return (f(h) - f(-h)) / (2 * h)
    return (4 * central(step / 2) - central(step)) / 3


# --- A whole network ------------------------------------------------------------------------------

def check_grads(spec: MLPSpec, params: Params, bn_state: BatchNormState, x: Any, targets: Any, *,
                train: bool = True, rtol: float = 1e-6, atol: float = 1e-9, rng: Any = 0,
                max_coords: int = 100, seed: int = 0) -> GradReport:
    """Check the gradients of ``spec``'s penalised mean loss (``spec.loss`` plus the L2 term) for every
    parameter array and for ``x``, in float64, in training mode (batch statistics, dropout) or eval mode.

    Dropout masks are held fixed: every evaluation draws them from a fresh copy of ``rng`` (a seed or
    a ``Generator``, copied, never advanced). ``seed`` picks the random coordinates and direction of
    arrays larger than ``max_coords``. In training mode the gradients are also compared with what
    ``loss_and_grads`` returns, so the training step's own path is checked.

    Records and data of another array-API library (one with float64) are checked in it: the losses
    and gradients are computed there, the perturbations and comparisons on the host.
    """
    _checks.instance("spec", spec, MLPSpec)
    check_params(spec, params, finite=True)
    check_state(spec, bn_state, "bn_state", finite=True)
    train = _checks.boolean("train", train)
    rtol = _checks.real("rtol", rtol, above=0.0)
    atol = _checks.real("atol", atol, minimum=0.0)
    max_coords = _checks.integer("max_coords", max_coords, minimum=1)
    xp, where = namespace.common_namespace([*named_arrays("params", params), *named_arrays("bn_state", bn_state),
                                            ("x", x)])
    namespace.require_dtype("x", xp, where, "float64")
    x = _checks.float_array("x", x, ndim=2, width=spec.layer_sizes[0])
    x = x.astype(np.float64) if xp is np else namespace.to_namespace(x, xp, where, "x")
    targets = check_targets(spec, targets, x.shape[0], like=x)
    on_device = (lambda a: a) if xp is np else (lambda a: namespace.to_namespace(a, xp, where))
    if isinstance(rng, np.random.RandomState) or rng is None:
        _checks.fail(TypeError, "rng", "a seed or a NumPy Generator (copied for every evaluation)", _checks.describe(rng))
    params, bn_state = astype(params, np.float64), astype(bn_state, np.float64)
    fresh = (lambda: copy.deepcopy(rng)) if isinstance(rng, np.random.Generator) else (lambda: rng)
    batch = x.shape[0]
    kinked = [i for i, act in enumerate(spec.activations) if act.kinks]
    # forward only: the kinked activations marked as using z, so that the cache keeps it
    keeps_z = attrs.evolve(spec, activations=[attrs.evolve(act, uses="both") if act.kinks else act
                                              for act in spec.activations])

    def evaluate(p: Params, xs: np.ndarray) -> tuple:
        out, cache, _ = kernels.forward(keeps_z, p, bn_state, xs, train, rng=kernels.dropout_rng(fresh()))
        losses, _ = spec.loss.value(out, targets)
        sides = tuple(to_numpy(cache.pre[i] > k) for i in kinked for k in spec.activations[i].kinks)
        return float(xp.mean(losses)) + kernels.l2_penalty(spec, p, batch), sides

    outputs, cache, _ = forward(spec, params, bn_state, x, train=train, rng=fresh())
    losses, loss_cache = spec.loss.value(outputs, targets)
    dout = (np.asarray(spec.loss.grad(loss_cache), np.float64) if xp is np
            else namespace.astype(xp, xp.asarray(spec.loss.grad(loss_cache)), xp.float64)) / batch
    grads, dx = backward_with_input_grad(spec, params, cache, dout)
    if spec.l2:
        grads = attrs.evolve(grads, W=[g + spec.l2 / batch * w for g, w in zip(grads.W, params.W)])
    grads, dx = to_numpy(grads), to_numpy(dx)
    if train:
        _, step_grads, _ = loss_and_grads(spec, params, bn_state, x, targets, rng=fresh())
        for name, ours, theirs in _named_pairs(grads, to_numpy(step_grads)):
            _compare(f"{name} (loss_and_grads against forward and backward)", list(range(ours.size)),
                     theirs.ravel(), ours.ravel(), 1e-9, 1e-12, lambda c: "")
    base_sides = evaluate(params, x)[1]
    coord_rng = np.random.default_rng(seed)
    errors, checked, skipped = {}, {}, {}

    def check_array(name: str, array: np.ndarray, analytic: np.ndarray, loss_of: Callable) -> None:
        coords = (range(array.size) if array.size <= max_coords
                  else coord_rng.choice(array.size, max_coords, replace=False))
        kept, numerical, skip = [], [], 0
        for flat in coords:
            def f(h, flat=flat):
                moved = array.copy()
                moved.flat[flat] += h
                loss, sides = loss_of(moved)
                if not all(np.array_equal(a, b) for a, b in zip(sides, base_sides)):
                    raise _Kink
                return loss
            try:
                numerical.append(_richardson(f, STEP))
                kept.append(int(flat))
            except _Kink:
                skip += 1
        errors[name] = _compare(name, kept, numerical, analytic.ravel()[kept], rtol, atol,
                                lambda c: f" at {tuple(int(i) for i in np.unravel_index(c, array.shape))}")
        checked[name], skipped[name] = len(kept), skip

    large = False
    for name, field, layer, array, analytic in _named_arrays(to_numpy(params), grads):
        large |= array.size > max_coords
        check_array(name, array, analytic, lambda moved, field=field, layer=layer: evaluate(
            _replace(params, field, layer, on_device(moved)), x))
    check_array("x", np.array(to_numpy(x)), dx, lambda moved: evaluate(params, on_device(moved)))

    if large:
        direction = tree_map(lambda a: coord_rng.standard_normal(tuple(a.shape)), params)
        moving = direction if xp is np else to_namespace(direction, xp, where)

        def along(h):
            loss, sides = evaluate(tree_map(lambda p, d: p + h * d, params, moving), x)
            if not all(np.array_equal(a, b) for a, b in zip(sides, base_sides)):
                raise _Kink
            return loss
        try:
            numerical = _richardson(along, STEP)
            analytic = sum(float(np.vdot(g, d)) for g, d in zip(tree_leaves(grads), tree_leaves(direction)))
            errors["direction"] = _compare("params along a random direction", [0], [numerical], [analytic], rtol,
                                           atol, lambda c: "")
            checked["direction"], skipped["direction"] = 1, 0
        except _Kink:
            checked["direction"], skipped["direction"] = 0, 1
    return GradReport(errors, checked, skipped)


class _Kink(Exception):
    """A perturbation crossed a kink: the coordinate is skipped."""


def _named_arrays(params: Params, grads: Params):
    for field in ("W", "b", "gamma", "beta"):
        for layer, (array, grad) in enumerate(zip(getattr(params, field), getattr(grads, field))):
            yield f"params.{field}[{layer}]", field, layer, np.array(array), grad


def _named_pairs(a: Params, b: Params):
    for field in ("W", "b", "gamma", "beta"):
        for layer, (x, y) in enumerate(zip(getattr(a, field), getattr(b, field))):
            yield f"params.{field}[{layer}]", x, y


def _replace(record: Any, field: str, layer: int, array: np.ndarray) -> Any:
    arrays = list(getattr(record, field))
    arrays[layer] = array
    return attrs.evolve(record, **{field: arrays})


# --- One activation -------------------------------------------------------------------------------

def default_points(kinks: tuple = (), margin: float = 1e-3) -> np.ndarray:
    """Points from -50 to 50, dense near 0, at least ``margin`` from every kink."""
    z = np.unique(np.concatenate([np.linspace(-50.0, 50.0, 101), np.linspace(-6.0, 6.0, 241),
                                  [-1e-2, -2e-3, 2e-3, 1e-2, 0.0]]))
    for k in kinks:
        z = z[np.abs(z - k) >= margin]
    return z


def check_activation(activation: Any, z: Any = None, *, rtol: float = 1e-6, atol: float = 1e-7,
                     float32_tol: float = 1e-5) -> GradReport:
    """Check an activation's derivative (and its ``backprop``/``apply`` fast paths) against finite
    differences of its ``fn`` in float64, at ``z`` (default ``default_points``: -50..50, off its kinks).

    Then in float32: ``fn``, the derivative and ``backprop`` stay finite (in float32) without
    overflow, invalid or divide warnings, and follow the float64 values within ``float32_tol`` times
    ``max(1, |value|)``. ``activation`` is an ``Activation`` or a registered name."""
    act = get_activation(activation, "activation")
    rtol = _checks.real("rtol", rtol, above=0.0)
    atol = _checks.real("atol", atol, minimum=0.0)
    z = default_points(act.kinks) if z is None else _checks.float_array("z", z, ndim=None).astype(np.float64).ravel()
    errors = {}
    label = f"activation {act.name!r} derivative"

    def at(c):
        return f" at z={z[c]:.6g}"

    with _strict(act.name, "float64"):
        a = np.asarray(act.fn(z.copy()))
        numerical = _richardson(lambda h: np.asarray(act.fn(z + h), np.float64), STEP)
        analytic = _as_grad(act.grad(z if act.needs_z else None, a if act.needs_a else None), z)
        coords = list(range(z.size))
        errors["derivative"] = _elementwise(label, coords, numerical, analytic, rtol, atol, at)
        via_backward = act.backward(np.ones_like(z), z if act.needs_z else None, a if act.needs_a else None)
        errors["backward"] = _elementwise(f"activation {act.name!r} backward (delta * derivative)", coords,
                                          analytic, _as_grad(via_backward, z), 1e-12, 1e-15, at)
        if act.apply is not None:
            out = np.full_like(z, np.nan)
            errors["apply"] = _elementwise(f"activation {act.name!r} apply(z, out)", coords, a,
                                           act.apply(z.copy(), out=out), 1e-12, 1e-15, at)
    z32 = z.astype(np.float32)
    with _strict(act.name, "float32"):
        a32 = act.fn(z32.copy())
        grad32 = _as_grad(act.grad(z32 if act.needs_z else None, a32 if act.needs_a else None), z32)
        back32 = act.backward(np.ones_like(z32), z32 if act.needs_z else None, a32 if act.needs_a else None)
        if act.apply is not None:
            in_place = z32.copy()
            apply32 = act.apply(in_place, out=None if act.needs_z else in_place)
        else:
            apply32 = a32
    z64 = z32.astype(np.float64)  # the float32 points, exactly
    a64 = np.asarray(act.fn(z64.copy()), np.float64)
    grad64 = _as_grad(act.grad(z64 if act.needs_z else None, a64 if act.needs_a else None), z64)
    for name, got, want in (("float32 value", a32, a64), ("float32 apply", apply32, a64),
                            ("float32 derivative", grad32, grad64), ("float32 backward", back32, grad64)):
        with np.errstate(over="ignore"):  # a float64 result past float32's range is refused below, as inf
            got = np.broadcast_to(np.asarray(got), z32.shape).astype(np.float32)
        bad = ~np.isfinite(got)
        if bad.any():
            c = int(np.flatnonzero(bad)[0])
            raise AssertionError(f"activation {act.name!r} {name} at z={z32[c]:.6g}: {got[c]}")
        err = np.abs(got.astype(np.float64) - want) / np.maximum(1.0, np.abs(want))
        c = int(err.argmax())
        if err[c] > float32_tol:
            raise AssertionError(f"activation {act.name!r} {name} at z={z32[c]:.6g}: {got[c]:.8g}, float64 "
                                 f"gives {want[c]:.8g} (error {err[c]:.2e} > {float32_tol:g})")
        errors[name] = float(err[c])
    return GradReport(errors, {name: z.size for name in errors}, {name: 0 for name in errors})


def _as_grad(value: Any, z: np.ndarray) -> np.ndarray:
    return np.broadcast_to(np.asarray(value), z.shape)


def _elementwise(name, coords, numerical, analytic, rtol, atol, where) -> float:
    """Per point: ``|numerical - analytic| <= rtol * max(1, |analytic|) + atol``."""
    numerical, analytic = np.asarray(numerical, np.float64), np.asarray(analytic, np.float64)
    bad_values = ~(np.isfinite(numerical) & np.isfinite(analytic))
    err = np.abs(numerical - analytic) / np.maximum(1.0, np.abs(analytic))
    err[bad_values] = np.inf
    c = int(err.argmax())
    if not err[c] <= rtol + atol:
        raise AssertionError(f"{name}{where(coords[c])}: analytic {analytic[c]:.10g}, numerical {numerical[c]:.10g} "
                             f"(error {err[c]:.3g} relative to max(1, |analytic|))")
    return float(err[c])


class _strict:
    """Overflow, invalid and divide-by-zero raise inside; they become an ``AssertionError`` naming the
    activation and the dtype. An activation may still silence its own with ``np.errstate``."""

    def __init__(self, name: str, dtype: str) -> None:
        self.name, self.dtype = name, dtype
        self.state = np.errstate(over="raise", invalid="raise", divide="raise")

    def __enter__(self):
        self.state.__enter__()

    def __exit__(self, kind, error, traceback):
        self.state.__exit__(kind, error, traceback)
        if kind is not None and issubclass(kind, FloatingPointError):
            raise AssertionError(f"activation {self.name!r} in {self.dtype}: {error}") from error
        return False


# --- One loss -------------------------------------------------------------------------------------

def check_loss(loss: Any, outputs: Any = None, targets: Any = None, *, rtol: float = 1e-6, atol: float = 1e-9,
               seed: int = 0) -> GradReport:
    """Check a loss's per-example gradient ``grad(value(outputs, targets)[1])`` against finite
    differences of its summed per-example losses in float64, its ``fused`` form against the pair
    (sum, and the mean's gradient scaled), and that its metric totals add up over two halves of the
    batch. Without ``outputs``/``targets``, 6 rows of 3 random outputs and random targets (class
    indices if ``loss.targets`` takes them, else floats)."""
    loss = get_loss(loss, "loss")
    rng = np.random.default_rng(seed)
    if outputs is None:
        outputs = rng.normal(0.0, 2.0, (6, 3))
    outputs = _checks.float_array("outputs", outputs, ndim=2).astype(np.float64)
    batch, k = outputs.shape
    if targets is None:
        try:
            targets = loss.targets(rng.integers(0, k, batch), k, "targets")
        except (TypeError, ValueError):
            targets = loss.targets(rng.normal(size=(batch, k)), k, "targets")
    else:
        targets = loss.targets(targets, k, "targets")
    losses, cache = loss.value(outputs, targets)
    analytic = np.broadcast_to(np.asarray(loss.grad(cache), np.float64), outputs.shape)
    coords = list(range(outputs.size))

    def f(h, flat):
        moved = outputs.copy()
        moved.flat[flat] += h
        return float(np.sum(loss.value(moved, targets)[0]))

    numerical = np.array([_richardson(lambda h, flat=flat: f(h, flat), STEP) for flat in coords])
    where = lambda c: f" at {tuple(int(i) for i in np.unravel_index(c, outputs.shape))}"  # noqa: E731
    errors = {"grad": _compare(f"loss {loss.name!r} grad", coords, numerical, analytic.ravel(), rtol, atol, where)}
    loss_sum, dout = loss.sum_and_grad(outputs, targets, 0.5)
    if not np.isclose(loss_sum, float(np.sum(losses)), rtol=1e-10, atol=1e-12):
        raise AssertionError(f"loss {loss.name!r} fused: sum {loss_sum}, the per-example losses sum to {np.sum(losses)}")
    errors["fused"] = _compare(f"loss {loss.name!r} fused gradient", coords, (0.5 / batch * analytic).ravel(),
                               np.asarray(dout).ravel(), 1e-10, 1e-15, where)
    half = batch // 2
    if half:
        whole = loss.metric(loss.metric_totals(outputs, targets))
        split = loss.metric(loss.metric_totals(outputs[:half], targets[:half])
                            + loss.metric_totals(outputs[half:], targets[half:]))
        if not np.isclose(whole, split, rtol=1e-10, atol=1e-12):
            raise AssertionError(f"loss {loss.name!r} metric totals: the whole batch gives {whole}, two halves "
                                 f"added give {split}")
        errors["metric"] = 0.0
    return GradReport(errors, {name: outputs.size for name in errors}, {name: 0 for name in errors})
