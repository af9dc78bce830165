"""A generation job as a typed value: content × style pairs through the NST engine into a resumable folder.

:class:`GenerationJob` says what to make (candidate content and style images, how to pair them, the
:class:`~nst_aug.config.NSTConfig`, the label, the output folder and format); :func:`run_generation` makes it.
``python -m nst_aug.generate`` builds a job from its flags; the reproduction drivers build jobs directly.

``OUT/`` receives the images, ``manifest.csv`` (one row per image, appended and fsynced as each lands;
:mod:`classify.manifest`), ``run.json`` (the resolved configuration, what differs from the preset, the inputs,
the weights and library versions) and ``contact_sheet.png`` (content | style | result).

Crash safety: images are written to a temporary name and renamed, then their manifest row follows. Killing the
process loses at most the batch in flight; running the same job again resumes, skipping pairs already in the
manifest (and not even loading the VGG when nothing is left). A job whose configuration, inputs, pairing,
label or format differ from the ``run.json`` in ``OUT`` is refused rather than mixed in; ``overwrite`` starts
over. Test hook: ``$NST_AUG_KILL_AFTER_IMAGES=N`` makes the process SIGKILL itself right after its N-th image and
that image's manifest row have landed (:data:`KILL_HOOK`), so tests interrupt a run at a known point.

Sharding: ``num_shards`` N and ``shard_index`` I give the pairs I, I+N, … of the deterministic pair list; a
shard writes ``manifest-shardIofN.csv`` and ``run-shardIofN.json`` and :func:`merge` combines shard folders.
"""
from __future__ import annotations

import dataclasses
import hashlib
import os
import random
import shutil
import signal
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from classify.files import read_json, remove_files, remove_temporaries, write_json
from classify.images import ImageError, load_fitted, save_image
from classify.manifest import (MANIFEST_NAME, ManifestWriter, merge_manifests, read_manifest_rows,
                               remove_listed_outputs, write_manifest)

from .config import NSTConfig

EXTRA_COLUMNS = ("pair_index", "optimizer", "content_weight", "style_weight", "init", "precision", "shard",
                 "style_selection", "blend")
PAIRINGS = ("all", "pairs", "per_content")
#: ``nst``: the faithful optimisation engine (:mod:`nst_aug.transfer`); ``fast``: Ghiasi et al.'s feed-forward
#: arbitrary stylisation (:mod:`nst_aug.fast`).
METHODS = ("nst", "fast")

#: Test hook (like gan_aug.callbacks' ``GAN_AUG_KILL_BEFORE_CHECKPOINT``): ``$NST_AUG_KILL_AFTER_IMAGES=N`` kills
#: the process (SIGKILL) right after the N-th image *this process* made was written together with its manifest
#: row, so a test interrupts a run at a known point instead of racing a timer. Unset (the default): no effect.
KILL_HOOK = "NST_AUG_KILL_AFTER_IMAGES"


class GenerationError(ValueError):
    """A job that cannot run as given (one line: what is wrong)."""


@dataclass(frozen=True)
class Input:
    """A candidate image: its path and class label ('' when unknown)."""

    path: str
    label: str = ""


@dataclass(frozen=True)
class StyleSelection:
    """Shinde §3.2: which positions of each style image enter its Gram matrix (:mod:`nst_aug.saliency`).

    ``method``: ``guided``, ``gradient`` or ``occlusion``; the top ``fraction`` of positions is kept. The score
    explained: ``model``'s logit of ``target`` (a ``classify`` model; default its prediction), or without a model
    the mean activation of ``layer`` of the NST network itself."""

    method: str = "guided"
    fraction: float = 0.25
    model: str | None = None
    target: str | None = None
    layer: str | None = None

    def __post_init__(self) -> None:
        from .saliency import METHODS

        if self.method not in METHODS:
            raise GenerationError(f"style selection must be one of {', '.join(METHODS)}, got {self.method!r}")
        if not 0 < self.fraction <= 1:
            raise GenerationError(f"the selected fraction must be in (0, 1], got {self.fraction}")


