"""Shapes and value ranges of every gan_aug network, at tiny sizes."""
from __future__ import annotations

import keras
import numpy as np
import pytest

from gan_aug import layers as L
from gan_aug import networks as N

RNG = np.random.default_rng(0)


def _images(n=2, size=32):
    return RNG.uniform(-1, 1, (n, size, size, 3)).astype("float32")


def test_reflection_padding_mirrors_the_border():
    x = np.arange(9, dtype="float32").reshape(1, 3, 3, 1)
    y = np.asarray(L.ReflectionPadding2D(1)(x))[0, :, :, 0]
    assert y.shape == (5, 5)
    np.testing.assert_array_equal(y[0], [4, 3, 4, 5, 4])  # row 1 mirrored above row 0, columns mirrored too
    np.testing.assert_array_equal(y[1:4, 1:4], x[0, :, :, 0])


@pytest.mark.parametrize("kernel,channels_in,filters", [(7, 6, 3), (3, 5, 1), (4, 4, 2)])
def test_narrow_conv_has_conv2d_outputs_and_gradients(kernel, channels_in, filters, outputs_and_gradients):
    """NarrowConv2D computes its gradients by forward convolutions; they must equal Conv2D's own."""
    import tensorflow as tf

    x = tf.constant(RNG.normal(size=(3, 13, 11, channels_in)).astype("float32"))
    ref = keras.layers.Conv2D(filters, kernel)
    fast = L.NarrowConv2D(filters, kernel)
    ref.build(x.shape)
    fast.build(x.shape)
    fast.set_weights([RNG.normal(size=w.shape).astype("float32") for w in ref.get_weights()])
    ref.set_weights(fast.get_weights())
    weights = tf.constant(RNG.normal(size=(3, 13 - kernel + 1, 11 - kernel + 1, filters)).astype("float32"))
    expected = outputs_and_gradients(ref, x, weights)
    for got, want in zip(outputs_and_gradients(fast, x, weights), expected, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)


def test_narrow_conv_refuses_what_it_does_not_implement():
    with pytest.raises(ValueError, match="strides"):
        L.NarrowConv2D(3, 3, strides=2)
    with pytest.raises(ValueError, match="padding"):
        L.NarrowConv2D(3, 3, padding="same")


def test_instance_norm_is_per_image_per_channel_standardisation_with_groupnorm_gradients(outputs_and_gradients):
    """The fused float32 path: numpy's (x - mean) / sqrt(var + eps) per image and channel, and GroupNorm's
    input gradients, with the batch size unknown (as in fit)."""
    import tensorflow as tf

    x = tf.constant((RNG.normal(size=(3, 6, 5, 4)) * [1, 3, 0.1, 10] + [0, 5, -2, 100]).astype("float32"))
    layer = L.instance_norm()
    assert isinstance(layer, L.InstanceNormalization)
    ref = keras.layers.GroupNormalization(groups=-1, center=False, scale=False, epsilon=1e-5)
    weights = tf.constant(RNG.normal(size=x.shape).astype("float32"))

    y, dx = outputs_and_gradients(layer, x, weights)
    xs = np.asarray(x, np.float64)
    mean, var = xs.mean(axis=(1, 2), keepdims=True), xs.var(axis=(1, 2), keepdims=True)
    np.testing.assert_allclose(y, (xs - mean) / np.sqrt(var + 1e-5), atol=2e-5)
    np.testing.assert_allclose(dx, outputs_and_gradients(ref, x, weights)[1], atol=1e-4)
    # serialisable, and identical after a config round trip
    clone = L.InstanceNormalization.from_config(layer.get_config())
    np.testing.assert_array_equal(np.asarray(clone(x)), y)
    # mixed bfloat16: bfloat16 out, float32 statistics, so within bfloat16 rounding (3 significant digits) of
    # the exact normalisation of the same bfloat16 input
    from gan_aug.base import dtype_policy

    with dtype_policy("bfloat16"):
        mixed = L.instance_norm()
    x16 = tf.cast(x, tf.bfloat16)
    y16 = mixed(x16)
    assert y16.dtype == tf.bfloat16
    xs = np.asarray(tf.cast(x16, tf.float64))
    mean, var = xs.mean(axis=(1, 2), keepdims=True), xs.var(axis=(1, 2), keepdims=True)
    np.testing.assert_allclose(np.asarray(tf.cast(y16, tf.float64)), (xs - mean) / np.sqrt(var + 1e-5),
                               rtol=1e-2, atol=1e-2)


def test_generator_with_winograd_residual_convs_saves_loads_and_matches_direct(tmp_path):
    """The float32 generator takes the Winograd path (32 filters: 128-channel residual maps of 8x8, wide enough);
    a .keras round trip and a direct twin agree with it."""
    g = N.resnet_generator(32, filters=32, n_blocks=2)
    convs = [l for l in g.layers if isinstance(l, L.Winograd3x3Conv2D)]
    assert len(convs) == 2 * 2 and all(l.uses_winograd(l.input.shape) for l in convs)
    x = _images()
    y = np.asarray(g(x))
    path = tmp_path / "g.keras"
    g.save(path)
    loaded = keras.models.load_model(path)
    np.testing.assert_array_equal(np.asarray(loaded(x)), y)
    direct = N.resnet_generator(32, filters=32, n_blocks=2)
    for l in direct.layers:
        if isinstance(l, L.Winograd3x3Conv2D):
            l.algorithm = "direct"
    direct.set_weights(g.get_weights())
    np.testing.assert_allclose(np.asarray(direct(x)), y, atol=1e-4)


