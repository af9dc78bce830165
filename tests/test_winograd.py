"""classify.winograd: 3x3 convolutions by Winograd F(4x4, 3x3) equal Conv2D (valid, reflection and zero padding),
choose their path, and give the NST engine's VGG the features of the direct convolutions."""
from __future__ import annotations

import keras
import numpy as np
import pytest

from classify import winograd as L
from gan_aug.layers import ReflectionPadding2D

RNG = np.random.default_rng(0)


def test_winograd_transforms_compute_a_hand_worked_correlation():
    """One 4x4 output tile by hand: y[i, j] = sum_{u,v} x[i + u, j + v] · k[u, v] (cross-correlation, not flipped)."""
    x = np.arange(36, dtype="float32").reshape(1, 6, 6, 1)  # x[r, c] = 6r + c
    k = np.zeros((3, 3, 1, 1), "float32")
    k[0, 2] = 1.0   # picks x[i, j + 2]
    k[2, 0] = -2.0  # and -2 · x[i + 2, j]
    y = np.asarray(L.winograd_conv3x3(x, k))[0, :, :, 0]
    i, j = np.mgrid[0:4, 0:4]
    np.testing.assert_allclose(y, (6 * i + j + 2) - 2 * (6 * (i + 2) + j), atol=1e-4)


@pytest.mark.parametrize("h,w,channels_in,filters,pad", [(8, 8, 3, 5, "valid"), (12, 16, 16, 8, "valid"),
                                                          (4, 20, 1, 1, "valid"), (8, 12, 4, 6, "reflect"),
                                                          (4, 4, 2, 3, "reflect"), (8, 12, 5, 7, "same"),
                                                          (16, 4, 3, 4, "same")])
def test_winograd_conv_has_conv2doutputs_and_gradients(h, w, channels_in, filters, pad, outputs_and_gradients):
    """Winograd F(4x4, 3x3): the same outputs, input gradients and kernel gradients as Conv2D, batch unknown;
    with ``reflect``, as ReflectionPadding2D(1) + Conv2D (the padding folded into the gather); with ``same``, as
    Conv2D(padding="same") (VGG's zero padding)."""
    import tensorflow as tf

    grow = 2 if pad == "valid" else 0
    x = tf.constant(RNG.normal(size=(3, h + grow, w + grow, channels_in)).astype("float32"))
    padding = "same" if pad == "same" else "valid"
    conv = keras.layers.Conv2D(filters, 3, use_bias=False, padding=padding)
    ref = keras.Sequential([ReflectionPadding2D(1), conv]) if pad == "reflect" else conv
    fast = L.Winograd3x3Conv2D(filters, use_bias=False, algorithm="winograd", reflect=pad == "reflect",
                               padding=padding)
    ref.build(x.shape)
    fast.build(x.shape)
    ref.set_weights([RNG.normal(size=(3, 3, channels_in, filters)).astype("float32")])
    fast.set_weights(ref.get_weights())
    weights = tf.constant(RNG.normal(size=(3, h, w, filters)).astype("float32"))
    expected = outputs_and_gradients(ref, x, weights)
    for got, want in zip(outputs_and_gradients(fast, x, weights), expected, strict=True):
        assert got.shape == want.shape
        # F(4x4, 3x3) loses a few bits to its transforms: relative to the largest value, not elementwise
        assert np.abs(got - want).max() <= 1e-5 * np.abs(want).max() + 1e-6


