"""Training CLI: ``python -m gan_aug.train {dcgan,acgan,cyclegan} --out RUN [data] [options]``.

Data (what ``classify`` reads, :func:`gan_aug.data.select_samples`):

- cyclegan: ``--domain-a SPEC --domain-b SPEC`` where SPEC is a folder of images, a manifest, an image list (a
  Path-Rank-Filter selection) or, with ``--isic-csv``, an ISIC class name (``--domain-a NV --domain-b MEL``);
- dcgan: ``--images SPEC`` (one class: Cho trains one DCGAN per class);
- acgan: ``--isic-csv CSV --classes NV,MEL`` or ``--folders ROOT [--classes ...]`` (class-per-folder tree).

``--split-file FILE --part train`` keeps only the real images of those parts of a ``classify`` split (the thesis
trains its GANs on the training images only, §6.2.1).

The run folder receives ``run.json`` (options with their sources, non-defaults flagged, data counts and skipped
files), ``training_images.csv`` (every real image the generator depends on: what its outputs' manifests point
to, so ``classify`` keeps them away from any fold that tests one of those images), ``samples/epoch_NNNN.png``
(fixed noise / inputs), ``history.csv`` and ``loss_curves.png``, and ``checkpoints/`` (every ``--save-every``
epochs and at the end, with the generators exported as ``.keras``). ``--resume`` restores the last checkpoint —
weights, optimizer slots, schedule position, image pools and random state — and continues exactly as an
uninterrupted run would. A non-finite loss stops training and keeps the last good checkpoint (exit code 3).
"""
from __future__ import annotations

import argparse
import dataclasses
import datetime as _dt
import os
import sys
import time
from pathlib import Path
from typing import Sequence

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402

from classify.cli import add_split_selection, format_options  # noqa: E402
from classify.files import read_json, write_csv, write_json  # noqa: E402
from classify.precision import resolve_precision  # noqa: E402

from . import options as O  # noqa: E402
from .base import compile_gan  # noqa: E402
from .callbacks import Checkpoint, LossHistory, SampleGrid, latest_checkpoint  # noqa: E402
from .data import ImageSet, dependencies, image_dataset, load_image_set, select_samples, unpaired_dataset  # noqa: E402
from .kinds import GANKind, get_kind  # noqa: E402
from .schedules import EpochLRSchedule, linear_decay_factor  # noqa: E402

RUN_JSON = "run.json"
TRAINING_IMAGES = "training_images.csv"
#: What a training run writes into its folder (``--overwrite`` removes these and nothing else).
RUN_FILES = (RUN_JSON, TRAINING_IMAGES, "history.csv", "loss_curves.png", "checkpoints", "samples")


# ------------------------------------------------------------------------------------------------ data
def load_data(kind: GANKind, opts, args) -> dict:
    """Resolve the data arguments to decoded image sets (module docstring); skipped files are reported.

    Returns ``{set name: ImageSet, "<set>_spec", "<set>_label", "classes" (ACGAN), "depends": [real images],
    "notes": [split notes]}``.
    """
    csv, image_dir = args.isic_csv, args.image_dir
    split_file, parts = args.split_file, args.part
    out: dict = {"notes": [], "depends": []}
    if kind.conditional:
        from classify.data import read_class_folders, read_isic_csv

        classes = [c for c in (args.classes or "").split(",") if c] or None
        if csv:
            samples, skipped = read_isic_csv(csv, image_dir, classes=classes)
        elif args.folders:
            samples, skipped = read_class_folders(args.folders, classes=classes)
        else:
            raise ValueError("acgan needs --isic-csv CSV or --folders ROOT")
        if split_file:
            from classify.splits import select_parts

            samples, note = select_parts(samples, split_file, parts)
            out["notes"].append(note)
        sets = {"images": (samples, skipped, opts.size)}
        out["classes"] = classes or sorted({x.label for x in samples})
    else:
        specs = {"a": args.domain_a, "b": args.domain_b} if kind.translates else {"images": args.images}
        sets = {}
        for name, spec in specs.items():
            samples, skipped, note = select_samples(spec, csv, image_dir, split_file, parts)
            if note:
                out["notes"].append(f"{spec}: {note}")
            sets[name] = (samples, skipped, opts.load_size if kind.translates else opts.size)
            prefix = "" if name == "images" else f"{name}_"
            out[f"{prefix}spec"] = spec
            out[f"{prefix}label"] = ((getattr(opts, "label", "") if name == "images" else "")
                                     or (samples[0].label if samples else "") or Path(spec).name)
    for name, (samples, skipped, size) in sets.items():
        image_set = load_image_set(samples, size, opts.resample)
        image_set.skipped[:0] = skipped
        out[name] = image_set
        used = set(image_set.paths)
        out["depends"] += dependencies([s for s in samples if s.path in used])
    out["depends"] = list(dict.fromkeys(out["depends"]))
    return out


