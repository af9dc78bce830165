r"""``python -m classify.train``: data → split → (augment) → model → fit → report, all in one output folder.

Examples::

    python -m classify.train                                   # embedded 10-image ISIC sample, small CNN, 2 epochs
    python -m classify.train --data ../shared/data/isic_uda1 --classes NV MEL --arch vgg9 --size 64 --epochs 5 \
        --augment mikolajczyk --out runs/uda1
    python -m classify.train --folders .../101_ObjectCategories --split per-class --n-per-class 10 \
        --static-copies 1 --arch small_cnn                     # Gauld
    python -m classify.train --data ... --arch resnet50 --lr-find --one-cycle --freeze-epochs 1   # thesis
    python -m classify.train --data ... --arch cho_vgg16 --optimizer sgd --lr 0.005 --epochs 50 \
        --split per-class --n-per-class 41                     # Cho

A thin shell over :func:`classify.experiment.train_and_evaluate`: see there for what ``OUT`` receives
(``run.json``, ``split.csv``, ``history.csv``, ``model.keras``, ``report.md``, plots, ``result.json``).
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from typing import Sequence

from .choices import ARCHITECTURES, DISTRIBUTE, FILL_MODES, HEADS, OPTIMIZERS, RESIZE_METHODS
from .cli import (CLIError, Parser, add_data_args, add_output_args, add_seed, add_verbosity, check_classes,
                  check_output_dir, check_weights, dropout_rate, fraction, load_real_samples, nonnegative_int,
                  ordered_classes, positive_int, print_options, read_synthetic, report_skipped, run_main, size_arg,
                  skipped_limit)
from .data import class_counts, class_names
from .images import usable
from .splits import Split, make_split, read_split_file, training_on_synthetic_only, with_synthetic

if TYPE_CHECKING:
    from .augment import AffineAugment
    from .experiment import TrainSpec


def build_parser() -> argparse.ArgumentParser:
    p = Parser(prog="python -m classify.train", description=__doc__.split("\n\nA thin")[0])
    add_data_args(p)
    p.add_argument("--manifest", action="append", default=[], metavar="PATH",
                   help="generator manifest (file or folder) whose images are added to TRAINING only (repeatable)")
    p.add_argument("--label-column", default="label", help="manifest column holding the label")
    s = p.add_argument_group("split")
    s.add_argument("--split", choices=("stratified", "per-class", "kfold"), default="stratified")
    s.add_argument("--split-file", metavar="FILE", help="reuse a split: the real images and parts of a split.csv (e.g. another "
                                        "run's); the data flags are then not needed")
    s.add_argument("--fractions", nargs=3, type=float, default=[0.8, 0.1, 0.1], metavar=("TRAIN", "VAL", "TEST"))
    s.add_argument("--n-per-class", type=positive_int, default=10, help="per-class split: training images per class")
    s.add_argument("--folds", type=positive_int, default=5, help="k-fold: number of folds")
    s.add_argument("--fold", type=nonnegative_int, default=0, help="k-fold: which fold is the test set")
    s.add_argument("--val-fraction", type=fraction, default=0.1, help="k-fold: share of non-test real images for val")
    s.add_argument("--synthetic-only", action="store_true",
                   help="train on manifest images only (Mikołajczyk): the real training images become the "
                        "synthesis pool (part 'pool': not trained on, but images made from them may train)")
    m = p.add_argument_group("model and input")
    m.add_argument("--arch", choices=ARCHITECTURES, default="small_cnn")
    m.add_argument("--size", type=size_arg, default=None, help="input side in px (default 224; cho_vgg16 256)")
    m.add_argument("--resize-method", choices=RESIZE_METHODS, default="bilinear")
    m.add_argument("--fit", choices=("crop", "squash"), default="crop")
    m.add_argument("--weights", default="auto",
                   help="pretrained architectures (densenet121, resnet50, vgg16_logreg): auto, imagenet, random, "
                        "or a weights file for the backbone")
    m.add_argument("--dropout", type=dropout_rate, default=None, help="dropout rate in [0, 1)")
    m.add_argument("--fc-units", type=int, default=None)
    a = p.add_argument_group("augmentation")
    a.add_argument("--augment", choices=("none", "mikolajczyk", "custom"), default="none")
    for name, default in (("rotation-range", 0.0), ("zoom-range", 0.0), ("shear-range", 0.0),
                          ("width-shift-range", 0.0), ("height-shift-range", 0.0)):
        a.add_argument(f"--{name}", type=float, default=default, help="custom augmentation (ImageDataGenerator units)")
    a.add_argument("--horizontal-flip", action="store_true")
    a.add_argument("--vertical-flip", action="store_true")
    a.add_argument("--fill-mode", choices=FILL_MODES, default="nearest")
    a.add_argument("--static-copies", type=nonnegative_int, default=0,
                   help="Gauld: pre-generated translated+rotated copies per training image")
    t = p.add_argument_group("training")
    t.add_argument("--epochs", type=positive_int, default=2)
    t.add_argument("--batch-size", type=positive_int, default=16)
    t.add_argument("--optimizer", choices=OPTIMIZERS, default="adam",
                   help="adamw = fastai v1's Adam (betas 0.9/0.99, true weight decay 1e-2; the thesis)")
    t.add_argument("--weight-decay", type=float, default=None, help="adamw's decoupled weight decay (default 1e-2)")
    t.add_argument("--lr", type=float, default=None, help="learning rate (default: adam 1e-3, sgd 0.005 = Cho)")
    t.add_argument("--momentum", type=float, default=None)
    t.add_argument("--one-cycle", action="store_true", help="fastai 1cycle schedule + cyclic momentum (thesis)")
    t.add_argument("--lr-find", action="store_true", help="run fastai's LR finder first (plot lr_find.png); with "
                   "--one-cycle and no --lr its suggestion becomes max_lr")
    t.add_argument("--freeze-epochs", type=nonnegative_int, default=0,
                   help="epochs with the backbone frozen before unfreezing (densenet121/resnet50; implies 1cycle)")
    t.add_argument("--head", choices=HEADS, default="default",
                   help="pretrained backbones: default (avg pool, dropout, softmax) or fastai's create_head")
    t.add_argument("--train-bn", action="store_true", help="keep the frozen backbone's BatchNorm trainable (fastai)")
    t.add_argument("--lr-spread", type=float, default=1.0, metavar="X",
                   help="after unfreezing: discriminative rates slice(lr/X, lr) over fastai's layer groups "
                        "(adamw; 1 = one rate)")
    t.add_argument("--fastai", action="store_true",
                   help="the thesis's fastai v1 recipe (classify.experiment.fastai_spec): fastai head, adamw, "
                        "frozen LR finder, 1cycle, train_bn, lr spread 100, bicubic; other flags still apply")
    t.add_argument("--class-weight", choices=("none", "balanced"), default="none")
    t.add_argument("--patience", type=nonnegative_int, default=10, help="early stopping patience (0 = off)")
    t.add_argument("--distribute", choices=DISTRIBUTE, default="none",
                   help="tf.distribute: mirrored = every local GPU, multiworker = several machines (TF_CONFIG)")
    add_seed(t, "seeds the split, weights, shuffling and augmentation")
    t.add_argument("--tensorboard", action="store_true")
    t.add_argument("--cache", default="memory",
                   help="decoded images: 'memory', 'none', or a cache file prefix in an existing folder "
                        "(with a folder part, e.g. ./cache/train or /scratch/train)")
    add_output_args(t, what="run folder (default runs/ARCH-TIME); one that holds the same run is reused, "
                            "another run is refused")
    add_verbosity(t)
    return p


def _augment_config(args) -> "AffineAugment | None":
    from .augment import MIKOLAJCZYK_AUGMENT, AffineAugment

    if args.augment == "none":
        return None
    if args.augment == "mikolajczyk":
        return MIKOLAJCZYK_AUGMENT
    return AffineAugment(args.rotation_range, args.zoom_range, args.shear_range, args.width_shift_range,
                         args.height_shift_range, args.horizontal_flip, args.vertical_flip, args.fill_mode)


def spec_from_args(args: argparse.Namespace) -> "TrainSpec":
    """The :class:`~classify.experiment.TrainSpec` the flags describe (``ValueError`` for a bad value). With
    ``--fastai`` the recipe's fields replace those left at their defaults."""
    import dataclasses

    from .experiment import TrainSpec, fastai_spec

    spec = TrainSpec(arch=args.arch, size=args.size, resize_method=args.resize_method, fit=args.fit,
                     weights=args.weights, dropout=args.dropout, fc_units=args.fc_units, augment=_augment_config(args),
                     static_copies=args.static_copies, epochs=args.epochs, batch_size=args.batch_size,
                     optimizer=args.optimizer, lr=args.lr, momentum=args.momentum, one_cycle=args.one_cycle,
                     lr_find=args.lr_find, freeze_epochs=args.freeze_epochs, class_weight=args.class_weight,
                     patience=args.patience, seed=args.seed, weight_decay=args.weight_decay, head=args.head,
                     train_bn=args.train_bn, lr_spread=args.lr_spread, distribute=args.distribute)
    if not args.fastai:
        return spec
    recipe, default = fastai_spec(args.arch), TrainSpec()
    fields = ("head", "optimizer", "lr_find", "one_cycle", "train_bn", "lr_spread", "resize_method", "freeze_epochs")
    return dataclasses.replace(spec, **{f: getattr(recipe, f) for f in fields
                                        if getattr(spec, f) == getattr(default, f)})


