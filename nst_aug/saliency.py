"""Shinde §3.2: which positions of a style image matter, and a style mask from them.

Shinde: *"Saliency Maps compute the gradient of class score with respect to every pixel in the image, take the
absolute value and max over RGB channels … We use guided backpropagation to pass only the positive values of the
ReLU"*; *"Occlusion experiment used the method of masking certain part of an image before feeding it to the CNN
and thus getting a heat map of all the masked regions"*; the selected positions then enter the style image's Gram
matrix (:func:`nst_aug.losses.gram_matrix` with a mask).

- :func:`score_function`: what a map explains. A ``classify`` model's class score (its logit, the layer before
  the softmax: Simonyan et al. 2014 differentiate the unnormalised score), or — with no classifier — Shinde's other
  reading, *"which pixels … have more impact in activating the neuron"*: the mean activation of one layer of the
  NST network itself (default its deepest conv layer, weights resolved as for NST), which needs no ImageNet head
  (none is available offline).
- :func:`saliency_map`: ``|∂score/∂pixel|`` max over RGB (``gradient``), or the same through guided ReLUs
  (``guided``: Springenberg et al. 2015, a ReLU passes a gradient only where both its input and the incoming
  gradient are positive).
- :func:`occlusion_map` (Zeiler & Fergus 2014): the drop of the score when a ``patch``×``patch`` square (filled
  with mid-grey) covers each position, sliding by ``stride``; each pixel gets the mean drop of the patches that
  cover it (negative drops count as 0).
- :func:`style_mask`: a map → a 0/1 mask of the top ``fraction`` of positions (or Shinde's top ``k`` pixels);
  the engine resizes it to each VGG layer (area-like) for the masked Gram.

``python -m nst_aug.saliency IMAGE… --method guided --out DIR`` writes, per image, the map, an overlay and the
mask as PNGs and all maps in ``maps.npz``.
"""
from __future__ import annotations

import argparse
import sys
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from classify.cli import (CLIError, Parser, add_output_args, add_verbosity, check_output_dir, fraction,
                          positive_int, refuse_to_replace, report_skipped, run_main, size_arg, skipped_limit)

METHODS = ("gradient", "guided", "occlusion")
def default_layer(backbone: str) -> str:
    """The layer whose mean activation is explained when no classifier is given: the backbone's deepest conv."""
    from .config import conv_layer_names

    return conv_layer_names(backbone)[-1]


@dataclass
class Scorer:
    """``fn(images float32 (B, H, W, 3) RGB 0..255) -> (B,)`` scores, a Keras ``model`` whose ReLUs guided
    backprop patches, and a description for records."""

    fn: Callable
    model: object
    description: str


def _logit_model(model):
    """``model`` with its final softmax removed (the class scores before normalisation), when it ends in one."""
    import keras

    last = model.layers[-1]
    activation = getattr(last, "activation", None)
    if activation is None or getattr(activation, "__name__", "") != "softmax":
        return model
    config = last.get_config()
    config["activation"] = "linear"
    config["name"] = last.name + "_logits"
    head = last.__class__.from_config(config)
    out = head(last.input)
    head.set_weights(last.get_weights())
    return keras.Model(model.inputs, out, name=model.name + "_logits")


def score_function(classifier=None, target: str | int | None = None, backbone: str = "vgg19",
                   layer: str | None = None, weights: str | None = "auto", seed: int = 0) -> Scorer:
    """What the maps explain (module docstring). ``classifier``: a :class:`classify.scoring.Classifier` (or a path
    to its ``.keras``) and ``target`` its class (name or index; default: each image's predicted class)."""
    import tensorflow as tf

    if classifier is not None:
        from classify.scoring import Classifier, load_classifier

        if not isinstance(classifier, Classifier):
            classifier = load_classifier(classifier)
        classes = list(classifier.info.classes)
        if isinstance(target, str):
            if target not in classes:
                raise ValueError(f"class {target!r} is not among the model's classes {classes}")
            target = classes.index(target)
        model = _logit_model(classifier.model)
        size = classifier.info.image_size

        def fn(images):
            x = tf.image.resize(images, (size, size), method=classifier.info.resize_method, antialias=True)
            logits = model(x, training=False)
            index = tf.argmax(logits, axis=-1) if target is None else tf.fill([tf.shape(logits)[0]], target)
            return tf.gather(logits, tf.cast(index, tf.int32), axis=1, batch_dims=1)

        name = f"{classifier.info.arch} logit of " + (classes[target] if target is not None else "the predicted class")
        return Scorer(fn, model, name)
    from .vgg import FeatureExtractor

    layer = layer or default_layer(backbone)
    extractor = FeatureExtractor((layer,), backbone, "max", weights=weights, seed=seed)

    def fn(images):
        return tf.reduce_mean(extractor(images)[layer], axis=[1, 2, 3])

    return Scorer(fn, extractor.model, f"mean activation of {backbone} {layer} ({extractor.weights_source})")


