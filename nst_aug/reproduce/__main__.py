"""``python -m nst_aug.reproduce {mikolajczyk,gauld,shinde} [--profile smoke|cpu|paper] [--out DIR] [--data PATH]``

The command line every driver shares (:func:`classify.drivers.reproduce_parser`) plus ``--style`` (Gauld, Shinde).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Sequence

from classify.cli import CLIError, run_main
from classify.drivers import reproduce_parser, run_reproduction

ISIC_CSV = "ISIC_2019_Training_GroundTruth.csv"


def build_parser() -> argparse.ArgumentParser:
    p = reproduce_parser(
        "python -m nst_aug.reproduce",
        "Reproduce Mikołajczyk & Grochowski (Table I) or Gauld end to end, or run our experiment on Shinde's "
        "proposal (saliency/occlusion-selected and blended styles on Gauld's setup); every stage is cached in --out "
        "(re-running resumes).", ("mikolajczyk", "gauld", "shinde"),
        "mikolajczyk: ISIC 2019 CSV or its folder (smoke default: the embedded sample; cpu/paper: "
        "$NST_AUG_SHARED_DATA/isic_uda1 when that variable is set). gauld, shinde: Caltech-101 101_ObjectCategories "
        "(default $NST_AUG_SHARED_DATA/caltech101/...; smoke without it: synthetic stand-in images)")
    p.add_argument("--style", default=None, metavar="FILE", help="gauld, shinde: style image (default: Kandinsky's Composition VII)")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """The command line (default ``sys.argv[1:]``) → exit status (errors: one line, status 2)."""
    return run_main(_main, argv)


def _run(profile, out, args) -> dict:
    """The paper's driver; progress bars unless ``--quiet``."""
    if args.paper == "mikolajczyk":
        from .mikolajczyk import run
        return run(profile, out, args.data, progress=not args.quiet)
    if args.paper == "shinde":
        from .shinde import run
        return run(profile, out, args.data, args.style, progress=not args.quiet)
    from .gauld import run
    return run(profile, out, args.data, args.style, progress=not args.quiet)


def _check(profile, args) -> None:
    """Checked before any work: the profile's NST settings (``--set nst_…`` values the engine refuses, such as
    ``nst_optimizer=sgd``), and what ``--data`` must hold: mikolajczyk an ISIC 2019 ground-truth CSV (or a folder
    holding it); gauld and shinde a folder per class of the profile (Caltech-101's ``101_ObjectCategories``)."""
    from . import gauld, mikolajczyk, shinde

    try:
        if args.paper == "gauld":
            for strength in profile.strengths:
                gauld.nst_config(profile, strength)
        elif args.paper == "shinde":
            shinde.nst_config(profile)
        else:
            mikolajczyk.nst_config(profile)
    except (ValueError, TypeError) as err:
        raise CLIError(f"--set: the profile's NST settings are refused: {err}") from None
    if args.data is None:
        return
    data = Path(args.data)
    if args.paper == "mikolajczyk":
        if not (data.is_file() or (data / ISIC_CSV).is_file()):
            raise CLIError(f"--data {data}: no {ISIC_CSV} there")
        return
    missing = [c for c in profile.classes if not (data / c).is_dir()]
    if missing:
        raise CLIError(f"--data {data}: no class folder {', '.join(missing)} (give Caltech-101's "
                       "101_ObjectCategories)")


def _main(argv: Sequence[str]) -> int:
    args = build_parser().parse_args(argv)
    from .profiles import get_profile

    return run_reproduction(args, get_profile, _run, _check, tool="nst_aug.reproduce")


if __name__ == "__main__":
    sys.exit(main())
