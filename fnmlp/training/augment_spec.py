"""Augmentations as command-line tokens: ``parse_augment`` builds a ``Compose`` of ``fnmlp.training.augment``
transforms from tokens such as ``["shift:2", "affine:rot=15,scale=0.1", "elastic:alpha=34,sigma=4,p=0.5"]``,
and ``describe_augment`` writes the tokens back."""

from __future__ import annotations

from typing import Any, Sequence

from ..utils import checks as _checks
from .augment import Affine, Compose, Elastic, Shift

__all__ = ["parse_augment", "describe_augment", "TRANSFORMS"]

TRANSFORMS = {"shift": Shift, "affine": Affine, "elastic": Elastic}
_KEYS = {  # token key -> field
    "shift": {"max": "max_pixels", "fill": "fill"},
    "affine": {"rot": "rotation", "rotation": "rotation", "scale": "scale", "shear": "shear",
               "translate": "translation", "translation": "translation", "fill": "fill"},
    "elastic": {"alpha": "alpha", "sigma": "sigma", "fill": "fill"},
}
_WRITTEN = ("rot", "scale", "shear", "translate", "alpha", "sigma", "fill")  # the keys describe_augment writes


def _token_value(field: str, text: str) -> Any:
    """``text`` as the value of ``field``: an int, a float or a ``low..high`` pair of floats."""
    try:
        if field == "max_pixels":
            return int(text)
        if field in ("rotation", "scale", "shear", "translation") and ".." in text:
            return tuple(float(end) for end in text.split("..", 1))
        return float(text)
    except ValueError:
        kind = {"max_pixels": "an integer", "fill": "a number", "p": "a number"}.get(field, "a number or low..high")
        raise ValueError(f"{field}: expected {kind}, got {text!r}") from None


def _parse_token(token: Any, where: str, fill: float) -> tuple:
    if not isinstance(token, str):
        _checks.fail(TypeError, where, "a string such as 'shift:2'", _checks.describe(token))
    name, _, rest = token.partition(":")
    context = f"augment {token!r}"
    if name not in TRANSFORMS:
        _checks.fail(ValueError, context, f"a transform among {', '.join(TRANSFORMS)}", repr(name))
    keys, values = {**_KEYS[name], "p": "p"}, {}
    for j, item in enumerate(rest.split(",") if rest else []):
        key, equals, text = item.partition("=") if "=" in item or j or name != "shift" else ("max", "=", item)
        if not equals or key not in keys or keys[key] in values:
            expected = "key=value items" if not equals else f"each key once, among {', '.join(keys)}"
            _checks.fail(ValueError, context, expected, repr(item))
        try:
            values[keys[key]] = _token_value(keys[key], text)
        except ValueError as error:
            raise ValueError(f"{context}: {error}") from None
    try:
        p = _checks.real("p", values.pop("p", 1.0), minimum=0.0, maximum=1.0)
        return TRANSFORMS[name](**{"fill": fill, **values}), p
    except (TypeError, ValueError) as error:
        raise ValueError(f"{context}: {error}") from None


def parse_augment(tokens: Sequence[str] | str, *, fill: float = 0.0) -> Compose:
    """A ``Compose`` from command-line tokens, applied in order: ``name[:items]`` with ``name`` one of
    ``shift``, ``affine``, ``elastic`` and ``items`` comma-separated ``key=value``:

    - ``shift:N`` (or ``shift:max=N``), ``fill``;
    - ``affine``: ``rot`` (or ``rotation``), ``scale``, ``shear``, ``translate`` (or ``translation``),
      each a number ``r`` for ``(-r, r)`` or a range ``low..high``; ``fill``;
    - ``elastic``: ``alpha``, ``sigma``, ``fill``;
    - any: ``p``, the probability per image (default 1).

    ``tokens``: a list of tokens, or one string of tokens separated by spaces; ``fill``: the ``fill``
    of the transforms whose token gives none (with standardised data, a blank pixel's standardised
    value). An unknown name or key, or a bad value, raises ``ValueError`` naming the token.
    ``describe_augment`` is the inverse.
    """
    fill = _checks.real("fill", fill)
    tokens = tokens.split() if isinstance(tokens, str) else tokens
    if not isinstance(tokens, (list, tuple)):
        _checks.fail(TypeError, "tokens", "a list of strings or a string", _checks.describe(tokens))
    return Compose([_parse_token(token, f"tokens[{i}]", fill) for i, token in enumerate(tokens)])


def _format(value: float) -> str:
    return str(int(value)) if float(value).is_integer() and abs(value) < 1e15 else repr(float(value))


def _describe_one(transform: Any, p: float, fill: float) -> str:
    name = next((name for name, cls in TRANSFORMS.items() if type(transform) is cls), None)
    if name is None:
        _checks.fail(ValueError, "transform", "a Shift, Affine, Elastic or Compose of them", type(transform).__name__)
    items = [str(transform.max_pixels)] if name == "shift" else []
    for key, field in {key: field for key, field in _KEYS[name].items() if key in _WRITTEN}.items():
        value = getattr(transform, field)
        if isinstance(value, tuple) and value != (0.0, 0.0):
            low, high = map(_format, value)
            items.append(f"{key}={high}" if value[0] == -value[1] else f"{key}={low}..{high}")
        elif not isinstance(value, tuple) and (field != "fill" or value != fill):
            items.append(f"{key}={_format(value)}")
    items += [f"p={_format(p)}"] if p != 1.0 else []
    return name + (":" + ",".join(items) if items else "")


def describe_augment(transform: Any, *, fill: float = 0.0) -> list:
    """The tokens of ``transform`` (a ``Shift``, ``Affine``, ``Elastic`` or ``Compose`` of them), such
    that ``parse_augment(describe_augment(t))`` equals ``t`` (for a ``Compose``; a single transform
    comes back as ``Compose([t])``; a nested ``Compose`` with probability 1 comes back flattened, which
    transforms images identically); a ``fill`` equal to ``fill`` is left out, as ``parse_augment``'s
    ``fill`` puts it back. ``" ".join`` of them is the one-string form."""
    fill = _checks.real("fill", fill)
    if not isinstance(transform, Compose):
        return [_describe_one(transform, 1.0, fill)]
    tokens = []
    for inner, p in transform.steps:
        if isinstance(inner, Compose) and p == 1.0:
            tokens.extend(describe_augment(inner, fill=fill))
        elif isinstance(inner, Compose):
            _checks.fail(ValueError, "transform", "no Compose nested with a probability below 1", p)
        else:
            tokens.append(_describe_one(inner, p, fill))
    return tokens
