"""The layers that make GAN training fast on a CPU without changing what is computed (each tested equal to the
plain Keras layers it replaces, up to float rounding; ``tests/test_gan_networks.py``):

- :class:`ReflectionPadding2D` (``torch.nn.ReflectionPad2d``) and :func:`reflect_pad`;
- :class:`InstanceNormalization`: ``GroupNormalization`` with one group per channel, on TensorFlow's fused
  batch-norm kernel;
- :class:`NarrowConv2D`: a ``Conv2D`` for few output channels whose gradients are forward convolutions;
- :class:`Winograd3x3Conv2D`: 3x3 convolutions by Winograd F(4x4, 3x3) in float32 on a CPU, the reflection pad
  folded into its tile gather.

All are registered for ``.keras`` saving (package ``gan_aug``), so exported generators load anywhere.
:mod:`gan_aug.networks` builds the networks from them.
"""
from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf
from keras import layers


def reflect_pad(x, p: int):
    """Pad an NHWC tensor's height and width by ``p`` pixels mirroring the border (edge not repeated)."""
    return keras.ops.pad(x, [[0, 0], [p, p], [p, p], [0, 0]], mode="reflect")


@keras.saving.register_keras_serializable(package="gan_aug")
class ReflectionPadding2D(layers.Layer):
    """Pad height and width by mirroring the border (``torch.nn.ReflectionPad2d``); no weights."""

    def __init__(self, padding: int = 1, **kwargs):
        super().__init__(**kwargs)
        self.padding = int(padding)

    def call(self, x):
        return reflect_pad(x, self.padding)

    def compute_output_shape(self, input_shape):
        b, h, w, c = input_shape
        p = 2 * self.padding
        return (b, None if h is None else h + p, None if w is None else w + p, c)

    def get_config(self):
        return {**super().get_config(), "padding": self.padding}


@keras.saving.register_keras_serializable(package="gan_aug")
class InstanceNormalization(layers.GroupNormalization):
    """``GroupNormalization`` with one group per channel and no affine parameters, fused.

    Per image and channel, ``(x - mean) / sqrt(var + eps)`` over height and width (biased variance). In float32
    and bfloat16 it is computed by TensorFlow's fused batch-norm kernel in training mode (statistics in float32),
    with each image's channels laid side by side so that the kernel's batch statistics are per image: one op
    forward and one backward instead of Keras' chain of reductions and elementwise ops (on a 2-core CPU 1.5x
    faster forward + backward at 32x32x256 in float32, 1.3-2.2x in bfloat16). That kernel clamps ``eps`` to at
    least 1.001e-5. In float16 it is ``GroupNormalization``'s own code. Same (no) weights either way.
    """

    def __init__(self, epsilon: float = 1e-5, **kwargs):
        kwargs.update(groups=-1, center=False, scale=False)
        super().__init__(epsilon=epsilon, **kwargs)

    def call(self, inputs):
        if self.compute_dtype not in ("float32", "bfloat16") or inputs.shape.rank != 4 or None in inputs.shape[1:]:
            return super().call(inputs)
        h, w, c = inputs.shape[1:]
        n = tf.shape(inputs)[0]
        side_by_side = tf.reshape(tf.transpose(inputs, [1, 2, 0, 3]), [1, h, w, n * c])
        ones = tf.ones([n * c], tf.float32)
        y, _, _ = tf.compat.v1.nn.fused_batch_norm(side_by_side, ones, tf.zeros_like(ones),
                                                   epsilon=self.epsilon, is_training=True)
        return tf.transpose(tf.reshape(y, [h, w, n, c]), [2, 0, 1, 3])

    def get_config(self):
        config = super().get_config()
        for key in ("groups", "center", "scale"):
            config.pop(key, None)
        return config


