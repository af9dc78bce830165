"""``StyleTransfer``: B independent (content, style) problems optimised together, Adam or L-BFGS.

One forward pass of the VGG serves every loss (content, style, chain). The B problems share the batch but not
their losses: each pair has its own content/style targets and its own loss, and the optimisers treat pairs
independently, so an image does not depend on what else is in its batch.

- **Adam** (Gauld; TF tutorial): one ``tf.function`` step (optionally XLA-compiled) with ``GradientTape`` and an
  element-wise Adam update identical to ``keras.optimizers.Adam``, clipping to ``[0, pixel_scale]`` after each step;
  with ``return_best`` (the 2018 eager notebook Gauld used) each pair's lowest-loss image is returned.
- **L-BFGS** (Gatys; the Keras 2.0 example / INetwork that Mikołajczyk used): scipy's ``fmin_l_bfgs_b`` run in
  rounds of ``lbfgs_maxfun`` evaluations, restarted each round as INetwork does; with ``clip=True`` the pixels
  are box-bounded to ``[0, pixel_scale]`` (L-BFGS-B). Each pair has its own scipy
  optimiser (in a thread); the threads' loss/gradient requests are gathered and answered by one batched
  evaluation, so B problems cost one batched forward/backward pass per step and stay exactly independent.
"""
from __future__ import annotations

import threading
import time
import warnings
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np
import tensorflow as tf

from classify.precision import resolve_precision

from . import losses as L
from .color import preserve_color
from .config import NSTConfig
from .vgg import FeatureExtractor, conv_layer_names

Callback = Callable[[int, dict[str, np.ndarray]], None]


@dataclass
class TransferResult:
    """Images ``(B, H, W, 3)`` uint8, final per-pair losses, and the wall time of the batch."""

    images: np.ndarray
    losses: dict[str, np.ndarray]
    seconds: float
    history: list[dict[str, np.ndarray]] = field(default_factory=list)


