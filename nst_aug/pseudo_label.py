"""Pseudo-labels for synthetic images with a class-balancing threshold (Mikołajczyk & Grochowski §IV.B).

The paper: "we classified and labelled generated images with a DNN that was previously trained on the target
dataset ... Moreover, we modified and selected a new DNN classification threshold in such way so the number of
images in all classes are equal."

Binary case (positive class p, score ``s_i = P(p | x_i)`` from a classifier trained on real images): the
threshold is the median of the scores, ``t = median(s)``. So that the two classes come out *exactly* equal (to
within one image for odd N, ties included) the rule is applied by rank: the ``⌊N/2⌋`` images with the highest
scores are positive (ties broken by manifest order), the rest negative; with distinct scores that is
``s_i > t``.

K > 2 classes (the paper does not say how; ours): a greedy balanced assignment. Every class gets a quota of
``⌊N/K⌋`` or ``⌈N/K⌉`` images (the first ``N mod K`` classes one more); (image, class) pairs are visited in
descending probability and an image takes the first class whose quota is not yet full. For K = 2 it equals the
median rule. The score recorded is the probability of the label given.

:func:`pseudo_label_manifest` scores a manifest's images with a saved ``classify`` model (:mod:`classify.scoring`:
the model's own size, resize method and class order) and writes a copy of the manifest next to it (default
``manifest-pseudo.csv``) with two new columns ``pseudo_score`` and ``pseudo_label``, atomically (a reader sees
the old file or the complete new one), and beside it ``manifest-pseudo.json``: the labeller, threshold, counts,
skipped inputs and library versions. Rows not labelled keep both columns empty: images the manifest cannot
vouch for (outside its folder, missing), images that cannot be decoded, and — with ``split_file`` — images made
from a real image outside the given parts of that split (a fold's validation or test images: the labeller must
not label what the fold may not train on).

CLI: ``python -m nst_aug.pseudo_label --manifest OUT --model labeller.keras [--split-file S --part train]``.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from classify.cli import (CLIError, ClassList, Parser, add_split_selection, add_verbosity, check_output_dir,
                          positive_int, refuse_to_replace, report_skipped, run_main, skipped_limit)
from classify.manifest import manifest_columns, manifest_file, read_manifest_rows, write_manifest

PSEUDO_COLUMNS = ("pseudo_score", "pseudo_label")
PSEUDO_MANIFEST_NAME = "manifest-pseudo.csv"


def balanced_threshold(scores: Sequence[float]) -> float:
    """The binary class-balancing threshold: the median of the positive-class scores."""
    s = np.asarray(scores, dtype=float)
    if s.size == 0:
        raise ValueError("no scores to threshold")
    return float(np.median(s))


def balanced_binary_labels(scores: Sequence[float]) -> np.ndarray:
    """1 for the ``⌊N/2⌋`` highest scores, 0 for the rest (ties by order): equal classes, threshold = median."""
    s = np.asarray(scores, dtype=float)
    order = np.argsort(-s, kind="stable")
    labels = np.zeros(s.size, dtype=int)
    labels[order[: s.size // 2]] = 1
    return labels


def balanced_labels(probs: np.ndarray) -> np.ndarray:
    """Class index per row of ``probs`` (N, K) with class sizes equal to within one (module docstring)."""
    p = np.asarray(probs, dtype=float)
    if p.ndim != 2 or p.shape[1] < 2:
        raise ValueError(f"probs must be (N, K>=2), got shape {p.shape}")
    n, k = p.shape
    if k == 2:
        return balanced_binary_labels(p[:, 1])
    quota = np.full(k, n // k)
    quota[: n % k] += 1
    labels = np.full(n, -1)
    filled = np.zeros(k, dtype=int)
    for flat in np.argsort(-p, axis=None, kind="stable"):
        i, c = divmod(int(flat), k)
        if labels[i] < 0 and filled[c] < quota[c]:
            labels[i] = c
            filled[c] += 1
    return labels


def pseudo_labels(probs: np.ndarray, class_names: Sequence[str], positive: int = 1
                  ) -> tuple[list[str], np.ndarray, float | None]:
    """``(labels, scores, threshold)`` for classifier outputs ``probs`` (N, K).

    Binary: ``scores`` = P(positive), ``threshold`` = their median, the ``⌊N/2⌋`` top scores get
    ``class_names[positive]``. K > 2: greedy balanced assignment, ``scores`` = probability of the label given,
    ``threshold`` None.
    """
    p = np.asarray(probs, dtype=float)
    if p.shape[1] != len(class_names):
        raise ValueError(f"probs has {p.shape[1]} columns for {len(class_names)} classes")
    if p.shape[0] == 0:
        return [], np.zeros(0), None
    if p.shape[1] == 2:
        scores = p[:, positive]
        is_pos = balanced_binary_labels(scores)
        names = [class_names[positive] if v else class_names[1 - positive] for v in is_pos]
        return names, scores, balanced_threshold(scores)
    idx = balanced_labels(p)
    return [class_names[i] for i in idx], p[np.arange(len(idx)), idx], None


def write_pseudo_manifest(manifest: str | os.PathLike, labels: Mapping[str, tuple[float, str]],
                          name: str = PSEUDO_MANIFEST_NAME) -> Path:
    """Write ``name`` next to ``manifest`` (a file or OUT folder): every row plus ``pseudo_score``/``pseudo_label``.

    ``labels`` maps a row's ``output`` to ``(score, label)``; other rows get empty values. Atomic (temp + rename).
    """
    src = manifest_file(manifest)
    rows = read_manifest_rows(src)
    if not rows:
        raise ValueError(f"{src}: no manifest rows to label")
    columns = [c for c in manifest_columns(src) if c not in PSEUDO_COLUMNS] + list(PSEUDO_COLUMNS)
    out_rows = []
    for row in rows:
        score, label = labels.get(row["output"], (None, ""))
        out_rows.append(dict(row, pseudo_score="" if score is None else f"{float(score):.6f}", pseudo_label=label))
    return write_manifest(src.parent / name, out_rows, columns)


def pseudo_label_manifest(manifest: str | os.PathLike, classifier, positive: int | None = None,
                          split_file: str | os.PathLike | None = None, parts: Sequence[str] = ("train",),
                          name: str = PSEUDO_MANIFEST_NAME, batch_size: int = 32, progress: bool = True) -> dict:
    """Label the manifest's images with ``classifier`` (a :class:`classify.scoring.Classifier`) and write the
    pseudo-labelled manifest ``name`` next to it (module docstring for which rows are labelled).

    ``positive``: binary tasks, the index of the positive class (default: MEL when present, else the second).
    Returns a summary: file, number labelled, threshold, class counts, what was left out and why.
    """
    from classify.data import read_manifest
    from classify.metrics import positive_index
    from classify.scoring import predict

    src = manifest_file(manifest)
    classes = list(classifier.info.classes)
    positive = positive_index(classes) if positive is None else positive
    samples, skipped = read_manifest(src)
    note = None
    if split_file is not None:
        from classify.splits import select_parts

        total = len(samples)
        samples, note = select_parts(samples, split_file, parts)
        dropped = total - len(samples)
    else:
        dropped = 0
    if not samples:
        raise ValueError(f"{src}: no rows to pseudo-label" + (f" ({note})" if note else ""))
    prediction = predict(classifier, samples, batch_size, progress=progress, desc="pseudo-labelling")
    base = src.resolve().parent
    outputs = [os.path.relpath(s.path, base) for s in prediction.samples]
    labels, scores, threshold = pseudo_labels(prediction.probs, classes, positive)
    target = write_pseudo_manifest(src, {o: (s, lab) for o, s, lab in zip(outputs, scores, labels)}, name)
    counts = {c: labels.count(c) for c in classes}
    summary = {"manifest": str(target), "n": len(outputs), "threshold": threshold, "counts": counts,
               "positive": classes[positive] if len(classes) == 2 else None, "dropped": dropped,
               "split": note, "skipped": skipped + prediction.skipped}
    from classify.files import write_json
    from classify.versions import run_record

    record = write_json(record_path(src.parent / name), run_record(
        "nst_aug.pseudo_label", source=str(src.resolve()),
        model=str(classifier.path.resolve()) if classifier.path else None, classes=classes,
        **{k: v for k, v in summary.items() if k != "skipped"}, skipped_inputs=summary["skipped"]))
    return {**summary, "record": str(record)}


def record_path(labelled: str | os.PathLike) -> Path:
    """The JSON beside a labelled manifest (``manifest-pseudo.csv`` → ``manifest-pseudo.json``) that records the
    labeller, threshold, counts, skipped inputs and library versions."""
    return Path(labelled).with_suffix(".json")


def build_parser() -> argparse.ArgumentParser:
    p = Parser(prog="python -m nst_aug.pseudo_label", description=__doc__.split("\n")[0])
    p.add_argument("--manifest", required=True, metavar="PATH", help="generator manifest (file or OUT folder)")
    p.add_argument("--model", required=True, metavar="FILE",
                   help="a saved classify model (.keras) trained on the real data")
    p.add_argument("--classes", action=ClassList, help="the model's class order (only for a model that records "
                                                       "none; refused when it contradicts the record)")
    p.add_argument("--positive", default=None, help="binary: the positive class (default: MEL, else the second)")
    add_split_selection(p, "label images made from")
    p.add_argument("--name", default=PSEUDO_MANIFEST_NAME, help="file name of the labelled manifest")
    p.add_argument("--overwrite", action="store_true", help="replace an existing labelled manifest")
    p.add_argument("--batch-size", type=positive_int, default=32)
    add_verbosity(p)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """The command line (default ``sys.argv[1:]``) → exit status (errors: one line, status 2)."""
    return run_main(_main, argv)


def _main(argv: Sequence[str]) -> int:
    args = build_parser().parse_args(argv)
    src = manifest_file(args.manifest)
    if not src.is_file():
        raise CLIError(f"--manifest {args.manifest}: no manifest found")
    check_output_dir(src.parent, "--manifest")
    refuse_to_replace(src.parent, (args.name, record_path(args.name).name), args.overwrite,
                      "--name for another file")
    from classify.scoring import load_classifier

    classifier = load_classifier(args.model, args.classes)
    classes = list(classifier.info.classes)
    if args.positive is not None and args.positive not in classes:
        raise CLIError(f"--positive {args.positive} is not among the model's classes {classes}")
    pos = classes.index(args.positive) if args.positive else None
    summary = pseudo_label_manifest(args.manifest, classifier, pos, args.split_file, args.part, args.name,
                                    args.batch_size, progress=not args.quiet)
    report_skipped(summary["skipped"], limit=skipped_limit(args))
    print(json.dumps({k: v for k, v in summary.items() if k != "skipped"} | {"skipped": len(summary["skipped"])},
                     indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
