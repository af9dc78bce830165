"""The generator and discriminator networks, as functional ``keras.Model`` builders (channels-last, NHWC).

Every size and count is a parameter so tests can build them at 32 px with a few filters.

- :func:`resnet_generator` and :func:`patchgan_discriminator`: CycleGAN (Zhu et al. 2017, §4 and appendix 7.2),
  with the layer details of junyanz/pytorch-CycleGAN-and-pix2pix ``models/networks.py`` (``ResnetGenerator``,
  ``NLayerDiscriminator``): reflection padding, instance normalisation without affine parameters, N(0, 0.02)
  initial weights, a 70x70 receptive field whose 256 px output is a 30x30 map of patch scores.
- :func:`dcgan_generator`: Cho §III / Fig. 5 (uniform 125-d noise, fractionally-strided convolutions, batch
  norm, ReLU, tanh), laid out as in Radford et al. 2016.
- :func:`dcgan_discriminator` (Radford et al. 2016: strided convs, batch norm except on the input layer,
  LeakyReLU 0.2) and :func:`resnet18_discriminator` (Cho Table II: ResNet18 with a single logit).
- :func:`acgan_generator` and :func:`acgan_discriminator`: Odena et al. 2017 as the thesis used it (§4.2.2):
  a class-conditional generator and a discriminator with a real/fake logit and ``n_classes`` class logits.
"""
from __future__ import annotations

import math

import keras
import numpy as np
import tensorflow as tf
from keras import layers

#: N(0, 0.02) for every convolution and dense kernel (junyanz ``init_weights(init_type='normal', gain=0.02)``;
#: Radford et al. 2016 §4; Cho §III "weights are initialized with normal distribution (mean 0, std 0.02)").
def weight_init(seed: int | None = None) -> keras.initializers.Initializer:
    return keras.initializers.RandomNormal(mean=0.0, stddev=0.02, seed=seed)


#: Batch-norm scale N(1, 0.02) (junyanz ``init_weights``: ``BatchNorm2d`` weight ~ N(1, gain)).
def gamma_init(seed: int | None = None) -> keras.initializers.Initializer:
    return keras.initializers.RandomNormal(mean=1.0, stddev=0.02, seed=seed)


def batch_norm() -> layers.Layer:
    """Batch norm with PyTorch's running-average rate and epsilon (``BatchNorm2d(momentum=0.1, eps=1e-5)``,
    i.e. Keras ``momentum=0.9``), as in the DCGAN code Cho and the thesis used; scale ~ N(1, 0.02).

    Keras's default ``momentum=0.99`` leaves the moving statistics near their initial values for the first
    few hundred steps, so a young generator evaluated in inference mode (sample grids, generation) gives flat
    grey images.
    """
    return layers.BatchNormalization(momentum=0.9, epsilon=1e-5, gamma_initializer=gamma_init())


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


def _conv(filters, kernel, strides=1, padding="valid", use_bias=True, name=None):
    return layers.Conv2D(filters, kernel, strides=strides, padding=padding, use_bias=use_bias,
                         kernel_initializer=weight_init(), bias_initializer="zeros", name=name)


# --------------------------------------------------------------------------------------------------- CycleGAN
def _residual_conv(filters):
    """Reflection pad 1 + 3x3 conv, no bias (instance norm follows), Winograd in float32 on a CPU."""
    return Winograd3x3Conv2D(filters, 3, reflect=True, use_bias=False, kernel_initializer=weight_init())


