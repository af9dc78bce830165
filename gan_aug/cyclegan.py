"""CycleGAN (Zhu et al. 2017) as a ``keras.Model``: ``fit`` on a dataset of ``(real_a, real_b)`` batches.

Generators as in junyanz: ``G_A: A -> B`` (``gen_ab``) and ``G_B: B -> A`` (``gen_ba``). Discriminators are
named by the domain they judge: ``disc_b`` tells real B from ``G_A(a)`` (junyanz's ``netD_A``) and ``disc_a``
tells real A from ``G_B(b)`` (``netD_B``). One train step (junyanz ``CycleGANModel.optimize_parameters``):

1. Generators, with the discriminators fixed::

       L_G = L_GAN(disc_b(G_A(a)), real) + L_GAN(disc_a(G_B(b)), real)               (Zhu et al. eq. 1)
           + λ ||G_B(G_A(a)) - a||_1 + λ ||G_A(G_B(b)) - b||_1                      (eq. 2, λ = 10)
           + λ_idt λ (||G_A(b) - b||_1 + ||G_B(a) - a||_1)                          (§5.2, λ_idt = 0.5)

2. Discriminators, each on real images and on generated ones drawn through its image pool (§4)::

       L_disc_b = ½ [L_GAN(disc_b(b), real) + L_GAN(disc_b(pool_b(G_A(a))), fake)]    (§4 "divide by 2")

L_GAN is least squares by default (§4). One Adam for both generators, one for both discriminators (junyanz).
The whole step is a single ``tf.function`` (XLA-compiled with ``compile(jit_compile=True)``, which on a
2-core CPU compiled for minutes and ran ~4x slower; see ``tests/benchmarks/bench_gan.py``).
"""
from __future__ import annotations

import keras
import tensorflow as tf

from .base import GAN, dtype_policy, for_gradient, gan_loss, l1_loss
from .pool import ImagePool


class CycleGAN(GAN):
    """Two generators, two discriminators, two image pools (see module docstring for the losses)."""

    tracker_names = ("g_loss", "d_a_loss", "d_b_loss", "g_a_adv", "g_b_adv", "cycle_a", "cycle_b",
                     "idt_a", "idt_b")

    def __init__(self, gen_ab: keras.Model, gen_ba: keras.Model, disc_a: keras.Model, disc_b: keras.Model,
                 lambda_cycle: float = 10.0, lambda_identity: float = 0.5, pool_size: int = 50,
                 gan_mode: str = "lsgan", seed: int | None = None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        self.gen_ab, self.gen_ba, self.disc_a, self.disc_b = gen_ab, gen_ba, disc_a, disc_b
        self.lambda_cycle = float(lambda_cycle)
        self.lambda_identity = float(lambda_identity)
        self.gan_mode = gan_mode
        self.adv = gan_loss(gan_mode)
        shape = tuple(gen_ab.output_shape[1:])
        pool_seed = None if seed is None else seed + 1
        self.pool_a = ImagePool(pool_size, shape, seed=pool_seed, name="pool_a")
        self.pool_b = ImagePool(pool_size, shape, seed=None if seed is None else seed + 2, name="pool_b")

    def _networks_for(self, attr):
        return [self.gen_ab, self.gen_ba] if attr == "g_optimizer" else [self.disc_a, self.disc_b]

    def call(self, images, training=False):
        """Translate A -> B."""
        return self.gen_ab(images, training=training)

    def generator_losses(self, real_a, real_b, training: bool = True) -> dict:
        """All generator terms of the objective (module docstring, step 1) and the fakes they came from."""
        fake_b = self.gen_ab(real_a, training=training)
        rec_a = self.gen_ba(fake_b, training=training)
        fake_a = self.gen_ba(real_b, training=training)
        rec_b = self.gen_ab(fake_a, training=training)
        out = {"fake_a": fake_a, "fake_b": fake_b}
        w_idt = self.lambda_identity * self.lambda_cycle
        if self.lambda_identity > 0:
            out["idt_a"] = l1_loss(self.gen_ab(real_b, training=training), real_b) * w_idt
            out["idt_b"] = l1_loss(self.gen_ba(real_a, training=training), real_a) * w_idt
        else:
            out["idt_a"] = out["idt_b"] = tf.constant(0.0)
        out["g_a_adv"] = self.adv(self.disc_b(fake_b, training=training), True)
        out["g_b_adv"] = self.adv(self.disc_a(fake_a, training=training), True)
        out["cycle_a"] = l1_loss(rec_a, real_a) * self.lambda_cycle
        out["cycle_b"] = l1_loss(rec_b, real_b) * self.lambda_cycle
        out["g_loss"] = (out["g_a_adv"] + out["g_b_adv"] + out["cycle_a"] + out["cycle_b"]
                         + out["idt_a"] + out["idt_b"])
        return out

    def discriminator_loss(self, disc, real, fake, training: bool = True):
        """``½ [L_GAN(D(real), real) + L_GAN(D(fake), fake)]`` (Zhu et al. §4)."""
        return 0.5 * (self.adv(disc(real, training=training), True) + self.adv(disc(fake, training=training), False))

    def train_step(self, data):
        real_a, real_b = data
        g_vars = self.gen_ab.trainable_variables + self.gen_ba.trainable_variables
        with tf.GradientTape() as tape:
            g = self.generator_losses(real_a, real_b)
            scaled = self.g_optimizer.scale_loss(for_gradient(g["g_loss"]))  # float16 loss scaling; replicas
        self.g_optimizer.apply_gradients(zip(tape.gradient(scaled, g_vars), g_vars))

        fake_a = self.pool_a(tf.stop_gradient(g["fake_a"]))
        fake_b = self.pool_b(tf.stop_gradient(g["fake_b"]))
        d_vars = self.disc_a.trainable_variables + self.disc_b.trainable_variables
        with tf.GradientTape() as tape:
            d_a = self.discriminator_loss(self.disc_a, real_a, fake_a)
            d_b = self.discriminator_loss(self.disc_b, real_b, fake_b)
            scaled = self.d_optimizer.scale_loss(for_gradient(d_a + d_b))
        self.d_optimizer.apply_gradients(zip(tape.gradient(scaled, d_vars), d_vars))
        return self._update(d_a_loss=d_a, d_b_loss=d_b,
                            **{k: g[k] for k in ("g_loss", "g_a_adv", "g_b_adv", "cycle_a", "cycle_b",
                                                 "idt_a", "idt_b")})


def build_cyclegan(opts) -> CycleGAN:
    """Networks and model from :class:`gan_aug.options.CycleGANOptions` (weights seeded by ``opts.seed``, so
    the same whatever ``opts.precision``)."""
    from .networks import patchgan_discriminator, resnet_generator

    keras.utils.set_random_seed(opts.seed)
    gen = dict(size=opts.size, filters=opts.gen_filters, n_blocks=opts.n_blocks, n_downsampling=opts.n_downsampling)
    disc = dict(size=opts.size, filters=opts.disc_filters, n_layers=opts.disc_layers)
    with dtype_policy(opts.precision):
        nets = (resnet_generator(name="gen_ab", **gen), resnet_generator(name="gen_ba", **gen),
                patchgan_discriminator(name="disc_a", **disc), patchgan_discriminator(name="disc_b", **disc))
    return CycleGAN(*nets, lambda_cycle=opts.lambda_cycle, lambda_identity=opts.lambda_identity,
                    pool_size=opts.pool_size, gan_mode=opts.gan_mode, seed=opts.seed)