def instance_norm(name: str | None = None) -> layers.Layer:
    """Instance normalisation: per-image, per-channel standardisation with no affine parameters.

    ``torch.nn.InstanceNorm2d(affine=False, track_running_stats=False, eps=1e-5)`` is junyanz's default
    (``--norm instance``); in Keras, ``GroupNormalization`` with one group per channel, here
    :class:`InstanceNormalization` (the same, fused).
    """
    return InstanceNormalization(epsilon=1e-5, name=name)


@tf.custom_gradient
def _conv_valid_with_fast_gradient(x, kernel):
    """``conv2d(x, kernel, stride 1, VALID)`` whose gradients are computed as forward convolutions.

    TensorFlow's CPU kernels for the gradients of a convolution with very few output channels are pathological:
    for the generator's 7x7 64 -> 3 output conv at 128 px, ``Conv2DBackpropInput`` takes ~230 ms and
    ``Conv2DBackpropFilter`` ~300 ms against ~30 ms for the forward pass — a quarter of a ResNet generator's
    training time. The same gradients as forward convolutions (exact up to float rounding; tested):

    - ``dx = conv2d(pad(dy, k - 1), flip(kernel) with in/out swapped)`` (full correlation with the flipped kernel);
    - ``dw = conv2d(x with channels as batch, dy with batch as input channels)``: the sum over batch and
      positions of ``x[i + u, j + v, c] · dy[i, j, o]``, one forward conv with a ``H_out x W_out`` "kernel".
    """
    y = tf.nn.conv2d(x, kernel, strides=1, padding="VALID")

    def grad(dy):
        kh, kw = kernel.shape[0], kernel.shape[1]
        flipped = tf.transpose(tf.reverse(kernel, axis=[0, 1]), [0, 1, 3, 2])
        dx = tf.nn.conv2d(tf.pad(dy, [[0, 0], [kh - 1, kh - 1], [kw - 1, kw - 1], [0, 0]]), flipped, 1, "VALID")
        dw = tf.nn.conv2d(tf.transpose(x, [3, 1, 2, 0]), tf.transpose(dy, [1, 2, 0, 3]), 1, "VALID")
        return dx, tf.transpose(dw, [1, 2, 0, 3])

    return y, grad


def _only_plain_convolution(layer: str, kwargs: dict) -> None:
    """Refuse ``Conv2D`` arguments other than stride 1, ``valid``, no dilation, channels-last, one group.

    Lists count as tuples: a config read back from a ``.keras`` file (JSON) has ``strides=[1, 1]``.
    """
    for key, ok in (("strides", (1, (1, 1))), ("padding", ("valid",)), ("dilation_rate", (1, (1, 1))),
                    ("data_format", (None, "channels_last")), ("groups", (1,))):
        value = kwargs.get(key, ok[0])
        if (tuple(value) if isinstance(value, list) else value) not in ok:
            raise ValueError(f"{layer} supports only {key}={ok[0]!r}, got {value!r}")


@keras.saving.register_keras_serializable(package="gan_aug")
class NarrowConv2D(layers.Conv2D):
    """``Conv2D`` (stride 1, ``valid``, channels-last) for few output channels, e.g. a generator's conv to RGB.

    Same weights, same outputs and same gradients as ``Conv2D``; only how the gradients are computed differs
    (:func:`_conv_valid_with_fast_gradient`): about 10x faster for that layer on CPU (540 -> 50 ms at 128 px),
    which took a 128 px ResNet-9 generator's forward + backward pass from 1.43 s to 1.12 s on a 2-core CPU.
    """

    def __init__(self, filters, kernel_size, **kwargs):
        _only_plain_convolution("NarrowConv2D", kwargs)
        super().__init__(filters, kernel_size, **kwargs)

    def convolution_op(self, inputs, kernel):
        # The variable is read here, outside the custom-gradient function, so its gradient reaches it.
        return _conv_valid_with_fast_gradient(inputs, tf.convert_to_tensor(kernel))


