"""``python -m nst_aug.generate``: resumable batch generation of a style-transferred training set.

Turns content and style images (folders / files / globs, an ISIC 2019 ground-truth CSV with class names, or a
class-per-folder tree) into ``OUT/`` holding the images, ``manifest.csv``, ``run.json`` and
``contact_sheet.png``. A thin shell over :mod:`nst_aug.job`: the flags become a
:class:`~nst_aug.job.GenerationJob` and :func:`~nst_aug.job.run_generation` makes it (see there for resuming,
refusing a different configuration in the same folder, and shards).

With no arguments it runs on the embedded default: the 10 CC0 ISIC images of :mod:`classify.samples`, nevus
(NV) content × melanoma (MEL) style, ``mikolajczyk2019`` (Mikołajczyk & Grochowski's benign-content ×
malignant-style synthesis), a few pairs at 224 px.

``--split-file FILE --part PART…`` keeps only the real images of those parts of a ``classify`` split (e.g. a
fold's training images, so no validation or test image is a content or style of what the fold trains on).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Sequence

from classify.cli import (Parser, add_data_args, add_output_args, add_seed, add_split_selection,
                          add_verbosity, check_data_paths, check_output_dir, check_weights, fraction, nonnegative_int,
                          positive_int, positive_number, report_skipped, run_main, skipped_limit)

from .job import GenerationError, GenerationJob, Input, merge, run_generation

# The embedded default: 4 NV x MEL pairs in one batch, 3 L-BFGS rounds (60 evaluations) instead of the preset's 10
# (200): about 4 minutes on an idle 2-core CPU. `--steps 200` gives the paper's setting.
DEFAULT_PAIRS, DEFAULT_STEPS, DEFAULT_BATCH = 4, 60, 4


def select_inputs(args: argparse.Namespace) -> tuple[list[Input], list[Input], list[str], dict]:
    """Content and style candidates from the arguments → ``(contents, styles, skipped, description)``."""
    from classify.data import read_class_folders, read_isic_csv, read_selection

    skipped: list[str] = []
    if args.content or args.style:
        if not (args.content and args.style):
            raise GenerationError("give both --content and --style")
        found = {}
        for what, specs in (("content", args.content), ("style", args.style)):
            items = []
            for spec in specs:
                try:
                    samples, bad = read_selection(spec)
                except (ValueError, FileNotFoundError) as err:
                    raise GenerationError(f"--{what} {err}") from None
                items += samples
                skipped += bad
            found[what] = list({s.path: s for s in items}.values())
        desc = {"content": args.content, "style": args.style}
        contents, styles = found["content"], found["style"]
    elif args.csv or args.folders or args.content_class or args.style_class:
        if not (args.content_class and args.style_class):
            raise GenerationError("with --csv or --folders give --content-class and --style-class")
        classes = [args.content_class, args.style_class]
        check_data_paths(args)
        if args.folders:
            samples, skipped = read_class_folders(args.folders, classes)
            desc = {"folders": str(Path(args.folders).resolve())}
        else:
            from classify.samples import ISIC_SAMPLE_CSV
            csv_path = args.csv or str(ISIC_SAMPLE_CSV)
            samples, skipped = read_isic_csv(csv_path, args.images, classes)
            desc = {"csv": str(Path(csv_path).resolve()), "images": args.images}
        contents = [s for s in samples if s.label == args.content_class]
        styles = [s for s in samples if s.label == args.style_class]
        desc |= {"content_class": args.content_class, "style_class": args.style_class}
    else:
        raise GenerationError("no inputs: give --content/--style, --csv/--folders with classes, or nothing at all")
    if args.split_file:
        from classify.splits import select_parts

        contents, note_c = select_parts(contents, args.split_file, args.part)
        styles, note_s = select_parts(styles, args.split_file, args.part)
        print(f"contents: {note_c}\nstyles: {note_s}")
        desc |= {"split_file": str(Path(args.split_file).resolve()), "parts": list(args.part)}
    return ([Input(s.path, s.label) for s in contents], [Input(s.path, s.label) for s in styles], skipped, desc)


def job_from_args(args: argparse.Namespace) -> tuple[GenerationJob, list[str]]:
    """The :class:`GenerationJob` the flags describe, and the inputs skipped while reading them."""
    from .config import overrides_from_args
    from .presets import get_preset

    try:
        config = get_preset(args.preset, **overrides_from_args(args), seed=args.seed)
        if args.ratio is not None:  # content:style ratio α/β, keeping β
            config = config.override(content_weight=args.ratio * config.style_weight)
        if args.blend_weights:
            if len(args.blend_weights) != args.blend:
                raise GenerationError(f"--blend-weights: {len(args.blend_weights)} weights for --blend {args.blend}")
            config = config.override(style_blend=tuple(args.blend_weights))
    except (ValueError, TypeError) as err:
        raise GenerationError(str(err)) from None
    selection = None
    if args.style_select:
        from .job import StyleSelection

        selection = StyleSelection(args.style_select, args.select_fraction, args.select_model, args.select_class,
                                   args.select_layer)
    elif args.select_model or args.select_class:
        raise GenerationError("--select-model/--select-class need --style-select METHOD")
    contents, styles, skipped, desc = select_inputs(args)
    mode = "all" if args.all_pairs else "per_content" if args.styles_per_content else "pairs"
    job = GenerationJob(tuple(contents), tuple(styles), config, args.out, preset=args.preset, pairing=mode,
                        count=args.styles_per_content or args.count, seed=args.seed, label=args.label,
                        format=args.format, batch_size=args.batch_size, num_shards=args.num_shards,
                        shard_index=args.shard_index, overwrite=args.overwrite, resume=args.resume,
                        selection=selection, blend=args.blend, method=args.method, strength=args.strength,
                        inputs=desc)
    return job, skipped


# ---------------------------------------------------------------------------------------------------- CLI
def build_parser() -> argparse.ArgumentParser:
    from .config import add_config_arguments
    from .presets import PRESETS

    p = Parser(prog="python -m nst_aug.generate",
               description="Generate a style-transferred training set (no arguments: the embedded NV x MEL default).")
    g = p.add_argument_group("inputs")
    g.add_argument("--content", nargs="+", metavar="SPEC", help="content images: folders, files, globs or image lists")
    g.add_argument("--style", nargs="+", metavar="SPEC", help="style images: folders, files, globs or image lists")
    add_data_args(g, shortcut=False, classes=False)
    g.add_argument("--content-class", help="class of the content images (with --csv/--folders), e.g. NV")
    g.add_argument("--style-class", help="class of the style images (with --csv/--folders), e.g. MEL")
    add_split_selection(g, "take content and style from")
    g = p.add_argument_group("pairing")
    m = g.add_mutually_exclusive_group()
    m.add_argument("--pairs", type=positive_int, dest="count", metavar="N", help="N random distinct (content, style) pairs")
    m.add_argument("--all-pairs", action="store_true", help="every content x every style")
    m.add_argument("--styles-per-content", type=positive_int, metavar="K", help="K random styles for every content image")
    add_seed(g, "seeds the pairing and noise initialisation")
    g.add_argument("--label", default="", help="manifest label: 'content', 'style', a class name, or empty "
                                               "(to be pseudo-labelled)")
    g = p.add_argument_group("style transfer (defaults: the preset's)")
    g.add_argument("--method", choices=("nst", "fast"), default="nst",
                   help="nst: the faithful optimisation engine; fast: Ghiasi et al.'s feed-forward arbitrary "
                        "stylisation (about 0.2 s per image on a CPU; pip install 'nst-aug[fast]')")
    g.add_argument("--strength", type=float, default=1.0,
                   help="fast: 0..1 mix of the content's own style embedding (0) and the style's (1)")
    g.add_argument("--preset", default="mikolajczyk2019", choices=sorted(PRESETS), help="paper settings")
    add_config_arguments(g)
    g.add_argument("--ratio", type=positive_number, help="content:style weight ratio (sets the content weight)")
    g.add_argument("--batch-size", type=positive_int, help="pairs optimised together (default 2; 4 for the embedded demo)")
    g = p.add_argument_group("style features (Shinde §3.2-3.3; python -m nst_aug.saliency shows the maps)")
    g.add_argument("--style-select", choices=("guided", "gradient", "occlusion"),
                   help="keep only the most salient positions of each style image in its Gram matrix")
    g.add_argument("--select-fraction", type=fraction, default=0.25, help="share of positions kept")
    g.add_argument("--select-model", metavar="FILE", help="explain this classify model's class score (default: the "
                                                         "mean activation of the NST network's deepest layer)")
    g.add_argument("--select-class", help="with --select-model: the class (default: each style's prediction)")
    g.add_argument("--select-layer", help="without --select-model: the VGG layer explained")
    g.add_argument("--blend", type=positive_int, default=1, metavar="K",
                   help="blend K style images per output: the pair's style and K-1 others drawn per pair")
    g.add_argument("--blend-weights", type=float, nargs="+", metavar="W", help="the K blend weights (default equal)")
    g = p.add_argument_group("output")
    add_output_args(g, default="nst_out", resumable=True)
    g.add_argument("--format", default="jpg", choices=["jpg", "png"], help="image format")
    g.add_argument("--num-shards", type=positive_int, default=1, help="split the pairs into this many shards")
    g.add_argument("--shard-index", type=nonnegative_int, default=0, help="the shard this process makes")
    g.add_argument("--merge", nargs="+", metavar="DIR", help="combine shard folders' manifests into --out")
    add_verbosity(p)
    return p


def _embedded_default(args: argparse.Namespace) -> None:
    """Fill in the embedded NV x MEL demo when no inputs were given."""
    from classify.samples import ISIC_SAMPLE_CSV

    args.csv, args.content_class, args.style_class = str(ISIC_SAMPLE_CSV), "NV", "MEL"
    if args.count is None and not (args.all_pairs or args.styles_per_content):
        args.count = DEFAULT_PAIRS
    reduced = ""
    if args.steps is None and args.preset == "mikolajczyk2019" and args.method == "nst":
        args.steps, reduced = DEFAULT_STEPS, f", {DEFAULT_STEPS} L-BFGS evaluations instead of 200 (--steps 200)"
    if args.batch_size is None:
        args.batch_size = DEFAULT_BATCH
    engine = f"preset {args.preset}{reduced}" if args.method == "nst" else f"fast method, strength {args.strength:g}"
    print(f"nst_aug.generate: no inputs given; running the embedded default "
          f"({args.count} NV content x MEL style pairs from classify.samples, {engine})")


def main(argv: Sequence[str] | None = None) -> int:
    """The command line (default ``sys.argv[1:]``) → exit status (errors: one line, status 2)."""
    return run_main(_main, argv)


def check_args(args: argparse.Namespace) -> None:
    """The values argparse cannot check alone, before any work: ``--weights`` a known word or a file (the loss
    weights' and ``--ratio``'s ranges are their argparse types)."""
    check_weights(args.weights)


def _main(argv: Sequence[str]) -> int:
    args = build_parser().parse_args(argv)
    check_args(args)
    default_run = not any([args.content, args.style, args.csv, args.folders, args.content_class,
                           args.style_class, args.merge])
    check_output_dir(args.out)
    try:
        if args.merge:
            summary = merge(args.merge, args.out)
        else:
            if default_run:
                _embedded_default(args)
            if args.batch_size is None:
                args.batch_size = 2
            job, skipped = job_from_args(args)
            report_skipped(skipped, limit=skipped_limit(args))
            summary = run_generation(job, skipped, progress=not args.quiet)
    except KeyboardInterrupt:
        print("\ninterrupted: finished images and their manifest rows are kept; run the same command to resume",
              file=sys.stderr)
        return 130
    print(json.dumps(summary, indent=2))
    if not args.merge:
        print(f"images: {summary['out']}\nmanifest: {summary['manifest']}\ncontact sheet: {summary['contact_sheet']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
