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

:func:`write_pseudo_manifest` copies a generator manifest to a new file next to it (default
``manifest-pseudo.csv``) with two new columns ``pseudo_score`` and ``pseudo_label``, written to a temporary
file and renamed (atomic: a reader sees the old file or the complete new one). Rows not labelled (e.g. images a
cross-validation fold may not use because of leakage) keep both columns empty.

CLI: ``python -m nst_aug.pseudo_label --manifest OUT --model labeller.keras --classes NV MEL --size 224``.
"""
from __future__ import annotations

import argparse
import csv
import os
import sys
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from classify.manifest import MANIFEST_NAME, read_manifest_rows

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
    src = Path(manifest)
    src = src / MANIFEST_NAME if src.is_dir() else src
    rows = read_manifest_rows(src)
    if not rows:
        raise ValueError(f"{src}: no manifest rows to label")
    with open(src, newline="", encoding="utf-8") as f:
        header = next(csv.reader(f))
    columns = [c for c in header if c not in PSEUDO_COLUMNS] + list(PSEUDO_COLUMNS)
    target = src.parent / name
    tmp = target.with_name(f".{target.name}.tmp")
    with open(tmp, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            score, label = labels.get(row["output"], (None, ""))
            row = dict(row, pseudo_score="" if score is None else f"{float(score):.6f}", pseudo_label=label)
            writer.writerow(row)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, target)
    return target


def predict_probs(model, paths: Sequence[str], image_size: int, class_names: Sequence[str],
                  batch_size: int = 32) -> np.ndarray:
    """Class probabilities (N, K) of ``model`` for the images at ``paths`` (decoded by :mod:`classify.pipeline`).

    Every path must decode (a synthetic image that cannot be read is an error, not a silent skip)."""
    from classify.data import Sample
    from classify.pipeline import dataset_arrays, make_dataset, scan_samples

    samples = [Sample(str(p), class_names[0]) for p in paths]
    kept, flags, skipped = scan_samples(samples)
    if skipped:
        raise ValueError(f"cannot read {len(skipped)} image(s) to pseudo-label: {skipped[0]}")
    ds = make_dataset(kept, class_names, image_size, batch_size, shuffle=False, cache=False, safe_flags=flags)
    x, _ = dataset_arrays(ds)
    return np.asarray(model.predict(x, batch_size=batch_size, verbose=0), dtype=float)


def pseudo_label_manifest(manifest: str | os.PathLike, model, class_names: Sequence[str], image_size: int,
                          positive: int = 1, outputs: Sequence[str] | None = None,
                          name: str = PSEUDO_MANIFEST_NAME, batch_size: int = 32) -> dict:
    """Label the manifest's images (all, or only the rows whose ``output`` is in ``outputs``) with ``model`` and
    write the pseudo-labelled manifest ``name`` next to it. Returns a summary: file, threshold, class counts."""
    src = Path(manifest)
    src = src / MANIFEST_NAME if src.is_dir() else src
    rows = read_manifest_rows(src)
    wanted = None if outputs is None else set(outputs)
    rows = [r for r in rows if wanted is None or r["output"] in wanted]
    if not rows:
        raise ValueError(f"{src}: no rows to pseudo-label")
    paths = [str((src.parent / r["output"]).resolve()) for r in rows]
    probs = predict_probs(model, paths, image_size, class_names, batch_size)
    labels, scores, threshold = pseudo_labels(probs, class_names, positive)
    target = write_pseudo_manifest(src, {r["output"]: (s, lab) for r, s, lab in zip(rows, scores, labels)}, name)
    counts = {c: labels.count(c) for c in class_names}
    return {"manifest": str(target), "n": len(rows), "threshold": threshold, "counts": counts,
            "positive": class_names[positive] if len(class_names) == 2 else None}


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m nst_aug.pseudo_label", description=__doc__.split("\n")[0])
    p.add_argument("--manifest", required=True, help="generator manifest (file or OUT folder)")
    p.add_argument("--model", required=True, help="a saved Keras classifier (.keras) trained on the real data")
    p.add_argument("--classes", nargs="+", required=True, help="class names in the model's output order")
    p.add_argument("--positive", default=None, help="binary: the positive class (default: the second)")
    p.add_argument("--size", type=int, default=224, help="the model's input side in px")
    p.add_argument("--name", default=PSEUDO_MANIFEST_NAME, help="file name of the labelled manifest")
    args = p.parse_args(argv)
    if args.positive is not None and args.positive not in args.classes:
        print(f"error: --positive {args.positive} is not among --classes {args.classes}", file=sys.stderr)
        return 2
    import json

    from classify.models import load_classifier

    model = load_classifier(args.model)
    pos = args.classes.index(args.positive) if args.positive else 1
    summary = pseudo_label_manifest(args.manifest, model, args.classes, args.size, pos, name=args.name)
    print(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
