"""``tf.data`` input pipelines: parallel decode, resize with a named method, cache, shuffle, augment, prefetch.

Decoding takes the fast path, ``tf.io.decode_image`` inside the graph, only where that is *safe*: JPEG/PNG files
whose header says 8-bit RGB or grayscale with no EXIF rotation. Everything else (CMYK, RGBA, 16-bit, EXIF-rotated
phone photos, BMP/TIFF/WebP) goes through the robust loader :func:`classify.images.load_image` via
``tf.numpy_function``; both paths run in parallel under ``num_parallel_calls=AUTOTUNE``. :func:`scan_samples`
opens each header once (cheap: no pixel decoding) to choose the path and to skip non-images with a reason.

Resizing happens in TF for both paths so one method applies to all: ``fit="crop"`` scales the shorter side to
``size`` and takes the centre square (what :func:`classify.images.load_square` does), ``fit="squash"`` resizes to
``size × size`` ignoring aspect. Methods are ``tf.image.resize``'s, with antialiasing on (like PIL), e.g.
``bicubic`` (thesis §5.2: "Bicubic interpolation where used for resampling"). Images stay ``uint8`` until after
the cache (4× less memory than float), batches come out as ``float32`` in 0..255: every model of
:mod:`classify.models` does its own input scaling.
"""
from __future__ import annotations

import os
import sys
from typing import Callable, Sequence

import numpy as np
import tensorflow as tf

from .choices import RESIZE_METHODS  # noqa: F401  (re-exported)
from .data import Sample
from .images import MAX_DECODE_PIXELS, MIN_SIDE, ImageError, ImageInfo, load_image, probe

#: Names accepted by ``resize_method`` (``tf.image.ResizeMethod`` values).
AUTOTUNE = tf.data.AUTOTUNE


def _tf_safe(info: ImageInfo) -> bool:
    """True when ``tf.io.decode_image`` gives the same pixels as the robust loader for this file: an 8-bit RGB or
    grayscale JPEG/PNG, no transparency, no EXIF rotation, complete, and small enough to decode at full size."""
    return (info.format in ("JPEG", "PNG") and info.mode in ("RGB", "L") and not info.transparency
            and info.orientation in (0, 1) and info.complete and info.pixels <= MAX_DECODE_PIXELS)


def scan_samples(samples: Sequence[Sample], decoder: str = "auto", min_side: int = MIN_SIDE,
                 progress: bool = False, desc: str = "checking images"
                 ) -> tuple[list[Sample], list[bool], list[str]]:
    """Probe every file (:func:`classify.images.probe`: header and tail, no pixels):
    ``(usable samples, tf_safe flags, skipped reasons)``.

    ``decoder``: ``"auto"`` (tf.io where safe), ``"pil"`` (always the robust loader) or ``"tf"`` (tf.io where the
    file allows it). Every file the policy refuses is skipped here with its one-line reason. ``progress`` shows a
    bar.
    """
    if decoder not in ("auto", "pil", "tf"):
        raise ValueError(f"decoder must be 'auto', 'pil' or 'tf', got {decoder!r}")
    kept, safe, skipped = [], [], []
    from tqdm.auto import tqdm

    for s in tqdm(samples, desc=desc, unit="img", disable=not progress or not samples, leave=False,
                  dynamic_ncols=True):
        try:
            info = probe(s.path, min_side)
        except ImageError as err:
            skipped.append(str(err))
            continue
        kept.append(s)
        safe.append(_tf_safe(info) if decoder != "pil" else False)
    return kept, safe, skipped


def encode_labels(samples: Sequence[Sample], class_names: Sequence[str]) -> np.ndarray:
    """Integer label of each sample: its index in ``class_names`` (``ValueError`` for a label not in it)."""
    index = {c: i for i, c in enumerate(class_names)}
    missing = sorted({s.label for s in samples if s.label not in index})
    if missing:
        raise ValueError(f"label(s) {missing} not among the classes {list(class_names)}")
    return np.asarray([index[s.label] for s in samples], dtype=np.int32)


def _robust_decode(path: bytes) -> tuple[np.ndarray, bool]:
    try:
        return load_image(os.fsdecode(path)), True
    except ImageError as err:
        print(f"skipped: {err}", file=sys.stderr)
        return np.zeros((1, 1, 3), np.uint8), False


