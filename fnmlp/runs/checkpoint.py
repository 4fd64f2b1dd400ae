"""Checkpoints: a network's arrays, its spec and metadata in one ``.npz`` file, without pickle.

A checkpoint is an uncompressed NumPy ``.npz`` (a zip of ``.npy`` files) that
``np.load(path, allow_pickle=False)`` opens. Its member ``fnmlp.json`` is a 1-D uint8 array holding
a UTF-8 JSON header: the format marker and version, the spec (``MLPSpec.to_dict()``), the caller's
``meta``, the optimizer state's structure (``fnmlp.optimizers.serialization``) and, in training
checkpoints, the optimizer as JSON (its chain of transforms and schedules), the epoch, the
generators' states (shuffling, dropout and, once augmentation has begun, augmentation) and the
early-stopping counters. Every other member is one array, named for where
it lives: ``params.W.0``, ``bn_state.running_mean.0``, ``opt_state.1.trace.W.0``, ``order``,
``rng.state.key``, ``early_stopping.params.W.0``... Version 1 files (SGD only) still load.

Three pairs of functions share the format and differ in what they store:

- ``save_params`` / ``load_params``: parameters and BatchNorm statistics, a trained network;
- ``save_checkpoint`` / ``load_checkpoint``: the same and, optionally, the optimizer state;
- ``save_train_state`` / ``load_train_state``: a whole ``TrainState`` and its optimizer, from which
  ``fit_from`` continues bit for bit.

A loader reads any checkpoint that holds what it returns (``load_params`` reads a training
checkpoint too). Saving checks everything before it touches the file system, then replaces the
file atomically: a crash or Ctrl-C while saving leaves the previous file as it was.
"""

from __future__ import annotations

import json
import os
import zipfile
import zlib
from typing import Any, Optional, Union

import attrs
import numpy as np

from ..utils import checks as _checks
from ..utils.atomic import atomic_write
from ..model.activations import ACTIVATIONS, unknown_activation_hint
from ..model.losses import LOSSES
from ..optimizers import EmptyState, Optimizer, TraceState, sgd
from ..optimizers.serialization import STATES, from_json, state_from_json, state_to_json, to_json
from ..model.params import BatchNormState, Params, check_params, check_state, param_shapes
from ..model.spec import MLPSpec
from ..model.tree import to_numpy
from ..training.loop import EarlyStoppingState, TrainState

__all__ = ["save_params", "load_params", "save_checkpoint", "load_checkpoint", "save_train_state",
           "load_train_state", "FORMAT", "VERSION"]

FORMAT = "fnmlp-checkpoint"
VERSION = 2
HEADER = "fnmlp.json"

PathLike = Union[str, "os.PathLike[str]"]
_BIT_GENERATORS = {cls.__name__: cls for cls in (np.random.MT19937, np.random.PCG64, np.random.PCG64DXSM,
                                                 np.random.Philox, np.random.SFC64)}


# --- Saving ---------------------------------------------------------------------------------------

def save_params(path: PathLike, spec: MLPSpec, params: Params, state: BatchNormState,
                meta: Optional[dict] = None) -> None:
    """Write ``spec``, ``params``, BatchNorm ``state`` and the JSON-ready dict ``meta`` to ``path``."""
    save_checkpoint(path, spec, params, state, None, meta)


def save_checkpoint(path: PathLike, spec: MLPSpec, params: Params, state: BatchNormState,
                    opt_state: Any = None, meta: Optional[dict] = None) -> None:
    """Write ``spec``, ``params``, BatchNorm ``state``, ``opt_state`` (an optimizer state of
    ``fnmlp.optimizers``, or ``None``) and ``meta`` to ``path``.

    ``path`` gets exactly that name (no ``.npz`` is appended). ``meta`` (default ``{}``) is any dict
    ``json.dumps`` accepts; it loads back as JSON gives it (tuples become lists, NaN stays NaN).
    Arrays keep their dtypes; another library's arrays are written as NumPy's (copied to the host),
    and load back as NumPy arrays (``fnmlp.to_namespace`` moves them back). Raises
    ``TypeError``/``ValueError`` before writing anything when an argument is wrong.
    """
    path = _save_path(path)
    params, state, opt_state = to_numpy((params, state, opt_state))
    _check_arrays(spec, params, state, opt_state, "", "state")
    opt_json, opt_arrays = _opt_state_json(opt_state, "opt_state")
    header = _header(spec, meta, opt_json)
    _write_atomically(path, header, {**_arrays(params, state), **opt_arrays})


