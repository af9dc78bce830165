"""Datasets as lists of :class:`Sample`: the ISIC 2019 CSV layout, class-per-folder trees, generator manifests.

A dataset here is just a list of ``Sample(path, label, source, style)``. Readers never decode images (that is
the pipeline's job, :mod:`classify.pipeline`); they check that files exist and report what they skip as one-line
reasons, so a user sees *why* 3 of 370 images are missing instead of a crash half-way through an epoch.

- ISIC 2019 ground truth (thesis §5, Mikołajczyk §IV): ``image,MEL,NV,BCC,AK,BKL,DF,VASC,SCC,UNK`` with one-hot
  (float) columns; the label is the column that holds 1.
- Class-per-folder trees (Caltech-101 for Gauld): ``ROOT/<class>/<image>``.
- Generator manifests (DESIGN.md): ``OUT/manifest.csv`` rows whose ``source``/``style`` are the real images a
  synthetic image derives from; :attr:`Sample.groups` turns them into the group keys the splits honour.
"""
from __future__ import annotations

import csv
import os
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

from .images import IMAGE_EXTENSIONS, is_image_file
from .manifest import MANIFEST_NAME, group_key, read_manifest_rows

#: The ISIC 2019 ground-truth columns after ``image``, in the official order.
ISIC_CLASSES: tuple[str, ...] = ("MEL", "NV", "BCC", "AK", "BKL", "DF", "VASC", "SCC", "UNK")


@dataclass(frozen=True)
class Sample:
    """One image of a dataset.

    ``path`` is absolute; ``label`` is a class name ('' when unknown); for a synthetic image ``source`` and
    ``style`` are the real images it derives from (manifest columns), '' for real images. ``generated`` marks an
    image read from a generator manifest (a noise-driven GAN image has neither source nor style but is still
    synthetic).
    """

    path: str
    label: str
    source: str = ""
    style: str = ""
    generated: bool = False

    @property
    def synthetic(self) -> bool:
        """True for a generated image (from a manifest, or with a ``source``/``style``): training only."""
        return bool(self.generated or self.source or self.style)

    @property
    def groups(self) -> tuple[str, ...]:
        """:func:`group_key` of every real image this sample depends on.

        A real image depends on itself; a synthetic one on its non-empty ``source`` and ``style``. Two samples
        that share a group must sit on the same side of a train/test boundary (Mikołajczyk §IV.C, "data leakage").
        """
        if not self.synthetic:
            return (group_key(self.path),)
        return tuple(group_key(p) for p in (self.source, self.style) if p)


def _check_classes(classes: Iterable[str] | None, known: Sequence[str], what: str) -> tuple[str, ...] | None:
    if classes is None:
        return None
    classes = tuple(classes)
    unknown = [c for c in classes if c not in known]
    if unknown:
        raise ValueError(f"unknown class(es) {unknown}; {what}: {', '.join(known)}")
    if not classes:
        raise ValueError(f"no classes given; {what}: {', '.join(known)}")
    return classes


def _image_index(image_dir: Path) -> dict[str, str]:
    """Map image stem (and stem without ``_downsampled``) to file name, listing the folder once."""
    index: dict[str, str] = {}
    if not image_dir.is_dir():
        return index
    for name in os.listdir(image_dir):
        if not is_image_file(name):
            continue
        stem = os.path.splitext(name)[0]
        index.setdefault(stem, name)
        if stem.endswith("_downsampled"):  # some ISIC 2019 files are named ISIC_XXXXXXX_downsampled.jpg
            index.setdefault(stem[: -len("_downsampled")], name)
    return index


