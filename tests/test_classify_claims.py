"""Documented claims of classify checked against values computed here: one scoring path prepares images with the
resize method the model records (classify.scoring, classify.pipeline.resize_image), and the robust loader's
conversion of 16-bit, transparent and palette images to 8-bit RGB (classify.images._to_rgb)."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from PIL import Image

from classify.data import Sample
from classify.images import _to_rgb, load_image

SIZE = 32


# ------------------------------------------------------------------------------------ scoring: resize method
@pytest.fixture(scope="module")
def noise_images(tmp_path_factory):
    """Three 8-bit RGB PNGs (the fast tf.io path) of uniform noise, landscape, portrait and 1.5:1, all larger than
    32 px: downscaling noise is where the bicubic and the bilinear (triangle) kernels differ most."""
    root = tmp_path_factory.mktemp("noise")
    rng = np.random.default_rng(0)
    paths = []
    for i, (h, w) in enumerate([(45, 60), (70, 40), (48, 72)]):
        path = root / f"noise_{i}.png"
        Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)).save(path)
        paths.append(path)
    return paths


def _pixel_classifier(method: str):
    """A "classifier" whose outputs are its input pixels (a Flatten layer, one output per pixel value), recorded
    as a 32 px model trained with ``method``: scoring then returns exactly the batch it prepared."""
    import keras

    from classify.scoring import Classifier, ClassifierInfo

    inputs = keras.Input((SIZE, SIZE, 3))
    model = keras.Model(inputs, keras.layers.Flatten()(inputs))
    classes = tuple(f"p{i}" for i in range(SIZE * SIZE * 3))
    return Classifier(model, ClassifierInfo(classes, SIZE, resize_method=method, fit="crop"))


def test_scoring_prepares_images_with_the_recorded_resize_method(noise_images, hand_prepared):
    """predict() on a model recording bicubic gives exactly the hand-prepared bicubic batch, and its bilinear twin
    the hand-prepared bilinear batch. The bound on their difference is justified by the hand batches themselves:
    each scored batch equals its hand batch (tolerance 0 grey levels), so the scored batches differ exactly as much
    as the hand ones, which differ by at least 10 grey levels somewhere (not a rounding flip of 1). A silent
    fallback to bilinear (or bicubic without antialiasing, or a different crop) fails the equality."""
    from classify.scoring import predict

    samples = [Sample(str(p), "") for p in noise_images]
    hand_bicubic = hand_prepared(noise_images, SIZE, "bicubic").reshape(len(samples), -1).astype(float)
    hand_bilinear = hand_prepared(noise_images, SIZE, "bilinear").reshape(len(samples), -1).astype(float)
    hand_gap = np.abs(hand_bicubic - hand_bilinear).max()
    assert hand_gap >= 10

    bicubic = predict(_pixel_classifier("bicubic"), samples, progress=False)
    bilinear = predict(_pixel_classifier("bilinear"), samples, progress=False)
    assert [s.path for s in bicubic.samples] == [s.path for s in samples] and not bicubic.skipped
    np.testing.assert_array_equal(bicubic.probs, hand_bicubic)
    np.testing.assert_array_equal(bilinear.probs, hand_bilinear)
    assert np.abs(bicubic.probs - bilinear.probs).max() == hand_gap


def test_a_saved_model_keeps_its_resize_method(noise_images, tmp_path, hand_prepared):
    """The record survives save/load: the loaded bicubic model scores the hand-prepared bicubic batch."""
    from classify.scoring import load_classifier, predict, save_classifier

    clf = _pixel_classifier("bicubic")
    save_classifier(clf.model, tmp_path / "pixels.keras", clf.info)
    loaded = load_classifier(tmp_path / "pixels.keras")
    assert loaded.info == clf.info
    scored = predict(loaded, [Sample(str(p), "") for p in noise_images], progress=False)
    np.testing.assert_array_equal(scored.probs,
                                  hand_prepared(noise_images, SIZE, "bicubic").reshape(len(noise_images), -1))
    assert dataclasses.replace(loaded.info, resize_method="bilinear") != loaded.info


# ------------------------------------------------------------------------------------------- images._to_rgb
def _composite_on_white(colour, alpha: int) -> list[int]:
    """c·a/255 + 255·(1 − a/255), rounded half up: the 8-bit composite of ``colour`` at ``alpha`` over white."""
    return [int(np.floor(c * alpha / 255 + 255 * (255 - alpha) / 255 + 0.5)) for c in colour]


def test_16_bit_grayscale_is_scaled_to_8_bits(tmp_path):
    """A 16-bit grayscale image is scaled by 255/65535, rounded: 65535 → 255, 32768 → 128 (127.502), 0 → 0, a dark
    200 → 1 (0.778), not 200; 33025 → 129 (128.502: just above the half 257 · 128.5 = 33024.5, where dividing by
    65536 instead would give 128); 65280 = 257 · 254 → 254. The file path (a 16-bit PNG through load_image)
    gives the same. Catches dropping the 16-bit scaling (65535 and 32768 clip to 255), truncating x >> 8
    (200 → 0) and the off-by-one divisor 65536."""
    row = np.array([65535, 32768, 0, 200, 33025, 65280, 257, 1], np.uint16)
    img = Image.fromarray(np.tile(row, (SIZE, SIZE // len(row))))
    assert img.mode == "I;16"
    expected = [255, 128, 0, 1, 129, 254, 1, 0]
    assert [int(np.floor(v * 255 / 65535 + 0.5)) for v in row.tolist()] == expected
    got = np.asarray(_to_rgb(img))
    assert got.shape == (SIZE, SIZE, 3) and got.dtype == np.uint8
    assert got[0, :len(row), 0].tolist() == expected
    assert (got[..., 0] == got[..., 1]).all() and (got[..., 1] == got[..., 2]).all()   # grey stays grey
    img.save(tmp_path / "gray16.png")
    np.testing.assert_array_equal(load_image(tmp_path / "gray16.png"), got)


def test_transparent_pixels_are_composited_on_white(tmp_path):
    """RGBA: alpha 0 → white whatever the colour; alpha 255 → the colour; alpha 128 → the composite on white
    computed here (e.g. (0, 0, 200) at 128/255 → (127, 127, 227)); alpha 51 = 0.2 exactly → (100 → 224). LA
    (grey + alpha) the same way. Catches dropping the alpha (black or the raw colour) or compositing on black."""
    colours = [(0, 0, 200), (255, 0, 0), (100, 100, 100), (10, 200, 30)]
    alphas = [0, 255, 128, 51]
    arr = np.zeros((SIZE, SIZE, 4), np.uint8)
    for j, (colour, alpha) in enumerate((c, a) for c in colours for a in alphas):
        arr[:, j, :3] = colour
        arr[:, j, 3] = alpha
    got = np.asarray(_to_rgb(Image.fromarray(arr, "RGBA")))
    for j, (colour, alpha) in enumerate((c, a) for c in colours for a in alphas):
        assert got[0, j].tolist() == _composite_on_white(colour, alpha), (colour, alpha)
    assert _composite_on_white((0, 0, 200), 128) == [127, 127, 227] and _composite_on_white((100,), 51) == [224]
    assert got[0, 0].tolist() == [255, 255, 255]                       # alpha 0 is white
    Image.fromarray(arr, "RGBA").save(tmp_path / "rgba.png")
    np.testing.assert_array_equal(load_image(tmp_path / "rgba.png"), got)

    la = np.zeros((SIZE, SIZE, 2), np.uint8)
    la[..., 0], la[:, : SIZE // 2, 1], la[:, SIZE // 2:, 1] = 60, 0, 128
    got = np.asarray(_to_rgb(Image.fromarray(la, "LA")))
    assert got[0, 0].tolist() == [255] * 3 and got[0, -1].tolist() == _composite_on_white((60,) * 3, 128)


def test_palette_transparency_is_composited_on_white(tmp_path):
    """A palette image with a transparent index (tRNS, as GIF/PNG store it): that index → white, the others keep
    their palette colour; with per-entry alphas, an entry at alpha 128 → its composite on white. Also through a
    PNG file and load_image."""
    palette = [255, 0, 0, 0, 0, 255, 0, 128, 0] + [0] * (256 * 3 - 9)   # red, blue, green
    index = np.tile(np.array([0, 1, 2, 1], np.uint8), (SIZE, SIZE // 4))

    def paletted(transparency):
        img = Image.fromarray(index, "P")
        img.putpalette(palette)
        img.info["transparency"] = transparency
        return img

    got = np.asarray(_to_rgb(paletted(1)))                           # index 1 (blue) fully transparent
    assert got[0, :4].tolist() == [[255, 0, 0], [255, 255, 255], [0, 128, 0], [255, 255, 255]]
    got = np.asarray(_to_rgb(paletted(bytes([255, 128, 0]))))        # red opaque, blue half, green invisible
    assert got[0, :4].tolist() == [[255, 0, 0], _composite_on_white((0, 0, 255), 128), [255, 255, 255],
                                   _composite_on_white((0, 0, 255), 128)]
    assert _composite_on_white((0, 0, 255), 128) == [127, 127, 255]
    paletted(1).save(tmp_path / "palette.png", transparency=1)
    assert load_image(tmp_path / "palette.png")[0, :4].tolist() == \
        [[255, 0, 0], [255, 255, 255], [0, 128, 0], [255, 255, 255]]


# ------------------------------------------------------------------------------ decoding policy: 32 px minimum
def test_the_minimum_side_is_exactly_32_px(tmp_path):
    """README: "shorter side under 32 px … skipped: too small — in every package". At the boundary: a 31×40 image
    is skipped with that reason by the probe, the loader and the pre-split filter; 32×40 and 40×32 are used (a
    limit of 31 or 33 fails here; the 12×9 case of the reliability tests cannot tell them apart)."""
    from classify.images import ImageError, probe, usable

    paths = {}
    for w, h in ((31, 40), (40, 31), (32, 40), (40, 32)):
        paths[w, h] = tmp_path / f"img_{w}x{h}.png"
        Image.fromarray(np.zeros((h, w, 3), np.uint8)).save(paths[w, h])
    for small in ((31, 40), (40, 31)):
        with pytest.raises(ImageError, match="too small"):
            probe(paths[small])
        with pytest.raises(ImageError, match="too small"):
            load_image(paths[small])
    for fine in ((32, 40), (40, 32)):
        info = probe(paths[fine])
        assert (info.width, info.height) == fine and load_image(paths[fine]).shape == (fine[1], fine[0], 3)
    kept, skipped = usable([Sample(str(p), "x") for p in paths.values()])
    assert sorted(s.path for s in kept) == sorted(str(paths[f]) for f in ((32, 40), (40, 32)))
    assert len(skipped) == 2 and all("too small" in reason for reason in skipped)
