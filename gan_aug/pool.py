"""The image pool (history buffer) of Shrivastava et al. 2017, as CycleGAN uses it (Zhu et al. §4).

The discriminators are updated with a history of generated images rather than only the latest ones. For each
generated image in a batch, in order (junyanz ``util/image_pool.py``):

- while fewer than ``pool_size`` images are stored, store it and return it;
- afterwards, with probability 0.5 return a uniformly chosen *stored* image and store the new one in its
  place; otherwise return the new image and leave the pool unchanged.

``pool_size=0`` turns the pool off (images pass through). The pool is a Keras layer whose buffer, fill count
and random state are non-trainable variables, so it runs inside the compiled train step (XLA included) and
is saved and restored with the model's other variables: a resumed run sees the same history.

Under ``tf.distribute`` the pool runs on the global batch, as it does on one device: every replica gathers all
replicas' images (:func:`gan_aug.base.gather_global`), runs the same draws from the mirrored seed state on them,
and returns its own rows; the buffer and count, identical on every replica, are written from the first.
"""
from __future__ import annotations

import keras
import tensorflow as tf

from .base import gather_global, replica_rows


class ImagePool(keras.layers.Layer):
    """A buffer of ``pool_size`` past images of shape ``image_shape`` (see module docstring)."""

    def __init__(self, pool_size: int, image_shape: tuple[int, int, int], seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.pool_size = int(pool_size)
        self.image_shape = tuple(int(s) for s in image_shape)
        self.seed_generator = keras.random.SeedGenerator(seed, name=f"{self.name}_seed")
        n = max(self.pool_size, 1)
        # only_first_replica: assignable inside a tf.distribute replica context (every replica holds the same value)
        self.images = self.add_weight(shape=(n, *self.image_shape), initializer="zeros", trainable=False,
                                      name="images", aggregation="only_first_replica")
        self.count = self.add_weight(shape=(), initializer="zeros", dtype="int32", trainable=False, name="count",
                                     aggregation="only_first_replica")
        self.built = True  # its state is made here, not in build()

    def call(self, images):
        """Return a batch of the same shape: each image either itself or a stored one (see module docstring)."""
        if self.pool_size == 0:
            return images
        local = tf.convert_to_tensor(images, dtype=self.images.dtype)
        images = gather_global(local)
        n = tf.shape(images)[0]
        # Draw all random numbers up front from the layer's seed generator (one state update per call).
        seed = keras.random.randint((2,), 0, 2**31 - 1, seed=self.seed_generator, dtype="int32")
        coins = tf.random.stateless_uniform([n], seed=seed)
        picks = tf.random.stateless_uniform([n], seed=seed + 1, minval=0, maxval=self.pool_size, dtype=tf.int32)
        buffer = tf.convert_to_tensor(self.images)
        count = tf.convert_to_tensor(self.count)

        def step(i, buffer, count):
            image = images[i]
            filling = count < self.pool_size
            swap = tf.logical_and(tf.logical_not(filling), coins[i] > 0.5)
            slot = tf.where(filling, count, picks[i])
            old = buffer[slot]
            returned = tf.where(swap, old, image)
            stored = tf.where(tf.logical_or(filling, swap), image, old)
            buffer = tf.tensor_scatter_nd_update(buffer, [[slot]], stored[None])
            return returned, buffer, count + tf.cast(filling, tf.int32)

        if images.shape[0] is not None:  # static batch (the usual case): unrolled, cheap to compile with XLA
            returned = []
            for i in range(images.shape[0]):
                r, buffer, count = step(i, buffer, count)
                returned.append(r)
            out = tf.stack(returned)
        else:
            def body(i, buffer, count, ta):
                r, buffer, count = step(i, buffer, count)
                return i + 1, buffer, count, ta.write(i, r)

            ta = tf.TensorArray(images.dtype, size=n, element_shape=self.image_shape)
            _, buffer, count, ta = tf.while_loop(lambda i, *_: i < n, body, (0, buffer, count, ta))
            out = tf.reshape(ta.stack(), tf.shape(images))
        self.images.assign(buffer)
        self.count.assign(count)
        return replica_rows(out, tf.shape(local)[0])

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "pool_size": self.pool_size, "image_shape": self.image_shape}
