#!/usr/bin/env python3
"""fnmlp's pure core on other array libraries, against NumPy: the same computations on PyTorch, CuPy
and JAX arrays (whichever are installed, on each device they offer) and on NumPy's, with the
largest difference.

Each check builds the same records and data in NumPy, moves them with ``fnmlp.to_namespace``, runs
the computation in both, and compares the results (moved back with ``fnmlp.to_numpy``): the largest
difference over the largest magnitude of NumPy's result. Checks: forward in training (BatchNorm,
dropout with masks from one seed) and eval mode, loss and gradients for softmax cross-entropy and
MSE (with L2), backward with the input gradient, every built-in activation and its backward,
BatchNorm's forward and backward, three steps of SGD (Nesterov, weight decay, a schedule), Adam and
AdamW (warm-up and cosine), ``predict`` and eval-mode loss and metric; in float64 also
``check_grads`` (finite differences in the other library; its column is its own largest error) and
``fit`` (3 epochs of a BatchNorm network without dropout, SGD with Nesterov momentum, weight decay
and a schedule: parameters, states and per-epoch losses; Adam would turn rounding differences in
near-zero gradients into steps of the learning rate's size, about 1e-9 here). For JAX, ``jit`` rows
compile a step of the unchecked kernels and an optimizer's ``update`` with ``jax.jit`` and compare
three steps with the same steps run eagerly in JAX (SGD; Adam, whose step count is traced, in
float64 only, for the reason above). A row passes within ``--tol`` (default 1e-10 in float64, 1e-4 in float32). The exit status is 1 when
any row fails, 2 when no library could be checked.

Needs array-api-compat (``pip install 'fnmlp[array-api]'``) and at least one of torch, cupy, jax;
``--backends array_api_strict`` checks the standard's strict reference namespace instead. JAX
computes float64 only with ``jax_enable_x64``, which this script turns on for float64 runs. Run
from the repository root::

    python3 scripts/check_backends.py                      # float64 and float32, every library found
    python3 scripts/check_backends.py --backends torch --dtypes float32
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import fnmlp  # noqa: E402
from fnmlp import inference, optimizers as optim  # noqa: E402
from fnmlp.model import kernels  # noqa: E402

LIBRARIES = ("torch", "cupy", "jax")
TOLERANCES = {"float64": 1e-10, "float32": 1e-4}
SCHEDULE = optim.warmup_cosine_decay(0.05, 2, 10)


def targets(library: str, dtype: str) -> list:
    """``[(namespace name, xp, device), ...]`` for ``library`` on each device it offers."""
    import array_api_compat

    if library == "torch":
        import torch

        devices = [torch.device("cpu")] + [torch.device("cuda", i) for i in range(torch.cuda.device_count())]
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            devices.append(torch.device("mps"))
        return [("torch", array_api_compat.array_namespace(torch.empty(0)), d) for d in devices]
    if library == "cupy":
        import cupy

        return [("cupy", array_api_compat.array_namespace(cupy.empty(0)), cupy.cuda.Device(i))
                for i in range(cupy.cuda.runtime.getDeviceCount())]
    if library == "jax":
        import jax

        jax.config.update("jax_enable_x64", dtype == "float64")
        return [("jax.numpy", jax.numpy, d) for d in jax.devices()]
    import array_api_strict

    return [("array_api_strict", array_api_strict, array_api_strict.Device("CPU_DEVICE"))]


def difference(theirs, ours) -> float:
    """The largest difference between corresponding leaves over the largest magnitude of ``ours``."""
    pairs = list(zip(fnmlp.tree_leaves(fnmlp.to_numpy(theirs)), fnmlp.tree_leaves(ours)))
    diff = max(float(np.abs(np.asarray(a, np.float64) - np.asarray(b, np.float64)).max(initial=0.0)) for a, b in pairs)
    scale = max(float(np.abs(np.asarray(b, np.float64)).max(initial=0.0)) for _, b in pairs)
    return diff / scale if scale else diff


def problem(dtype: str, loss: str = "softmax_cross_entropy"):
    """A BatchNorm network with dropout and L2, its records and a batch, in NumPy and ``dtype``."""
    spec = fnmlp.MLPSpec((20, 32, 16, 4), ("gelu", "relu", "identity"), num_bn_layers=2, dropout=(0.1, 0.3, 0.0),
                         l2=1e-2, loss=loss)
    rng = np.random.default_rng(0)
    params, state = fnmlp.init_params(spec, 1, weight_init="he", dtype=dtype)
    state = fnmlp.BatchNormState([rng.normal(size=n).astype(dtype) for n in spec.bn_widths],
                                 [rng.uniform(0.5, 2, n).astype(dtype) for n in spec.bn_widths])
    x = rng.normal(size=(64, 20)).astype(dtype)
    y = rng.integers(0, 4, 64) if loss != "mse" else rng.normal(size=(64, 4)).astype(dtype)
    return spec, params, state, x, y


def checks(xp, device, dtype: str) -> list:
    """``[(check, largest difference), ...]`` of ``xp`` on ``device`` against NumPy."""
    def there(tree):
        return fnmlp.to_namespace(tree, xp, device)

    spec, params, state, x, y = problem(dtype)
    args, moved = (params, state, x), there((params, state, x))
    rows = []
    for train in (True, False):
        ours = fnmlp.forward(spec, *args, train=train, rng=3)
        theirs = fnmlp.forward(spec, *moved, train=train, rng=3)
        rows.append((f"forward ({'train' if train else 'eval'})", difference((theirs[0], theirs[2]), (ours[0], ours[2]))))
    for loss in ("softmax_cross_entropy", "mse"):
        spec_l, p, s, xl, yl = problem(dtype, loss)
        ours = fnmlp.loss_and_grads(spec_l, p, s, xl, yl, rng=4)
        theirs = fnmlp.loss_and_grads(spec_l, *there((p, s, xl, yl)), rng=4)
        rows.append((f"loss_and_grads ({loss})", max(difference(theirs[1:], ours[1:]),
                                                       abs(theirs[0] - ours[0]) / abs(ours[0]))))
    _, cache, _ = fnmlp.forward(spec, *args, train=True, rng=5)
    _, their_cache, _ = fnmlp.forward(spec, *moved, train=True, rng=5)
    dlogits = np.random.default_rng(6).normal(size=(64, 4)).astype(dtype)
    rows.append(("backward_with_input_grad", difference(
        fnmlp.backward_with_input_grad(spec, moved[0], their_cache, there(dlogits)),
        fnmlp.backward_with_input_grad(spec, params, cache, dlogits))))
    z = np.linspace(-6, 6, 97, dtype=dtype).reshape(1, -1) + np.asarray(0.01, dtype)
    rows.append(("activations (value, backward)", max(
        difference((act.forward(there(z)), act.backward(there(z), there(z), act.forward(there(z)))),
                   (act.forward(z), act.backward(z, z, act.forward(z))))
        for act in fnmlp.activations.BUILTINS)))
    bn = (x[:, :8] * 3 + 1, np.linspace(0.5, 1.5, 8, dtype=dtype), np.linspace(-1, 1, 8, dtype=dtype),
          np.zeros(8, dtype), np.ones(8, dtype))
    for train in (True, False):
        ours = fnmlp.batchnorm_forward(*bn, train=train, alpha=0.9, eps=1e-5)
        theirs = fnmlp.batchnorm_forward(*there(bn), train=train, alpha=0.9, eps=1e-5)
        rows.append((f"batchnorm ({'train' if train else 'eval'})", difference(
            (theirs[0], theirs[2], fnmlp.batchnorm_backward(theirs[1], there(bn[1]), there(x[:, 8:16]))),
            (ours[0], ours[2], fnmlp.batchnorm_backward(ours[1], bn[1], x[:, 8:16])))))
    _, grads, _ = fnmlp.loss_and_grads(spec, *args, y, rng=7)
    for name, opt in (("sgd (nesterov, weight decay, schedule)", fnmlp.sgd(SCHEDULE, 0.9, True, 1e-3)),
                      ("adam", fnmlp.adam(1e-3)), ("adamw (warm-up, cosine)", fnmlp.adamw(SCHEDULE))):
        ours, theirs = (params, opt.init(params)), (moved[0], opt.init(moved[0]))
        for _ in range(3):
            ours = opt.update(grads, ours[1], ours[0])
            theirs = opt.update(there(grads), theirs[1], theirs[0])
        rows.append((f"3 steps of {name}", difference(theirs, ours)))
    rows.append(("predict", difference(fnmlp.predict(spec, *moved), fnmlp.predict(spec, *args))))
    ours, theirs = inference.evaluate(spec, *args, y), inference.evaluate(spec, *moved, there(y))
    rows.append(("eval loss and metric", max(abs(a - b) / max(abs(b), 1e-300) for a, b in zip(theirs, ours))))
    if dtype == "float64":
        rows.append(("check_grads (own largest error)", fnmlp.check_grads(spec, *moved, there(y), rng=8, max_coords=25).max_error))
        rows.append(("fit (3 epochs, no dropout)", fit_difference(there)))
    if getattr(xp, "__name__", "").startswith("jax"):
        rows.append(("jit: 3 steps of sgd (vs eager jax)", jit_difference(there, dtype, fnmlp.sgd(0.05, 0.9, True, 1e-3))))
        if dtype == "float64":
            rows.append(("jit: 3 steps of adam (vs eager jax)", jit_difference(there, dtype, fnmlp.adam(1e-3))))
    return rows


def fit_difference(there) -> float:
    """``fit`` for 3 epochs in the other library against NumPy's: parameters, BatchNorm and optimizer
    states, and each epoch's training and validation loss."""
    spec = fnmlp.MLPSpec((20, 32, 16, 4), ("gelu", "relu", "identity"), num_bn_layers=2, l2=1e-3)
    params, state = fnmlp.init_params(spec, 1, weight_init="he")
    rng = np.random.default_rng(9)
    train, val = (rng.normal(size=(256, 20)), rng.integers(0, 4, 256)), (rng.normal(size=(64, 20)), rng.integers(0, 4, 64))
    opt = fnmlp.sgd(SCHEDULE, momentum=0.9, nesterov=True, weight_decay=1e-3)
    ours = fnmlp.fit(spec, params, state, opt, train, val, epochs=3, batch_size=32, rng=3)
    theirs = fnmlp.fit(spec, *there((params, state)), opt, there(train), there(val), epochs=3, batch_size=32, rng=3)
    records = (ours.final.params, ours.final.bn_state, ours.final.opt_state)
    history = max(abs(a - b) / abs(b) for h, g in zip(theirs.history, ours.history)
                  for a, b in ((h.train_loss, g.train_loss), (h.val_loss, g.val_loss)))
    return max(difference((theirs.final.params, theirs.final.bn_state, theirs.final.opt_state), records), history)


