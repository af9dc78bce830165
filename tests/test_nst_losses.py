"""NST losses against hand-computed cases (numbers written out by hand or with plain numpy, never via nst_aug).

The tiny feature map used throughout is one image, 2×2 positions, N = 2 channels:

    position   (0,0)  (0,1)  (1,0)  (1,1)
    channel 0    1      3      0      2
    channel 1    2      0      1      2

so M = 4 and the Gram G = FᵀF = [[1+9+0+4, 2+0+0+4], [6, 4+0+1+4]] = [[14, 6], [6, 9]].
"""
from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from nst_aug import losses as L
from nst_aug.vgg import CONV_LAYERS

# (B=1, h=2, w=2, N=2): F[0, i, j, :] is the channel vector at position (i, j).
F = np.array([[[[1, 2], [3, 0]],
               [[0, 1], [2, 2]]]], np.float32)
G_HAND = np.array([[14, 6], [6, 9]], np.float64)     # FᵀF
G_HAT = G_HAND / 4                                     # per location: [[3.5, 1.5], [1.5, 2.25]]


def np_(x):
    return np.asarray(x.numpy() if tf.is_tensor(x) else x, np.float64)


# ------------------------------------------------------------------------------------------------- Gram
def test_gram_matrix_per_location():
    g = L.gram_matrix(tf.constant(F))
    assert g.shape == (1, 2, 2)
    np.testing.assert_allclose(np_(g)[0], [[3.5, 1.5], [1.5, 2.25]], rtol=1e-6)


def test_gram_shift_minus_one():
    # F − 1: positions (0,1), (2,−1), (−1,0), (1,1) → G = [[0+4+1+1, 0−2+0+1], [·, 1+1+0+1]] = [[6, −1], [−1, 3]]
    g = L.gram_matrix(tf.constant(F), shift=-1.0)
    np.testing.assert_allclose(np_(g)[0], np.array([[6, -1], [-1, 3]]) / 4, rtol=1e-6)


def test_gram_batched_pairs_independent():
    f2 = np.concatenate([F, 2 * F])  # second pair: features doubled → Gram × 4
    g = np_(L.gram_matrix(tf.constant(f2)))
    np.testing.assert_allclose(g[0], G_HAT, rtol=1e-6)
    np.testing.assert_allclose(g[1], 4 * G_HAT, rtol=1e-6)


def test_gram_gradient_hand_computed_and_equal_to_autodiff():
    """The Gram's written-out gradient, ∂L/∂F = F (U + Uᵀ) / M, on the tiny map: with upstream U = [[1, 0], [0, 0]]
    (L = Ĝ₀₀ = Σ_p F_p0² / 4) it is F_p0 / 2 in channel 0 and 0 in channel 1; and for a random map and a random,
    non-symmetric upstream it equals autodiff of the plain matmul formula."""
    f = tf.constant(F)
    with tf.GradientTape() as tape:
        tape.watch(f)
        g = L.gram_matrix(f)[0, 0, 0]
    want = np.zeros_like(F)
    want[..., 0] = F[..., 0] / 2
    np.testing.assert_allclose(np_(tape.gradient(g, f)), want, rtol=1e-6)
    rng = np.random.default_rng(1)
    f = tf.constant(rng.normal(size=(2, 5, 3, 4)).astype(np.float32))
    up = tf.constant(rng.normal(size=(2, 4, 4)).astype(np.float32))
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(f)
        ours = tf.reduce_sum(L.gram_matrix(f, shift=-1.0) * up)
        flat = tf.reshape(f - 1.0, (2, 15, 4))
        plain = tf.reduce_sum(tf.matmul(flat, flat, transpose_a=True) / 15.0 * up)
    np.testing.assert_allclose(np_(ours), np_(plain), rtol=1e-5)
    np.testing.assert_allclose(np_(tape.gradient(ours, f)), np_(tape.gradient(plain, f)), rtol=1e-5, atol=1e-6)


