#!/usr/bin/env python3
"""fnmlp's optimizers against torch.optim, on the same float64 gradients, step for step.

For SGD (Nesterov momentum and weight decay), Adam and AdamW, each with a learning-rate schedule
(fnmlp's schedule; PyTorch's ``LambdaLR`` calling the same schedule, stepped after every update),
both libraries start from the same parameters of a small BatchNorm network and receive the same
random gradients for 50 steps. Weight decay applies to the weights only in both (fnmlp's default
mask; a PyTorch parameter group without decay for the biases and BatchNorm's gamma and beta). The
script asserts that every parameter agrees to rtol 1e-6 after every step and prints the largest
relative difference per optimizer. It needs PyTorch (``pip install -e '.[bench]'``); the test
suite never runs it. Run from the repository root::

    python3 scripts/check_optimizers_torch.py
"""

from __future__ import annotations

import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import fnmlp  # noqa: E402
from fnmlp import optimizers as optim  # noqa: E402

STEPS = 50
RTOL = 1e-6
SCHEDULE = optim.warmup_cosine_decay(0.05, 10, STEPS)


def cases(torch):
    """``(name, fnmlp optimizer, torch optimizer factory(groups), lr schedule)``."""
    return [
        ("SGD, Nesterov 0.9, weight decay 1e-2, warm-up + cosine", fnmlp.sgd(SCHEDULE, 0.9, True, 1e-2),
         lambda groups: torch.optim.SGD(groups(1e-2), lr=SCHEDULE.peak, momentum=0.9, nesterov=True)),
        ("SGD, momentum 0.9, weight decay 5e-4, step schedule",
         fnmlp.sgd(optim.piecewise_constant([15, 30], [0.1, 0.03, 0.01]), 0.9, weight_decay=5e-4),
         lambda groups: torch.optim.SGD(groups(5e-4), lr=0.1, momentum=0.9)),
        ("Adam, warm-up + cosine", fnmlp.adam(SCHEDULE),
         lambda groups: torch.optim.Adam(groups(0.0), lr=SCHEDULE.peak)),
        ("Adam, b1 0.8, b2 0.99, eps 1e-6, exponential decay", fnmlp.adam(optim.exponential_decay(1e-2, 0.95), 0.8,
                                                                          0.99, 1e-6),
         lambda groups: torch.optim.Adam(groups(0.0), lr=1e-2, betas=(0.8, 0.99), eps=1e-6)),
        ("AdamW, weight decay 0.1, warm-up + cosine", fnmlp.adamw(SCHEDULE, weight_decay=0.1),
         lambda groups: torch.optim.AdamW(groups(0.1), lr=SCHEDULE.peak)),
    ]


def compare(torch, name, ours, make_theirs, seed=0):
    """Run both for ``STEPS`` steps; returns the largest relative difference seen."""
    spec = fnmlp.MLPSpec((7, 6, 5, 3), ("relu", "tanh", "identity"), num_bn_layers=1)
    params = fnmlp.init_params(spec, seed, weight_init="lecun")[0]
    params = fnmlp.tree_map(lambda a: a + 0.1, params)  # biases and beta away from 0, so decay would show
    fields = [(f, i) for f in ("W", "b", "gamma", "beta") for i in range(len(getattr(params, f)))]
    tensors = [torch.tensor(np.array(getattr(params, f)[i]), dtype=torch.float64, requires_grad=True)
               for f, i in fields]
    decayed = [t for t, (f, _) in zip(tensors, fields) if f == "W"]
    others = [t for t, (f, _) in zip(tensors, fields) if f != "W"]
    theirs = make_theirs(lambda wd: [{"params": decayed, "weight_decay": wd}, {"params": others, "weight_decay": 0.0}])
    base = theirs.param_groups[0]["lr"]
    schedule = ours.transform.transforms[-1].schedule if isinstance(
        ours.transform.transforms[-1], optim.ScaleBySchedule) else None
    scheduler = torch.optim.lr_scheduler.LambdaLR(theirs, lambda k: schedule(k) / base)
    state = ours.init(params)
    rng = np.random.default_rng(seed + 1)
    worst = 0.0
    for step in range(STEPS):
        grads = fnmlp.tree_map(lambda a: rng.standard_normal(a.shape), params)
        params, state = ours.update(grads, state, params)
        for t, (f, i) in zip(tensors, fields):
            t.grad = torch.tensor(np.array(getattr(grads, f)[i]), dtype=torch.float64)
        theirs.step()
        scheduler.step()
        for t, (f, i) in zip(tensors, fields):
            mine, wanted = getattr(params, f)[i], t.detach().numpy()
            difference = np.abs(mine - wanted) / np.maximum(np.abs(wanted), np.finfo(np.float64).tiny)
            worst = max(worst, float(difference.max()))
            np.testing.assert_allclose(mine, wanted, rtol=RTOL, atol=0,
                                       err_msg=f"{name}: {f}[{i}] after step {step + 1}")
    return worst


def main() -> int:
    try:
        import torch
    except ImportError:
        sys.exit("this script needs PyTorch: pip install -e '.[bench]'")
    print(f"fnmlp {fnmlp.__version__} against torch {torch.__version__}, float64, {STEPS} steps, rtol {RTOL}")
    for name, ours, make_theirs in cases(torch):
        worst = compare(torch, name, ours, make_theirs)
        print(f"  {name:58s} largest relative difference {worst:.2e}")
    print("all agree")
    return 0


if __name__ == "__main__":
    sys.exit(main())