def test_winograd_conv_chooses_its_path(monkeypatch):
    from gan_aug.base import dtype_policy

    monkeypatch.setattr(L, "bf16_winograd_pays", lambda: False)  # e.g. a CPU with AMX
    wide = L.MIN_CHANNEL_PRODUCT // 4  # input channels that make the product with 4 filters pay
    layer = L.Winograd3x3Conv2D(4)
    assert layer.uses_winograd((None, 10, 18, wide))          # float32, 8 x 16 output
    assert not layer.uses_winograd((None, 10, 18, wide - 1))  # too few channels to pay: direct
    assert not layer.uses_winograd((None, 9, 10, wide))       # 7 x 8 output: direct convolution
    assert not layer.uses_winograd((None, None, None, wide))  # size unknown: direct
    assert not L.Winograd3x3Conv2D(4, algorithm="direct").uses_winograd((None, 10, 10, wide))
    assert L.Winograd3x3Conv2D(4, algorithm="winograd").uses_winograd((None, 10, 10, 3))  # forced
    with dtype_policy("bfloat16"):
        mixed = L.Winograd3x3Conv2D(4)
    assert mixed.compute_dtype == "bfloat16" and not mixed.uses_winograd((None, 10, 10, wide))
    monkeypatch.setattr(L, "bf16_winograd_pays", lambda: True)  # AVX512-BF16 without AMX: float32 Winograd
    assert mixed.uses_winograd((None, 10, 10, wide)) and not mixed.uses_winograd((None, 10, 10, wide - 1))
    # the direct fallback still computes: odd sizes go through Conv2D
    x = RNG.normal(size=(1, 9, 11, 3)).astype("float32")
    assert tuple(layer(x).shape) == (1, 7, 9, 4)
    padded = L.Winograd3x3Conv2D(4, reflect=True)
    assert padded.uses_winograd((None, 8, 16, wide)) and not padded.uses_winograd((None, 10, 18, wide))
    assert tuple(padded(x).shape) == (1, 9, 11, 4)  # reflection-padded direct path keeps the size
    assert tuple(padded.compute_output_shape((None, 9, 11, 3))) == (None, 9, 11, 4)
    with pytest.raises(ValueError, match="divisible by 4"):
        L.Winograd3x3Conv2D(4, algorithm="winograd")(x)
    with pytest.raises(ValueError, match="kernel_size=3"):
        L.Winograd3x3Conv2D(4, kernel_size=5)
    same = L.Winograd3x3Conv2D(4, padding="same")
    assert same.uses_winograd((None, 8, 16, wide)) and not same.uses_winograd((None, 10, 18, wide))
    assert tuple(same(x).shape) == (1, 9, 11, 4)  # zero-padded direct path keeps the size
    with pytest.raises(ValueError, match="padding"):
        L.Winograd3x3Conv2D(4, padding="causal")
    with pytest.raises(ValueError, match="not both"):
        L.Winograd3x3Conv2D(4, padding="same", reflect=True)
    with pytest.raises(ValueError, match="algorithm"):
        L.Winograd3x3Conv2D(4, algorithm="fft")