def test_masked_gram_all_ones_equals_unmasked():
    ones = np.ones((1, 2, 2), np.float32)
    np.testing.assert_allclose(np_(L.gram_matrix(tf.constant(F), mask=tf.constant(ones)))[0], G_HAT, rtol=1e-6)
    # any constant mask, also at another resolution than the layer (resized to it), is the same
    const = np.full((1, 8, 8), 0.3, np.float32)
    np.testing.assert_allclose(np_(L.gram_matrix(tf.constant(F), mask=tf.constant(const)))[0], G_HAT, rtol=1e-5)


def test_masked_gram_selects_positions():
    # keep (0,0) = (1, 2) and (1,1) = (2, 2): Ĝ = ([[1,2],[2,4]] + [[4,4],[4,4]]) / 2 = [[2.5, 3], [3, 4]]
    mask = np.array([[[1, 0], [0, 1]]], np.float32)
    np.testing.assert_allclose(np_(L.gram_matrix(tf.constant(F), mask=tf.constant(mask)))[0],
                               [[2.5, 3.0], [3.0, 4.0]], rtol=1e-6)
    # fractional weights: (0,0) weight 1, (0,1) = (3, 0) weight ½ → ([[1,2],[2,4]] + ½[[9,0],[0,0]]) / 1.5
    mask = np.array([[[1, 0.5], [0, 0]]], np.float32)
    np.testing.assert_allclose(np_(L.gram_matrix(tf.constant(F), mask=tf.constant(mask)))[0],
                               np.array([[5.5, 2.0], [2.0, 4.0]]) / 1.5, rtol=1e-6)
    # with the shift: (0,0) → (0, 1), (1,1) → (1, 1): ([[0,0],[0,1]] + [[1,1],[1,1]]) / 2
    mask = np.array([[[1, 0], [0, 1]]], np.float32)
    np.testing.assert_allclose(np_(L.gram_matrix(tf.constant(F), shift=-1.0, mask=tf.constant(mask)))[0],
                               [[0.5, 0.5], [0.5, 1.0]], rtol=1e-6)


def test_cross_gram_constant_upsampling():
    # deeper map 1×1 with channels (2, 3), shallower 2×2 with one channel 1, 2, 3, 4: the 1×1 map upsampled is
    # constant, so Ĝ = d · mean(s) = [[2·2.5], [3·2.5]]; with s = −1: (1, 2) · mean(0, 1, 2, 3) = [[1.5], [3]]
    deeper = np.array([[[[2, 3]]]], np.float32)
    shallow = np.array([[[[1], [2]], [[3], [4]]]], np.float32)
    g = np_(L.cross_gram_matrix(tf.constant(deeper), tf.constant(shallow)))
    assert g.shape == (1, 2, 1)
    np.testing.assert_allclose(g[0], [[5.0], [7.5]], rtol=1e-6)
    g = np_(L.cross_gram_matrix(tf.constant(deeper), tf.constant(shallow), shift=-1.0))
    np.testing.assert_allclose(g[0], [[1.5], [3.0]], rtol=1e-6)


def test_cross_gram_bilinear_upsampling():
    # deeper row (0, 4) upsampled bilinearly (half-pixel centres) to 4 columns: sample points −¼, ¼, ¾, 1¼ of the
    # source, clamped to the edges → (0, 1, 3, 4). Shallower row (1, 2, 3, 4): Ĝ = (0 + 2 + 9 + 16) / 4 = 6.75.
    deeper = np.array([[[[0], [4]]]], np.float32)            # (1, 1, 2, 1)
    shallow = np.array([[[[1], [2], [3], [4]]]], np.float32)  # (1, 1, 4, 1)
    g = np_(L.cross_gram_matrix(tf.constant(deeper), tf.constant(shallow)))
    np.testing.assert_allclose(g[0], [[6.75]], rtol=1e-6)


def test_cross_gram_same_size_is_plain_product():
    # same resolution: no resizing, Ĝ = F_dᵀ F_s / M; with d = s = F it is the Gram itself
    np.testing.assert_allclose(np_(L.cross_gram_matrix(tf.constant(F), tf.constant(F)))[0], G_HAT, rtol=1e-6)


