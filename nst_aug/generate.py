"""``python -m nst_aug.generate``: resumable batch generation of a style-transferred training set.

Turns content and style images (folders / files / globs, an ISIC 2019 ground-truth CSV with class names, or a
class-per-folder tree) into ``OUT/`` holding the images, ``manifest.csv`` (one row per image, appended as each
lands), ``run.json`` (the resolved configuration, non-default values flagged) and ``contact_sheet.png``.

With no arguments it runs on the embedded default: the 10 CC0 ISIC images of :mod:`classify.samples`, nevus
(NV) content × melanoma (MEL) style, ``mikolajczyk2019`` (Mikołajczyk & Grochowski's benign-content ×
malignant-style synthesis), a few pairs at 224 px.

Crash safety: images are written to a temporary name and renamed; the manifest row follows and is fsynced.
Killing the process loses at most the batch in flight; running the same command again resumes (``--resume``,
the default), skipping pairs already in the manifest and re-doing any half-written one. A run whose configuration
differs from the one recorded in ``run.json`` is refused rather than mixed in (``--overwrite`` starts over).

``--num-shards N --shard-index I`` splits the pair list into N disjoint deterministic slices (pairs I, I+N, …);
shards write ``manifest-shardIofN.csv`` (same folder or not) and ``--merge DIR... --out OUT`` combines them.
"""
from __future__ import annotations

import argparse
import glob
import json
import os
import platform
import random
import shutil
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from classify.images import ImageError, is_image_file, load_square, save_image
from classify.manifest import MANIFEST_COLUMNS, MANIFEST_NAME, ManifestWriter, read_manifest_rows

EXTRA_COLUMNS = ("pair_index", "optimizer", "content_weight", "style_weight", "init", "precision", "shard")
# The embedded default: 4 NV x MEL pairs in one batch, 3 L-BFGS rounds (60 evaluations) instead of the preset's 10
# (200): about 4 minutes on an idle 2-core CPU. `--steps 200` gives the paper's setting.
DEFAULT_PAIRS, DEFAULT_STEPS, DEFAULT_BATCH = 4, 60, 4


class GenerateError(Exception):
    """A user error: printed as a one-line ``error: ...`` with exit status 2."""


@dataclass(frozen=True)
class Input:
    """A candidate image: its path and class label ('' when unknown)."""

    path: str
    label: str = ""


# --------------------------------------------------------------------------------------------------- inputs
def expand_paths(specs: Sequence[str], what: str) -> tuple[list[str], list[str]]:
    """Files from folders (non-recursive, image extensions), files and globs → ``(paths, skipped reasons)``."""
    paths: list[str] = []
    skipped: list[str] = []
    for spec in specs:
        p = Path(spec)
        if p.is_dir():
            names = sorted(n for n in os.listdir(p) if not n.startswith("."))
            found = [str((p / n).resolve()) for n in names if (p / n).is_file() and is_image_file(n)]
            skipped += [f"{p / n}: not an image file" for n in names if (p / n).is_file() and not is_image_file(n)]
            if not found:
                raise GenerateError(f"--{what} {spec}: folder holds no images")
            paths += found
        elif p.is_file():
            paths.append(str(p.resolve()))
        else:
            matches = sorted(m for m in glob.glob(spec) if Path(m).is_file())
            if not matches:
                raise GenerateError(f"--{what} {spec}: no such file, folder or glob match")
            paths += [str(Path(m).resolve()) for m in matches]
    return list(dict.fromkeys(paths)), skipped


