"""The one registry of GAN kinds: everything the training and generation CLIs need to know about a model.

As junyanz's ``models/__init__.py create_model``: one dispatch on the model's name, here :data:`KINDS`, and each
kind brings its own options class (:mod:`gan_aug.options`), its builders, the data it trains on, the rows of its
sample grid and how it makes images. ``gan_aug.train`` and ``gan_aug.generate`` only ever look a kind up here.

==========  ============================  =====================================  ===========================
kind        data (flags)                  generators (exported as .keras)        generation
==========  ============================  =====================================  ===========================
cyclegan    ``--domain-a``, ``--domain-b``  ``gen_ab`` (A→B), ``gen_ba`` (B→A)      translates real images
dcgan       ``--images``                  ``generator``                          from U(-1, 1) / N(0, 1) noise
acgan       ``--classes`` (``--csv`` or     ``generator`` ([noise, class])         from N(0, 1) noise, per class
            ``--folders``)
==========  ============================  =====================================  ===========================
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from . import options as O


@dataclass(frozen=True)
class GANKind:
    """One model kind (module table)."""

    name: str
    options: type
    build: Callable                      # (opts, n_classes) -> compiled-ready GAN model (gan_aug.base.GAN)
    generators: tuple[str, ...]          # attributes of the model holding its generator networks
    data_sets: tuple[str, ...]           # names of the image sets it trains on ("a", "b") or ("images",)
    conditional: bool = False            # generator takes a class index (ACGAN)
    translates: bool = False             # generator maps images to images (CycleGAN)
    description: Callable = str          # (opts) -> the manifest's "backbone" text

    def noise(self, opts, rng: np.random.Generator, n: int) -> np.ndarray:
        """``n`` latent vectors from ``rng``: U(-1, 1) for Cho's DCGAN (``noise="uniform"``), else N(0, 1)."""
        if getattr(opts, "noise", "normal") == "uniform":
            return rng.uniform(-1, 1, (n, opts.latent_dim)).astype("float32")
        return rng.standard_normal((n, opts.latent_dim)).astype("float32")

    def sample_rows(self, opts, data: dict) -> Callable:
        """A function ``model -> rows of images`` over fixed inputs (the same every epoch) for the sample grid:
        CycleGAN real A, G_A(A), G_B(G_A(A)); real B, G_B(B), G_A(G_B(B)). DCGAN one row of fixed noise. ACGAN
        one row per class, the same noise in every row."""
        from .data import center_crop_unit

        if self.translates:
            k = max(1, min(opts.n_samples, len(data["a"]), len(data["b"])))
            a = center_crop_unit(data["a"].images[:k], opts.size)
            b = center_crop_unit(data["b"].images[:k], opts.size)

            def rows(model):
                fb = model.gen_ab(a, training=False)
                fa = model.gen_ba(b, training=False)
                return [a, fb, model.gen_ba(fb, training=False), b, fa, model.gen_ab(fa, training=False)]
            return rows
        z = self.noise(opts, np.random.default_rng([opts.seed, 12345]), opts.n_samples)
        if not self.conditional:
            return lambda model: [model.generator(z, training=False)]
        n_classes = len(data["classes"])
        return lambda model: [model.generator([z, np.full(len(z), c, "int32")], training=False)
                              for c in range(n_classes)]

    def row_names(self, data: dict) -> list[str]:
        """What each row of :meth:`sample_rows` shows (for the grid's labels)."""
        if self.translates:
            (a, real_a), (b, real_b) = (_domain_names(data, side) for side in ("a", "b"))
            return [real_a, f"{a}→{b}", f"{a}→{b}→{a}", real_b, f"{b}→{a}", f"{b}→{a}→{b}"]
        if not self.conditional:
            return [data.get("label") or "generated"]
        return list(data["classes"])


def _domain_names(data: dict, side: str) -> tuple[str, str]:
    """A translation domain's name in the grid, and the name of its own row: 'generated X' for a domain of
    generated images (both rows), else 'X' and 'real X'."""
    label = data.get(f"{side}_label", side.upper())
    if data.get(f"{side}_synthetic"):
        return f"generated {label}", f"generated {label}"
    return label, f"real {label}"


def _build_cyclegan(opts, n_classes: int = 1):
    from .cyclegan import build_cyclegan

    return build_cyclegan(opts)


def _build_dcgan(opts, n_classes: int = 1):
    from .dcgan import build_dcgan

    return build_dcgan(opts)


def _build_acgan(opts, n_classes: int = 1):
    from .acgan import build_acgan

    return build_acgan(opts, n_classes)


KINDS: dict[str, GANKind] = {
    "cyclegan": GANKind("cyclegan", O.CycleGANOptions, _build_cyclegan, ("gen_ab", "gen_ba"), ("a", "b"),
                        translates=True, description=lambda o: f"resnet_{o.n_blocks}blocks"),
    "dcgan": GANKind("dcgan", O.DCGANOptions, _build_dcgan, ("generator",), ("images",),
                     description=lambda o: f"dcgan+{o.discriminator}"),
    "acgan": GANKind("acgan", O.ACGANOptions, _build_acgan, ("generator",), ("images",), conditional=True,
                     description=lambda o: "acgan"),
}


def get_kind(name: str) -> GANKind:
    try:
        return KINDS[name]
    except KeyError:
        raise ValueError(f"unknown GAN kind {name!r}; kinds are {', '.join(KINDS)}") from None