def test_blend_grams():
    a = np.array([[[1.0, 0.0], [0.0, 1.0]]], np.float32)
    b = np.array([[[5.0, 4.0], [4.0, 9.0]]], np.float32)
    # λ = (1, 3) → (a + 3b) / 4 = [[4, 3], [3, 7]]
    np.testing.assert_allclose(np_(L.blend_grams([tf.constant(a), tf.constant(b)], [1, 3]))[0],
                               [[4, 3], [3, 7]], rtol=1e-6)
    # default: equal weights = mean [[3, 2], [2, 5]]
    np.testing.assert_allclose(np_(L.blend_grams([tf.constant(a), tf.constant(b)]))[0], [[3, 2], [2, 5]], rtol=1e-6)
    # a single style image is its own target
    np.testing.assert_allclose(np_(L.blend_grams([tf.constant(b)], [0.2]))[0], b[0], rtol=1e-6)
    for bad in ([1.0], [-1.0, 2.0], [0.0, 0.0]):
        with pytest.raises(ValueError):
            L.blend_grams([tf.constant(a), tf.constant(b)], bad)
    with pytest.raises(ValueError):
        L.blend_grams([])


# ----------------------------------------------------------------------------------------------- style loss
# Target Â = [[3, 1], [1, 2]] → Ĝ − Â = [[0.5, 0.5], [0.5, 0.25]], Σ(Ĝ − Â)² = 3·0.25 + 0.0625 = 0.8125.
# Unnormalised: G − A = 4(Ĝ − Â), Σ(G − A)² = 16 · 0.8125 = 13.
A_HAT = np.array([[[3, 1], [1, 2]]], np.float32)


def test_style_loss_gatys():
    # 1/(4N²M²) Σ(G − A)² = 13 / (4 · 4 · 16) = 13/256
    e = L.style_layer_loss(L.gram_matrix(tf.constant(F)), tf.constant(A_HAT), "gatys")
    assert e.shape == (1,)
    np.testing.assert_allclose(np_(e), [13 / 256], rtol=1e-6)


def test_style_loss_mean():
    # TF tutorial: mean over the N² entries of (Ĝ − Â)² = 0.8125 / 4
    e = L.style_layer_loss(L.gram_matrix(tf.constant(F)), tf.constant(A_HAT), "mean")
    np.testing.assert_allclose(np_(e), [0.8125 / 4], rtol=1e-6)


def test_style_loss_inetwork():
    # INetwork: Σ(G − A)² / (4 · 3² · (H·W)²) with H·W the input image's pixels (say 8×8 = 64): 13 / (36 · 64²)
    e = L.style_layer_loss(L.gram_matrix(tf.constant(F)), tf.constant(A_HAT), "inetwork",
                           num_positions=4, image_pixels=64)
    np.testing.assert_allclose(np_(e), [13 / (36 * 64 ** 2)], rtol=1e-6)
    with pytest.raises(ValueError):
        L.style_layer_loss(L.gram_matrix(tf.constant(F)), tf.constant(A_HAT), "inetwork")


def test_style_loss_cross_gram_uses_na_nb():
    # a (1, 2, 1) cross Gram: N² = 2·1; Ĝ = (5, 7.5), Â = (4, 7.5): Σ = 1 → gatys 1/(4·2), mean 1/2
    g, a = tf.constant([[[5.0], [7.5]]]), tf.constant([[[4.0], [7.5]]])
    np.testing.assert_allclose(np_(L.style_layer_loss(g, a, "gatys")), [1 / 8], rtol=1e-6)
    np.testing.assert_allclose(np_(L.style_layer_loss(g, a, "mean")), [1 / 2], rtol=1e-6)


def test_style_loss_unknown_normalisation():
    with pytest.raises(ValueError):
        L.style_layer_loss(tf.constant(A_HAT), tf.constant(A_HAT), "l1")


