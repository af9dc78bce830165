"""``python -m classify.evaluate``: a saved model on a dataset → report (markdown + JSON) and plots.

Examples::

    python -m classify.evaluate --model runs/uda1/model.keras                  # the run's own test split
    python -m classify.evaluate --model runs/uda1/model.keras --part val
    python -m classify.evaluate --model m.keras --data ../shared/data/isic_uda1 --out eval/

Class order, input size, resize method and fit are those recorded in the model file
(:mod:`classify.scoring`); ``--classes`` is needed only for a model without that record, and is refused when it
contradicts the record. With no data arguments the model's run folder's ``split.csv`` part (default ``test``)
is evaluated.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Sequence

from .cli import (CLIError, Parser, add_data_args, add_output_args, add_verbosity, check_output_dir, has_data_args,
                  load_real_samples, positive_int, refuse_to_replace, report_skipped, run_main, skipped_limit)

#: What an evaluation writes into its folder (``--overwrite`` replaces these and nothing else).
REPORT_FILES = ("report.md", "report.json", "roc.png", "confusion_matrix.png")


def build_parser() -> argparse.ArgumentParser:
    p = Parser(prog="python -m classify.evaluate", description=__doc__)
    p.add_argument("--model", required=True, metavar="FILE", help="a .keras model saved by classify.train")
    add_data_args(p)
    p.add_argument("--split-file", metavar="FILE",
                   help="a split.csv (default: the one next to the model, when no data is given)")
    p.add_argument("--part", nargs="+", default=["test"], choices=("train", "val", "test", "pool"),
                   help="the split file's part(s) to evaluate")
    p.add_argument("--batch-size", type=positive_int, default=32)
    add_output_args(p, what="report folder (default: MODEL_FOLDER/eval-PART or eval-data)")
    add_verbosity(p)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """The command line (default ``sys.argv[1:]``) → exit status (errors: one line, status 2)."""
    return run_main(_main, argv)


def _main(argv: Sequence[str]) -> int:
    args = build_parser().parse_args(argv)
    model_path = Path(args.model)
    if not model_path.is_file():
        raise CLIError(f"--model {model_path}: file not found")
    part = "-".join(args.part)
    out = check_output_dir(args.out or model_path.parent / (f"eval-{part}" if not has_data_args(args)
                                                            else "eval-data"))
    refuse_to_replace(out, REPORT_FILES, args.overwrite)
    skipped: list[str] = []
    if has_data_args(args):
        samples, skipped, description = load_real_samples(args)
        report_skipped(skipped, limit=skipped_limit(args))
        classes_given = args.classes
    else:
        from .data import read_image_list

        split_file = Path(args.split_file) if args.split_file else model_path.parent / "split.csv"
        if not split_file.is_file():
            raise CLIError(f"no data given and no split file {split_file}: pass --data, --csv or --folders")
        samples = read_image_list(split_file, parts=args.part)
        description = f"{split_file} ({'+'.join(args.part)})"
        classes_given = args.classes

    from .metrics import compute_metrics, positive_index, summary_line
    from .report import write_report
    from .scoring import load_classifier, predict

    classifier = load_classifier(model_path, classes_given)
    classes = classifier.info.classes
    samples = [s for s in samples if s.label in classes]
    if not samples:
        raise CLIError(f"no images of the classes {list(classes)} in {description}")
    prediction = predict(classifier, samples, args.batch_size, progress=not args.quiet)
    report_skipped(prediction.skipped, limit=skipped_limit(args))
    y, probs = prediction.labels(), prediction.probs
    pos = positive_index(classes)
    metrics = compute_metrics(y, probs, classes, pos)
    from .versions import run_record

    files = write_report(out, metrics, y, probs, options={**vars(args), "data": description},
                         title=f"{model_path.name} on {description}", positive=pos,
                         record=run_record("classify.evaluate", model=str(model_path.resolve()),
                                           skipped_inputs=skipped + prediction.skipped))
    print(f"{len(y)} images: {summary_line(metrics)}")
    print(f"report: {files['md']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
