"""Augmentation: the ``ImageDataGenerator`` vocabulary as in-graph Keras preprocessing layers, and Gauld's static copies.

Online (every batch, inside ``tf.data``): :class:`AffineAugment` keeps the parameter names and units of Keras 2's
``ImageDataGenerator`` (what Mikołajczyk & Grochowski used: "rotation, zoom, shear, reflection", §IV.D) and builds
them from Keras 3 layers:

=====================  =============================================  =============================================
ImageDataGenerator     meaning                                        Keras 3 layer
=====================  =============================================  =============================================
``rotation_range=r``   angle ~ U(-r, r) degrees (or a ``(lo, hi)``)   ``RandomRotation(factor=(lo/360, hi/360))``
``zoom_range=z``       scale ~ U(1-z, 1+z) per axis (>1 = zoom out)   ``RandomZoom((1-z)-1, (1+z)-1)`` both axes
``shear_range=s``      shear angle ~ U(-s, s) degrees                 ``RandomShear(x_factor=tan(s))``: shear
                                                                       factor |k| <= tan s, random sign
``width_shift_range``  shift ~ U(-w, w) · width                       ``RandomTranslation(width_factor=(-w, w))``
``height_shift_range`` shift ~ U(-h, h) · height                      ``RandomTranslation(height_factor=(-h, h))``
``horizontal_flip``    mirror left-right with p = 1/2                 ``RandomFlip("horizontal")``
``vertical_flip``      mirror top-bottom with p = 1/2                 ``RandomFlip("vertical")``
``fill_mode, cval``    ``nearest``/``reflect``/``wrap``/``constant``  ``fill_mode``, ``fill_value`` of each layer
=====================  =============================================  =============================================

Differences from ImageDataGenerator, stated: it composes all transforms into one matrix and interpolates once;
here each layer interpolates (bilinear) in turn. Its shear matrix ``[[1, -sin s], [0, cos s]]`` also scales y by
``cos s`` (< 1.6 % for s <= 10°); ``RandomShear`` is the pure shear ``[[1, k], [0, 1]]`` with ``k`` uniform in
``[-tan s, tan s]``.

Offline (once, before training): :func:`static_augment` writes Gauld's "static translational and rotational
augmentations using the Python Imaging Library" (Gauld, Methods): translated + rotated copies, fixed across runs,
recorded in a manifest whose ``source`` column ties each copy to its original (so the splits keep it out of
training when the original is tested).
"""
from __future__ import annotations

import math
import os
import zlib
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Iterable, Sequence

import keras
import numpy as np
from PIL import Image

from .data import Sample
from .images import load_image, save_image
from .manifest import ManifestWriter

FILL_MODES = ("nearest", "reflect", "wrap", "constant")


def _range(value: float | Sequence[float], name: str) -> tuple[float, float]:
    if isinstance(value, (int, float)):
        if value < 0:
            raise ValueError(f"{name} must be >= 0 (a symmetric range), got {value}")
        return -float(value), float(value)
    lo, hi = (float(v) for v in value)
    if lo > hi:
        raise ValueError(f"{name} range ({lo}, {hi}) has lo > hi")
    return lo, hi


@dataclass(frozen=True)
class AffineAugment:
    """ImageDataGenerator-style augmentation settings (units as in Keras 2's ImageDataGenerator).

    ``rotation_range`` and ``shear_range`` are degrees; ``zoom_range`` a fraction (float z → scale in
    [1-z, 1+z]) or an explicit ``(lo, hi)`` scale; shifts are fractions of the image size. A symmetric float or an
    explicit ``(lo, hi)`` is accepted for rotation (e.g. ``(90, 90)``: always 90° counter-clockwise), shear and
    shifts.
    """

    rotation_range: float | tuple[float, float] = 0.0
    zoom_range: float | tuple[float, float] = 0.0
    shear_range: float | tuple[float, float] = 0.0
    width_shift_range: float | tuple[float, float] = 0.0
    height_shift_range: float | tuple[float, float] = 0.0
    horizontal_flip: bool = False
    vertical_flip: bool = False
    fill_mode: str = "nearest"
    cval: float = 0.0
    interpolation: str = "bilinear"

    def to_dict(self) -> dict:
        return asdict(self)

    def is_identity(self) -> bool:
        return self == AffineAugment(fill_mode=self.fill_mode, cval=self.cval, interpolation=self.interpolation)