# --------------------------------------------------------------------------------------------- content loss
# P = F + d with d = (1 at (0,0,ch0), −2 at (1,1,ch1), 0 elsewhere): Σ d² = 1 + 4 = 5, 8 entries.
P = F.copy()
P[0, 0, 0, 0] += 1
P[0, 1, 1, 1] -= 2


@pytest.mark.parametrize("reduction, expected", [("half_sum", 2.5), ("sum", 5.0), ("mean", 5 / 8)])
def test_content_loss(reduction, expected):
    e = L.content_loss(tf.constant(F), tf.constant(P), reduction)
    assert e.shape == (1,)
    np.testing.assert_allclose(np_(e), [expected], rtol=1e-6)


def test_content_loss_per_pair_and_unknown():
    e = np_(L.content_loss(tf.constant(np.concatenate([F, F])), tf.constant(np.concatenate([P, F])), "sum"))
    np.testing.assert_allclose(e, [5.0, 0.0], atol=1e-6)
    with pytest.raises(ValueError):
        L.content_loss(tf.constant(F), tf.constant(P), "max")


# -------------------------------------------------------------------------------------------- total variation
X = np.array([[[[1], [2]],
               [[4], [8]]]], np.float32)  # one image 2×2, one channel


def test_tv_abs():
    # vertical |4−1| + |8−2| = 9, horizontal |2−1| + |8−4| = 5
    np.testing.assert_allclose(np_(L.total_variation_loss(tf.constant(X), "abs")), [14.0], rtol=1e-6)


def test_tv_abs_gradient_hand_computed_and_equal_to_tf_image():
    """∂TV/∂x on the 2×2 image [[1, 2], [4, 8]]: every difference is positive, so each pixel gets −1 per neighbour
    below or right of it and +1 per neighbour above or left: [[−2, 0], [0, 2]]. On a random batch with ties (flat
    regions, where |·| has gradient 0) and a per-image upstream weight it equals tf.image.total_variation's."""
    x = tf.constant(X)
    with tf.GradientTape() as tape:
        tape.watch(x)
        tv = tf.reduce_sum(L.total_variation_loss(x, "abs"))
    np.testing.assert_allclose(np_(tape.gradient(tv, x))[0, ..., 0], [[-2, 0], [0, 2]])
    rng = np.random.default_rng(2)
    x = tf.constant(rng.integers(0, 3, (3, 5, 4, 2)).astype(np.float32))  # many equal neighbours
    w = tf.constant([1.0, -2.0, 0.5])
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(x)
        ours = tf.reduce_sum(w * L.total_variation_loss(x, "abs"))
        ref = tf.reduce_sum(w * tf.image.total_variation(x))
    np.testing.assert_allclose(np_(ours), np_(ref), rtol=1e-6)
    np.testing.assert_array_equal(np_(tape.gradient(ours, x)), np_(tape.gradient(ref, x)))


def test_tv_power():
    # only (0,0) has both neighbours: a = (4−1)² = 9, b = (2−1)² = 1 → (9 + 1)^1.25
    np.testing.assert_allclose(np_(L.total_variation_loss(tf.constant(X), "power", 1.25)), [10 ** 1.25], rtol=1e-6)
    # 3×3, two channels; hand loop over i, j < 2 with plain numpy
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 10, (2, 3, 3, 2)).astype(np.float32)
    want = np.zeros(2)
    for b in range(2):
        for i in range(2):
            for j in range(2):
                for c in range(2):
                    u = (x[b, i + 1, j, c] - x[b, i, j, c]) ** 2 + (x[b, i, j + 1, c] - x[b, i, j, c]) ** 2
                    want[b] += u ** 1.25
    np.testing.assert_allclose(np_(L.total_variation_loss(tf.constant(x), "power", 1.25)), want, rtol=1e-5)


def test_tv_power_gradient_finite_on_flat_image():
    x = tf.Variable(tf.fill((1, 4, 4, 3), 0.5))
    with tf.GradientTape() as tape:
        tv = tf.reduce_sum(L.total_variation_loss(x, "power", 1.25))
    grad = tape.gradient(tv, x).numpy()
    assert np.all(np.isfinite(grad)) and np.all(grad == 0)
    with pytest.raises(ValueError):
        L.total_variation_loss(tf.constant(X), "l2")


