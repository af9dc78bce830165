"""Training data for the GANs: lists of image paths in, deterministic epoch-keyed ``tf.data`` pipelines out.

Images are decoded once with :func:`classify.images.load_image` (robust decoding; a bad file is skipped with a
one-line reason) and resized to ``load_size x load_size`` (junyanz ``resize_and_crop``: both sides, bicubic),
as ``uint8``. With a ``cache`` folder (what the training CLI and the drivers give: ``OUT/data/``) they are
decoded in parallel threads straight into a memory-mapped ``.npy`` file named by a digest of the files, sizes
and resampling, and reused by a resumed run; the pipelines read each item from the array through
``tf.numpy_function``, so the set is never copied into RAM as a whole (ISIC 2019's 12,875 nevi at 286 px are
3.2 GB; the operating system pages in what the current batches touch). Without a cache the array is in memory.
Each epoch is a pure function of ``(seed, epoch)``: the order, the random
crops, the flips and (CycleGAN) the pairing of A with random B images use stateless random ops keyed on the
epoch and position. ``fit(initial_epoch=k)`` on a pipeline started at epoch ``k`` therefore sees exactly the
batches an uninterrupted run would have seen — what makes ``--resume`` exact.

Domains and class selections come from what ``classify`` reads (:func:`select_samples`): an ISIC 2019
ground-truth CSV with class names, a class-per-folder tree, a generator manifest, an image list (a split file,
a Path-Rank-Filter selection) or a plain folder of images — optionally only the parts of a split file.
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from typing import TYPE_CHECKING

import numpy as np

from classify.files import atomic_path, read_json, write_json
from classify.images import ImageError, load_image

if TYPE_CHECKING:
    import tensorflow as tf


@dataclass
class ImageSet:
    """Decoded images ``(n, load_size, load_size, 3) uint8`` with their paths, labels and skip reasons."""

    images: np.ndarray
    paths: list[str]
    labels: list[str]
    skipped: list[str]

    def __len__(self) -> int:
        return len(self.paths)


def select_samples(spec: str, csv_path: str | None = None, image_dir: str | None = None,
                   split_file: str | None = None, parts: Sequence[str] = ("train",), label_column: str = "label",
                   folders: str | None = None):
    """The samples a data spec names (:func:`classify.data.read_selection`: an ISIC class name with the CSV, a
    class of the ``folders`` tree, a manifest, an image list, a folder, a file or a glob), restricted to ``parts``
    of ``split_file`` when given (:func:`classify.splits.select_parts`: a GAN trained on a fold's training part
    sees none of its validation or test images). Returns ``(samples, skipped reasons, note)``."""
    from classify.data import read_selection

    samples, skipped = read_selection(spec, csv_path, image_dir, label_column, folders)
    note = None
    if split_file:
        from classify.splits import select_parts

        samples, note = select_parts(samples, split_file, parts)
    return samples, skipped, note


def dependencies(samples) -> list[str]:
    """The real images a generator trained on ``samples`` depends on: each real sample, and the real images each
    synthetic sample depends on (:attr:`classify.data.Sample.groups`), without repeats."""
    out: dict[str, None] = {}
    for s in samples:
        for g in s.groups:
            out.setdefault(g)
    return list(out)


def load_image_set(samples, load_size: int, resample: str = "bicubic", progress: bool = False,
                   desc: str = "loading images", cache: str | os.PathLike | None = None,
                   workers: int | None = None) -> ImageSet:
    """Decode and resize every sample to ``load_size x load_size``; bad files are skipped with their reason.

    ``cache``: a folder for the decoded set as a memory-mapped ``.npy`` (``n × load_size² × 3`` bytes on disk,
    not in RAM; a row per input, the kept images first) plus a ``.json`` of its paths, labels and skip reasons,
    both written atomically and named by a digest of (path, size, mtime) of every file, ``load_size`` and
    ``resample``: the same inputs reuse it without decoding, changed ones make a new one. Without ``cache`` the
    images are an in-memory array. ``workers`` threads decode (default: the CPU count; PIL releases the GIL
    while decoding). ``progress`` shows a bar."""
    samples = list(samples)
    stem = None
    if cache is not None and samples:
        stem = Path(cache) / f"images-{load_size}-{resample}-{_files_digest(samples, load_size, resample)}"
        found = _cached_set(stem)
        if found is not None:
            return found

    shape = (len(samples), load_size, load_size, 3)
    if stem is None:
        images = np.zeros(shape, np.uint8)
        kept, labels, skipped = _decode_into(images, samples, load_size, resample, workers, progress, desc)
        return ImageSet(images[:len(kept)], kept, labels, skipped)
    with atomic_path(stem.with_suffix(".npy"), suffix=".npy") as tmp:
        images = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.uint8, shape=shape)
        kept, labels, skipped = _decode_into(images, samples, load_size, resample, workers, progress, desc)
        images.flush()
        del images  # closed before the rename
    write_json(stem.with_suffix(".json"), {"paths": kept, "labels": labels, "skipped": skipped})
    return _cached_set(stem)


def _decode_into(images: np.ndarray, samples, load_size: int, resample: str, workers: int | None, progress: bool,
                 desc: str) -> tuple[list[str], list[str], list[str]]:
    """Decode ``samples`` in threads into the first rows of ``images``; ``(kept paths, their labels, skips)``."""
    from concurrent.futures import ThreadPoolExecutor

    from tqdm.auto import tqdm

    def decode(sample):
        try:
            return load_image(sample.path, size=(load_size, load_size), resample=resample)
        except ImageError as err:
            return str(err)

    kept, labels, skipped = [], [], []
    with ThreadPoolExecutor(workers or os.cpu_count() or 1) as pool:
        for s, got in tqdm(zip(samples, pool.map(decode, samples)), total=len(samples), desc=desc, unit="img",
                           disable=not progress, leave=False):
            if isinstance(got, str):
                skipped.append(got)
                continue
            images[len(kept)] = got
            kept.append(str(s.path))
            labels.append(s.label)
    return kept, labels, skipped


def _cached_set(stem: Path) -> ImageSet | None:
    """The set stored at ``stem`` (``.npy`` memory-mapped read-only + ``.json``), or ``None``. The file has a row
    per input; the kept images fill the first rows (skipped files leave the last rows unused)."""
    stored = read_json(stem.with_suffix(".json"))
    if stored is None or not stem.with_suffix(".npy").is_file():
        return None
    images = np.load(stem.with_suffix(".npy"), mmap_mode="r")[:len(stored["paths"])]
    return ImageSet(images, stored["paths"], stored["labels"], stored["skipped"])


def _files_digest(samples, load_size: int, resample: str) -> str:
    """What a decoded set depends on: each file's path, size and modification time, the size and resampling."""
    h = hashlib.sha256(f"{load_size}:{resample}".encode())
    for s in samples:
        try:
            st = os.stat(s.path)
            h.update(f"\n{s.path}\t{s.label}\t{st.st_size}\t{st.st_mtime_ns}".encode())
        except OSError:
            h.update(f"\n{s.path}\t{s.label}\tmissing".encode())
    return h.hexdigest()[:16]


