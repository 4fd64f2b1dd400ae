"""Losses as values: the ``Loss`` record, softmax cross-entropy and mean squared error, and the
registry of names. The batch loss is the mean over examples of the per-example loss."""

from .base import LOSSES, Loss, get_loss, register_loss
from .cross_entropy import (SOFTMAX_CROSS_ENTROPY, SoftmaxCrossEntropyCache, class_indices, error_from_totals,
                            log_softmax, one_hot, softmax_cross_entropy, softmax_cross_entropy_grad)
from .squared_error import (MEAN_SQUARED_ERROR, SquaredErrorCache, mean_squared_error, mean_squared_error_grad,
                            r2_from_totals, regression_targets)

__all__ = ["LOSSES", "Loss", "get_loss", "register_loss", "SOFTMAX_CROSS_ENTROPY", "MEAN_SQUARED_ERROR",
           "SoftmaxCrossEntropyCache", "SquaredErrorCache", "class_indices", "log_softmax", "one_hot",
           "softmax_cross_entropy", "softmax_cross_entropy_grad", "mean_squared_error", "mean_squared_error_grad",
           "error_from_totals", "r2_from_totals", "regression_targets"]
