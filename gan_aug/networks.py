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

The CPU-speed layers they use (Winograd convolutions, fused instance norm, ...) live in :mod:`gan_aug.layers`.
"""
from __future__ import annotations

import math

import keras
from keras import layers

from .layers import NarrowConv2D, ReflectionPadding2D, Winograd3x3Conv2D, instance_norm

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

    Built inside a ``tf.distribute`` strategy of several replicas, the batch statistics are the global batch's
    (``synchronized=True``: sums all-reduced across replicas), as on one device; PyTorch's ``DataParallel`` the
    papers' code ran on computes them per GPU.
    """
    import tensorflow as tf

    synchronized = tf.distribute.has_strategy() and tf.distribute.get_strategy().num_replicas_in_sync > 1
    return layers.BatchNormalization(momentum=0.9, epsilon=1e-5, gamma_initializer=gamma_init(),
                                     synchronized=synchronized)


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
