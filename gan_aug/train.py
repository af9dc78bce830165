"""Training CLI: ``python -m gan_aug.train {dcgan,acgan,cyclegan} --out RUN [data] [options]``.

Data (what ``classify`` reads):

- cyclegan: ``--domain-a SPEC --domain-b SPEC`` where SPEC is a folder of images, a manifest ``.csv`` (e.g. the
  Path-Rank-Filter's output) or, with ``--isic-csv``, an ISIC class name (``--domain-a NV --domain-b MEL``);
- dcgan: ``--images SPEC`` (one class: Cho trains one DCGAN per class);
- acgan: ``--isic-csv CSV --classes NV,MEL`` or ``--folders ROOT [--classes ...]`` (class-per-folder tree).

The run folder receives ``run.json`` (options with their sources, non-defaults flagged, data counts and skipped
files), ``samples/epoch_NNNN.png`` (fixed noise / inputs), ``history.csv`` and ``loss_curves.png``, and
``checkpoints/`` (every ``--save-every`` epochs and at the end). ``--resume`` restores the last checkpoint —
weights, optimizer slots, schedule position, image pools and random state — and continues exactly as an
uninterrupted run would. A non-finite loss stops training and keeps the last good checkpoint (exit code 3).
"""
from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import sys
import time
from pathlib import Path
from typing import Sequence

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from classify.precision import resolve_precision  # noqa: E402

from . import options as O  # noqa: E402
from .callbacks import Checkpoint, LossHistory, SampleGrid, latest_checkpoint  # noqa: E402
from .data import ImageSet, center_crop_unit, image_dataset, load_image_set, resolve_selection, unpaired_dataset  # noqa: E402
from .schedules import EpochLRSchedule, linear_decay_factor  # noqa: E402

RUN_JSON = "run.json"


# ------------------------------------------------------------------------------------------------ building
def build_model(kind: str, opts, n_classes: int = 1):
    """The compiled model of ``kind`` for ``opts`` (``n_classes`` for ACGAN)."""
    from .acgan import build_acgan
    from .cyclegan import build_cyclegan, compile_cyclegan
    from .dcgan import build_dcgan, compile_gan

    if kind == "cyclegan":
        return compile_cyclegan(build_cyclegan(opts), opts)
    if kind == "dcgan":
        return compile_gan(build_dcgan(opts), opts)
    if kind == "acgan":
        return compile_gan(build_acgan(opts, n_classes), opts)
    raise ValueError(f"unknown model {kind!r}")


def fixed_noise(kind: str, opts, n: int) -> np.ndarray:
    """The grid's noise, drawn once from ``opts.seed`` (uniform for Cho's DCGAN, normal for ACGAN)."""
    rng = np.random.default_rng([opts.seed, 12345])
    if kind == "dcgan" and opts.noise == "uniform":
        return rng.uniform(-1, 1, (n, opts.latent_dim)).astype("float32")
    return rng.standard_normal((n, opts.latent_dim)).astype("float32")


def sample_rows_fn(kind: str, opts, data: dict):
    """A function ``model -> rows of images`` over fixed inputs, for :class:`SampleGrid`."""
    if kind == "cyclegan":
        k = max(1, min(opts.n_samples, len(data["a"]), len(data["b"])))
        a = center_crop_unit(data["a"].images[:k], opts.size)
        b = center_crop_unit(data["b"].images[:k], opts.size)

        def rows(model):  # real A, G_A(A), G_B(G_A(A)); real B, G_B(B), G_A(G_B(B))
            fb = model.gen_ab(a, training=False)
            fa = model.gen_ba(b, training=False)
            return [a, fb, model.gen_ba(fb, training=False), b, fa, model.gen_ab(fa, training=False)]
        return rows
    z = fixed_noise(kind, opts, opts.n_samples)
    if kind == "dcgan":
        return lambda model: [model.generator(z, training=False)]
    n_classes = len(data["classes"])

    def rows(model):  # one row per class, same noise in every row
        return [model.generator([z, np.full(len(z), c, "int32")], training=False) for c in range(n_classes)]
    return rows