@contextmanager
def guided_relus(model):
    """Within the block, every ReLU of ``model`` (a layer's ``relu`` activation or an ``Activation('relu')`` /
    ``ReLU`` layer) back-propagates only positive gradients where its input is positive (guided backprop)."""
    import keras
    import tensorflow as tf

    @tf.custom_gradient
    def guided(x):
        def grad(dy):
            return dy * tf.cast(x > 0, dy.dtype) * tf.cast(dy > 0, dy.dtype)
        return tf.nn.relu(x), grad

    def all_layers(m):
        for layer in m.layers:
            yield layer
            if isinstance(layer, keras.Model):
                yield from all_layers(layer)

    patched = []
    for layer in all_layers(model):
        act = getattr(layer, "activation", None)
        if act is not None and getattr(act, "__name__", "") == "relu":
            patched.append((layer, "activation", act))
            layer.activation = guided
        elif isinstance(layer, keras.layers.ReLU):
            patched.append((layer, "call", layer.call))
            layer.call = lambda inputs, *a, **k: guided(inputs)
    try:
        yield len(patched)
    finally:
        for layer, attr, value in patched:
            setattr(layer, attr, value)


def _normalise(maps: np.ndarray) -> np.ndarray:
    """Each map scaled to [0, 1] (a constant map becomes all zeros)."""
    lo = maps.min(axis=(1, 2), keepdims=True)
    hi = maps.max(axis=(1, 2), keepdims=True)
    return np.where(hi > lo, (maps - lo) / np.maximum(hi - lo, 1e-12), 0.0).astype(np.float32)


def saliency_map(scorer: Scorer, images: np.ndarray, guided: bool = True, normalise: bool = True) -> np.ndarray:
    """``(B, H, W)`` maps: ``max_rgb |∂score/∂pixel|`` (through guided ReLUs when ``guided``), scaled to [0, 1]
    per image unless ``normalise=False``."""
    import tensorflow as tf

    x = tf.constant(np.asarray(images, np.float32))
    with (guided_relus(scorer.model) if guided else nullcontext()):
        with tf.GradientTape() as tape:
            tape.watch(x)
            score = tf.reduce_sum(scorer.fn(x))
        grad = tape.gradient(score, x)
    maps = np.max(np.abs(grad.numpy()), axis=-1)
    return _normalise(maps) if normalise else maps


def occlusion_map(scorer: Scorer, images: np.ndarray, patch: int = 32, stride: int = 16, fill: float = 127.5,
                  batch_size: int = 32) -> np.ndarray:
    """``(B, H, W)`` maps in [0, 1]: the score drop when a grey ``patch`` covers each position (module docstring)."""
    images = np.asarray(images, np.float32)
    b, h, w, _ = images.shape
    if patch < 1 or stride < 1 or patch > min(h, w):
        raise ValueError(f"patch must be in 1..{min(h, w)} and stride >= 1, got patch {patch}, stride {stride}")
    tops = sorted(set(list(range(0, h - patch + 1, stride)) + [h - patch]))
    lefts = sorted(set(list(range(0, w - patch + 1, stride)) + [w - patch]))
    spots = [(t, l) for t in tops for l in lefts]
    maps = np.zeros((b, h, w), np.float64)
    cover = np.zeros((h, w), np.float64)
    for t, l in spots:
        cover[t:t + patch, l:l + patch] += 1
    for i in range(b):
        base = float(np.asarray(scorer.fn(images[i:i + 1]))[0])
        for start in range(0, len(spots), batch_size):
            chunk = spots[start:start + batch_size]
            batch = np.repeat(images[i:i + 1], len(chunk), axis=0)
            for j, (t, l) in enumerate(chunk):
                batch[j, t:t + patch, l:l + patch] = fill
            drops = base - np.asarray(scorer.fn(batch), np.float64)
            for (t, l), d in zip(chunk, drops):
                maps[i, t:t + patch, l:l + patch] += max(float(d), 0.0)
    return _normalise(maps / cover)