def split_from_args(args: argparse.Namespace) -> tuple[Split, list[str], str, list[str]]:
    """``(split, classes, data description, skipped reasons)``: the real images (the data flags, or the images of
    ``--split-file``) split as the flags say, the manifests' images added to training under the group rule."""
    if args.split_file:
        base = read_split_file(args.split_file)
        real = [s for part in base.parts().values() for s in part]
        skipped, description = [], f"split file {Path(args.split_file).resolve()}"
        if args.classes:
            check_classes(args.classes, class_names(real), description)
            real = [s for s in real if s.label in args.classes]
    else:
        real, skipped, description = load_real_samples(args)
    synthetic, bad = read_synthetic(args.manifest, args.label_column)
    skipped += bad
    # the decoding policy before the split: every count printed and recorded afterwards is of images used
    bars = not getattr(args, "quiet", False)
    real, bad = usable(real, progress=bars, desc="checking real images")
    synthetic, bad_synthetic = usable(synthetic, progress=bars, desc="checking synthetic images")
    skipped += bad + bad_synthetic
    classes = ordered_classes(real, args.classes)
    if len(classes) < 2:
        raise CLIError(f"need at least two classes, found {classes} in {description}")
    synthetic = [s for s in synthetic if s.label in classes]
    print(f"data: {description}: {len(real)} real images {class_counts(real)}, {len(synthetic)} synthetic")
    if args.split_file:
        keep, used = set(classes), {s.path for s in real}

        def kept(part):
            return [s for s in part if s.label in keep and s.path in used]

        base = Split(kept(base.train), kept(base.val), kept(base.test), pool=kept(base.pool))
        split = with_synthetic(base, synthetic)
    else:
        split = make_split(real + synthetic, args.split, args.seed, args.fractions, args.n_per_class, args.folds,
                           args.fold, args.val_fraction)
    if args.synthetic_only:
        split = training_on_synthetic_only(split)
    return split, classes, description, skipped


