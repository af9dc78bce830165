"""GAN training data: decoded once into a memory-mapped file, reused on resume, streamed without a copy in RAM."""
from __future__ import annotations

import os

import numpy as np
import pytest
from PIL import Image

from classify.data import Sample
from gan_aug import data as D


@pytest.fixture
def images(tmp_path):
    """Five decodable images of different sizes and one broken file (a skip with its reason)."""
    rng = np.random.default_rng(0)
    folder = tmp_path / "img"
    folder.mkdir()
    samples = []
    for i, (h, w) in enumerate([(40, 50), (64, 64), (48, 36), (70, 40), (33, 90)]):
        Image.fromarray(rng.integers(0, 255, (h, w, 3), dtype=np.uint8)).save(folder / f"x{i}.png")
        samples.append(Sample(str(folder / f"x{i}.png"), "A" if i % 2 else "B"))
    (folder / "broken.jpg").write_bytes(b"\xff\xd8 not a jpeg")
    samples.insert(2, Sample(str(folder / "broken.jpg"), "A"))
    return samples


def test_memory_mapped_set_equals_the_in_memory_one(images, tmp_path):
    memory = D.load_image_set(images, 36)
    mapped = D.load_image_set(images, 36, cache=tmp_path / "cache")
    assert isinstance(mapped.images, np.memmap) and not mapped.images.flags.writeable
    assert mapped.images.shape == memory.images.shape == (5, 36, 36, 3)
    np.testing.assert_array_equal(np.asarray(mapped.images), memory.images)
    assert mapped.paths == memory.paths and mapped.labels == memory.labels
    assert len(mapped.skipped) == 1 and "broken.jpg" in mapped.skipped[0] and mapped.skipped == memory.skipped
    # one .npy and its .json, no temporary left behind
    assert sorted(p.suffix for p in (tmp_path / "cache").iterdir()) == [".json", ".npy"]


def test_cached_set_is_reused_and_a_changed_file_decodes_again(images, tmp_path, monkeypatch):
    first = D.load_image_set(images, 32, cache=tmp_path / "cache")
    real_load = D.load_image

    def refuse(*a, **k):
        raise AssertionError("decoded again although the cache holds these files")

    monkeypatch.setattr(D, "load_image", refuse)
    again = D.load_image_set(images, 32, cache=tmp_path / "cache")
    np.testing.assert_array_equal(np.asarray(again.images), np.asarray(first.images))
    assert again.paths == first.paths and again.skipped == first.skipped
    # another size, or a file rewritten, is another set: decoded (here: refused) instead of reused
    with pytest.raises(AssertionError, match="decoded again"):
        D.load_image_set(images, 34, cache=tmp_path / "cache")
    Image.fromarray(np.zeros((40, 40, 3), np.uint8)).save(images[0].path)
    os.utime(images[0].path, ns=(1, 1))
    with pytest.raises(AssertionError, match="decoded again"):
        D.load_image_set(images, 32, cache=tmp_path / "cache")
    monkeypatch.setattr(D, "load_image", real_load)
    changed = D.load_image_set(images, 32, cache=tmp_path / "cache")
    assert changed.images[0].max() == 0 and np.asarray(first.images[0]).max() > 0


def _batches(ds):
    out = []
    for item in ds:
        out.append([np.asarray(x) for x in (item if isinstance(item, tuple) else (item,))])
    return out


def test_pipelines_read_a_memmap_exactly_as_an_array(images, tmp_path):
    memory = D.load_image_set(images, 36)
    mapped = D.load_image_set(images, 36, cache=tmp_path / "cache")
    labels = np.array([0, 1, 0, 1, 1], np.int32)
    a = _batches(D.image_dataset(memory.images, labels, 32, 2, seed=3, initial_epoch=1, epochs=3))
    b = _batches(D.image_dataset(mapped.images, labels, 32, 2, seed=3, initial_epoch=1, epochs=3))
    assert len(a) == len(b) == 4                       # 2 epochs × 2 full batches of 5 images
    for x, y in zip(a, b):
        for u, v in zip(x, y):
            np.testing.assert_array_equal(u, v)
    assert a[0][0].shape == (2, 32, 32, 3) and -1.0 <= a[0][0].min() and a[0][0].max() <= 1.0
    ua, _ = D.unpaired_dataset(memory.images, memory.images[:3], 32, 2, 0, 0, 2)
    ub, _ = D.unpaired_dataset(mapped.images, mapped.images[:3], 32, 2, 0, 0, 2)
    for x, y in zip(_batches(ua), _batches(ub)):
        for u, v in zip(x, y):
            np.testing.assert_array_equal(u, v)


def test_pipeline_does_not_copy_the_set_into_memory(tmp_path):
    """A 96 MB memory-mapped set: building the pipeline and reading one batch grows the process by far less
    than the set (the pipeline embedded the whole array as a graph constant before)."""
    psutil = pytest.importorskip("psutil")
    import tensorflow as tf

    path = tmp_path / "big.npy"
    big = np.lib.format.open_memmap(path, mode="w+", dtype=np.uint8, shape=(2048, 128, 128, 3))
    for i in range(0, 2048, 256):
        big[i:i + 256] = i // 256 * 30
    big.flush()
    del big
    mapped = np.load(path, mmap_mode="r")
    warm = D.image_dataset(np.zeros((4, 8, 8, 3), np.uint8), None, 8, 2, 0, 0, 1)  # TF and tf.data loaded
    next(iter(warm))
    process = psutil.Process()
    before = process.memory_info().rss
    batch = next(iter(D.image_dataset(mapped, None, 128, 8, 0, 0, 1)))
    grown = process.memory_info().rss - before
    assert batch.shape == (8, 128, 128, 3)
    assert grown < 48 * 2**20, f"RSS grew by {grown / 2**20:.0f} MB for a 96 MB set"
    del tf


def test_a_cyclegan_grid_calls_a_generated_domain_generated(tmp_path):
    """The thesis refines ACGAN MEL images with real MEL images: both domains carry the label MEL, so the grid's
    rows must not both read 'real MEL' — the manifest domain is 'generated MEL' (its images' label unchanged)."""
    from classify.manifest import write_manifest
    from gan_aug.kinds import get_kind
    from gan_aug.options import CycleGANOptions

    rng = np.random.default_rng(0)
    real, made = tmp_path / "MEL", tmp_path / "acgan_MEL"
    for folder in (real, made / "images"):
        folder.mkdir(parents=True)
        for i in range(2):
            Image.fromarray(rng.integers(0, 255, (40, 40, 3), dtype=np.uint8)).save(folder / f"{i}.png")
    write_manifest(made / "manifest.csv", [{"output": f"images/{i}.png", "label": "MEL"} for i in range(2)],
                   ["output", "label"])
    kind = get_kind("cyclegan")
    data = D.load_data(kind, CycleGANOptions(size=32, load_size=36),
                       D.DataSpec(domain_a=str(made), domain_b=str(real)))
    assert (data["a_label"], data["b_label"]) == ("MEL", "MEL")
    assert kind.row_names(data) == ["generated MEL", "generated MEL→MEL", "generated MEL→MEL→generated MEL",
                                    "real MEL", "MEL→generated MEL", "MEL→generated MEL→MEL"]
