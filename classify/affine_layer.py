"""The Keras layer behind :func:`classify.augment.affine_augmentation` (kept apart so that importing
:mod:`classify.augment` — its settings, Gauld's static copies — needs no TensorFlow)."""
from __future__ import annotations

import math

import keras

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