@dataclass(frozen=True)
class GenerationJob:
    """Everything one generation run needs (module docstring).

    ``pairing``: ``all`` (every content × every style), ``pairs`` (``count`` distinct random pairs) or
    ``per_content`` (``count`` random styles per content). ``label``: ``"content"``, ``"style"`` (the class of
    that image), any class name, or ``""`` (to be pseudo-labelled). ``preset``: the preset ``config`` was made
    from (``run.json`` lists what differs). ``inputs``: a description of where the images came from, for people.
    """

    contents: tuple[Input, ...]
    styles: tuple[Input, ...]
    config: NSTConfig
    out: str
    preset: str = "custom"
    pairing: str = "pairs"
    count: int | None = None
    seed: int = 0
    label: str = ""
    format: str = "jpg"
    batch_size: int = 2
    num_shards: int = 1
    shard_index: int = 0
    overwrite: bool = False
    resume: bool = True
    selection: StyleSelection | None = None
    blend: int = 1
    blend_pool: tuple[Input, ...] = ()
    method: str = "nst"
    strength: float = 1.0
    inputs: dict[str, Any] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        if self.pairing not in PAIRINGS:
            raise GenerationError(f"pairing must be one of {', '.join(PAIRINGS)}, got {self.pairing!r}")
        if self.format not in ("jpg", "png"):
            raise GenerationError(f"format must be jpg or png, got {self.format!r}")
        if self.batch_size < 1:
            raise GenerationError("batch size must be >= 1")
        if self.count is not None and self.count < 1:
            raise GenerationError(f"the number of pairs must be >= 1, got {self.count}")
        if self.method not in METHODS:
            raise GenerationError(f"method must be one of {', '.join(METHODS)}, got {self.method!r}")
        if self.method == "fast" and (self.selection is not None or self.blend > 1):
            raise GenerationError("the fast method takes one whole style image: no --style-select or --blend")
        if not 0.0 <= self.strength <= 1.0:
            raise GenerationError(f"strength must be in [0, 1], got {self.strength}")
        if self.strength != 1.0 and self.method != "fast":
            raise GenerationError("--strength applies to --method fast (the optimisation engine uses --ratio)")
        if self.blend < 1:
            raise GenerationError(f"blend must be >= 1 style image, got {self.blend}")
        if self.blend_pool and self.blend > 1 and len(self.blend_pool) < self.blend:
            raise GenerationError(f"blending {self.blend} styles from a pool needs at least {self.blend} pool "
                                  f"images, got {len(self.blend_pool)}")
        if self.blend > 1 and not self.blend_pool and len(self.styles) < self.blend:
            raise GenerationError(f"blending {self.blend} styles needs at least {self.blend} style images, "
                                  f"got {len(self.styles)}")
        if self.blend > 1 and self.config.style_blend is not None and len(self.config.style_blend) != self.blend:
            raise GenerationError(f"{len(self.config.style_blend)} blend weights for {self.blend} style images")
        if self.num_shards < 1 or not 0 <= self.shard_index < self.num_shards:
            raise GenerationError(f"shard index must be in 0..{self.num_shards - 1} "
                                  f"(got {self.shard_index} of {self.num_shards})")

    @property
    def shard_suffix(self) -> str:
        return f"-shard{self.shard_index}of{self.num_shards}" if self.num_shards > 1 else ""

    @property
    def manifest_name(self) -> str:
        return f"manifest{self.shard_suffix}.csv" if self.num_shards > 1 else MANIFEST_NAME


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
        raise GenerationError(f"shard index must be in 0..{num_shards - 1} (got {index} of {num_shards})")
    return items[index::num_shards]


def output_name(pair_index: int, content: str, style: str, ext: str) -> str:
    """Unique, deterministic image name: global pair index plus both stems."""
    return f"{pair_index:07d}_{Path(content).stem}__{Path(style).stem}.{ext}"


# ---------------------------------------------------------------------------------------------- the inputs
def usable(inputs: Sequence[Input], size: int, what: str, workers: int = 4, fit: str = "crop",
           resample: str = "bilinear", progress: bool = False) -> tuple[list[Input], list[str]]:
    """Decode every input once (in threads) and keep the usable ones; bad ones get a one-line reason.
    ``progress`` shows a bar (``checking <what> images``)."""
    from tqdm.auto import tqdm

    def check(item: Input) -> str | None:
        try:
            load_fitted(item.path, size, fit, resample)
        except ImageError as err:
            return f"{what}: {err}"
        return None

    with ThreadPoolExecutor(workers) as pool:
        reasons = list(tqdm(pool.map(check, inputs), total=len(inputs), desc=f"checking {what} images", unit="img",
                            disable=not progress or not inputs, leave=False, dynamic_ncols=True))
    return [item for item, reason in zip(inputs, reasons) if reason is None], [r for r in reasons if r]