#: Mikołajczyk & Grochowski §IV.D list "rotation, zoom, shear, reflection" but give no ranges. The ranges are those
#: of the canonical Keras 2 ImageDataGenerator recipe of that time (F. Chollet, "Building powerful image
#: classification models using very little data", blog.keras.io, 2016: rotation_range=40, shear_range=0.2,
#: zoom_range=0.2, horizontal_flip=True, fill_mode='nearest'); in Keras 2.0 shear_range was in radians, so
#: 0.2 rad = 11.46°. Reflection = both flips (a dermoscopy image has no preferred orientation).
MIKOLAJCZYK_AUGMENT = AffineAugment(
    rotation_range=40.0, zoom_range=0.2, shear_range=math.degrees(0.2), horizontal_flip=True, vertical_flip=True,
    fill_mode="nearest")


@keras.saving.register_keras_serializable(package="classify")
class RandomAffine(keras.layers.Layer):
    """Flips, rotation, zoom, shear and shift composed into ONE affine map per image and applied with one
    interpolation (as ImageDataGenerator does), via ``keras.ops.image.affine_transform``.

    For output pixel ``p`` (x = column, y = row) and centre ``c = ((W−1)/2, (H−1)/2)`` the input sampled is
    ``c + R(θ) · Sh(k) · Z(zx, zy) · F · (p − c) − (tx·W, ty·H)`` with ``F = diag(±1, ±1)`` the random flips, ``R(θ) = [[cos θ, −sin θ], [sin θ, cos θ]]``
    (θ > 0 turns the content counter-clockwise, like ``RandomRotation``), ``Sh(k) = [[1, k], [0, 1]]``,
    ``Z = diag(zx, zy)`` (> 1 zooms out) and a positive ``tx`` moving the content right. θ, zx, zy, k, tx, ty are
    drawn uniformly and independently per image from the given ranges (angles in degrees; ``shear`` is the
    factor range, ``(tan lo, tan hi)`` of the shear angles).
    """

    def __init__(self, rotation=(0.0, 0.0), zoom=(1.0, 1.0), shear=(0.0, 0.0), width_shift=(0.0, 0.0),
                 height_shift=(0.0, 0.0), fill_mode="nearest", fill_value=0.0, interpolation="bilinear",
                 seed=None, horizontal_flip=False, vertical_flip=False, **kwargs):
        super().__init__(**kwargs)
        self.horizontal_flip, self.vertical_flip = bool(horizontal_flip), bool(vertical_flip)
        self.rotation, self.zoom, self.shear = tuple(rotation), tuple(zoom), tuple(shear)
        self.width_shift, self.height_shift = tuple(width_shift), tuple(height_shift)
        self.fill_mode, self.fill_value, self.interpolation, self.seed = fill_mode, fill_value, interpolation, seed

    def _uniform(self, n, bounds, offset: int):
        import tensorflow as tf
        lo, hi = bounds
        if lo == hi:
            return tf.fill([n], tf.constant(float(lo)))
        seed = None if self.seed is None else self.seed + offset
        return tf.random.uniform([n], float(lo), float(hi), seed=seed)

    def call(self, images, training=True):
        import tensorflow as tf
        if not training:
            return images
        images = tf.convert_to_tensor(images)
        shape = tf.shape(images)
        n = shape[0]
        h, w = tf.cast(shape[1], tf.float32), tf.cast(shape[2], tf.float32)
        theta = self._uniform(n, self.rotation, 1) * (math.pi / 180.0)
        zx, zy = self._uniform(n, self.zoom, 2), self._uniform(n, self.zoom, 3)
        k = self._uniform(n, self.shear, 4)
        tx, ty = self._uniform(n, self.width_shift, 5) * w, self._uniform(n, self.height_shift, 6) * h
        # flips: F = diag(fx, fy), fx = −1 with probability 1/2 when horizontal_flip (likewise fy)
        if self.horizontal_flip:
            zx = zx * tf.where(self._uniform(n, (0.0, 1.0), 7) < 0.5, -1.0, 1.0)
        if self.vertical_flip:
            zy = zy * tf.where(self._uniform(n, (0.0, 1.0), 8) < 0.5, -1.0, 1.0)
        cos, sin = tf.cos(theta), tf.sin(theta)
        # M = R · Sh · Z · F
        m00, m01 = cos * zx, (cos * k - sin) * zy
        m10, m11 = sin * zx, (sin * k + cos) * zy
        cx, cy = (w - 1.0) / 2.0, (h - 1.0) / 2.0
        a2 = cx - m00 * cx - m01 * cy - tx
        b2 = cy - m10 * cx - m11 * cy - ty
        zeros = tf.zeros_like(m00)
        transform = tf.stack([m00, m01, a2, m10, m11, b2, zeros, zeros], axis=1)
        return keras.ops.image.affine_transform(images, transform, interpolation=self.interpolation,
                                                fill_mode=self.fill_mode, fill_value=self.fill_value)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "rotation": self.rotation, "zoom": self.zoom, "shear": self.shear,
                "width_shift": self.width_shift, "height_shift": self.height_shift, "fill_mode": self.fill_mode,
                "fill_value": self.fill_value, "interpolation": self.interpolation, "seed": self.seed,
                "horizontal_flip": self.horizontal_flip, "vertical_flip": self.vertical_flip}


