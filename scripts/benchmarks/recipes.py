"""The time-to-accuracy recipe and its contenders. The recipe is a ``fnmlp.config.TrainConfig``
(``BEST_RECIPE`` is ``RECIPES["best"]``) that every contender reads as it is: fnmlp builds it with
``fnmlp.config.build`` exactly as ``fnmlp train`` does, the PyTorch mirror layer by layer with the
learning rate of ``fnmlp.config.learning_rate`` at every batch, scikit-learn at its sizes and batch."""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

import fnmlp
from fnmlp.config import RECIPES, TrainConfig, build, layer_activations, layer_dropout, learning_rate

from .skip import Skip, optional
from .torch_mirror import torch_layers
from .workloads import DTYPES, FEATURES, NUM_CLASSES

# option: (the one value the contenders express, that value as the refusal names it)
_EXPRESSED = {"optimizer": ("sgd", "sgd"), "l2": (0.0, "0"), "clip_norm": (None, "None"),
              "early_stopping": (None, "None"), "dataset": ("mnist", "mnist"), "limit": (None, "None")}


def check_recipe(config: TrainConfig) -> TrainConfig:
    """``config``, if every contender can run it; else a ``ValueError`` naming the first choice of it the
    PyTorch mirror does not write out (another optimizer, an L2 penalty, clipping, early stopping, a step
    or exponential schedule, per-layer activations, a data set other than MNIST)."""
    for name, (wanted, text) in _EXPRESSED.items():
        if getattr(config, name) != wanted:
            _refuse(f"config.{name}", f"{text} (what the time-to-accuracy contenders express)",
                    repr(getattr(config, name)))
    if config.schedule not in ("constant", "cosine"):
        _refuse("config.schedule", "constant or cosine", repr(config.schedule))
    activations = layer_activations(config)
    if len(set(activations[:-1])) > 1 or activations[-1] != "identity":
        _refuse("config.activation", "one activation for every hidden layer and a linear output",
                repr(config.activation))
    return config


def _refuse(name: str, expected: str, got: str) -> None:
    raise ValueError(f"{name}: expected {expected}, got {got}")


BEST_RECIPE = check_recipe(RECIPES["best"])


def describe_recipe(config: TrainConfig) -> str:
    """One line: sizes, activation, init, BatchNorm, dropout per layer, SGD, schedule, decay, batch, dtype."""
    sizes = "-".join(str(n) for n in (FEATURES, *config.hidden, NUM_CLASSES))
    bn = f"BatchNorm on {config.bn} layers" if config.bn else "no BatchNorm"
    dropout = layer_dropout(config)
    drop = "no dropout" if not any(dropout) else "dropout " + "/".join(f"{r:g}" for r in dropout)
    momentum = f"{'Nesterov ' if config.nesterov else ''}momentum {config.momentum:g}"
    warmup = f" after {config.warmup_epochs:g} warm-up epochs" if config.warmup_epochs else ""
    lr = f"lr {config.lr:g}" + (f" cosine to 0 over {config.epochs} epochs" if config.schedule == "cosine"
                                else " constant") + warmup
    decay = f", weight decay {config.weight_decay:g}" if config.weight_decay else ""
    return (f"{sizes} {layer_activations(config)[0]}, {config.init} init, {bn}, {drop}, SGD {momentum}, "
            f"{lr}{decay}, batch {config.batch_size}, {config.dtype}")


def fnmlp_training(config: TrainConfig, steps_per_epoch: int) -> tuple:
    """``(spec, optimizer)`` of ``config`` on MNIST: ``fnmlp.config.build``, exactly what ``fnmlp train``
    builds (the schedule spans ``steps_per_epoch * config.epochs`` steps)."""
    built = build(config, num_features=FEATURES, num_classes=NUM_CLASSES,
                  num_train=steps_per_epoch * config.batch_size)
    return built.spec, built.optimizer


def recipe_schedule(config: TrainConfig, steps_per_epoch: int) -> Callable[[int], float]:
    """``step -> lr`` for the PyTorch mirror, ``step`` counting batches from 0: the learning rate
    ``fnmlp.config.learning_rate`` gives fnmlp's optimizer, a constant one included."""
    lr = learning_rate(config, steps_per_epoch * config.batch_size)
    if callable(lr):
        return lambda step: float(lr(step))
    return lambda step: float(lr)


