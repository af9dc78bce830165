"""Presets pinned to the papers' numbers (../shared/papers), and overriding."""
from __future__ import annotations

import warnings

import numpy as np

import pytest

from nst_aug.config import NSTConfig
from nst_aug.presets import GAULD_RATIOS, PRESETS, gauld2020, get_preset, mikolajczyk2019, tf_tutorial
from nst_aug.transfer import StyleTransfer
from nst_aug.vgg import CONV_LAYERS, FeatureExtractor

GATYS_LAYERS = ("block1_conv1", "block2_conv1", "block3_conv1", "block4_conv1", "block5_conv1")


@pytest.fixture(scope="module")
def vgg16_random():
    """All 13 VGG16 conv layers, random weights (the presets' layer bookkeeping only)."""
    return FeatureExtractor(CONV_LAYERS["vgg16"], "vgg16", "max", weights=None)


# ------------------------------------------------------------------------------------- Mikołajczyk & Grochowski
def test_mikolajczyk2019_paper_numbers():
    c = mikolajczyk2019()
    assert c.name == "mikolajczyk2019" and c.reference == "paper"
    assert c.backbone == "vgg16"                   # §IV.D VGG16 pretrained on ImageNet
    assert c.size == 224                           # 224×224 px
    assert c.content_layers == ("block5_conv2",)   # Conv5_2
    assert c.content_weight == 0.025
    assert c.style_weight == 1.0
    assert c.pooling == "max"
    assert c.init == "content"
    # Novak & Nikulin improvements: all conv layers, shift −1, correlation chain, geometric weights
    assert c.style_layers == CONV_LAYERS["vgg16"] and len(c.style_layers) == 13
    assert c.shift == -1.0
    assert c.style_terms == "chain"
    from nst_aug.presets import calibrated_chain_weights
    assert c.style_layer_weights == calibrated_chain_weights(CONV_LAYERS["vgg16"], CONV_LAYERS["vgg16"])


