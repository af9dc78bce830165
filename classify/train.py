"""``python -m classify.train``: data → split → (augment) → model → fit → report, all in one output folder.

Examples::

    python -m classify.train                                   # embedded 10-image ISIC sample, small CNN, 2 epochs
    python -m classify.train --data ../shared/data/isic_uda1 --classes NV MEL --arch vgg9 --size 64 --epochs 5 \
        --augment mikolajczyk --out runs/uda1
    python -m classify.train --folders .../101_ObjectCategories --split per-class --n-per-class 10 \
        --static-copies 1 --arch small_cnn                     # Gauld
    python -m classify.train --data ... --arch resnet50 --lr-find --one-cycle --freeze-epochs 1   # thesis
    python -m classify.train --data ... --arch cho_vgg16 --optimizer sgd --lr 0.005 --epochs 50 \
        --split per-class --n-per-class 41                     # Cho

Writes ``OUT/run.json``, ``split.csv``, ``history.csv``, ``best.keras``, ``model.keras``, ``report.md``,
``report.json``, ``roc.png``, ``confusion_matrix.png``, ``learning_curves.png`` (and ``lr_find.png``).
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from .augment import MIKOLAJCZYK_AUGMENT, AffineAugment
from .cli import (CLIError, add_data_args, load_real_samples, ordered_classes, positive_index, print_options,
                  read_synthetic, run_main, save_run_options, write_split)
from .data import class_counts
from .models import ARCHITECTURES
from .pipeline import RESIZE_METHODS


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m classify.train", description=__doc__.split("\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    add_data_args(p)
    p.add_argument("--manifest", action="append", default=[],
                   help="generator manifest (file or folder) whose images are added to TRAINING only (repeatable)")
    p.add_argument("--label-column", default="label", help="manifest column holding the label")
    s = p.add_argument_group("split")
    s.add_argument("--split", choices=("stratified", "per-class", "kfold"), default="stratified")
    s.add_argument("--fractions", nargs=3, type=float, default=[0.8, 0.1, 0.1], metavar=("TRAIN", "VAL", "TEST"))
    s.add_argument("--n-per-class", type=int, default=10, help="per-class split: training images per class")
    s.add_argument("--folds", type=int, default=5)
    s.add_argument("--fold", type=int, default=0, help="k-fold: which fold is the test set")
    s.add_argument("--val-fraction", type=float, default=0.1, help="k-fold: share of non-test real images for val")
    s.add_argument("--synthetic-only", action="store_true",
                   help="k-fold: train on manifest images only (Mikołajczyk), real images validate and test")
    m = p.add_argument_group("model and input")
    m.add_argument("--arch", choices=ARCHITECTURES, default="small_cnn")
    m.add_argument("--size", type=int, default=None, help="input side in px (default 224; cho_vgg16 256)")
    m.add_argument("--resize-method", choices=RESIZE_METHODS, default="bilinear")
    m.add_argument("--fit", choices=("crop", "squash"), default="crop")
    m.add_argument("--weights", default="imagenet",
                   help="densenet121/resnet50: imagenet, random, or a weights file for the backbone")
    m.add_argument("--dropout", type=float, default=None)
    m.add_argument("--fc-units", type=int, default=None)
    a = p.add_argument_group("augmentation")
    a.add_argument("--augment", choices=("none", "mikolajczyk", "custom"), default="none")
    for name, default in (("rotation-range", 0.0), ("zoom-range", 0.0), ("shear-range", 0.0),
                          ("width-shift-range", 0.0), ("height-shift-range", 0.0)):
        a.add_argument(f"--{name}", type=float, default=default, help="custom augmentation (ImageDataGenerator units)")
    a.add_argument("--horizontal-flip", action="store_true")
    a.add_argument("--vertical-flip", action="store_true")
    a.add_argument("--fill-mode", choices=("nearest", "reflect", "wrap", "constant"), default="nearest")
    a.add_argument("--static-copies", type=int, default=0,
                   help="Gauld: pre-generated translated+rotated copies per training image")
    t = p.add_argument_group("training")
    t.add_argument("--epochs", type=int, default=2)
    t.add_argument("--batch-size", type=int, default=16)
    t.add_argument("--optimizer", choices=("adam", "sgd"), default="adam")
    t.add_argument("--lr", type=float, default=None, help="learning rate (default: adam 1e-3, sgd 0.005 = Cho)")
    t.add_argument("--momentum", type=float, default=None)
    t.add_argument("--one-cycle", action="store_true", help="fastai 1cycle schedule + cyclic momentum (thesis)")
    t.add_argument("--lr-find", action="store_true", help="run fastai's LR finder first (plot lr_find.png); with "
                   "--one-cycle and no --lr its suggestion becomes max_lr")
    t.add_argument("--freeze-epochs", type=int, default=0,
                   help="epochs with the backbone frozen before unfreezing (densenet121/resnet50; implies 1cycle)")
    t.add_argument("--class-weight", choices=("none", "balanced"), default="none")
    t.add_argument("--patience", type=int, default=10, help="early stopping patience (0 = off)")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--tensorboard", action="store_true")
    t.add_argument("--cache", default="memory", help="'memory', 'none' or a cache file prefix")
    t.add_argument("--out", default=None, help="output folder (default runs/ARCH-TIME)")
    t.add_argument("--quiet", action="store_true", help="no per-batch progress bars")
    return p


def _augment_config(args) -> AffineAugment | None:
    if args.augment == "none":
        return None
    if args.augment == "mikolajczyk":
        return MIKOLAJCZYK_AUGMENT
    return AffineAugment(args.rotation_range, args.zoom_range, args.shear_range, args.width_shift_range,
                         args.height_shift_range, args.horizontal_flip, args.vertical_flip, args.fill_mode)


def _split(args, samples):
    from .splits import per_class_split, stratified_group_kfold, stratified_split
    if args.split == "stratified":
        return stratified_split(samples, args.fractions, args.seed)
    if args.split == "per-class":
        return per_class_split(samples, args.n_per_class, args.seed)
    if not 0 <= args.fold < args.folds:
        raise CLIError(f"--fold must be in 0..{args.folds - 1}, got {args.fold}")
    folds = stratified_group_kfold(samples, args.folds, args.seed,
                                   1.0 if args.synthetic_only else args.val_fraction, not args.synthetic_only)
    return folds[args.fold]


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.epochs < 1 or args.batch_size < 1:
        raise CLIError("--epochs and --batch-size must be >= 1")
    out = Path(args.out or f"runs/{args.arch}-{time.strftime('%Y%m%d-%H%M%S')}").resolve()
    print_options(args, parser)

    # ---- data and split (before TensorFlow is imported: bad input fails fast) ----
    real, skipped, description = load_real_samples(args)
    for reason in skipped[:5]:
        print(f"skipped: {reason}", file=sys.stderr)
    if len(skipped) > 5:
        print(f"skipped: ... and {len(skipped) - 5} more", file=sys.stderr)
    synthetic = read_synthetic(args.manifest, args.label_column)
    classes = ordered_classes(real, args.classes)
    if len(classes) < 2:
        raise CLIError(f"need at least two classes, found {classes} in {description}")
    synthetic = [s for s in synthetic if s.label in classes]
    print(f"data: {description}: {len(real)} real images {class_counts(real)}, {len(synthetic)} synthetic")
    split = _split(args, real + synthetic)
    if args.static_copies:
        from .augment import static_augment
        split.train += static_augment([s for s in split.train if not s.synthetic], out / "static",
                                      copies=args.static_copies, seed=args.seed)
    print(f"split ({args.split}): train {len(split.train)} {class_counts(split.train)}, val {len(split.val)}, "
          f"test {len(split.test)}; {len(split.dropped)} synthetic dropped (their source/style is held out)")
    if not split.train:
        raise CLIError("the training set is empty")
    out.mkdir(parents=True, exist_ok=True)
    write_split(out / "split.csv", {"train": split.train, "val": split.val, "test": split.test})
    (out / "history.csv").unlink(missing_ok=True)  # CSVLogger appends (freeze-then-unfreeze phases)

    # ---- TensorFlow from here on ----
    import warnings
    warnings.filterwarnings("ignore", message=".*(ran out of data|shuffle=True. was passed).*")
    import numpy as np

    from .metrics import compute_metrics
    from .models import build_model
    from .pipeline import dataset_arrays, make_dataset, scan_samples
    from .report import read_history_csv, write_report
    from .training import (class_weights, compile_model, fine_tune, fit, lr_find, set_seeds)
    from .augment import affine_augmentation

    set_seeds(args.seed)
    size = args.size or (256 if args.arch == "cho_vgg16" else 224)
    cache = {"memory": True, "none": False}.get(args.cache, args.cache)
    aug_cfg = _augment_config(args)
    augment = affine_augmentation(aug_cfg, seed=args.seed) if aug_cfg and not aug_cfg.is_identity() else None

    def dataset(samples, train: bool):
        kept, flags, bad = scan_samples(samples)
        for reason in bad:
            print(f"skipped: {reason}", file=sys.stderr)
        if not kept:
            return None, []
        ds = make_dataset(kept, classes, size, args.batch_size, args.resize_method, args.fit, shuffle=train,
                          seed=args.seed, cache=cache, augment=augment if train else None, safe_flags=flags)
        return ds, kept

    train_ds, train_kept = dataset(split.train, True)
    val_ds, _ = dataset(split.val, False) if split.val else (None, [])
    test_samples = split.test or split.val
    test_ds, test_kept = dataset(test_samples, False) if test_samples else (None, [])

    model = build_model(args.arch, len(classes), size, args.dropout, args.weights, args.fc_units)
    print(f"model: {model.name}, {model.count_params():,} parameters, weights: {model.weights_source}")
    lr = args.lr if args.lr is not None else (0.005 if args.optimizer == "sgd" else 1e-3)
    from .pipeline import encode_labels
    train_labels = encode_labels(train_kept, classes)
    cw = class_weights(train_labels, len(classes)) if args.class_weight == "balanced" else None
    steps = int(np.ceil(len(train_kept) / args.batch_size))
    save_run_options(out, args, parser, classes=classes, image_size=size, weights_source=model.weights_source,
                     augmentation=aug_cfg.to_dict() if aug_cfg else None, data=description,
                     split_sizes={"train": len(split.train), "val": len(split.val), "test": len(split.test)})

    if args.lr_find:
        compile_model(model, args.optimizer, 1e-7, args.momentum)
        found = lr_find(model, train_ds, num_it=min(100, max(20, 5 * steps)))
        found.plot(out / "lr_find.png")
        print(f"lr_find: suggestion {found.suggestion}")
        if args.lr is None and args.one_cycle and found.suggestion:
            lr = found.suggestion
    patience = args.patience or None
    if args.freeze_epochs or args.one_cycle:
        history = fine_tune(model, train_ds, val_ds, out, args.freeze_epochs,
                            args.epochs - args.freeze_epochs if args.freeze_epochs else args.epochs, lr, steps,
                            args.optimizer, patience, cw, verbose=2 if args.quiet else "auto")
    else:
        compile_model(model, args.optimizer, lr, args.momentum)
        history = fit(model, train_ds, val_ds, args.epochs, out, patience, cw, args.tensorboard,
                      verbose=2 if args.quiet else "auto")
    model.save(out / "model.keras")

    if test_ds is None:
        print("no validation/test images: no report")
        return 0
    x, y = dataset_arrays(test_ds)
    probs = model.predict(x, batch_size=args.batch_size, verbose=0)
    pos = positive_index(classes)
    metrics = compute_metrics(y, probs, classes, pos)
    part = "test" if split.test else "val"
    files = write_report(out, metrics, y, probs, read_history_csv(out / "history.csv") or history,
                         options=vars(args), title=f"{args.arch} on {part} ({len(y)} images)", positive=pos)
    auc = metrics["auc"]
    print(f"{part}: accuracy {metrics['accuracy']:.3f}, balanced accuracy {metrics['balanced_accuracy']:.3f}, "
          f"AUC {'n/a' if auc is None else f'{auc:.3f}'} ({metrics['auc_kind']})")
    print(f"report: {files['md']}")
    return 0


if __name__ == "__main__":
    sys.exit(run_main(main))
