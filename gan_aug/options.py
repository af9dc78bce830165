"""Every default of the three GANs in one place, each with its source (junyanz-style options).

One frozen dataclass per model. Each field's ``metadata`` holds ``help`` and ``source`` (the paper section or
reference implementation the default comes from, or "ours" where all are silent). The training CLI builds its
arguments from these fields, prints the options with non-defaults flagged (``[default: ...]``,
:func:`classify.cli.format_options`) and saves them to ``run.json`` next to the results, as junyanz's
``BaseOptions.print_options`` does.
"""
from __future__ import annotations

import argparse
import dataclasses
from dataclasses import dataclass, field, fields
from typing import Any

from classify.choices import DISTRIBUTE
from classify.images import RESAMPLE as IMAGE_RESAMPLE


#: Fields checked as image sides (:data:`classify.choices.SIZE_RANGE`); other ints must be >= 1 unless listed.
SIZE_FIELDS = ("size", "load_size")
#: The resize filters of the toolkit's image loader.
RESAMPLE = tuple(IMAGE_RESAMPLE)


def opt(default, help: str, source: str, **kw):
    """A dataclass field with its help text and the source of its default."""
    return field(default=default, metadata={"help": help, "source": source, **kw})


@dataclass(frozen=True)
class TrainOptions:
    """Options every model shares."""

    epochs: int = opt(200, "total number of epochs", "junyanz n_epochs + n_epochs_decay (100 + 100)")
    batch_size: int = opt(1, "images per step", "Zhu et al. §4 / junyanz --batch_size 1")
    lr: float = opt(2e-4, "Adam learning rate", "Zhu et al. §4; Radford et al. §4")
    beta_1: float = opt(0.5, "Adam beta_1", "Zhu et al. §4 / junyanz --beta1; Radford et al. §4")
    beta_2: float = opt(0.999, "Adam beta_2", "junyanz (torch default betas=(beta1, 0.999))")
    seed: int = opt(0, "seed of weights, data order, augmentation, noise and the image pool", "ours")
    save_every: int = opt(5, "checkpoint every N epochs (and at the end)", "junyanz --save_epoch_freq 5")
    n_samples: int = opt(8, "images in the per-epoch sample grid (fixed noise / inputs)", "ours")
    jit_compile: bool = opt(False, "XLA-compile the train step (minutes to compile; measured 4x slower than a "
                                   "plain tf.function on a 2-core CPU, see tests/benchmarks/bench_gan.py; try it "
                                   "on GPU)", "ours (Keras disables XLA on CPU-only machines too)")
    precision: str = opt("float32", "compute dtype: float32, or mixed precision bfloat16 / float16 (weights, "
                                    "optimizer state and losses stay float32); auto = float16 on a GPU, bfloat16 "
                                    "on a CPU with bfloat16 units, else float32. bfloat16 ran CycleGAN steps "
                                    "1.49x faster than float32 on a 2-core AVX512-BF16 CPU and 1.7x with AMX "
                                    "(float32 with Winograd convolutions), and is slower where bfloat16 is "
                                    "emulated (tests/benchmarks/bench_gan.py)",
                         "ours (the papers and reference code train in float32)",
                         choices=("float32", "bfloat16", "float16", "auto"))
    run_eagerly: bool = opt(False, "run the train step eagerly (debugging; quickest for tiny test models)", "ours")
    distribute: str = opt("none", "tf.distribute: mirrored = every local GPU (or logical device), multiworker = "
                                  "several machines (TF_CONFIG); the global batch (batch_size, a multiple of the "
                                  "replicas) is split across them and a step equals one device's step on it",
                          "ours", choices=DISTRIBUTE)

    def __post_init__(self) -> None:
        from classify.choices import SIZE_RANGE

        lo, hi = SIZE_RANGE
        for name in SIZE_FIELDS:
            value = getattr(self, name, None)
            if value is not None and not lo <= value <= hi:
                raise ValueError(f"{name} must be within {lo}..{hi} px, got {value}")
        if getattr(self, "load_size", None) is not None and self.load_size < self.size:
            raise ValueError(f"load_size ({self.load_size}) must be at least size ({self.size}): crops come from it")
        if self.distribute not in DISTRIBUTE:
            raise ValueError(f"distribute must be one of {', '.join(DISTRIBUTE)}, got {self.distribute!r}")
        for name in ("epochs", "batch_size", "save_every"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")


@dataclass(frozen=True)
class CycleGANOptions(TrainOptions):
    """CycleGAN (Zhu et al. 2017) with junyanz/pytorch-CycleGAN-and-pix2pix defaults; Cho §III agrees."""

    size: int = opt(256, "crop size = network input", "junyanz --crop_size 256; thesis §6.3 and Cho use 256")
    load_size: int = opt(286, "resize to load_size x load_size before the random crop", "junyanz --load_size 286")
    resample: str = opt("bicubic", "resize filter", "junyanz get_transform (BICUBIC); Cho §III; thesis §5",
                        choices=RESAMPLE)
    flip: bool = opt(True, "random horizontal flip", "junyanz --no_flip off")
    gen_filters: int = opt(64, "generator filters in the first layer", "junyanz --ngf 64")
    n_blocks: int = opt(9, "residual blocks", "junyanz --netG resnet_9blocks; Zhu et al. §7.2 (256 px)")
    n_downsampling: int = opt(2, "stride-2 convs in the encoder (and transposed in the decoder)",
                              "junyanz ResnetGenerator n_downsampling = 2")
    disc_filters: int = opt(64, "discriminator filters in the first layer", "junyanz --ndf 64")
    disc_layers: int = opt(3, "PatchGAN stride-2 layers (3 = 70x70 patches)", "junyanz --netD basic, --n_layers_D 3")
    lambda_cycle: float = opt(10.0, "weight of the cycle loss ||F(G(a)) - a||_1", "Zhu et al. §4 λ = 10")
    lambda_identity: float = opt(0.5, "identity loss weight, as a fraction of lambda_cycle",
                                 "junyanz --lambda_identity 0.5; Zhu et al. §5.2; Cho §III")
    pool_size: int = opt(50, "history of generated images shown to D", "Zhu et al. §4 / junyanz --pool_size 50")
    n_epochs: int = opt(100, "epochs at the initial learning rate", "Zhu et al. §4 / junyanz --n_epochs 100")
    n_epochs_decay: int = opt(100, "epochs of linear decay to zero", "Zhu et al. §4 / junyanz --n_epochs_decay")
    epoch_count: int = opt(1, "junyanz's starting-epoch offset in the decay formula", "junyanz --epoch_count 1")
    gan_mode: str = opt("lsgan", "adversarial loss: lsgan (least squares) or vanilla (BCE)",
                        "Zhu et al. §4 / junyanz --gan_mode lsgan", choices=("lsgan", "vanilla"))


@dataclass(frozen=True)
class DCGANOptions(TrainOptions):
    """DCGAN after Cho §III, with Radford et al. 2016 where Cho is silent."""

    epochs: int = opt(5000, "total number of epochs", "Cho §III 'training was done 5000 epochs'")
    batch_size: int = opt(128, "images per step", "Radford et al. §4 (Cho silent)")
    size: int = opt(256, "output image size", "Cho Fig. 5 (256x256x3)")
    latent_dim: int = opt(125, "noise dimensions", "Cho Fig. 5 (125-d)")
    noise: str = opt("uniform", "noise distribution: uniform U(-1,1) or normal N(0,1)",
                     "Cho Fig. 5 'uniform'; bounds from Radford et al. §4", choices=("uniform", "normal"))
    gen_filters: int = opt(64, "generator filters at size/2 (doubling towards 4x4)", "Radford et al. Fig. 1")
    max_filters: int = opt(512, "cap on filters in any layer", "ours (Radford's 1024 at 4x4 for 64 px)")
    discriminator: str = opt("resnet18", "resnet18 (Cho Table II) or dcgan (Radford; Cho §V recommends it)",
                             "Cho Table II", choices=("resnet18", "dcgan"))
    disc_filters: int = opt(64, "discriminator filters in the first layer", "Cho Table II / Radford")
    label: str = opt("", "class the generated images carry (Cho trains one DCGAN per class)", "Cho §III")
    resample: str = opt("bicubic", "resize filter", "ours (as CycleGAN)", choices=RESAMPLE)
    flip: bool = opt(True, "random horizontal flip", "ours")


@dataclass(frozen=True)
class ACGANOptions(TrainOptions):
    """ACGAN (Odena et al. 2017) as the thesis used it (§4.2.2, §6: 128 px, 8 ISIC classes)."""

    epochs: int = opt(100, "total number of epochs", "ours (thesis silent)")
    batch_size: int = opt(100, "images per step", "Odena et al. appendix (thesis silent)")
    size: int = opt(128, "output image size", "thesis §6.2 '128x128'")
    latent_dim: int = opt(100, "noise dimensions", "Odena et al. appendix (thesis silent)")
    gen_filters: int = opt(64, "generator filters at size/2", "Radford et al. (thesis silent)")
    max_filters: int = opt(512, "cap on filters in any layer", "ours")
    disc_filters: int = opt(64, "discriminator filters in the first layer", "Radford et al. (thesis silent)")
    dropout: float = opt(0.5, "dropout after each discriminator layer", "Odena et al. appendix")
    resample: str = opt("bicubic", "resize filter", "thesis §5 'Bicubic interpolation'", choices=RESAMPLE)
    flip: bool = opt(True, "random horizontal flip", "ours")


OPTIONS = {"cyclegan": CycleGANOptions, "dcgan": DCGANOptions, "acgan": ACGANOptions}


NONNEGATIVE_FIELDS = ("seed", "epoch_count", "n_epochs", "n_epochs_decay", "pool_size", "n_downsampling")


def add_arguments(parser, cls: type) -> None:
    """Add ``--name`` for every field of ``cls`` (booleans get ``--name/--no-name``): image sides checked against
    the toolkit's range, counts ≥ 1 (≥ 0 where 0 means something), enumerated values with ``choices``."""
    from classify.cli import FLAG_ALIASES, nonnegative_int, positive_int, size_arg

    for f in fields(cls):
        flag = "--" + f.name.replace("_", "-")
        text = f"{f.metadata['help']} (default {f.default!r}; {f.metadata['source']})"
        kind = f.type if isinstance(f.type, str) else f.type.__name__
        if kind == "bool":  # --name/--no-name, and the same for each alias (--xla/--no-xla)
            parser.add_argument(flag, *FLAG_ALIASES.get(f.name, ()), dest=f.name,
                                action=argparse.BooleanOptionalAction, default=f.default, help=text)
            continue
        typ = {"int": positive_int, "float": float, "str": str}[kind]
        if f.name in SIZE_FIELDS:
            typ = size_arg
        elif kind == "int" and f.name in NONNEGATIVE_FIELDS:
            typ = nonnegative_int
        parser.add_argument(flag, dest=f.name, type=typ, default=f.default, help=text,
                            choices=f.metadata.get("choices"), metavar=f.name.upper() if not f.metadata.get("choices") else None)


def from_namespace(cls: type, ns: argparse.Namespace | dict):
    """Build ``cls`` from the matching attributes of an argparse namespace or dict."""
    d = vars(ns) if isinstance(ns, argparse.Namespace) else dict(ns)
    return cls(**{f.name: d[f.name] for f in fields(cls) if f.name in d})


def non_defaults(opts) -> dict[str, Any]:
    """The fields whose value differs from the default."""
    return {f.name: getattr(opts, f.name) for f in fields(opts) if getattr(opts, f.name) != f.default}


def defaults(opts) -> dict[str, Any]:
    """Every field's default (for :func:`classify.cli.format_options`)."""
    return {f.name: f.default for f in fields(opts)}


def options_record(opts) -> dict[str, Any]:
    """JSON-able record: values, non-defaults, and every default with its source."""
    return {
        "model_options": type(opts).__name__,
        "options": dataclasses.asdict(opts),
        "non_defaults": non_defaults(opts),
        "defaults": {f.name: {"default": f.default, "source": f.metadata["source"]} for f in fields(opts)},
    }