# ------------------------------------------------------------------------------------------------ data
def load_data(kind: str, opts, args) -> dict:
    """Resolve the data arguments to decoded image sets (see module docstring); skipped files are reported."""
    csv = getattr(args, "isic_csv", None)
    image_dir = getattr(args, "image_dir", None)
    if kind == "cyclegan":
        out = {}
        for key, spec in (("a", args.domain_a), ("b", args.domain_b)):
            samples, skipped = resolve_selection(spec, csv, image_dir)
            s = load_image_set([x.path for x in samples], opts.load_size, opts.resample, [x.label for x in samples])
            s.skipped[:0] = skipped
            out[key] = s
            out[f"{key}_spec"] = spec
            out[f"{key}_label"] = (samples[0].label if samples else "") or Path(spec).name
        return out
    if kind == "dcgan":
        samples, skipped = resolve_selection(args.images, csv, image_dir)
        s = load_image_set([x.path for x in samples], opts.size, opts.resample, [x.label for x in samples])
        s.skipped[:0] = skipped
        return {"images": s, "spec": args.images, "label": opts.label or (samples[0].label if samples else "")}
    # acgan
    from classify.data import read_class_folders, read_isic_csv

    classes = [c for c in (args.classes or "").split(",") if c] or None
    if csv:
        samples, skipped = read_isic_csv(csv, image_dir, classes=classes)
    elif args.folders:
        samples, skipped = read_class_folders(args.folders, classes=classes)
    else:
        raise SystemExit("acgan needs --isic-csv CSV or --folders ROOT")
    names = classes or sorted({x.label for x in samples})
    s = load_image_set([x.path for x in samples], opts.size, opts.resample, [x.label for x in samples])
    s.skipped[:0] = skipped
    return {"images": s, "classes": names}


def make_dataset(kind: str, opts, data: dict, initial_epoch: int):
    """``(dataset, steps_per_epoch)`` covering epochs ``initial_epoch .. opts.epochs - 1``."""
    if kind == "cyclegan":
        return unpaired_dataset(data["a"].images, data["b"].images, opts.size, opts.batch_size, opts.seed,
                                initial_epoch, opts.epochs, opts.flip)
    s: ImageSet = data["images"]
    labels = None
    if kind == "acgan":
        index = {c: i for i, c in enumerate(data["classes"])}
        labels = np.array([index[x] for x in s.labels], np.int32)
    from .data import steps_per_epoch

    ds = image_dataset(s.images, labels, opts.size, opts.batch_size, opts.seed, initial_epoch, opts.epochs, opts.flip)
    return ds, steps_per_epoch(len(s), opts.batch_size)


def data_record(kind: str, data: dict) -> dict:
    """What went into the run, for ``run.json``."""
    def one(s: ImageSet):
        return {"images": len(s), "skipped": len(s.skipped), "skipped_reasons": s.skipped[:50],
                "first_paths": s.paths[:3]}
    if kind == "cyclegan":
        return {"domain_a": {"spec": data["a_spec"], "label": data["a_label"], **one(data["a"])},
                "domain_b": {"spec": data["b_spec"], "label": data["b_label"], **one(data["b"])}}
    if kind == "dcgan":
        return {"spec": data["spec"], "label": data["label"], **one(data["images"])}
    counts = {c: data["images"].labels.count(c) for c in data["classes"]}
    return {"classes": data["classes"], "class_counts": counts, **one(data["images"])}


