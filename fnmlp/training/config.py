"""One training run's configuration as a frozen record, and the named recipes.

``TrainConfig`` holds every choice ``fnmlp train`` makes, under the command line's option names
(``batch_size`` is ``--batch-size``), as plain JSON values. It is checked once, when it is built;
the command line, the scikit-learn estimators and the sweep tasks all build one and call
``build(config, ...)`` for the spec, the optimizer and the early-stopping rule::

    config = attrs.evolve(RECIPES["best"], epochs=20)
    built = build(config, num_features=784, num_classes=10, num_train=55000)
    params, bn_state = init_params(built.spec, as_rng(config.seed), weight_init=config.init, dtype=config.dtype)
"""

from __future__ import annotations

import math
import numbers
from typing import Any, Optional

import attrs

from ..model.activations import ACTIVATIONS
from ..optimizers import (Optimizer, adam, adamw, add_decayed_weights, chain, clip_by_global_norm, constant,
                         exponential_decay, linear_warmup, piecewise_constant, sgd, warmup_cosine_decay)
from ..model.spec import MLPSpec
from .augment_spec import parse_augment
from .loop import EarlyStopping

__all__ = ["ConfigError", "TrainConfig", "RECIPES", "SCHEDULES", "OPTIMIZERS", "Built", "build",
           "DATA_ONLY", "TASKS", "check_data_options", "early_stopping", "layer_activations", "layer_dropout", "learning_rate", "optimizer"]

OPTIMIZERS = ("sgd", "adam", "adamw")
SCHEDULES = ("constant", "cosine", "step", "exponential")
DTYPES = ("float64", "float32")
INITS = ("normal", "lecun", "xavier", "he")
TASKS = ("classify", "regress")
IMPUTE = ("mean",)
DATA_ONLY = {"target": None, "features": None, "task": None, "delimiter": ",", "impute": None,
             "validation_fraction": 0.1, "test_fraction": 0.1, "validation": None, "test": None, "image_size": None}
"""The options that describe a run's own ``data`` (a table or an image folder), with their defaults."""


class ConfigError(ValueError):
    """A bad configuration value; ``option`` is the field's name (``batch_size``), which the command
    line shows as ``--batch-size``."""

    def __init__(self, option: str, message: str):
        super().__init__(f"{option}: {message}")
        self.option, self.message = option, message


def _bad(option: str, expected: str, got: Any) -> ConfigError:
    return ConfigError(option, f"expected {expected}, got {got}")


def _integer(option: str, minimum: int, maximum: Optional[int] = None, optional: bool = False):
    def convert(value: Any) -> Optional[int]:
        if value is None and optional:
            return None
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            raise _bad(option, "an integer", repr(value))
        if value < minimum:
            raise _bad(option, f"an integer >= {minimum}", value)
        if maximum is not None and value > maximum:
            raise _bad(option, f"an integer below 2**{maximum.bit_length()}" if maximum & (maximum + 1) == 0
                       else f"an integer <= {maximum}", value)
        return int(value)
    return convert


def _number(option: str, *, minimum: float = 0.0, below: Optional[float] = None, above: Optional[float] = None,
            optional: bool = False):
    def convert(value: Any) -> Optional[float]:
        if value is None and optional:
            return None
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise _bad(option, "a number", repr(value))
        value = float(value)
        if not math.isfinite(value) or value < minimum or (below is not None and value >= below) \
                or (above is not None and value <= above):
            if below is not None:
                expected = f"a number in [{minimum:g}, {below:g})"
            elif above is not None:
                expected = f"a finite number > {above:g}"
            else:
                expected = f"a finite number >= {minimum:g}"
            raise _bad(option, expected, value)
        return value
    return convert


def _choice(option: str, choices: tuple):
    def convert(value: Any) -> str:
        if not isinstance(value, str) or value not in choices:
            raise _bad(option, f"one of {', '.join(choices)}", repr(value))
        return value
    return convert


def _boolean(option: str):
    def convert(value: Any) -> bool:
        if not isinstance(value, bool):
            raise _bad(option, "true or false", repr(value))
        return value
    return convert