#: What ``--cache`` takes besides a cache file prefix.
CACHE_MODES = ("memory", "none")


def check_cache(value: str) -> None:
    """Refuse a ``--cache`` that is neither one of :data:`CACHE_MODES` nor a file prefix with a folder part in an
    existing folder: a bare word is a mistyped mode (``memroy`` would write ``memroy.index`` and ``memroy.data-*``
    into the working folder)."""
    if value in CACHE_MODES:
        return
    folder = Path(value).parent
    if os.sep not in value and "/" not in value:
        raise CLIError(f"--cache {value}: neither {' nor '.join(CACHE_MODES)}; a cache file prefix needs a folder "
                       f"part (./{value} for one in the working folder)")
    if not folder.is_dir():
        raise CLIError(f"--cache {value}: folder {folder} not found")


def check_args(args: argparse.Namespace) -> None:
    """The values argparse cannot check alone, before any work: ``--weights``, ``--cache``, ``--tensorboard``
    (it needs the ``tensorboard`` package)."""
    check_weights(args.weights)
    check_cache(args.cache)
    if args.tensorboard:
        import importlib.util

        if importlib.util.find_spec("tensorboard") is None:
            raise CLIError("--tensorboard needs the tensorboard package (pip install tensorboard)")


def main(argv: Sequence[str] | None = None) -> int:
    """The command line (default ``sys.argv[1:]``) → exit status (errors: one line, status 2)."""
    return run_main(_main, argv)


def _main(argv: Sequence[str]) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    check_args(args)
    spec = spec_from_args(args)
    out = check_output_dir(args.out or f"runs/{args.arch}-{time.strftime('%Y%m%d-%H%M%S')}").resolve()
    print_options(vars(args), {k: parser.get_default(k) for k in vars(args)})
    split, classes, description, skipped = split_from_args(args)  # before TensorFlow: bad input fails fast
    report_skipped(skipped, limit=skipped_limit(args))
    from .experiment import train_and_evaluate

    print(f"split ({'split file' if args.split_file else args.split}"
          f"{', synthetic only' if args.synthetic_only else ''}): {split.summary()}")
    result = train_and_evaluate(
        spec, split, classes, out, overwrite=args.overwrite, restart=args.overwrite, cache=args.cache,
        tensorboard=args.tensorboard, verbose=2 if args.quiet else "auto",
        record={"data": description, "command": " ".join([Path(sys.argv[0]).name] + sys.argv[1:]),
                "options": vars(args), "skipped_inputs": skipped})
    if result.cached:
        print(f"{out} already holds this run (same data, split and settings): nothing to do")
    if result.metrics is None:
        print("no validation/test images: no report")
        return 0
    from .metrics import summary_line

    print(f"{result.part}: {summary_line(result.metrics)}")
    print(f"report: {out / 'report.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