def save_train_state(path: PathLike, spec: MLPSpec, optimizer: Optimizer, train_state: TrainState,
                     meta: Optional[dict] = None) -> None:
    """Write everything ``fit_from`` needs to continue ``train_state`` exactly, and ``meta``, to ``path``.

    That is ``spec``, the ``optimizer`` as JSON (any optimizer of ``fnmlp.optimizers`` whose
    schedules and masks are its own records, not a user's functions), ``train_state``'s parameters,
    BatchNorm and optimizer states, epoch, row ``order``, its generators (``rng``, ``dropout_rng`` and
    ``augment_rng``: NumPy ``RandomState`` or ``Generator``, stored as their bit generators' states)
    and its early-stopping state. Call it
    from ``fit``'s ``on_epoch``. Another library's arrays are written as NumPy's (see ``save_checkpoint``).
    """
    path = _save_path(path)
    _checks.instance("spec", spec, MLPSpec)
    _checks.instance("optimizer", optimizer, Optimizer)
    _checks.instance("train_state", train_state, TrainState)
    train_state = to_numpy(train_state)
    _check_arrays(spec, train_state.params, train_state.bn_state, None, "train_state.", "bn_state")
    optimizer.check_state("train_state.opt_state", train_state.opt_state, train_state.params)
    optimizer_json = to_json(optimizer)
    epoch = _checks.integer("train_state.epoch", train_state.epoch, minimum=0)
    _checks.permutation("train_state.order", train_state.order)
    rng_json, rng_arrays = _rng_to_json(train_state.rng, "rng")
    dropout_json, dropout_arrays = (_rng_to_json(train_state.dropout_rng, "dropout_rng")
                                    if train_state.dropout_rng is not None else (None, {}))
    augment_json, augment_arrays = (_rng_to_json(train_state.augment_rng, "augment_rng")
                                    if train_state.augment_rng is not None else (None, {}))
    stopping_json, stopping_arrays = _early_stopping_json(spec, train_state.early_stopping, epoch)
    opt_json, opt_arrays = _opt_state_json(train_state.opt_state, "opt_state")
    train = {"optimizer": optimizer_json, "epoch": epoch, "rng": rng_json, "dropout_rng": dropout_json,
             "early_stopping": stopping_json}
    if augment_json is not None:  # absent otherwise, as in files written before augmentation
        train["augment_rng"] = augment_json
    header = _header(spec, meta, opt_json, train)
    arrays = {**_arrays(train_state.params, train_state.bn_state), **opt_arrays}
    arrays["order"] = train_state.order
    arrays.update(rng_arrays)
    arrays.update(dropout_arrays)
    arrays.update(augment_arrays)
    arrays.update(stopping_arrays)
    _write_atomically(path, header, arrays)


def _opt_state_json(opt_state: Any, name: str) -> tuple:
    """``(description or None, arrays)`` of an optimizer state (see ``state_to_json``)."""
    if opt_state is None:
        return None, {}
    return state_to_json(opt_state, name)


def _early_stopping_json(spec: MLPSpec, stopping: Any, epoch: int) -> tuple:
    if stopping is None:
        return None, {}
    _checks.instance("train_state.early_stopping", stopping, EarlyStoppingState)
    _check_arrays(spec, stopping.params, stopping.bn_state, None, "train_state.early_stopping.", "bn_state")
    best = _checks.real("train_state.early_stopping.best", stopping.best) if stopping.best != float("inf") \
        else stopping.best
    counts = {name: _checks.integer(f"train_state.early_stopping.{name}", getattr(stopping, name), minimum=0)
              for name in ("best_epoch", "bad_epochs")}
    arrays = {**_named_leaves("early_stopping.params", stopping.params),
              **_named_leaves("early_stopping.bn_state", stopping.bn_state)}
    return {"best": best, **counts}, arrays


