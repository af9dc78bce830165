"""Datasets as lists of :class:`Sample`: the ISIC 2019 CSV layout, class-per-folder trees, generator manifests.

A dataset here is just a list of ``Sample(path, label, source, style)``. Readers never decode images (that is
the pipeline's job, :mod:`classify.pipeline`); they check that files exist and report what they skip as one-line
reasons, so a user sees *why* 3 of 370 images are missing instead of a crash half-way through an epoch.

- ISIC 2019 ground truth (thesis §5, Mikołajczyk §IV): ``image,MEL,NV,BCC,AK,BKL,DF,VASC,SCC,UNK`` with one-hot
  (float) columns; the label is the column that holds 1.
- Class-per-folder trees (Caltech-101 for Gauld): ``ROOT/<class>/<image>``.
- Generator manifests (DESIGN.md): ``OUT/manifest.csv`` rows whose ``source``/``style`` are the real images a
  synthetic image derives from, and whose ``depends_on`` names the list of real images its generator was
  trained on (GANs); :attr:`Sample.groups` turns them into the group keys the splits honour.
- Image lists: any CSV with a ``path`` column (and ``label``, and ``part`` for a split file), e.g. the split
  files ``classify`` writes and the selections Path-Rank-Filter writes.

:func:`read_selection` turns the one-string data specs every CLI accepts (an ISIC class name, a manifest, an image
list, a folder, a file or a glob) into samples. The shared development data is never looked for by a machine
path: :func:`shared_data_dir` reads ``$NST_AUG_SHARED_DATA`` only.
"""
from __future__ import annotations

import csv
import glob
import os
from collections import Counter
from functools import lru_cache
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

from .images import IMAGE_EXTENSIONS, is_image_file, name_problem
from .manifest import DEPENDS_COLUMN, MANIFEST_NAME, group_key, manifest_file, read_manifest_rows

#: Environment variable naming a folder laid out like the development data (``isic_uda1/``, ``caltech101/``,
#: ``styles/``, ...). Nothing requires it; tools that can use it say so in their ``--help``.
SHARED_DATA_ENV = "NST_AUG_SHARED_DATA"

#: The ISIC 2019 ground-truth columns after ``image``, in the official order.
ISIC_CLASSES: tuple[str, ...] = ("MEL", "NV", "BCC", "AK", "BKL", "DF", "VASC", "SCC", "UNK")
#: Image folders looked for beside an ISIC CSV, in this order (the second is the official archive's name).
ISIC_IMAGE_FOLDERS = ("images", "ISIC_2019_Training_Input")


