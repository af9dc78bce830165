"""What ``classify.train`` and ``classify.evaluate`` share: data-source arguments, run options, split files.

A run folder holds ``run.json`` (every option, the non-default ones listed under ``"changed"``, library versions,
the classes and weights used) and ``split.csv`` (``path,label,source,style,part``) so a later evaluation uses
exactly the same test images.
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import sys
from pathlib import Path
from typing import Sequence

from .data import ISIC_CLASSES, Sample, class_names, read_class_folders, read_isic_csv, read_manifest


class CLIError(Exception):
    """A user error: printed as one line ``error: ...`` with exit status 2."""


def add_data_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("data (default: the embedded 10-image ISIC sample, classify.samples)")
    g.add_argument("--isic-csv", help="ISIC 2019 ground-truth CSV (image,MEL,NV,...,UNK one-hot)")
    g.add_argument("--images", help="image folder for --isic-csv (default: CSV folder/images)")
    g.add_argument("--folders", help="class-per-folder tree ROOT/<class>/<image> (e.g. Caltech-101)")
    g.add_argument("--data", help="shortcut: a folder holding ISIC_2019_Training_GroundTruth.csv, or a class-folder tree")
    g.add_argument("--classes", nargs="+", help="keep only these classes (e.g. NV MEL)")


def load_real_samples(args: argparse.Namespace) -> tuple[list[Sample], list[str], str]:
    """``(samples, skipped, description)`` from the data arguments."""
    csv_path, folders = args.isic_csv, args.folders
    if args.data:
        d = Path(args.data)
        if not d.exists():
            raise CLIError(f"--data {d}: not found")
        if d.is_file() and d.suffix.lower() == ".csv":
            csv_path = str(d)
        elif (d / "ISIC_2019_Training_GroundTruth.csv").is_file():
            csv_path = str(d / "ISIC_2019_Training_GroundTruth.csv")
        else:
            folders = str(d)
    if csv_path and folders:
        raise CLIError("give either an ISIC CSV or a class-folder tree, not both")
    if folders:
        samples, skipped = read_class_folders(folders, args.classes)
        return samples, skipped, f"class folders {Path(folders).resolve()}"
    if not csv_path:
        from .samples import ISIC_SAMPLE_CSV
        csv_path = str(ISIC_SAMPLE_CSV)
    samples, skipped = read_isic_csv(csv_path, args.images, args.classes)
    return samples, skipped, f"ISIC CSV {Path(csv_path).resolve()}"


def ordered_classes(samples: Sequence[Sample], requested: Sequence[str] | None) -> list[str]:
    """Class order: as requested on the command line, else ISIC order for ISIC labels, else sorted."""
    present = class_names(samples, ISIC_CLASSES if all(s.label in ISIC_CLASSES for s in samples) else None)
    if requested:
        return [c for c in requested if c in present]
    return present


def positive_index(classes: Sequence[str]) -> int:
    """The positive class of a binary task: MEL when present (melanoma detection), else the second class."""
    return classes.index("MEL") if "MEL" in classes else min(1, len(classes) - 1)


def read_synthetic(manifests: Sequence[str], label_column: str) -> list[Sample]:
    out: list[Sample] = []
    for m in manifests or ():
        samples = read_manifest(m, label_column)
        missing = [s.path for s in samples if not Path(s.path).is_file()]
        if missing:
            print(f"warning: {len(missing)} manifest images missing (first: {missing[0]})", file=sys.stderr)
        out += [s for s in samples if Path(s.path).is_file() and s.label]
    return out


def save_run_options(out: Path, args: argparse.Namespace, parser: argparse.ArgumentParser, **extra) -> dict:
    """Write ``OUT/run.json``: options, which differ from the defaults, versions, and ``extra``."""
    import keras
    import tensorflow as tf
    options = vars(args).copy()
    changed = {k: v for k, v in options.items() if parser.get_default(k) != v}
    payload = {"command": " ".join([Path(sys.argv[0]).name] + sys.argv[1:]), "options": options, "changed": changed,
               "versions": {"python": platform.python_version(), "tensorflow": tf.__version__,
                            "keras": keras.__version__}, **extra}
    out.mkdir(parents=True, exist_ok=True)
    (out / "run.json").write_text(json.dumps(payload, indent=2, default=str))
    return payload


def print_options(args: argparse.Namespace, parser: argparse.ArgumentParser) -> None:
    """junyanz-style option dump: non-defaults marked with their default."""
    print("----------------- options -----------------")
    for k, v in sorted(vars(args).items()):
        d = parser.get_default(k)
        print(f"{k:>22}: {v!s:<30}" + (f"\t[default: {d}]" if d != v else ""))
    print("-------------------------------------------")


def write_split(path: Path, parts: dict[str, Sequence[Sample]]) -> None:
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["path", "label", "source", "style", "generated", "part"])
        for part, samples in parts.items():
            for s in samples:
                w.writerow([s.path, s.label, s.source, s.style, int(s.generated), part])


def read_split(path: str | os.PathLike, part: str | None = None) -> list[Sample]:
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    if rows and "part" not in rows[0]:
        raise CLIError(f"{path}: not a split file (no 'part' column)")
    return [Sample(r["path"], r["label"], r.get("source", ""), r.get("style", ""), r.get("generated") == "1")
            for r in rows if part is None or r["part"] == part]


def run_main(main, argv=None) -> int:
    """Run ``main(argv)``, turning user errors into one line on stderr and exit status 2."""
    from .images import ImageError
    try:
        return main(argv) or 0
    except (CLIError, ValueError, FileNotFoundError, ImageError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
