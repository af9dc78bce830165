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
from typing import TYPE_CHECKING, Iterable, Sequence

import numpy as np
from PIL import Image

from .choices import FILL_MODES
from .data import Sample
from .images import load_image, save_image
from .manifest import ManifestWriter

if TYPE_CHECKING:
    import keras



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


def affine_augmentation(cfg: AffineAugment, seed: int | None = None, name: str = "affine_augment",
                        fused: bool = True) -> "keras.Sequential":
    """A ``keras.Sequential`` of preprocessing layers implementing ``cfg`` (see the module table).

    ``fused=True`` (default): one :class:`RandomAffine`, flips included (one interpolation: ~4× faster on CPU
    than the chain, whose ``RandomFlip`` alone costs as much as a full affine warp);
    ``fused=False``: one Keras layer per transform (``RandomRotation``, ``RandomZoom``, ``RandomShear``,
    ``RandomTranslation``). Input and output: float batches ``(B, H, W, 3)``; active only with ``training=True``.
    """
    import keras

    from .affine_layer import RandomAffine

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


def __getattr__(name: str):
    if name == "RandomAffine":  # the layer lives in classify.affine_layer (imports Keras)
        from .affine_layer import RandomAffine
        return RandomAffine
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
