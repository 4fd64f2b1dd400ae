"""A trained network written as an ONNX model, built with the ``onnx`` package's helpers.

The model computes what ``fnmlp.predict`` computes, in eval mode, from the raw inputs:

- input ``input``: ``[N, features]`` float32 (float64 with ``dtype=np.float64``), ``N`` free;
- with ``standardize``, missing values (NaN) filled first when it carries fill values, then
  ``(input - mean) / std`` per feature, or ``(input / 255 - pixel_mean) / pixel_std`` for raw pixels;
- each layer ``MatMul`` by ``W[i]`` ``(n[i], n[i+1])``, ``Add`` of ``b[i]`` (BatchNorm folded in with its
  running statistics: ``W * s``, ``(b - mean) * s + beta``, ``s = gamma / sqrt(var + eps)``), then its
  activation, the last layer's included;
- outputs, for classification: ``logits`` ``[N, classes]`` (the network's outputs) and
  ``probabilities`` ``[N, classes]`` (their softmax); for regression: ``values`` ``[N, outputs]``
  (``outputs * target_std + target_mean`` with a target scale).

Activations: ``identity``/``linear`` (no node), ``sigmoid``, ``tanh``, ``relu``, ``leaky_relu``
(``LeakyRelu``, slope 0.01), ``elu`` (``Elu``, alpha 1), ``softplus`` (``Softplus``), ``silu``
(``z * Sigmoid(z)``) and ``gelu``: fnmlp's GELU is the tanh approximation
``0.5 z (1 + tanh(sqrt(2/pi) (z + 0.044715 z^3)))``, written as ``z * Sigmoid(2 sqrt(2/pi) (z + 0.044715
z^3))`` as fnmlp computes it. The model's metadata holds ``task``, and ``classes`` and ``features``
(JSON lists) when given.
"""

from __future__ import annotations

import json
import os
from typing import Any, Mapping, Optional, Sequence, Union

import numpy as np

from ..utils import checks as _checks
from ..utils.atomic import atomic_write
from ..model.activations import builtins
from ..model.params import BatchNormState, Params, check_params, check_state
from ..model.spec import MLPSpec

__all__ = ["DEFAULT_OPSET", "ONNX_ACTIVATIONS", "export_onnx"]

PathLike = Union[str, "os.PathLike[str]"]

DEFAULT_OPSET = 17
ONNX_ACTIVATIONS = ("identity", "linear", "sigmoid", "tanh", "relu", "leaky_relu", "elu", "gelu", "softplus",
                    "silu")
_GELU_SCALE = 2.0 * builtins._GELU_C


