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

It first times one generator's forward + backward pass on each side (``--generators-only`` stops there). Ours
computes its 18 residual 3x3 convolutions (with their reflection pads) by Winograd F(4x4, 3x3) in float32
(``gan_aug.layers.Winograd3x3Conv2D``), its instance norms on the fused batch-norm kernel
(``gan_aug.layers.InstanceNormalization``) and builds its conv to RGB as ``gan_aug.layers.NarrowConv2D``, whose
gradients TensorFlow's CPU kernels compute ~10x slower than the forward pass on AVX2 CPUs. Alongside, the same
convolutions as direct ``Conv2D`` with nothing between them (:func:`convolutions_only_generator`): the CycleGAN
objective fixes which convolutions a step must run, so keras-io's time over theirs is the most any
implementation on TensorFlow's direct convolution kernels can gain — the bound Winograd gets past. The step
comparison likewise times a third model (``--no-ceiling`` skips it): a step with all four networks reduced to
their direct convolutions, i.e. with normalisation, padding and activations free.

Then ours again in mixed precision (``--precision bfloat16``, see ``gan_aug.base.dtype_policy``) where the
hardware has the units for it: by default (``--mixed auto``) bfloat16 on a CPU with AVX512-BF16/AMX, float16
on a GPU, skipped elsewhere (emulated bfloat16 is slower than float32). The ceiling above is float32's. The
keras-io step is timed in that precision too: the example as written is float32, so "ours mixed / keras-io" is
what a user of this package gains over copying the example, and "ours mixed / keras-io mixed" how much of that
is the implementation rather than the precision.

``--profile`` finally runs a few float32 steps of each side under the TensorFlow profiler and prints the kernel
time per step summed over threads, convolutions apart from everything else: where the time goes, independent
of how the two threads happened to overlap.

    python tests/benchmarks/bench_gan.py [--size 128] [--steps 20] [--rounds 4] [--warmup 2] [--jit] [--no-ceiling]
                                         [--mixed {auto,bfloat16,float16,none}] [--profile]
    python tests/benchmarks/bench_gan.py --generators-only
"""
from __future__ import annotations

import argparse
import collections
import dataclasses
import glob
import os
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from keras import layers  # noqa: E402

from classify.precision import resolve_precision  # noqa: E402
from gan_aug.base import dtype_policy  # noqa: E402
from gan_aug.base import compile_gan  # noqa: E402
from gan_aug.cyclegan import CycleGAN, build_cyclegan  # noqa: E402
from gan_aug.layers import NarrowConv2D, ReflectionPadding2D  # noqa: E402
from gan_aug.networks import resnet_generator  # noqa: E402
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
    x = layers.Activation("tanh", dtype="float32")(layers.Conv2D(3, 7)(x))  # float32 outputs under a mixed policy
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


def convolutions_only_generator(size, filters=64, n_blocks=9):
    """The ResNet generator's convolutions, direct, and nothing else: a floor for direct-convolution generators.

    Same kernels, strides, channel counts and output sizes as both generators (zero "same" padding inside the
    conv instead of reflection-padding layers; ours ``NarrowConv2D`` to RGB), but no normalisation, activation,
    padding layer or residual add. Both implementations must do at least these convolutions (the CycleGAN
    objective fixes which ones), so keras-io's time divided by this one bounds the ratio any implementation
    built on TensorFlow's direct CPU convolution kernels can reach (ours computes its residual convolutions by
    Winograd, which is how it gets past that bound in float32).
    """
    inp = keras.Input((size, size, 3))
    x = layers.Conv2D(filters, 7, padding="same", use_bias=False)(inp)
    f = filters
    for _ in range(2):
        f *= 2
        x = layers.Conv2D(f, 3, 2, "same", use_bias=False)(x)
    for _ in range(2 * n_blocks):
        x = layers.Conv2D(f, 3, padding="same", use_bias=False)(x)
    for _ in range(2):
        f //= 2
        x = layers.Conv2DTranspose(f, 3, 2, "same", use_bias=False)(x)
    x = NarrowConv2D(3, 7)(layers.ZeroPadding2D(3)(x))
    return keras.Model(inp, x, name="convs_only")


def convolutions_only_discriminator(size, filters=64, n_layers=3):
    """The PatchGAN's convolutions (with their 1-px zero padding) and nothing else; see above."""
    inp = keras.Input((size, size, 3))
    x = inp
    for n in range(n_layers + 1):
        x = layers.Conv2D(filters * min(2**n, 8), 4, 2 if n < n_layers else 1, use_bias=n == 0)(
            layers.ZeroPadding2D(1)(x))
    x = layers.Conv2D(1, 4)(layers.ZeroPadding2D(1)(x))
    return keras.Model(inp, x, name="convs_only_d")


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