# ------------------------------------------------------------------------------------------------ training
def train(kind: str, opts, out_dir: str | os.PathLike, data: dict, resume: bool = False, verbose: int = 2,
          command: Sequence[str] | None = None, extra_callbacks: Sequence[keras.callbacks.Callback] = ()) -> dict:
    """Train ``kind`` on decoded ``data`` into ``out_dir``; returns the final ``run.json`` record.

    With ``resume`` the newest checkpoint in ``out_dir`` is restored and training continues from its epoch.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    n_classes = len(data.get("classes", [])) or 1
    model = build_model(kind, opts, n_classes)
    start = 0
    if resume:
        found = latest_checkpoint(out)
        if found is None:
            print(f"--resume: no checkpoint in {out}; starting from epoch 0")
        else:
            start, path = found
            model.load_state(path)
            print(f"resumed from {path} (epoch {start})")
    record = {
        "kind": kind,
        "command": list(command) if command is not None else None,
        **O.options_record(opts),
        "data": data_record(kind, data),
        "precision": resolve_precision(opts.precision),  # what "auto" became on this machine
        "status": "running",
        "initial_epoch": start,
        "started": _dt.datetime.now().isoformat(timespec="seconds"),
    }
    O.write_json_atomic(record, out / RUN_JSON)
    print(O.format_options(opts))
    if start >= opts.epochs:
        record["status"] = "finished"
        record["epochs_done"] = start
        O.write_json_atomic(record, out / RUN_JSON)
        return record

    ds, steps = make_dataset(kind, opts, data, start)
    ckpt = Checkpoint(out, opts.save_every, opts.epochs)
    callbacks = [ckpt, SampleGrid(out, sample_rows_fn(kind, opts, data)), LossHistory(out, start), *extra_callbacks]
    if kind == "cyclegan":
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
    O.write_json_atomic(record, out / RUN_JSON)
    record["model"] = model
    return record


# ------------------------------------------------------------------------------------------------ CLI
def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m gan_aug.train", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="kind", required=True)
    for kind, cls in O.OPTIONS.items():
        s = sub.add_parser(kind, help=(cls.__doc__ or "").strip().split("\n")[0])
        s.add_argument("--out", required=True, help="run folder")
        s.add_argument("--resume", action="store_true", help="continue from the run folder's last checkpoint")
        s.add_argument("--overwrite", action="store_true", help="start afresh in an existing run folder")
        s.add_argument("--isic-csv", help="ISIC 2019 ground-truth CSV (class names then select images)")
        s.add_argument("--image-dir", help="images of --isic-csv (default CSV_FOLDER/images)")
        s.add_argument("--verbose", type=int, default=2, help="Keras fit verbosity (0, 1 or 2)")
        if kind == "cyclegan":
            s.add_argument("--domain-a", required=True, help="folder, manifest .csv, or ISIC class (with --isic-csv)")
            s.add_argument("--domain-b", required=True, help="folder, manifest .csv, or ISIC class (with --isic-csv)")
        elif kind == "dcgan":
            s.add_argument("--images", required=True, help="folder, manifest .csv, or ISIC class (with --isic-csv)")
        else:
            s.add_argument("--folders", help="class-per-folder tree ROOT/<class>/<image>")
            s.add_argument("--classes", help="comma-separated classes (and their order)")
        O.add_arguments(s, cls)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = _parser().parse_args(argv)
    cls = O.OPTIONS[args.kind]
    opts = O.from_namespace(cls, args)
    out = Path(args.out)
    run_json = out / RUN_JSON
    if run_json.exists() and not (args.resume or args.overwrite):
        print(f"{out} already holds a run: use --resume to continue it or --overwrite to start afresh",
              file=sys.stderr)
        return 2
    if args.resume and run_json.exists():
        stored = json.loads(run_json.read_text())
        if stored.get("kind") != args.kind:
            print(f"{out} holds a {stored.get('kind')} run, not {args.kind}", file=sys.stderr)
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

        for name in ("checkpoints", "samples"):
            shutil.rmtree(out / name, ignore_errors=True)
        for name in (RUN_JSON, "history.csv", "loss_curves.png"):
            (out / name).unlink(missing_ok=True)
    data = load_data(args.kind, opts, args)
    for key, s in data.items():
        if isinstance(s, ImageSet):
            for reason in s.skipped[:20]:
                print(f"skipped: {reason}")
            if len(s.skipped) > 20:
                print(f"... and {len(s.skipped) - 20} more skipped (listed in run.json)")
            if len(s) == 0:
                print(f"no usable images for {key}", file=sys.stderr)
                return 2
    record = train(args.kind, opts, out, data, resume=args.resume, verbose=args.verbose,
                   command=["python", "-m", "gan_aug.train", *argv])
    print(f"{record['status']}: {record['epochs_done']} epochs; run folder {out}")
    return 3 if record["status"] == "stopped_nan" else 0


if __name__ == "__main__":
    sys.exit(main())