def export_onnx(spec: MLPSpec, params: Params, bn_state: BatchNormState, path: PathLike, *,
                standardize: Any = None, classes: Optional[Sequence] = None, task: Optional[str] = None,
                target_scale: Optional[tuple] = None, features: Optional[Sequence[str]] = None,
                opset: int = DEFAULT_OPSET, dtype: Any = np.float32) -> str:
    """Write ``spec``'s network with ``params`` and ``bn_state`` to ``path`` as an ONNX model (see the
    module's docstring for its inputs, outputs and nodes); returns ``path`` as a string.

    - ``standardize``: ``None``; a ``(mean, std)`` pair (scalars or ``(features,)`` arrays); a mapping
      with ``"mean"``, ``"std"`` and optionally ``"fill"`` (``(features,)``, the value of a NaN input),
      or with ``"pixel_mean"`` and ``"pixel_std"`` (inputs are raw pixels 0-255); or a record with
      ``mean``, ``std`` and ``fill`` attributes (``fnmlp.table_data.Preprocessing``).
    - ``task``: ``"classify"`` or ``"regress"``; by default ``"regress"`` for an MSE loss, else
      ``"classify"``.
    - ``target_scale``: ``(target_mean, target_std)`` undone on a regression network's outputs; by
      default those of ``standardize`` when it has ``target_mean`` and ``target_std``, else none.
    - ``classes``: one JSON-ready value per output, stored in the metadata; ``features``: the input
      names, likewise.
    - ``dtype``: float32 (default) or float64, the model's input, weights and outputs.

    Raises ``ValueError`` naming an activation without an ONNX form (a user-registered one),
    ``ImportError`` when the ``onnx`` package is missing.
    """
    try:
        import onnx
        from onnx import TensorProto, helper, numpy_helper
    except ImportError:
        raise ImportError("fnmlp.export_onnx needs the onnx package: pip install 'fnmlp[onnx]'") from None
    _checks.instance("spec", spec, MLPSpec)
    check_params(spec, params, finite=True)
    check_state(spec, bn_state, "bn_state", finite=True)
    target = _checks.path("path", path)
    dtype = _checks.float_dtype("dtype", dtype)
    opset = _checks.integer("opset", opset, minimum=13, maximum=onnx.defs.onnx_opset_version())
    width, outputs = spec.layer_sizes[0], spec.layer_sizes[-1]
    task = ("regress" if spec.loss.name == "mse" else "classify") if task is None else task
    if task not in ("classify", "regress"):
        _checks.fail(ValueError, "task", "'classify' or 'regress'", repr(task))
    for i, activation in enumerate(spec.activations):
        if _builtin_name(activation) is None:
            _checks.fail(ValueError, f"spec.activations[{i}]", f"an activation with an ONNX form, one of "
                         f"{list(ONNX_ACTIVATIONS)}", f"{activation.name!r}, which has none")
    mean, std, fill = _standardization(standardize, width)
    target_scale = _target_scale(target_scale, standardize, task)
    metadata = {"task": task}
    if classes is not None:
        if len(classes) != outputs:
            _checks.fail(ValueError, "classes", f"{outputs} values, one per output", len(classes))
        metadata["classes"] = json.dumps(list(classes))
    if features is not None:
        if len(features) != width:
            _checks.fail(ValueError, "features", f"{width} names, one per input", len(features))
        metadata["features"] = json.dumps(list(features))

    graph = _Graph(numpy_helper, helper, dtype)
    x = "input"
    if fill is not None:
        x = graph.node("Where", [graph.node("IsNaN", [x]), graph.constant("fill", fill), x], "filled")
    if mean is not None:
        x = graph.node("Div", [graph.node("Sub", [x, graph.constant("mean", mean)]), graph.constant("std", std)],
                       "standardized")
    for i, (W, b) in enumerate(_folded_layers(spec, params, bn_state)):
        z = graph.node("Add", [graph.node("MatMul", [x, graph.constant(f"W{i}", W)]), graph.constant(f"b{i}", b)])
        x = _activation(graph, spec.activations[i], z)
    elem = TensorProto.DOUBLE if dtype == np.float64 else TensorProto.FLOAT
    if task == "classify":
        graph.node("Identity", [x], "logits")
        graph.node("Softmax", ["logits"], "probabilities", axis=-1)
        names = ("logits", "probabilities")
    else:
        if target_scale is not None:
            x = graph.node("Add", [graph.node("Mul", [x, graph.constant("target_std", target_scale[1])]),
                                   graph.constant("target_mean", target_scale[0])])
        graph.node("Identity", [x], "values")
        names = ("values",)
    model = helper.make_model_gen_version(
        helper.make_graph(graph.nodes, "fnmlp", [helper.make_tensor_value_info("input", elem, ["N", width])],
                          [helper.make_tensor_value_info(name, elem, ["N", outputs]) for name in names],
                          graph.initializers),
        producer_name="fnmlp", opset_imports=[helper.make_opsetid("", opset)])
    helper.set_model_props(model, metadata)
    onnx.checker.check_model(model, full_check=True)
    with atomic_write(target) as file:
        file.write(model.SerializeToString())
    return target


class _Graph:
    """Nodes and initializers as they are added; names made unique by a counter."""

    def __init__(self, numpy_helper: Any, helper: Any, dtype: np.dtype) -> None:
        self.numpy_helper, self.helper, self.dtype = numpy_helper, helper, dtype
        self.nodes, self.initializers, self.count = [], [], 0

    def constant(self, name: str, value: Any) -> str:
        array = np.asarray(value, dtype=np.float64).astype(self.dtype)
        self.initializers.append(self.numpy_helper.from_array(array, name))
        return name

    def node(self, op: str, inputs: list, output: Optional[str] = None, **attributes: Any) -> str:
        self.count += 1
        output = output or f"{op.lower()}_{self.count}"
        self.nodes.append(self.helper.make_node(op, inputs, [output], name=f"{op}_{self.count}", **attributes))
        return output


def _builtin_name(activation: Any) -> Optional[str]:
    """The built-in's name if ``activation`` is one of fnmlp's built-in records, else ``None``."""
    return activation.name if any(activation is record for record in builtins.BUILTINS) else None