def select_inputs(args: argparse.Namespace) -> tuple[list[Input], list[Input], list[str], dict]:
    """Content and style candidates from the arguments → ``(contents, styles, skipped, description)``."""
    from classify.data import read_class_folders, read_isic_csv

    skipped: list[str] = []
    if args.content or args.style:
        if not (args.content and args.style):
            raise GenerateError("give both --content and --style")
        c, s1 = expand_paths(args.content, "content")
        s, s2 = expand_paths(args.style, "style")
        label = args.label if args.label not in ("content", "style") else ""
        return ([Input(p, label) for p in c], [Input(p, "") for p in s], s1 + s2,
                {"content": args.content, "style": args.style})
    if args.csv or args.folders or args.content_class or args.style_class:
        if not (args.content_class and args.style_class):
            raise GenerateError("with --csv or --folders give --content-class and --style-class")
        try:
            if args.folders:
                samples, skipped = read_class_folders(args.folders, [args.content_class, args.style_class])
                desc = {"folders": str(Path(args.folders).resolve())}
            else:
                from classify.samples import ISIC_SAMPLE_CSV
                csv_path = args.csv or str(ISIC_SAMPLE_CSV)
                samples, skipped = read_isic_csv(csv_path, args.images, [args.content_class, args.style_class])
                desc = {"csv": str(Path(csv_path).resolve()), "images": args.images}
        except (ValueError, FileNotFoundError) as err:
            raise GenerateError(str(err)) from None
        contents = [Input(s.path, s.label) for s in samples if s.label == args.content_class]
        styles = [Input(s.path, s.label) for s in samples if s.label == args.style_class]
        desc |= {"content_class": args.content_class, "style_class": args.style_class}
        return contents, styles, skipped, desc
    raise GenerateError("no inputs: give --content/--style, --csv/--folders with classes, or nothing at all")


def validate(inputs: list[Input], size: int, what: str, workers: int = 4) -> tuple[list[Input], list[str]]:
    """Decode every input once (in threads) and keep the usable ones; bad ones get a one-line reason."""
    def check(item: Input) -> str | None:
        try:
            load_square(item.path, size)
        except ImageError as err:
            return f"{what}: {err}"
        return None

    with ThreadPoolExecutor(workers) as pool:
        reasons = list(pool.map(check, inputs))
    good = [item for item, reason in zip(inputs, reasons) if reason is None]
    return good, [r for r in reasons if r]


# --------------------------------------------------------------------------------------------------- pairing
def make_pairs(n_content: int, n_style: int, mode: str = "pairs", count: int | None = None,
               seed: int = 0) -> list[tuple[int, int]]:
    """Deterministic (content index, style index) pairs.

    - ``all``: every content × every style, content-major.
    - ``pairs``: ``count`` distinct pairs drawn at random without repeats (all of them if fewer exist).
    - ``per_content``: for each content, ``count`` distinct styles drawn at random.
    The same arguments always give the same list.
    """
    total = n_content * n_style
    if total == 0:
        return []
    rng = random.Random(seed)
    if mode == "all":
        return [(c, s) for c in range(n_content) for s in range(n_style)]
    if mode == "pairs":
        k = total if count is None else min(count, total)
        return [divmod(i, n_style) for i in rng.sample(range(total), k)]
    if mode == "per_content":
        k = min(count or 1, n_style)
        return [(c, s) for c in range(n_content) for s in rng.sample(range(n_style), k)]
    raise ValueError(f"pairing mode must be 'all', 'pairs' or 'per_content', got {mode!r}")


def shard(items: list, num_shards: int, index: int) -> list:
    """Items ``index, index + N, index + 2N, …``: disjoint slices that together cover the list."""
    if num_shards < 1 or not 0 <= index < num_shards:
        raise GenerateError(f"--shard-index must be in 0..{num_shards - 1} (got {index} of {num_shards})")
    return items[index::num_shards]


def output_name(pair_index: int, content: str, style: str, ext: str) -> str:
    """Unique, deterministic image name: global pair index plus both stems."""
    return f"{pair_index:07d}_{Path(content).stem}__{Path(style).stem}.{ext}"


# ----------------------------------------------------------------------------------------------- the run
def build_config(args: argparse.Namespace):
    from .presets import get_preset

    overrides = dict(
        backbone=args.backbone, weights=args.weights, size=args.size, steps=args.steps, optimizer=args.optimizer,
        content_weight=args.content_weight, style_weight=args.style_weight, tv_weight=args.tv_weight,
        precision=args.precision, init=args.init, jit_compile=True if args.xla else None,
        preserve_color=True if args.preserve_color else None, seed=args.seed, style_scale=args.style_scale,
        pyramid=_parse_pyramid(args.pyramid),
    )
    try:
        config = get_preset(args.preset, **overrides)  # weights="random" = untrained VGG (tests only)
        if args.ratio is not None:  # content:style ratio α/β, keeping β
            config = config.override(content_weight=args.ratio * config.style_weight)
    except (ValueError, TypeError) as err:
        raise GenerateError(str(err)) from None
    return config