class StyleTransfer:
    """The NST engine for one :class:`NSTConfig`.

    >>> engine = StyleTransfer(get_preset("mikolajczyk2019"))
    >>> result = engine.transfer(contents, styles)   # (B, 224, 224, 3) uint8 each
    >>> result.images, result.losses["total"]
    """

    def __init__(self, config: NSTConfig, extractor: FeatureExtractor | None = None):
        self.config = config
        self.all_layers = conv_layer_names(config.backbone)
        needed = tuple(config.content_layers) + tuple(config.style_layers)
        # auto: float16 with a GPU, else float32; bfloat16 is opt-in for NST (its measured effect: README, Speed)
        self.compute_dtype = resolve_precision(config.precision, bf16_on_cpu=False)
        self.extractor = extractor or FeatureExtractor(
            needed, config.backbone, config.pooling, config.weights, self.compute_dtype, config.seed)
        missing = set(needed) - set(self.extractor.layers)
        if missing:
            raise ValueError(f"the given extractor lacks layers {sorted(missing)}")
        self.weights_source = self.extractor.weights_source
        self.content_weights = L.layer_weights(config.content_layers, self.all_layers, config.content_layer_weights)
        if config.style_terms == "chain":
            # One term per adjacent pair (l−1, l), weighted by the shallower layer's place in the chain.
            self.style_pairs = list(zip(config.style_layers[:-1], config.style_layers[1:]))
            shallow = L.layer_weights(config.style_layers[:-1], self.all_layers, config.style_layer_weights)
            self.style_weights = {pair: shallow[pair[0]] for pair in self.style_pairs}
        else:
            self.style_pairs = [(name, name) for name in config.style_layers]
            per_layer = L.layer_weights(config.style_layers, self.all_layers, config.style_layer_weights)
            self.style_weights = {(name, name): per_layer[name] for name in config.style_layers}
        if config.reference == "inetwork":
            last = config.style_layers[-1]
            warnings.warn(
                f"reference='inetwork' reproduces titu1994 INetwork.py's loss, whose chained weights telescope "
                f"to {self.style_weights[(last, last)]:+.0f} on {last}: the optimiser is rewarded for MISmatching "
                f"that layer's style. Use reference='paper' for Novak & Nikulin's chain.", stacklevel=2)
        self._steps: dict = {}

    # ------------------------------------------------------------------------------------------- targets
    def _to_rgb255(self, x: tf.Tensor) -> tf.Tensor:
        return x * (255.0 / self.config.pixel_scale)

    def _grams(self, feats: dict[str, tf.Tensor], mask: tf.Tensor | None = None) -> dict:
        shift = self.config.shift
        out = {}
        for shallow, deep in self.style_pairs:
            if shallow == deep:
                out[(shallow, deep)] = L.gram_matrix(feats[shallow], shift, mask)
            else:
                out[(shallow, deep)] = L.cross_gram_matrix(feats[deep], feats[shallow], shift)
        return out

    def targets(
        self,
        contents: np.ndarray,
        styles: np.ndarray | Sequence[np.ndarray],
        style_mask: np.ndarray | None = None,
    ) -> dict:
        """Content features and style Gram targets for B pairs.

        ``contents``: ``(B, H, W, 3)`` RGB 0..255. ``styles``: ``(B, H', W', 3)``, or a sequence of K such
        arrays blended with ``config.style_blend`` (Shinde §3.3). ``style_mask``: ``(B, H', W')`` position
        weights for the style Grams (Shinde §3.2), or one such array per style array when several are blended.
        Styles are rescaled by ``config.style_scale`` first.
        """
        cfg = self.config
        content_feats = self.extractor(tf.constant(contents, tf.float32))
        style_list = [styles] if isinstance(styles, np.ndarray) or tf.is_tensor(styles) else list(styles)
        masks = (list(style_mask) if isinstance(style_mask, (list, tuple)) else [style_mask] * len(style_list))
        if len(masks) != len(style_list):
            raise ValueError(f"{len(masks)} style masks for {len(style_list)} style arrays")
        grams = []
        for style, style_mask in zip(style_list, masks):
            style = tf.constant(style, tf.float32)
            if cfg.style_scale != 1.0:
                h, w = style.shape[1:3]
                style = tf.image.resize(style, (max(32, round(h * cfg.style_scale)),
                                                max(32, round(w * cfg.style_scale))), method="bicubic")
                style = tf.clip_by_value(style, 0.0, 255.0)
            mask = None if style_mask is None else tf.constant(style_mask, tf.float32)
            grams.append(self._grams(self.extractor(style), mask))
        if len(grams) == 1:
            style_targets = grams[0]
        else:
            if cfg.style_blend is not None and len(cfg.style_blend) != len(grams):
                raise ValueError(f"style_blend has {len(cfg.style_blend)} weights for {len(grams)} style images")
            style_targets = {key: L.blend_grams([g[key] for g in grams], cfg.style_blend) for key in grams[0]}
        return {"content": {name: content_feats[name] for name in cfg.content_layers}, "style": style_targets}

    # ----------------------------------------------------------------------------------------------- loss
    def loss_terms(self, x: tf.Tensor, targets: dict) -> dict[str, tf.Tensor]:
        """Per-pair weighted loss terms ``{content, style, tv, total}``, each ``(B,)``, for images ``x``."""
        cfg = self.config
        feats = self.extractor(self._to_rgb255(x))
        content = tf.add_n([
            self.content_weights[name] * L.content_loss(feats[name], targets["content"][name], cfg.content_reduction)
            for name in cfg.content_layers])
        grams = self._grams(feats)
        image_pixels = int(x.shape[1]) * int(x.shape[2])
        style_terms = []
        for key, gram in grams.items():
            layer = feats[key[0]]
            style_terms.append(self.style_weights[key] * L.style_layer_loss(
                gram, targets["style"][key], cfg.style_normalisation,
                num_positions=int(layer.shape[1]) * int(layer.shape[2]), image_pixels=image_pixels))
        style = tf.add_n(style_terms)
        if cfg.tv_weight:
            tv = L.total_variation_loss(x, cfg.tv_kind, cfg.tv_power)
        else:
            tv = tf.zeros_like(content)
        content, style, tv = cfg.content_weight * content, cfg.style_weight * style, cfg.tv_weight * tv
        return {"content": content, "style": style, "tv": tv, "total": content + style + tv}

    # ------------------------------------------------------------------------------------------ optimise
    def initial_image(self, contents: np.ndarray, styles: np.ndarray | Sequence[np.ndarray],
                      init: str | np.ndarray | None = None) -> np.ndarray:
        """Starting image in ``[0, pixel_scale]``: the content, the style, uniform noise (seeded) or an array."""
        cfg = self.config
        init = cfg.init if init is None else init
        scale = cfg.pixel_scale / 255.0
        if isinstance(init, np.ndarray):
            return init.astype(np.float32) * scale
        if init == "content":
            return contents.astype(np.float32) * scale
        if init == "style":
            style = styles if isinstance(styles, np.ndarray) else styles[0]
            if style.shape != contents.shape:
                style = tf.image.resize(style.astype(np.float32), contents.shape[1:3]).numpy()
            return style.astype(np.float32) * scale
        if init == "noise":
            rng = np.random.default_rng(cfg.seed)
            return rng.uniform(0.0, cfg.pixel_scale, size=contents.shape).astype(np.float32)
        raise ValueError(f"init must be 'content', 'noise', 'style' or an array, got {init!r}")

    def transfer(
        self,
        contents: np.ndarray,
        styles: np.ndarray | Sequence[np.ndarray],
        init: str | np.ndarray | None = None,
        style_mask: np.ndarray | None = None,
        callback: Callback | None = None,
        report_every: int = 10,
    ) -> TransferResult:
        """Style-transfer B pairs; ``contents`` ``(B, H, W, 3)`` and ``styles`` as in :meth:`targets`.

        ``callback(step, losses)`` is called every ``report_every`` steps with the per-pair loss terms.
        """
        contents = np.asarray(contents)
        if contents.ndim != 4 or contents.shape[-1] != 3:
            raise ValueError(f"contents must be (B, H, W, 3), got {contents.shape}")
        start = time.perf_counter()
        cfg = self.config
        one_style = isinstance(styles, np.ndarray) or tf.is_tensor(styles)  # else a list of style batches
        # pyramid sides are fractions of the content's longer side (= cfg.size for every image fit)
        long_side = max(contents.shape[1:3])
        levels = [(int(size) / long_side, int(steps)) for size, steps in cfg.pyramid] + [(1.0, cfg.steps)]
        x, history, done = None, [], 0
        for scale, steps in levels:  # coarse-to-fine image pyramid; a single level without one
            c_level = _rescale(contents, scale)
            s_level = _rescale(styles, scale) if one_style else [_rescale(st, scale) for st in styles]
            targets = self.targets(c_level, s_level, style_mask)
            if x is None:
                x0 = self.initial_image(c_level, s_level, init)
            else:  # the previous level's result, upsampled, starts this level
                x0 = tf.image.resize(x, c_level.shape[1:3], method="bicubic").numpy()
                x0 = np.clip(x0, 0.0, cfg.pixel_scale)
            level_callback = None if callback is None else (lambda i, terms, off=done: callback(off + i, terms))
            optimise = self._adam if cfg.optimizer == "adam" else self._lbfgs
            x, level_history = optimise(x0, targets, steps, level_callback, report_every)
            history += level_history
            done += steps
        final = {k: v.numpy() for k, v in self._compiled_loss()(tf.constant(x), targets).items()}
        images = np.clip(np.round(x * (255.0 / self.config.pixel_scale)), 0, 255).astype(np.uint8)
        if self.config.preserve_color:
            images = np.stack([preserve_color(c, g) for c, g in zip(contents.astype(np.uint8), images)])
        return TransferResult(images, final, time.perf_counter() - start, history)

    def _compiled_loss(self):
        if "loss" not in self._steps:
            self._steps["loss"] = tf.function(self.loss_terms, jit_compile=self.config.jit_compile)
        return self._steps["loss"]

    def _adam_step(self):
        """The compiled Adam step: per-pair losses, one gradient, Keras's Adam update, clip."""
        if "adam" in self._steps:
            return self._steps["adam"]
        cfg = self.config
        b1, b2, eps, lr = cfg.adam_beta1, cfg.adam_beta2, cfg.adam_epsilon, cfg.learning_rate

        def step(x, m, v, t, targets):
            with tf.GradientTape() as tape:
                tape.watch(x)
                terms = self.loss_terms(x, targets)
                total = tf.reduce_sum(terms["total"])  # pairs are independent: ∂total/∂x_b = ∂L_b/∂x_b
            g = tape.gradient(total, x)
            t = t + 1.0
            m = b1 * m + (1.0 - b1) * g
            v = b2 * v + (1.0 - b2) * tf.square(g)
            alpha = lr * tf.sqrt(1.0 - tf.pow(b2, t)) / (1.0 - tf.pow(b1, t))
            x = x - alpha * m / (tf.sqrt(v) + eps)
            if cfg.clip:
                x = tf.clip_by_value(x, 0.0, cfg.pixel_scale)
            return x, m, v, t, terms

        self._steps["adam"] = tf.function(step, jit_compile=cfg.jit_compile)
        return self._steps["adam"]

    def _adam(self, x0, targets, steps, callback, report_every):
        step = self._adam_step()
        x = tf.constant(x0, tf.float32)
        m, v, t = tf.zeros_like(x), tf.zeros_like(x), tf.constant(0.0)
        best_x, best_loss = x, tf.fill([x.shape[0]], np.inf)
        history = []
        for i in range(1, steps + 1):
            x_in = x
            x, m, v, t, terms = step(x, m, v, t, targets)  # terms are the losses *of x_in*
            if self.config.return_best:
                best_x, best_loss = _keep_better(x_in, terms["total"], best_x, best_loss)
            if i % report_every == 0 or i == steps:
                record = {k: val.numpy() for k, val in terms.items()}
                history.append(record)
                if callback:
                    callback(i, record)
        if self.config.return_best:  # the last update's result has not been scored yet
            best_x, _ = _keep_better(x, self._compiled_loss()(x, targets)["total"], best_x, best_loss)
            return best_x.numpy(), history
        return x.numpy(), history

    def _value_and_grad(self):
        if "vg" in self._steps:
            return self._steps["vg"]

        def vg(x, targets):
            with tf.GradientTape() as tape:
                tape.watch(x)
                terms = self.loss_terms(x, targets)
                total = tf.reduce_sum(terms["total"])
            return terms, tape.gradient(total, x)

        self._steps["vg"] = tf.function(vg, jit_compile=self.config.jit_compile)
        return self._steps["vg"]

    def _lbfgs(self, x0, targets, steps, callback, report_every):
        from scipy.optimize import fmin_l_bfgs_b

        cfg = self.config
        vg = self._value_and_grad()
        shape = x0.shape[1:]
        history: list[dict[str, np.ndarray]] = []
        counter = {"n": 0}

        def evaluate(batch: np.ndarray):
            terms, grad = vg(tf.constant(batch, tf.float32), targets)
            terms = {k: val.numpy() for k, val in terms.items()}
            counter["n"] += 1
            if counter["n"] % report_every == 0:
                history.append(terms)
                if callback:
                    callback(counter["n"], terms)
            return terms["total"].astype(np.float64), grad.numpy().astype(np.float64)

        lockstep = _Lockstep(x0.astype(np.float64), evaluate)
        # clip=True means "the image stays in [0, pixel_scale]": Adam clips after each step; L-BFGS-B gets box
        # bounds (clipping between L-BFGS steps would corrupt its curvature pairs).
        bounds = [(0.0, cfg.pixel_scale)] * int(np.prod(shape)) if cfg.clip else None
        results = [None] * len(x0)
        rounds = max(1, -(-steps // cfg.lbfgs_maxfun))

        def run(b: int) -> None:
            try:
                x = x0[b].astype(np.float64).ravel()
                budget = steps
                for _ in range(rounds):  # INetwork: num_iter rounds of fmin_l_bfgs_b(maxfun=20)
                    maxfun = min(cfg.lbfgs_maxfun, budget)
                    if maxfun <= 0:
                        break
                    x, _, info = fmin_l_bfgs_b(lambda z: lockstep.evaluate(b, z.reshape(shape)), x,
                                               m=cfg.lbfgs_history, maxfun=maxfun, bounds=bounds)
                    budget -= info["funcalls"]
                results[b] = x.reshape(shape)
            except BaseException as err:  # noqa: BLE001 - re-raised in the caller's thread
                results[b] = err
            finally:
                lockstep.done(b)

        threads = [threading.Thread(target=run, args=(b,), daemon=True) for b in range(len(x0))]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        for res in results:
            if isinstance(res, BaseException):
                raise res
        return np.stack(results).astype(np.float32), history


def _keep_better(x, loss, best_x, best_loss):
    """Per pair, ``(x, loss)`` where ``loss`` is lower than ``best_loss``, else the best so far."""
    better = loss < best_loss
    return tf.where(better[:, None, None, None], x, best_x), tf.where(better, loss, best_loss)


def _rescale(images, scale: float) -> np.ndarray:
    """Images ``(B, H, W, 3)`` scaled by ``scale`` (aspect kept, area-averaged); unchanged at 1."""
    images = np.asarray(images, np.float32)
    if scale == 1.0:
        return images
    shape = (max(1, round(images.shape[1] * scale)), max(1, round(images.shape[2] * scale)))
    return tf.image.resize(images, shape, method="area").numpy()


class _Lockstep:
    """Gathers loss/gradient requests from B optimiser threads into one batched evaluation.

    Each thread calls :meth:`evaluate` with its pair's image and blocks; when every still-running thread has
    asked, the batch (finished pairs keep their last image) is evaluated once and each thread gets its own
    pair's loss and gradient.
    """

    def __init__(self, x0: np.ndarray, evaluate: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]):
        self.batch = x0.copy()
        self.evaluate_batch = evaluate
        self.active = len(x0)
        self.pending: set[int] = set()
        self.results: dict[int, tuple[float, np.ndarray] | BaseException] = {}
        self.cond = threading.Condition()

    def _run(self) -> None:
        try:
            values, grads = self.evaluate_batch(self.batch.astype(np.float32))
            for b in self.pending:
                self.results[b] = (float(values[b]), grads[b].ravel())
        except BaseException as err:  # noqa: BLE001 - handed to every waiting thread
            for b in self.pending:
                self.results[b] = err
        self.pending.clear()
        self.cond.notify_all()

    def evaluate(self, b: int, x: np.ndarray) -> tuple[float, np.ndarray]:
        with self.cond:
            self.batch[b] = x
            self.pending.add(b)
            if len(self.pending) == self.active:
                self._run()
            while b not in self.results:
                self.cond.wait()
            result = self.results.pop(b)
        if isinstance(result, BaseException):
            raise result
        return result

    def done(self, b: int) -> None:
        with self.cond:
            self.active -= 1
            if self.pending and len(self.pending) == self.active:
                self._run()