def test_mikolajczyk2019_calibration_gives_inetwork_scale_per_term():
    """c · (our Gatys-normalised term) == INetwork's normalisation of the same Grams, for a same-block term at the
    paper's 224 px and at another size (c does not depend on it); and the preset's first weights by hand."""
    import tensorflow as tf

    from nst_aug.losses import style_layer_loss
    from nst_aug.presets import inetwork_calibration

    layers = CONV_LAYERS["vgg16"]
    c = inetwork_calibration(layers)
    assert c[("block1_conv1", "block1_conv2")] == pytest.approx(64 * 64 / 9)            # 455.1
    assert c[("block3_conv3", "block4_conv1")] == pytest.approx(256 * 512 / (9 * 256))   # 56.9
    assert c[("block5_conv2", "block5_conv3")] == pytest.approx(512 * 512 / (9 * 16 ** 4))  # 0.444 = 1/2.25
    rng = np.random.default_rng(0)
    for side in (224, 96):
        for block, n in ((1, 64), (3, 256), (5, 512)):
            m = (side // 2 ** (block - 1)) ** 2
            g = tf.constant(rng.normal(size=(1, n, n)), tf.float32)
            a = tf.constant(rng.normal(size=(1, n, n)), tf.float32)
            ours = float(style_layer_loss(g, a, "gatys")[0])
            inet = float(style_layer_loss(g, a, "inetwork", num_positions=m, image_pixels=side * side)[0])
            assert ours * n * n / (9 * 16 ** (block - 1)) == pytest.approx(inet, rel=1e-4)
    w = mikolajczyk2019().style_layer_weights
    # geometric over the 12 chain terms: 2^(11−i) / (2^12 − 1)
    assert w["block1_conv1"] == pytest.approx(2 ** 11 / 4095 * 64 * 64 / 9, rel=1e-6)
    assert w["block5_conv2"] == pytest.approx(1 / 4095 * 512 * 512 / (9 * 16 ** 4), rel=1e-6)


def test_mikolajczyk2019_effective_style_weights_positive(vgg16_random):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the paper preset must not warn
        engine = StyleTransfer(mikolajczyk2019(), extractor=vgg16_random)
    layers = CONV_LAYERS["vgg16"]
    assert list(engine.style_weights) == list(zip(layers[:-1], layers[1:]))  # 12 adjacent-layer cross Grams
    weights = list(engine.style_weights.values())
    assert all(w > 0 for w in weights)
    assert weights[0] > 1000 * weights[-1]  # shallow pairs heavier (Novak & Nikulin), in INetwork's scale


def test_mikolajczyk2019_inetwork_variant(vgg16_random):
    c = mikolajczyk2019(reference="inetwork")
    assert c == get_preset("mikolajczyk2019_inetwork")
    assert c.reference == "inetwork"
    assert (c.tv_weight, c.tv_kind, c.tv_power) == (8.5e-5, "power", 1.25)
    assert c.optimizer == "lbfgs" and c.lbfgs_maxfun == 20 and c.steps == 200
    assert c.steps // c.lbfgs_maxfun == 10              # 10 rounds × maxfun 20
    assert c.style_normalisation == "inetwork" and c.style_layer_weights == "inetwork_chain"
    assert c.shift == -1.0                              # INetwork's gram_matrix uses features − 1
    # the paper's numbers are unchanged
    for key in ("backbone", "size", "content_layers", "content_weight", "style_weight", "pooling", "init"):
        assert getattr(c, key) == getattr(mikolajczyk2019(), key)
    with pytest.warns(UserWarning, match="MISmatching"):
        engine = StyleTransfer(c, extractor=vgg16_random)
    weights = list(engine.style_weights.values())
    assert weights[-1] == -1.0 and all(w > 0 for w in weights[:-1])
    with pytest.raises(ValueError):
        mikolajczyk2019(reference="keras")


# ------------------------------------------------------------------------------------------------------ Gauld
@pytest.mark.parametrize("strength, ratio", [("light", 1e9), ("medium", 1e8), ("heavy", 1e7)])
def test_gauld2020_ratios(strength, ratio):
    c = get_preset(f"gauld2020_{strength}")
    assert c == gauld2020(strength)
    assert GAULD_RATIOS[strength] == ratio
    assert c.content_weight / c.style_weight == pytest.approx(ratio, rel=1e-12)


def test_gauld2020_settings():
    c = gauld2020()
    assert c == gauld2020("medium") == get_preset("gauld2020")
    assert c.backbone == "vgg19"
    assert c.content_layers == ("block5_conv2",)
    assert c.style_layers == GATYS_LAYERS
    assert c.style_layer_weights == "uniform"
    assert c.optimizer == "adam" and c.steps == 1000
    # the 2018 eager notebook: Adam(5, β1 0.99, ε 0.1) on the Caffe 0–255 image, clipped, best image returned,
    # long side 512 with the aspect kept (Lanczos), no TV, notebook losses
    assert (c.learning_rate, c.adam_beta1, c.adam_epsilon) == (5.0, 0.99, 0.1)
    assert c.pixel_scale == 255.0 and c.clip and c.return_best
    assert (c.size, c.fit, c.resample) == (512, "long_side", "lanczos")
    assert (c.content_reduction, c.style_normalisation) == ("mean", "mean")
    assert c.tv_weight == 0.0 and c.init == "content"
    with pytest.raises(ValueError):
        gauld2020("extreme")
    with pytest.raises(ValueError):
        gauld2020("heavy", reference="tutorial2024")


@pytest.mark.parametrize("strength", ["light", "medium", "heavy"])
def test_gauld2020_tf_tutorial_variant(strength):
    """The tutorial-optimiser variant keeps the losses and ratios and changes only how the image is optimised."""
    t, n = get_preset(f"gauld2020_tf_tutorial_{strength}"), gauld2020(strength)
    assert t == gauld2020(strength, "tf_tutorial")
    assert set(t.differences(n)) == {"name", "fit", "resample", "learning_rate", "pixel_scale", "return_best"}
    assert (t.learning_rate, t.pixel_scale, t.return_best, t.fit) == (0.02, 1.0, False, "crop")
    assert t.content_weight / t.style_weight == pytest.approx(GAULD_RATIOS[strength], rel=1e-12)


def test_image_fit_per_preset():
    """Each preset fits images as its source did: INetwork squashes to 224×224 (Mikołajczyk: "224x224 px"), the
    TF notebooks and jcjohnson's neural-style scale the long side and keep the aspect."""
    assert get_preset("mikolajczyk2019").fit == "squash"
    assert get_preset("mikolajczyk2019_inetwork").fit == "squash"
    for name in ("gauld2020", "tf_tutorial", "gatys2015", "shinde2020"):
        assert get_preset(name).fit == "long_side", name
    with pytest.raises(ValueError, match="fit"):
        NSTConfig(fit="letterbox")
    with pytest.raises(ValueError, match="resample"):
        NSTConfig(resample="sinc")


def test_tf_tutorial_values():
    c = tf_tutorial()
    assert c.backbone == "vgg19" and c.size == 512
    assert c.content_layers == ("block5_conv2",) and c.style_layers == GATYS_LAYERS
    assert (c.content_weight, c.style_weight, c.tv_weight) == (1e4, 1e-2, 30.0)
    assert (c.content_reduction, c.style_normalisation, c.tv_kind) == ("mean", "mean", "abs")
    assert c.optimizer == "adam" and c.steps == 1000
    assert (c.learning_rate, c.adam_beta1, c.adam_beta2, c.adam_epsilon) == (0.02, 0.99, 0.999, 0.1)
    assert c.pixel_scale == 1.0 and c.clip and c.init == "content"
    assert (c.fit, c.return_best) == ("long_side", False)


def test_gatys_and_shinde():
    g, s = get_preset("gatys2015"), get_preset("shinde2020")
    assert g.pooling == "avg" and g.content_layers == ("block4_conv2",) and g.style_layers == GATYS_LAYERS
    assert g.content_weight / g.style_weight == pytest.approx(1e-3)
    assert g.init == "noise" and g.optimizer == "lbfgs"
    assert (s.content_reduction, s.style_normalisation, s.backbone) == ("half_sum", "gatys", "vgg19")
    # Shinde's own words: "a noisy image", Gram matrices "for every layer in the model", "some 100 iterations"
    assert s.init == "noise" and s.style_layers == CONV_LAYERS["vgg19"] and len(s.style_layers) == 16
    assert s.steps == 100 and s.lbfgs_maxfun == 100 and s.optimizer == "lbfgs"


# ---------------------------------------------------------------------------------------------------- override
def test_override():
    c = get_preset("gauld2020_heavy", backbone="vgg16", steps=10, size=64, precision=None)
    assert (c.backbone, c.steps, c.size) == ("vgg16", 10, 64)
    assert c.precision == "float32"  # None values are ignored
    assert c.content_weight == gauld2020("heavy").content_weight
    assert set(c.differences(gauld2020("heavy"))) == {"backbone", "steps", "size"}
    d = mikolajczyk2019().override(style_layers=["block1_conv1", "block2_conv1"], shift=0.0)
    assert d.style_layers == ("block1_conv1", "block2_conv1") and d.shift == 0.0
    assert mikolajczyk2019().shift == -1.0  # the preset itself is untouched


def test_override_rejects_unknown_and_invalid():
    with pytest.raises(TypeError, match="unknown"):
        get_preset("tf_tutorial", stlye_weight=1.0)
    with pytest.raises(TypeError):
        NSTConfig().override(learning_rat=0.1)
    with pytest.raises(ValueError):
        get_preset("tf_tutorial", optimizer="sgd")
    with pytest.raises(ValueError):
        get_preset("mikolajczyk2019", content_layers=("block5_conv4",))  # VGG16 has no conv5_4
    with pytest.raises(ValueError):
        get_preset("no_such_paper")


def test_every_preset_builds():
    for name in PRESETS:
        assert isinstance(get_preset(name), NSTConfig)