def resnet_generator(
    size: int = 256,
    filters: int = 64,
    n_blocks: int = 9,
    n_downsampling: int = 2,
    channels: int = 3,
    name: str = "resnet_generator",
) -> keras.Model:
    """ResNet image-to-image generator ``c7s1-64, d128, d256, 9 x R256, u128, u64, c7s1-3`` (Zhu et al. §7.2).

    Encoder: 7x7 conv on a 3-px reflection pad, then ``n_downsampling`` stride-2 3x3 convs doubling the filters;
    ``n_blocks`` residual blocks ``x + IN(conv(pad(ReLU(IN(conv(pad(x)))))))``; decoder: stride-2 transposed
    3x3 convs halving the filters, a 7x7 conv to RGB and ``tanh`` so outputs lie in [-1, 1]. Every conv but the
    last is followed by instance norm and ReLU. Input height/width must be divisible by ``2**n_downsampling``.

    Only the last conv has a bias. junyanz gives every conv one (``use_bias = norm is InstanceNorm2d``), but a
    per-channel constant added just before a non-affine instance norm is subtracted again with the channel mean:
    it changes no output and gets a zero gradient. Leaving those biases out gives the same function and saves
    their ops (about 6 % of a generator pass on a 2-core CPU).

    The residual blocks' reflection pads and 3x3 convs are :class:`Winograd3x3Conv2D` with ``reflect=True``: on
    a CPU in float32 computed by Winograd F(4x4, 3x3) with the padding folded into the tile gather (same function
    up to float rounding; with fused instance norm, the generator's forward + backward pass took about half the
    time at 128 px).
    """
    inputs = keras.Input((size, size, channels), name=f"{name}_input")
    x = ReflectionPadding2D(3)(inputs)
    x = _conv(filters, 7, use_bias=False)(x)
    x = layers.ReLU()(instance_norm()(x))
    f = filters
    for _ in range(n_downsampling):
        f *= 2
        x = layers.ReLU()(instance_norm()(_conv(f, 3, strides=2, padding="same", use_bias=False)(x)))
    for _ in range(n_blocks):  # each conv pads its input by reflection itself (folded into Winograd's gather)
        y = layers.ReLU()(instance_norm()(_residual_conv(f)(x)))
        y = instance_norm()(_residual_conv(f)(y))
        x = layers.Add()([x, y])
    for _ in range(n_downsampling):
        f //= 2
        x = layers.Conv2DTranspose(f, 3, strides=2, padding="same", use_bias=False,
                                   kernel_initializer=weight_init())(x)
        x = layers.ReLU()(instance_norm()(x))
    x = ReflectionPadding2D(3)(x)
    x = NarrowConv2D(channels, 7, kernel_initializer=weight_init(), bias_initializer="zeros")(x)
    outputs = layers.Activation("tanh", dtype="float32")(x)
    return keras.Model(inputs, outputs, name=name)


def patchgan_discriminator(
    size: int = 256,
    filters: int = 64,
    n_layers: int = 3,
    channels: int = 3,
    name: str = "patchgan_discriminator",
) -> keras.Model:
    """PatchGAN ``C64-C128-C256-C512`` (Zhu et al. §7.2; Isola et al. 2017): a map of real/fake scores.

    4x4 convs with 1-px zero padding: ``n_layers`` stride-2 convs (filters ``64 * min(2**n, 8)``), one stride-1
    conv, then a stride-1 conv to one channel. Instance norm on all but the first and last (those two alone have a
    bias; see :func:`resnet_generator` on biases before instance norm); LeakyReLU 0.2. With
    ``n_layers=3`` each output sees a 70x70 input patch; a 256 px input gives a 30x30 output, 32 px gives 2x2.
    Outputs are raw scores (LSGAN regresses them to 1 for real and 0 for fake).
    """
    inputs = keras.Input((size, size, channels), name=f"{name}_input")
    x = _conv(filters, 4, strides=2)(layers.ZeroPadding2D(1)(inputs))
    x = layers.LeakyReLU(0.2)(x)
    mult = 1
    for n in range(1, n_layers + 1):
        mult = min(2**n, 8)
        stride = 2 if n < n_layers else 1
        x = _conv(filters * mult, 4, strides=stride, use_bias=False)(layers.ZeroPadding2D(1)(x))
        x = layers.LeakyReLU(0.2)(instance_norm()(x))
    outputs = _conv(1, 4)(layers.ZeroPadding2D(1)(x))
    outputs = layers.Activation("linear", dtype="float32")(outputs)
    return keras.Model(inputs, outputs, name=name)


