"""Training CLI: ``python -m gan_aug.train {dcgan,acgan,cyclegan} --out RUN [data] [options]``.

Data (what ``classify`` reads, :func:`gan_aug.data.select_samples`):

- cyclegan: ``--domain-a SPEC --domain-b SPEC`` where SPEC is a folder of images, a manifest, an image list (a
  Path-Rank-Filter selection) or a class name: of ``--csv`` (``--domain-a NV --domain-b MEL``) or a sub-folder
  of ``--folders``;
- dcgan: ``--input SPEC`` (one class: Cho trains one DCGAN per class);
- acgan: ``--csv CSV --classes NV MEL`` or ``--folders ROOT [--classes ...]`` (class-per-folder tree).

``--split-file FILE --part train`` keeps only the real images of those parts of a ``classify`` split (the thesis
trains its GANs on the training images only, §6.2.1).

The run folder receives ``run.json`` (options with their sources, non-defaults flagged, data counts and skipped
files), ``training_images.csv`` (every real image the generator depends on: what its outputs' manifests point
to, so ``classify`` keeps them away from any fold that tests one of those images), ``samples/epoch_NNNN.png``
(fixed noise / inputs), ``history.csv`` and ``loss_curves.png``, and ``checkpoints/`` (every ``--save-every``
epochs and at the end, with the generators exported as ``.keras``). A run folder that holds a run is resumed
(``--no-resume`` refuses it, ``--overwrite`` starts afresh): the last checkpoint — weights, optimizer slots,
schedule position, image pools and random state — is restored and training continues exactly as an
uninterrupted run would; ``--epochs`` may be raised, any other option that differs from the stored run is refused.
A non-finite loss stops training and keeps the last good checkpoint (exit code 3).

The library under this command line: :func:`gan_aug.training.train` and :func:`gan_aug.data.load_data` (with a :class:`gan_aug.data.DataSpec`).
"""

from __future__ import annotations

import argparse
import sys
from typing import Sequence

from classify.cli import (CLIError, ClassList, Parser, add_data_args, add_output_args, add_split_selection,
                          add_verbosity, check_data_paths, check_output_dir, report_skipped, run_main,
                          skipped_limit)
from classify.files import read_json, remove_files

from . import options as O
from .runs import RUN_JSON, run_files


def build_parser() -> argparse.ArgumentParser:
    from .kinds import KINDS

    p = Parser(prog="python -m gan_aug.train", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="kind", required=True, parser_class=Parser)
    for name, gan in KINDS.items():
        cls = gan.options
        s = sub.add_parser(name, help=(cls.__doc__ or "").strip().split("\n")[0], description=cls.__doc__)
        add_output_args(s, required=True, resumable=True, what="run folder")
        g = s.add_argument_group("data")
        add_data_args(g, shortcut=False, classes=False)
        add_split_selection(g, "train on")
        spec_help = "folder, manifest, image list (.csv), or a class name of --csv / sub-folder of --folders"
        if gan.translates:
            g.add_argument("--domain-a", required=True, metavar="SPEC", help=spec_help)
            g.add_argument("--domain-b", required=True, metavar="SPEC", help=spec_help)
        elif gan.conditional:
            g.add_argument("--classes", action=ClassList, help="classes and their order (default: all found)")
        else:
            g.add_argument("--input", required=True, metavar="SPEC", help=spec_help)
        add_verbosity(s)
        O.add_arguments(s.add_argument_group(f"{name} options (defaults with their sources)"), cls)
    return p


def _given_flags(argv: Sequence[str]) -> set[str]:
    return {a.split("=", 1)[0] for a in argv if a.startswith("--")}


def main(argv: Sequence[str] | None = None) -> int:
    """The command line (default ``sys.argv[1:]``) → exit status (errors: one line, status 2; NaN stop: 3)."""
    return run_main(_main, argv)


def _main(argv: Sequence[str]) -> int:
    args = build_parser().parse_args(argv)
    from .kinds import get_kind

    gan = get_kind(args.kind)
    cls = gan.options
    opts = O.from_namespace(cls, args)
    out = check_output_dir(args.out)
    stored = None if args.overwrite else read_json(out / RUN_JSON)
    if stored is not None:
        if not args.resume:
            raise CLIError(f"{out} already holds a run: leave out --no-resume to continue it, or --overwrite to "
                           "start afresh")
        if stored.get("kind") != args.kind:
            raise CLIError(f"{out} holds a {stored.get('kind')} run, not {args.kind}: use another --out")
        flags = _given_flags(argv)
        given = {f for f in stored["options"] if {"--" + f.replace("_", "-"), "--no-" + f.replace("_", "-")} & flags}
        differ = sorted(f for f in given
                        if f not in ("epochs", "distribute") and getattr(opts, f) != stored["options"][f])
        if differ:
            raise CLIError(f"{out} holds a run with other options ("
                           + ", ".join(f"--{f.replace('_', '-')} {stored['options'][f]!r} there, "
                                       f"{getattr(opts, f)!r} here" for f in differ)
                           + "): use another --out, or --overwrite to start afresh")
        opts = cls(**{**stored["options"], **({"epochs": opts.epochs} if "epochs" in given else {}),
                      "distribute": opts.distribute})  # where it runs now: this command's choice
    elif args.overwrite:
        remove_files(out, run_files())
    from .data import DataSpec, load_data

    spec = DataSpec(csv=args.csv, images=args.images, folders=args.folders, classes=getattr(args, "classes", None),
                    domain_a=getattr(args, "domain_a", None), domain_b=getattr(args, "domain_b", None),
                    input=getattr(args, "input", None), split_file=args.split_file, parts=tuple(args.part))
    check_data_paths(args)
    data = load_data(gan, opts, spec, progress=not args.quiet, cache=out / "data")
    for note in data["notes"]:
        print(note)
    for name in gan.data_sets:
        report_skipped(data[name].skipped, limit=skipped_limit(args))
        if len(data[name]) == 0:
            raise CLIError(f"no usable images for {name} ({data.get(('' if name == 'images' else name + '_') + 'spec')})")
    from .training import train

    record = train(args.kind, opts, out, data, resume=stored is not None, verbose=2 if args.quiet else 1,
                   command=["python", "-m", "gan_aug.train", *argv])
    print(f"{record['status']}: {record['epochs_done']} epochs; run folder {out}")
    return 3 if record["status"] == "stopped_nan" else 0


if __name__ == "__main__":
    sys.exit(main())
