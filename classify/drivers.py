"""What every paper-reproduction driver shares (``nst_aug.reproduce``, ``gan_aug.reproduce``): profiles as
frozen dataclasses with their departures, ``--set FIELD=VALUE`` overrides, the command line, the work counter,
the log line, and finding the data a driver was pointed at.

Every stage a driver runs is a library call that resumes by itself: a generation job skips finished images, a
network whose spec and split are already finished in its folder is returned from its ``result.json``
(:func:`classify.experiment.train_and_evaluate`), a GAN run continues from its last checkpoint. So a killed driver,
run again, loses at most the network, epoch or batch in flight.

Imports no TensorFlow (the drivers' ``--help`` answers at once).
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import time
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from .choices import ARCHITECTURES, SIZE_RANGE
from .cli import CLIError, Parser, add_verbosity, check_output_dir
from .data import SHARED_DATA_ENV, shared_data_dir

PROFILE_FILE = "profile.json"
#: The driver's record of the run (paper, profile, options, seconds, summary, library versions), written last.
RUN_FILE = "run.json"
#: The driver's inventory: every file under ``--out`` that one of its runs wrote (``--overwrite`` removes these).
WRITTEN_FILE = "written.json"


class Counter:
    """How much work this run did (vs. found finished): networks ``trained``/``cached``, images
    ``generated``/``generation_cached``, GANs ``gans_trained``/``gans_cached``."""

    def __init__(self):
        self.trained = 0
        self.cached = 0
        self.generated = 0
        self.generation_cached = 0
        self.gans_trained = 0
        self.gans_cached = 0

    def network(self, result) -> None:
        """Count a :class:`classify.experiment.RunResult`."""
        if result.cached:
            self.cached += 1
        else:
            self.trained += 1

    def generation(self, summary: Mapping) -> None:
        """Count a generation summary (``made``, ``already_done``)."""
        self.generated += summary["made"]
        self.generation_cached += summary["already_done"]

    def gan(self, cached: bool) -> None:
        if cached:
            self.gans_cached += 1
        else:
            self.gans_trained += 1

    def to_dict(self) -> dict:
        return dict(vars(self))


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def shared_subfolder(*parts: str) -> Path | None:
    """``$NST_AUG_SHARED_DATA/<parts>`` when that variable is set and the path exists, else None."""
    root = shared_data_dir()
    if root is None:
        return None
    path = root.joinpath(*parts)
    return path if path.exists() else None


def missing_data(what: str, flag: str = "--data") -> ValueError:
    return ValueError(f"{what}: give {flag} PATH (or set {SHARED_DATA_ENV} to a folder laid out like the "
                      "development data)")


def make_toy_classes(root: str | os.PathLike, classes: Sequence[str], per_class: int = 6, size: int = 64,
                     seed: int = 0) -> Path:
    """Synthetic stand-in data for smoke profiles when the real data is absent: ``root/<class>/image_NNNN.png``,
    per class noisy images of a class-specific shape and colour (kept when already there). Returns ``root``."""
    import numpy as np
    from PIL import Image, ImageDraw

    rng = np.random.default_rng(seed)
    root = Path(root)
    for k, cls in enumerate(classes):
        d = root / cls
        d.mkdir(parents=True, exist_ok=True)
        for j in range(per_class):
            f = d / f"image_{j + 1:04d}.png"
            arr = rng.integers(0, 60, (size, size, 3), dtype=np.uint8)
            x0, y0 = rng.integers(4, size // 3, 2)
            if f.exists():
                continue
            img = Image.fromarray(arr)
            draw = ImageDraw.Draw(img)
            colour = tuple(int(v) for v in np.roll([220, 60, 60], k))
            box = [int(x0), int(y0), int(x0 + size // 2), int(y0 + size // 2)]
            [draw.ellipse, draw.rectangle, draw.polygon][k % 3](
                box if k % 3 < 2 else [(box[0], box[3]), (box[2], box[3]), ((box[0] + box[2]) // 2, box[1])],
                fill=colour if k < 3 else tuple(int(v) for v in rng.integers(60, 255, 3)))
            img.save(f)
    return root


# --------------------------------------------------------------------------------------------- profiles
def with_overrides(profile, **overrides):
    """``profile`` (a frozen dataclass with a ``departures`` tuple) with fields replaced; each override is
    appended to its departures, so the table header says what the command line changed."""
    overrides = {k: v for k, v in overrides.items() if v is not None}
    if not overrides:
        return profile
    known = {f.name for f in dataclasses.fields(profile)}
    unknown = set(overrides) - known
    if unknown:
        raise ValueError(f"unknown profile field(s) {sorted(unknown)}; known: {', '.join(sorted(known))}")
    profile = dataclasses.replace(profile, **overrides)
    return dataclasses.replace(profile, departures=profile.departures + tuple(
        f"overridden on the command line: {k}={v}" for k, v in sorted(overrides.items())))


def parse_overrides(items: Sequence[str], profile) -> dict[str, Any]:
    """``["epochs=3", "archs=vgg9,vgg11"]`` → typed values, by the type of each field's current value
    (tuples split on commas, booleans from 1/true/yes, ``none`` for None)."""
    fields = dataclasses.asdict(profile)
    out: dict[str, Any] = {}
    for item in items:
        if "=" not in item:
            raise ValueError(f"--set {item!r}: expected FIELD=VALUE")
        key, value = item.split("=", 1)
        if key not in fields or key in ("name", "departures"):
            raise ValueError(f"--set {key}: unknown profile field; known: "
                             f"{', '.join(sorted(set(fields) - {'name', 'departures'}))}")
        current = fields[key]
        try:
            if value.lower() == "none":
                out[key] = None
            elif isinstance(current, (tuple, list)):
                kind = type(current[0]) if current else str
                out[key] = tuple(kind(v) for v in value.split(",") if v)
            elif isinstance(current, bool):
                out[key] = value.lower() in ("1", "true", "yes")
            elif isinstance(current, int) or (current is None and value.isdigit()):
                out[key] = int(value)
            elif isinstance(current, float) or (current is None and _is_float(value)):
                out[key] = float(value)
            else:
                out[key] = value
        except ValueError:
            raise ValueError(f"--set {key}={value}: expected a value like {current!r}") from None
    return out


def _is_float(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


#: ``--set`` fields that may be 0 (the others that hold numbers must be positive); ``seed`` may be anything.
ZERO_ALLOWED = frozenset({"static_copies", "patience", "clf_freeze_epochs", "bootstrap", "max_shift", "max_rotation"})
#: ``--set`` fields holding shares in (0, 1] (``threshold``, ``fractions``: [0, 1]).
SHARES = frozenset({"val_fraction", "select_fraction", "fractions", "alphas", "threshold"})


def check_overrides(overrides: Mapping[str, Any]) -> None:
    """Refuse ``--set`` values no stage could use, before any work: an image side (a field named ``…size`` that
    is not a batch size) outside :data:`~classify.choices.SIZE_RANGE`, a share outside (0, 1], an architecture
    that does not exist, a count below 1 (below 0 for :data:`ZERO_ALLOWED`)."""
    lo, hi = SIZE_RANGE
    for key, value in overrides.items():
        if key == "seed" or value is None or isinstance(value, (bool, str)) and not key.endswith(("arch", "archs")):
            continue
        values = value if isinstance(value, (tuple, list)) else (value,)
        where = f"--set {key}={','.join(map(str, values))}"
        if key.endswith(("arch", "archs")):
            unknown = [v for v in values if v not in ARCHITECTURES]
            if unknown:
                raise CLIError(f"{where}: unknown architecture {', '.join(map(str, unknown))} (choose from "
                               f"{', '.join(ARCHITECTURES)})")
            continue
        for v in values:
            if isinstance(v, str):
                continue
            if key.endswith("size") and "batch" not in key:
                if not lo <= v <= hi:
                    raise CLIError(f"{where}: {v} px is outside {lo}..{hi} px")
            elif key in SHARES:
                closed = key in ("threshold", "fractions")
                if not (0 <= v <= 1 if closed else 0 < v <= 1):
                    raise CLIError(f"{where}: {v} must be in {'[0, 1]' if closed else '(0, 1]'}")
            elif v < 0 if key in ZERO_ALLOWED else v <= 0:
                raise CLIError(f"{where}: {v} must be {'at least 0' if key in ZERO_ALLOWED else 'positive'}")


def check_inputs(args: argparse.Namespace) -> None:
    """Refuse a ``--data`` that does not exist and a ``--style`` that is not a usable image, before any work."""
    from .images import ImageError, probe

    if args.data and not Path(args.data).exists():
        raise CLIError(f"--data {args.data}: not found")
    style = getattr(args, "style", None)
    if style:
        try:
            probe(style)
        except ImageError as err:
            raise CLIError(f"--style {err}") from None


# ------------------------------------------------------------------------------------------ command line
def reproduce_parser(prog: str, description: str, papers: Sequence[str], data_help: str) -> argparse.ArgumentParser:
    """The one command line of every reproduction driver: ``PAPER --profile --out --resume --overwrite --seed
    --data --set --quiet/--verbose``."""
    p = Parser(prog=prog, description=description)
    p.add_argument("paper", choices=tuple(papers))
    p.add_argument("--profile", choices=("smoke", "cpu", "paper"), default="smoke",
                   help="smoke: minutes, tiny data, meaningless numbers (a check that it runs); cpu: the shared "
                        "data on a laptop CPU in hours, reductions listed; paper: the paper's settings (GPU)")
    p.add_argument("--out", default=None, metavar="DIR", help="output folder (default: repro/<paper>-<profile>)")
    p.add_argument("--resume", action=argparse.BooleanOptionalAction, default=True,
                   help="continue the stages already in --out; --no-resume refuses a folder that holds a run "
                        "(default: resume)")
    p.add_argument("--overwrite", action="store_true",
                   help="start afresh: first remove what earlier runs of the driver wrote in --out (the files "
                        "listed in its written.json; never other files)")
    p.add_argument("--seed", type=int, default=None, help="the profile's seed (splits, training; default 0)")
    p.add_argument("--data", default=None, metavar="PATH", help=data_help)
    p.add_argument("--set", nargs="*", default=[], metavar="FIELD=VALUE",
                   help="override profile fields, e.g. --set epochs=3 (listed in the table header)")
    add_verbosity(p)
    return p


def remove_written(out: str | os.PathLike) -> int:
    """``--overwrite``: delete the files earlier runs of a driver wrote in ``out`` (its :data:`WRITTEN_FILE`
    inventory) and the folders they leave empty; nothing else. Returns how many files were deleted."""
    from .files import read_json, remove_paths

    out = Path(out)
    listed = read_json(out / WRITTEN_FILE) or []
    own = [out / name for name in listed if (out / name).is_file()] + [out / WRITTEN_FILE]
    return remove_paths(out, [p for p in own if p.is_file()])


def file_stamps(out: str | os.PathLike) -> dict[str, int]:
    """``{relative path: modification time in ns}`` of every file under ``out`` (what was there before a run)."""
    out = Path(out)
    if not out.is_dir():
        return {}
    return {p.relative_to(out).as_posix(): p.stat().st_mtime_ns for p in out.rglob("*")
            if p.is_file() and not p.is_symlink()}


def record_written(out: str | os.PathLike, before: Mapping[str, int]) -> None:
    """Add to ``out``'s :data:`WRITTEN_FILE` every file under ``out`` that a run created or changed — not in
    ``before`` (:func:`file_stamps` when it started) or with another time stamp: the inventory that
    ``--overwrite`` removes. Files that were there before, or that are added between runs, are never listed."""
    from .files import read_json, write_json

    out = Path(out)
    if not out.is_dir():
        return
    listed = set(read_json(out / WRITTEN_FILE) or [])
    listed |= {name for name, stamp in file_stamps(out).items()
               if name != WRITTEN_FILE and before.get(name) != stamp}
    write_json(out / WRITTEN_FILE, sorted(listed))


def run_reproduction(args: argparse.Namespace, get_profile: Callable, run: Callable[..., dict],
                     check: Callable[[Any, argparse.Namespace], None] | None = None, tool: str = "") -> int:
    """Resolve the profile (with ``--set``/``--seed``) and check every input — the ``--set`` values
    (:func:`check_overrides`), ``--data``/``--style`` (:func:`check_inputs`), ``check(profile, args)`` (what the
    paper's data must hold) and ``--out`` — before anything is written; then remove what an earlier run wrote
    (``--overwrite``), call ``run(profile, out, args)``, add what it wrote to the inventory (:func:`record_written`,
    also when it fails), write :data:`RUN_FILE` and print its summary."""
    from .files import write_json
    from .versions import run_record

    base = get_profile(args.paper, args.profile)
    overrides = parse_overrides(args.set, base)
    check_overrides(overrides)
    if args.seed is not None:
        overrides["seed"] = args.seed
    profile = get_profile(args.paper, args.profile, **overrides)
    check_inputs(args)
    if check is not None:
        check(profile, args)
    out = check_output_dir(args.out or f"repro/{args.paper}-{args.profile}")
    if getattr(args, "overwrite", False):
        remove_written(out)
        (Path(out) / PROFILE_FILE).unlink(missing_ok=True)
    elif not args.resume and (Path(out) / PROFILE_FILE).exists():
        raise CLIError(f"{out} already holds a reproduction: leave out --no-resume to continue it, --overwrite to "
                       "start afresh, or use another --out")
    start, before = time.time(), file_stamps(out)
    try:
        summary = run(profile, out, args)
        write_json(Path(out) / RUN_FILE, run_record(
            tool or "reproduce", paper=args.paper, profile=profile.to_dict() if hasattr(profile, "to_dict")
            else dataclasses.asdict(profile), options={k: v for k, v in vars(args).items()},
            seconds=round(time.time() - start, 1), summary={k: v for k, v in summary.items() if k != "pseudo_labels"}))
    finally:
        record_written(out, before)
    print(json.dumps({k: v for k, v in summary.items() if k != "pseudo_labels"}, indent=2, default=str))
    return 0
