"""DCGAN (Radford et al. 2016) after Cho §III as a ``keras.Model``: ``fit`` on a dataset of image batches.

One train step (the PyTorch DCGAN recipe Cho followed; Goodfellow et al.'s non-saturating generator loss):

1. Discriminator: ``L_D = BCE(D(x), 1) + BCE(D(G(z)), 0)`` with ``z ~ U(-1, 1)^125`` (Cho Fig. 5), G fixed.
2. Generator, against the updated D on the same noise: ``L_G = BCE(D(G(z)), 1)`` (= maximise ``log D(G(z))``).

Real and fake batches go through D separately (batch-norm statistics per source, as in Radford's code).
"""
from __future__ import annotations

import keras
import tensorflow as tf

from .base import GAN, bce_logits_loss, dtype_policy, for_gradient, replica_count, replica_rows


def sample_noise(shape, distribution: str, seed):
    """``U(-1, 1)`` (Cho Fig. 5, Radford §4) or ``N(0, 1)`` noise of ``shape``."""
    if distribution == "uniform":
        return keras.random.uniform(shape, -1.0, 1.0, seed=seed)
    if distribution == "normal":
        return keras.random.normal(shape, seed=seed)
    raise ValueError(f"noise must be 'uniform' or 'normal', got {distribution!r}")


class DCGAN(GAN):
    """Generator ``G: z -> image`` and discriminator ``D: image -> logit`` (see module docstring)."""

    tracker_names = ("d_loss", "g_loss", "d_real", "d_fake")

    def __init__(self, generator: keras.Model, discriminator: keras.Model, noise: str = "uniform",
                 seed: int | None = None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        self.generator, self.discriminator = generator, discriminator
        self.latent_dim = int(generator.input_shape[-1])
        self.noise = noise

    def call(self, z, training=False):
        return self.generator(z, training=training)

    def realness(self, images) -> "tf.Tensor":
        """``D(x) = σ(logit)``, the discriminator's probability that each image is real (images in [-1, 1])."""
        return tf.sigmoid(tf.cast(self.discriminator(images, training=False), tf.float32))[:, 0]

    def train_step(self, real):
        if isinstance(real, tuple):  # (images, labels) datasets: labels unused
            real = real[0]
        n = tf.shape(real)[0]  # this replica's rows; the noise is drawn for the global batch (gan_aug.base)
        z = replica_rows(sample_noise((n * replica_count(), self.latent_dim), self.noise, self.seed_generator), n)
        fake = self.generator(z, training=True)
        d_vars = self.discriminator.trainable_variables
        with tf.GradientTape() as tape:
            real_logits = self.discriminator(real, training=True)
            fake_logits = self.discriminator(tf.stop_gradient(fake), training=True)
            d_loss = bce_logits_loss(real_logits, True) + bce_logits_loss(fake_logits, False)
            scaled = self.d_optimizer.scale_loss(for_gradient(d_loss))  # float16 loss scaling; replicas
        self.d_optimizer.apply_gradients(zip(tape.gradient(scaled, d_vars), d_vars))

        g_vars = self.generator.trainable_variables
        with tf.GradientTape() as tape:
            g_loss = bce_logits_loss(self.discriminator(self.generator(z, training=True), training=True), True)
            scaled = self.g_optimizer.scale_loss(for_gradient(g_loss))
        self.g_optimizer.apply_gradients(zip(tape.gradient(scaled, g_vars), g_vars))
        return self._update(d_loss=d_loss, g_loss=g_loss, d_real=tf.reduce_mean(tf.sigmoid(real_logits)),
                            d_fake=tf.reduce_mean(tf.sigmoid(fake_logits)))


def build_dcgan(opts) -> DCGAN:
    """Networks and model from :class:`gan_aug.options.DCGANOptions`."""
    from .networks import dcgan_discriminator, dcgan_generator, resnet18_discriminator

    if opts.discriminator not in ("resnet18", "dcgan"):
        raise ValueError(f"discriminator must be 'resnet18' or 'dcgan', got {opts.discriminator!r}")
    keras.utils.set_random_seed(opts.seed)
    with dtype_policy(opts.precision):
        gen = dcgan_generator(opts.size, opts.latent_dim, opts.gen_filters, opts.max_filters)
        if opts.discriminator == "resnet18":
            disc = resnet18_discriminator(opts.size, opts.disc_filters)
        else:
            disc = dcgan_discriminator(opts.size, opts.disc_filters, opts.max_filters)
    return DCGAN(gen, disc, noise=opts.noise, seed=opts.seed)