def keras_io_cyclegan(size, filters, blocks, precision="float32"):
    """The keras-io-style model, compiled with its four Adam optimizers; networks built under ``precision``."""
    with dtype_policy(precision):
        model = KerasIOCycleGan(baseline_generator(size, filters, blocks, f"G_{precision}"),
                                baseline_generator(size, filters, blocks, f"F_{precision}"),
                                baseline_discriminator(size, filters, f"DX_{precision}"),
                                baseline_discriminator(size, filters, f"DY_{precision}"))
    model.compile([keras.optimizers.Adam(2e-4, beta_1=0.5) for _ in range(4)])
    return model


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


def kernel_milliseconds(model, data, steps=3):
    """Kernel time per training step (ms, summed over threads) by op type, from a TensorFlow profiler trace."""
    try:
        from tensorflow.tsl.profiler.protobuf import xplane_pb2
    except ImportError as e:  # the module moved between TensorFlow releases
        raise SystemExit(f"--profile needs TensorFlow's xplane protobuf module ({e})")
    model.fit(data, epochs=1, steps_per_epoch=1, verbose=0)  # traced already; one step to settle
    with tempfile.TemporaryDirectory() as logdir:
        tf.profiler.experimental.start(logdir)
        model.fit(data, epochs=1, steps_per_epoch=steps, verbose=0)
        tf.profiler.experimental.stop()
        space = xplane_pb2.XSpace()
        with open(glob.glob(os.path.join(logdir, "**", "*.xplane.pb"), recursive=True)[0], "rb") as f:
            space.ParseFromString(f.read())
    by_type = collections.Counter()
    for plane in space.planes:
        for line in plane.lines:
            for ev in line.events:
                name = plane.event_metadata[ev.metadata_id].name  # TF ops are traced as "scope/op:OpType"
                if ":" in name and "/" in name:
                    by_type[name.rsplit(":", 1)[1]] += ev.duration_ps / 1e9 / steps
    return by_type


def print_kernel_split(name, by_type):
    conv = sum(v for k, v in by_type.items() if "Conv2D" in k)
    total = sum(by_type.values())
    top = ", ".join(f"{k} {v:.0f}" for k, v in by_type.most_common(8) if "Conv2D" not in k)
    print(f"{name}: kernels {total:.0f} ms/step (summed over threads), convolutions {conv:.0f} ms "
          f"({100 * conv / total:.0f} %), other {total - conv:.0f} ms (largest: {top})", flush=True)