def _parse_pyramid(levels: Sequence[str] | None) -> tuple[tuple[int, int], ...] | None:
    if not levels:
        return None
    try:
        return tuple((int(side), int(steps)) for side, steps in (level.split(":") for level in levels))
    except ValueError:
        raise GenerateError(f"--pyramid takes SIDE:STEPS levels such as 112:60, got {' '.join(levels)}") from None


def run_record(args, config, desc, n_pairs) -> dict:
    from .presets import get_preset

    preset = get_preset(args.preset)
    return {
        "preset": args.preset,
        "config": config.to_dict(),
        "non_default": {k: {"value": a, "preset": b} for k, (a, b) in config.differences(preset).items()
                        if k != "name"},
        "inputs": desc,
        "pairing": {"mode": args.mode, "count": args.count, "seed": args.seed, "pairs_total": n_pairs},
        "label": args.label,
        "format": args.format,
        "batch_size": args.batch_size,
    }


def _comparable(record: dict) -> dict:
    """What must match for two runs to share an output folder (not batch size, not shards)."""
    return {k: record.get(k) for k in ("config", "inputs", "pairing", "label", "format")}


def _shard_suffix(args) -> str:
    return f"-shard{args.shard_index}of{args.num_shards}" if args.num_shards > 1 else ""


def prepare_out(out: Path, record: dict, args) -> None:
    """Create/validate ``out``: refuse to mix configurations; ``--overwrite`` starts over."""
    run_file = out / f"run{_shard_suffix(args)}.json"
    if args.overwrite and out.exists():
        for item in out.iterdir():
            shutil.rmtree(item) if item.is_dir() else item.unlink()
    out.mkdir(parents=True, exist_ok=True)
    if run_file.exists():
        old = json.loads(run_file.read_text())
        if _comparable(old) != _comparable(record):
            diffs = [k for k in _comparable(record) if _comparable(old).get(k) != _comparable(record).get(k)]
            if "config" in diffs:
                cfg_old, cfg_new = old.get("config", {}), record["config"]
                diffs += [f"config.{k}: {cfg_old.get(k)!r} -> {cfg_new.get(k)!r}"
                          for k in cfg_new if cfg_old.get(k) != cfg_new.get(k)]
            raise GenerateError(
                f"{out} holds a run with a different configuration ({'; '.join(d for d in diffs if d != 'config')}); "
                "use another --out or --overwrite to start over")
    for tmp in out.glob(".*.tmp"):  # half-written images of a killed run
        tmp.unlink()


def done_outputs(out: Path, manifest_name: str) -> set[str]:
    """Outputs already finished: rows of the manifest whose file exists. Rows whose file is gone are dropped."""
    path = out / manifest_name
    rows = read_manifest_rows(path)
    keep = [r for r in rows if (out / r["output"]).is_file()]
    if len(keep) != len(rows) and path.exists():
        import csv

        with open(path, newline="", encoding="utf-8") as f:
            header = next(csv.reader(f))
        tmp = path.with_suffix(".csv.tmp")
        with open(tmp, "w", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, fieldnames=header)
            writer.writeheader()
            writer.writerows(keep)
        os.replace(tmp, path)
    return {r["output"] for r in keep}


class ImageCache:
    """Decoded, resized inputs; style images are reused across many pairs."""

    def __init__(self, size: int, capacity: int = 256):
        self.size, self.capacity, self.items = size, capacity, {}

    def get(self, path: str) -> np.ndarray:
        if path not in self.items:
            if len(self.items) >= self.capacity:
                self.items.pop(next(iter(self.items)))
            self.items[path] = load_square(path, self.size)
        return self.items[path]