def _path(path: Any) -> str:
    path = _checks.path("path", path)
    if os.path.isdir(path):
        _checks.fail(IsADirectoryError, "path", "a checkpoint file", f"the directory {path!r}")
    return path


def _save_path(path: Any) -> str:
    """``_path``, naming a file in an existing directory (the new file is written beside it first)."""
    path = _path(path)
    if not os.path.isdir(os.path.dirname(path) or "."):
        _checks.fail(FileNotFoundError, "path", "a file in an existing directory",
                     f"{path!r}, whose directory does not exist")
    return path


def _check_arrays(spec: MLPSpec, params: Any, state: Any, opt_state: Any, prefix: str, state_name: str) -> None:
    _checks.instance("spec", spec, MLPSpec)
    _check_registered(spec)
    check_params(spec, params, f"{prefix}params")
    check_state(spec, state, f"{prefix}{state_name}")
    if opt_state is not None:
        if not isinstance(opt_state, tuple) and type(opt_state) not in set(STATES.values()) - {Params}:
            _checks.fail(TypeError, f"{prefix}opt_state", "an optimizer state (a tuple or a state record of "
                         "fnmlp.optimizers)", type(opt_state).__name__)
        _check_state_params(spec, opt_state, f"{prefix}opt_state")


def _check_state_params(spec: MLPSpec, tree: Any, name: str) -> None:
    """Raise unless every ``Params`` inside the optimizer state ``tree`` fits ``spec``."""
    if isinstance(tree, Params):
        check_params(spec, tree, name)
    elif isinstance(tree, tuple):
        for i, item in enumerate(tree):
            _check_state_params(spec, item, f"{name}[{i}]")
    elif attrs.has(type(tree)):
        for field in attrs.fields(type(tree)):
            _check_state_params(spec, getattr(tree, field.name), f"{name}.{field.name}")


def _header(spec: MLPSpec, meta: Any, opt_state: Any, train: Optional[dict] = None) -> bytes:
    meta = {} if meta is None else meta
    if not isinstance(meta, dict):
        _checks.fail(TypeError, "meta", "a JSON-serialisable dict", _checks.describe(meta))
    header = {"format": FORMAT, "version": VERSION, "spec": spec.to_dict(), "opt_state": opt_state,
              "train": train, "meta": meta}
    try:
        return json.dumps(header).encode("utf-8")
    except (TypeError, ValueError) as error:  # only meta can fail; ValueError: a circular reference
        _checks.fail(TypeError, "meta", "a JSON-serialisable dict", f"{_checks.describe(meta)} ({error})")


def _arrays(params: Params, state: BatchNormState) -> dict:
    return {**_named_leaves("params", params), **_named_leaves("bn_state", state)}


def _named_leaves(prefix: str, tree: Any) -> dict:
    """``{"params.W.0": W[0], ...}``: every array of a record, named by its fields and positions."""
    if attrs.has(type(tree)):
        children = [(f.name, getattr(tree, f.name)) for f in attrs.fields(type(tree))]
    elif isinstance(tree, tuple):
        children = list(enumerate(tree))
    else:
        return {prefix: tree}
    return {name: leaf for key, child in children for name, leaf in _named_leaves(f"{prefix}.{key}", child).items()}


def _rng_to_json(rng: Any, name: str) -> tuple:
    """``({"type": ..., "state": ...}, arrays)``: the generator's state as JSON, arrays kept apart
    (named ``{name}.state...``)."""
    if isinstance(rng, np.random.RandomState):
        state = rng.get_state(legacy=False)
    elif isinstance(rng, np.random.Generator):
        state = rng.bit_generator.state
    else:
        _checks.fail(TypeError, f"train_state.{name}", "a NumPy RandomState or Generator", type(rng).__name__)
    if state["bit_generator"] not in _BIT_GENERATORS:
        _checks.fail(ValueError, f"train_state.{name}", f"a bit generator among {sorted(_BIT_GENERATORS)}",
                     state["bit_generator"])
    arrays = {}

    def encode(value: Any, name: str) -> Any:
        if isinstance(value, dict):
            return {key: encode(item, f"{name}.{key}") for key, item in value.items()}
        if isinstance(value, np.ndarray):
            arrays[name] = value
            return {"array": name}
        return value.item() if isinstance(value, np.generic) else value

    return {"type": type(rng).__name__, "state": encode(state, name)}, arrays