def blend_partners(pair_index: int, style: int, n_styles: int, k: int, seed: int) -> list[int]:
    """The ``k`` style indices pair ``pair_index`` blends: its own style first, then ``k - 1`` others drawn
    without repeats from ``(seed, pair_index)`` (the same on every run and in every shard)."""
    if k <= 1:
        return [style]
    others = [j for j in range(n_styles) if j != style]
    rng = random.Random(f"{seed}:{pair_index}:blend")
    return [style] + rng.sample(others, k - 1)


def blend_styles(job: "GenerationJob", styles: Sequence[Input], pair_index: int, content: Input,
                 style: int) -> list[Input]:
    """The style images pair ``pair_index`` blends, its own style first. The ``k - 1`` others come from
    ``job.blend_pool`` when one is given (never the pair's content image itself: Shinde §5's "images in same
    dataset"), else from the other style images (:func:`blend_partners`)."""
    if job.blend <= 1:
        return [styles[style]]
    if not job.blend_pool:
        return [styles[j] for j in blend_partners(pair_index, style, len(styles), job.blend, job.seed)]
    pool = [p for p in job.blend_pool if p.path != content.path and p.path != styles[style].path]
    if len(pool) < job.blend - 1:
        raise GenerationError(f"the blend pool has {len(pool)} images besides this pair's own, "
                              f"{job.blend - 1} needed")
    rng = random.Random(f"{job.seed}:{pair_index}:blend")
    return [styles[style]] + rng.sample(pool, job.blend - 1)


def _digest(items: Sequence[Input]) -> str:
    return hashlib.sha256("\n".join(f"{i.path}\t{i.label}" for i in items).encode()).hexdigest()[:16]


def run_record(job: GenerationJob, contents: Sequence[Input], styles: Sequence[Input], n_pairs: int) -> dict:
    """``run.json``'s content (before the engine adds its weights)."""
    from .presets import PRESETS, get_preset

    config = job.config
    base = get_preset(job.preset) if job.preset in PRESETS else config
    return {
        "preset": job.preset,
        "config": config.to_dict(),
        "non_default": {k: {"value": a, "preset": b} for k, (a, b) in config.differences(base).items() if k != "name"},
        "inputs": {**job.inputs, "contents": len(contents), "styles": len(styles),
                   "contents_sha": _digest(contents), "styles_sha": _digest(styles),
                   **({"blend_pool": len(job.blend_pool), "blend_pool_sha": _digest(job.blend_pool)}
                      if job.blend_pool else {})},
        "pairing": {"mode": job.pairing, "count": job.count, "seed": job.seed, "pairs_total": n_pairs},
        "label": job.label,
        "format": job.format,
        "batch_size": job.batch_size,
        "style_selection": None if job.selection is None else dataclasses.asdict(job.selection),
        "blend": job.blend,
        "method": job.method,
        "strength": job.strength,
    }


def _comparable(record: dict) -> dict:
    """What must match for two runs to share an output folder (not batch size, not shards, not descriptions)."""
    inputs = record.get("inputs") or {}
    return {"config": record.get("config"), "pairing": record.get("pairing"), "label": record.get("label"),
            "format": record.get("format"), "style_selection": record.get("style_selection"),
            "blend": record.get("blend", 1), "method": record.get("method", "nst"),
            "strength": record.get("strength", 1.0),
            "inputs": {k: inputs.get(k) for k in ("contents_sha", "styles_sha", "blend_pool_sha")}}