# ----------------------------------------------------------------------------------------------- layer weights
VGG16 = CONV_LAYERS["vgg16"]
GATYS = ("block1_conv1", "block2_conv1", "block3_conv1", "block4_conv1", "block5_conv1")


def test_uniform_weights():
    w = L.layer_weights(GATYS, VGG16, "uniform")
    assert list(w) == list(GATYS)
    np.testing.assert_allclose(list(w.values()), [0.2] * 5)
    assert L.layer_weights((), VGG16, "uniform") == {}


def test_geometric_weights_hand():
    # three consecutive layers: 2², 2¹, 2⁰ normalised → 4/7, 2/7, 1/7
    w = L.layer_weights(VGG16[:3], VGG16, "geometric")
    np.testing.assert_allclose(list(w.values()), [4 / 7, 2 / 7, 1 / 7], rtol=1e-12)


def test_geometric_weights_all_conv_layers():
    w = np.array(list(L.layer_weights(VGG16, VGG16, "geometric").values()))
    assert np.all(w > 0)
    np.testing.assert_allclose(w.sum(), 1.0, rtol=1e-12)
    np.testing.assert_allclose(w[:-1] / w[1:], 2.0, rtol=1e-12)  # shallow heavier, ratio 2 between neighbours
    np.testing.assert_allclose(w, 2.0 ** np.arange(12, -1, -1) / (2 ** 13 - 1), rtol=1e-12)
    # depth is the layer's place among all conv layers: conv1_1 (d=1) vs conv2_1 (d=3) differ by 2² = 4
    g = L.layer_weights(GATYS, VGG16, "geometric")
    assert g["block1_conv1"] / g["block2_conv1"] == pytest.approx(4.0)


def test_geometric_content_weights():
    w = np.array(list(L.layer_weights(VGG16, VGG16, "geometric_content").values()))
    assert np.all(w > 0)
    np.testing.assert_allclose(w.sum(), 1.0, rtol=1e-12)
    np.testing.assert_allclose(w[1:] / w[:-1], 2.0, rtol=1e-12)  # deep heavier
    assert L.layer_weights(("block5_conv2",), VGG16, "geometric_content") == {"block5_conv2": 1.0}


def _inetwork_loop(E, style_weight=1.0):
    """Direct transcription of titu1994 INetwork.py's chained style loss over same-layer losses E_0..E_n."""
    feature_layers = list(range(len(E)))
    nb_layers = len(feature_layers) - 1
    sl1, sl2 = [], []
    for i in range(len(feature_layers) - 1):
        sl1.append(E[i])
        sl2.append(E[i + 1])
    loss = 0.0
    for i in range(len(sl1)):
        sl = sl1[i] - sl2[i]
        loss = loss + (style_weight / (2 ** (nb_layers - (i + 1)))) * sl
    return loss


@pytest.mark.parametrize("layers", [VGG16, VGG16[:4], GATYS])
def test_inetwork_chain_weights_match_the_loop(layers):
    w = L.layer_weights(layers, VGG16, "inetwork_chain")
    values = np.array(list(w.values()))
    assert values[-1] == -1.0
    assert np.all(values[:-1] > 0)
    rng = np.random.default_rng(1)
    for _ in range(5):
        E = rng.uniform(0, 10, len(layers))
        assert float(values @ E) == pytest.approx(_inetwork_loop(E), rel=1e-12)


def test_dict_and_unknown_weights():
    w = L.layer_weights(GATYS[:3], VGG16, {"block1_conv1": 0.7, "block3_conv1": 0.1})
    assert w == {"block1_conv1": 0.7, "block2_conv1": 0.0, "block3_conv1": 0.1}
    with pytest.raises(ValueError):
        L.layer_weights(GATYS, VGG16, "harmonic")