def compare_generators(size, filters, blocks, mixed=None, rounds=3, reps=3):
    """One generator of each side, forward + backward alternately: isolates the network from the train step.

    A third network, :func:`convolutions_only_generator`, times the direct convolutions alone.
    With ``mixed`` (``"bfloat16"``/``"float16"``), ours is timed once more in that mixed precision.
    """
    x = tf.random.uniform((1, size, size, 3), -1, 1, seed=0)
    nets = {"keras-io": baseline_generator(size, filters, blocks, "G0"),
            "ours": resnet_generator(size, filters, blocks, name="gen_ab"),
            "convs only": convolutions_only_generator(size, filters, blocks)}
    if mixed:
        with dtype_policy(mixed):
            nets[f"ours {mixed}"] = resnet_generator(size, filters, blocks, name="gen_mixed")
    totals = dict.fromkeys(nets, 0.0)
    for _ in range(rounds):
        for name, net in nets.items():
            totals[name] += generator_seconds(net, x, reps)
    base, ours, floor = (totals[k] / rounds for k in ("keras-io", "ours", "convs only"))
    print(f"generator forward+backward at {size} px: keras-io {base:.3f} s, ours {ours:.3f} s, "
          f"ratio {base / ours:.2f}x", flush=True)
    print(f"its convolutions alone, direct: {floor:.3f} s = {100 * floor / ours:.0f} % of ours; ceiling for any "
          f"float32 implementation on TensorFlow's direct conv kernels: {base / floor:.2f}x", flush=True)
    if mixed:
        t = totals[f"ours {mixed}"] / rounds
        print(f"ours in mixed {mixed}: {t:.3f} s, ratio {base / t:.2f}x", flush=True)


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
    p.add_argument("--no-ceiling", dest="ceiling", action="store_false",
                   help="skip the third model (our step with convolutions only) that bounds the ratio")
    p.add_argument("--mixed", choices=("auto", "bfloat16", "float16", "none"), default="auto",
                   help="also time ours in this mixed precision (auto: where the hardware has the units)")
    p.add_argument("--generators-only", action="store_true",
                   help="only time one generator's forward+backward pass on each side (a minute, not an hour)")
    p.add_argument("--profile", action="store_true",
                   help="then profile a few float32 steps of each side: kernel time, convolutions vs the rest")
    args = p.parse_args(argv)
    mixed = {"none": None, "auto": resolve_precision("auto")}.get(args.mixed, args.mixed)
    mixed = None if mixed == "float32" else mixed
    compare_generators(args.size, args.filters, args.blocks, mixed)
    if args.generators_only:
        return
    rng = np.random.default_rng(0)
    n = 8
    a = rng.uniform(-1, 1, (n, args.size, args.size, 3)).astype("float32")
    b = rng.uniform(-1, 1, (n, args.size, args.size, 3)).astype("float32")
    data = tf.data.Dataset.from_tensor_slices((a, b)).batch(1, drop_remainder=True).repeat()

    keras.utils.set_random_seed(0)
    base = keras_io_cyclegan(args.size, args.filters, args.blocks)
    opts = CycleGANOptions(size=args.size, gen_filters=args.filters, n_blocks=args.blocks,
                           disc_filters=args.filters,
                           jit_compile=bool(args.jit) if args.jit is not None else CycleGANOptions.jit_compile)
    ours = compile_gan(build_cyclegan(opts), opts)
    models = {"keras-io": base, "ours": ours}
    if args.ceiling:
        # Our step with every network reduced to its direct convolutions: what the step costs with norms, pads
        # and activations free. keras-io's time over this one caps the step ratio of direct convolutions.
        nets = [convolutions_only_generator(args.size, args.filters, args.blocks) for _ in "ab"]
        nets += [convolutions_only_discriminator(args.size, args.filters) for _ in "ab"]
        models["convs only"] = compile_gan(CycleGAN(*nets, seed=0), opts)
    if mixed:
        mixed_opts = dataclasses.replace(opts, precision=mixed)
        models[f"ours {mixed}"] = compile_gan(build_cyclegan(mixed_opts), mixed_opts)
        # The example as written is float32; the same example under the mixed policy tells how much of our
        # mixed-precision ratio is the precision rather than the implementation.
        models[f"keras-io {mixed}"] = keras_io_cyclegan(args.size, args.filters, args.blocks, mixed)
    for name, model in models.items():
        t0 = time.perf_counter()
        model.fit(data, epochs=1, steps_per_epoch=args.warmup, verbose=0)
        print(f"{name}: warm-up ({args.warmup} steps incl. tracing/compilation) {time.perf_counter() - t0:.1f} s",
              flush=True)
    # Interleave rounds so a machine shared with other jobs loads both sides alike.
    per_round = max(1, args.steps // args.rounds)
    totals = dict.fromkeys(models, 0.0)
    for r in range(args.rounds):
        for name, model in models.items():
            totals[name] += timed_round(model, data, per_round)
        print(f"round {r + 1}/{args.rounds}: " + ", ".join(
            f"{name} {per_round / (t / (r + 1)):.3f} img/s" for name, t in totals.items()), flush=True)
    n = per_round * args.rounds
    base_ips, ours_ips = n / totals["keras-io"], n / totals["ours"]
    label = "XLA" if opts.jit_compile else "tf.function"
    print(f"keras-io style (tf.function, persistent tape): {base_ips:.3f} images/s")
    print(f"gan_aug.CycleGAN ({label}, fused step):        {ours_ips:.3f} images/s")
    print(f"ratio ours / keras-io: {ours_ips / base_ips:.2f}x  at {args.size} px, batch 1, {args.filters} filters, "
          f"{args.blocks} blocks, {n} timed steps each, {os.cpu_count()} CPU cores "
          f"(load average {os.getloadavg()[0]:.1f})")
    if args.ceiling:
        floor_ips = n / totals["convs only"]
        print(f"a step of float32 direct convolutions only:    {floor_ips:.3f} images/s "
              f"(ceiling for direct float32 convolutions {floor_ips / base_ips:.2f}x)")
    if mixed:
        mixed_ips = n / totals[f"ours {mixed}"]
        base_mixed_ips = n / totals[f"keras-io {mixed}"]
        print(f"gan_aug.CycleGAN, --precision {mixed}:         {mixed_ips:.3f} images/s "
              f"(ratio {mixed_ips / base_ips:.2f}x)")
        print(f"keras-io style under the mixed {mixed} policy: {base_mixed_ips:.3f} images/s "
              f"(ours / it at equal precision: {mixed_ips / base_mixed_ips:.2f}x)")
    if args.profile:
        for name in ("keras-io", "ours"):
            print_kernel_split(name, kernel_milliseconds(models[name], data))


if __name__ == "__main__":
    main()