# Winograd F(4x4, 3x3) (Lavin & Gray 2016, "Fast Algorithms for Convolutional Neural Networks", §4.2): one 4x4
# output tile from a 6x6 input tile is A^T [(G g G^T) * (B^T d B)] A, 36 multiplications per channel pair instead
# of 144. As Kronecker products each transform is one small matrix acting on the 36 tile positions.
_WINOGRAD_BT = ((4, 0, -5, 0, 1, 0), (0, -4, -4, 1, 1, 0), (0, 4, -4, -1, 1, 0),
                (0, -2, -1, 2, 1, 0), (0, 2, -1, -2, 1, 0), (0, 4, 0, -5, 0, 1))
_WINOGRAD_G = ((1 / 4, 0, 0), (-1 / 6, -1 / 6, -1 / 6), (-1 / 6, 1 / 6, -1 / 6),
               (1 / 24, 1 / 12, 1 / 6), (1 / 24, -1 / 12, 1 / 6), (0, 0, 1))
_WINOGRAD_AT = ((1, 1, 1, 1, 1, 0), (0, 1, -1, 2, -2, 0), (0, 1, 1, 4, 4, 0), (0, 1, -1, 8, -8, 1))
#: The same as Kronecker products: input (36x36), kernel (36x9) and output (16x36) transforms.
_WINOGRAD_INPUT, _WINOGRAD_KERNEL, _WINOGRAD_OUTPUT = (
    np.kron(m, m).astype("float32") for m in (np.asarray(v, np.float64)
                                              for v in (_WINOGRAD_BT, _WINOGRAD_G, _WINOGRAD_AT)))


def winograd_conv3x3(x, kernel, reflect: bool = False):
    """``conv2d(x, kernel, stride 1, VALID)`` for a 3x3 kernel by Winograd F(4x4, 3x3), as batched matmuls.

    ``x`` is ``(N, H + 2, W + 2, C)`` float32 with static ``H``, ``W`` divisible by 4; ``kernel`` is
    ``(3, 3, C, C_out)``. The tiles are gathered from the flattened image (gradient: one scatter-add), the
    three transforms are matmuls with 36x36 / 36x9 / 16x36 constant matrices, and the channel mixing is one
    batched matmul of 36 ``(N·H·W/16, C) x (C, C_out)`` products: 4x fewer multiply-adds than direct
    convolution, and its gradients are matmuls of the same size. With ``reflect``, ``x`` is ``(N, H, W, C)``
    and is first padded by one pixel by reflection (``ReflectionPadding2D(1)``) at no cost: the tiles are
    gathered at mirrored indices. Same function as ``tf.nn.conv2d`` up to float rounding
    (relative error ~1e-5 in float32; tested), which is why it is used in float32 only.
    """
    n_out, tile = 4, 6
    pad = 0 if reflect else 2
    h, w, c = x.shape[1] - pad, x.shape[2] - pad, x.shape[3]
    c_out = kernel.shape[3]
    th, tw = h // n_out, w // n_out
    # Pixel (row, col) of the padded image at tile position (i, j) of tile (ty, tx), ordered (i, j, ty, tx).
    i, j, ty, tx = np.meshgrid(np.arange(tile), np.arange(tile), np.arange(th), np.arange(tw), indexing="ij")
    row, col = ty * n_out + i, tx * n_out + j
    if reflect:  # padded row r is row |r - 1| of x, and row 2(H - 1) - (r - 1) past the far edge
        row, col = (np.abs(r - 1) for r in (row, col))
        row, col = (np.where(r > size - 1, 2 * (size - 1) - r, r) for r, size in ((row, h), (col, w)))
    index = (row * (w + pad) + col).reshape(-1).astype("int32")

    n = tf.shape(x)[0]
    d = tf.gather(tf.reshape(x, [n, (h + pad) * (w + pad), c]), index, axis=1)      # (N, 36·T, C)
    d = tf.reshape(tf.transpose(tf.reshape(d, [n, tile * tile, th * tw * c]), [1, 0, 2]), [tile * tile, -1])
    v = tf.reshape(tf.matmul(_WINOGRAD_INPUT, d), [tile * tile, -1, c])
    u = tf.matmul(_WINOGRAD_KERNEL, tf.reshape(kernel, [9, c * c_out]))
    m = tf.matmul(v, tf.reshape(u, [tile * tile, c, c_out]))                          # (36, N·T, C_out)
    y = tf.matmul(_WINOGRAD_OUTPUT, tf.reshape(m, [tile * tile, -1]))
    y = tf.transpose(tf.reshape(y, [n_out, n_out, n, th, tw, c_out]), [2, 3, 0, 4, 1, 5])
    return tf.reshape(y, [n, h, w, c_out])


