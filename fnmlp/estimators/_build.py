"""scikit-learn's settings as fnmlp's network and optimizer, through ``fnmlp.training.config.build``.

``train_config`` writes the checked settings as a ``TrainConfig`` under its names:
``hidden_layer_sizes`` is ``hidden``, ``activation`` is ``activation`` (one name for every hidden
layer, an identity output layer), ``num_bn_layers`` is ``bn``, ``solver`` is ``optimizer``,
``momentum`` and ``nesterovs_momentum`` are ``momentum`` and ``nesterov``, ``max_iter`` and
``batch_size`` are ``epochs`` and ``batch_size``; ``build`` makes the spec and the SGD optimizer.

Where scikit-learn means something else, the estimators keep their own translation:

- ``alpha``, ``learning_rate_init`` and the loss's scale: the regressor's objective is scikit-learn's
  half MSE, ``loss_scale`` (0.5) times the spec's loss, so the config's ``l2`` is
  ``alpha / loss_scale`` and SGD's ``lr`` is ``learning_rate_init * loss_scale`` (both exact for the
  classifier, whose ``loss_scale`` is 1); the spec's ``loss`` is set after ``build``, which has none.
- Adam: ``TrainConfig`` has no ``beta_1``, ``beta_2`` or ``epsilon``, and scikit-learn's
  ``epsilon`` is over the gradient of its own objective, so the estimators build
  ``adam(learning_rate_init, beta_1, beta_2, epsilon / loss_scale)`` themselves.
- Early stopping: ``_stopping.early_stopping`` (the validation score, ``val_error``), never the
  config's ``early_stopping`` (the validation loss, ``val_loss``).
- The rate is constant (scikit-learn's ``learning_rate="constant"``; its ``"invscaling"`` and
  ``"adaptive"`` are not offered), so the schedule's length, which ``epochs``, ``batch_size`` and
  ``num_train`` size, never enters; ``"auto"`` batches are written as 200. The config's ``seed``,
  ``dtype``, ``init`` and ``dataset`` are unused: ``random_state``, ``dtype`` and ``weight_init``
  decide those.
"""

from __future__ import annotations

import attrs

from ..model.spec import MLPSpec
from ..optimizers import adam
from ..training.config import TrainConfig, build


def train_config(s: dict, loss_scale: float = 1.0) -> TrainConfig:
    """The ``TrainConfig`` of the checked settings ``s`` (``fnmlp.estimators._params.settings``)."""
    rates = s["dropout"] if isinstance(s["dropout"], tuple) else (s["dropout"],) * len(s["hidden_layer_sizes"])
    sgd = s["solver"] == "sgd"
    return TrainConfig(
        hidden=s["hidden_layer_sizes"], activation=(s["activation"],), bn=s["num_bn_layers"],
        dropout=(0.0, *rates) if any(rates) else (),  # one rate per layer input: none on the network's input
        l2=s["alpha"] / loss_scale, optimizer=s["solver"],
        lr=s["learning_rate_init"] * loss_scale if sgd else s["learning_rate_init"],
        momentum=s["momentum"], nesterov=sgd and s["nesterovs_momentum"] and s["momentum"] > 0,
        epochs=s["max_iter"], batch_size=200 if s["batch_size"] == "auto" else s["batch_size"])


def network(s: dict, n_features: int, n_outputs: int, loss: str, loss_scale: float = 1.0) -> tuple:
    """``(spec, optimizer)`` for the checked settings ``s``: ``n_features`` inputs, ``n_outputs``
    linear outputs, ``loss`` (``"softmax_cross_entropy"`` or ``"mse"``), whose ``loss_scale`` times
    the spec's is the estimator's objective. The penalised objective and the steps are then exactly
    scikit-learn's, scaled."""
    config = train_config(s, loss_scale)
    built = build(config, num_features=n_features, num_classes=n_outputs, num_train=config.batch_size)
    spec: MLPSpec = attrs.evolve(built.spec, loss=loss)
    if s["solver"] == "sgd":
        return spec, built.optimizer
    return spec, adam(s["learning_rate_init"], s["beta_1"], s["beta_2"], s["epsilon"] / loss_scale)
