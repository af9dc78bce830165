"""Path-Rank-Filter (thesis §7.2.3, after Wei et al.): keep the images a classifier is surest about.

Given a trained ``classify`` model (any ``keras.Model`` with softmax outputs over ``classes``) and the
training images of one class ``c``: predict them, keep those classified correctly (``argmax = c``), rank them by
the confidence ``P(c | x)`` (highest first) and keep the first ``ceil(α · n)``, where ``n`` is the number
classified correctly ("pick an α of the images that the classifier predicted correctly with the highest
confidence", §7.2.3; α ∈ {1/8, 1/4, 1/2, 1} in §7.3). The kept list is written as a manifest the CycleGAN
training takes as a domain (``--domain-b filtered/manifest.csv``).

CLI::

    python -m gan_aug.path_rank_filter --model clf.keras --classes MEL,NV --isic-csv GT.csv --class MEL \\
        --alpha 0.125 --out prf_mel_1of8
"""
from __future__ import annotations

import argparse
import math
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from classify.images import ImageError, load_square
from classify.manifest import ManifestWriter


@dataclass(frozen=True)
class Ranked:
    """One image of the class: its confidence ``P(class | x)``, the predicted class and its rank (1 = surest)."""

    path: str
    label: str
    confidence: float
    predicted: str
    correct: bool
    rank: int = 0


def predict_probabilities(model, paths: Sequence[str], size: int, batch_size: int = 32,
                          preprocess: Callable[[np.ndarray], np.ndarray] | None = None):
    """Softmax outputs for ``paths`` (loaded as ``size`` squares, float32 0..255, as ``classify`` models take).

    Returns ``(probabilities (n_ok, n_classes), ok_paths, skipped_reasons)``.
    """
    arrays, ok, skipped = [], [], []
    for p in paths:
        try:
            arrays.append(load_square(p, size).astype("float32"))
            ok.append(p)
        except ImageError as err:
            skipped.append(str(err))
    if not arrays:
        return np.zeros((0, 0)), ok, skipped
    x = np.stack(arrays)
    if preprocess is not None:
        x = preprocess(x)
    probs = np.asarray(model.predict(x, batch_size=batch_size, verbose=0))
    return probs, ok, skipped


def rank_by_confidence(probs: np.ndarray, paths: Sequence[str], target: str, classes: Sequence[str]) -> list[Ranked]:
    """Every image with its confidence for ``target``; correctly classified ones first, by confidence (desc)."""
    t = list(classes).index(target)
    pred = probs.argmax(axis=1)
    items = [Ranked(p, target, float(probs[i, t]), classes[pred[i]], bool(pred[i] == t))
             for i, p in enumerate(paths)]
    # stable sort: ties keep input order
    items.sort(key=lambda r: (not r.correct, -r.confidence))
    return [Ranked(r.path, r.label, r.confidence, r.predicted, r.correct, i + 1) for i, r in enumerate(items)]


def path_rank_filter(model, paths: Sequence[str], target: str, classes: Sequence[str], alpha: float,
                     size: int | None = None, batch_size: int = 32, preprocess=None):
    """Keep ``ceil(alpha * n_correct)`` correctly classified images of ``target``, surest first.

    ``paths`` are the class's training images; ``size`` defaults to the model's input size. Returns
    ``(kept, ranked_all, skipped_reasons)``.
    """
    if not 0 < alpha <= 1:
        raise ValueError(f"alpha must be in (0, 1], got {alpha}")
    if target not in classes:
        raise ValueError(f"class {target!r} is not among the model's classes {list(classes)}")
    size = size or int(model.input_shape[1])
    probs, ok, skipped = predict_probabilities(model, paths, size, batch_size, preprocess)
    if probs.size and probs.shape[1] != len(classes):
        raise ValueError(f"the model has {probs.shape[1]} outputs but {len(classes)} classes were named")
    ranked = rank_by_confidence(probs, ok, target, classes) if ok else []
    n_correct = sum(r.correct for r in ranked)
    keep = math.ceil(alpha * n_correct - 1e-9)
    return ranked[:keep], ranked, skipped


def write_filtered(out_dir: str | os.PathLike, kept: Sequence[Ranked], alpha: float, model_path: str = "") -> Path:
    """Write the kept images as ``OUT/manifest.csv`` (``output`` = ``source`` = the real image, absolute).

    Extra columns: ``confidence``, ``rank``, ``alpha``. ``classify.data.read_manifest`` and the CycleGAN training
    (``--domain-b OUT``) read it back. An existing manifest in OUT is replaced.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "manifest.csv").unlink(missing_ok=True)
    with ManifestWriter(out, extra_columns=("confidence", "rank", "alpha")) as w:
        for r in kept:
            p = str(Path(r.path).resolve())
            w.write({"output": p, "source": p, "label": r.label, "method": "path_rank_filter",
                     "weights": model_path, "confidence": f"{r.confidence:.6f}", "rank": r.rank, "alpha": alpha})
    return out / "manifest.csv"


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m gan_aug.path_rank_filter", description=__doc__.split("\n\n")[0])
    p.add_argument("--model", required=True, help="a saved classify model (.keras)")
    p.add_argument("--classes", required=True, help="the model's classes in output order, comma-separated")
    p.add_argument("--class", dest="target", required=True, help="the class to filter (e.g. MEL)")
    p.add_argument("--alpha", type=float, required=True, help="fraction kept, e.g. 0.125 (thesis: 1/8..1)")
    p.add_argument("--isic-csv", help="ISIC 2019 ground-truth CSV; the class's rows are the images")
    p.add_argument("--image-dir", help="images of --isic-csv")
    p.add_argument("--images", help="instead: a folder or manifest .csv holding the class's training images")
    p.add_argument("--size", type=int, help="input size (default: the model's)")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--out", required=True, help="output folder for manifest.csv")
    args = p.parse_args(argv)
    from classify.models import load_classifier

    from .data import resolve_selection

    classes = [c for c in args.classes.split(",") if c]
    spec = args.target if args.isic_csv else args.images
    if not spec:
        p.error("give --isic-csv or --images")
    samples, skipped = resolve_selection(spec, args.isic_csv, args.image_dir)
    model = load_classifier(args.model)
    kept, ranked, bad = path_rank_filter(model, [s.path for s in samples], args.target, classes, args.alpha,
                                         args.size, args.batch_size)
    for reason in skipped + bad:
        print(f"skipped: {reason}")
    path = write_filtered(args.out, kept, args.alpha, str(Path(args.model).resolve()))
    n_ok = sum(r.correct for r in ranked)
    print(f"{args.target}: {len(ranked)} images, {n_ok} classified correctly, kept {len(kept)} "
          f"(alpha {args.alpha}) -> {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
