"""The one command-line vocabulary of the toolkit: every CLI builds its parser from these pieces.

======================  =====================================================================================
flag                    meaning
======================  =====================================================================================
``--csv FILE``          an ISIC 2019 ground-truth CSV (``--isic-csv`` is an alias)
``--images DIR``        its image folder (default ``images/`` or ``ISIC_2019_Training_Input/`` beside the CSV)
``--folders ROOT``      a class-per-folder tree ``ROOT/<class>/<image>`` (e.g. Caltech-101)
``--data PATH``         shortcut: a CSV, a folder holding the ISIC CSV, or a class-folder tree
``--manifest PATH``     a generator manifest (file or folder)
``--split-file/--part`` only the real images of these parts of a ``classify`` split
``--classes A B …``     classes and their order (commas accepted too: ``--classes NV,MEL``)
``--out DIR``           the output folder; ``--overwrite`` removes only what the tool itself wrote there
``--resume/--no-resume`` resumable tools continue the work in ``--out`` (default); others refuse an occupied one
``--seed N``            every random choice
``--size PX``           image side, within :data:`classify.choices.SIZE_RANGE`
``--batch-size N``      images (or pairs) per step
``--precision``         float32, bfloat16, float16 or auto
``--jit-compile``       XLA-compile the step
``--quiet/--verbose``   no progress bars / every skipped file and more detail
``--debug``             show the Python traceback of an error
======================  =====================================================================================

Every CLI ends a user error (bad argument, unreadable input, a contradiction) in one line ``error: ...`` on stderr
and exit status 2 (:class:`Parser`, :func:`run_main`); values are checked before any work starts. Nothing here
imports TensorFlow, so ``--help`` answers at once.
"""
from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path
from typing import Any, Mapping, Sequence

from .choices import SIZE_RANGE
from .data import (ISIC_CLASSES, Sample, class_names, isic_csv_classes, read_class_folders, read_isic_csv,
                   read_manifest)


class CLIError(Exception):
    """A user error: printed as one line ``error: ...`` with exit status 2."""


_ROLE = re.compile(r":(?:mod|func|class|data|meth|attr):`~?([^`]+)`")


def plain(text: str | None) -> str | None:
    """Docstring text as a terminal shows it: reST roles and double back-quotes removed."""
    if text is None:
        return None
    return _ROLE.sub(lambda m: m.group(1).split(".")[-1] if m.group(0).count("~") else m.group(1),
                     text).replace("``", "").replace("::\n", ":\n")


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Shows each option's default once (none for unset/False defaults); descriptions keep their line breaks."""

    def _get_help_string(self, action):
        text = action.help or ""
        d = action.default
        if ("%(default)" in text or d is None or d is False or d is argparse.SUPPRESS or d in ("", [], ())
                or not action.option_strings or "default" in text):
            return text
        return text + " (default: %(default)s)"


#: Every console script of the toolkit starts so (setup.cfg ``[options.entry_points]``).
CONSOLE_PREFIX = "nst-aug-"
#: Other spellings of a flag, by its destination: the same in every CLI that has the flag.
FLAG_ALIASES: dict[str, tuple[str, ...]] = {"jit_compile": ("--xla",)}


def console_prog(prog: str | None) -> str | None:
    """``python -m MODULE [SUB]`` → ``SCRIPT [SUB]`` when the process was started by one of the toolkit's console
    scripts (``sys.argv[0]`` is ``…/nst-aug-…``), so ``usage:`` and ``--help`` name the command typed."""
    script = Path(sys.argv[0]).name if sys.argv and sys.argv[0] else ""
    if not (prog and prog.startswith("python -m ") and script.startswith(CONSOLE_PREFIX)):
        return prog
    rest = prog[len("python -m "):].split(" ", 1)
    return script + (" " + rest[1] if len(rest) > 1 else "")