def read_isic_csv(
    csv_path: str | os.PathLike,
    image_dir: str | os.PathLike | None = None,
    classes: Iterable[str] | None = None,
    check_files: bool = True,
) -> tuple[list[Sample], list[str]]:
    """Read an ISIC 2019 ground-truth CSV (``image,MEL,NV,...,UNK``, one-hot) as samples.

    Returns ``(samples, skipped)``: ``skipped`` holds one-line reasons (``"ISIC_123: image file missing in
    DIR"``, ``"ISIC_9: no class column is 1"``). ``image_dir`` defaults to ``CSV_FOLDER/images`` when that exists,
    else the CSV's folder. ``classes`` keeps only rows of those classes (e.g. ``("NV", "MEL")``); a name not in
    :data:`ISIC_CLASSES` raises ``ValueError``. ``check_files=False`` skips the existence check (the full ISIC
    2019 CSV without its 9 GB of images): paths are then ``IMAGE_DIR/<image>.jpg``.
    """
    csv_path = Path(csv_path).resolve()
    if not csv_path.is_file():
        raise FileNotFoundError(f"{csv_path}: ISIC ground-truth CSV not found")
    wanted = _check_classes(classes, ISIC_CLASSES, "ISIC 2019 classes are")
    if image_dir is None:
        image_dir = csv_path.parent / "images" if (csv_path.parent / "images").is_dir() else csv_path.parent
    image_dir = Path(image_dir).resolve()
    if check_files and not image_dir.is_dir():
        raise FileNotFoundError(f"{image_dir}: image folder not found")
    index = _image_index(image_dir) if check_files else {}

    samples: list[Sample] = []
    skipped: list[str] = []
    with open(csv_path, newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        header = reader.fieldnames or []
        if "image" not in header:
            raise ValueError(f"{csv_path}: not an ISIC ground-truth CSV (no 'image' column; header {header})")
        columns = [c for c in ISIC_CLASSES if c in header]
        if not columns:
            raise ValueError(f"{csv_path}: none of the class columns {', '.join(ISIC_CLASSES)} in header {header}")
        for row in reader:
            image = (row.get("image") or "").strip()
            if not image:
                continue
            try:
                hot = [c for c in columns if float(row.get(c) or 0) == 1.0]
            except ValueError:
                skipped.append(f"{image}: non-numeric class value")
                continue
            if len(hot) != 1:
                skipped.append(f"{image}: {'no' if not hot else len(hot)} class column(s) equal 1")
                continue
            label = hot[0]
            if wanted is not None and label not in wanted:
                continue
            if check_files:
                name = index.get(image)
                if name is None:
                    skipped.append(f"{image}: image file missing in {image_dir}")
                    continue
                path = image_dir / name
            else:
                path = image_dir / f"{image}.jpg"
            samples.append(Sample(str(path), label))
    return samples, skipped


def read_class_folders(
    root: str | os.PathLike, classes: Iterable[str] | None = None
) -> tuple[list[Sample], list[str]]:
    """Read a class-per-folder tree ``ROOT/<class>/<image>`` (Caltech-101's layout) as samples.

    Returns ``(samples, skipped)`` where ``skipped`` names non-image files. Classes are the sub-folders (sorted);
    ``classes`` restricts them and an unknown name raises ``ValueError`` listing the folders found. A selected
    class folder without images raises ``ValueError``. Hidden files and folders are ignored.
    """
    root = Path(root).resolve()
    if not root.is_dir():
        raise FileNotFoundError(f"{root}: folder not found")
    found = sorted(d.name for d in root.iterdir() if d.is_dir() and not d.name.startswith("."))
    if not found:
        raise ValueError(f"{root}: no class sub-folders (expected ROOT/<class>/<image>)")
    selected = _check_classes(classes, found, f"folders in {root} are") or tuple(found)
    samples: list[Sample] = []
    skipped: list[str] = []
    for cls in selected:
        folder = root / cls
        names = sorted(n for n in os.listdir(folder) if not n.startswith("."))
        images = [n for n in names if is_image_file(n) and (folder / n).is_file()]
        skipped += [f"{folder / n}: not an image file (extension not in {IMAGE_EXTENSIONS})"
                    for n in names if n not in images and (folder / n).is_file()]
        if not images:
            raise ValueError(f"{folder}: class folder '{cls}' holds no images")
        samples += [Sample(str(folder / n), cls) for n in images]
    return samples, skipped


def read_manifest(path: str | os.PathLike, label_column: str = "label") -> list[Sample]:
    """Read a generator manifest (``OUT/manifest.csv`` or the folder OUT) as samples.

    ``output`` paths are resolved relative to the manifest's folder; ``source`` and ``style`` are kept as written
    when absolute, else resolved relative to the manifest's folder too. ``label_column`` picks the label (e.g. a
    pseudo-label column). A missing manifest raises ``FileNotFoundError``.
    """
    path = Path(path)
    file = path / MANIFEST_NAME if path.is_dir() else path
    if not file.is_file():
        raise FileNotFoundError(f"{file}: manifest not found")
    base = file.resolve().parent
    rows = read_manifest_rows(file)
    if rows and label_column not in rows[0]:
        raise ValueError(f"{file}: no column {label_column!r} (columns: {', '.join(rows[0])})")

    def resolve(p: str) -> str:
        p = (p or "").strip()
        if not p:
            return ""
        return str(Path(p) if os.path.isabs(p) else (base / p).resolve())

    return [
        Sample(resolve(r["output"]), (r.get(label_column) or "").strip(), resolve(r.get("source", "")),
               resolve(r.get("style", "")), generated=True)
        for r in rows
        if (r.get("output") or "").strip()
    ]


def class_counts(samples: Iterable[Sample]) -> dict[str, int]:
    """Number of samples per label, labels sorted by name."""
    counts = Counter(s.label for s in samples)
    return {k: counts[k] for k in sorted(counts)}


def class_names(samples: Iterable[Sample], order: Sequence[str] | None = None) -> list[str]:
    """The labels present in ``samples`` ('' excluded), in ``order`` when given (e.g. ISIC_CLASSES), else sorted."""
    present = {s.label for s in samples if s.label}
    if order is not None:
        return [c for c in order if c in present] + sorted(present - set(order))
    return sorted(present)