def _write_atomically(path: str, header: bytes, arrays: dict) -> None:
    """Write the npz beside ``path`` and rename it into place (see ``fnmlp._atomic``)."""
    with atomic_write(path) as file:
        _write_npz(file, {HEADER: np.frombuffer(header, dtype=np.uint8), **arrays})


def _write_npz(file: Any, arrays: dict) -> None:
    """What ``np.savez`` writes, with pickling refused (and on every NumPy version since 1.22)."""
    with zipfile.ZipFile(file, "w", zipfile.ZIP_STORED) as archive:
        for name, array in arrays.items():
            with archive.open(f"{name}.npy", "w", force_zip64=True) as member:
                np.lib.format.write_array(member, np.asarray(array), allow_pickle=False)


# --- Loading --------------------------------------------------------------------------------------

def load_params(path: PathLike) -> tuple:
    """``(spec, params, state, meta)`` from any checkpoint; arrays are read-only, dtypes as saved.

    Raises ``FileNotFoundError`` naming ``path`` for a missing file, and ``ValueError`` as
    ``load_checkpoint`` does.
    """
    spec, params, state, _, meta, _ = _load(path)
    return spec, params, state, meta


def load_checkpoint(path: PathLike) -> tuple:
    """``(spec, params, state, opt_state, meta)`` from any checkpoint; ``opt_state`` is ``None`` when
    the file has none (a ``save_params`` file).

    Raises ``ValueError`` naming ``path`` when the file is not a complete fnmlp checkpoint of this
    or an older format version, or its arrays do not fit its spec.
    """
    return _load(path)[:5]


def load_train_state(path: PathLike) -> tuple:
    """``(spec, optimizer, train_state, meta)`` from a ``save_train_state`` file, ready for ``fit_from``.

    Raises ``ValueError`` as ``load_checkpoint`` does, and for a file without training state, with
    an optimizer this fnmlp does not know, or an optimizer state that does not fit the optimizer.
    """
    spec, params, state, opt_state, meta, train = _load(path)
    if train is None:
        _file_error(os.fspath(path), "training state",
                    "a parameters-only checkpoint (saved by save_params or save_checkpoint)")
    optimizer, epoch, order, rng, dropout_rng, stopping, augment_rng = train
    return spec, optimizer, TrainState(params, state, opt_state, epoch, order, rng, dropout_rng, stopping,
                                       augment_rng), meta


def _load(path: PathLike) -> tuple:
    """``(spec, params, state, opt_state, meta, train)``, every part checked; ``train`` is
    ``(optimizer, epoch, order, rng, dropout_rng, early_stopping, augment_rng)`` or ``None``."""
    path = _path(path)
    if not os.path.exists(path):
        _checks.fail(FileNotFoundError, "path", "a checkpoint file", f"{path!r}, which does not exist")
    header, arrays = _read(path)
    _check_names(path, header["spec"])
    try:
        spec = MLPSpec(**header["spec"])
    except (TypeError, ValueError) as error:
        _file_error(path, "a valid spec", _reason(error))
    try:
        params = _record(Params, "params", spec, arrays)
        state = _record(BatchNormState, "bn_state", spec, arrays)
        opt_state = _opt_state(header, spec, arrays)
        _check_arrays(spec, params, state, opt_state, "", "bn_state")
    except (TypeError, ValueError) as error:
        _file_error(path, f"arrays that fit the spec {spec.layer_sizes}", _reason(error))
    train = header["train"]
    if train is not None:
        try:
            train = _train(header["version"], train, spec, params, opt_state, arrays)
        except (KeyError, TypeError, ValueError) as error:
            _file_error(path, "a valid training state", _reason(error))
    if arrays:
        _file_error(path, "only the arrays its header describes", f"also {sorted(arrays)[:8]}")
    return spec, params, state, opt_state, header["meta"], train