def prepare_out(job: GenerationJob, record: dict) -> None:
    """Create/validate the output folder: refuse to mix configurations; ``overwrite`` starts over, deleting only
    what a generation run writes (its images, manifests, run records and contact sheets)."""
    out = Path(job.out)
    run_file = out / f"run{job.shard_suffix}.json"
    if job.overwrite and out.exists():
        _remove_own_files(out)
    out.mkdir(parents=True, exist_ok=True)
    old = read_json(run_file)
    if old is not None and not job.resume:
        raise GenerationError(f"{out} already holds a generation run: leave out --no-resume to continue it, or "
                              "--overwrite to start over")
    if old is not None and _comparable(old) != _comparable(record):
        new, was = _comparable(record), _comparable(old)
        diffs = [k for k in new if new[k] != was.get(k)]
        if "config" in diffs:
            cfg_old, cfg_new = was.get("config") or {}, new["config"]
            diffs += [f"config.{k}: {cfg_old.get(k)!r} -> {cfg_new.get(k)!r}"
                      for k in cfg_new if cfg_old.get(k) != cfg_new.get(k)]
        raise GenerationError(
            f"{out} holds a run with a different configuration ({'; '.join(d for d in diffs if d != 'config')}); "
            "use another output folder or overwrite to start over")
    remove_temporaries(out)  # half-written images of a killed run


#: The records a generation run (or one shard of it) writes besides its images, in
#: :func:`classify.files.matching_files`' notation.
RUN_RECORDS = ("run.json", "run-shard#of#.json", "contact_sheet.png", "contact_sheet-shard#of#.png")
MANIFESTS = (MANIFEST_NAME, "manifest-shard#of#.csv")


def _remove_own_files(out: Path) -> None:
    """Delete what generation runs wrote in ``out`` and nothing else: the images their manifests list, the
    manifests, run records and contact sheets (:data:`MANIFESTS`, :data:`RUN_RECORDS` — exact names, so a
    user's ``manifest_mine.csv`` or ``runbook.json`` and the images it lists stay)."""
    remove_listed_outputs(out, MANIFESTS)
    remove_files(out, RUN_RECORDS)


def finished_outputs(out: Path, manifest_name: str) -> set[str]:
    """Outputs already finished: rows of the manifest whose file exists. Rows whose file is gone are dropped
    from the manifest (rewritten atomically), so their pairs are made again."""
    from classify.manifest import manifest_columns

    path = out / manifest_name
    rows = read_manifest_rows(path)
    keep = [r for r in rows if (out / r["output"]).is_file()]
    if len(keep) != len(rows):
        write_manifest(path, keep, manifest_columns(path))
    return {r["output"] for r in keep}


class ImageCache:
    """Decoded inputs fitted to ``size`` (:func:`classify.images.load_fitted`); style images are reused across many
    pairs."""

    def __init__(self, size: int, fit: str = "crop", resample: str = "bilinear", capacity: int = 256):
        self.size, self.fit, self.resample, self.capacity, self.items = size, fit, resample, capacity, {}

    def get(self, path: str) -> np.ndarray:
        if path not in self.items:
            if len(self.items) >= self.capacity:
                self.items.pop(next(iter(self.items)))
            self.items[path] = load_fitted(path, self.size, self.fit, self.resample)
        return self.items[path]


def same_shape_groups(items: Sequence, shape_of) -> list[list]:
    """``items`` split into runs that share ``shape_of(item)`` (first-seen order kept): with ``fit="long_side"``
    images of different aspect ratios cannot share a batch, and a pair's image does not depend on its batch."""
    groups: dict = {}
    for item in items:
        groups.setdefault(shape_of(item), []).append(item)
    return list(groups.values())


