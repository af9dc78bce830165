"""Path-Rank-Filter (thesis §7.2.3, after Wei et al.): keep the images a classifier is surest about.

Given a trained ``classify`` model and the *training* images of one class ``c``: score them
(:func:`classify.scoring.predict`: the model's own size, resize method and class order), keep those classified
correctly (``argmax = c``), rank them by the confidence ``P(c | x)`` (highest first) and keep the first
``ceil(α · n)``, where ``n`` is the number classified correctly ("pick an α of the images that the classifier
predicted correctly with the highest confidence", §7.2.3; α ∈ {1/8, 1/4, 1/2, 1} in §7.3). The kept images are
written as an image list, ``OUT/selection.csv`` (``path,label,confidence,rank,predicted,alpha``; ``OUT/selection.json``
records the model, α, the counts, the skipped inputs and the library versions), which the
CycleGAN training takes as a domain (``--domain-b OUT/selection.csv``). ``--split-file S --part train`` ranks
only the training images of a split (the filter must not see test images).

CLI::

    python -m gan_aug.path_rank_filter --model clf/model.keras --csv GT.csv --class MEL \\
        --split-file clf/split.csv --part train --alpha 0.125 --out prf_mel_1of8
"""
from __future__ import annotations

import argparse
import math
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

SELECTION_NAME = "selection.csv"
#: The record of the selection: model, class, α, counts, skipped inputs and library versions.
RUN_NAME = "selection.json"


@dataclass(frozen=True)
class Ranked:
    """One image of the class: its confidence ``P(class | x)``, the predicted class and its rank (1 = surest)."""

    path: str
    label: str
    confidence: float
    predicted: str
    correct: bool
    rank: int = 0


def rank_by_confidence(probs: np.ndarray, paths: Sequence[str], target: str, classes: Sequence[str]) -> list[Ranked]:
    """Every image with its confidence for ``target``; correctly classified ones first, by confidence (desc)."""
    t = list(classes).index(target)
    pred = probs.argmax(axis=1)
    items = [Ranked(p, target, float(probs[i, t]), classes[pred[i]], bool(pred[i] == t))
             for i, p in enumerate(paths)]
    # stable sort: ties keep input order
    items.sort(key=lambda r: (not r.correct, -r.confidence))
    return [Ranked(r.path, r.label, r.confidence, r.predicted, r.correct, i + 1) for i, r in enumerate(items)]


def path_rank_filter(classifier, samples, target: str, alpha: float, batch_size: int = 32, progress: bool = True):
    """Keep ``ceil(alpha * n_correct)`` correctly classified images of ``target``, surest first.

    ``classifier``: a :class:`classify.scoring.Classifier`; ``samples``: the class's training images
    (:class:`classify.data.Sample`). Returns ``(kept, ranked_all, skipped_reasons)``.
    """
    from classify.scoring import predict

    if not 0 < alpha <= 1:
        raise ValueError(f"alpha must be in (0, 1], got {alpha}")
    classes = list(classifier.info.classes)
    if target not in classes:
        raise ValueError(f"class {target!r} is not among the model's classes {classes}")
    prediction = predict(classifier, samples, batch_size, progress=progress, desc=f"ranking {target}")
    paths = [s.path for s in prediction.samples]
    ranked = rank_by_confidence(prediction.probs, paths, target, classes) if paths else []
    n_correct = sum(r.correct for r in ranked)
    keep = math.ceil(alpha * n_correct - 1e-9)
    return ranked[:keep], ranked, prediction.skipped


def write_selection(out_dir: str | os.PathLike, kept: Sequence[Ranked], alpha: float) -> Path:
    """``OUT/selection.csv``: the kept images, an image list (``classify.data.read_image_list``), atomically."""
    from classify.files import write_csv

    return write_csv(Path(out_dir) / SELECTION_NAME, ["path", "label", "confidence", "rank", "predicted", "alpha"],
                     ([str(Path(r.path).resolve()), r.label, f"{r.confidence:.6f}", r.rank, r.predicted, alpha]
                      for r in kept))


def build_parser() -> argparse.ArgumentParser:
    from classify.cli import (ClassList, Parser, add_data_args, add_output_args, add_split_selection, add_verbosity,
                              fraction, positive_int)

    p = Parser(prog="python -m gan_aug.path_rank_filter", description=__doc__.split("\n\n")[0])
    p.add_argument("--model", required=True, metavar="FILE", help="a saved classify model (.keras)")
    p.add_argument("--classes", action=ClassList, help="the model's classes in output order (only for a model "
                                                       "that records none; refused when it contradicts the record)")
    p.add_argument("--class", dest="target", required=True, help="the class to filter (e.g. MEL)")
    p.add_argument("--alpha", type=fraction, required=True, help="fraction kept, e.g. 0.125 (thesis: 1/8..1)")
    g = p.add_argument_group("the class's images")
    add_data_args(g, shortcut=False, classes=False)
    g.add_argument("--input", metavar="SPEC", help="instead of --csv: a folder, manifest or image list holding "
                                                  "the class's images")
    add_split_selection(g, "rank")
    p.add_argument("--batch-size", type=positive_int, default=32)
    add_output_args(p, required=True, what="output folder for selection.csv")
    add_verbosity(p)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """The command line (default ``sys.argv[1:]``) → exit status (errors: one line, status 2)."""
    from classify.cli import run_main

    return run_main(_main, argv)


def _main(argv: Sequence[str]) -> int:
    from classify.cli import CLIError, check_output_dir, refuse_to_replace, report_skipped, skipped_limit

    args = build_parser().parse_args(argv)
    out = check_output_dir(args.out)
    refuse_to_replace(out, (SELECTION_NAME, RUN_NAME), args.overwrite)
    if args.csv and args.input:
        raise CLIError("give --csv (with --class) or --input, not both")
    spec = args.target if args.csv or args.folders else args.input
    if not spec:
        raise CLIError("give --csv (with --class), --folders, or --input")
    from classify.scoring import load_classifier

    from .data import select_samples

    samples, skipped, note = select_samples(spec, args.csv, args.images, args.split_file, args.part,
                                            folders=args.folders)
    if note:
        print(note)
    classifier = load_classifier(args.model, args.classes)
    kept, ranked, bad = path_rank_filter(classifier, samples, args.target, args.alpha, args.batch_size,
                                         progress=not args.quiet)
    report_skipped(skipped + bad, limit=skipped_limit(args))
    path = write_selection(out, kept, args.alpha)
    n_ok = sum(r.correct for r in ranked)
    from classify.files import write_json
    from classify.versions import run_record

    write_json(out / RUN_NAME, run_record("gan_aug.path_rank_filter", model=str(Path(args.model).resolve()),
                                          target=args.target, alpha=args.alpha, images=spec,
                                          split_file=args.split_file, parts=args.part, ranked=len(ranked),
                                          correct=n_ok, kept=len(kept), skipped_inputs=skipped + bad))
    print(f"{args.target}: {len(ranked)} images, {n_ok} classified correctly, kept {len(kept)} "
          f"(alpha {args.alpha}) -> {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