@dataclass(frozen=True)
class DataSpec:
    """Where a GAN's training images come from (:func:`gan_aug.data.select_samples` reads each spec).

    CycleGAN: ``domain_a``/``domain_b``; DCGAN: ``input``; ACGAN: ``csv`` or ``folders`` with ``classes``. A spec
    is a folder, a manifest, an image list, or a class name (of ``csv``, or a sub-folder of ``folders``).
    ``split_file``/``parts``: only the real images of those parts of a ``classify`` split.
    """

    csv: str | None = None
    images: str | None = None
    folders: str | None = None
    classes: tuple[str, ...] | None = None
    domain_a: str | None = None
    domain_b: str | None = None
    input: str | None = None
    split_file: str | None = None
    parts: tuple[str, ...] = ("train",)


# ------------------------------------------------------------------------------------------------ data
def load_data(kind, opts, spec: DataSpec, progress: bool = True, cache: str | os.PathLike | None = None) -> dict:
    """Resolve ``spec`` to decoded image sets for the GAN kind ``kind`` (:class:`gan_aug.kinds.GANKind`) with
    options ``opts``; skipped files are listed in each set's ``skipped``. ``cache``: the folder of the sets'
    memory-mapped files (:func:`load_image_set`; ``None`` = in memory).

    Returns ``{set name: ImageSet, "<set>_spec", "<set>_label", "classes" (ACGAN), "depends": [real images],
    "notes": [split notes]}``.
    """
    csv, image_dir = spec.csv, spec.images
    split_file, parts = spec.split_file, spec.parts
    out: dict = {"notes": [], "depends": []}
    if kind.conditional:
        from classify.data import read_class_folders, read_isic_csv

        classes = list(spec.classes) if spec.classes else None
        if csv:
            samples, skipped = read_isic_csv(csv, image_dir, classes=classes)
        elif spec.folders:
            samples, skipped = read_class_folders(spec.folders, classes=classes)
        else:
            raise ValueError("acgan needs --csv CSV or --folders ROOT")
        if split_file:
            from classify.splits import select_parts

            samples, note = select_parts(samples, split_file, parts)
            out["notes"].append(note)
        sets = {"images": (samples, skipped, opts.size)}
        out["classes"] = classes or sorted({x.label for x in samples})
    else:
        specs = {"a": spec.domain_a, "b": spec.domain_b} if kind.translates else {"images": spec.input}
        sets = {}
        for name, given in specs.items():
            if not given:
                needs = "--domain-a and --domain-b" if kind.translates else "--input"
                raise ValueError(f"{kind.name} needs {needs}")
            samples, skipped, note = select_samples(given, csv, image_dir, split_file, parts, folders=spec.folders)
            if note:
                out["notes"].append(f"{given}: {note}")
            sets[name] = (samples, skipped, opts.load_size if kind.translates else opts.size)
            prefix = "" if name == "images" else f"{name}_"
            out[f"{prefix}spec"] = given
            out[f"{prefix}label"] = ((getattr(opts, "label", "") if name == "images" else "")
                                     or (samples[0].label if samples else "") or Path(given).name)
            if kind.translates:  # the sample grid calls a domain of generated images 'generated', not 'real'
                out[f"{prefix}synthetic"] = bool(samples) and all(x.synthetic for x in samples)
    for name, (samples, skipped, size) in sets.items():
        image_set = load_image_set(samples, size, opts.resample, progress=progress, cache=cache,
                                   desc=f"loading {out.get(('' if name == 'images' else name + '_') + 'spec') or name}")
        image_set.skipped[:0] = skipped
        out[name] = image_set
        used = set(image_set.paths)
        out["depends"] += dependencies([s for s in samples if s.path in used])
    out["depends"] = list(dict.fromkeys(out["depends"]))
    return out