def make_dataset(kind: GANKind, opts, data: dict, initial_epoch: int):
    """``(dataset, steps_per_epoch)`` covering epochs ``initial_epoch .. opts.epochs - 1``."""
    import numpy as np

    from .data import steps_per_epoch

    if kind.translates:
        return unpaired_dataset(data["a"].images, data["b"].images, opts.size, opts.batch_size, opts.seed,
                                initial_epoch, opts.epochs, opts.flip)
    s: ImageSet = data["images"]
    labels = None
    if kind.conditional:
        index = {c: i for i, c in enumerate(data["classes"])}
        labels = np.array([index[x] for x in s.labels], np.int32)
    ds = image_dataset(s.images, labels, opts.size, opts.batch_size, opts.seed, initial_epoch, opts.epochs, opts.flip)
    return ds, steps_per_epoch(len(s), opts.batch_size)


def data_record(kind: GANKind, data: dict) -> dict:
    """What went into the run, for ``run.json``."""
    def one(s: ImageSet):
        return {"images": len(s), "skipped": len(s.skipped), "skipped_reasons": s.skipped[:50],
                "first_paths": s.paths[:3]}
    record = {"split": data.get("notes", [])}
    for name in kind.data_sets:
        prefix = "" if name == "images" else f"{name}_"
        entry = {"spec": data.get(f"{prefix}spec"), "label": data.get(f"{prefix}label"), **one(data[name])}
        record[f"domain_{name}" if kind.translates else name] = entry
    if kind.conditional:
        record["classes"] = data["classes"]
        record["class_counts"] = {c: data["images"].labels.count(c) for c in data["classes"]}
    return record


def capped_batch(opts, data: dict, kind: GANKind):
    """``opts`` with the batch size lowered to the number of images when there are fewer (Cho's 41 images per
    class with DCGAN's batch of 128): every epoch then is one full batch instead of an error. A notice says so."""
    n = max(len(data[name]) for name in kind.data_sets)
    if 0 < n < opts.batch_size:
        print(f"notice: {n} training images are fewer than one batch of {opts.batch_size}; batch size {n}")
        return dataclasses.replace(opts, batch_size=n)
    return opts


# ------------------------------------------------------------------------------------------------ training
def train(kind: str, opts, out_dir: str | os.PathLike, data: dict, resume: bool = False, verbose: int = 2,
          command: Sequence[str] | None = None, extra_callbacks: Sequence[keras.callbacks.Callback] = ()) -> dict:
    """Train ``kind`` on decoded ``data`` into ``out_dir``; returns the final ``run.json`` record.

    With ``resume`` the newest checkpoint in ``out_dir`` is restored and training continues from its epoch.
    """
    gan = get_kind(kind)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    opts = capped_batch(opts, data, gan)
    n_classes = len(data.get("classes", [])) or 1
    model = compile_gan(gan.build(opts, n_classes), opts)
    start = 0
    if resume:
        found = latest_checkpoint(out)
        if found is None:
            print(f"--resume: no checkpoint in {out}; starting from epoch 0")
        else:
            start, path = found
            model.load_state(path)
            print(f"resumed from {path} (epoch {start})")
    depends = data.get("depends") or dependencies_of_sets(gan, data)
    write_csv(out / TRAINING_IMAGES, ["path"], ([p] for p in depends))
    record = {
        "kind": kind,
        "command": list(command) if command is not None else None,
        **O.options_record(opts),
        "data": data_record(gan, data),
        "training_images": TRAINING_IMAGES,
        "precision": resolve_precision(opts.precision),  # what "auto" became on this machine
        "status": "running",
        "initial_epoch": start,
        "started": _dt.datetime.now().isoformat(timespec="seconds"),
    }
    write_json(out / RUN_JSON, record)
    print(format_options(dataclasses.asdict(opts), O.defaults(opts), type(opts).__name__))
    if start >= opts.epochs:
        record.update(status="finished", epochs_done=start)
        write_json(out / RUN_JSON, record)
        return record

    ds, steps = make_dataset(gan, opts, data, start)
    ckpt = Checkpoint(out, opts.save_every, opts.epochs, generators=gan.generators)
    callbacks = [ckpt, SampleGrid(out, gan.sample_rows(opts, data)), LossHistory(out, start), *extra_callbacks]
    if gan.translates:
        factor = lambda e: linear_decay_factor(e, opts.n_epochs, opts.n_epochs_decay, opts.epoch_count)  # noqa: E731
        callbacks.insert(0, EpochLRSchedule(opts.lr, factor, ("g_optimizer", "d_optimizer")))
    t0 = time.time()
    history = model.fit(ds, epochs=opts.epochs, initial_epoch=start, steps_per_epoch=steps, callbacks=callbacks,
                        shuffle=False,  # the pipeline orders each epoch itself (see gan_aug.data)
                        verbose=verbose)
    if ckpt.stopped_on_nan:  # the run now stands at its last good checkpoint
        found = latest_checkpoint(out)
        done = found[0] if found else 0
    else:
        done = opts.epochs
    record.update(status="stopped_nan" if ckpt.stopped_on_nan else "finished", epochs_done=done,
                  seconds=round(time.time() - t0, 1),
                  last_losses={k: float(v[-1]) for k, v in history.history.items() if v},
                  finished=_dt.datetime.now().isoformat(timespec="seconds"))
    write_json(out / RUN_JSON, record)
    record["model"] = model
    return record