def test_nst_vgg_features_equal_the_plain_keras_vgg():
    """The NST engine's VGG16 (nst_aug.vgg: Winograd where a layer is wide enough and its maps are multiples of 4)
    gives the features of keras.applications.VGG16 with the same (seeded random) weights, to float rounding; at
    64 px every conv from block1_conv2 on takes the Winograd path with its kernel transformed once (frozen), only
    block1_conv1 (3 input channels) is direct. The input gradient (what NST optimises with; computed by a second
    Winograd convolution for frozen layers) equals the plain VGG's too."""
    import tensorflow as tf

    from nst_aug.vgg import FeatureExtractor

    names = ["block1_conv1", "block2_conv2", "block3_conv3", "block4_conv3", "block5_conv2"]
    ours = FeatureExtractor(names, "vgg16", "max", weights=None, seed=3)
    plain = keras.applications.VGG16(include_top=False, weights=None, input_shape=(None, None, 3))
    for layer in ours.model.layers:  # ours ends at its deepest requested layer (block5_conv2)
        if layer.weights:
            plain.get_layer(layer.name).set_weights(layer.get_weights())
    plain = keras.Model(plain.input, [plain.get_layer(n).output for n in names])
    x = tf.constant(RNG.uniform(0, 255, (2, 64, 64, 3)).astype("float32"))
    weights = [tf.constant(RNG.normal(size=(2, *f.shape[1:])).astype("float32")) for f in plain(x)]
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(x)
        got = ours(x)
        wants = plain(ours.preprocess(x))
        ours_sum = tf.add_n([tf.reduce_sum(got[n] * w) for n, w in zip(names, weights)])
        plain_sum = tf.add_n([tf.reduce_sum(f * w) for f, w in zip(wants, weights)])
    for name, want in zip(names, wants):
        want = np.asarray(want)
        assert np.abs(np.asarray(got[name]) - want).max() <= 1e-5 * np.abs(want).max() + 1e-6, name
    grad, want = np.asarray(tape.gradient(ours_sum, x)), np.asarray(tape.gradient(plain_sum, x))
    # Not elementwise: a feature that differs by float rounding can flip a ReLU at ~0 or a max-pool between near
    # ties and move that position's gradient to its neighbour (largest effect: block1_conv2, right above the
    # image). Autodiff of the same Winograd forward agrees with the frozen layers' gradient to ~1e-6.
    assert np.linalg.norm(grad - want) <= 5e-3 * np.linalg.norm(want)  # measured 4e-5 to 1.4e-3 over inputs
    convs = [l for l in ours.model.layers if isinstance(l, L.Winograd3x3Conv2D)]
    side = lambda l: 64 // 2 ** (int(l.name[5]) - 1)  # noqa: E731  (block<N>: 64 px halved N-1 times)
    taken = [l.name for l in convs if l.uses_winograd((None, side(l), side(l), l.input.shape[-1]))]
    assert len(convs) == 12 and taken == [l.name for l in convs][1:]  # block1_conv1 direct
    # frozen, and transformed on first use: exactly the layers that took the Winograd path at 64 px
    assert all(l.frozen for l in convs) and [l.name for l in convs if l._frozen_kernel is not None] == taken
    with pytest.raises(RuntimeError, match="after freeze"):  # a stale transformed kernel would be used silently
        convs[-1].set_weights(convs[-1].get_weights())


def test_frozen_winograd_kernel_is_the_transform_of_the_kernel():
    """freeze() stores G g Gᵀ of the current kernel and of the kernel rotated by 180° with its channels swapped (the
    input gradient's kernel); outputs and input gradients stay those of the direct convolution, only the work moves."""
    import tensorflow as tf

    layer = L.Winograd3x3Conv2D(128, padding="same", use_bias=False)
    x = tf.constant(RNG.normal(size=(2, 8, 8, 64)).astype("float32"))
    up = tf.constant(RNG.normal(size=(2, 8, 8, 128)).astype("float32"))

    def output_and_gradient():
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = layer(x)
            total = tf.reduce_sum(y * up)
        return np.asarray(y), np.asarray(tape.gradient(total, x))

    y_before, g_before = output_and_gradient()
    layer.freeze()
    assert layer._frozen_kernel is None  # made on first use
    u, u_flipped = (np.asarray(t) for t in layer.frozen_transforms())
    k = np.asarray(layer.kernel, np.float64)
    g = np.asarray(L._WINOGRAD_G, np.float64)
    # position (a, b) of the 6x6 transformed tile: sum_{u,v} G[a, u] k[u, v] G[b, v]
    np.testing.assert_allclose(u, np.einsum("au,uvco,bv->abco", g, k, g).reshape(36, 64, 128), rtol=1e-5, atol=1e-6)
    rotated = k[::-1, ::-1].transpose(0, 1, 3, 2)
    np.testing.assert_allclose(u_flipped, np.einsum("au,uvco,bv->abco", g, rotated, g).reshape(36, 128, 64),
                               rtol=1e-5, atol=1e-6)
    y_after, g_after = output_and_gradient()
    np.testing.assert_allclose(y_after, y_before, atol=1e-6 * np.abs(y_before).max())  # threads may round apart
    direct = tf.nn.conv2d(x, layer.kernel, 1, "SAME")
    np.testing.assert_allclose(y_after, direct, atol=1e-5 * np.abs(direct).max())
    want = tf.compat.v1.nn.conv2d_backprop_input(x.shape, layer.kernel, up, [1, 1, 1, 1], "SAME")
    np.testing.assert_allclose(g_after, want, atol=1e-5 * np.abs(want).max())
    np.testing.assert_allclose(g_after, g_before, atol=1e-5 * np.abs(want).max())
    narrow = L.Winograd3x3Conv2D(4, padding="same")
    narrow.freeze()
    narrow(x[..., :3])  # too narrow: the direct path, no transform made
    assert narrow._frozen_kernel is None
    with pytest.raises(RuntimeError, match="after freeze"):
        layer.set_weights(layer.get_weights())