def to_unit_range(images):
    """``uint8`` 0..255 -> float32 in [-1, 1] (``x / 127.5 - 1``; junyanz Normalize(0.5, 0.5))."""
    import tensorflow as tf

    return tf.cast(images, tf.float32) / 127.5 - 1.0


def to_uint8(images) -> np.ndarray:
    """Float images in [-1, 1] -> ``uint8`` 0..255."""
    return np.clip(np.round((np.asarray(images) + 1.0) * 127.5), 0, 255).astype(np.uint8)


def center_crop_unit(images: np.ndarray, size: int) -> np.ndarray:
    """Centre ``size`` crop of ``uint8`` images, as float32 in [-1, 1] (fixed inputs for sample grids)."""
    h = images.shape[1]
    top = (h - size) // 2
    return (images[:, top:top + size, top:top + size].astype(np.float32) / 127.5 - 1.0)


def _fetcher(images: np.ndarray):
    """``index tensor -> image tensor`` reading row ``index`` of ``images`` (an array or a read-only memmap) when
    the pipeline asks for it, instead of embedding the whole set in the graph as a constant."""
    import tensorflow as tf

    shape = images.shape[1:]

    def fetch(index):
        img = tf.numpy_function(lambda i: np.asarray(images[int(i)]), [index], tf.uint8, stateful=False)
        return tf.ensure_shape(img, shape)

    return fetch


