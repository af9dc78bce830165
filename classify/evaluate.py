"""``python -m classify.evaluate``: a saved model on a dataset → report (markdown + JSON) and plots.

Examples::

    python -m classify.evaluate --model runs/uda1/model.keras                  # the run's own test split
    python -m classify.evaluate --model runs/uda1/model.keras --part val
    python -m classify.evaluate --model m.keras --data ../shared/data/isic_uda1 --classes MEL NV --out eval/

Classes, input size and resize settings come from ``run.json`` next to the model when it exists (``--classes``
otherwise). With no data arguments the run's ``split.csv`` part (default ``test``) is evaluated.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .cli import (CLIError, add_data_args, load_real_samples, ordered_classes, positive_index, read_split,
                  run_main)
from .pipeline import RESIZE_METHODS


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m classify.evaluate", description=__doc__.split("\n")[0])
    p.add_argument("--model", required=True, help="a .keras model saved by classify.train")
    add_data_args(p)
    p.add_argument("--split-csv", help="a split.csv (default: the one next to the model, when no data is given)")
    p.add_argument("--part", default="test", choices=("train", "val", "test"))
    p.add_argument("--size", type=int, default=None)
    p.add_argument("--resize-method", choices=RESIZE_METHODS, default=None)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--out", default=None, help="report folder (default: MODEL_FOLDER/eval-PART or eval-data)")
    return p


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    model_path = Path(args.model)
    if not model_path.is_file():
        raise CLIError(f"--model {model_path}: file not found")
    run_file = model_path.parent / "run.json"
    run = json.loads(run_file.read_text()) if run_file.is_file() else {}
    has_data = any(getattr(args, k) for k in ("isic_csv", "folders", "data"))
    if has_data:
        samples, skipped, description = load_real_samples(args)
        for reason in skipped[:5]:
            print(f"skipped: {reason}", file=sys.stderr)
    else:
        split_csv = Path(args.split_csv) if args.split_csv else model_path.parent / "split.csv"
        if not split_csv.is_file():
            raise CLIError(f"no data given and no split file {split_csv}: pass --data/--isic-csv/--folders")
        samples, description = read_split(split_csv, args.part), f"{split_csv} ({args.part})"
    classes = run.get("classes") or (ordered_classes(samples, args.classes) if args.classes else None)
    if not classes:
        raise CLIError("unknown class order: no run.json next to the model; pass --classes in the model's order")
    samples = [s for s in samples if s.label in classes]
    if not samples:
        raise CLIError(f"no images of the classes {classes} in {description}")
    size = args.size or run.get("image_size") or 224
    opts = run.get("options", {})
    method = args.resize_method or opts.get("resize_method", "bilinear")

    from . import models
    from .metrics import compute_metrics
    from .pipeline import dataset_arrays, make_dataset
    from .report import write_report

    model = models.load_classifier(model_path)
    ds = make_dataset(samples, classes, size, args.batch_size, method, opts.get("fit", "crop"), cache=False)
    x, y = dataset_arrays(ds)
    probs = model.predict(x, batch_size=args.batch_size, verbose=1)
    pos = positive_index(classes)
    metrics = compute_metrics(y, probs, classes, pos)
    out = Path(args.out) if args.out else model_path.parent / (f"eval-{args.part}" if not has_data else "eval-data")
    files = write_report(out, metrics, y, probs, options={**vars(args), "data": description},
                         title=f"{model_path.name} on {description}", positive=pos)
    auc = metrics["auc"]
    print(f"{len(y)} images: accuracy {metrics['accuracy']:.3f}, balanced accuracy "
          f"{metrics['balanced_accuracy']:.3f}, AUC {'n/a' if auc is None else f'{auc:.3f}'}")
    print(f"report: {files['md']}")
    return 0


if __name__ == "__main__":
    sys.exit(run_main(main))