# ------------------------------------------------------------------------------------------------ DCGAN/ACGAN
def _upsampling_stack(x, size: int, filters: int, max_filters: int, start: int = 4):
    """From a ``start x start`` map, stride-2 transposed 4x4 convs + BN + ReLU up to ``size // 2``, then to RGB."""
    n_up = int(round(math.log2(size // start)))
    if start * 2**n_up != size:
        raise ValueError(f"size must be {start} times a power of two, got {size}")
    for i in range(n_up - 1):
        f = min(max_filters, filters * 2 ** (n_up - 2 - i))
        x = layers.Conv2DTranspose(f, 4, strides=2, padding="same", use_bias=False,
                                   kernel_initializer=weight_init())(x)
        x = layers.ReLU()(batch_norm()(x))
    x = layers.Conv2DTranspose(3, 4, strides=2, padding="same", kernel_initializer=weight_init())(x)
    return layers.Activation("tanh", dtype="float32")(x)


def _project(z, size: int, filters: int, max_filters: int):
    """Noise vector -> 4x4 feature map (a 4x4 'valid' transposed conv on a 1x1 map, as in Radford et al.)."""
    n_up = int(round(math.log2(size // 4)))
    f = min(max_filters, filters * 2 ** max(n_up - 1, 0))
    x = layers.Reshape((1, 1, z.shape[-1]))(z)
    x = layers.Conv2DTranspose(f, 4, strides=1, padding="valid", use_bias=False,
                               kernel_initializer=weight_init())(x)
    return layers.ReLU()(batch_norm()(x))


def dcgan_generator(size: int = 256, latent_dim: int = 125, filters: int = 64, max_filters: int = 512,
                    name: str = "dcgan_generator") -> keras.Model:
    """DCGAN generator (Cho §III, Fig. 5): ``z ~ U(-1, 1)^latent_dim`` -> ``(size, size, 3)`` in [-1, 1].

    Project to 4x4, then fractionally-strided 4x4 convs each doubling the resolution and halving the filters
    (``filters`` at ``size/2``, capped at ``max_filters``), batch norm and ReLU on every layer except the
    output, whose ``tanh`` maps to [-1, 1]. 256 px = 6 upsamplings; 32 px = 3.
    """
    z = keras.Input((latent_dim,), name="noise")
    x = _project(z, size, filters, max_filters)
    return keras.Model(z, _upsampling_stack(x, size, filters, max_filters), name=name)


def _strided_features(inputs, filters: int, max_filters: int, stop: int = 4, dropout: float = 0.0):
    """Radford's discriminator trunk: stride-2 4x4 convs down to ``stop`` px; BN on all but the first; LReLU."""
    x = inputs
    f = filters
    first = True
    while x.shape[1] > stop:
        x = _conv(min(f, max_filters), 4, strides=2, padding="same", use_bias=first)(x)
        if not first:
            x = batch_norm()(x)
        x = layers.LeakyReLU(0.2)(x)
        if dropout:
            x = layers.Dropout(dropout)(x)
        f *= 2
        first = False
    return x


def dcgan_discriminator(size: int = 256, filters: int = 64, max_filters: int = 512,
                        name: str = "dcgan_discriminator") -> keras.Model:
    """The canonical DCGAN discriminator (Radford et al. 2016 §3-4), recommended by Cho's own discussion (§V).

    Stride-2 4x4 convs (no pooling) from ``filters`` doubling to ``max_filters`` until 4x4, batch norm on all
    layers but the input one, LeakyReLU 0.2, then a 4x4 'valid' conv to a single real/fake logit ``(batch, 1)``.
    """
    inputs = keras.Input((size, size, 3), name="image")
    x = _strided_features(inputs, filters, max_filters)
    x = layers.Flatten()(_conv(1, x.shape[1])(x))
    return keras.Model(inputs, layers.Activation("linear", dtype="float32")(x), name=name)


def resnet18_discriminator(size: int = 256, filters: int = 64, blocks: tuple[int, ...] = (2, 2, 2, 2),
                           name: str = "resnet18_discriminator") -> keras.Model:
    """Cho's discriminator (Table II): ResNet18 ending in one real/fake logit.

    7x7/2 conv + BN + ReLU, 3x3/2 max-pool, four stages of ``blocks[i]`` basic blocks (two 3x3 convs with BN and
    a projection shortcut when the shape changes) with ``filters * 2**i`` filters and stride 2 from the second
    stage, global average pooling and a dense layer to 1 logit. Cho started from ImageNet weights; no offline
    ResNet18 weights exist for Keras, so this one starts from N(0, 0.02) (say so in results).
    """
    inputs = keras.Input((size, size, 3), name="image")
    x = _conv(filters, 7, strides=2, padding="same", use_bias=False)(inputs)
    x = layers.ReLU()(batch_norm()(x))
    x = layers.MaxPooling2D(3, strides=2, padding="same")(x)
    for stage, n in enumerate(blocks):
        f = filters * 2**stage
        for b in range(n):
            stride = 2 if (stage > 0 and b == 0) else 1
            y = _conv(f, 3, strides=stride, padding="same", use_bias=False)(x)
            y = layers.ReLU()(batch_norm()(y))
            y = batch_norm()(_conv(f, 3, padding="same", use_bias=False)(y))
            if stride != 1 or x.shape[-1] != f:
                x = batch_norm()(_conv(f, 1, strides=stride, use_bias=False)(x))
            x = layers.ReLU()(layers.Add()([x, y]))
    x = layers.GlobalAveragePooling2D()(x)
    logit = layers.Dense(1, kernel_initializer=weight_init(), dtype="float32")(x)
    return keras.Model(inputs, logit, name=name)


def acgan_generator(size: int = 128, n_classes: int = 8, latent_dim: int = 100, filters: int = 64,
                    max_filters: int = 512, name: str = "acgan_generator") -> keras.Model:
    """ACGAN generator ``G(c, z)`` (Odena et al. 2017 §3; thesis §4.2.2, 128x128).

    The class enters as a learned ``latent_dim`` embedding multiplied element-wise into ``z ~ N(0, 1)`` (the
    Keras ``mnist_acgan`` example's conditioning); the product goes through the DCGAN upsampling stack to
    ``(size, size, 3)`` in [-1, 1]. Inputs: ``[noise (batch, latent_dim), label (batch,) int]``.
    """
    z = keras.Input((latent_dim,), name="noise")
    label = keras.Input((), dtype="int32", name="label")
    emb = layers.Embedding(n_classes, latent_dim, embeddings_initializer="glorot_normal")(label)
    h = layers.Multiply()([z, emb])
    x = _project(h, size, filters, max_filters)
    return keras.Model([z, label], _upsampling_stack(x, size, filters, max_filters), name=name)


def acgan_discriminator(size: int = 128, n_classes: int = 8, filters: int = 64, max_filters: int = 512,
                        dropout: float = 0.5, name: str = "acgan_discriminator") -> keras.Model:
    """ACGAN discriminator: a DCGAN trunk (with dropout 0.5, Odena et al. appendix) and two heads.

    Returns ``[source_logit (batch, 1), class_logits (batch, n_classes)]``: ``P(S = real | X)`` and
    ``P(C | X)`` before the sigmoid/softmax.
    """
    inputs = keras.Input((size, size, 3), name="image")
    x = layers.Flatten()(_strided_features(inputs, filters, max_filters, dropout=dropout))
    source = layers.Dense(1, kernel_initializer=weight_init(), dtype="float32", name="source")(x)
    classes = layers.Dense(n_classes, kernel_initializer=weight_init(), dtype="float32", name="classes")(x)
    return keras.Model(inputs, [source, classes], name=name)
