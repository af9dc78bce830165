"""classify.augment and classify.pipeline: the layers do what their parameters say; decoding paths agree."""
from __future__ import annotations

import math

import numpy as np
import pytest
from PIL import Image

from classify.augment import (MIKOLAJCZYK_AUGMENT, AffineAugment, affine_augmentation, static_augment,
                              static_transform)
from classify.data import Sample, read_isic_csv, read_manifest
from classify.images import load_image
from classify.samples import ISIC_SAMPLE_CSV


def _image(h=16, w=16, seed=0):
    return np.random.default_rng(seed).uniform(0, 255, (1, h, w, 3)).astype("float32")


FUSED = pytest.mark.parametrize("fused", [True, False], ids=["fused", "keras-layers"])


@FUSED
def test_rotation_90_degrees_is_rot90_counter_clockwise(fused):
    img = _image()
    out = np.asarray(affine_augmentation(AffineAugment(rotation_range=(90, 90)), fused=fused)(img, training=True))[0]
    np.testing.assert_allclose(out, np.rot90(img[0], k=1), atol=1e-2)
    assert np.abs(out - np.rot90(img[0], k=-1)).max() > 50  # the direction matters
    # inactive at inference
    np.testing.assert_array_equal(affine_augmentation(MIKOLAJCZYK_AUGMENT)(img, training=False), img)


@FUSED
def test_horizontal_flip_is_mirror_or_identity_with_both_occurring(fused):
    imgs = np.concatenate([_image(seed=i) for i in range(32)])
    out = np.asarray(affine_augmentation(AffineAugment(horizontal_flip=True), seed=1, fused=fused)(imgs, training=True))
    flipped = [np.array_equal(o, x[:, ::-1]) for o, x in zip(out, imgs)]
    same = [np.array_equal(o, x) for o, x in zip(out, imgs)]
    assert all(f or s for f, s in zip(flipped, same))
    assert 4 <= sum(flipped) <= 28


@FUSED
def test_vertical_flip(fused):
    imgs = np.concatenate([_image(seed=i) for i in range(16)])
    out = np.asarray(affine_augmentation(AffineAugment(vertical_flip=True), seed=2, fused=fused)(imgs, training=True))
    flipped = [np.array_equal(o, x[::-1]) for o, x in zip(out, imgs)]
    assert all(f or np.array_equal(o, x) for f, o, x in zip(flipped, out, imgs)) and 0 < sum(flipped) < 16


@FUSED
def test_width_shift_moves_right_by_the_fraction(fused):
    img = _image()
    out = np.asarray(affine_augmentation(AffineAugment(width_shift_range=(0.25, 0.25), fill_mode="constant"),
                                         fused=fused)(img, training=True))[0]
    np.testing.assert_allclose(out[:, 4:], img[0, :, :12], atol=1e-3)
    assert np.abs(out[:, :4]).max() == 0  # constant fill, cval 0


@FUSED
def test_zoom_scale_2_shrinks_the_image_to_the_central_half(fused):
    img = np.full((1, 16, 16, 3), 200.0, "float32")
    out = np.asarray(affine_augmentation(AffineAugment(zoom_range=(2.0, 2.0), fill_mode="constant"), fused=fused)(
        img, training=True))[0, :, :, 0]
    covered = out > 100
    rows, cols = np.flatnonzero(covered.any(1)), np.flatnonzero(covered.any(0))
    assert (rows.min(), rows.max(), cols.min(), cols.max()) == (4, 11, 4, 11)


def test_shear_45_degrees_shifts_rows_by_their_offset():
    img = np.zeros((1, 17, 17, 3), "float32")
    img[0, :, 8] = 255.0  # a vertical line through the centre column
    out = np.asarray(affine_augmentation(AffineAugment(shear_range=(45, 45), fill_mode="constant"), seed=0)(
        img, training=True))[0, :, :, 0]
    cols = out.argmax(1)  # sheared line: column = 8 ± (row - 8), sign random
    assert cols[8] == 8 and {cols[0], cols[16]} == {0, 16} and abs(int(cols[4]) - 8) == 4


def test_shear_and_mikolajczyk_mapping():
    fused = affine_augmentation(MIKOLAJCZYK_AUGMENT).layers
    assert [type(l).__name__ for l in fused] == ["RandomAffine"]
    assert fused[0].rotation == (-40, 40) and fused[0].zoom == (0.8, 1.2)
    assert fused[0].shear == pytest.approx((-math.tan(0.2), math.tan(0.2)))
    assert fused[0].horizontal_flip and fused[0].vertical_flip
    layers = {type(l).__name__: l for l in affine_augmentation(MIKOLAJCZYK_AUGMENT, fused=False).layers}
    assert set(layers) == {"RandomFlip", "RandomRotation", "RandomZoom", "RandomShear"}
    assert layers["RandomRotation"].factor == pytest.approx((-40 / 360, 40 / 360))
    assert layers["RandomShear"].x_factor[1] == pytest.approx(math.tan(0.2))  # 0.2 rad = 11.46 deg
    assert layers["RandomZoom"].height_factor == pytest.approx((-0.2, 0.2))
    assert layers["RandomFlip"].mode == "horizontal_and_vertical"
    with pytest.raises(ValueError, match="fill_mode"):
        affine_augmentation(AffineAugment(fill_mode="mirror"))


