"""``NSTConfig``: every setting of one neural style transfer, in one place, with its default.

Presets (:mod:`nst_aug.presets`) are ``NSTConfig`` instances whose every value cites its source; any value can be
overridden with :func:`dataclasses.replace` or :meth:`NSTConfig.override`.
"""
from __future__ import annotations

import argparse
import dataclasses
from dataclasses import dataclass, field
from typing import Any

from classify.choices import IMAGE_FITS, PRECISIONS
from classify.images import RESAMPLE
from classify.cli import FLAG_ALIASES, loss_weight, positive_int, size_arg

#: Style-loss normalisations, content reductions and layer weightings (:mod:`nst_aug.losses` has the formulas).
STYLE_NORMALISATIONS = ("gatys", "mean", "inetwork")
CONTENT_REDUCTIONS = ("half_sum", "sum", "mean")
LAYER_WEIGHTINGS = ("uniform", "geometric", "geometric_content", "inetwork_chain")

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

def conv_layer_names(backbone: str) -> tuple[str, ...]:
    """The conv layers of ``backbone`` ("vgg16" or "vgg19") in depth order."""
    try:
        return CONV_LAYERS[backbone]
    except KeyError:
        raise ValueError(f"backbone must be one of {sorted(CONV_LAYERS)}, got {backbone!r}") from None


