"""The loss record, and the registry that turns names into records.

Convention everywhere: a loss has a per-example value, and the batch loss is the **mean** over the
examples of the batch; gradients are those of that mean.
"""

from __future__ import annotations

from typing import Any, Callable, Optional

import attrs
import numpy as np

from ...utils import checks as _checks
from ...utils.namespace import array_namespace, astype, is_foreign, scalar


def _callable(name: str) -> Callable:
    return lambda value: _checks.function(name, value)


@attrs.frozen
class Loss:
    """A loss of a network's outputs ``(batch, k)`` against targets, with the metric reported with it.

    - ``targets(y, k, name="targets") -> targets``: checks and converts targets for ``k`` outputs (a
      clear ``TypeError``/``ValueError`` naming ``name``); the other functions take what it returns.
    - ``value(outputs, targets) -> (losses, cache)``: per-example losses ``(batch,)`` in the outputs'
      dtype; ``grad(cache) -> (batch, k)``: each example's gradient ``d losses[i] / d outputs[i]``.
    - ``fused(outputs, targets, scale=1.0) -> (loss_sum, dout)``: the training step's form, the sum of
      the losses (a float) and ``scale * d mean_loss / d outputs``; never writes into ``outputs``.
    - ``metric_totals(outputs, targets) -> totals``: a 1-D float64 array that adds up over batches
      (``totals = t1 + t2`` over two batches is the totals of both); ``metric(totals) -> float``.
      ``metric_name`` names it (``"error"``, ``"r2"``); ``greater_is_better`` says which way is good.

    Outputs and targets may be arrays of any array-API library (the built-in losses compute in
    their namespace; their metric totals are NumPy arrays on the host).
    """

    name: str
    targets: Callable = attrs.field(converter=_callable("targets"), repr=False)
    value: Callable = attrs.field(converter=_callable("value"), repr=False)
    grad: Callable = attrs.field(converter=_callable("grad"), repr=False)
    metric_name: str
    metric_totals: Callable = attrs.field(converter=_callable("metric_totals"), repr=False)
    metric: Callable = attrs.field(converter=_callable("metric"), repr=False)
    greater_is_better: bool = False
    fused: Optional[Callable] = attrs.field(default=None, repr=False)

    def __reduce__(self):
        """A registered loss pickles as its name and unpickles as the registry's record."""
        if LOSSES.get(self.name) is self:
            return get_loss, (self.name,)
        return object.__reduce__(self)

    def sum_and_grad(self, outputs: np.ndarray, targets: Any, scale: float = 1.0) -> tuple:
        """``fused`` when given, else the same from ``value`` and ``grad``."""
        if self.fused is not None:
            return self.fused(outputs, targets, scale)
        losses, cache = self.value(outputs, targets)
        if is_foreign(outputs):
            xp = array_namespace(outputs)
            grad = astype(xp, xp.asarray(self.grad(cache)), outputs.dtype) * (scale / outputs.shape[0])
            return scalar(xp.sum(losses)), grad
        grad = np.asarray(self.grad(cache), dtype=outputs.dtype) * (scale / outputs.shape[0])
        return float(np.sum(losses)), grad


LOSSES: dict = {}
"""Every known loss by name. Change it only through ``register_loss``."""


def register_loss(loss: Loss) -> Loss:
    """Make ``loss`` known by its name (to ``MLPSpec`` and checkpoint loading); returns it."""
    _checks.instance("loss", loss, Loss)
    known = LOSSES.get(loss.name)
    if known is not None and known is not loss:
        _checks.fail(ValueError, "loss", f"a name no other loss has (known: {sorted(LOSSES)})", repr(loss.name))
    LOSSES[loss.name] = loss
    return loss


def get_loss(value: Any, name: str = "loss") -> Loss:
    """``value`` itself if it is a ``Loss``, else the registered loss of that name."""
    if isinstance(value, Loss):
        return value
    if not isinstance(value, str):
        _checks.fail(TypeError, name, f"a Loss or a loss name, one of {sorted(LOSSES)}", _checks.describe(value))
    if value not in LOSSES:
        _checks.fail(ValueError, name, f"one of {sorted(LOSSES)} (make another known with fnmlp.register_loss)",
                     repr(value))
    return LOSSES[value]
