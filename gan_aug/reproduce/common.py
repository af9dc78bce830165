"""What the GAN drivers share: finding their data, one GAN stage, generated images as samples, GAN quality.

Each stage is a library call that resumes by itself (:func:`gan_aug.training.train_or_resume`,
:func:`gan_aug.generate.generate_images`, :func:`classify.experiment.train_and_evaluate`), so a killed driver,
run again, loses at most the epoch, batch or network in flight.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

import numpy as np

from classify.data import Sample, read_class_folders, read_groups, read_isic_csv, read_manifest
from classify.drivers import Counter, log, make_toy_classes, missing_data, shared_subfolder
from classify.images import usable

CSV_NAME = "ISIC_2019_Training_GroundTruth.csv"


def isic_data(data: str | os.PathLike | None, profile, out: Path
              ) -> tuple[list[Sample], dict[str, str], str, dict[str, str]]:
    """The thesis's images: ``data`` (an ISIC 2019 ground-truth CSV, or a folder holding it with ``images/`` or
    ``ISIC_2019_Training_Input/``; lesion ids from ``metadata.csv`` or ``ISIC_2019_Training_Metadata.csv`` beside
    it); default ``$NST_AUG_SHARED_DATA/isic8_ham10000`` (cpu) or toy class folders
    (smoke). Returns ``(usable samples of the profile's classes, {image id: lesion id}, description, source)``,
    ``source`` being the :class:`gan_aug.data.DataSpec` fields that read the same images (``csv`` or
    ``folders``)."""
    if data is None and profile.name == "smoke":
        root = make_toy_classes(out / "toy", profile.classes, per_class=16, size=48, seed=profile.seed)
        samples, skipped = read_class_folders(root, profile.classes)
        return _usable(samples, skipped), {}, f"toy images ({root})", {"folders": str(root)}
    if data is None:
        if profile.name == "paper":
            raise missing_data("the paper profile needs ISIC 2019 (the ground-truth CSV with its image folder)")
        found = shared_subfolder("isic8_ham10000")
        if found is None:
            raise missing_data("the cpu profile needs ISIC images of the 8 classes (e.g. HAM10000's, with "
                               "metadata.csv holding lesion_id)")
        data = found
    path = Path(data)
    csv = path if path.is_file() else path / CSV_NAME
    if not csv.is_file():
        raise FileNotFoundError(f"--data {data}: no {CSV_NAME} there")
    samples, skipped = read_isic_csv(csv, classes=list(profile.classes))
    # HAM10000's metadata.csv, or ISIC 2019's official ISIC_2019_Training_Metadata.csv (both have lesion_id)
    meta = next((m for m in (csv.parent / "metadata.csv", csv.parent / "ISIC_2019_Training_Metadata.csv")
                 if m.is_file()), None)
    groups = read_groups(meta) if meta else {}
    if profile.max_per_class:
        rng = np.random.default_rng(profile.seed)
        capped = []
        for c in profile.classes:
            of_c = [s for s in samples if s.label == c]
            capped += [of_c[i] for i in sorted(rng.permutation(len(of_c))[:profile.max_per_class])]
        samples = capped
    return (_usable(samples, skipped), groups, f"{csv} ({'lesion groups from ' + meta.name if groups else 'no lesion ids'})",
            {"csv": str(csv)})


def caltech_data(data: str | os.PathLike | None, profile, out: Path) -> tuple[list[Sample], str]:
    """Cho's stand-in classes from Caltech-101 (``data`` = ``101_ObjectCategories``; default the shared copy;
    smoke without it: toy class folders)."""
    root = Path(data) if data else shared_subfolder("caltech101", "101_ObjectCategories")
    if root is None:
        if profile.name != "smoke":
            raise missing_data(f"the {profile.name} profile needs Caltech-101's 101_ObjectCategories")
        root = make_toy_classes(out / "toy", profile.classes, per_class=2 * profile.n_train + 2, size=48,
                                seed=profile.seed)
    samples, skipped = read_class_folders(root, profile.classes)
    return _usable(samples, skipped), str(root)


def _usable(samples: Sequence[Sample], skipped: Sequence[str]) -> list[Sample]:
    kept, bad = usable(samples)
    for reason in list(skipped) + list(bad):
        print(f"skipped: {reason}")
    return kept


def lesion_group(groups: dict[str, str]):
    """``group_of`` for :func:`classify.splits.stratified_split`: an image's lesion id, else the image itself."""
    return lambda s: groups.get(Path(s.path).stem, s.path)


def generated(folder: str | os.PathLike) -> list[Sample]:
    """The images a generation wrote (its manifest), as training samples (synthetic, with their dependencies)."""
    samples, skipped = read_manifest(folder)
    for reason in skipped:
        print(f"skipped: {reason}")
    return samples


def gan_quality(profile, real: Sequence[Sample], fake: Sequence[Sample], test: Sequence[Sample] = (),
                progress: bool = False) -> dict:
    """:func:`gan_aug.quality.evaluate_quality` of ``fake`` against the real training images ``real``
    (GAN-train on ``test``), as a dict of the report's fields (``fd``, ``kid_mean``, …, ``names``: what to
    call them, e.g. "FD-VGG16"); ``progress`` shows the feature passes' bars."""
    import dataclasses

    from gan_aug.quality import evaluate_quality

    report = evaluate_quality([s.path for s in real], [s.label for s in real], [s.path for s in fake],
                              [s.label for s in fake], [s.path for s in test] or None,
                              [s.label for s in test] or None, backbone=profile.quality_backbone,
                              weights=profile.quality_weights, size=profile.quality_size, seed=profile.seed,
                              progress=progress)
    return dataclasses.asdict(report)


__all__ = ["Counter", "log", "isic_data", "caltech_data", "lesion_group", "generated", "gan_quality"]
