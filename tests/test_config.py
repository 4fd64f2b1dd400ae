"""TrainConfig: checked once, built into spec, optimizer and schedule, and the recipe flags on the CLI."""

import math

import attrs
import numpy as np
import pytest

import fnmlp
from fnmlp import cli
from fnmlp.config import (RECIPES, ConfigError, TrainConfig, build, layer_activations, layer_dropout,
                          learning_rate)


def test_the_handout_recipe_is_the_default_and_builds_the_handout_network():
    assert attrs.asdict(RECIPES["handout"]) == attrs.asdict(TrainConfig())
    built = build(TrainConfig(), num_features=784, num_classes=10, num_train=55000)
    assert built.spec.layer_sizes == (784, 64, 64, 32, 10)
    assert built.spec.activation_names == ("sigmoid",) * 3 + ("identity",)
    assert built.spec.dropout == (0.0,) * 4 and built.spec.l2 == 0.0 and built.early_stopping is None
    assert built.optimizer == fnmlp.sgd(0.008, 0.9)  # exactly the handout's update, no schedule


@pytest.mark.parametrize("hidden, rates, expected", [
    ((64, 32), (), (0.0, 0.0, 0.0)),
    ((64, 32), (0.5,), (0.0, 0.5, 0.5)),
    ((64, 32), (0.2, 0.5), (0.2, 0.5, 0.5)),
    ((64, 32), (0.1, 0.2, 0.3), (0.1, 0.2, 0.3)),
    ((64,), (0.2, 0.5), (0.2, 0.5)),
    ((), (0.3,), (0.3,)),
])
def test_dropout_rates_are_spread_over_the_layers(hidden, rates, expected):
    assert layer_dropout(TrainConfig(hidden=hidden, dropout=rates)) == expected


def test_activation_names_are_spread_over_the_layers():
    assert layer_activations(TrainConfig(hidden=(4, 4), activation="relu")) == ("relu", "relu", "identity")
    assert layer_activations(TrainConfig(hidden=(4, 4), activation=("elu", "gelu"))) == ("elu", "gelu", "identity")
    assert layer_activations(TrainConfig(hidden=(4,), activation=("tanh", "silu"))) == ("tanh", "silu")


@pytest.mark.parametrize("options, message", [
    ({"lr": -1}, "lr: expected a finite number >= 0, got -1.0"),
    ({"lr": math.nan}, "lr: expected a finite number >= 0, got nan"),
    ({"momentum": 1.0}, "momentum: expected a number in [0, 1), got 1.0"),
    ({"weight_decay": -0.1}, "weight_decay: expected a finite number >= 0, got -0.1"),
    ({"l2": -1e-4}, "l2: expected a finite number >= 0, got -0.0001"),
    ({"dropout": (1.0,)}, "dropout: expected rates in [0, 1), got 1.0"),
    ({"dropout": (0.1, 0.2, 0.3, 0.4, 0.5)}, "dropout: expected 1 or 2 rates, or 4 (one per layer"),
    ({"clip_norm": 0.0}, "clip_norm: expected a finite number > 0, got 0.0"),
    ({"early_stopping": 0}, "early_stopping: expected an integer >= 1, got 0"),
    ({"optimizer": "rmsprop"}, "optimizer: expected one of sgd, adam, adamw, got 'rmsprop'"),
    ({"schedule": "linear"}, "schedule: expected one of constant, cosine, step, exponential, got 'linear'"),
    ({"nesterov": True, "optimizer": "adam"}, "nesterov: expected the sgd optimizer with momentum > 0"),
    ({"nesterov": True, "momentum": 0.0}, "nesterov: expected the sgd optimizer with momentum > 0"),
    ({"activation": ("swish",)}, "activation: expected names among"),
    ({"batch_size": 0}, "batch_size: expected an integer >= 1, got 0"),
    ({"seed": 2 ** 32}, "seed: expected an integer below 2**32"),
    ({"warmup_epochs": 10, "epochs": 2}, "warmup_epochs: expected fewer than the 2 epochs of the run (the schedule "
                                         "needs at least one step after the warm-up), got 10"),
    ({"warmup_epochs": 2, "epochs": 2, "schedule": "cosine"}, "warmup_epochs: expected fewer than the 2 epochs"),
    ({"warmup_epochs": 0.5, "epochs": 0}, "warmup_epochs: expected fewer than the 0 epochs of the run"),
])
def test_bad_values_name_the_option(options, message):
    with pytest.raises(ConfigError) as caught:
        TrainConfig(**options)
    assert str(caught.value).startswith(message)
    assert caught.value.option == message.split(":")[0]


def test_a_config_round_trips_through_json_and_an_old_run_takes_the_new_defaults():
    config = attrs.evolve(RECIPES["best"], clip_norm=1.0, early_stopping=3, warmup_epochs=2.0)
    assert attrs.asdict(TrainConfig.from_dict(config.to_dict())) == attrs.asdict(config)
    old = {"hidden": [16], "activation": ["sigmoid", "identity"], "bn": 0, "init": "lecun", "lr": 0.1,
           "momentum": 0.5, "epochs": 3, "batch_size": 50, "seed": 1, "dtype": "float64", "dataset": "mnist",
           "limit": 400}
    restored = TrainConfig.from_dict(old)
    assert (restored.optimizer, restored.schedule, restored.dropout, restored.l2) == ("sgd", "constant", (), 0.0)
    with pytest.raises(ConfigError, match="learning_rate: unknown option"):
        TrainConfig.from_dict({**old, "learning_rate": 1})


