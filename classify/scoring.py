"""Scoring images with a saved classifier: the one way every tool turns a model into class probabilities.

A classifier saved by :func:`save_classifier` carries what it was trained with — the class order of its
outputs, its input size, the resize method and the fit (centre crop or squash) — as ``classify.json`` inside the
``.keras`` file (Keras ignores the extra entry). :func:`predict` feeds images through the same
:mod:`classify.pipeline` the classifier was trained and evaluated with, so ``classify.evaluate``,
pseudo-labelling (:mod:`nst_aug.pseudo_label`) and Path-Rank-Filter (:mod:`gan_aug.path_rank_filter`) all see
exactly the probabilities training reported.

A model without that record (saved by other code) needs its class order from the caller; its input size is read
from the model, the resize method defaults to bilinear and the fit to a centre crop, and a notice says so. A
class order given by the caller that contradicts the record is an error, not a silent relabelling.
"""
from __future__ import annotations

import dataclasses
import json
import os
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from .data import Sample

INFO_ENTRY = "classify.json"


@dataclass(frozen=True)
class ClassifierInfo:
    """What a classifier was trained with: the order of its outputs and how images were prepared for it."""

    classes: tuple[str, ...]
    image_size: int
    resize_method: str = "bilinear"
    fit: str = "crop"
    arch: str = ""
    weights_source: str = ""

    def to_dict(self) -> dict:
        return dataclasses.asdict(self) | {"classes": list(self.classes)}

    @classmethod
    def from_dict(cls, d: dict) -> "ClassifierInfo":
        known = {f.name for f in dataclasses.fields(cls)}
        d = {k: v for k, v in d.items() if k in known}
        return cls(**{**d, "classes": tuple(d["classes"]), "image_size": int(d["image_size"])})


@dataclass
class Classifier:
    """A Keras model with its :class:`ClassifierInfo` (and the file it came from, if any)."""

    model: object
    info: ClassifierInfo
    path: Path | None = None


@dataclass
class Prediction:
    """``probs[i]`` = class probabilities (in ``classes`` order) of ``samples[i]``; ``skipped`` = one-line
    reasons for the images that could not be decoded (they have no row)."""

    probs: np.ndarray
    samples: list[Sample]
    classes: tuple[str, ...]
    skipped: list[str] = field(default_factory=list)

    def labels(self) -> np.ndarray:
        """The samples' labels as class indices (``ValueError`` for a label not among the classes)."""
        from .pipeline import encode_labels

        return encode_labels(self.samples, self.classes)


def save_classifier(model, path: str | os.PathLike, info: ClassifierInfo) -> Path:
    """``model.save`` to ``path`` (``.keras``) with ``info`` inside, atomically (temporary file, then rename)."""
    from .files import atomic_path

    path = Path(path)
    if path.suffix != ".keras":
        raise ValueError(f"{path}: a classifier is saved as a .keras file")
    with atomic_path(path, suffix=".keras") as tmp:
        model.save(tmp)
        with zipfile.ZipFile(tmp, "a") as z:
            z.writestr(INFO_ENTRY, json.dumps(info.to_dict(), indent=2))
    return path


def read_info(path: str | os.PathLike) -> ClassifierInfo | None:
    """The :class:`ClassifierInfo` stored in a ``.keras`` file, or ``None`` when it holds none."""
    try:
        with zipfile.ZipFile(path) as z:
            if INFO_ENTRY not in z.namelist():
                return None
            return ClassifierInfo.from_dict(json.loads(z.read(INFO_ENTRY)))
    except zipfile.BadZipFile:
        raise ValueError(f"{path}: not a .keras model file") from None


def check_classes(recorded: Sequence[str], given: Sequence[str] | None, where: str = "the model") -> None:
    """``ValueError`` when a class order given by the user differs from the recorded one."""
    if given and tuple(given) != tuple(recorded):
        raise ValueError(f"classes {','.join(given)} contradict {where}'s recorded class order "
                         f"{','.join(recorded)} (leave the classes out to use the recorded order)")


def load_classifier(path: str | os.PathLike, classes: Sequence[str] | None = None) -> Classifier:
    """Load a classifier for prediction (not compiled) with its record.

    ``classes``: optional; must equal the recorded order when the model has a record, and is required when it
    has none. Every module that registers a custom layer is imported first, so any tool can load any
    ``classify`` model.
    """
    import keras

    from . import augment, models, training  # noqa: F401  (they register their serialisable classes)

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no saved classifier (classify.train writes OUT/model.keras)")
    info = read_info(path)
    if info is not None:
        check_classes(info.classes, classes, path.name)  # before the (slow) model load
    try:
        model = keras.saving.load_model(path, compile=False)
    except Exception as err:  # Keras raises many kinds for a file it cannot read
        raise ValueError(f"{path}: cannot load the model ({type(err).__name__}: {str(err)[:200]})") from None
    if info is None:
        if not classes:
            raise ValueError(f"{path} records no class order: give the classes in the model's output order")
        size = int(model.input_shape[1])
        print(f"notice: {path.name} holds no classify record; scoring at its input size {size} px, bilinear, "
              f"centre crop, classes {','.join(classes)}")
        info = ClassifierInfo(tuple(classes), size)
    n_out = int(model.output_shape[-1])
    if n_out != len(info.classes):
        raise ValueError(f"{path}: the model has {n_out} outputs but {len(info.classes)} classes "
                         f"({','.join(info.classes)})")
    return Classifier(model, info, path)


def predict(classifier: Classifier, samples: Sequence[Sample], batch_size: int = 32, progress: bool = True,
            desc: str = "scoring") -> Prediction:
    """Class probabilities of ``classifier`` for ``samples``, prepared as the classifier was trained
    (size, resize method, fit from its record; :func:`classify.pipeline.make_dataset`).

    Images that cannot be read are left out with their reason in ``Prediction.skipped``. ``progress`` shows a
    bar over the batches.
    """
    from tqdm.auto import tqdm

    from .pipeline import make_dataset, scan_samples

    info = classifier.info
    kept, flags, skipped = scan_samples(list(samples), progress=progress, desc="checking images")
    if not kept:
        return Prediction(np.zeros((0, len(info.classes))), [], info.classes, skipped)
    index = np.arange(len(kept), dtype=np.int32)
    ds = make_dataset(kept, info.classes, info.image_size, batch_size, info.resize_method, info.fit, cache=False,
                      safe_flags=flags, labels=index)
    probs, seen = [], []
    bar = tqdm(total=len(kept), unit="img", desc=desc, disable=not progress, leave=False)
    for x, i in ds:
        probs.append(np.asarray(classifier.model.predict_on_batch(x), dtype=float))
        seen.append(i.numpy())
        bar.update(len(seen[-1]))
    bar.close()
    seen_idx = np.concatenate(seen) if seen else np.zeros(0, int)
    lost = sorted(set(range(len(kept))) - set(seen_idx.tolist()))
    skipped += [f"{kept[j].path}: could not be decoded" for j in lost]
    out = np.concatenate(probs) if probs else np.zeros((0, len(info.classes)))
    return Prediction(out, [kept[j] for j in seen_idx], info.classes, skipped)