def _check_names(path: str, spec: dict) -> None:
    """Refuse a spec naming an activation or a loss this program has not registered (never another in
    its place), saying how to make it known."""
    names = spec.get("activations")
    for i, name in enumerate(names if isinstance(names, list) else []):
        if isinstance(name, str) and name not in ACTIVATIONS:
            raise ValueError(f"{path}: its spec's activations[{i}] is {name!r}, an activation this program does not "
                             f"know (known: {', '.join(sorted(ACTIVATIONS))}); {unknown_activation_hint(name)}, "
                             f"then load again")
    loss = spec.get("loss", "softmax_cross_entropy")
    if isinstance(loss, str) and loss not in LOSSES:
        raise ValueError(f"{path}: its spec's loss is {loss!r}, a loss this program does not know (known: "
                         f"{', '.join(sorted(LOSSES))}); make it known first with fnmlp.register_loss(fnmlp.Loss("
                         f"{loss!r}, ...)), then load again")


def _check_registered(spec: MLPSpec) -> None:
    """Refuse to save a spec whose activations or loss its names would not give back on loading."""
    for i, activation in enumerate(spec.activations):
        if ACTIVATIONS.get(activation.name) is not activation:
            _checks.fail(ValueError, f"spec.activations[{i}]", "an activation registered under its name, so that "
                         "loading finds it again (fnmlp.register_activation(activation) first)",
                         f"{activation.name!r}, " + ("not registered" if activation.name not in ACTIVATIONS
                                                     else "another activation than the one registered by that name"))
    if LOSSES.get(spec.loss.name) is not spec.loss:
        _checks.fail(ValueError, "spec.loss", "a loss registered under its name (fnmlp.register_loss(loss) first)",
                     repr(spec.loss.name))


def _opt_state(header: dict, spec: MLPSpec, arrays: dict) -> Any:
    """The optimizer state the header describes (a version 1 file's SGD velocity becomes the state
    of ``sgd(lr, momentum)``), or ``None``."""
    described = header["opt_state"]
    if header["version"] == 1:
        return (EmptyState(), TraceState(_record(Params, "opt_state.velocity", spec, arrays))) if described else None
    if described is None or described is False:
        return None
    return state_from_json(described, lambda name: _take(arrays, name))


def _train(version: int, train: dict, spec: MLPSpec, params: Params, opt_state: Any, arrays: dict) -> tuple:
    """``(optimizer, epoch, order, rng, dropout_rng, early_stopping, augment_rng)`` from the header's
    ``train`` entry and ``arrays``."""
    if opt_state is None:
        raise ValueError("opt_state: expected the optimizer state of the training state, got none")
    if version == 1:
        fields = dict(train["optimizer"])
        kind = fields.pop("type")
        if kind != "SGD":
            raise ValueError(f"optimizer: expected one of ['SGD'], got {kind!r}")
        optimizer = sgd(**fields)
    else:
        optimizer = from_json(train["optimizer"])
        if not isinstance(optimizer, Optimizer):
            raise ValueError(f"optimizer: expected an Optimizer, got {type(optimizer).__name__}")
    optimizer.check_state("opt_state", opt_state, params)
    epoch = _checks.integer("epoch", train["epoch"], minimum=0)
    order = _take(arrays, "order")
    _checks.permutation("order", order)
    rng = _rng_from_json(train["rng"], arrays)
    dropout_rng = _rng_from_json(train["dropout_rng"], arrays) if train.get("dropout_rng") is not None else None
    augment_rng = _rng_from_json(train["augment_rng"], arrays) if train.get("augment_rng") is not None else None
    stopping = train.get("early_stopping")
    if stopping is not None:
        best = stopping["best"]
        if isinstance(best, bool) or not isinstance(best, (int, float)) or best != best:
            raise ValueError(f"early_stopping.best: expected a number, got {best!r}")
        stopping = EarlyStoppingState(float(best), _checks.integer("early_stopping.best_epoch", stopping["best_epoch"],
                                                                   minimum=0, maximum=epoch),
                                      _checks.integer("early_stopping.bad_epochs", stopping["bad_epochs"], minimum=0),
                                      _record(Params, "early_stopping.params", spec, arrays),
                                      _record(BatchNormState, "early_stopping.bn_state", spec, arrays))
        _check_arrays(spec, stopping.params, stopping.bn_state, None, "early_stopping.", "bn_state")
    return optimizer, epoch, order, rng, dropout_rng, stopping, augment_rng