def heat_map(scorer: Scorer, images: np.ndarray, method: str = "guided", **occlusion) -> np.ndarray:
    """One of :data:`METHODS` → ``(B, H, W)`` maps in [0, 1]."""
    if method == "occlusion":
        return occlusion_map(scorer, images, **occlusion)
    if method in ("gradient", "guided"):
        return saliency_map(scorer, images, guided=method == "guided")
    raise ValueError(f"method must be one of {', '.join(METHODS)}, got {method!r}")


def style_mask(maps: np.ndarray, fraction: float | None = 0.25, top_k: int | None = None) -> np.ndarray:
    """``(B, H, W)`` 0/1 masks: the top ``fraction`` of each map's positions, or its top ``top_k`` (Shinde's
    "select two most important pixels"). Ties are broken by position (stable), so exactly that many are 1."""
    maps = np.asarray(maps)
    b, h, w = maps.shape
    n = h * w
    if top_k is not None:
        if not 1 <= top_k <= n:
            raise ValueError(f"top_k must be in 1..{n}, got {top_k}")
        keep = top_k
    else:
        if fraction is None or not 0 < fraction <= 1:
            raise ValueError(f"fraction must be in (0, 1], got {fraction}")
        keep = max(1, int(round(fraction * n)))
    flat = maps.reshape(b, n)
    order = np.argsort(-flat, axis=1, kind="stable")[:, :keep]
    masks = np.zeros((b, n), np.float32)
    np.put_along_axis(masks, order, 1.0, axis=1)
    return masks.reshape(b, h, w)


def colourise(maps: np.ndarray) -> np.ndarray:
    """``(B, H, W)`` in [0, 1] → ``(B, H, W, 3)`` uint8 (matplotlib's *inferno*)."""
    from matplotlib import colormaps

    return (colormaps["inferno"](np.clip(maps, 0, 1))[..., :3] * 255).round().astype(np.uint8)


def overlay(images: np.ndarray, maps: np.ndarray, alpha: float = 0.55) -> np.ndarray:
    """The maps blended over the images (what a person looks at)."""
    return np.clip((1 - alpha) * np.asarray(images, np.float32) + alpha * colourise(maps), 0, 255).astype(np.uint8)


# ------------------------------------------------------------------------------------------------ CLI
#: The maps of a run of the CLI; its PNGs are ``<image stem>_<method>_{map,overlay,mask}.png``, its record
#: (what was explained, the skipped inputs, the library versions) ``saliency.json``.
MAPS = "maps.npz"
RECORD = "saliency.json"


def output_names(names: Sequence[str], method: str) -> list[str]:
    """The PNGs the CLI writes for images named ``names`` (file stems) with ``method``."""
    return [f"{n}_{method}_{kind}.png" for n in names for kind in ("map", "overlay", "mask")]


def remove_own_files(out: Path) -> int:
    """``--overwrite``: delete what an earlier run wrote in ``out`` — the PNGs of the images its ``maps.npz``
    names, and ``maps.npz`` — and nothing else. Returns how many files were deleted."""
    from classify.files import remove_paths

    if not (out / MAPS).is_file():
        return 0
    with np.load(out / MAPS) as z:
        names = [str(n) for n in z["names"]]
        methods = [str(z["method"])] if "method" in z.files else list(METHODS)
    own = [out / f for m in methods for f in output_names(names, m)] + [out / MAPS, out / RECORD]
    return remove_paths(out, [p for p in own if p.is_file()])


