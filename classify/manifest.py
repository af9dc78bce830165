"""The manifest: the contract between the generators (``nst_aug``, ``gan_aug``) and ``classify``.

Every generator writes ``OUT/manifest.csv``, one row per image, appended (and flushed to disk) as each image
lands, so a crash loses nothing already written and a re-run can resume. Columns (``MANIFEST_COLUMNS`` first, in
this order, then any generator-specific extras):

- ``output``  path of the generated image, relative to OUT
- ``source``  the real image it was made from (NST content / CycleGAN input); empty for noise-driven GANs
- ``style``   the style image (NST); empty for GANs
- ``label``   the class the image is meant to carry (may be empty, e.g. before pseudo-labelling)
- ``method``  ``nst``, ``dcgan``, ``acgan``, ``cyclegan``, ...
- ``preset``, ``backbone``, ``weights``, ``size``, ``steps``, ``seed``  the parameters that made it
- ``content_loss``, ``style_loss``, ``tv_loss``, ``total_loss``  final losses where they exist
- ``seconds``  wall time spent on this image (batch time / batch size for batched generators)
- ``depends_on`` (GANs) an image list (CSV with a ``path`` column) of the real images the generator was trained
  on: every image it makes depends on all of them

``classify`` reads a manifest as a dataset and uses ``source``/``style`` as *groups*: an image derived from a
real image that sits in validation or test must never be in training (Mikołajczyk & Grochowski §IV.C).
"""
from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import Iterable, Mapping, Sequence

from .files import write_csv

MANIFEST_NAME = "manifest.csv"
#: The manifest column naming a generator's training-image list (see the module docstring).
DEPENDS_COLUMN = "depends_on"

MANIFEST_COLUMNS: tuple[str, ...] = (
    "output", "source", "style", "label", "method", "preset", "backbone", "weights", "size", "steps", "seed",
    "content_loss", "style_loss", "tv_loss", "total_loss", "seconds",
)


def group_key(path: str | os.PathLike) -> str:
    """Canonical identity of a real image, used to compare ``source``/``style`` with dataset paths."""
    return os.path.normcase(os.path.realpath(os.fspath(path)))


def manifest_file(path: str | os.PathLike) -> Path:
    """``path`` itself, or ``path/manifest.csv`` when ``path`` is a folder."""
    path = Path(path)
    return path / MANIFEST_NAME if path.is_dir() else path


def read_manifest_rows(path: str | os.PathLike) -> list[dict[str, str]]:
    """Read a manifest (a file, or a folder holding ``manifest.csv``) as a list of row dicts.

    A last line cut short by a crash (fewer fields than the header) is dropped; everything before it is kept.
    """
    path = manifest_file(path)
    if not path.exists():
        return []
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        rows = []
        for row in reader:
            if None in row.values() or None in row:  # truncated or over-long line
                continue
            rows.append(row)
    return rows


def manifest_columns(path: str | os.PathLike) -> list[str]:
    """The header of a manifest file ([] when it is missing or empty)."""
    path = manifest_file(path)
    if not path.is_file():
        return []
    with open(path, newline="", encoding="utf-8") as f:
        return next(csv.reader(f), [])


def write_manifest(path: str | os.PathLike, rows: Iterable[Mapping[str, object]], columns: Sequence[str]) -> Path:
    """Write a whole manifest at once, atomically (a reader sees the old file or the complete new one): for
    rewriting one (dropping rows, adding columns) or writing a merge."""
    return write_csv(path, list(columns), rows)


def remove_listed_outputs(folder: str | os.PathLike, names: Sequence[str] = (MANIFEST_NAME,)) -> int:
    """Delete the images that ``folder``'s own manifests (``names``, in :func:`classify.files.matching_files`'
    notation, e.g. ``manifest-shard#of#.csv``) list inside ``folder``, then those manifests and the folders left
    empty: what a generator wrote there, and nothing else (``--overwrite``; a ``manifest_mine.csv`` is not one of
    its manifests). Returns how many images were deleted."""
    from .files import matching_files, remove_paths, remove_temporaries

    out = Path(folder)
    base = out.resolve()
    manifests = matching_files(out, names)
    images: dict[Path, None] = {}
    for manifest in manifests:
        for row in read_manifest_rows(manifest):
            image = (out / row.get("output", "")).resolve()
            if image != base and os.path.commonpath([base, image]) == str(base) and image.is_file():
                images[image] = None
    n = remove_paths(out, images)
    remove_paths(out, manifests)
    remove_temporaries(out)
    return n