@keras.saving.register_keras_serializable(package="gan_aug")
class Winograd3x3Conv2D(layers.Conv2D):
    """``Conv2D`` (3x3, stride 1, ``valid``, channels-last) computed by :func:`winograd_conv3x3` where that pays.

    ``reflect=True`` makes it ``ReflectionPadding2D(1)`` followed by the convolution (output size = input
    size); the Winograd path folds the padding into its gather, so neither the pad nor its gradient is run.

    Same weights (checkpoints of a plain ``Conv2D`` load), same outputs and gradients up to float rounding. With
    ``algorithm="auto"`` the Winograd path is taken when the layer computes in float32, the output height and
    width are static multiples of 4 and no GPU is visible (cuDNN picks its own algorithms); otherwise, and with
    ``algorithm="direct"``, it is ``Conv2D``. In bfloat16 the direct kernels use the CPU's bfloat16 units and
    Winograd's transforms would cost precision. On a 2-core AVX512 CPU it ran a 128 px ResNet-9 generator's
    forward + backward pass 1.58x faster (its 18 residual convs at 32x32x256; before ``reflect`` and
    :class:`InstanceNormalization`).
    """

    def __init__(self, filters, kernel_size=3, algorithm="auto", reflect: bool = False, **kwargs):
        _only_plain_convolution("Winograd3x3Conv2D", kwargs)
        if kernel_size not in (3, (3, 3), [3, 3]):
            raise ValueError(f"Winograd3x3Conv2D needs kernel_size=3, got {kernel_size!r}")
        if algorithm not in ("auto", "winograd", "direct"):
            raise ValueError(f"algorithm must be 'auto', 'winograd' or 'direct', got {algorithm!r}")
        super().__init__(filters, 3, **kwargs)
        self.algorithm = algorithm
        self.reflect = bool(reflect)

    def uses_winograd(self, input_shape) -> bool:
        pad = 0 if self.reflect else 2
        h, w = input_shape[1], input_shape[2]
        fits = h is not None and w is not None and (h - pad) % 4 == 0 and (w - pad) % 4 == 0
        if not fits and self.algorithm == "winograd":
            raise ValueError(f"Winograd3x3Conv2D(algorithm='winograd') needs static output height and width "
                             f"divisible by 4; the input is {tuple(input_shape)}")
        if not fits or self.algorithm != "auto":
            return fits and self.algorithm == "winograd"
        return self.compute_dtype == "float32" and not tf.config.list_logical_devices("GPU")

    def convolution_op(self, inputs, kernel):
        if self.uses_winograd(inputs.shape):
            return winograd_conv3x3(inputs, tf.convert_to_tensor(kernel), reflect=self.reflect)
        return super().convolution_op(reflect_pad(inputs, 1) if self.reflect else inputs, kernel)

    def compute_output_shape(self, input_shape):
        if self.reflect:
            input_shape = (input_shape[0], *(None if d is None else d + 2 for d in input_shape[1:3]),
                           *input_shape[3:])
        return super().compute_output_shape(input_shape)

    def get_config(self):
        return {**super().get_config(), "algorithm": self.algorithm, "reflect": self.reflect}