def resize_image(image: tf.Tensor, size: int, method: str = "bilinear", fit: str = "crop") -> tf.Tensor:
    """Resize one ``(H, W, 3)`` image to ``(size, size, 3)`` ``uint8`` (``fit``: ``crop`` or ``squash``)."""
    if method not in RESIZE_METHODS:
        raise ValueError(f"resize_method must be one of {RESIZE_METHODS}, got {method!r}")
    if fit not in ("crop", "squash"):
        raise ValueError(f"fit must be 'crop' or 'squash', got {fit!r}")
    x = tf.cast(image, tf.float32)
    if fit == "squash":
        x = tf.image.resize(x, (size, size), method=method, antialias=True)
    else:
        shape = tf.cast(tf.shape(x)[:2], tf.float32)
        scale = float(size) / tf.reduce_min(shape)
        new = tf.maximum(tf.cast(tf.round(shape * scale), tf.int32), size)
        x = tf.image.resize(x, new, method=method, antialias=True)
        top = (new[0] - size) // 2
        left = (new[1] - size) // 2
        x = x[top:top + size, left:left + size]
    x = tf.ensure_shape(x, (size, size, 3))
    return tf.cast(tf.clip_by_value(tf.round(x), 0.0, 255.0), tf.uint8)


def _decode_fn(size: int, method: str, fit: str) -> Callable:
    def decode(path: tf.Tensor, safe: tf.Tensor, label: tf.Tensor):
        def fast():
            img = tf.io.decode_image(tf.io.read_file(path), channels=3, expand_animations=False)
            return tf.cast(img, tf.uint8), tf.constant(True)

        def robust():
            img, ok = tf.numpy_function(_robust_decode, [path], (tf.uint8, tf.bool), stateful=False)
            img.set_shape((None, None, 3))
            ok.set_shape(())
            return img, ok

        img, ok = tf.cond(safe, fast, robust)
        img = tf.cond(ok, lambda: resize_image(img, size, method, fit),
                      lambda: tf.zeros((size, size, 3), tf.uint8))
        return img, label, ok

    return decode


def _decoded_ok(img, label, ok):
    return ok


def _drop_flag(img, label, ok):
    return img, label


def _to_float(x, y):
    return tf.cast(x, tf.float32), y


def make_dataset(
    samples: Sequence[Sample],
    class_names: Sequence[str],
    image_size: int = 224,
    batch_size: int = 32,
    resize_method: str = "bilinear",
    fit: str = "crop",
    shuffle: bool = False,
    seed: int = 0,
    cache: bool | str = True,
    augment: Callable | None = None,
    decoder: str = "auto",
    repeat: bool = False,
    drop_remainder: bool = False,
    safe_flags: Sequence[bool] | None = None,
    labels: Sequence[int] | None = None,
) -> tf.data.Dataset:
    """A batched ``tf.data.Dataset`` of ``(float32 images 0..255, int32 labels)``.

    ``labels`` replaces the class indices of the samples' labels by any integers (scoring passes each sample's
    position, so it can tell which images were decoded).

    Order: decode + resize in parallel → drop undecodable files → ``cache`` (``True`` = memory, a string = a
    cache file prefix, ``False`` = none) → ``shuffle`` (whole set, reshuffled every epoch, seeded) → ``repeat`` →
    batch → ``augment(x, training=True)`` (a Keras layer/model, e.g. :func:`classify.augment.affine_augmentation`)
    → prefetch. Pass ``safe_flags`` from :func:`scan_samples` to skip re-scanning headers.
    """
    if safe_flags is None:
        samples, safe_flags, skipped = scan_samples(samples, decoder)
        for reason in skipped:
            print(f"skipped: {reason}", file=sys.stderr)
    if not samples:
        raise ValueError("no usable images in the dataset")
    labels = encode_labels(samples, class_names) if labels is None else np.asarray(labels, np.int32)
    ds = tf.data.Dataset.from_tensor_slices(
        ([os.fsencode(s.path) for s in samples], np.asarray(safe_flags, dtype=bool), labels))
    ds = ds.map(_decode_fn(image_size, resize_method, fit), num_parallel_calls=AUTOTUNE, deterministic=True)
    # a truncated/corrupt file fails in tf.io (dropped here, with a logged warning) or in the robust loader
    # (dropped by the ok flag, with its one-line reason)
    ds = ds.ignore_errors(log_warning=True).filter(_decoded_ok).map(_drop_flag)
    if cache:
        ds = ds.cache("" if cache is True else str(cache))
    if shuffle:
        ds = ds.shuffle(len(samples), seed=seed, reshuffle_each_iteration=True)
    if repeat:
        ds = ds.repeat()
    ds = ds.batch(batch_size, drop_remainder=drop_remainder)
    ds = ds.map(_to_float, num_parallel_calls=AUTOTUNE)
    if augment is not None:
        def apply_augment(x, y):
            return augment(x, training=True), y
        ds = ds.map(apply_augment, num_parallel_calls=AUTOTUNE)
    return ds.prefetch(AUTOTUNE)


def dataset_arrays(ds: tf.data.Dataset) -> tuple[np.ndarray, np.ndarray]:
    """Materialise a (finite) dataset as ``(images, labels)`` numpy arrays."""
    xs, ys = [], []
    for x, y in ds:
        xs.append(x.numpy())
        ys.append(y.numpy())
    return np.concatenate(xs), np.concatenate(ys)