def _dataset(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise _bad("dataset", "a data set name or a directory", repr(value))
    return value


def _sizes(value: Any) -> tuple:
    if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
        raise _bad("hidden", "a list of layer sizes", repr(value))
    sizes = tuple(value)
    if any(isinstance(n, bool) or not isinstance(n, numbers.Integral) for n in sizes):
        raise _bad("hidden", "whole layer sizes", " ".join(map(str, sizes)))
    if any(n < 1 for n in sizes):
        raise _bad("hidden", "positive sizes", " ".join(map(str, sizes)))
    return tuple(int(n) for n in sizes)


def _names(value: Any) -> tuple:
    if isinstance(value, str):
        value = (value,)
    names = tuple(value)
    if not names or not all(isinstance(name, str) and name for name in names):
        raise _bad("activation", "one or more activation names", repr(value))
    return names


def _rates(value: Any) -> tuple:
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        value = (value,)
    rates = tuple(value)
    for rate in rates:
        if isinstance(rate, bool) or not isinstance(rate, numbers.Real) or not 0.0 <= rate < 1.0:
            raise _bad("dropout", "rates in [0, 1)", " ".join(map(str, rates)))
    return tuple(float(rate) for rate in rates)


# Own data: a table file or a folder of class subfolders of PNG images (``data`` and the options of DATA_ONLY)

def _optional_text(option: str, expected: str):
    def convert(value: Any) -> Optional[str]:
        if value is None:
            return None
        if not isinstance(value, str) or not value:
            raise _bad(option, expected, repr(value))
        return value
    return convert


def _optional_choice(option: str, choices: tuple):
    def convert(value: Any) -> Optional[str]:
        return None if value is None else _choice(option, choices)(value)
    return convert


def _columns(value: Any) -> Optional[tuple]:
    if value is None:
        return None
    if isinstance(value, str):
        value = (value,)
    if not hasattr(value, "__iter__"):
        raise _bad("features", "a list of column names", repr(value))
    names = tuple(value)
    if not names or not all(isinstance(name, str) and name for name in names):
        raise _bad("features", "one or more column names", repr(value))
    if len(set(names)) != len(names):
        raise _bad("features", "each column once", " ".join(names))
    return names


def _delimiter(value: Any) -> str:
    if not isinstance(value, str) or len(value) != 1 or value in "\r\n\"":
        raise _bad("delimiter", "one character (not a quote or a line break)", repr(value))
    return value


def _image_size(value: Any) -> Optional[tuple]:
    if value is None:
        return None
    if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
        raise _bad("image_size", "a height and a width", repr(value))
    size = tuple(value)
    if len(size) != 2 or any(isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 1 for n in size):
        raise _bad("image_size", "two whole numbers >= 1, a height and a width", " ".join(map(str, size)))
    return tuple(int(n) for n in size)


def check_data_options(config: "TrainConfig") -> None:
    """Raise ``ConfigError`` where the options of DATA_ONLY are set without ``data``, where ``data``
    and a ``dataset`` other than the default are both given, or where the splits leave no train rows.
    What needs the files themselves (a table needs a ``target``) is checked when they are read."""
    if config.data is None:
        for option, default in DATA_ONLY.items():
            if getattr(config, option) != default:
                raise ConfigError(option, "applies only to a run's own data: expected it together with data "
                                          "(a table file or a folder of images)")
        return
    if config.dataset != "mnist":
        raise ConfigError("data", f"expected either data or dataset, not both (dataset is {config.dataset!r})")
    if config.validation_fraction + config.test_fraction >= 1.0:
        raise _bad("validation_fraction", f"a sum with the test fraction ({config.test_fraction:g}) below 1, to "
                   "leave train rows", f"{config.validation_fraction:g}")


def _augment(value: Any) -> tuple:
    """Augmentation tokens as a tuple of strings, each token alone (a string holding several, separated
    by spaces, is split), checked by ``parse_augment``."""
    if isinstance(value, str):
        value = (value,)
    if not isinstance(value, (list, tuple)) or not all(isinstance(token, str) for token in value):
        raise _bad("augment", "a list of augmentation tokens such as 'shift:2'", repr(value))
    tokens = tuple(token for text in value for token in text.split())
    try:
        parse_augment(tokens)
    except (TypeError, ValueError) as error:
        raise ConfigError("augment", str(error).removeprefix("augment ")) from None
    return tokens


@attrs.frozen
class TrainConfig:
    """A training run: network, objective, optimizer, schedule, data and seed. The defaults are the
    11-785 HW1 handout's example (``RECIPES["handout"]``).

    - ``hidden``: hidden layer sizes; ``activation``: one name for every hidden layer, one per hidden
      layer (the output layer stays ``identity``) or one per layer; ``bn``: BatchNorm on the first
      ``bn`` layers; ``init``: weight scheme (``normal``, ``lecun``, ``xavier``, ``he``).
    - ``dropout``: ``()`` for none; one rate for every hidden layer's output; two for the input and
      every hidden layer's output; or one per layer input, the input's first (see ``layer_dropout``).
      ``l2``: scikit-learn's ``alpha`` penalty on the weights.
    - ``optimizer`` (``sgd``, ``adam``, ``adamw``) with ``lr``; ``momentum`` and ``nesterov`` for SGD;
      ``weight_decay``: SGD's coupled decay (``g + wd * p``) or AdamW's decoupled one, weights only.
    - ``schedule``: ``constant``; ``cosine`` (to 0 at the last step); ``step`` (x0.1 at half and at
      three quarters of the steps); ``exponential`` (x0.01 over all the steps); each after a linear
      warm-up of ``warmup_epochs`` from 0, fewer than ``epochs`` (0 when ``epochs`` is 0).
      ``clip_norm``: clip the gradients' global norm.
    - ``early_stopping``: patience in epochs on the validation loss (restoring the best epoch), or None.
    - ``epochs``, ``batch_size``, ``seed`` (initialisation, shuffling, dropout, and the splits of
      ``data``), ``dtype``, ``dataset`` (``mnist``, ``fashion-mnist`` or a directory of IDX files),
      ``limit`` (rows per split).
    - ``data``: instead of ``dataset``, a table file (CSV, ``.npz``, Parquet) or a folder of class
      subfolders of PNG images. For a table: ``target`` (its column), ``features`` (the columns to use;
      default all but the target), ``task`` (``classify`` or ``regress``; default inferred from the
      target), ``delimiter`` (CSV), ``impute`` (``mean``: fill missing cells with the train split's
      mean). ``validation_fraction``, ``test_fraction``: the rows held out (stratified by class), or
      ``validation``, ``test``: table files holding those splits. ``image_size``: ``(H, W)`` every
      image is resized to (default: the first image's size).
    - ``augment``: augmentation tokens of the training images (``fnmlp.training.augment_spec``), ``()``
      for none; they need square images.
    """

    hidden: tuple = attrs.field(default=(64, 64, 32), converter=_sizes)
    activation: tuple = attrs.field(default=("sigmoid",), converter=_names)
    bn: int = attrs.field(default=0, converter=_integer("bn", 0))
    init: str = attrs.field(default="normal", converter=_choice("init", INITS))
    dropout: tuple = attrs.field(default=(), converter=_rates)
    l2: float = attrs.field(default=0.0, converter=_number("l2"))
    optimizer: str = attrs.field(default="sgd", converter=_choice("optimizer", OPTIMIZERS))
    lr: float = attrs.field(default=0.008, converter=_number("lr"))
    momentum: float = attrs.field(default=0.9, converter=_number("momentum", below=1.0))
    nesterov: bool = attrs.field(default=False, converter=_boolean("nesterov"))
    weight_decay: float = attrs.field(default=0.0, converter=_number("weight_decay"))
    schedule: str = attrs.field(default="constant", converter=_choice("schedule", SCHEDULES))
    warmup_epochs: float = attrs.field(default=0.0, converter=_number("warmup_epochs"))
    clip_norm: Optional[float] = attrs.field(default=None, converter=_number("clip_norm", above=0.0, optional=True))
    early_stopping: Optional[int] = attrs.field(default=None, converter=_integer("early_stopping", 1, optional=True))
    epochs: int = attrs.field(default=100, converter=_integer("epochs", 0))
    batch_size: int = attrs.field(default=100, converter=_integer("batch_size", 1))
    seed: int = attrs.field(default=11785, converter=_integer("seed", 0, 2**32 - 1))
    dtype: str = attrs.field(default="float64", converter=_choice("dtype", DTYPES))
    dataset: str = attrs.field(default="mnist", converter=_dataset)
    limit: Optional[int] = attrs.field(default=None, converter=_integer("limit", 1, optional=True))
    # a run's own data (fnmlp.datasets.sources): a table file or a folder of class subfolders of PNGs
    data: Optional[str] = attrs.field(default=None, converter=_optional_text("data", "a table file or an image folder"))
    target: Optional[str] = attrs.field(default=None, converter=_optional_text("target", "a column name"))
    features: Optional[tuple] = attrs.field(default=None, converter=_columns)
    task: Optional[str] = attrs.field(default=None, converter=_optional_choice("task", TASKS))
    delimiter: str = attrs.field(default=",", converter=_delimiter)
    impute: Optional[str] = attrs.field(default=None, converter=_optional_choice("impute", IMPUTE))
    validation_fraction: float = attrs.field(default=0.1, converter=_number("validation_fraction", below=1.0))
    test_fraction: float = attrs.field(default=0.1, converter=_number("test_fraction", below=1.0))
    validation: Optional[str] = attrs.field(default=None, converter=_optional_text("validation", "a table file"))
    test: Optional[str] = attrs.field(default=None, converter=_optional_text("test", "a table file"))
    image_size: Optional[tuple] = attrs.field(default=None, converter=_image_size)
    augment: tuple = attrs.field(default=(), converter=_augment)

    def __attrs_post_init__(self) -> None:
        check_data_options(self)
        layer_activations(self)
        layer_dropout(self)
        if self.bn > len(self.hidden) + 1:
            raise _bad("bn", f"at most {len(self.hidden) + 1}, the number of layers", self.bn)
        if self.warmup_epochs and self.warmup_epochs >= self.epochs:
            raise _bad("warmup_epochs", f"fewer than the {self.epochs} epochs of the run (the schedule needs "
                       "at least one step after the warm-up)", f"{self.warmup_epochs:g}")
        if self.nesterov and (self.optimizer != "sgd" or self.momentum == 0.0):
            raise _bad("nesterov", "the sgd optimizer with momentum > 0",
                       f"optimizer {self.optimizer} with momentum {self.momentum:g}")

    def to_dict(self) -> dict:
        """JSON-ready: tuples become lists. ``TrainConfig.from_dict`` reads it back."""
        return {name: list(value) if isinstance(value, tuple) else value
                for name, value in attrs.asdict(self, recurse=False).items()}

    @classmethod
    def from_dict(cls, values: dict) -> "TrainConfig":
        """A config from ``to_dict``'s output; keys it lacks (a run written by an older fnmlp) take the
        handout's defaults, and unknown keys are refused."""
        unknown = sorted(set(values) - set(attrs.fields_dict(cls)))
        if unknown:
            raise ConfigError(unknown[0], "unknown option")
        return cls(**values)


def layer_activations(config: TrainConfig) -> tuple:
    """One activation name per layer: ``activation`` for every hidden layer and ``identity`` for the
    output, one per hidden layer plus ``identity``, or one per layer as given."""
    names, hidden = list(config.activation), config.hidden
    unknown = [name for name in names if name not in ACTIVATIONS]
    if unknown:
        raise _bad("activation", f"names among {', '.join(ACTIVATIONS)}", ", ".join(unknown))
    if len(names) == 1:
        return tuple(names * len(hidden) + ["identity"])
    if len(names) == len(hidden):
        return tuple(names + ["identity"])
    if len(names) == len(hidden) + 1:
        return tuple(names)
    raise _bad("activation", f"1, {len(hidden)} or {len(hidden) + 1} names for {len(hidden)} hidden layers",
               len(names))


def layer_dropout(config: TrainConfig) -> tuple:
    """One dropout rate per layer input, the input layer's first, from ``config.dropout``: none; one
    rate, for every hidden layer's output; two, for the input and then every hidden layer's output;
    or one per layer as given. Without hidden layers the one rate is the input's."""
    rates, layers = config.dropout, len(config.hidden) + 1
    if not rates:
        return (0.0,) * layers
    if len(rates) == layers:
        return rates
    if len(rates) == 1:
        return (0.0,) + rates * (layers - 1)
    if len(rates) == 2:
        return rates[:1] + rates[1:] * (layers - 1)
    raise _bad("dropout", f"1 or 2 rates, or {layers} (one per layer, the input's first)", len(rates))


RECIPES = {
    "handout": TrainConfig(),
    "best": TrainConfig(hidden=(1024, 1024), activation=("relu",), init="he", bn=2, dropout=(0.2, 0.5),
                        optimizer="sgd", lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-4,
                        schedule="cosine", epochs=50, batch_size=128, dtype="float32"),
}
# best, on augmented images, with lighter dropout (the augmentation regularises too) and 90 epochs;
# the README's "Augmentation" section gives its test error over three seeds and its time
RECIPES["best-aug"] = attrs.evolve(RECIPES["best"], dropout=(0.1, 0.3), epochs=90, augment=(
    "affine:rot=10,scale=0.1,translate=2,p=0.4", "elastic:alpha=34,sigma=4,p=0.4"))


@attrs.frozen(eq=False)
class Built:
    """What a ``TrainConfig`` builds for a data set: the network's ``spec``, the ``optimizer`` (its
    schedule counted in batches) and the ``early_stopping`` rule (``None`` without one)."""

    spec: MLPSpec
    optimizer: Optimizer
    early_stopping: Optional[EarlyStopping]


def build(config: TrainConfig, *, num_features: int, num_classes: Optional[int], num_train: int,
          num_outputs: Optional[int] = None) -> Built:
    """The spec, optimizer and early-stopping rule of ``config`` for ``num_train`` training rows of
    ``num_features`` features and ``num_classes`` classes (a schedule spans ``epochs`` epochs of
    ``ceil(num_train / batch_size)`` batches). ``num_classes=None`` is a regression: ``num_outputs``
    (default 1) linear outputs, one per target, trained on mean squared error (loss ``"mse"``)."""
    if num_classes is None:
        size, loss = 1 if num_outputs is None else num_outputs, "mse"
    else:
        size, loss = num_classes, "softmax_cross_entropy"
    spec = MLPSpec((num_features, *config.hidden, size), layer_activations(config),
                   num_bn_layers=config.bn, dropout=layer_dropout(config), l2=config.l2, loss=loss)
    return Built(spec, optimizer(config, num_train), early_stopping(config))


def learning_rate(config: TrainConfig, num_train: int) -> Any:
    """``config.lr`` as a float, or the schedule ``config`` names, in batches of ``num_train`` rows."""
    steps_per_epoch = -(-num_train // config.batch_size)
    total = max(1, config.epochs * steps_per_epoch)
    # warmup_epochs < epochs (TrainConfig checks it); the min only catches rounding up to the last step
    warmup = min(total - 1, round(config.warmup_epochs * steps_per_epoch))
    if config.schedule == "cosine":
        return warmup_cosine_decay(config.lr, warmup, total)
    rest = total - warmup
    if config.schedule == "constant":
        schedule = constant(config.lr) if warmup else config.lr
    elif config.schedule == "step":
        boundaries = sorted({step for step in (rest // 2, 3 * rest // 4) if step > 0})
        schedule = piecewise_constant(boundaries, (config.lr, config.lr * 0.1, config.lr * 0.01)[:len(boundaries) + 1])
    else:
        schedule = exponential_decay(config.lr, 0.01, transition_steps=rest)
    return linear_warmup(warmup, schedule) if warmup else schedule


def optimizer(config: TrainConfig, num_train: int) -> Optimizer:
    """The optimizer ``config`` names, its learning rate or schedule, weight decay and clipping."""
    lr = learning_rate(config, num_train)
    if config.optimizer == "sgd":
        built = sgd(lr, config.momentum, nesterov=config.nesterov, weight_decay=config.weight_decay)
    elif config.optimizer == "adam":
        built = adam(lr) if not config.weight_decay else Optimizer(chain(
            add_decayed_weights(config.weight_decay), adam(lr).transform))
    else:
        built = adamw(lr, weight_decay=config.weight_decay)
    if config.clip_norm is not None:
        built = Optimizer(chain(clip_by_global_norm(config.clip_norm), built.transform))
    return built


def early_stopping(config: TrainConfig) -> Optional[EarlyStopping]:
    """Early stopping on the validation loss with ``config.early_stopping`` epochs of patience, or ``None``."""
    return None if config.early_stopping is None else EarlyStopping(config.early_stopping, monitor="val_loss")