# ----------------------------------------------------------------------------------------------- the run
def run_generation(job: GenerationJob, skipped: Sequence[str] = (), progress: bool = True) -> dict:
    """Make (or finish) ``job``; returns the summary (also printed by the CLI).

    ``skipped``: one-line reasons for inputs the caller already left out (they are counted in the summary).
    """
    from tqdm.auto import tqdm

    config = job.config
    contents, bad_c = usable(job.contents, config.size, "content", fit=config.fit, resample=config.resample,
                             progress=progress)
    styles, bad_s = usable(job.styles, config.size, "style", fit=config.fit, resample=config.resample,
                           progress=progress)
    pool, bad_p = usable(job.blend_pool, config.size, "blend pool", fit=config.fit, resample=config.resample,
                         progress=progress)
    if job.blend_pool:
        job = dataclasses.replace(job, blend_pool=tuple(pool))
    skipped = list(skipped) + bad_c + bad_s + bad_p
    for reason in bad_c + bad_s + bad_p:
        print(f"skipped {reason}", file=sys.stderr)
    if not contents or not styles:
        raise GenerationError(f"no usable {'content' if not contents else 'style'} images "
                              f"({len(skipped)} inputs skipped)")
    pairs = make_pairs(len(contents), len(styles), job.pairing, job.count, job.seed)
    possible = len(contents) * len(styles) if job.pairing == "pairs" else len(styles)
    if job.count is not None and job.pairing != "all" and job.count > possible:
        what = (f"--pairs {job.count}: only {possible} distinct (content, style) pairs exist"
                if job.pairing == "pairs" else f"--styles-per-content {job.count}: only {possible} styles exist")
        print(f"warning: {what}; making {len(pairs)}", file=sys.stderr)
    indexed = shard(list(enumerate(pairs)), job.num_shards, job.shard_index)
    out = Path(job.out)
    record = {**run_record(job, contents, styles, len(pairs)), "skipped_inputs": skipped}
    prepare_out(job, record)
    finished = finished_outputs(out, job.manifest_name)
    todo = [(i, c, s) for i, (c, s) in indexed
            if output_name(i, contents[c].path, styles[s].path, job.format) not in finished]
    made, failed = 0, []
    if todo:
        made, failed = _make(job, record, contents, styles, todo, len(indexed), len(pairs), tqdm, progress)
    sheet = write_sheet(out, job.manifest_name)
    for reason in failed:
        print(f"failed {reason}", file=sys.stderr)
    return {
        "out": str(out.resolve()), "manifest": str((out / job.manifest_name).resolve()),
        "contact_sheet": str(sheet.resolve()) if sheet else None, "made": made,
        "already_done": len(indexed) - len(todo), "skipped_inputs": len(skipped), "failed": len(failed),
        "pairs_total": len(pairs),
    }


def _make(job, record, contents, styles, todo, n_shard, n_pairs, tqdm, progress) -> tuple[int, list[str]]:
    """Load the engine and optimise the pairs of ``todo`` batch by batch (each image lands with its row)."""
    from classify.versions import library_versions

    from .transfer import StyleTransfer

    config, out = job.config, Path(job.out)
    if job.method == "fast":
        return _make_fast(job, record, contents, styles, todo, n_shard, n_pairs, tqdm, progress)
    engine = StyleTransfer(config)
    write_json(out / f"run{job.shard_suffix}.json",
               {**record, "weights_source": engine.weights_source, "versions": library_versions()})
    print(f"weights: {engine.weights_source}")
    print(f"{n_pairs} pairs in all; this shard {n_shard}, done {n_shard - len(todo)}, to do {len(todo)} "
          f"(batch size {job.batch_size})")
    cache = ImageCache(config.size, config.fit, config.resample)
    masks, selection_note = _style_masks(job, contents, styles, todo, cache)
    made, failed = 0, []
    bar = tqdm(total=len(todo), unit="img", desc="style transfer", dynamic_ncols=True, disable=not progress)
    with ManifestWriter(out, EXTRA_COLUMNS, name=job.manifest_name) as writer:
        try:
            for start in range(0, len(todo), job.batch_size):
                chunk = todo[start:start + job.batch_size]
                partners_of = {i: blend_styles(job, styles, i, contents[c], s) for i, c, s in chunk}
                try:
                    batches = same_shape_groups(chunk, lambda item: (
                        cache.get(contents[item[1]].path).shape,
                        tuple(cache.get(p.path).shape for p in partners_of[item[0]])))
                except ImageError as err:  # a file changed since it was checked
                    failed.append(str(err))
                    bar.update(len(chunk))
                    continue
                for batch in batches:
                    partners = [partners_of[i] for i, _, _ in batch]
                    c_arr = np.stack([cache.get(contents[c].path) for _, c, _ in batch])
                    s_arrs = [np.stack([cache.get(p[j].path) for p in partners]) for j in range(job.blend)]
                    init = None
                    if config.init == "noise":  # per-pair seed: an image does not depend on its batch
                        init = np.stack([np.random.default_rng([config.seed, i]).uniform(0, 255, c_arr.shape[1:])
                                         for i, _, _ in batch]).astype(np.float32)

                    def show_step(step: int, terms: dict, first=start) -> None:
                        bar.set_postfix_str(f"batch {first // job.batch_size + 1}: step {step}/{config.steps}, "
                                            f"loss {float(np.mean(terms['total'])):.3g}")

                    style_mask = None
                    if masks is not None:
                        style_mask = [np.stack([masks[p[j].path] for p in partners])
                                      for j in range(job.blend)]
                        style_mask = style_mask[0] if job.blend == 1 else style_mask
                    result = engine.transfer(c_arr, s_arrs[0] if job.blend == 1 else s_arrs, init=init,
                                             style_mask=style_mask, callback=show_step)
                    per_image = result.seconds / len(batch)
                    for k, (i, c, s) in enumerate(batch):
                        name = output_name(i, contents[c].path, styles[s].path, job.format)
                        save_image(result.images[k], out / name)
                        row = _row(name, contents[c], styles[s], job, engine, result, k, i, per_image)
                        row["style_selection"] = selection_note
                        if job.blend > 1:
                            weights = np.asarray(config.style_blend or (1.0,) * job.blend, float)
                            row["blend"] = "|".join(f"{p.path}:{w:.4g}"
                                                    for p, w in zip(partners[k], weights / weights.sum()))
                        writer.write(row)
                        made += 1
                        if os.environ.get(KILL_HOOK) == str(made):  # test hook (KILL_HOOK)
                            os.kill(os.getpid(), signal.SIGKILL)
                    bar.update(len(batch))
                    bar.set_postfix(loss=f"{float(np.mean(result.losses['total'])):.3g}",
                                    s_per_img=f"{per_image:.1f}")
        finally:
            bar.close()
    return made, failed