class Parser(argparse.ArgumentParser):
    """``argparse`` with the toolkit's conventions: a bad argument ends in one line ``error: …`` and exit status 2
    (not a usage block), defaults shown once in ``--help``, docstring markup removed, ``--debug``, and the
    console script's own name in ``usage:`` when started by one (:func:`console_prog`)."""

    def __init__(self, *args, **kwargs):
        if "prog" in kwargs:
            kwargs["prog"] = console_prog(kwargs["prog"])
        kwargs.setdefault("formatter_class", HelpFormatter)
        kwargs["description"] = plain(kwargs.get("description"))
        kwargs["epilog"] = plain(kwargs.get("epilog"))
        super().__init__(*args, **kwargs)
        self.add_argument("--debug", action="store_true", help="show the Python traceback of an error")

    def error(self, message: str):
        print(f"error: {message} (see {self.prog} --help)", file=sys.stderr)
        raise SystemExit(2)


# ------------------------------------------------------------------------------------------- value checks
def size_arg(text: str) -> int:
    """An image side in px within :data:`~classify.choices.SIZE_RANGE`."""
    lo, hi = SIZE_RANGE
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of pixels") from None
    if not lo <= value <= hi:
        raise argparse.ArgumentTypeError(f"{value} px is outside {lo}..{hi} px")
    return value


def _whole_number(text: str, least: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < least:
        raise argparse.ArgumentTypeError(f"{value} must be at least {least}" if least else
                                         f"{value} must not be negative")
    return value


def positive_int(text: str) -> int:
    """A whole number ≥ 1."""
    return _whole_number(text, 1)


def nonnegative_int(text: str) -> int:
    """A whole number ≥ 0."""
    return _whole_number(text, 0)


def dropout_rate(text: str) -> float:
    """A number in [0, 1) (a dropout rate: 1 would drop everything)."""
    value = _number(text)
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"{value} must be in [0, 1)")
    return value


def _number(text: str) -> float:
    import math

    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{value} must be a finite number")
    return value


def loss_weight(text: str) -> float:
    """A finite number ≥ 0 (a loss weight: a negative one would maximise its loss)."""
    value = _number(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"{value} must be at least 0 (a negative weight maximises its loss)")
    return value


def positive_number(text: str) -> float:
    """A finite number > 0."""
    value = _number(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{value} must be above 0")
    return value


def fraction(text: str) -> float:
    """A number in (0, 1]."""
    value = _number(text)
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"{value} must be in (0, 1]")
    return value


class ClassList(argparse.Action):
    """``--classes NV MEL`` and ``--classes NV,MEL`` alike: a list of names in the order given, without repeats."""

    def __init__(self, option_strings, dest, **kwargs):
        kwargs.setdefault("nargs", "+")
        kwargs.setdefault("metavar", "CLASS")
        super().__init__(option_strings, dest, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None):
        names = [n.strip() for v in values for n in v.split(",") if n.strip()]
        if not names:
            parser.error(f"{option_string}: no class names given")
        setattr(namespace, self.dest, list(dict.fromkeys(names)))


def check_classes(requested: Sequence[str] | None, known: Sequence[str], where: str) -> None:
    """Refuse class names that ``where`` does not have (a typo would otherwise select nothing)."""
    unknown = [c for c in requested or () if c not in known]
    if unknown:
        raise CLIError(f"--classes: {', '.join(unknown)} not in {where} (it has {', '.join(known) or 'no classes'})")


#: The words every ``--weights`` takes besides a weights file (:mod:`classify.weights`; ``random`` for tests).
WEIGHT_WORDS = ("auto", "imagenet", "hed", "random")


def check_weights(value: str | None, flag: str = "--weights") -> None:
    """Refuse a ``--weights`` that is neither one of :data:`WEIGHT_WORDS` nor an existing file (a typo such as
    ``imagnet`` would otherwise be read as a missing file only when the network is built)."""
    if value is None or value in WEIGHT_WORDS or Path(value).is_file():
        return
    raise CLIError(f"{flag} {value}: neither {', '.join(WEIGHT_WORDS)} nor an existing file")


