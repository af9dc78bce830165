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

from .cli import CLIError, Parser, check_output_dir
from .data import SHARED_DATA_ENV, shared_data_dir

PROFILE_FILE = "profile.json"


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


# ------------------------------------------------------------------------------------------ command line
def reproduce_parser(prog: str, description: str, papers: Sequence[str], data_help: str) -> argparse.ArgumentParser:
    """The one command line of every reproduction driver: ``PAPER --profile --out --resume --seed --data --set``."""
    p = Parser(prog=prog, description=description)
    p.add_argument("paper", choices=tuple(papers))
    p.add_argument("--profile", choices=("smoke", "cpu", "paper"), default="smoke",
                   help="smoke: minutes, tiny data, meaningless numbers (a check that it runs); cpu: the shared "
                        "data on a laptop CPU in hours, reductions listed; paper: the paper's settings (GPU)")
    p.add_argument("--out", default=None, metavar="DIR", help="output folder (default: repro/<paper>-<profile>)")
    p.add_argument("--resume", action=argparse.BooleanOptionalAction, default=True,
                   help="continue the stages already in --out; --no-resume refuses a folder that holds a run "
                        "(default: resume)")
    p.add_argument("--seed", type=int, default=None, help="the profile's seed (splits, training; default 0)")
    p.add_argument("--data", default=None, metavar="PATH", help=data_help)
    p.add_argument("--set", nargs="*", default=[], metavar="FIELD=VALUE",
                   help="override profile fields, e.g. --set epochs=3 (listed in the table header)")
    return p


def run_reproduction(args: argparse.Namespace, get_profile: Callable, run: Callable[..., dict]) -> int:
    """Resolve the profile (with ``--set``/``--seed``), check ``--out``, call ``run(profile, out, args)``, print
    its summary."""
    base = get_profile(args.paper, args.profile)
    overrides = parse_overrides(args.set, base)
    if args.seed is not None:
        overrides["seed"] = args.seed
    profile = get_profile(args.paper, args.profile, **overrides)
    out = check_output_dir(args.out or f"repro/{args.paper}-{args.profile}")
    if not args.resume and (Path(out) / PROFILE_FILE).exists():
        raise CLIError(f"{out} already holds a reproduction: leave out --no-resume to continue it, or use another "
                       "--out")
    summary = run(profile, out, args)
    print(json.dumps({k: v for k, v in summary.items() if k != "pseudo_labels"}, indent=2, default=str))
    return 0