def _make_fast(job, record, contents, styles, todo, n_shard, n_pairs, tqdm, progress) -> tuple[int, list[str]]:
    """:func:`_make` for ``method="fast"``: batches of ``job.batch_size`` pairs (split by image shape) through
    :class:`nst_aug.fast.FastStylizer` (style embeddings computed once per style image); each image lands with
    its row."""
    import time

    from classify.versions import library_versions

    from .fast import FastStylizer

    config, out = job.config, Path(job.out)
    engine = FastStylizer()
    write_json(out / f"run{job.shard_suffix}.json",
               {**record, "weights_source": engine.provenance, "versions": library_versions()})
    print(f"weights: {engine.provenance}")
    print(f"{n_pairs} pairs in all; this shard {n_shard}, done {n_shard - len(todo)}, to do {len(todo)} "
          f"(fast, batch size {job.batch_size})")
    cache, embeddings = ImageCache(config.size, config.fit, config.resample), {}
    made, failed = 0, []
    bar = tqdm(total=len(todo), unit="img", desc="fast style transfer", dynamic_ncols=True, disable=not progress)
    with ManifestWriter(out, EXTRA_COLUMNS, name=job.manifest_name) as writer:
        try:
            for start in range(0, len(todo), job.batch_size):
                chunk = todo[start:start + job.batch_size]
                try:
                    batches = same_shape_groups(chunk, lambda item: cache.get(contents[item[1]].path).shape)
                    for _, _, s in chunk:
                        if styles[s].path not in embeddings:
                            embeddings[styles[s].path] = engine.embed(cache.get(styles[s].path))
                except ImageError as err:  # a file changed since it was checked
                    failed.append(str(err))
                    bar.update(len(chunk))
                    continue
                for batch in batches:
                    t0 = time.perf_counter()
                    images = engine.stylize(np.stack([cache.get(contents[c].path) for _, c, _ in batch]),
                                            np.stack([embeddings[styles[s].path] for _, _, s in batch]),
                                            job.strength)
                    per_image = (time.perf_counter() - t0) / len(batch)
                    for k, (i, c, s) in enumerate(batch):
                        name = output_name(i, contents[c].path, styles[s].path, job.format)
                        save_image(images[k], out / name)
                        label = {"content": contents[c].label, "style": styles[s].label}.get(job.label,
                                                                                               job.label or "")
                        writer.write({"output": name, "source": contents[c].path, "style": styles[s].path,
                                      "label": label, "method": "fast",
                                      "preset": f"ghiasi2017 strength {job.strength:g}",
                                      "backbone": "ghiasi2017 (MobileNet style predictor + transformer)",
                                      "weights": engine.provenance, "size": config.size, "steps": 1,
                                      "seed": config.seed, "seconds": f"{per_image:.3f}", "pair_index": i,
                                      "shard": f"{job.shard_index}/{job.num_shards}"})
                        made += 1
                        if os.environ.get(KILL_HOOK) == str(made):  # test hook (KILL_HOOK)
                            os.kill(os.getpid(), signal.SIGKILL)
                    bar.update(len(batch))
                    bar.set_postfix(s_per_img=f"{per_image:.2f}")
        finally:
            bar.close()
    return made, failed