def generate(args: argparse.Namespace) -> dict:
    """Run a generation; returns the summary dict that is also printed."""
    from tqdm.auto import tqdm

    default_run = not any([args.content, args.style, args.csv, args.folders, args.content_class, args.style_class])
    if default_run:
        from classify.samples import ISIC_SAMPLE_CSV
        args.csv, args.content_class, args.style_class = str(ISIC_SAMPLE_CSV), "NV", "MEL"
        if args.count is None and args.mode == "pairs":
            args.count = DEFAULT_PAIRS
        reduced = ""
        if args.steps is None and args.preset == "mikolajczyk2019":
            args.steps, reduced = DEFAULT_STEPS, f", {DEFAULT_STEPS} L-BFGS evaluations instead of 200 (--steps 200)"
        if args.batch_size is None:
            args.batch_size = DEFAULT_BATCH
        print(f"nst_aug.generate: no inputs given; running the embedded default "
              f"({args.count} NV content x MEL style pairs from classify.samples, preset {args.preset}{reduced})")
    config = build_config(args)
    contents, styles, skipped, desc = select_inputs(args)
    contents, bad_c = validate(contents, config.size, "content")
    styles, bad_s = validate(styles, config.size, "style")
    skipped += bad_c + bad_s
    for reason in skipped:
        print(f"skipped {reason}", file=sys.stderr)
    if not contents or not styles:
        raise GenerateError(f"no usable {'content' if not contents else 'style'} images "
                            f"({len(skipped)} inputs skipped)")
    pairs = make_pairs(len(contents), len(styles), args.mode, args.count, args.seed)
    indexed = shard(list(enumerate(pairs)), args.num_shards, args.shard_index)
    out = Path(args.out)
    record = run_record(args, config, desc, len(pairs))
    prepare_out(out, record, args)
    manifest_name = f"manifest{_shard_suffix(args)}.csv" if args.num_shards > 1 else MANIFEST_NAME
    finished = done_outputs(out, manifest_name)
    todo = [(i, c, s) for i, (c, s) in indexed
            if output_name(i, contents[c].path, styles[s].path, args.format) not in finished]

    from .transfer import StyleTransfer

    engine = StyleTransfer(config)
    record["weights_source"] = engine.weights_source
    record["versions"] = _versions()
    (out / f"run{_shard_suffix(args)}.json").write_text(json.dumps(record, indent=2, default=str))
    print(f"weights: {engine.weights_source}")
    print(f"{len(pairs)} pairs in all; this shard {len(indexed)}, done {len(indexed) - len(todo)}, "
          f"to do {len(todo)} (batch size {args.batch_size})")

    cache = ImageCache(config.size)
    writer = ManifestWriter(out, EXTRA_COLUMNS, name=manifest_name)
    made, failed = 0, []
    bar = tqdm(total=len(todo), unit="img", desc="style transfer", dynamic_ncols=True)
    try:
        for start in range(0, len(todo), args.batch_size):
            batch = todo[start:start + args.batch_size]
            try:
                c_arr = np.stack([cache.get(contents[c].path) for _, c, _ in batch])
                s_arr = np.stack([cache.get(styles[s].path) for _, _, s in batch])
            except ImageError as err:  # a file changed since validation
                failed.append(str(err))
                bar.update(len(batch))
                continue
            init = None
            if config.init == "noise":  # per-pair seed: an image does not depend on its batch
                init = np.stack([np.random.default_rng([config.seed, i]).uniform(0, 255, c_arr.shape[1:])
                                 for i, _, _ in batch]).astype(np.float32)
            def show_step(step: int, terms: dict, first=start) -> None:
                bar.set_postfix_str(f"batch {first // args.batch_size + 1}: step {step}/{config.steps}, "
                                    f"loss {float(np.mean(terms['total'])):.3g}")

            result = engine.transfer(c_arr, s_arr, init=init, callback=show_step)
            per_image = result.seconds / len(batch)
            for k, (i, c, s) in enumerate(batch):
                name = output_name(i, contents[c].path, styles[s].path, args.format)
                save_image(result.images[k], out / name)
                writer.write(_row(name, contents[c], styles[s], args, config, engine, result, k, i, per_image))
                made += 1
            bar.update(len(batch))
            bar.set_postfix(loss=f"{float(np.mean(result.losses['total'])):.3g}", s_per_img=f"{per_image:.1f}")
    finally:
        bar.close()
        writer.close()
    sheet = write_sheet(out, manifest_name)
    summary = {
        "out": str(out.resolve()), "manifest": str((out / manifest_name).resolve()),
        "contact_sheet": str(sheet.resolve()) if sheet else None, "made": made, "already_done": len(indexed) - len(todo),
        "skipped_inputs": len(skipped), "failed": len(failed), "pairs_total": len(pairs),
    }
    for reason in failed:
        print(f"failed {reason}", file=sys.stderr)
    return summary


