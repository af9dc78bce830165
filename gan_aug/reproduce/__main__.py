"""``python -m gan_aug.reproduce {thesis-acgan,thesis-prf,cho} [--profile smoke|cpu|paper] [--out DIR] [--data PATH]``

The command line every driver shares (:func:`classify.drivers.reproduce_parser`).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Sequence

from classify.cli import CLIError, run_main
from classify.drivers import reproduce_parser, run_reproduction

CSV_NAME = "ISIC_2019_Training_GroundTruth.csv"


def build_parser() -> argparse.ArgumentParser:
    return reproduce_parser(
        "python -m gan_aug.reproduce",
        "Reproduce the thesis's Tables 6.2 (ACGAN + CycleGAN) and 7.2 (Path-Rank-Filter + CycleGAN) or Cho's "
        "Table I (DCGAN) end to end; every stage is cached in --out (re-running resumes).",
        ("thesis-acgan", "thesis-prf", "cho"),
        "thesis-*: an ISIC 2019 ground-truth CSV or the folder holding it (with images/ or "
        "ISIC_2019_Training_Input/, and metadata.csv with lesion_id when there is one; cpu default "
        "$NST_AUG_SHARED_DATA/isic8_ham10000). cho: Caltech-101 101_ObjectCategories (default "
        "$NST_AUG_SHARED_DATA/caltech101/...). smoke without data: synthetic toy images")


def main(argv: Sequence[str] | None = None) -> int:
    """The command line (default ``sys.argv[1:]``) → exit status (errors: one line, status 2)."""
    return run_main(_main, argv)


def _run(profile, out, args) -> dict:
    """The paper's driver, with progress bars unless ``--quiet``."""
    if args.paper == "cho":
        from .cho import run
        return run(profile, out, args.data, progress=not args.quiet)
    from .thesis import run_acgan, run_prf
    return (run_acgan if args.paper == "thesis-acgan" else run_prf)(profile, out, args.data,
                                                                    progress=not args.quiet)


def _check(profile, args) -> None:
    """What ``--data`` must hold, checked before any work: cho a folder per class of the profile (Caltech-101's
    ``101_ObjectCategories``); thesis-* an ISIC 2019 ground-truth CSV or a folder holding it."""
    if args.data is None:
        return
    data = Path(args.data)
    if args.paper == "cho":
        missing = [c for c in profile.classes if not (data / c).is_dir()]
        if missing:
            raise CLIError(f"--data {data}: no class folder {', '.join(missing)} (give Caltech-101's "
                           "101_ObjectCategories)")
    elif not (data.is_file() or (data / CSV_NAME).is_file()):
        raise CLIError(f"--data {data}: no {CSV_NAME} there")


def _main(argv: Sequence[str]) -> int:
    args = build_parser().parse_args(argv)
    from .profiles import get_profile

    return run_reproduction(args, get_profile, _run, _check, tool="gan_aug.reproduce")


if __name__ == "__main__":
    sys.exit(main())