def test_resnet_generator_shape_range_and_layers():
    g = N.resnet_generator(32, filters=4, n_blocks=2)
    y = np.asarray(g(_images()))
    assert y.shape == (2, 32, 32, 3)
    assert y.min() >= -1 and y.max() <= 1
    norms = [l for l in g.layers if isinstance(l, keras.layers.GroupNormalization)]
    # instance norm: one group per channel, no affine parameters
    assert norms and all(l.groups in (-1, l.input.shape[-1]) and not l.center and not l.scale for l in norms)
    assert sum(isinstance(l, keras.layers.Add) for l in g.layers) == 2  # residual blocks
    assert sum(isinstance(l, L.ReflectionPadding2D) for l in g.layers) == 2  # around the 7x7 convs
    residual = [l for l in g.layers if isinstance(l, L.Winograd3x3Conv2D)]
    assert len(residual) == 2 * 2 and all(l.reflect for l in residual)  # these pad by reflection themselves


def test_bias_before_instance_norm_would_be_a_no_op():
    """Why the CycleGAN networks leave out junyanz's conv biases in front of instance norm."""
    x = RNG.normal(size=(2, 8, 8, 5)).astype("float32")
    c = (3 * RNG.normal(size=5)).astype("float32")  # a per-channel bias
    norm = L.instance_norm()
    np.testing.assert_allclose(np.asarray(norm(x + c)), np.asarray(norm(x)), atol=1e-4)


@pytest.mark.parametrize("build,with_bias,without", [
    (lambda: N.resnet_generator(32, filters=4, n_blocks=2), 1, 1 + 2 + 2 * 2 + 2),  # only the conv to RGB
    (lambda: N.patchgan_discriminator(32, filters=4), 2, 3),  # the first conv and the one to scores
])
def test_cyclegan_convs_have_a_bias_only_where_no_instance_norm_follows(build, with_bias, without):
    net = build()
    convs = [(layer, nxt) for layer, nxt in zip(net.layers, net.layers[1:])
             if isinstance(layer, (keras.layers.Conv2D, keras.layers.Conv2DTranspose))]
    for layer, nxt in convs:
        assert layer.use_bias == (not isinstance(nxt, keras.layers.GroupNormalization)), layer.name
    assert sum(layer.use_bias for layer, _ in convs) == with_bias
    assert sum(not layer.use_bias for layer, _ in convs) == without


def test_resnet_generator_default_is_resnet_9blocks():
    g = N.resnet_generator(32, filters=2)  # default n_blocks=9, two downsamplings
    assert sum(isinstance(l, keras.layers.Add) for l in g.layers) == 9
    assert sum(isinstance(l, keras.layers.Conv2DTranspose) for l in g.layers) == 2


def test_patchgan_output_maps():
    d = N.patchgan_discriminator(32, filters=4)
    assert tuple(d(_images()).shape) == (2, 2, 2, 1)
    # junyanz's 70x70 PatchGAN turns a 256 px image into a 30x30 score map
    assert N.patchgan_discriminator(256, filters=2).output_shape == (None, 30, 30, 1)


def test_weights_start_at_normal_0_002():
    g = N.resnet_generator(64, filters=16, n_blocks=1)
    kernels = np.concatenate([np.ravel(l.kernel) for l in g.layers if isinstance(l, keras.layers.Conv2D)])
    assert abs(kernels.std() - 0.02) < 0.002 and abs(kernels.mean()) < 0.002


def test_dcgan_generator_uniform_125d_noise_to_image():
    g = N.dcgan_generator(32, latent_dim=125, filters=4)
    z = RNG.uniform(-1, 1, (3, 125)).astype("float32")
    y = np.asarray(g(z))
    assert y.shape == (3, 32, 32, 3) and y.min() >= -1 and y.max() <= 1
    # Cho Fig. 5: 125-d -> 256x256x3 (six fractionally-strided upsamplings after the 4x4 projection)
    big = N.dcgan_generator(256, filters=2, max_filters=8)
    assert big.output_shape == (None, 256, 256, 3)
    assert sum(isinstance(l, keras.layers.Conv2DTranspose) for l in big.layers) == 1 + 6
    # PyTorch's BatchNorm2d(momentum=0.1, eps=1e-5), as Radford's and Cho's code
    bns = [l for l in g.layers if isinstance(l, keras.layers.BatchNormalization)]
    assert bns and all(l.momentum == pytest.approx(0.9) and l.epsilon == pytest.approx(1e-5) for l in bns)


@pytest.mark.parametrize("build", [lambda: N.dcgan_discriminator(32, filters=4),
                                   lambda: N.resnet18_discriminator(32, filters=4)])
def test_dcgan_discriminators_give_one_logit(build):
    d = build()
    assert tuple(d(_images(3)).shape) == (3, 1)


def test_resnet18_discriminator_has_eight_basic_blocks():
    d = N.resnet18_discriminator(64, filters=2)
    assert sum(isinstance(l, keras.layers.Add) for l in d.layers) == 8


def test_acgan_networks():
    g = N.acgan_generator(32, n_classes=3, latent_dim=16, filters=4)
    y = np.asarray(g([RNG.standard_normal((4, 16)).astype("float32"), np.array([0, 1, 2, 0], "int32")]))
    assert y.shape == (4, 32, 32, 3) and y.min() >= -1 and y.max() <= 1
    d = N.acgan_discriminator(32, n_classes=3, filters=4)
    source, classes = d(_images(4))
    assert tuple(source.shape) == (4, 1) and tuple(classes.shape) == (4, 3)


def test_bad_sizes_are_refused():
    with pytest.raises(ValueError, match="power of two"):
        N.dcgan_generator(48)