def merge_manifests(sources: Sequence[str | os.PathLike], target: str | os.PathLike,
                    order_by: str | None = None) -> int:
    """Combine manifests into ``target`` (a manifest file) and return its number of rows.

    Rows whose image exists are kept, once per image (the first wins, after sorting by the integer column
    ``order_by`` when given); ``output`` is re-pointed relative to the target's folder. An image that lies
    outside that folder is hard-linked (copied where links are impossible) into ``TARGET_DIR/<its manifest's
    folder name>/`` so the merged manifest, like any manifest, only names images inside its own folder. The
    columns are the union, in first-seen order. Rewritten atomically.
    """
    import shutil

    target = Path(target)
    base = target.parent.resolve()
    base.mkdir(parents=True, exist_ok=True)
    columns: list[str] = []
    rows: list[dict[str, str]] = []
    for src in map(Path, sources):
        folder = src.resolve().parent
        columns += [c for c in manifest_columns(src) if c not in columns]
        for r in read_manifest_rows(src):
            image = folder / r["output"]
            if not image.is_file():
                continue
            if os.path.commonpath([base, image.resolve()]) != str(base):
                inside = base / folder.name / r["output"]
                if not inside.is_file():
                    inside.parent.mkdir(parents=True, exist_ok=True)
                    try:
                        os.link(image, inside)
                    except OSError:
                        shutil.copy2(image, inside)
                image = inside
            rows.append(dict(r, output=os.path.relpath(image, base)))
    if order_by:
        rows.sort(key=lambda r: int(r.get(order_by) or 0))
    seen: set[str] = set()
    unique = [r for r in rows if not (r["output"] in seen or seen.add(r["output"]))]
    write_manifest(target, unique, columns or list(MANIFEST_COLUMNS))
    return len(unique)


class ManifestWriter:
    """Append rows to ``OUT/manifest.csv``, each flushed and fsynced before :meth:`write` returns.

    ``name`` lets parallel shards of one run write their own manifests in one folder. The header is written
    when the file is new; when it exists its header must match ``columns`` (a run with
    other columns is a different kind of run: the caller should refuse to mix them). A trailing partial line
    left by a crash is cut off before appending.
    """

    def __init__(self, out_dir: str | os.PathLike, extra_columns: Iterable[str] = (), name: str = MANIFEST_NAME):
        self.path = Path(out_dir) / name
        self.columns = list(MANIFEST_COLUMNS) + [c for c in extra_columns if c not in MANIFEST_COLUMNS]
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.path.exists() and self.path.stat().st_size > 0:
            self._repair_tail()
            with open(self.path, newline="", encoding="utf-8") as f:
                header = next(csv.reader(f), [])
            if header != self.columns:
                raise ValueError(
                    f"{self.path} has columns {header}, this run writes {self.columns}: "
                    "use another output folder or --overwrite"
                )
            self._file = open(self.path, "a", newline="", encoding="utf-8")
            self._writer = csv.DictWriter(self._file, fieldnames=self.columns, extrasaction="ignore")
        else:
            self._file = open(self.path, "w", newline="", encoding="utf-8")
            self._writer = csv.DictWriter(self._file, fieldnames=self.columns, extrasaction="ignore")
            self._writer.writeheader()
            self._sync()

    def _repair_tail(self) -> None:
        """Drop a last line without its newline (the write a crash interrupted)."""
        data = self.path.read_bytes()
        if data and not data.endswith(b"\n"):
            cut = data.rfind(b"\n") + 1
            with open(self.path, "r+b") as f:
                f.truncate(cut)

    def _sync(self) -> None:
        self._file.flush()
        os.fsync(self._file.fileno())

    def write(self, row: Mapping[str, object]) -> None:
        """Append one row (missing columns are left empty; unknown keys raise ``ValueError``)."""
        unknown = set(row) - set(self.columns)
        if unknown:
            raise ValueError(f"unknown manifest columns {sorted(unknown)} (known: {self.columns})")
        self._writer.writerow({k: ("" if row.get(k) is None else row[k]) for k in self.columns})
        self._sync()

    def close(self) -> None:
        if not self._file.closed:
            self._file.close()

    def __enter__(self) -> "ManifestWriter":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