def _row(name, content: Input, style: Input, args, config, engine, result, k, pair_index, seconds) -> dict:
    label = {"content": content.label, "style": style.label}.get(args.label, args.label or "")
    losses = {f"{key}_loss": f"{float(result.losses[key][k]):.6g}" for key in ("content", "style", "tv", "total")}
    return {
        "output": name, "source": content.path, "style": style.path, "label": label, "method": "nst",
        "preset": args.preset, "backbone": config.backbone, "weights": engine.weights_source, "size": config.size,
        "steps": config.steps, "seed": config.seed, **losses, "seconds": f"{seconds:.3f}",
        "pair_index": pair_index, "optimizer": config.optimizer, "content_weight": config.content_weight,
        "style_weight": config.style_weight, "init": config.init, "precision": engine.compute_dtype,
        "shard": f"{args.shard_index}/{args.num_shards}",
    }


def write_sheet(out: Path, manifest_name: str = MANIFEST_NAME, max_rows: int = 8) -> Path | None:
    """``OUT/contact_sheet.png`` from the first ``max_rows`` manifest rows (content | style | result)."""
    from .sheet import contact_sheet

    rows = read_manifest_rows(out / manifest_name)[:max_rows]
    if not rows:
        return None
    stem = "contact_sheet" + manifest_name[len("manifest"):-len(".csv")]
    return contact_sheet([(r["source"], r["style"], out / r["output"]) for r in rows], out / f"{stem}.png",
                         title=f"{rows[0]['preset']}  {rows[0]['backbone']}  {rows[0]['size']}px  "
                               f"{rows[0]['steps']} steps")


def merge(dirs: Sequence[str], out: str) -> dict:
    """Combine the manifests of shard folders into ``OUT/manifest.csv`` (outputs re-pointed, not copied)."""
    out_dir = Path(out)
    out_dir.mkdir(parents=True, exist_ok=True)
    configs, rows = [], []
    for d in dirs:
        d = Path(d)
        files = sorted(d.glob("manifest-shard*.csv")) or [d / MANIFEST_NAME]
        for f in files:
            if not f.exists() or (f.name == MANIFEST_NAME and d.resolve() == out_dir.resolve()):
                continue
            for r in read_manifest_rows(f):
                if (d / r["output"]).is_file():
                    r["output"] = os.path.relpath(d / r["output"], out_dir)
                    rows.append(r)
        for run in sorted(d.glob("run*.json")):
            configs.append((run, _comparable(json.loads(run.read_text()))))
    if not rows:
        raise GenerateError(f"--merge: no manifest rows found in {', '.join(map(str, dirs))}")
    if any(c != configs[0][1] for _, c in configs[1:]):
        odd = [str(p) for p, c in configs if c != configs[0][1]]
        raise GenerateError(f"--merge: shards were made with different configurations ({', '.join(odd)})")
    seen, unique = set(), []
    for r in sorted(rows, key=lambda r: int(r.get("pair_index") or 0)):
        if r["output"] not in seen:
            seen.add(r["output"])
            unique.append(r)
    target = out_dir / MANIFEST_NAME
    if target.exists():
        target.unlink()
    extra = [c for c in unique[0] if c not in MANIFEST_COLUMNS]
    with ManifestWriter(out_dir, extra) as writer:
        for r in unique:
            writer.write(r)
    if configs and not (out_dir / "run.json").exists():
        shutil.copyfile(configs[0][0], out_dir / "run.json")
    return {"out": str(out_dir.resolve()), "manifest": str(target.resolve()), "rows": len(unique)}


def _versions() -> dict:
    import keras
    import tensorflow as tf

    return {"python": platform.python_version(), "tensorflow": tf.__version__, "keras": keras.__version__}