def _augment(image, size: int, flip: bool, seed):
    """Random ``size`` crop and horizontal flip with a stateless ``seed`` (shape [2]); output in [-1, 1]."""
    import tensorflow as tf

    if image.shape[0] != size:
        image = tf.image.stateless_random_crop(image, [size, size, 3], seed=seed)
    if flip:
        image = tf.image.stateless_random_flip_left_right(image, seed=seed + 7)
    return to_unit_range(image)


def _seed(seed: int, epoch, position, stream: int):
    import tensorflow as tf

    return tf.stack([tf.cast(seed, tf.int64) * 7919 + stream,
                     tf.cast(epoch, tf.int64) * 1_000_003 + tf.cast(position, tf.int64)])


def steps_per_epoch(n: int, batch_size: int) -> int:
    """Full batches per epoch (the last partial batch is dropped so every step has a static shape)."""
    steps = n // batch_size
    if steps == 0:
        raise ValueError(f"{n} images are fewer than one batch of {batch_size}")
    return steps


def image_dataset(images: np.ndarray, labels: np.ndarray | None, size: int, batch_size: int, seed: int,
                  initial_epoch: int, epochs: int, flip: bool = True) -> tf.data.Dataset:
    """Epochs ``initial_epoch .. epochs-1`` of shuffled, augmented batches (``images`` or ``(images, labels)``)."""
    import tensorflow as tf

    n = len(images)
    fetch = _fetcher(images)
    lab = tf.constant(np.asarray(labels, np.int32)) if labels is not None else None
    per_epoch = steps_per_epoch(n, batch_size) * batch_size

    def epoch_ds(e):
        order = tf.argsort(tf.random.stateless_uniform([n], seed=_seed(seed, e, 0, 1)))[:per_epoch]
        ds = tf.data.Dataset.from_tensor_slices(order).enumerate()

        def item(pos, idx):
            img = _augment(fetch(idx), size, flip, _seed(seed, e, pos, 2))
            return img if lab is None else (img, tf.gather(lab, idx))

        return ds.map(item, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)

    ds = tf.data.Dataset.range(initial_epoch, epochs).flat_map(epoch_ds)
    return ds.batch(batch_size, drop_remainder=True).prefetch(2)


def unpaired_dataset(images_a: np.ndarray, images_b: np.ndarray, size: int, batch_size: int, seed: int,
                     initial_epoch: int, epochs: int, flip: bool = True) -> tuple[tf.data.Dataset, int]:
    """CycleGAN batches ``(a, b)``; returns the dataset and its steps per epoch.

    As junyanz's ``UnalignedDataset`` (``serial_batches`` off): an epoch has ``max(n_a, n_b)`` items; item ``i``
    of a shuffled order takes A image ``i mod n_a`` and a uniformly random B image.
    """
    import tensorflow as tf

    n_a, n_b = len(images_a), len(images_b)
    if n_a == 0 or n_b == 0:
        raise ValueError(f"both domains need images (A has {n_a}, B has {n_b})")
    n = max(n_a, n_b)
    steps = steps_per_epoch(n, batch_size)
    fetch_a, fetch_b = _fetcher(images_a), _fetcher(images_b)

    def epoch_ds(e):
        order = tf.argsort(tf.random.stateless_uniform([n], seed=_seed(seed, e, 0, 3)))[: steps * batch_size]
        picks_b = tf.random.stateless_uniform([n], seed=_seed(seed, e, 0, 4), minval=0, maxval=n_b, dtype=tf.int32)

        def item(pos, idx):
            a = _augment(fetch_a(idx % n_a), size, flip, _seed(seed, e, pos, 5))
            b = _augment(fetch_b(picks_b[pos]), size, flip, _seed(seed, e, pos, 6))
            return a, b

        return tf.data.Dataset.from_tensor_slices(order).enumerate().map(
            item, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)

    ds = tf.data.Dataset.range(initial_epoch, epochs).flat_map(epoch_ds)
    return ds.batch(batch_size, drop_remainder=True).prefetch(2), steps