@dataclass(frozen=True)
class NSTConfig:
    """All settings of an optimisation-based style transfer (Gatys et al. 2016).

    The loss for one (content p, style a, image x) problem is

        L(x) = α Σ_{l∈C} v_l L_content^l(x, p) + β Σ_{l∈S} w_l E_l(x, a) + γ TV(x)

    with α = ``content_weight``, β = ``style_weight``, γ = ``tv_weight``, ``v``/``w`` the layer weights, ``E_l``
    the style loss of layer ``l`` (a Gram loss, or a cross-Gram loss for ``style_terms="chain"``).
    """

    name: str = "custom"
    # feature extractor
    backbone: str = "vgg19"
    weights: str | None = "auto"
    pooling: str = "max"
    size: int = 224
    fit: str = "crop"  # how content and style images meet ``size`` (classify.choices.IMAGE_FITS)
    resample: str = "bilinear"  # the PIL filter that resizes them (classify.images.RESAMPLE)
    # content
    content_layers: tuple[str, ...] = ("block5_conv2",)
    content_weight: float = 1e4
    content_reduction: str = "mean"
    content_layer_weights: Any = "uniform"
    # style
    style_layers: tuple[str, ...] = ("block1_conv1", "block2_conv1", "block3_conv1", "block4_conv1", "block5_conv1")
    style_weight: float = 1e-2
    style_normalisation: str = "mean"
    style_layer_weights: Any = "uniform"
    style_terms: str = "gram"  # "gram" (per layer) or "chain" (Novak & Nikulin correlation chain)
    shift: float = 0.0
    style_scale: float = 1.0
    style_blend: tuple[float, ...] | None = None
    # total variation
    tv_weight: float = 0.0
    tv_kind: str = "abs"
    tv_power: float = 1.25
    # optimisation
    optimizer: str = "adam"
    steps: int = 1000
    learning_rate: float = 0.02
    adam_beta1: float = 0.99
    adam_beta2: float = 0.999
    adam_epsilon: float = 0.1
    lbfgs_maxfun: int = 20
    lbfgs_history: int = 10
    pixel_scale: float = 1.0  # the optimised image lives in [0, pixel_scale]
    clip: bool = True
    init: str = "content"
    return_best: bool = False  # Adam: return each pair's lowest-loss image seen, not the last one
    preserve_color: bool = False
    # coarse-to-fine image pyramid (pystiche's ImagePyramid): ((side, steps), ...) levels run before the
    # full-size level, each starting from the previous result upsampled; () = no pyramid
    pyramid: tuple[tuple[int, int], ...] = ()
    # implementation
    reference: str = "paper"  # "paper" or "inetwork" (titu1994 INetwork.py's loss, bugs included)
    precision: str = "float32"  # "float32", "bfloat16", "float16" or "auto"
    jit_compile: bool = False
    seed: int = 0
    sources: dict[str, str] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        all_layers = conv_layer_names(self.backbone)
        for layer in self.content_layers + self.style_layers:
            if layer not in all_layers:
                raise ValueError(f"{self.backbone} has no layer {layer!r}; conv layers: {list(all_layers)}")
        checks = {
            "content_reduction": (self.content_reduction, CONTENT_REDUCTIONS),
            "style_normalisation": (self.style_normalisation, STYLE_NORMALISATIONS),
            "style_terms": (self.style_terms, ("gram", "chain")),
            "tv_kind": (self.tv_kind, ("abs", "power")),
            "optimizer": (self.optimizer, ("adam", "lbfgs")),
            "pooling": (self.pooling, ("max", "avg")),
            "reference": (self.reference, ("paper", "inetwork")),
            "precision": (self.precision, ("float32", "bfloat16", "float16", "auto")),
            "fit": (self.fit, IMAGE_FITS),
            "resample": (self.resample, tuple(RESAMPLE)),
        }
        for key, (value, allowed) in checks.items():
            if value not in allowed:
                raise ValueError(f"{key} must be one of {allowed}, got {value!r}")
        if not (isinstance(self.init, str) and self.init in ("content", "noise", "style")):
            raise ValueError(f"init must be 'content', 'noise' or 'style', got {self.init!r}")
        if self.size < 32:
            raise ValueError(f"size must be at least 32 px, got {self.size}")
        if self.steps < 1:
            raise ValueError(f"steps must be >= 1, got {self.steps}")
        sides = [side for side, _ in self.pyramid]
        if sides and (sides != sorted(set(sides)) or sides[-1] >= self.size or sides[0] < 32
                      or any(n < 1 for _, n in self.pyramid)):
            raise ValueError(f"pyramid levels must be increasing sides in [32, size) with >= 1 step, got {self.pyramid}")
        if self.style_terms == "chain" and len(self.style_layers) < 2:
            raise ValueError("the correlation chain needs at least two style layers")

    def override(self, **changes: Any) -> "NSTConfig":
        """A copy with ``changes`` applied (``None`` values are ignored); unknown names raise ``TypeError``."""
        known = {f.name for f in dataclasses.fields(self)}
        unknown = set(changes) - known
        if unknown:
            raise TypeError(f"unknown NSTConfig fields {sorted(unknown)}")
        changes = {k: v for k, v in changes.items() if v is not None}
        for key in ("content_layers", "style_layers", "style_blend"):
            if isinstance(changes.get(key), list):
                changes[key] = tuple(changes[key])
        if "pyramid" in changes:
            changes["pyramid"] = tuple((int(side), int(steps)) for side, steps in changes["pyramid"])
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready settings (without the ``sources`` notes)."""
        d = dataclasses.asdict(self)
        d.pop("sources")
        return {k: ([list(i) if isinstance(i, tuple) else i for i in v] if isinstance(v, tuple) else v)
                for k, v in d.items()}

    def differences(self, other: "NSTConfig") -> dict[str, tuple[Any, Any]]:
        """``{field: (self value, other value)}`` for every setting that differs (``sources`` ignored)."""
        a, b = self.to_dict(), other.to_dict()
        return {k: (a[k], b[k]) for k in a if a[k] != b[k]}


# ---------------------------------------------------------------------------------------- command-line flags
def _pyramid(text: str) -> tuple[int, int]:
    try:
        side, steps = text.split(":")
        return int(side), int(steps)
    except ValueError:
        raise argparse.ArgumentTypeError(f"pyramid levels are SIDE:STEPS such as 112:60, got {text!r}") from None


#: The NSTConfig fields a command line may set, and how: the one place that turns a field into a flag
#: (``--content-weight`` for ``content_weight``). Unset flags keep the preset's value.
CONFIG_FLAGS: dict[str, dict[str, Any]] = {
    "backbone": dict(choices=("vgg16", "vgg19"), help="VGG feature extractor"),
    "weights": dict(help="auto, imagenet, hed, a weights FILE, or random (tests only)"),
    "size": dict(type=size_arg, help="image side in px"),
    "fit": dict(choices=IMAGE_FITS, help="crop: centre square; squash: size×size; long_side: longer side = size, "
                                         "aspect kept"),
    "steps": dict(type=positive_int, help="optimisation steps (L-BFGS: loss evaluations)"),
    "optimizer": dict(choices=("adam", "lbfgs")),
    "content_weight": dict(type=loss_weight, help="α"),
    "style_weight": dict(type=loss_weight, help="β"),
    "tv_weight": dict(type=loss_weight, help="γ, total variation"),
    "style_scale": dict(type=float, help="rescale style images by this factor (Shinde)"),
    "init": dict(choices=("content", "noise", "style"), help="the image the optimisation starts from"),
    "precision": dict(choices=PRECISIONS, help="compute dtype"),
    "jit_compile": dict(action="store_true", default=None, help="XLA-compile the Adam step",
                        aliases=FLAG_ALIASES["jit_compile"]),
    "preserve_color": dict(action="store_true", default=None, help="keep the content image's colours"),
    "pyramid": dict(nargs="+", type=_pyramid, metavar="SIDE:STEPS",
                    help="coarse-to-fine levels before the full size, e.g. 112:60 (faster convergence)"),
}


def add_config_arguments(group) -> None:
    """Add one flag per :data:`CONFIG_FLAGS` field to an argparse parser or group (default: the preset's)."""
    for name, kwargs in CONFIG_FLAGS.items():
        kwargs = dict(kwargs)
        aliases = kwargs.pop("aliases", ())
        group.add_argument("--" + name.replace("_", "-"), *aliases, dest=name, **kwargs)


def overrides_from_args(args: argparse.Namespace) -> dict[str, Any]:
    """``{field: value}`` for every :data:`CONFIG_FLAGS` flag that was given (for :meth:`NSTConfig.override`)."""
    return {name: getattr(args, name) for name in CONFIG_FLAGS if getattr(args, name, None) is not None}
