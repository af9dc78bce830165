"""What the ``classify`` CLIs share: the data arguments, one-line errors, the options printout.

Every CLI of the toolkit ends a user error (bad argument, unreadable input, a contradiction) in one line
``error: ...`` on stderr and exit status 2 (:func:`run_main`).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, Mapping, Sequence

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


def add_split_selection(p, what: str, default: Sequence[str] = ("train",)) -> None:
    """``--split-file FILE --part PART …``: the one spelling, in every CLI, of "only these parts of a classify
    split" (:func:`classify.splits.select_parts`). ``what`` completes "use only the real images of --part to …"."""
    p.add_argument("--split-file", help=f"a classify split.csv: {what} only the real images of --part "
                                        "(and what was made from them)")
    p.add_argument("--part", nargs="+", default=list(default), choices=("train", "val", "test", "pool"),
                   help=f"split parts (with --split-file; default {' '.join(default)})")


def has_data_args(args: argparse.Namespace) -> bool:
    return any(getattr(args, k, None) for k in ("isic_csv", "folders", "data"))


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


def read_synthetic(manifests: Sequence[str], label_column: str = "label") -> tuple[list[Sample], list[str]]:
    """The labelled images of generator manifests, and the one-line reasons of the rows left out."""
    samples, skipped = [], []
    for m in manifests or ():
        got, bad = read_manifest(m, label_column)
        samples += [s for s in got if s.label]
        skipped += bad + [f"{s.path}: no {label_column!r}" for s in got if not s.label]
    return samples, skipped


def ordered_classes(samples: Sequence[Sample], requested: Sequence[str] | None) -> list[str]:
    """Class order: as requested on the command line, else ISIC order for ISIC labels, else sorted."""
    present = class_names(samples, ISIC_CLASSES if all(s.label in ISIC_CLASSES for s in samples) else None)
    if requested:
        return [c for c in requested if c in present]
    return present


def report_skipped(reasons: Sequence[str], what: str = "skipped", limit: int = 5) -> None:
    """Print the first ``limit`` one-line reasons and how many more there are, on stderr."""
    for reason in reasons[:limit]:
        print(f"{what}: {reason}", file=sys.stderr)
    if len(reasons) > limit:
        print(f"{what}: ... and {len(reasons) - limit} more", file=sys.stderr)


def format_options(values: Mapping[str, Any], defaults: Mapping[str, Any], title: str = "options") -> str:
    """junyanz-style option dump (every CLI prints its options so): one line per option, each non-default
    marked with its default."""
    lines = [f"----------------- {title} -----------------"]
    for k in values:
        v, d = values[k], defaults.get(k)
        lines.append(f"{k:>22}: {v!s:<30}" + (f"\t[default: {d}]" if d != v else ""))
    return "\n".join(lines + ["-" * (36 + len(title))])


def print_options(values: Mapping[str, Any], defaults: Mapping[str, Any], title: str = "options") -> None:
    """Print :func:`format_options`."""
    print(format_options(values, defaults, title))


def run_main(main, argv=None) -> int:
    """Run ``main(argv)``, turning user errors into one line on stderr and exit status 2."""
    from .images import ImageError
    from .weights import WeightsUnavailableError

    try:
        return main(argv) or 0
    except (CLIError, ValueError, FileNotFoundError, ImageError, WeightsUnavailableError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
