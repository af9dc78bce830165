"""The files of a GAN training run folder (light: the CLIs read them before TensorFlow is imported)."""
from __future__ import annotations

RUN_JSON = "run.json"
TRAINING_IMAGES = "training_images.csv"
#: What a training run writes into its folder (``--overwrite`` removes these and nothing else).
RUN_FILES = (RUN_JSON, TRAINING_IMAGES, "history.csv", "loss_curves.png", "checkpoints", "samples")