# ---------------------------------------------------------------------------------------------------- CLI
def build_parser() -> argparse.ArgumentParser:
    from .presets import PRESETS

    p = argparse.ArgumentParser(
        prog="python -m nst_aug.generate",
        description="Generate a style-transferred training set (no arguments: the embedded NV x MEL default).",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    g = p.add_argument_group("inputs")
    g.add_argument("--content", nargs="+", help="content images: folders, files or globs")
    g.add_argument("--style", nargs="+", help="style images: folders, files or globs")
    g.add_argument("--csv", help="ISIC 2019 ground-truth CSV (image,MEL,NV,...,UNK)")
    g.add_argument("--images", help="image folder for --csv (default: CSV folder/images)")
    g.add_argument("--folders", help="class-per-folder tree ROOT/<class>/<image>")
    g.add_argument("--content-class", help="class of the content images (with --csv/--folders), e.g. NV")
    g.add_argument("--style-class", help="class of the style images (with --csv/--folders), e.g. MEL")
    g = p.add_argument_group("pairing")
    m = g.add_mutually_exclusive_group()
    m.add_argument("--pairs", type=int, dest="count", help="N random distinct (content, style) pairs")
    m.add_argument("--all-pairs", action="store_true", help="every content x every style")
    m.add_argument("--styles-per-content", type=int, help="K random styles for every content image")
    g.add_argument("--seed", type=int, default=0, help="seeds the pairing and noise initialisation")
    g.add_argument("--label", default="", help="manifest label: 'content', 'style', a class name, or empty "
                                               "(to be pseudo-labelled)")
    g = p.add_argument_group("style transfer (defaults: the preset's)")
    g.add_argument("--preset", default="mikolajczyk2019", choices=sorted(PRESETS))
    g.add_argument("--backbone", choices=["vgg16", "vgg19"])
    g.add_argument("--weights", help="auto | imagenet | hed | FILE | random (tests only)")
    g.add_argument("--size", type=int, help="image side in px")
    g.add_argument("--steps", type=int, help="optimisation steps (L-BFGS: loss evaluations)")
    g.add_argument("--optimizer", choices=["adam", "lbfgs"])
    g.add_argument("--content-weight", type=float)
    g.add_argument("--style-weight", type=float)
    g.add_argument("--ratio", type=float, help="content:style weight ratio (sets the content weight)")
    g.add_argument("--tv-weight", type=float)
    g.add_argument("--style-scale", type=float, help="rescale style images by this factor (Shinde)")
    g.add_argument("--init", choices=["content", "noise", "style"])
    g.add_argument("--precision", choices=["float32", "bfloat16", "float16", "auto"])
    g.add_argument("--xla", action="store_true", help="compile the step with XLA (jit_compile)")
    g.add_argument("--preserve-color", action="store_true", help="keep the content image's colours")
    g.add_argument("--pyramid", nargs="+", metavar="SIDE:STEPS",
                   help="coarse-to-fine levels before the full size, e.g. 112:60 (faster convergence)")
    g.add_argument("--batch-size", type=int, help="pairs optimised together (default 2; 4 for the embedded demo)")
    g = p.add_argument_group("output")
    g.add_argument("--out", default="nst_out", help="output folder")
    g.add_argument("--format", default="jpg", choices=["jpg", "png"])
    r = g.add_mutually_exclusive_group()
    r.add_argument("--resume", action="store_true", default=True, help="skip pairs already done (default)")
    r.add_argument("--overwrite", action="store_true", help="delete OUT's contents and start over")
    g.add_argument("--num-shards", type=int, default=1)
    g.add_argument("--shard-index", type=int, default=0)
    g.add_argument("--merge", nargs="+", metavar="DIR", help="combine shard folders' manifests into --out")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    from .vgg import WeightsUnavailableError

    args = build_parser().parse_args(argv)
    args.mode = "all" if args.all_pairs else "per_content" if args.styles_per_content else "pairs"
    if args.styles_per_content:
        args.count = args.styles_per_content
    default_run = not any([args.content, args.style, args.csv, args.folders, args.content_class,
                           args.style_class, args.merge])
    if args.batch_size is None and not default_run:
        args.batch_size = 2
    if args.batch_size is not None and args.batch_size < 1:
        print("error: --batch-size must be >= 1", file=sys.stderr)
        return 2
    try:
        if args.merge:
            summary = merge(args.merge, args.out)
        else:
            summary = generate(args)
    except (GenerateError, WeightsUnavailableError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\ninterrupted: finished images and their manifest rows are kept; run the same command to resume",
              file=sys.stderr)
        return 130
    print(json.dumps(summary, indent=2))
    if not args.merge:
        print(f"images: {summary['out']}\nmanifest: {summary['manifest']}\ncontact sheet: {summary['contact_sheet']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