def _read(path: str) -> tuple:
    """``(header, arrays)``: the parsed header and every other member, read into memory."""
    with open(path, "rb") as file:
        if not zipfile.is_zipfile(file):
            size = os.fstat(file.fileno()).st_size
            _file_error(path, "an fnmlp checkpoint (an npz file)",
                        "an empty file" if size == 0 else "a file that is not a complete zip archive")
        file.seek(0)
        try:
            with np.load(file, allow_pickle=False) as npz:
                members = {name: npz[name] for name in npz.files}
        except (zipfile.BadZipFile, zlib.error, EOFError, ValueError, KeyError, RuntimeError) as error:
            _file_error(path, "an fnmlp checkpoint (an npz file)", f"an unreadable npz ({_reason(error)})")
    for name, array in members.items():
        if not isinstance(array, np.ndarray):
            _file_error(path, "an npz whose members are .npy arrays", f"'{name}', which is not")
    encoded = members.pop(HEADER, None)
    if encoded is None:
        _file_error(path, "an fnmlp checkpoint", f"an npz without the '{HEADER}' header, holding "
                                                 f"{sorted(members)[:8]}")
    if encoded.dtype != np.uint8 or encoded.ndim != 1:
        _file_error(path, f"a 1-D uint8 '{HEADER}'", _checks.describe(encoded))
    try:
        header = json.loads(encoded.tobytes().decode("utf-8"))
    except ValueError as error:  # UnicodeDecodeError and JSONDecodeError included
        _file_error(path, f"a UTF-8 JSON '{HEADER}'", _reason(error))
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        _file_error(path, "an fnmlp checkpoint", f"an npz whose '{HEADER}' is not an fnmlp header")
    version = header.get("version")
    if isinstance(version, bool) or not isinstance(version, int) or not 1 <= version <= VERSION:
        _file_error(path, f"format version {VERSION} or older",
                    f"version {version!r}" + (" (written by a newer fnmlp)" if isinstance(version, int)
                                              and version > VERSION else ""))
    opt_kind = bool if version == 1 else (dict, type(None))
    for key, kind in (("spec", dict), ("opt_state", opt_kind), ("train", (dict, type(None))), ("meta", dict)):
        if not isinstance(header.get(key), kind):
            _file_error(path, f"a header with '{key}'", _checks.describe(header.get(key)))
    return header, members


def _record(record: type, prefix: str, spec: MLPSpec, arrays: dict) -> Any:
    """A ``Params`` or ``BatchNormState`` of the arrays named ``{prefix}.{field}.{i}``, for ``spec``."""
    shapes = param_shapes(spec)
    return record(**{field.name: [_take(arrays, f"{prefix}.{field.name}.{i}") for i in range(len(shapes[field.name]))]
                     for field in attrs.fields(record)})


def _take(arrays: dict, name: str) -> np.ndarray:
    if name not in arrays:
        raise ValueError(f"array '{name}' is missing")
    return arrays.pop(name)


def _rng_from_json(encoded: Any, arrays: dict) -> Any:
    """The ``RandomState`` or ``Generator`` ``_rng_to_json`` described, in the same state."""

    def decode(value: Any) -> Any:
        if isinstance(value, dict):
            if set(value) == {"array"}:
                return _take(arrays, value["array"])
            return {key: decode(item) for key, item in value.items()}
        return value

    state = decode(encoded["state"])
    if state["bit_generator"] not in _BIT_GENERATORS:
        raise ValueError(f"rng: expected a bit generator among {sorted(_BIT_GENERATORS)}, "
                         f"got {state['bit_generator']!r}")
    bit_generator = _BIT_GENERATORS[state["bit_generator"]]()
    if encoded["type"] == "RandomState":
        rng = np.random.RandomState(bit_generator)
        rng.set_state(state)
        return rng
    if encoded["type"] != "Generator":
        raise ValueError(f"rng: expected a RandomState or a Generator, got {encoded['type']!r}")
    bit_generator.state = state
    return np.random.Generator(bit_generator)


def _reason(error: BaseException) -> str:
    if isinstance(error, KeyError):
        return f"no {error.args[0]!r} entry" if error.args else "a missing entry"
    return str(error) or type(error).__name__


def _file_error(path: str, expected: str, got: str) -> None:
    raise ValueError(f"{path}: expected {expected}, got {got}") from None
