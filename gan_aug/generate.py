"""Generation CLI: apply a trained run's generator to noise or to real images, writing images + ``manifest.csv``.

From noise (DCGAN, ACGAN)::

    python -m gan_aug.generate RUN --out OUT --per-class 250 [--classes MEL,NV]

By translation (CycleGAN, either direction) of a folder, a manifest, an image list or an ISIC class::

    python -m gan_aug.generate RUN --out OUT --input NV --isic-csv GT.csv --direction a2b

Only the generator that is needed is loaded: the ``.keras`` export saved with the run's latest checkpoint (or
with ``--checkpoint``), never the training model. Images are written atomically and each gets a manifest row as
it lands (:class:`classify.manifest.ManifestWriter`, DESIGN.md's contract): ``source`` is the translated real
image (empty for noise), ``label`` the class the image is meant to carry (ACGAN: its class; DCGAN: the run's
label; CycleGAN: the target domain's label, or ``--label``), ``depends_on`` the run's ``training_images.csv``
(every image made depends on every real image the generator saw: ``classify`` keeps it out of any fold that
validates or tests one of them), ``method``, ``weights`` (the checkpoint), ``size``, ``steps`` (epochs trained),
``seed``, ``seconds``. Re-running skips rows already in the manifest (resumable); noise for image ``i`` of class
``c`` is drawn from ``(seed, c, i)``, so a resumed run writes the same images it would have.
"""
from __future__ import annotations

import argparse
import os
import re
import sys
import time
from pathlib import Path
from typing import Sequence

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

from classify.cli import add_split_selection  # noqa: E402
from classify.files import read_json  # noqa: E402
from classify.images import ImageError, load_image, save_image  # noqa: E402
from classify.manifest import DEPENDS_COLUMN, ManifestWriter, read_manifest_rows  # noqa: E402

from .data import to_uint8  # noqa: E402
from .kinds import GANKind, get_kind  # noqa: E402

EXTRA_COLUMNS = ("direction", "noise_index", DEPENDS_COLUMN)


def load_run(run_dir: str | os.PathLike) -> tuple[GANKind, object, dict]:
    """``(kind, options, run.json record)`` of a training run folder."""
    run_dir = Path(run_dir)
    record = read_json(run_dir / "run.json")
    if not record or "kind" not in record:
        raise FileNotFoundError(f"{run_dir}: not a gan_aug training run (no run.json)")
    kind = get_kind(record["kind"])
    opts = kind.options(**{**record["options"], "jit_compile": False})
    return kind, opts, record


def load_generator(run_dir: str | os.PathLike, name: str, checkpoint: str | os.PathLike | None = None):
    """``(generator keras.Model, its .keras file, epoch)``: the export of generator ``name`` saved with the run's
    latest checkpoint, or with the state file ``checkpoint``."""
    import keras

    from . import layers  # noqa: F401  (registers the custom layers the generators use)
    from .callbacks import CHECKPOINT_DIR, LATEST, exported_generator

    run_dir = Path(run_dir)
    if checkpoint:
        path = exported_generator(checkpoint, name)
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
                        base_row: dict, fmt: str) -> int:
    """Write ``per_class`` images for each label; returns how many were written now."""
    from tqdm.auto import tqdm

    def rel(label: str, i: int) -> str:
        return f"images/{kind.name}_{label or 'x'}_{i:05d}.{fmt}"

    todo = [(label, ci, i) for label, ci in zip(labels, class_indices) for i in range(per_class)
            if rel(label, i) not in done]
    written = 0
    with tqdm(total=len(todo), unit="img", desc=f"{kind.name} images") as bar:
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
              fmt: str) -> tuple[int, list[str]]:
    """Translate real images with the generator of ``direction``; returns (written, skipped).

    Sources already in ``done_sources`` are skipped; output names ``images/<stem>_<direction>.<fmt>`` avoid the
    names in ``taken`` (manifest outputs) by a numeric suffix when two sources share a stem.
    """
    from tqdm.auto import tqdm

    todo = [p for p in paths if str(Path(p).resolve()) not in done_sources]
    skipped, written = [], 0
    names = set(taken)
    with tqdm(total=len(todo), unit="img", desc=f"translating {direction}") as bar:
        for start in range(0, len(todo), batch_size):
            batch, srcs = [], []
            t0 = time.time()
            for p in todo[start:start + batch_size]:
                try:
                    batch.append(load_image(p, size=(opts.size, opts.size), resample=opts.resample, min_side=1))
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


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m gan_aug.generate", description=__doc__.split("\n\n")[0])
    p.add_argument("run", help="a training run folder (holds run.json and checkpoints/)")
    p.add_argument("--out", required=True, help="output folder (images/ and manifest.csv)")
    p.add_argument("--checkpoint", help="a specific checkpoint .npz (default: the run's latest)")
    p.add_argument("--per-class", type=int, help="DCGAN/ACGAN: images per class from noise")
    p.add_argument("--classes", help="ACGAN: comma-separated subset of the run's classes")
    p.add_argument("--input", help="CycleGAN: folder, manifest, image list, or ISIC class (with --isic-csv)")
    p.add_argument("--isic-csv", help="ISIC 2019 ground-truth CSV for --input CLASS")
    p.add_argument("--image-dir", help="images of --isic-csv")
    add_split_selection(p, "CycleGAN: translate")
    p.add_argument("--direction", choices=("a2b", "b2a"), default="a2b", help="CycleGAN: A->B or B->A")
    p.add_argument("--label", help="label written for translated images (default: the target domain's)")
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--format", default="png", choices=("png", "jpg"))
    return p