def _activation(graph: _Graph, activation: Any, z: str) -> str:
    name = _builtin_name(activation)
    if name in ("identity", "linear"):
        return z
    simple = {"sigmoid": ("Sigmoid", {}), "tanh": ("Tanh", {}), "relu": ("Relu", {}), "softplus": ("Softplus", {}),
              "leaky_relu": ("LeakyRelu", {"alpha": builtins.LEAKY_SLOPE}),
              "elu": ("Elu", {"alpha": builtins.ELU_ALPHA})}
    if name in simple:
        op, attributes = simple[name]
        return graph.node(op, [z], **attributes)
    if name == "silu":
        return graph.node("Mul", [z, graph.node("Sigmoid", [z])])
    cube = graph.node("Mul", [graph.node("Mul", [z, z]), z])
    inner = graph.node("Add", [z, graph.node("Mul", [cube, graph.constant(f"gelu_k_{graph.count}", builtins._GELU_K)])])
    scaled = graph.node("Mul", [inner, graph.constant(f"gelu_c_{graph.count}", _GELU_SCALE)])
    return graph.node("Mul", [z, graph.node("Sigmoid", [scaled])])


def _folded_layers(spec: MLPSpec, params: Params, bn_state: BatchNormState) -> list:
    """``[(W, b), ...]`` in float64, each BatchNorm layer folded into its affine map."""
    layers = []
    for i in range(spec.num_layers):
        W, b = params.W[i].astype(np.float64), params.b[i].astype(np.float64)
        if i < spec.num_bn_layers:
            scale = params.gamma[i].astype(np.float64) / np.sqrt(bn_state.running_var[i].astype(np.float64)
                                                                 + spec.bn_eps)
            W, b = W * scale, (b - bn_state.running_mean[i]) * scale + params.beta[i]
        layers.append((W, b))
    return layers


def _standardization(standardize: Any, width: int) -> tuple:
    """``(mean, std, fill)`` as float64 ``(width,)`` arrays (``None`` where absent)."""
    if standardize is None:
        return None, None, None
    fill = None
    if isinstance(standardize, Mapping):
        if "pixel_mean" in standardize:
            mean, std = 255.0 * standardize["pixel_mean"], 255.0 * standardize["pixel_std"]
        else:
            mean, std, fill = standardize.get("mean"), standardize.get("std"), standardize.get("fill")
    elif isinstance(standardize, (tuple, list)) and len(standardize) == 2:
        mean, std = standardize
    elif hasattr(standardize, "mean") and hasattr(standardize, "std"):
        mean, std, fill = standardize.mean, standardize.std, getattr(standardize, "fill", None)
    else:
        _checks.fail(TypeError, "standardize", "None, (mean, std), a mapping or a record with mean and std",
                     _checks.describe(standardize))
    arrays = []
    for name, value in (("mean", mean), ("std", std), ("fill", fill)):
        if value is None:
            if name != "fill":
                _checks.fail(ValueError, f"standardize[{name!r}]", "a number or an array", None)
            arrays.append(None)
            continue
        array = _checks.float_array(f"standardize[{name!r}]", np.asarray(value, dtype=np.float64), ndim=None)
        if array.ndim > 1 or array.size not in (1, width):
            _checks.fail(ValueError, f"standardize[{name!r}]", f"a number or shape ({width},)", f"shape {array.shape}")
        arrays.append(np.broadcast_to(array.reshape(-1), (width,)))
    if (arrays[1] <= 0).any():
        _checks.fail(ValueError, "standardize['std']", "values above 0", arrays[1])
    return tuple(arrays)


def _target_scale(target_scale: Any, standardize: Any, task: str) -> Optional[tuple]:
    if target_scale is None:
        if task != "regress" or not hasattr(standardize, "target_mean") or not hasattr(standardize, "target_std"):
            return None
        target_scale = (standardize.target_mean, standardize.target_std)
    if task != "regress":
        _checks.fail(ValueError, "target_scale", "None for a classifier", target_scale)
    if not isinstance(target_scale, (tuple, list)) or len(target_scale) != 2:
        _checks.fail(TypeError, "target_scale", "(target_mean, target_std)", _checks.describe(target_scale))
    return (_checks.real("target_scale[0]", target_scale[0]), _checks.real("target_scale[1]", target_scale[1], above=0))
