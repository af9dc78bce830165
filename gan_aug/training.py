"""GAN training as a library: ``train(kind, options, out, data)`` and the data it needs (``load_data``).

``python -m gan_aug.train`` (:mod:`gan_aug.train`) is a thin command line over this module; drivers (the
papers' reproductions) call it directly. See :mod:`gan_aug.train` for what the run folder receives.
"""
from __future__ import annotations

import dataclasses
import datetime as _dt
import os
import time
from pathlib import Path
from typing import Sequence

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402

from classify.cli import format_options  # noqa: E402
from classify.files import write_csv, write_json  # noqa: E402
from classify.precision import resolve_precision  # noqa: E402
from classify.versions import library_versions  # noqa: E402

from . import options as O  # noqa: E402
from .base import compile_gan  # noqa: E402
from .callbacks import Checkpoint, LossHistory, SampleGrid, latest_checkpoint  # noqa: E402
from .data import ImageSet, image_dataset, unpaired_dataset  # noqa: E402
from .kinds import GANKind, get_kind  # noqa: E402
from .runs import RUN_JSON, TRAINING_IMAGES  # noqa: E402,F401
from .schedules import EpochLRSchedule, linear_decay_factor  # noqa: E402

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
        return {"images": len(s), "skipped": len(s.skipped), "skipped_reasons": list(s.skipped),
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
    import contextlib

    from classify.training import distribution_strategy

    gan = get_kind(kind)
    out = Path(out_dir)
    opts = capped_batch(opts, data, gan)
    strategy = distribution_strategy(opts.distribute)
    if strategy is not None:
        replicas = strategy.num_replicas_in_sync
        if opts.batch_size % replicas:
            raise ValueError(f"batch_size {opts.batch_size} cannot be split over {replicas} replicas "
                             f"(distribute={opts.distribute}): use a multiple of {replicas}")
        print(f"distribute: {opts.distribute}, {replicas} replicas, {opts.batch_size // replicas} images each")
    out.mkdir(parents=True, exist_ok=True)
    n_classes = len(data.get("classes", [])) or 1
    with strategy.scope() if strategy is not None else contextlib.nullcontext():
        model = compile_gan(gan.build(opts, n_classes), opts)  # variables mirrored; fit splits each batch
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
        "versions": library_versions(),
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
    grid = SampleGrid(out, gan.sample_rows(opts, data), row_names=gan.row_names(data),
                      title=f"{kind} {out.name} ({gan.description(opts)})", epochs=opts.epochs)
    # history and grid first: a kill before the checkpoint then loses only the epoch in flight (Checkpoint)
    callbacks = [grid, LossHistory(out, start), ckpt, *extra_callbacks]
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


# ------------------------------------------------------------------------------------------ cached stages
def train_or_resume(kind: str, opts, out_dir: str | os.PathLike, data: dict, verbose: int = 2) -> tuple[dict, bool]:
    """A driver's GAN stage: ``(run.json record, cached)``. A folder holding this run finished (same kind,
    options and training images) is returned as it is; the same run unfinished is resumed from its checkpoint;
    anything else in the folder (the files of :func:`gan_aug.runs.run_files`) is replaced by a fresh run."""
    from classify.files import read_json, remove_files

    from .runs import run_files

    out = Path(out_dir)
    gan = get_kind(kind)
    opts = capped_batch(opts, data, gan)
    stored = read_json(out / RUN_JSON)
    depends = data.get("depends") or dependencies_of_sets(gan, data)
    same = False
    if stored:
        old = (out / TRAINING_IMAGES).read_text().split("\n")[1:] if (out / TRAINING_IMAGES).is_file() else []
        same = (stored.get("kind") == kind and same_options(stored.get("options"), opts)
                and [x for x in old if x] == [str(p) for p in depends])
        if same and stored.get("status") == "finished" and stored.get("epochs_done", 0) >= opts.epochs:
            return stored, True
        if not same:
            remove_files(out, run_files())
    record = train(kind, opts, out, data, resume=same, verbose=verbose)
    record.pop("model", None)
    if record["status"] != "finished":
        raise RuntimeError(f"{out}: GAN training stopped ({record['status']}); see its history.csv")
    return record, False


def same_options(stored: dict | None, opts) -> bool:
    """Whether a run's recorded options are ``opts``, apart from where it ran (``distribute``: a run trained on
    several devices resumes on one and the other way round)."""
    now = dataclasses.asdict(opts)
    return stored is not None and {**stored, "distribute": None} == {**now, "distribute": None}


def load_trained(run_dir: str | os.PathLike):
    """The whole trained model of a run (generators *and* discriminators) at its latest checkpoint: what needs
    a discriminator after training (Cho's filter). Generation alone needs only :func:`gan_aug.generate.
    load_generator`."""
    from classify.files import read_json

    from .callbacks import latest_checkpoint

    run_dir = Path(run_dir)
    record = read_json(run_dir / RUN_JSON)
    if not record:
        raise FileNotFoundError(f"{run_dir}: not a gan_aug training run (no run.json)")
    gan = get_kind(record["kind"])
    opts = gan.options(**{**record["options"], "jit_compile": False, "distribute": "none"})
    found = latest_checkpoint(run_dir)
    if found is None:
        raise FileNotFoundError(f"{run_dir}: no checkpoint")
    n_classes = len(record["data"].get("classes", [])) or 1
    model = compile_gan(gan.build(opts, n_classes), opts)
    model.load_state(found[1])
    return model, opts, record