def dependencies_of_sets(gan: GANKind, data: dict) -> list[str]:
    """For callers that pass decoded image sets without samples: their files, taken as real images."""
    from classify.manifest import group_key

    return list(dict.fromkeys(group_key(p) for name in gan.data_sets for p in data[name].paths))


# ------------------------------------------------------------------------------------------------ CLI
def _parser() -> argparse.ArgumentParser:
    from .kinds import KINDS

    p = argparse.ArgumentParser(prog="python -m gan_aug.train", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="kind", required=True)
    for name, gan in KINDS.items():
        cls = gan.options
        s = sub.add_parser(name, help=(cls.__doc__ or "").strip().split("\n")[0])
        s.add_argument("--out", required=True, help="run folder")
        s.add_argument("--resume", action="store_true", help="continue from the run folder's last checkpoint")
        s.add_argument("--overwrite", action="store_true", help="start afresh in an existing run folder "
                                                                "(removes only what a training run wrote)")
        s.add_argument("--isic-csv", help="ISIC 2019 ground-truth CSV (class names then select images)")
        s.add_argument("--image-dir", help="images of --isic-csv (default CSV_FOLDER/images)")
        add_split_selection(s, "train on")
        s.add_argument("--verbose", type=int, default=2, help="Keras fit verbosity (0, 1 or 2)")
        spec_help = "folder, manifest, image list (.csv), or ISIC class (with --isic-csv)"
        if gan.translates:
            s.add_argument("--domain-a", required=True, help=spec_help)
            s.add_argument("--domain-b", required=True, help=spec_help)
        elif gan.conditional:
            s.add_argument("--folders", help="class-per-folder tree ROOT/<class>/<image>")
            s.add_argument("--classes", help="comma-separated classes (and their order)")
        else:
            s.add_argument("--images", required=True, help=spec_help)
        O.add_arguments(s, cls)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    from classify.cli import run_main

    return run_main(_main, list(sys.argv[1:] if argv is None else argv))


def _main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    gan = get_kind(args.kind)
    cls = gan.options
    opts = O.from_namespace(cls, args)
    out = Path(args.out)
    stored = read_json(out / RUN_JSON)
    if stored is not None and not (args.resume or args.overwrite):
        print(f"error: {out} already holds a run: use --resume to continue it or --overwrite to start afresh",
              file=sys.stderr)
        return 2
    if args.resume and stored is not None:
        if stored.get("kind") != args.kind:
            print(f"error: {out} holds a {stored.get('kind')} run, not {args.kind}", file=sys.stderr)
            return 2
        flags = {a.split("=", 1)[0] for a in argv if a.startswith("--")}
        given = {f for f in stored["options"] if {"--" + f.replace("_", "-"), "--no-" + f.replace("_", "-")} & flags}
        merged = {**stored["options"], **{f: getattr(opts, f) for f in given if f == "epochs"}}
        opts = cls(**merged)
        ignored = sorted(g for g in given if g != "epochs" and getattr(O.from_namespace(cls, args), g) != merged[g])
        if ignored:
            print(f"--resume keeps the run's stored options; ignoring {', '.join('--' + g for g in ignored)}")
    if args.overwrite and out.exists():
        import shutil

        for name in RUN_FILES:
            p = out / name
            shutil.rmtree(p, ignore_errors=True) if p.is_dir() else p.unlink(missing_ok=True)
    data = load_data(gan, opts, args)
    for note in data["notes"]:
        print(note)
    for name in gan.data_sets:
        s = data[name]
        for reason in s.skipped[:20]:
            print(f"skipped: {reason}")
        if len(s.skipped) > 20:
            print(f"... and {len(s.skipped) - 20} more skipped (listed in run.json)")
        if len(s) == 0:
            print(f"error: no usable images for {name}", file=sys.stderr)
            return 2
    record = train(args.kind, opts, out, data, resume=args.resume, verbose=args.verbose,
                   command=["python", "-m", "gan_aug.train", *argv])
    print(f"{record['status']}: {record['epochs_done']} epochs; run folder {out}")
    return 3 if record["status"] == "stopped_nan" else 0


if __name__ == "__main__":
    sys.exit(main())