def check_output_dir(path: str | os.PathLike, flag: str = "--out") -> Path:
    """Refuse an output folder that is a file or cannot be written (before any work starts)."""
    p = Path(path)
    if p.exists() and not p.is_dir():
        raise CLIError(f"{flag} {p}: is a file, not a folder")
    existing = p
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise CLIError(f"{flag} {p}: {existing} is a file, not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise CLIError(f"{flag} {p}: {existing} is not writable")
    if not p.exists():  # some file systems (/proc, a read-only mount) refuse folders whatever access() says
        made = []
        try:
            for folder in reversed([p, *p.parents]):
                if not folder.exists():
                    folder.mkdir()
                    made.append(folder)
        except OSError as err:
            raise CLIError(f"{flag} {p}: cannot create it ({err.strerror or err})") from None
        finally:
            for folder in reversed(made):
                folder.rmdir()
    return p


def refuse_to_replace(folder: str | os.PathLike, names: Sequence[str], overwrite: bool, hint: str = "another --out"
                      ) -> None:
    """The existing-output rule for tools that do not resume: the files ``names`` this tool writes in ``folder``
    are replaced only with ``--overwrite``."""
    existing = [n for n in names if (Path(folder) / n).exists()]
    if existing and not overwrite:
        raise CLIError(f"{folder} already holds {', '.join(existing)}: pass --overwrite to replace "
                       f"{'it' if len(existing) == 1 else 'them'}, or {hint}")


def check_data_paths(args: argparse.Namespace) -> None:
    """Refuse a ``--csv``/``--split-file`` that is not a file or an ``--images``/``--folders`` that is not a folder
    (whichever of them the parser has), before any work."""
    for flag, is_dir in (("csv", False), ("split_file", False), ("images", True), ("folders", True)):
        value = getattr(args, flag, None)
        if value and not (Path(value).is_dir() if is_dir else Path(value).is_file()):
            raise CLIError(f"--{flag.replace('_', '-')} {value}: {'folder' if is_dir else 'file'} not found")


# --------------------------------------------------------------------------------------------- flag groups
def add_data_args(p, shortcut: bool = True, classes: bool = True) -> None:
    """``--csv/--isic-csv``, ``--images/--image-dir``, ``--folders`` (and ``--data``, ``--classes``)."""
    g = p.add_argument_group("data (default: the embedded 10-image ISIC sample, classify.samples)") \
        if isinstance(p, argparse.ArgumentParser) else p
    g.add_argument("--csv", "--isic-csv", dest="csv", metavar="FILE",
                   help="ISIC 2019 ground-truth CSV (image,MEL,NV,...,UNK one-hot)")
    g.add_argument("--images", "--image-dir", dest="images", metavar="DIR",
                   help="image folder of --csv (default: images/ or ISIC_2019_Training_Input/ beside the CSV)")
    g.add_argument("--folders", metavar="ROOT", help="class-per-folder tree ROOT/<class>/<image> (e.g. Caltech-101)")
    if shortcut:
        g.add_argument("--data", metavar="PATH",
                       help="shortcut: an ISIC CSV, a folder holding ISIC_2019_Training_GroundTruth.csv, "
                            "or a class-folder tree")
    if classes:
        g.add_argument("--classes", action=ClassList, help="keep only these classes, in this order (e.g. NV MEL)")


def add_split_selection(p, what: str, default: Sequence[str] = ("train",)) -> None:
    """``--split-file FILE --part PART …``: the one spelling, in every CLI, of "only these parts of a classify
    split" (:func:`classify.splits.select_parts`). ``what`` completes "use only the real images of --part to …"."""
    p.add_argument("--split-file", metavar="FILE", help=f"a classify split.csv: {what} only the real images of "
                                                        "--part (and what was made from them)")
    p.add_argument("--part", nargs="+", default=list(default), choices=("train", "val", "test", "pool"),
                   help=f"split parts (with --split-file; default {' '.join(default)})")


def add_output_args(p, default: str | None = None, required: bool = False, resumable: bool = False,
                    what: str = "output folder") -> None:
    """``--out DIR`` and ``--overwrite`` (and ``--resume/--no-resume`` for resumable tools)."""
    text = what + (f" (default {default})" if default else "")
    p.add_argument("--out", default=default, required=required, metavar="DIR", help=text)
    p.add_argument("--overwrite", action="store_true",
                   help="start afresh: remove what this tool wrote in --out before (never other files)")
    if resumable:
        p.add_argument("--resume", action=argparse.BooleanOptionalAction, default=True,
                       help="continue the work already in --out; --no-resume refuses a folder that holds some "
                            "(default: resume)")


def add_verbosity(p) -> None:
    """``--quiet`` (no progress bars) / ``--verbose`` (every skipped input, more detail)."""
    m = p.add_mutually_exclusive_group()
    m.add_argument("--quiet", action="store_true", help="no progress bars")
    m.add_argument("--verbose", action="store_true", help="list every skipped input and more detail")


def add_seed(p, text: str = "seeds every random choice") -> None:
    p.add_argument("--seed", type=int, default=0, help=text)


def skipped_limit(args: argparse.Namespace) -> int | None:
    """How many skipped inputs to list: all with ``--verbose``, else the first 20 (every tool's ``run.json``
    lists them all)."""
    return None if getattr(args, "verbose", False) else 20


def has_data_args(args: argparse.Namespace) -> bool:
    return any(getattr(args, k, None) for k in ("csv", "folders", "data"))


def load_real_samples(args: argparse.Namespace) -> tuple[list[Sample], list[str], str]:
    """``(samples, skipped, description)`` from the data arguments."""
    csv_path, folders = args.csv, args.folders
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
    check_data_paths(args)
    if folders:
        samples, skipped = read_class_folders(folders)
        description = f"class folders {Path(folders).resolve()}"
    else:
        if not csv_path:
            from .samples import ISIC_SAMPLE_CSV
            csv_path = str(ISIC_SAMPLE_CSV)
        samples, skipped = read_isic_csv(csv_path, args.images, args.classes)
        description = f"ISIC CSV {Path(csv_path).resolve()}"
    if args.classes:
        present = class_names(samples, ISIC_CLASSES if not folders else None)
        if not folders and any(c not in present for c in args.classes):
            # the CSV was read for the requested classes only: name every class it has
            in_csv = isic_csv_classes(csv_path)
            empty = [c for c in args.classes if c in in_csv and c not in present]
            if empty:
                raise CLIError(f"--classes: no usable image of {', '.join(empty)} in {description} (every such "
                               "row was skipped)")
            present = in_csv
        check_classes(args.classes, present, description)
        keep = set(args.classes)
        samples = [s for s in samples if s.label in keep]
    return samples, skipped, description


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


def report_skipped(reasons: Sequence[str], what: str = "skipped", limit: int | None = 20) -> None:
    """Print the first ``limit`` one-line reasons (all for ``None``) and how many more there are, on stderr."""
    limit = len(reasons) if limit is None else limit
    for reason in reasons[:limit]:
        print(f"{what}: {reason}", file=sys.stderr)
    if len(reasons) > limit:
        print(f"{what}: ... and {len(reasons) - limit} more (--verbose lists them all)", file=sys.stderr)


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


def one_line(err: BaseException) -> str:
    """An exception as one line (Keras and TF messages span many)."""
    text = " ".join(line.strip() for line in str(err).splitlines() if line.strip()) or type(err).__name__
    return text if len(text) <= 400 else text[:397] + "..."


def run_main(main, argv: Sequence[str] | None = None) -> int:
    """Run ``main(argv)`` (``argv`` defaults to the command line) and return its exit status, so that nothing ends
    in a traceback: a user error (bad argument or input, unreadable or unwritable file, missing weights) prints one
    line ``error: …`` on stderr and returns 2; anything else prints one line naming the exception and returns 1.
    ``--debug`` in ``argv`` re-raises instead. TensorFlow's C++ start-up log is silenced (level 2) unless the
    environment sets ``TF_CPP_MIN_LOG_LEVEL``.
    """
    from .images import ImageError
    from .weights import WeightsUnavailableError

    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        return main(argv) or 0
    except SystemExit as exit_:
        return exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 2)
    except KeyboardInterrupt:
        print("\ninterrupted: what was finished is kept; run the same command to resume (where the tool resumes)",
              file=sys.stderr)
        return 130
    except (CLIError, ValueError, OSError, ImageError, WeightsUnavailableError) as err:
        if debug:
            raise
        print(f"error: {one_line(err)}", file=sys.stderr)
        return 2
    except Exception as err:  # noqa: BLE001 - the one place that turns a bug into one line (see --debug)
        if debug:
            raise
        print(f"error: unexpected {type(err).__name__}: {one_line(err)} (rerun with --debug for the traceback)",
              file=sys.stderr)
        return 1