def jit_difference(there, dtype: str, opt) -> float:
    """Three steps of a ``jax.jit``-compiled function of the kernels and ``Optimizer.update`` against the
    same steps in eager JAX (no dropout: its masks are drawn on the host)."""
    import jax

    spec = fnmlp.MLPSpec((20, 32, 16, 4), ("gelu", "relu", "identity"), num_bn_layers=1, l2=1e-3)
    params, state = fnmlp.init_params(spec, 1, weight_init="he", dtype=dtype)
    rng = np.random.default_rng(10)
    x, y = there(rng.normal(size=(64, 20)).astype(dtype)), there(rng.integers(0, 4, 64))

    def step(params, bn_state, opt_state, xb, yb):
        loss, _, grads, bn_state = kernels.loss_and_grads(spec, params, bn_state, xb, yb)
        params, opt_state = opt.update(grads, opt_state, params)
        return params, bn_state, opt_state, loss

    compiled = jax.jit(step)
    eager = jitted = (*there((params, state)), opt.init(there(params)))
    for _ in range(3):
        *eager, eager_loss = step(*eager, x, y)
        *jitted, jitted_loss = compiled(*jitted, x, y)
    return max(difference(jitted, fnmlp.to_numpy(eager)), abs(float(jitted_loss) - eager_loss) / abs(eager_loss))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backends", nargs="+", default=list(LIBRARIES),
                        choices=[*LIBRARIES, "array_api_strict"], help="libraries to check (default: all found)")
    parser.add_argument("--dtypes", nargs="+", default=["float64", "float32"], choices=list(TOLERANCES))
    parser.add_argument("--tol", type=float, default=None, help="largest difference that passes")
    options = parser.parse_args(argv)
    if importlib.util.find_spec("array_api_compat") is None:
        print("array-api-compat is not installed: pip install 'fnmlp[array-api]'")
        return 2
    rows, failed = [], False
    for library in options.backends:
        if importlib.util.find_spec(library) is None:
            print(f"{library}: not installed, skipped")
            continue
        for dtype in options.dtypes:
            tolerance = options.tol if options.tol is not None else TOLERANCES[dtype]
            for name, xp, device in targets(library, dtype):
                for check, diff in checks(xp, device, dtype):
                    ok = diff <= (1e-6 if check.startswith("check_grads") else tolerance)
                    failed |= not ok
                    rows.append((name, str(device), dtype, check, f"{diff:.2e}", "pass" if ok else "FAIL"))
    checked = len(rows)
    if rows:
        rows.insert(0, ("namespace", "device", "dtype", "check", "largest difference from NumPy", "result"))
        widths = [max(len(row[i]) for row in rows) for i in range(6)]
        for i, row in enumerate(rows):
            print("  ".join(cell.rjust(w) if k == 4 else cell.ljust(w) for k, (cell, w) in enumerate(zip(row, widths))))
            if i == 0:
                print("  ".join("-" * w for w in widths))
    if not checked:
        print("no library to check: install torch, cupy or jax (or pass --backends array_api_strict)")
        return 2
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
