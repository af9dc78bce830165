"""Generation CLI: apply a trained run's generator to noise or to real images, writing images + ``manifest.csv``.

From noise (DCGAN, ACGAN)::

    python -m gan_aug.generate RUN --out OUT --per-class 250 [--classes MEL NV]

By translation (CycleGAN, either direction) of a folder, a manifest, an image list or an ISIC class::

    python -m gan_aug.generate RUN --out OUT --input NV --csv GT.csv --direction a2b

Only the generator that is needed is loaded: the ``.keras`` export saved with the run's latest checkpoint (or
with ``--checkpoint``), never the training model. Images are written atomically and each gets a manifest row as
it lands (:class:`classify.manifest.ManifestWriter`, DESIGN.md's contract): ``source`` is the translated real
image (empty for noise), ``label`` the class the image is meant to carry (ACGAN: its class; DCGAN: the run's
label; CycleGAN: the target domain's label, or ``--label``), ``depends_on`` the run's ``training_images.csv``
(every image made depends on every real image the generator saw: ``classify`` keeps it out of any fold that
validates or tests one of them), ``method``, ``weights`` (the checkpoint), ``size``, ``steps`` (epochs trained),
``seed``, ``seconds``; ``generation.json`` records the run, generator, counts, skipped inputs and library
versions. Re-running skips rows already in the manifest (resumable; ``--no-resume`` refuses a folder
that holds some, ``--overwrite`` deletes what an earlier generation wrote there first); noise for image ``i`` of
class ``c`` is drawn from ``(seed, c, i)`` (``--seed``, default the run's training seed), so a resumed run writes
the same images it would have.
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import re
import sys
import time
from pathlib import Path
from typing import Sequence

import numpy as np

from classify.cli import (CLIError, ClassList, Parser, add_data_args, add_output_args, add_split_selection,
                          add_verbosity, check_classes, check_output_dir, positive_int, report_skipped, run_main,
                          skipped_limit)
from classify.files import read_json, remove_files, write_json
from classify.images import ImageError, load_image, save_image
from classify.manifest import DEPENDS_COLUMN, ManifestWriter, read_manifest_rows, remove_listed_outputs
from classify.versions import run_record

from .data import to_uint8
from .kinds import GANKind, get_kind

EXTRA_COLUMNS = ("direction", "noise_index", DEPENDS_COLUMN)
#: The record of the last generation into a folder: run, generator, counts, skipped inputs, library versions.
RECORD = "generation.json"


def load_run(run_dir: str | os.PathLike) -> tuple[GANKind, object, dict]:
    """``(kind, options, run.json record)`` of a training run folder."""
    run_dir = Path(run_dir)
    record = read_json(run_dir / "run.json")
    if not record or "kind" not in record:
        raise FileNotFoundError(f"{run_dir}: not a gan_aug training run (no run.json)")
    kind = get_kind(record["kind"])
    opts = kind.options(**{**record["options"], "jit_compile": False, "distribute": "none"})
    return kind, opts, record


def load_generator(run_dir: str | os.PathLike, name: str, checkpoint: str | os.PathLike | None = None):
    """``(generator keras.Model, its .keras file, epoch)``: the export of generator ``name`` saved with the run's
    latest checkpoint, or with the state file ``checkpoint``."""
    import keras

    from . import layers  # noqa: F401  (registers the custom layers the generators use)
    from .callbacks import CHECKPOINT_DIR, LATEST, exported_generator

    run_dir = Path(run_dir)
    if checkpoint:
        if not Path(checkpoint).is_file():
            raise FileNotFoundError(f"--checkpoint {checkpoint}: file not found")
        path = exported_generator(checkpoint, name)
        if not Path(path).is_file():
            raise FileNotFoundError(f"--checkpoint {checkpoint}: no exported generator {Path(path).name} beside it")
        match = re.search(r"epoch_(\d+)", Path(checkpoint).name)
        epoch = int(match.group(1)) if match else 0
    else:
        info = read_json(run_dir / CHECKPOINT_DIR / LATEST)
        if not info:
            raise FileNotFoundError(f"{run_dir}: no checkpoint (train first, or pass --checkpoint)")
        file = (info.get("generators") or {}).get(name)
        if not file:
            raise FileNotFoundError(f"{run_dir}: its latest checkpoint has no exported generator {name!r}")
        path, epoch = run_dir / CHECKPOINT_DIR / file, int(info["epoch"])
    try:
        model = keras.saving.load_model(path, compile=False)
    except Exception as err:  # Keras raises many kinds for a file it cannot read
        raise ValueError(f"{path}: cannot load the generator ({type(err).__name__}: {str(err)[:200]})") from None
    return model, path, epoch


def _noise(kind: GANKind, opts, class_index: int, i: int) -> np.ndarray:
    return kind.noise(opts, np.random.default_rng([opts.seed, 777, class_index, i]), 1)[0]


def generate_from_noise(generator, kind: GANKind, opts, out: Path, writer: ManifestWriter, done: set[str],
                        labels: Sequence[str], class_indices: Sequence[int], per_class: int, batch_size: int,
                        base_row: dict, fmt: str, progress: bool = True) -> int:
    """Write ``per_class`` images for each label; returns how many were written now."""
    from tqdm.auto import tqdm

    def rel(label: str, i: int) -> str:
        return f"images/{kind.name}_{label or 'x'}_{i:05d}.{fmt}"

    todo = [(label, ci, i) for label, ci in zip(labels, class_indices) for i in range(per_class)
            if rel(label, i) not in done]
    written = 0
    with tqdm(total=len(todo), unit="img", desc=f"{kind.name} images", disable=not progress) as bar:
        for start in range(0, len(todo), batch_size):
            batch = todo[start:start + batch_size]
            t0 = time.time()
            z = np.stack([_noise(kind, opts, ci, i) for _, ci, i in batch])
            inputs = [z, np.array([ci for _, ci, _ in batch], "int32")] if kind.conditional else z
            images = to_uint8(generator(inputs, training=False))
            per = (time.time() - t0) / len(batch)
            for (label, _, i), img in zip(batch, images):
                save_image(img, out / rel(label, i))
                writer.write({**base_row, "output": rel(label, i), "label": label, "noise_index": i,
                              "seconds": f"{per:.4f}"})
                written += 1
            bar.update(len(batch))
    return written


def translate(generator, opts, out: Path, writer: ManifestWriter, done_sources: set[str], taken: set[str],
              paths: Sequence[str], direction: str, label: str, batch_size: int, base_row: dict,
              fmt: str, progress: bool = True) -> tuple[int, list[str]]:
    """Translate real images with the generator of ``direction``; returns (written, skipped).

    Sources already in ``done_sources`` are skipped; output names ``images/<stem>_<direction>.<fmt>`` avoid the
    names in ``taken`` (manifest outputs) by a numeric suffix when two sources share a stem.
    """
    from tqdm.auto import tqdm

    todo = [p for p in paths if str(Path(p).resolve()) not in done_sources]
    skipped, written = [], 0
    names = set(taken)
    with tqdm(total=len(todo), unit="img", desc=f"translating {direction}", disable=not progress) as bar:
        for start in range(0, len(todo), batch_size):
            batch, srcs = [], []
            t0 = time.time()
            for p in todo[start:start + batch_size]:
                try:
                    batch.append(load_image(p, size=(opts.size, opts.size), resample=opts.resample))
                    srcs.append(p)
                except ImageError as err:
                    skipped.append(str(err))
            bar.update(len(todo[start:start + batch_size]))
            if not batch:
                continue
            x = np.stack(batch).astype("float32") / 127.5 - 1.0
            images = to_uint8(generator(x, training=False))
            per = (time.time() - t0) / len(srcs)
            for src, img in zip(srcs, images):
                stem = Path(src).stem
                rel = f"images/{stem}_{direction}.{fmt}"
                k = 1
                while rel in names:
                    rel = f"images/{stem}_{k}_{direction}.{fmt}"
                    k += 1
                names.add(rel)
                save_image(img, out / rel)
                writer.write({**base_row, "output": rel, "source": str(Path(src).resolve()), "label": label,
                              "direction": direction, "seconds": f"{per:.4f}"})
                written += 1
    return written, skipped


def keep_fooling(run_dir: str | os.PathLike, samples: Sequence, threshold: float = 0.5, batch_size: int = 16
                 ) -> tuple[list, list[float]]:
    """Cho §III: keep the generated images "that discriminator is fooled by", ``D(x) > threshold`` (0.5: the
    discriminator calls them real), with the trained DCGAN's discriminator at its latest checkpoint. Returns
    ``(kept samples, D(x) of every sample)``."""
    from .training import load_trained

    model, opts, _ = load_trained(run_dir)
    if not hasattr(model, "realness"):
        raise ValueError(f"{run_dir}: a {type(model).__name__} run has no single real/fake discriminator")
    scores: list[float] = []
    for start in range(0, len(samples), batch_size):
        batch = [load_image(s.path, size=(opts.size, opts.size), resample=opts.resample)
                 for s in samples[start:start + batch_size]]
        x = np.stack(batch).astype("float32") / 127.5 - 1.0
        scores += [float(v) for v in np.asarray(model.realness(x))]
    return [s for s, d in zip(samples, scores) if d > threshold], scores


def build_parser() -> argparse.ArgumentParser:
    p = Parser(prog="python -m gan_aug.generate", description=__doc__.split("\n\n")[0])
    p.add_argument("run", help="a training run folder (holds run.json and checkpoints/)")
    add_output_args(p, required=True, resumable=True, what="output folder (images/ and manifest.csv)")
    p.add_argument("--checkpoint", metavar="FILE", help="a specific checkpoint .npz (default: the run's latest)")
    p.add_argument("--per-class", type=positive_int, metavar="N", help="DCGAN/ACGAN: images per class from noise")
    p.add_argument("--classes", action=ClassList, help="ACGAN: a subset of the run's classes")
    p.add_argument("--seed", type=int, default=None, help="DCGAN/ACGAN: noise seed (default: the run's seed)")
    g = p.add_argument_group("CycleGAN input")
    g.add_argument("--input", metavar="SPEC", help="folder, manifest, image list, or ISIC class (with --csv)")
    add_data_args(g, shortcut=False, classes=False)
    add_split_selection(g, "translate")
    g.add_argument("--direction", choices=("a2b", "b2a"), default="a2b", help="A->B or B->A")
    g.add_argument("--label", help="label written for translated images (default: the target domain's)")
    p.add_argument("--batch-size", type=positive_int, default=8)
    p.add_argument("--format", default="png", choices=("png", "jpg"))
    add_verbosity(p)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """The command line (default ``sys.argv[1:]``) → exit status (errors: one line, status 2)."""
    return run_main(_main, argv)


def generate_images(run_dir: str | os.PathLike, out: str | os.PathLike, *, per_class: int | None = None,
                    classes: Sequence[str] | None = None, samples: Sequence | None = None, direction: str = "a2b",
                    label: str | None = None, seed: int | None = None, checkpoint: str | os.PathLike | None = None,
                    batch_size: int = 8, fmt: str = "png", resume: bool = True, overwrite: bool = False,
                    progress: bool = True) -> dict:
    """Generate into ``out`` with a training run's generator (module docstring) — what the CLI and the drivers
    call. DCGAN/ACGAN: ``per_class`` images from noise (ACGAN: of ``classes``, default all); CycleGAN: translate
    ``samples`` (:class:`classify.data.Sample`) in ``direction``. Returns ``{"out", "made", "already_done",
    "skipped"}``; ``ValueError`` for a request the run cannot serve."""
    kind, opts, record = load_run(run_dir)
    if kind.translates and samples is None:
        raise ValueError("a CycleGAN run translates images: give --input")
    if not kind.translates and not per_class:
        raise ValueError("DCGAN/ACGAN generate from noise: give --per-class N")
    if seed is not None:
        opts = dataclasses.replace(opts, seed=seed)
    labels = indices = None
    if not kind.translates:
        if kind.conditional:
            all_classes = record["data"]["classes"]
            check_classes(classes, all_classes, f"run {run_dir}")
            labels = list(classes or all_classes)
            indices = [all_classes.index(c) for c in labels]
        else:
            labels, indices = [label or record["data"]["images"].get("label") or ""], [0]
    out = Path(out)
    if overwrite:
        remove_listed_outputs(out)
        remove_files(out, (RECORD,))
    rows = read_manifest_rows(out)
    if rows and not resume:
        raise ValueError(f"{out} already holds {len(rows)} generated images: leave out --no-resume to continue, "
                         "or --overwrite to start afresh")
    seeds = {r.get("seed") for r in rows if not kind.translates}
    if seeds and seeds != {str(opts.seed)}:
        raise ValueError(f"{out} holds images made with seed {', '.join(sorted(seeds))}, not {opts.seed}: use "
                         "another --out, or --overwrite")
    gen_name = ("gen_ab" if direction == "a2b" else "gen_ba") if kind.translates else kind.generators[0]
    generator, gen_path, epoch = load_generator(run_dir, gen_name, checkpoint)
    depends = Path(run_dir).resolve() / record.get("training_images", "training_images.csv")
    if not depends.is_file():
        print(f"warning: {run_dir} lists no training images: classify cannot tell which folds its images leak into")
    base_row = {"method": kind.name, "preset": Path(run_dir).name, "weights": str(gen_path.resolve()),
                "size": opts.size, "steps": epoch, "seed": opts.seed, "style": "", "backbone": kind.description(opts),
                DEPENDS_COLUMN: str(depends) if depends.is_file() else ""}
    out.mkdir(parents=True, exist_ok=True)
    with ManifestWriter(out, extra_columns=EXTRA_COLUMNS) as writer:
        if kind.translates:
            target = "domain_b" if direction == "a2b" else "domain_a"
            label = label if label is not None else record["data"][target]["label"]
            done = {r["source"] for r in rows if r.get("direction") == direction}
            taken = {r["output"] for r in rows}
            n, bad = translate(generator, opts, out, writer, done, taken, [s.path for s in samples], direction,
                               label, batch_size, base_row, fmt, progress)
        else:
            done = {r["output"] for r in rows}
            n = generate_from_noise(generator, kind, opts, out, writer, done, labels, indices, per_class,
                                    batch_size, base_row, fmt, progress)
            bad = []
    write_json(out / RECORD, run_record("gan_aug.generate", run=str(Path(run_dir).resolve()), kind=kind.name,
                                        generator=str(gen_path.resolve()), epoch=epoch, seed=opts.seed,
                                        direction=direction if kind.translates else None,
                                        classes=None if kind.translates else labels, made=n,
                                        already_done=len(done), skipped_inputs=bad))
    return {"out": str(out), "made": n, "already_done": len(done), "skipped": bad, "translates": kind.translates}


def _main(argv: Sequence[str]) -> int:
    args = build_parser().parse_args(argv)
    kind, _, _ = load_run(args.run)
    if kind.translates and not args.input:
        raise CLIError("a CycleGAN run translates images: give --input")
    if not kind.translates and not args.per_class:
        raise CLIError("DCGAN/ACGAN generate from noise: give --per-class N")
    out = check_output_dir(args.out)
    samples = skipped = None
    if kind.translates:
        from .data import select_samples

        samples, skipped, note = select_samples(args.input, args.csv, args.images, args.split_file, args.part)
        if note:
            print(note)
    try:
        done = generate_images(args.run, out, per_class=args.per_class, classes=args.classes, samples=samples,
                               direction=args.direction, label=args.label, seed=args.seed,
                               checkpoint=args.checkpoint, batch_size=args.batch_size, fmt=args.format,
                               resume=args.resume, overwrite=args.overwrite, progress=not args.quiet)
    except ValueError as err:
        raise CLIError(str(err)) from None
    if kind.translates:
        bad = skipped + done["skipped"]
        report_skipped(bad, limit=skipped_limit(args))
        print(f"translated {done['made']} images {args.direction} ({done['already_done']} already done, {len(bad)} "
              f"skipped) -> {out}")
    else:
        print(f"wrote {done['made']} images ({done['already_done']} already there) -> {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