def main(argv: Sequence[str] | None = None) -> int:
    from classify.cli import run_main

    return run_main(_main, argv)


def _main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    kind, opts, record = load_run(args.run)
    if kind.translates and not args.input:
        raise ValueError("a CycleGAN run translates images: give --input")
    if not kind.translates and not args.per_class:
        raise ValueError("DCGAN/ACGAN generate from noise: give --per-class N")
    gen_name = ("gen_ab" if args.direction == "a2b" else "gen_ba") if kind.translates else kind.generators[0]
    generator, gen_path, epoch = load_generator(args.run, gen_name, args.checkpoint)
    out = Path(args.out)
    rows = read_manifest_rows(out)
    depends = Path(args.run).resolve() / record.get("training_images", "training_images.csv")
    if not depends.is_file():
        print(f"warning: {args.run} lists no training images: classify cannot tell which folds its images leak into")
    base_row = {"method": kind.name, "preset": Path(args.run).name, "weights": str(gen_path.resolve()),
                "size": opts.size, "steps": epoch, "seed": opts.seed, "style": "", "backbone": kind.description(opts),
                DEPENDS_COLUMN: str(depends) if depends.is_file() else ""}
    with ManifestWriter(out, extra_columns=EXTRA_COLUMNS) as writer:
        if kind.translates:
            from .data import select_samples

            samples, skipped, note = select_samples(args.input, args.isic_csv, args.image_dir, args.split_file,
                                                    args.part)
            if note:
                print(note)
            target = "domain_b" if args.direction == "a2b" else "domain_a"
            label = args.label if args.label is not None else record["data"][target]["label"]
            done = {r["source"] for r in rows if r.get("direction") == args.direction}
            taken = {r["output"] for r in rows}
            n, bad = translate(generator, opts, out, writer, done, taken, [s.path for s in samples], args.direction,
                               label, args.batch_size, base_row, args.format)
            for reason in skipped + bad:
                print(f"skipped: {reason}")
            print(f"translated {n} images {args.direction} ({len(done)} already done, {len(skipped) + len(bad)} "
                  f"skipped) -> {out}")
        else:
            if kind.conditional:
                all_classes = record["data"]["classes"]
                labels = [c for c in (args.classes or "").split(",") if c] or all_classes
                unknown = set(labels) - set(all_classes)
                if unknown:
                    raise ValueError(f"unknown classes {sorted(unknown)}; the run knows {all_classes}")
                indices = [all_classes.index(c) for c in labels]
            else:
                labels, indices = [args.label or record["data"]["images"].get("label") or ""], [0]
            done = {r["output"] for r in rows}
            n = generate_from_noise(generator, kind, opts, out, writer, done, labels, indices, args.per_class,
                                    args.batch_size, base_row, args.format)
            print(f"wrote {n} images ({len(done)} already there) -> {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
