"""Generation CLI: apply a trained run to noise or to real images, writing images + ``manifest.csv``.

From noise (DCGAN, ACGAN)::

    python -m gan_aug.generate RUN --out OUT --per-class 250 [--classes MEL,NV]

By translation (CycleGAN, either direction) of a folder, a manifest or an ISIC class::

    python -m gan_aug.generate RUN --out OUT --input NV --isic-csv GT.csv --direction a2b

Images are written atomically (``classify.images.save_image``) and each gets a manifest row as it lands
(``classify.manifest.ManifestWriter``, DESIGN.md's contract): ``source`` is the translated real image (empty for
noise), ``label`` the class the image is meant to carry (ACGAN: its class; DCGAN: the run's label; CycleGAN: the
target domain's label, or ``--label``), ``method``, ``weights`` (the checkpoint), ``size``, ``steps`` (epochs
trained), ``seed``, ``seconds``. Re-running skips rows already in the manifest (resumable); noise for image ``i``
of class ``c`` is drawn from ``(seed, c, i)``, so a resumed run writes the same images it would have.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Sequence

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

from classify.images import ImageError, load_image, save_image  # noqa: E402
from classify.manifest import ManifestWriter, read_manifest_rows  # noqa: E402

from . import options as O  # noqa: E402
from .callbacks import latest_checkpoint  # noqa: E402
from .data import to_uint8  # noqa: E402

EXTRA_COLUMNS = ("direction", "noise_index")


def load_run(run_dir: str | os.PathLike, checkpoint: str | None = None):
    """``(kind, opts, record, model, checkpoint_path, epoch)`` of a training run folder."""
    from .train import RUN_JSON, build_model

    run_dir = Path(run_dir)
    record = json.loads((run_dir / RUN_JSON).read_text())
    kind = record["kind"]
    opts = O.OPTIONS[kind](**{**record["options"], "jit_compile": False})
    n_classes = len(record["data"].get("classes", [])) or 1
    model = build_model(kind, opts, n_classes)
    if checkpoint:
        path, epoch = Path(checkpoint), record.get("epochs_done", 0)
    else:
        found = latest_checkpoint(run_dir)
        if found is None:
            raise FileNotFoundError(f"{run_dir}: no checkpoint (train first, or pass --checkpoint)")
        epoch, path = found
    model.load_state(path)
    return kind, opts, record, model, path, epoch


def _noise(opts, kind: str, class_index: int, i: int) -> np.ndarray:
    rng = np.random.default_rng([opts.seed, 777, class_index, i])
    if kind == "dcgan" and opts.noise == "uniform":
        return rng.uniform(-1, 1, opts.latent_dim).astype("float32")
    return rng.standard_normal(opts.latent_dim).astype("float32")


def generate_from_noise(model, kind: str, opts, out: Path, writer: ManifestWriter, done: set[str],
                        labels: Sequence[str], class_indices: Sequence[int], per_class: int, batch_size: int,
                        base_row: dict, fmt: str) -> int:
    """Write ``per_class`` images for each label; returns how many were written now."""
    written = 0
    for label, ci in zip(labels, class_indices):
        todo = [i for i in range(per_class) if f"images/{kind}_{label or 'x'}_{i:05d}.{fmt}" not in done]
        for start in range(0, len(todo), batch_size):
            idx = todo[start:start + batch_size]
            t0 = time.time()
            z = np.stack([_noise(opts, kind, ci, i) for i in idx])
            if kind == "acgan":
                images = model.generator([z, np.full(len(idx), ci, "int32")], training=False)
            else:
                images = model.generator(z, training=False)
            images = to_uint8(images)
            per = (time.time() - t0) / len(idx)
            for i, img in zip(idx, images):
                rel = f"images/{kind}_{label or 'x'}_{i:05d}.{fmt}"
                save_image(img, out / rel)
                writer.write({**base_row, "output": rel, "label": label, "noise_index": i,
                              "seconds": f"{per:.4f}"})
                written += 1
    return written


def translate(model, opts, out: Path, writer: ManifestWriter, done_sources: set[str], taken: set[str],
              paths: Sequence[str], direction: str, label: str, batch_size: int, base_row: dict,
              fmt: str) -> tuple[int, list[str]]:
    """Translate real images with ``gen_ab`` (``a2b``) or ``gen_ba`` (``b2a``); returns (written, skipped).

    Sources already in ``done_sources`` are skipped; output names ``images/<stem>_<direction>.<fmt>`` avoid the
    names in ``taken`` (manifest outputs) by a numeric suffix when two sources share a stem.
    """
    gen = model.gen_ab if direction == "a2b" else model.gen_ba
    todo = [p for p in paths if str(Path(p).resolve()) not in done_sources]
    skipped, written = [], 0
    names = set(taken)
    for start in range(0, len(todo), batch_size):
        batch, srcs = [], []
        t0 = time.time()
        for p in todo[start:start + batch_size]:
            try:
                batch.append(load_image(p, size=(opts.size, opts.size), resample=opts.resample, min_side=1))
                srcs.append(p)
            except ImageError as err:
                skipped.append(str(err))
        if not batch:
            continue
        x = np.stack(batch).astype("float32") / 127.5 - 1.0
        images = to_uint8(gen(x, training=False))
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


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m gan_aug.generate", description=__doc__.split("\n\n")[0])
    p.add_argument("run", help="a training run folder (holds run.json and checkpoints/)")
    p.add_argument("--out", required=True, help="output folder (images/ and manifest.csv)")
    p.add_argument("--checkpoint", help="a specific checkpoint .npz (default: the run's latest)")
    p.add_argument("--per-class", type=int, help="DCGAN/ACGAN: images per class from noise")
    p.add_argument("--classes", help="ACGAN: comma-separated subset of the run's classes")
    p.add_argument("--input", help="CycleGAN: folder, manifest .csv, or ISIC class (with --isic-csv)")
    p.add_argument("--isic-csv", help="ISIC 2019 ground-truth CSV for --input CLASS")
    p.add_argument("--image-dir", help="images of --isic-csv")
    p.add_argument("--direction", choices=("a2b", "b2a"), default="a2b", help="CycleGAN: A->B or B->A")
    p.add_argument("--label", help="label written for translated images (default: the target domain's)")
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--format", default="png", choices=("png", "jpg"))
    args = p.parse_args(argv)

    kind, opts, record, model, ckpt, epoch = load_run(args.run, args.checkpoint)
    out = Path(args.out)
    rows = read_manifest_rows(out)
    base_row = {"method": kind, "preset": Path(args.run).name, "weights": str(Path(ckpt).resolve()),
                "size": opts.size, "steps": epoch, "seed": opts.seed, "style": "",
                "backbone": {"cyclegan": f"resnet_{opts.n_blocks if kind == 'cyclegan' else 0}blocks",
                             "dcgan": f"dcgan+{getattr(opts, 'discriminator', '')}", "acgan": "acgan"}[kind]}
    with ManifestWriter(out, extra_columns=EXTRA_COLUMNS) as writer:
        if kind == "cyclegan":
            if not args.input:
                p.error("a CycleGAN run translates images: give --input")
            from .data import resolve_selection

            samples, skipped = resolve_selection(args.input, args.isic_csv, args.image_dir)
            target = "domain_b" if args.direction == "a2b" else "domain_a"
            label = args.label if args.label is not None else record["data"][target]["label"]
            done = {r["source"] for r in rows if r.get("direction") == args.direction}
            taken = {r["output"] for r in rows}
            n, bad = translate(model, opts, out, writer, done, taken, [s.path for s in samples], args.direction, label,
                               args.batch_size, base_row, args.format)
            for reason in skipped + bad:
                print(f"skipped: {reason}")
            print(f"translated {n} images {args.direction} ({len(done)} already done, {len(skipped) + len(bad)} "
                  f"skipped) -> {out}")
        else:
            if not args.per_class:
                p.error("DCGAN/ACGAN generate from noise: give --per-class N")
            if kind == "acgan":
                all_classes = record["data"]["classes"]
                labels = [c for c in (args.classes or "").split(",") if c] or all_classes
                unknown = set(labels) - set(all_classes)
                if unknown:
                    p.error(f"unknown classes {sorted(unknown)}; the run knows {all_classes}")
                indices = [all_classes.index(c) for c in labels]
            else:
                labels, indices = [args.label or record["data"].get("label", "")], [0]
            done = {r["output"] for r in rows}
            n = generate_from_noise(model, kind, opts, out, writer, done, labels, indices, args.per_class,
                                    args.batch_size, base_row, args.format)
            print(f"wrote {n} images ({len(done)} already there) -> {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