@dataclass(frozen=True)
class Sample:
    """One image of a dataset.

    ``path`` is absolute; ``label`` is a class name ('' when unknown); for a synthetic image ``source`` and
    ``style`` are the real images it derives from (manifest columns), '' for real images. ``generated`` marks an
    image read from a generator manifest (a noise-driven GAN image has neither source nor style but is still
    synthetic). ``depends`` holds the :func:`group_key` of every real image its generator was trained on (a
    GAN's training set; empty for NST, whose dependence is ``source`` and ``style``).
    """

    path: str
    label: str
    source: str = ""
    style: str = ""
    generated: bool = False
    depends: tuple[str, ...] = ()

    @property
    def synthetic(self) -> bool:
        """True for a generated image (from a manifest, or with a ``source``/``style``): training only."""
        return bool(self.generated or self.source or self.style)

    @property
    def groups(self) -> tuple[str, ...]:
        """:func:`group_key` of every real image this sample depends on.

        A real image depends on itself; a synthetic one on its non-empty ``source`` and ``style`` and on the
        images its generator saw (``depends``). Two samples that share a group must sit on the same side of a
        train/test boundary (Mikołajczyk §IV.C, "data leakage").
        """
        if not self.synthetic:
            return (group_key(self.path),)
        return tuple(group_key(p) for p in (self.source, self.style) if p) + self.depends


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
    DIR"``, ``"ISIC_9: no class column is 1"``). ``image_dir`` defaults to the first of :data:`ISIC_IMAGE_FOLDERS`
    beside the CSV that exists (``images/``, or the official archive's ``ISIC_2019_Training_Input/``),
    else the CSV's folder. ``classes`` keeps only rows of those classes (e.g. ``("NV", "MEL")``); a name not in
    :data:`ISIC_CLASSES` raises ``ValueError``. ``check_files=False`` skips the existence check (the full ISIC
    2019 CSV without its 9 GB of images): paths are then ``IMAGE_DIR/<image>.jpg``.
    """
    csv_path = Path(csv_path).resolve()
    if not csv_path.is_file():
        raise FileNotFoundError(f"{csv_path}: ISIC ground-truth CSV not found")
    wanted = _check_classes(classes, ISIC_CLASSES, "ISIC 2019 classes are")
    if image_dir is None:
        image_dir = next((csv_path.parent / d for d in ISIC_IMAGE_FOLDERS if (csv_path.parent / d).is_dir()),
                         csv_path.parent)
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
            if None in row.values():  # DictReader fills the missing columns of a short row with None
                skipped.append(f"{image}: the row has {sum(v is not None for v in row.values())} of {len(header)} "
                               f"columns (line {reader.line_num})")
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
        names, bad_names = _listing(folder)
        skipped += bad_names
        images = [n for n in names if is_image_file(n) and (folder / n).is_file()]
        skipped += [f"{folder / n}: not an image file (extension not in {IMAGE_EXTENSIONS})"
                    for n in names if n not in images and (folder / n).is_file()]
        if not images:
            raise ValueError(f"{folder}: class folder '{cls}' holds no images")
        samples += [Sample(str(folder / n), cls) for n in images]
    return samples, skipped


def _listing(folder: Path) -> tuple[list[str], list[str]]:
    """``(names, skipped reasons)`` of a folder's visible entries, sorted; names that are not valid UTF-8 are
    skipped with a reason (they could not be written to a manifest or CSV)."""
    names, skipped = [], []
    for n in sorted(os.listdir(folder)):
        if n.startswith("."):
            continue
        problem = name_problem(folder / n)
        if problem:
            skipped.append(problem)
        else:
            names.append(n)
    return names, skipped


def read_manifest(path: str | os.PathLike, label_column: str = "label") -> tuple[list[Sample], list[str]]:
    """Read a generator manifest (``OUT/manifest.csv`` or the folder OUT) as samples: ``(samples, skipped)``.

    ``output`` must be a path relative to the manifest's folder that stays inside it (a generator writes its
    images into its own folder); ``source`` and ``style`` are kept as written when absolute, else resolved
    relative to the manifest's folder; ``depends_on`` (a CSV with a ``path`` column, relative to the folder or
    absolute) lists the real images the generator was trained on. ``label_column`` picks the label (e.g. a
    pseudo-label column). Skipped, each with a one-line reason: rows whose ``output`` is absolute or escapes the
    folder (``../x.jpg``), whose image file is missing, or whose ``depends_on`` list cannot be read. A missing
    manifest raises ``FileNotFoundError``, a missing ``label_column`` ``ValueError``.
    """
    file = manifest_file(path)
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

    samples: list[Sample] = []
    skipped: list[str] = []
    for r in rows:
        output = (r.get("output") or "").strip()
        if not output:
            continue
        where = f"{file}: row {output!r}"
        if os.path.isabs(output):
            skipped.append(f"{where}: output is an absolute path; a manifest's images lie in its own folder")
            continue
        image = (base / output).resolve()
        if os.path.commonpath([base, image]) != str(base):
            skipped.append(f"{where}: output resolves outside the manifest folder {base}")
            continue
        if not image.is_file():
            skipped.append(f"{where}: image file missing")
            continue
        depends: tuple[str, ...] = ()
        if (r.get(DEPENDS_COLUMN) or "").strip():
            try:
                depends = _image_list_keys(resolve(r[DEPENDS_COLUMN]))
            except (OSError, ValueError) as err:
                skipped.append(f"{where}: its generator's training list is unreadable ({err})")
                continue
        samples.append(Sample(str(image), (r.get(label_column) or "").strip(), resolve(r.get("source", "")),
                              resolve(r.get("style", "")), generated=True, depends=depends))
    return samples, skipped


@lru_cache(maxsize=64)
def _image_list_keys(path: str) -> tuple[str, ...]:
    """Group keys of the images an image list names (read once per file: many rows share one list)."""
    return tuple(group_key(s.path) for s in read_image_list(path))


def read_image_list(path: str | os.PathLike, parts: Iterable[str] | None = None) -> list[Sample]:
    """Samples of a CSV with a ``path`` column (absolute, or relative to the CSV's folder) and optional
    ``label``, ``source``, ``style``, ``generated`` and ``part`` columns: the split files ``classify`` writes
    and image selections (Path-Rank-Filter). ``parts`` keeps only rows of those parts (needs ``part``)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: image list not found")
    base = path.resolve().parent
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        header = reader.fieldnames or []
        if "path" not in header:
            raise ValueError(f"{path}: not an image list (no 'path' column; header {header})")
        wanted = None if parts is None else set(parts)
        if wanted is not None and "part" not in header:
            raise ValueError(f"{path}: not a split file (no 'part' column)")
        rows = [r for r in reader if (r.get("path") or "").strip()
                and (wanted is None or r.get("part") in wanted)]

    def resolve(p: str) -> str:
        p = (p or "").strip()
        return "" if not p else str(Path(p) if os.path.isabs(p) else (base / p).resolve())

    return [Sample(resolve(r["path"]), (r.get("label") or "").strip(), resolve(r.get("source", "")),
                   resolve(r.get("style", "")), generated=r.get("generated") == "1") for r in rows]


def isic_csv_classes(csv_path: str | os.PathLike) -> list[str]:
    """The ISIC 2019 classes that label at least one row of ``csv_path``, in ISIC order (what an error about a
    class the CSV lacks should list)."""
    samples, _ = read_isic_csv(csv_path, check_files=False)
    return class_names(samples, ISIC_CLASSES)


def _looks_like_class(spec: str) -> bool:
    """A bare name (no folder part, no extension, no wildcard): a class name rather than a path."""
    return not any(c in spec for c in "/\\*?[") and not Path(spec).suffix


def read_selection(spec: str, csv_path: str | os.PathLike | None = None, image_dir: str | os.PathLike | None = None,
                   label_column: str = "label", folders: str | os.PathLike | None = None
                   ) -> tuple[list[Sample], list[str]]:
    """The samples one data spec names, as every CLI reads it: ``(samples, skipped)``.

    - an ISIC 2019 class name (``MEL``) when ``csv_path`` is given: that class's rows of the CSV;
    - a class name of a class-folder tree ``folders`` (without ``csv_path``): the images of its sub-folder;
    - a ``.csv`` file: a generator manifest (it has an ``output`` column) or an image list (``path`` column);
    - a folder holding ``manifest.csv``: that manifest; any other folder: the image files in it (not its
      sub-folders), labelled with the folder's name;
    - an image file, or a glob matching image files.

    Raises ``FileNotFoundError`` / ``ValueError`` with a one-line reason when the spec names nothing usable (a
    bare name that is no class of ``csv_path`` or ``folders``: ``unknown class FOO; the CSV … has MEL, NV``).
    """
    if csv_path and spec in ISIC_CLASSES:
        return read_isic_csv(csv_path, image_dir, classes=[spec])
    if folders and not csv_path and (Path(folders) / spec).is_dir():
        spec = str(Path(folders) / spec)
    path = Path(spec)
    if path.is_file() and path.suffix.lower() == ".csv":
        with open(path, newline="", encoding="utf-8-sig") as f:
            header = next(csv.reader(f), [])
        if "output" in header:
            return read_manifest(path, label_column)
        if "path" in header:
            return read_image_list(path), []
        raise ValueError(f"{spec}: a CSV that is neither a manifest ('output' column) nor an image list "
                         f"('path' column)" + ("" if csv_path else "; for an ISIC class name give the ISIC CSV"))
    if path.is_dir():
        if (path / MANIFEST_NAME).is_file():
            return read_manifest(path, label_column)
        names, bad_names = _listing(path)
        files = [n for n in names if (path / n).is_file()]
        images = [n for n in files if is_image_file(n)]
        if not images:
            raise ValueError(f"{spec}: folder holds no images")
        skipped = bad_names + [f"{path / n}: not an image file" for n in files if n not in images]
        label = path.resolve().name
        return [Sample(str((path / n).resolve()), label) for n in images], skipped
    if path.is_file():
        return [Sample(str(path.resolve()), "")], []
    matches = sorted(m for m in glob.glob(spec) if Path(m).is_file() and is_image_file(m))
    if not matches:
        if _looks_like_class(spec) and csv_path:
            raise ValueError(f"unknown class {spec}; the CSV {csv_path} has {', '.join(isic_csv_classes(csv_path))}")
        if _looks_like_class(spec) and folders and Path(folders).is_dir():
            known = sorted(d.name for d in Path(folders).iterdir() if d.is_dir())
            raise ValueError(f"unknown class {spec}; {folders} has class folders {', '.join(known) or '(none)'}")
        hint = " (an ISIC class name needs the ISIC CSV)" if spec in ISIC_CLASSES else ""
        raise FileNotFoundError(f"{spec}: no such file, folder or glob match{hint}")
    bad = [name_problem(m) for m in matches]
    return ([Sample(str(Path(m).resolve()), "") for m, b in zip(matches, bad) if not b], [b for b in bad if b])


def shared_data_dir(explicit: str | os.PathLike | None = None) -> Path | None:
    """The development-data folder: ``explicit`` if given, else ``$NST_AUG_SHARED_DATA``, else ``None``.
    Shipped code never guesses a path: a user's machine has no such folder unless they point at one."""
    value = explicit or os.environ.get(SHARED_DATA_ENV)
    if not value:
        return None
    path = Path(value).expanduser()
    if not path.is_dir():
        raise FileNotFoundError(f"{path}: data folder not found (from {'the command line' if explicit else '$' + SHARED_DATA_ENV})")
    return path.resolve()


def read_groups(metadata_csv: str | os.PathLike, column: str = "lesion_id", key: str = "image") -> dict[str, str]:
    """``{image id: group}`` from a metadata CSV (HAM10000 / ISIC ``metadata.csv``: ``image,lesion_id,…``), for
    splits that keep every image of one lesion on one side (:func:`classify.splits.stratified_split`
    ``group_of``). Rows with an empty group are left out (the image is then its own group)."""
    with open(metadata_csv, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        if not reader.fieldnames or key not in reader.fieldnames or column not in reader.fieldnames:
            raise ValueError(f"{metadata_csv}: needs columns {key!r} and {column!r}; has {reader.fieldnames}")
        return {row[key]: row[column] for row in reader if row.get(column)}


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
