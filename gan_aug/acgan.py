"""ACGAN (Odena et al. 2017) as the thesis used it (§4.2.2): ``fit`` on ``(images, class_index)`` batches.

With ``S`` the source (real/fake) and ``C`` the class::

    L_S = E[log P(S = real | X_real)] + E[log P(S = fake | X_fake)]
    L_C = E[log P(C = c | X_real)]    + E[log P(C = c | X_fake)]

D maximises ``L_S + L_C``; G maximises ``L_C - L_S`` (thesis §4.2.2). As usual, both are written as losses to
minimise (negative log-likelihoods) and G's ``-L_S`` term uses the non-saturating form ``-log P(S = real |
X_fake)`` (Goodfellow et al. 2014 §3; Odena et al.'s code). Fake images get uniformly drawn classes and
``z ~ N(0, 1)``.
"""
from __future__ import annotations

import keras
import tensorflow as tf

from .base import GAN, bce_logits_loss, class_loss, dtype_policy, for_gradient, replica_count, replica_rows


class ACGAN(GAN):
    """Class-conditional ``G([z, c])`` and a two-headed ``D(x) -> [source logit, class logits]``."""

    tracker_names = ("d_loss", "g_loss", "d_source", "d_class", "g_source", "g_class", "real_class_acc")

    def __init__(self, generator: keras.Model, discriminator: keras.Model, n_classes: int,
                 seed: int | None = None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        self.generator, self.discriminator = generator, discriminator
        self.n_classes = int(n_classes)
        self.latent_dim = int(generator.input_shape[0][-1])

    def call(self, inputs, training=False):
        return self.generator(inputs, training=training)

    def train_step(self, data):
        real, labels = data
        labels = tf.reshape(tf.cast(labels, tf.int32), [-1])
        n = tf.shape(real)[0]  # this replica's rows; noise and classes are drawn for the global batch (gan_aug.base)
        z = replica_rows(keras.random.normal((n * replica_count(), self.latent_dim), seed=self.seed_generator), n)
        c = replica_rows(keras.random.randint((n * replica_count(),), 0, self.n_classes, seed=self.seed_generator,
                                              dtype="int32"), n)
        fake = self.generator([z, c], training=True)

        d_vars = self.discriminator.trainable_variables
        with tf.GradientTape() as tape:
            s_real, c_real = self.discriminator(real, training=True)
            s_fake, c_fake = self.discriminator(tf.stop_gradient(fake), training=True)
            d_source = bce_logits_loss(s_real, True) + bce_logits_loss(s_fake, False)   # -L_S
            d_class = class_loss(labels, c_real) + class_loss(c, c_fake)                # -L_C
            d_loss = d_source + d_class
            scaled = self.d_optimizer.scale_loss(for_gradient(d_loss))  # float16 loss scaling; replicas
        self.d_optimizer.apply_gradients(zip(tape.gradient(scaled, d_vars), d_vars))

        g_vars = self.generator.trainable_variables
        with tf.GradientTape() as tape:
            s_gen, c_gen = self.discriminator(self.generator([z, c], training=True), training=True)
            g_source = bce_logits_loss(s_gen, True)
            g_class = class_loss(c, c_gen)
            g_loss = g_source + g_class
            scaled = self.g_optimizer.scale_loss(for_gradient(g_loss))
        self.g_optimizer.apply_gradients(zip(tape.gradient(scaled, g_vars), g_vars))
        acc = tf.reduce_mean(tf.cast(tf.equal(tf.argmax(c_real, -1, output_type=tf.int32), labels), tf.float32))
        return self._update(d_loss=d_loss, g_loss=g_loss, d_source=d_source, d_class=d_class,
                            g_source=g_source, g_class=g_class, real_class_acc=acc)


def build_acgan(opts, n_classes: int) -> ACGAN:
    """Networks and model from :class:`gan_aug.options.ACGANOptions`."""
    from .networks import acgan_discriminator, acgan_generator

    keras.utils.set_random_seed(opts.seed)
    with dtype_policy(opts.precision):
        gen = acgan_generator(opts.size, n_classes, opts.latent_dim, opts.gen_filters, opts.max_filters)
        disc = acgan_discriminator(opts.size, n_classes, opts.disc_filters, opts.max_filters, opts.dropout)
    return ACGAN(gen, disc, n_classes, seed=opts.seed)