def affine_augmentation(cfg: AffineAugment, seed: int | None = None, name: str = "affine_augment",
                        fused: bool = True) -> keras.Sequential:
    """A ``keras.Sequential`` of preprocessing layers implementing ``cfg`` (see the module table).

    ``fused=True`` (default): one :class:`RandomAffine`, flips included (one interpolation: ~4× faster on CPU
    than the chain, whose ``RandomFlip`` alone costs as much as a full affine warp);
    ``fused=False``: one Keras layer per transform (``RandomRotation``, ``RandomZoom``, ``RandomShear``,
    ``RandomTranslation``). Input and output: float batches ``(B, H, W, 3)``; active only with ``training=True``.
    """
    if cfg.fill_mode not in FILL_MODES:
        raise ValueError(f"fill_mode must be one of {FILL_MODES}, got {cfg.fill_mode!r}")
    if fused:
        if isinstance(cfg.zoom_range, (int, float)):
            zoom = (1.0 - float(cfg.zoom_range), 1.0 + float(cfg.zoom_range))
        else:
            zoom = tuple(float(v) for v in cfg.zoom_range)
        if not 0.0 < zoom[0] <= zoom[1]:
            raise ValueError(f"zoom scales must satisfy 0 < lo <= hi, got {zoom}")
        slo, shi = _range(cfg.shear_range, "shear_range")
        shear = (math.tan(math.radians(slo)), math.tan(math.radians(shi)))
        affine = RandomAffine(_range(cfg.rotation_range, "rotation_range"), zoom, shear,
                              _range(cfg.width_shift_range, "width_shift_range"),
                              _range(cfg.height_shift_range, "height_shift_range"), cfg.fill_mode, cfg.cval,
                              cfg.interpolation, seed=seed, horizontal_flip=cfg.horizontal_flip,
                              vertical_flip=cfg.vertical_flip, name="random_affine")
        return keras.Sequential([] if cfg.is_identity() else [affine], name=name)
    common = dict(fill_mode=cfg.fill_mode, fill_value=cfg.cval, interpolation=cfg.interpolation)
    rng = np.random.default_rng(seed)

    def s() -> int | None:
        return None if seed is None else int(rng.integers(2**31 - 1))

    layers: list[keras.layers.Layer] = []
    flip = ("horizontal_and_vertical" if cfg.horizontal_flip and cfg.vertical_flip
            else "horizontal" if cfg.horizontal_flip else "vertical" if cfg.vertical_flip else None)
    if flip:
        layers.append(keras.layers.RandomFlip(flip, seed=s()))
    lo, hi = _range(cfg.rotation_range, "rotation_range")
    if (lo, hi) != (0.0, 0.0):
        layers.append(keras.layers.RandomRotation((lo / 360.0, hi / 360.0), seed=s(), **common))
    if isinstance(cfg.zoom_range, (int, float)):
        zlo, zhi = 1.0 - float(cfg.zoom_range), 1.0 + float(cfg.zoom_range)
    else:
        zlo, zhi = (float(v) for v in cfg.zoom_range)
    if not 0.0 < zlo <= zhi:
        raise ValueError(f"zoom scales must satisfy 0 < lo <= hi, got ({zlo}, {zhi})")
    if (zlo, zhi) != (1.0, 1.0):
        layers.append(keras.layers.RandomZoom((zlo - 1.0, zhi - 1.0), (zlo - 1.0, zhi - 1.0), seed=s(), **common))
    slo, shi = _range(cfg.shear_range, "shear_range")
    if (slo, shi) != (0.0, 0.0):
        k = math.tan(math.radians(max(abs(slo), abs(shi))))
        layers.append(keras.layers.RandomShear(x_factor=k, y_factor=0.0, seed=s(), **common))
    hlo, hhi = _range(cfg.height_shift_range, "height_shift_range")
    wlo, whi = _range(cfg.width_shift_range, "width_shift_range")
    if (hlo, hhi, wlo, whi) != (0.0, 0.0, 0.0, 0.0):
        layers.append(keras.layers.RandomTranslation((hlo, hhi), (wlo, whi), seed=s(), **common))
    return keras.Sequential(layers, name=name)


