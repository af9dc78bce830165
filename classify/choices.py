"""The names and ranges the command lines offer, in one place that imports no TensorFlow (so every ``--help``
answers at once; the modules that build networks and pipelines import these from here).
"""
from __future__ import annotations

from .images import MIN_SIDE

#: :func:`classify.models.build_model` architectures.
ARCHITECTURES = ("small_cnn", "vgg9", "vgg11", "vgg16", "densenet121", "resnet50", "cho_vgg16", "vgg16_logreg",
                 "vgg16_imagenet", "vgg16_texture_logreg")
#: Classifier heads of the pretrained backbones (:func:`classify.models.application`).
HEADS = ("default", "fastai")
#: Optimisers of :func:`classify.training.make_optimizer`.
OPTIMIZERS = ("adam", "adamw", "sgd")
#: Input sides that differ from 224 px (Cho §III: 256).
DEFAULT_SIZES = {"cho_vgg16": 256}
#: ``tf.image.resize`` methods (the thesis resizes bicubically, §5.2).
RESIZE_METHODS = ("bilinear", "bicubic", "nearest", "area", "lanczos3", "lanczos5", "gaussian", "mitchellcubic")
#: How an image is fitted to a side ``size`` (:func:`classify.images.load_fitted`): ``crop`` = shorter side to
#: ``size`` then the centre square; ``squash`` = exactly ``size × size``, aspect ignored (INetwork's ``imresize``);
#: ``long_side`` = longer side to ``size``, aspect kept (the TF NST notebooks' ``max_dim``, jcjohnson's
#: ``-image_size``). Classifier pipelines take the first two (batches are square).
IMAGE_FITS = ("crop", "squash", "long_side")
#: ImageDataGenerator fill modes (:class:`classify.augment.AffineAugment`).
FILL_MODES = ("nearest", "reflect", "wrap", "constant")
#: Every image side a tool accepts (``--size``, ``--load-size``, …), in px: the toolkit's minimum image side, up
#: to 2048 (4× the largest side any of the papers uses, Gauld's 512; a VGG19 pass at 2048 px already needs
#: several GB).
SIZE_RANGE = (MIN_SIDE, 2048)
#: ``tf.distribute`` strategies of classifier training (:func:`classify.training.distribution_strategy`).
DISTRIBUTE = ("none", "mirrored", "multiworker")
#: Compute precisions (:func:`classify.precision.resolve_precision`).
PRECISIONS = ("float32", "bfloat16", "float16", "auto")