def test_static_transform_translation_and_rotation():
    img = np.zeros((40, 40, 3), np.uint8)
    img[10:20, 10:20] = 255
    shifted = static_transform(img, dx=5, dy=3, angle=0, resample="nearest")
    np.testing.assert_array_equal(shifted[13:23, 15:25], 255)
    assert shifted[10:13].max() == 0
    rotated = static_transform(img, 0, 0, 90, resample="nearest")
    np.testing.assert_array_equal(rotated, np.rot90(img, 1))


def test_static_augment_is_deterministic_with_manifest(tmp_path):
    samples, _ = read_isic_csv(ISIC_SAMPLE_CSV)
    a = static_augment(samples[:3], tmp_path / "a", copies=2, seed=5)
    b = static_augment(samples[:3], tmp_path / "b", copies=2, seed=5)
    c = static_augment(samples[:1], tmp_path / "c", copies=1, seed=6)
    assert len(a) == 6 and all(s.synthetic and s.source in {x.path for x in samples} for s in a)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(load_image(x.path), load_image(y.path))
    assert not np.array_equal(load_image(a[0].path), load_image(c[0].path))
    assert [s.path for s in read_manifest(tmp_path / "a")[0]] == [s.path for s in a]
    assert static_augment(samples[:3], tmp_path / "a", copies=2, seed=5) == a  # resumable, no duplicate rows
    assert len(read_manifest(tmp_path / "a")[0]) == 6


# ------------------------------------------------------------------------------------------------ pipeline

def test_pipeline_embedded_sample_tf_and_pil_paths_agree():
    from classify.pipeline import dataset_arrays, make_dataset
    samples, _ = read_isic_csv(ISIC_SAMPLE_CSV)
    classes = ["MEL", "NV"]
    x_tf, y_tf = dataset_arrays(make_dataset(samples, classes, 32, batch_size=4, decoder="tf"))
    x_pil, y_pil = dataset_arrays(make_dataset(samples, classes, 32, batch_size=4, decoder="pil"))
    assert x_tf.shape == (10, 32, 32, 3) and x_tf.dtype == np.float32
    np.testing.assert_array_equal(y_tf, [0 if s.label == "MEL" else 1 for s in samples])
    np.testing.assert_array_equal(y_tf, y_pil)
    assert np.abs(x_tf - x_pil).mean() < 2.0  # two JPEG decoders, same resize
    x_cubic, _ = dataset_arrays(make_dataset(samples, classes, 32, 4, resize_method="bicubic", decoder="tf"))
    x_near, _ = dataset_arrays(make_dataset(samples, classes, 32, 4, resize_method="nearest", decoder="tf"))
    assert np.abs(x_cubic - x_tf).mean() < 3 < np.abs(x_near - x_tf).mean() + 3 and not np.array_equal(x_near, x_tf)


def test_pipeline_exif_cmyk_and_broken_files(tmp_path):
    from classify.pipeline import dataset_arrays, make_dataset, scan_samples
    left_red = np.zeros((40, 80, 3), np.uint8)
    left_red[:, :40, 0] = 255  # left half red, right half black
    exif = Image.Exif()
    exif[0x0112] = 6  # stored sideways: viewers rotate 90 deg clockwise
    Image.fromarray(np.rot90(left_red, 1)).save(tmp_path / "exif.jpg", exif=exif, quality=95)
    Image.fromarray(left_red).convert("CMYK").save(tmp_path / "cmyk.jpg", quality=95)
    (tmp_path / "junk.jpg").write_bytes(b"not an image")
    noise = np.random.default_rng(0).integers(0, 255, (120, 120, 3), dtype=np.uint8)
    Image.fromarray(noise).save(tmp_path / "full.jpg", quality=95)
    data = (tmp_path / "full.jpg").read_bytes()
    (tmp_path / "trunc.jpg").write_bytes(data[: len(data) * 2 // 3])
    samples = [Sample(str(tmp_path / n), "a") for n in ("exif.jpg", "cmyk.jpg", "junk.jpg", "trunc.jpg")]
    kept, safe, skipped = scan_samples(samples)
    # the policy finds the truncated file from its tail, before any split or count
    assert [s.path.rsplit("/", 1)[1] for s in kept] == ["exif.jpg", "cmyk.jpg"]
    assert safe == [False, False] and len(skipped) == 2
    assert "junk.jpg: not an image" in skipped[0] and "trunc.jpg: truncated" in skipped[1]
    forced = kept + [samples[3]]  # the dataset's own safety net, should a broken file get past the scan
    for flags in ([False] * 3, [False, False, True]):  # through the robust loader, then through tf.io
        x, y = dataset_arrays(make_dataset(forced, ["a"], 32, 8, fit="squash", safe_flags=flags))
        assert len(x) == 2  # the truncated file is dropped
        for img in x:
            assert img[:, :12, 0].mean() > 200 and img[:, 20:, 0].mean() < 50  # upright: red on the left
