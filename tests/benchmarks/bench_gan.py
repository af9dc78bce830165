"""CycleGAN training throughput: gan_aug.CycleGAN vs a straightforward keras-io-style CycleGAN, same run.

The baseline re-implements the train step of the keras-io CycleGAN example (A_K_Nain, 2020) as that example
does it: one persistent ``GradientTape`` over all six generator passes and four discriminator passes, four
separate ``tape.gradient`` calls (one per network, so the shared cycle graph is back-propagated twice for the
generators) and four optimizers; ``compile()`` makes it a plain ``tf.function`` (no XLA, Keras' CPU default).
Its networks follow the example: ResNet-9 generator and 4-layer PatchGAN at the same widths as ours.

Ours: ``gan_aug.cyclegan`` (one backward pass of the full objective for both generators — including the
cross-generator cycle gradients the example's per-network losses drop — then the discriminators on pooled
fakes; one fused ``tf.function`` step, ``--jit`` to XLA-compile it). Both run ``model.fit`` on the same
in-memory batches at 128 px, batch 1; the first ``--warmup`` steps (tracing / XLA compilation) are excluded,
and timing rounds alternate between the two so a shared machine's load falls on both alike.

It first times one generator's forward + backward pass on each side (``--generators-only`` stops there): ours
builds its conv to RGB as ``gan_aug.networks.NarrowConv2D``, whose gradients TensorFlow's CPU kernels would
otherwise compute ~10x slower than the forward pass.

    python tests/benchmarks/bench_gan.py [--size 128] [--steps 20] [--rounds 4] [--warmup 2] [--jit]
    python tests/benchmarks/bench_gan.py --generators-only
"""
from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from keras import layers  # noqa: E402

from gan_aug.cyclegan import build_cyclegan, compile_cyclegan  # noqa: E402
from gan_aug.networks import ReflectionPadding2D, resnet_generator  # noqa: E402
from gan_aug.options import CycleGANOptions  # noqa: E402

INIT = keras.initializers.RandomNormal(0.0, 0.02)


def _in():  # tfa.layers.InstanceNormalization (affine) in Keras 3 terms
    return layers.GroupNormalization(groups=-1, epsilon=1e-3, gamma_initializer=INIT)


def baseline_generator(size, filters=64, n_blocks=9, name="g"):
    inp = keras.Input((size, size, 3))
    x = ReflectionPadding2D(3)(inp)
    x = layers.ReLU()(_in()(layers.Conv2D(filters, 7, kernel_initializer=INIT, use_bias=False)(x)))
    f = filters
    for _ in range(2):
        f *= 2
        x = layers.ReLU()(_in()(layers.Conv2D(f, 3, 2, "same", kernel_initializer=INIT, use_bias=False)(x)))
    for _ in range(n_blocks):
        y = ReflectionPadding2D(1)(x)
        y = layers.ReLU()(_in()(layers.Conv2D(f, 3, kernel_initializer=INIT, use_bias=False)(y)))
        y = ReflectionPadding2D(1)(y)
        y = _in()(layers.Conv2D(f, 3, kernel_initializer=INIT, use_bias=False)(y))
        x = layers.add([x, y])
    for _ in range(2):
        f //= 2
        x = layers.Conv2DTranspose(f, 3, 2, "same", kernel_initializer=INIT, use_bias=False)(x)
        x = layers.ReLU()(_in()(x))
    x = ReflectionPadding2D(3)(x)
    x = layers.Activation("tanh")(layers.Conv2D(3, 7)(x))
    return keras.Model(inp, x, name=name)


def baseline_discriminator(size, filters=64, name="d"):
    inp = keras.Input((size, size, 3))
    x = layers.LeakyReLU(0.2)(layers.Conv2D(filters, 4, 2, "same", kernel_initializer=INIT)(inp))
    f = filters
    for i in range(3):
        f *= 2
        x = layers.Conv2D(f, 4, 2 if i < 2 else 1, "same", kernel_initializer=INIT, use_bias=False)(x)
        x = layers.LeakyReLU(0.2)(_in()(x))
    x = layers.Conv2D(1, 4, 1, "same", kernel_initializer=INIT)(x)
    return keras.Model(inp, x, name=name)