def _style_masks(job: GenerationJob, contents: Sequence[Input], styles: Sequence[Input], todo,
                 cache) -> tuple[dict | None, str]:
    """``({style path: (H, W) 0/1 mask}, description)`` for the styles ``todo`` uses, or ``(None, "")``
    without a selection (:mod:`nst_aug.saliency`)."""
    sel = job.selection
    if sel is None:
        return None, ""
    from .saliency import heat_map, score_function, style_mask

    config = job.config
    scorer = score_function(sel.model, sel.target, config.backbone, sel.layer, config.weights, config.seed)
    used = sorted({p.path for i, c, s in todo for p in blend_styles(job, styles, i, contents[c], s)})
    masks = {}
    for group in same_shape_groups(used, lambda path: cache.get(path).shape):
        for start in range(0, len(group), 8):
            paths = group[start:start + 8]
            maps = heat_map(scorer, np.stack([cache.get(p) for p in paths]).astype(np.float32), sel.method)
            masks.update(zip(paths, style_mask(maps, sel.fraction)))
    note = f"{sel.method} top {sel.fraction:g} of positions; score: {scorer.description}"
    print(f"style selection: {note} ({len(masks)} style images)")
    return masks, note


def _row(name, content: Input, style: Input, job: GenerationJob, engine, result, k, pair_index, seconds) -> dict:
    config = job.config
    label = {"content": content.label, "style": style.label}.get(job.label, job.label or "")
    losses = {f"{key}_loss": f"{float(result.losses[key][k]):.6g}" for key in ("content", "style", "tv", "total")}
    return {
        "output": name, "source": content.path, "style": style.path, "label": label, "method": "nst",
        "preset": job.preset, "backbone": config.backbone, "weights": engine.weights_source, "size": config.size,
        "steps": config.steps, "seed": config.seed, **losses, "seconds": f"{seconds:.3f}",
        "pair_index": pair_index, "optimizer": config.optimizer, "content_weight": config.content_weight,
        "style_weight": config.style_weight, "init": config.init, "precision": engine.compute_dtype,
        "shard": f"{job.shard_index}/{job.num_shards}",
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
    """Combine shard folders into ``OUT/manifest.csv`` (:func:`classify.manifest.merge_manifests`; images outside
    OUT are hard-linked in). Shards made with different configurations are refused."""
    out_dir = Path(out)
    sources, configs = [], []
    for d in map(Path, dirs):
        files = sorted(d.glob("manifest-shard*.csv")) or [d / MANIFEST_NAME]
        sources += [f for f in files if f.is_file() and not (f.name == MANIFEST_NAME
                                                              and d.resolve() == out_dir.resolve())]
        configs += [(run, _comparable(read_json(run) or {})) for run in sorted(d.glob("run*.json"))]
    if any(c != configs[0][1] for _, c in configs[1:]):
        odd = [str(p) for p, c in configs if c != configs[0][1]]
        raise GenerationError(f"merge: shards were made with different configurations ({', '.join(odd)})")
    n = merge_manifests(sources, out_dir / MANIFEST_NAME, order_by="pair_index") if sources else 0
    if not n:
        raise GenerationError(f"merge: no manifest rows found in {', '.join(map(str, dirs))}")
    if configs and not (out_dir / "run.json").exists():
        shutil.copyfile(configs[0][0], out_dir / "run.json")
    return {"out": str(out_dir.resolve()), "manifest": str((out_dir / MANIFEST_NAME).resolve()), "rows": n}