def mnist_split(tiny: bool) -> tuple:
    """``(train, test)`` pairs of the bundled MNIST (float32); ``tiny``: 2,000 and 1,000 rows."""
    data = fnmlp.load_mnist(dtype=np.float32)
    train, test = (data.train.x, data.train.y), (data.test.x, data.test.y)
    if tiny:
        train, test = tuple(a[:2000] for a in train), tuple(a[:1000] for a in test)
    return train, test


class StopTraining(Exception):
    """Raised by a contender's ``on_epoch`` to end its run."""


class FnmlpRecipe:
    """``fnmlp.fit`` on the recipe, set up as ``fnmlp train`` sets it up (one NumPy generator from the
    seed draws the initial weights, then shuffles and seeds the dropout masks), the test split as its
    validation data (so each epoch's test error is measured inside the epoch, as the CLI measures
    validation)."""

    name = "fnmlp"
    differences: tuple = ()

    def __init__(self, recipe: TrainConfig, seed: int):
        self.spec, _ = fnmlp_training(recipe, 1)  # fails here, before any timing, if it cannot
        self.rng = fnmlp.as_rng(seed)
        self.params, self.bn_state = fnmlp.init_params(self.spec, self.rng, weight_init=recipe.init,
                                                       dtype=DTYPES[recipe.dtype])
        self.recipe = recipe
        self.description = describe_recipe(recipe)

    def run(self, train: tuple, test: tuple, on_epoch: Callable) -> None:
        _, optimizer = fnmlp_training(self.recipe, -(-train[0].shape[0] // self.recipe.batch_size))
        x, y = train
        x_test = test[0]
        if x.dtype != DTYPES[self.recipe.dtype]:
            x, x_test = x.astype(DTYPES[self.recipe.dtype]), x_test.astype(DTYPES[self.recipe.dtype])

        def observe(stats, _state):
            on_epoch(stats.epoch, stats.val_error)

        try:
            fnmlp.fit(self.spec, self.params, self.bn_state, optimizer, (x, y), (x_test, test[1]),
                      epochs=self.recipe.epochs, batch_size=self.recipe.batch_size, rng=self.rng, on_epoch=observe)
        except StopTraining:
            pass


class TorchRecipe:
    """The recipe in PyTorch eager mode, the network ``torch_layers`` builds (as fnmlp computes it);
    ``optim.SGD(momentum, nesterov)`` with ``weight_decay`` in a parameter group of the ``Linear``
    weights alone (biases and BatchNorm's ``gamma`` and ``beta`` undecayed, as fnmlp decays ``W``
    only); the learning rate of every batch set from ``recipe_schedule``; evaluation in ``eval()``
    mode, on the running statistics.

    One known difference, which ``differences`` states: ``BatchNorm1d`` moves its running variance
    towards the batch's *unbiased* variance (``n / (n - 1)`` times the biased one, ``n`` the batch
    size), fnmlp towards the biased one. Training (normalised by the biased batch variance in both)
    is the same; evaluation normalises by a running variance 1/(n - 1) larger (0.8% at batch 128).
    ``load`` starts the model from fnmlp's parameters, for the test that proves the two the same
    recipe; the timed run draws its own initial weights from ``torch.manual_seed(seed)``."""

    name = "torch"

    def __init__(self, recipe: TrainConfig, seed: int, threads: int):
        torch = optional("torch")
        torch.set_num_threads(threads)
        torch.manual_seed(seed)
        self.torch, self.recipe, self.seed = torch, recipe, seed
        self.dtype = getattr(torch, recipe.dtype)
        layers, self.linears, self.norms = torch_layers(torch, fnmlp_training(recipe, 1)[0], recipe.init)
        self.model = torch.nn.Sequential(*layers).to(self.dtype)
        decayed = [linear.weight for linear in self.linears]
        others = [p for p in self.model.parameters() if all(p is not w for w in decayed)]
        self.opt = torch.optim.SGD([{"params": decayed, "weight_decay": recipe.weight_decay},
                                    {"params": others, "weight_decay": 0.0}],
                                   lr=recipe.lr, momentum=recipe.momentum, nesterov=recipe.nesterov)
        self.loss_fn = torch.nn.CrossEntropyLoss()
        self.description = describe_recipe(recipe)
        self.differences = (("BatchNorm's running variance averages the unbiased batch variance "
                             "(fnmlp: the biased one)",) if recipe.bn else ())

    def load(self, params: Any, bn_state: Any) -> None:
        """Start from fnmlp's ``Params`` and ``BatchNormState`` (``W`` transposed into ``weight``)."""
        torch = self.torch
        with torch.no_grad():
            for linear, W, b in zip(self.linears, params.W, params.b):
                linear.weight.copy_(torch.from_numpy(np.ascontiguousarray(W.T)))
                linear.bias.copy_(torch.from_numpy(np.array(b)))
            for norm, gamma, beta, mean, var in zip(self.norms, params.gamma, params.beta,
                                                    bn_state.running_mean, bn_state.running_var):
                for target, value in ((norm.weight, gamma), (norm.bias, beta), (norm.running_mean, mean),
                                      (norm.running_var, var)):
                    target.copy_(torch.from_numpy(np.array(value)))

    def state(self) -> dict:
        """The parameters and running statistics in fnmlp's layout: ``W`` ``(fan_in, fan_out)``, ``b``,
        ``gamma``, ``beta``, ``running_mean``, ``running_var``, each a list of NumPy arrays."""
        out = lambda t: t.detach().numpy().copy()
        return {"W": [out(linear.weight).T for linear in self.linears],
                "b": [out(linear.bias) for linear in self.linears],
                "gamma": [out(n.weight) for n in self.norms], "beta": [out(n.bias) for n in self.norms],
                "running_mean": [out(n.running_mean) for n in self.norms],
                "running_var": [out(n.running_var) for n in self.norms]}

    def train_step(self, x: Any, y: Any, lr: float) -> Any:
        """One SGD step at learning rate ``lr`` on the batch ``(x, y)`` (tensors); returns the batch's mean
        loss before the step (a 0-d tensor)."""
        for group in self.opt.param_groups:
            group["lr"] = lr
        self.opt.zero_grad(set_to_none=True)
        loss = self.loss_fn(self.model(x), y)
        loss.backward()
        self.opt.step()
        return loss.detach()

    def run(self, train: tuple, test: tuple, on_epoch: Callable) -> None:
        torch, recipe = self.torch, self.recipe
        x, y = (torch.from_numpy(np.array(a)) for a in train)  # writable copies of the read-only splits
        x_test, y_test = (torch.from_numpy(np.array(a)) for a in test)
        x, x_test = x.to(self.dtype), x_test.to(self.dtype)
        lr = recipe_schedule(recipe, -(-x.shape[0] // recipe.batch_size))
        gen = torch.Generator().manual_seed(self.seed)
        step = 0
        for epoch in range(1, recipe.epochs + 1):
            self.model.train()
            order = torch.randperm(x.shape[0], generator=gen)
            for begin in range(0, x.shape[0], recipe.batch_size):
                rows = order[begin:begin + recipe.batch_size]
                self.train_step(x[rows], y[rows], lr(step))
                step += 1
            self.model.eval()
            with torch.no_grad():
                wrong = int((self.model(x_test).argmax(dim=1) != y_test).sum())
            try:
                on_epoch(epoch, wrong / x_test.shape[0])
            except StopTraining:
                return


class SklearnRecipe:
    """``MLPClassifier(solver="adam")`` at the recipe's sizes and batch (its other defaults), one
    ``partial_fit`` per epoch."""

    name = "sklearn"
    differences: tuple = ()

    def __init__(self, recipe: TrainConfig, seed: int):
        neural_network = optional("sklearn.neural_network")
        activation = layer_activations(recipe)[0]
        act = {"sigmoid": "logistic", "relu": "relu", "tanh": "tanh"}.get(activation)
        if act is None:
            raise Skip(f"MLPClassifier has no {activation} activation")
        self.model = neural_network.MLPClassifier(hidden_layer_sizes=recipe.hidden, activation=act, solver="adam",
                                                  batch_size=recipe.batch_size, random_state=seed)
        self.recipe = recipe
        self.description = (f"MLPClassifier(solver='adam', hidden_layer_sizes={recipe.hidden}, "
                            f"activation='{act}', batch_size={recipe.batch_size}), its defaults otherwise "
                            f"(lr 0.001, alpha 1e-4, Glorot uniform init, no BatchNorm, no dropout)")

    def run(self, train: tuple, test: tuple, on_epoch: Callable) -> None:
        classes = np.arange(NUM_CLASSES)
        for epoch in range(1, self.recipe.epochs + 1):
            self.model.partial_fit(train[0], train[1], classes=classes)
            try:
                on_epoch(epoch, float(np.mean(self.model.predict(test[0]) != test[1])))
            except StopTraining:
                return


def recipe_contenders(threads: int) -> list:
    """``(name, builder(recipe, seed))`` of every time-to-accuracy contender."""
    return [("fnmlp", FnmlpRecipe),
            ("torch", lambda recipe, seed: TorchRecipe(recipe, seed, threads)),
            ("sklearn", SklearnRecipe)]