def test_a_warm_up_shorter_than_the_run_is_kept_and_every_recipe_still_loads():
    """A warm-up of all but part of the last epoch keeps its steps; ``epochs`` 0 takes warm-up 0 only."""
    short = TrainConfig(epochs=2, warmup_epochs=1.5, schedule="cosine", lr=0.1, batch_size=100)
    schedule = learning_rate(short, 1000)  # 10 steps per epoch, 15 of warm-up, 5 of decay
    assert schedule == fnmlp.optimizers.warmup_cosine_decay(0.1, 15, 20)
    assert TrainConfig(epochs=0).warmup_epochs == 0.0
    for name, recipe in RECIPES.items():
        assert TrainConfig.from_dict(recipe.to_dict()) == recipe, name
    assert RECIPES["best"].warmup_epochs == 0.0


def steps(schedule, points):
    return [schedule(step) for step in points]


def test_schedules_count_batches_over_every_epoch():
    # 1000 rows in batches of 100: 10 steps per epoch, 40 steps in all
    base = TrainConfig(lr=0.1, epochs=4, batch_size=100)
    cosine = learning_rate(attrs.evolve(base, schedule="cosine"), 1000)
    assert steps(cosine, [0, 20, 40]) == pytest.approx([0.1, 0.05, 0.0])
    assert cosine(10) == pytest.approx(0.1 * (1 + math.cos(math.pi * 10 / 40)) / 2)
    warm = learning_rate(attrs.evolve(base, schedule="cosine", warmup_epochs=1), 1000)
    assert steps(warm, [0, 5, 10, 25, 40]) == pytest.approx([0.0, 0.05, 0.1, 0.05, 0.0])
    step = learning_rate(attrs.evolve(base, schedule="step"), 1000)
    assert steps(step, [0, 19, 20, 29, 30, 39]) == pytest.approx([0.1, 0.1, 0.01, 0.01, 0.001, 0.001])
    exponential = learning_rate(attrs.evolve(base, schedule="exponential"), 1000)
    assert steps(exponential, [0, 20, 40]) == pytest.approx([0.1, 0.01, 0.001])
    warm_constant = learning_rate(attrs.evolve(base, warmup_epochs=0.5), 1000)
    assert steps(warm_constant, [0, 1, 5, 39]) == pytest.approx([0.0, 0.02, 0.1, 0.1])
    assert learning_rate(base, 1000) == 0.1  # constant without warm-up: a plain float, the handout's SGD


def test_the_optimizers_are_built_as_named():
    spec = fnmlp.MLPSpec((3, 2), ("identity",))
    params, _ = fnmlp.init_params(spec, 0)
    grads = fnmlp.tree_map(lambda p: np.full_like(p, 0.5), params)

    def one_step(**options):
        built = build(TrainConfig(hidden=(), **options), num_features=3, num_classes=2, num_train=10)
        return built.optimizer.update(grads, built.optimizer.init(params), params)[0]

    for options, reference in [
        ({"optimizer": "adam", "lr": 0.1}, fnmlp.adam(0.1)),
        ({"optimizer": "adamw", "lr": 0.1, "weight_decay": 0.01}, fnmlp.adamw(0.1, weight_decay=0.01)),
        ({"optimizer": "sgd", "lr": 0.1, "nesterov": True, "weight_decay": 1e-3},
         fnmlp.sgd(0.1, 0.9, nesterov=True, weight_decay=1e-3)),
    ]:
        expected = reference.update(grads, reference.init(params), params)[0]
        assert fnmlp.tree_allclose(one_step(**options), expected, rtol=0, atol=0)
    # clipping to a global norm of 0.1 scales every gradient by 0.1 / its norm first
    norm = math.sqrt(sum(float((g ** 2).sum()) for g in fnmlp.tree_leaves(grads)))
    clipped = one_step(optimizer="sgd", lr=1.0, momentum=0.0, clip_norm=0.1)
    assert clipped.W[0] == pytest.approx(params.W[0] - 0.5 * 0.1 / norm)


@pytest.mark.parametrize("args, message", [
    (["--optimizer", "rmsprop"], "--optimizer: invalid choice: 'rmsprop'"),
    (["--dropout", "1.5"], "--dropout: expected rates in [0, 1), got 1.5"),
    (["--weight-decay", "-1"], "--weight-decay: expected a finite number >= 0, got -1.0"),
    (["--optimizer", "adam", "--nesterov"], "--nesterov: expected the sgd optimizer with momentum > 0"),
    (["--clip-norm", "0"], "--clip-norm: expected a finite number > 0, got 0.0"),
    (["--early-stopping", "0"], "--early-stopping: expected an integer >= 1, got 0"),
    (["--recipe", "fastest"], "--recipe: invalid choice: 'fastest'"),
    (["--warmup-epochs", "nan"], "--warmup-epochs: expected a finite number >= 0, got nan"),
])
def test_bad_recipe_options_get_one_line_and_status_2(tmp_path, capsys, args, message):
    out = tmp_path / "run"
    assert cli.main(["train", "--limit", "200", "--hidden", "8", *args, "--out", str(out)]) == cli.EXIT_USAGE
    err = capsys.readouterr().err
    assert err.startswith("fnmlp: error: " + message) and err.count("\n") == 1, err
    assert not out.exists()