class KerasIOCycleGan(keras.Model):
    """The keras-io example's model: persistent tape, four gradients, four optimizers."""

    def __init__(self, gen_g, gen_f, disc_x, disc_y, lambda_cycle=10.0, lambda_identity=0.5):
        super().__init__()
        self.gen_G, self.gen_F, self.disc_X, self.disc_Y = gen_g, gen_f, disc_x, disc_y
        self.lambda_cycle, self.lambda_identity = lambda_cycle, lambda_identity

    def compile(self, opts):
        super().compile(jit_compile=False)
        self.opt = opts
        self.mae = keras.losses.MeanAbsoluteError()
        self.mse = keras.losses.MeanSquaredError()

    def gen_loss(self, fake):
        return self.mse(tf.ones_like(fake), fake)

    def disc_loss(self, real, fake):
        return (self.mse(tf.ones_like(real), real) + self.mse(tf.zeros_like(fake), fake)) * 0.5

    def train_step(self, batch):
        real_x, real_y = batch
        with tf.GradientTape(persistent=True) as tape:
            fake_y = self.gen_G(real_x, training=True)
            fake_x = self.gen_F(real_y, training=True)
            cycled_x = self.gen_F(fake_y, training=True)
            cycled_y = self.gen_G(fake_x, training=True)
            same_x = self.gen_F(real_x, training=True)
            same_y = self.gen_G(real_y, training=True)
            disc_real_x = self.disc_X(real_x, training=True)
            disc_fake_x = self.disc_X(fake_x, training=True)
            disc_real_y = self.disc_Y(real_y, training=True)
            disc_fake_y = self.disc_Y(fake_y, training=True)
            w_id = self.lambda_cycle * self.lambda_identity
            total_g = (self.gen_loss(disc_fake_y) + self.mae(real_y, cycled_y) * self.lambda_cycle
                       + self.mae(real_y, same_y) * w_id)
            total_f = (self.gen_loss(disc_fake_x) + self.mae(real_x, cycled_x) * self.lambda_cycle
                       + self.mae(real_x, same_x) * w_id)
            d_x = self.disc_loss(disc_real_x, disc_fake_x)
            d_y = self.disc_loss(disc_real_y, disc_fake_y)
        pairs = [(total_g, self.gen_G), (total_f, self.gen_F), (d_x, self.disc_X), (d_y, self.disc_Y)]
        grads = [tape.gradient(loss, net.trainable_variables) for loss, net in pairs]
        for opt, g, (_, net) in zip(self.opt, grads, pairs):
            opt.apply_gradients(zip(g, net.trainable_variables))
        return {"G_loss": total_g, "F_loss": total_f, "D_X_loss": d_x, "D_Y_loss": d_y}


class StepTimer(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.times = []

    def on_train_batch_end(self, batch, logs=None):
        self.times.append(time.perf_counter())


def timed_round(model, data, steps):
    """Run ``steps + 1`` steps in one ``fit`` call; return the seconds of the last ``steps`` (first excluded)."""
    timer = StepTimer()
    model.fit(data, epochs=1, steps_per_epoch=steps + 1, verbose=0, callbacks=[timer])
    return timer.times[-1] - timer.times[0]


def generator_seconds(gen, x, reps):
    """Seconds per forward + backward pass of one generator (L1 to its input), compiled, after two warm-up calls."""
    @tf.function
    def step(x):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.abs(gen(x, training=True) - x))
        return tape.gradient(loss, gen.trainable_variables)

    step(x), step(x)
    t0 = time.perf_counter()
    for _ in range(reps):
        step(x)
    return (time.perf_counter() - t0) / reps


