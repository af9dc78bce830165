"""The files of a GAN training run folder (light: the CLIs read them before TensorFlow is imported)."""
from __future__ import annotations

from typing import Sequence

RUN_JSON = "run.json"
TRAINING_IMAGES = "training_images.csv"


def run_files(generators: Sequence[str] | None = None) -> tuple[str, ...]:
    """What a training run writes into its folder, in :func:`classify.files.matching_files`' notation
    (``--overwrite`` removes these and nothing else): its records, ``samples/epoch_NNNN.png`` and, in
    ``checkpoints/``, ``epoch_NNNN.npz``, each of ``generators`` (default: those of every GAN kind, so a run of
    another kind in the folder goes too) exported as ``epoch_NNNN_<name>.keras`` and ``latest.json``
    (:class:`gan_aug.callbacks.Checkpoint`). The decoded-image cache ``data/`` stays: it is named by a digest of
    its inputs and reused."""
    if generators is None:
        from .kinds import KINDS

        generators = sorted({g for kind in KINDS.values() for g in kind.generators})
    return (RUN_JSON, TRAINING_IMAGES, "history.csv", "loss_curves.png", "samples/epoch_#.png",
            "checkpoints/latest.json", "checkpoints/epoch_#.npz",
            *(f"checkpoints/epoch_#_{name}.keras" for name in generators))