def build_parser() -> argparse.ArgumentParser:
    p = Parser(prog="python -m nst_aug.saliency", description=__doc__.split("\n\n")[0])
    p.add_argument("images", nargs="+", help="image files (e.g. style images)")
    p.add_argument("--method", choices=METHODS, default="guided", help="guided / plain gradient saliency, or occlusion")
    p.add_argument("--model", metavar="FILE", help="a classify model (.keras) whose class score is explained "
                                                  "(default: the mean activation of a VGG layer)")
    p.add_argument("--class", dest="target", help="with --model: the class (default: each image's prediction)")
    p.add_argument("--backbone", choices=("vgg16", "vgg19"), default="vgg19", help="without --model")
    p.add_argument("--layer", help="without --model: the layer whose activation is explained (default: the "
                                   "backbone's deepest conv layer)")
    p.add_argument("--weights", default="auto", help="without --model: VGG weights (auto, imagenet, hed, FILE, random)")
    p.add_argument("--size", type=size_arg, default=224, help="images are resized (short side) and centre-cropped")
    p.add_argument("--fraction", type=fraction, default=0.25, help="share of positions the mask keeps")
    p.add_argument("--patch", type=positive_int, default=32, help="occlusion: patch side in px")
    p.add_argument("--stride", type=positive_int, default=16, help="occlusion: patch stride in px")
    p.add_argument("--seed", type=int, default=0, help="random VGG weights only")
    add_output_args(p, required=True, what="output folder for the PNGs and maps.npz")
    add_verbosity(p)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """The command line (default ``sys.argv[1:]``) → exit status (errors: one line, status 2)."""
    return run_main(_main, argv)


def _main(argv: Sequence[str]) -> int:
    args = build_parser().parse_args(argv)
    from classify.images import ImageError, load_square, save_image

    out = check_output_dir(args.out)
    refuse_to_replace(out, (MAPS,), args.overwrite)
    if args.target and not args.model:
        raise CLIError("--class needs --model")
    from tqdm.auto import tqdm

    loaded, names, skipped = [], [], []
    for path in tqdm(args.images, desc="loading images", unit="img", disable=args.quiet, leave=False):
        try:
            loaded.append(load_square(path, args.size))
            names.append(Path(path).stem)
        except ImageError as err:
            skipped.append(str(err))
    report_skipped(skipped, limit=skipped_limit(args))
    if not loaded:
        raise CLIError("no usable images")
    images = np.stack(loaded).astype(np.float32)
    scorer = score_function(args.model, args.target, args.backbone, args.layer, args.weights, args.seed)
    extra = {"patch": args.patch, "stride": args.stride} if args.method == "occlusion" else {}
    chunk = 8  # each map is normalised on its own: chunks give the same maps as one batch
    with tqdm(total=len(images), desc=f"{args.method} maps", unit="img", disable=args.quiet, leave=False) as bar:
        parts = []
        for start in range(0, len(images), chunk):
            parts.append(heat_map(scorer, images[start:start + chunk], args.method, **extra))
            bar.update(len(parts[-1]))
    maps = np.concatenate(parts)
    masks = style_mask(maps, args.fraction)
    if args.overwrite:
        remove_own_files(out)
    out.mkdir(parents=True, exist_ok=True)
    for name, img, m, k in zip(names, images, maps, masks):
        map_png, overlay_png, mask_png = output_names([name], args.method)
        save_image(colourise(m[None])[0], out / map_png)
        save_image(overlay(img[None], m[None])[0], out / overlay_png)
        save_image((k * 255).astype(np.uint8)[..., None].repeat(3, -1), out / mask_png)
    from classify.files import atomic_open, write_json
    from classify.versions import run_record

    with atomic_open(out / MAPS, "wb") as f:
        np.savez(f, names=np.asarray(names), maps=maps, masks=masks, method=np.asarray(args.method))
    write_json(out / RECORD, run_record("nst_aug.saliency", images=[str(Path(p).resolve()) for p in args.images],
                                        method=args.method, score=scorer.description, size=args.size,
                                        fraction=args.fraction, outputs=output_names(names, args.method),
                                        skipped_inputs=skipped))
    print(f"{len(names)} maps ({args.method}; {scorer.description}; mask: top {args.fraction:.0%}) -> {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