# --------------------------------------------------------------------------------------------- Gauld, static


#: Gauld names the transforms (a translational shift and a rotation, via PIL) but not their size; ours: shifts up
#: to 10 % of each side and rotations up to 15°, one copy per image, black fill (PIL's default).
GAULD_STATIC = dict(max_shift=0.1, max_rotation=15.0, copies=1)


def static_transform(image: np.ndarray, dx: float, dy: float, angle: float, resample: str = "bicubic"
                     ) -> np.ndarray:
    """Rotate ``image`` by ``angle`` degrees counter-clockwise about its centre, then shift by ``(dx, dy)``
    pixels (right, down); uncovered pixels are black. PIL ``Image.rotate(angle, translate=(dx, dy))``."""
    resamples = {"nearest": Image.Resampling.NEAREST, "bilinear": Image.Resampling.BILINEAR,
                 "bicubic": Image.Resampling.BICUBIC}
    img = Image.fromarray(np.asarray(image, np.uint8))
    out = img.rotate(angle, resample=resamples[resample], translate=(dx, dy), fillcolor=(0, 0, 0))
    return np.asarray(out)


def static_augment(samples: Iterable[Sample], out_dir: str | os.PathLike, copies: int = 1,
                   max_shift: float = 0.1, max_rotation: float = 15.0, seed: int = 0) -> list[Sample]:
    """Write ``copies`` translated+rotated copies of each real sample to ``out_dir`` (Gauld's static augmentation).

    Deterministic: copy j of image p uses ``numpy.random.default_rng([seed, crc32(name of p), j])`` to draw
    ``dx ~ U(-max_shift, max_shift)·W``, ``dy ~ U(-max_shift, max_shift)·H``, ``angle ~ U(-max_rotation,
    max_rotation)``, so reruns give identical files. Existing files are reused (resumable). Rows go to
    ``out_dir/manifest.csv`` with ``source`` = the original; returns the copies as synthetic samples.
    """
    out_dir = Path(out_dir)
    done = {}
    manifest = out_dir / "manifest.csv"
    if manifest.exists():
        from .manifest import read_manifest_rows
        done = {r["output"]: r for r in read_manifest_rows(manifest)}
    result: list[Sample] = []
    with ManifestWriter(out_dir, extra_columns=("dx", "dy", "angle")) as writer:
        for s in samples:
            if s.synthetic:
                continue
            name = Path(s.path).stem
            for j in range(copies):
                rel = f"{s.label or 'unlabelled'}/{name}_static{j}.png"
                if rel not in done or not (out_dir / rel).exists():
                    image = load_image(s.path)
                    h, w = image.shape[:2]
                    rng = np.random.default_rng([seed, zlib.crc32(name.encode()), j])
                    dx = float(rng.uniform(-max_shift, max_shift) * w)
                    dy = float(rng.uniform(-max_shift, max_shift) * h)
                    angle = float(rng.uniform(-max_rotation, max_rotation))
                    save_image(static_transform(image, dx, dy, angle), out_dir / rel)
                    writer.write({"output": rel, "source": s.path, "label": s.label, "method": "static_affine",
                                  "seed": seed, "dx": round(dx, 3), "dy": round(dy, 3), "angle": round(angle, 3)})
                result.append(Sample(str((out_dir / rel).resolve()), s.label, source=s.path, generated=True))
    return result