def compare_generators(size, filters, blocks, rounds=3, reps=3):
    """One generator of each side, forward + backward alternately: isolates the network from the train step."""
    x = tf.random.uniform((1, size, size, 3), -1, 1, seed=0)
    nets = {"keras-io": baseline_generator(size, filters, blocks, "G0"),
            "ours": resnet_generator(size, filters, blocks, name="gen_ab")}
    totals = dict.fromkeys(nets, 0.0)
    for _ in range(rounds):
        for name, net in nets.items():
            totals[name] += generator_seconds(net, x, reps)
    base, ours = totals["keras-io"] / rounds, totals["ours"] / rounds
    print(f"generator forward+backward at {size} px: keras-io {base:.3f} s, ours {ours:.3f} s, "
          f"ratio {base / ours:.2f}x", flush=True)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--size", type=int, default=128)
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--rounds", type=int, default=4, help="alternating timing rounds (steps split among them)")
    p.add_argument("--filters", type=int, default=64)
    p.add_argument("--blocks", type=int, default=9)
    p.add_argument("--jit", dest="jit", action="store_true", default=None, help="ours with XLA (jit_compile)")
    p.add_argument("--no-jit", dest="jit", action="store_false", help="ours as a plain tf.function (the default)")
    p.add_argument("--generators-only", action="store_true",
                   help="only time one generator's forward+backward pass on each side (a minute, not an hour)")
    args = p.parse_args(argv)
    compare_generators(args.size, args.filters, args.blocks)
    if args.generators_only:
        return
    rng = np.random.default_rng(0)
    n = 8
    a = rng.uniform(-1, 1, (n, args.size, args.size, 3)).astype("float32")
    b = rng.uniform(-1, 1, (n, args.size, args.size, 3)).astype("float32")
    data = tf.data.Dataset.from_tensor_slices((a, b)).batch(1, drop_remainder=True).repeat()

    keras.utils.set_random_seed(0)
    base = KerasIOCycleGan(baseline_generator(args.size, args.filters, args.blocks, "G"),
                           baseline_generator(args.size, args.filters, args.blocks, "F"),
                           baseline_discriminator(args.size, args.filters, "DX"),
                           baseline_discriminator(args.size, args.filters, "DY"))
    base.compile([keras.optimizers.Adam(2e-4, beta_1=0.5) for _ in range(4)])
    opts = CycleGANOptions(size=args.size, gen_filters=args.filters, n_blocks=args.blocks,
                           disc_filters=args.filters,
                           jit_compile=bool(args.jit) if args.jit is not None else CycleGANOptions.jit_compile)
    ours = compile_cyclegan(build_cyclegan(opts), opts)
    for name, model in (("keras-io", base), ("ours", ours)):
        t0 = time.perf_counter()
        model.fit(data, epochs=1, steps_per_epoch=args.warmup, verbose=0)
        print(f"{name}: warm-up ({args.warmup} steps incl. tracing/compilation) {time.perf_counter() - t0:.1f} s",
              flush=True)
    # Interleave rounds so a machine shared with other jobs loads both sides alike.
    per_round = max(1, args.steps // args.rounds)
    totals = {"keras-io": 0.0, "ours": 0.0}
    for r in range(args.rounds):
        for name, model in (("keras-io", base), ("ours", ours)):
            totals[name] += timed_round(model, data, per_round)
        print(f"round {r + 1}/{args.rounds}: keras-io {per_round / (totals['keras-io'] / (r + 1)):.3f} img/s, "
              f"ours {per_round / (totals['ours'] / (r + 1)):.3f} img/s", flush=True)
    n = per_round * args.rounds
    base_ips, ours_ips = n / totals["keras-io"], n / totals["ours"]
    label = "XLA" if opts.jit_compile else "tf.function"
    print(f"keras-io style (tf.function, persistent tape): {base_ips:.3f} images/s")
    print(f"gan_aug.CycleGAN ({label}, fused step):        {ours_ips:.3f} images/s")
    print(f"ratio ours / keras-io: {ours_ips / base_ips:.2f}x  at {args.size} px, batch 1, {args.filters} filters, "
          f"{args.blocks} blocks, {n} timed steps each, {os.cpu_count()} CPU cores "
          f"(load average {os.getloadavg()[0]:.1f})")


if __name__ == "__main__":
    main()
