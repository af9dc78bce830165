"""``python -m nst_aug.reproduce {mikolajczyk,gauld} [--profile smoke|cpu|paper] [--out DIR] [--data PATH]``."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Sequence

from classify.cli import CLIError, Parser, check_output_dir, run_main


def build_parser() -> argparse.ArgumentParser:
    p = Parser(prog="python -m nst_aug.reproduce",
               description="Reproduce Mikołajczyk & Grochowski (Table I) or Gauld end to end; every stage is cached "
                           "in --out (re-running resumes).")
    p.add_argument("paper", choices=("mikolajczyk", "gauld"))
    p.add_argument("--profile", choices=("smoke", "cpu", "paper"), default="smoke",
                   help="smoke: minutes, random VGG weights, meaningless numbers (a check that it runs); cpu: "
                        "hours on a laptop; paper: the paper's settings")
    p.add_argument("--out", default=None, metavar="DIR", help="output folder (default: repro/<paper>-<profile>)")
    p.add_argument("--resume", action=argparse.BooleanOptionalAction, default=True,
                   help="continue the stages already in --out; --no-resume refuses a folder that holds a run "
                        "(default: resume)")
    p.add_argument("--seed", type=int, default=None, help="the profile's seed (splits, pairs, training; default 0)")
    p.add_argument("--data", default=None, metavar="PATH",
                   help="mikolajczyk: ISIC 2019 CSV or its folder (smoke default: the embedded sample; cpu/paper: "
                        "$NST_AUG_SHARED_DATA/isic_uda1 when that variable is set). gauld: Caltech-101 "
                        "101_ObjectCategories (default $NST_AUG_SHARED_DATA/caltech101/...; smoke without it: "
                        "synthetic stand-in images)")
    p.add_argument("--style", default=None, metavar="FILE", help="gauld: style image (default: Kandinsky's Composition VII)")
    p.add_argument("--set", nargs="*", default=[], metavar="FIELD=VALUE",
                   help="override profile fields, e.g. --set epochs=3 archs=vgg9,vgg11 (listed in the table header)")
    return p


def _overrides(items: Sequence[str], profile) -> dict:
    fields = profile.to_dict()
    out = {}
    for item in items:
        if "=" not in item:
            raise ValueError(f"--set {item!r}: expected FIELD=VALUE")
        key, value = item.split("=", 1)
        if key not in fields:
            raise ValueError(f"--set {key}: unknown profile field; known: {', '.join(sorted(fields))}")
        current = fields[key]
        if isinstance(current, tuple):
            out[key] = tuple(v for v in value.split(",") if v)
        elif isinstance(current, bool):
            out[key] = value.lower() in ("1", "true", "yes")
        elif isinstance(current, int) or (current is None and value.isdigit()):
            out[key] = int(value)
        elif isinstance(current, float):
            out[key] = float(value)
        else:
            out[key] = None if value.lower() == "none" else value
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """The command line (default ``sys.argv[1:]``) → exit status (errors: one line, status 2)."""
    return run_main(_main, argv)


def _main(argv: Sequence[str]) -> int:
    args = build_parser().parse_args(argv)
    from .profiles import get_profile

    base = get_profile(args.paper, args.profile)
    overrides = _overrides(args.set, base)
    if args.seed is not None:
        overrides["seed"] = args.seed
    profile = get_profile(args.paper, args.profile, **overrides)
    out = check_output_dir(args.out or f"repro/{args.paper}-{args.profile}")
    if not args.resume and (Path(out) / "profile.json").exists():
        raise CLIError(f"{out} already holds a reproduction: leave out --no-resume to continue it, or use another "
                       "--out")
    if args.paper == "mikolajczyk":
        from .mikolajczyk import run
        summary = run(profile, out, args.data)
    else:
        from .gauld import run
        summary = run(profile, out, args.data, args.style)
    print(json.dumps({k: v for k, v in summary.items() if k != "pseudo_labels"}, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