def test_bf16_layer_on_the_winograd_path_computes_in_float32(monkeypatch):
    """Where float32 Winograd beats bfloat16 direct convolution (a CPU with AVX512-BF16 but no AMX), a mixed-precision
    layer takes it: its bfloat16 input is widened, the convolution runs in float32 and only the output is rounded
    to bfloat16 — within bfloat16's rounding of the float32 convolution of the same bfloat16 input and kernel
    (closer than bfloat16 direct), and its kernel gradient is the float32 one to bfloat16 rounding (it passes the
    bfloat16 cast of the kernel, as in any mixed-precision layer)."""
    import tensorflow as tf

    from gan_aug.base import dtype_policy

    monkeypatch.setattr(L, "bf16_winograd_pays", lambda: True)
    with dtype_policy("bfloat16"):
        layer = L.Winograd3x3Conv2D(64, reflect=True, use_bias=False)
        layer.build((1, 8, 8, 128))
    kernel = RNG.normal(scale=0.05, size=(3, 3, 128, 64)).astype("float32")
    layer.set_weights([kernel])
    x = tf.constant(RNG.normal(size=(2, 8, 8, 128)).astype("float32"))
    assert layer.uses_winograd(x.shape)
    xb = tf.cast(x, tf.bfloat16)
    kb = tf.cast(tf.cast(kernel, tf.bfloat16), tf.float32)  # what the bfloat16 layer sees of its kernel
    want = tf.nn.conv2d(L.reflect_pad(tf.cast(xb, tf.float32), 1), kb, 1, "VALID")
    with tf.GradientTape() as tape:
        got = layer(xb)
        loss = tf.reduce_sum(tf.cast(got, tf.float32) * want)
    assert got.dtype == tf.bfloat16
    err = float(tf.reduce_max(tf.abs(tf.cast(got, tf.float32) - want)) / tf.reduce_max(tf.abs(want)))
    assert err < 2 ** -8  # one bfloat16 rounding of the output
    direct = tf.nn.conv2d(L.reflect_pad(xb, 1), tf.cast(kb, tf.bfloat16), 1, "VALID")
    assert err <= float(tf.reduce_max(tf.abs(tf.cast(direct, tf.float32) - want)) / tf.reduce_max(tf.abs(want)))
    grad = tape.gradient(loss, layer.kernel)
    with tf.GradientTape() as tape32:
        k32 = tf.Variable(kb)
        ref = tf.nn.conv2d(L.reflect_pad(tf.cast(xb, tf.float32), 1), k32, 1, "VALID")
        loss32 = tf.reduce_sum(tf.cast(tf.cast(ref, tf.bfloat16), tf.float32) * want)
    want_grad = tape32.gradient(loss32, k32)
    assert grad.dtype == tf.float32  # reaches the float32 variable through the bfloat16 cast: rounded like it
    scale = float(tf.reduce_max(tf.abs(want_grad)))
    np.testing.assert_allclose(grad.numpy(), want_grad.numpy(), rtol=0, atol=2 ** -7 * scale)
