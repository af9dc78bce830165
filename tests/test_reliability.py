"""Reliability: one decoding policy for every tool (each bad file skipped with its name, before any split or
count; memory bounded per image), nothing lost on a kill between a GAN's history and its checkpoint, and
``--overwrite`` that never touches a file the tool did not write. Every awkward file is made here, tiny."""
from __future__ import annotations

import csv
import json
import os
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from classify import images

REPO = Path(__file__).resolve().parents[1]
NON_UTF8 = os.fsdecode(b"bad_name_\xff.jpg")


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def bomb_png(path: Path, side: int = 30000) -> Path:
    """A 100-byte PNG whose header claims side × side RGB pixels (a decompression bomb)."""
    ihdr = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr)
                     + _png_chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + _png_chunk(b"IEND", b""))
    return path


def _good(path: Path, value: int, size=(40, 40)) -> Path:
    rng = np.random.default_rng(value)
    Image.fromarray(rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)).save(path, quality=95)
    return path


def awkward_files(folder: Path) -> dict[str, str]:
    """Write the awkward inputs into ``folder``; returns {file name: the reason a skip must give}."""
    folder.mkdir(parents=True, exist_ok=True)
    bomb_png(folder / "bomb.png")
    Image.new("1", (12000, 12000)).save(folder / "huge.png")  # 12000x12000 px in a few KB
    full = _good(folder / "whole.jpg", 99, (64, 64)).read_bytes()
    (folder / "whole.jpg").unlink()
    (folder / "truncated.jpg").write_bytes(full[: len(full) // 2])
    (folder / "empty.jpg").write_bytes(b"")
    (folder / "page.png").write_text("<html><body>not a picture</body></html>")
    _good(folder / NON_UTF8, 7)
    _good(folder / "tiny.jpg", 8, (12, 9))
    return {"bomb.png": "decompression bomb", "huge.png": "too large", "truncated.jpg": "truncated",
            "empty.jpg": "not an image", "page.png": "not an image", "bad_name_": "not valid UTF-8",
            "tiny.jpg": "too small"}


@pytest.fixture()
def awkward_tree(tmp_path):
    """ROOT/NV and ROOT/MEL: 6 good images each, the awkward files split between them."""
    root = tmp_path / "data"
    expected = {}
    for k, cls in enumerate(("NV", "MEL")):
        (root / cls).mkdir(parents=True)
        for i in range(6):
            _good(root / cls / f"{cls}_{i}.jpg", 10 * k + i)
    expected.update(awkward_files(root / "NV"))
    return root, expected


def _named(expected: dict[str, str], text: str) -> list[str]:
    """The awkward files whose name and reason are *not* on one line of ``text``."""
    lines = text.splitlines()
    return [name for name, reason in expected.items() if not any(name in ln and reason in ln for ln in lines)]


def test_the_policy_file_by_file(tmp_path):
    expected = awkward_files(tmp_path)
    for name, reason in expected.items():
        path = next(p for p in tmp_path.iterdir() if os.fsencode(p.name).startswith(name.encode()))
        with pytest.raises(images.ImageError, match=reason):
            images.load_image(path)
        with pytest.raises(images.ImageError, match=reason):
            images.probe(path)
    # conversions still work, and a valid JPEG with bytes after its end marker is kept
    good = _good(tmp_path / "ok.jpg", 1)
    trailing = tmp_path / "motion.jpg"
    trailing.write_bytes(good.read_bytes() + b"\x00" * 5000)
    assert images.load_image(trailing).shape == (40, 40, 3)
    assert not images.probe(trailing).complete


def test_short_csv_row_is_skipped_with_a_reason(tmp_path):
    from classify.data import read_isic_csv

    (tmp_path / "images").mkdir()
    for name in ("ISIC_a", "ISIC_b"):
        _good(tmp_path / "images" / f"{name}.jpg", 1)
    (tmp_path / "gt.csv").write_text("image,MEL,NV,BCC,AK,BKL,DF,VASC,SCC,UNK\n"
                                     "ISIC_a,0,1,0,0,0,0,0,0,0\nISIC_b,1.0\n")
    samples, skipped = read_isic_csv(tmp_path / "gt.csv")
    assert [Path(s.path).stem for s in samples] == ["ISIC_a"]
    assert skipped == ["ISIC_b: the row has 2 of 10 columns (line 3)"]


def test_classify_train_and_evaluate_skip_every_bad_file_before_the_split(awkward_tree, tmp_path, capsys):
    from classify import evaluate, train

    root, expected = awkward_tree
    out = tmp_path / "run"
    assert train.main(["--folders", str(root), "--size", "32", "--epochs", "1", "--batch-size", "4", "--out",
                       str(out), "--quiet"]) == 0
    captured = capsys.readouterr()
    assert not _named(expected, captured.err), captured.err
    run = json.loads((out / "run.json").read_text())
    assert not _named(expected, "\n".join(run["skipped_inputs"]))
    with open(out / "split.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 12  # the split holds exactly the usable images ...
    report = json.loads((out / "report.json").read_text())
    test_rows = sum(r["part"] == "test" for r in rows)
    assert report["metrics"]["n"] == test_rows  # ... and the report evaluates every test image it lists
    assert evaluate.main(["--model", str(out / "model.keras"), "--folders", str(root), "--out",
                          str(tmp_path / "eval"), "--quiet"]) == 0
    captured = capsys.readouterr()
    assert not _named(expected, captured.err)
    assert "12 images:" in captured.out


def test_nst_generate_skips_every_bad_content(awkward_tree, tmp_path, capsys):
    from classify.manifest import read_manifest_rows
    from nst_aug import generate

    root, expected = awkward_tree
    out = tmp_path / "nst"
    style = root / "MEL" / "MEL_0.jpg"
    assert generate.main(["--content", str(root / "NV"), "--style", str(style), "--all-pairs", "--weights", "random",
                          "--size", "32", "--steps", "1", "--optimizer", "adam", "--out", str(out), "--quiet"]) == 0
    captured = capsys.readouterr()
    assert not _named(expected, captured.err), captured.err
    rows = read_manifest_rows(out)
    assert len(rows) == 6 and all((out / r["output"]).is_file() for r in rows)
    assert '"skipped_inputs": 7' in captured.out
    run = json.loads((out / "run.json").read_text())
    assert not _named(expected, "\n".join(run["skipped_inputs"]))


def test_gan_train_skips_every_bad_image(awkward_tree, tmp_path, capsys):
    from gan_aug import train

    root, expected = awkward_tree
    out = tmp_path / "dcgan"
    assert train.main(["dcgan", "--input", str(root / "NV"), "--out", str(out), "--size", "32", "--epochs", "1",
                       "--discriminator", "dcgan", "--gen-filters", "4", "--disc-filters", "4", "--max-filters",
                       "8", "--n-samples", "2", "--quiet"]) == 0
    captured = capsys.readouterr()
    assert not _named(expected, captured.err), captured.err
    record = json.loads((out / "run.json").read_text())
    assert record["data"]["images"]["images"] == 6
    assert not _named(expected, "\n".join(record["data"]["images"]["skipped_reasons"]))


_MAKE_HUGE = """
import sys
import numpy as np
from PIL import Image
Image.MAX_IMAGE_PIXELS = None
out = sys.argv[1]
def ramp(side, bands=3):
    x = (np.arange(side, dtype=np.uint32) % 251).astype(np.uint8)
    a = np.broadcast_to(x, (side, side))
    return np.ascontiguousarray(np.stack([a, a.T, np.full_like(a, 90), a][:bands], -1).squeeze())
Image.fromarray(ramp(12000, 1)).save(out + "/gray.jpg", quality=50)
big = Image.fromarray(ramp(12000))
exif = Image.Exif()
exif[0x0112] = 6
big.save(out + "/rotated.jpg", quality=50, exif=exif.tobytes())
big.save(out + "/progressive_huge.jpg", quality=50, progressive=True)
big.save(out + "/huge.png", compress_level=1)
del big
Image.fromarray(ramp(6000)).save(out + "/progressive_444.jpg", quality=50, progressive=True, subsampling=0)
Image.fromarray(ramp(6000, 4), "RGBA").save(out + "/rgba.png", compress_level=1)
Image.fromarray((np.arange(6000, dtype=np.uint16) * 10)[None].repeat(6000, 0)).save(out + "/gray16.png",
                                                                                    compress_level=1)
"""


@pytest.mark.parametrize("name, shape, bound", [
    ("gray.jpg", (6000, 6000), 320), ("rotated.jpg", (6000, 6000), 320), ("rgba.png", (6000, 6000), 320),
    ("gray16.png", (6000, 6000), 320), ("progressive_444.jpg", (6000, 6000), 400),
    ("progressive_huge.jpg", "too large for a progressive JPEG", 50), ("huge.png", "too large", 50)])
def test_decoding_stays_within_the_bound(huge_files, name, shape, bound):
    """Peak RSS growth of one load_image in a fresh process, for the worst accepted inputs, stays under the README's
    400 MB — within two 36 MP rasters (288 MB, + 10 %) where no progressive JPEG is decoded: 12000x12000 JPEGs
    (144 MP, decoded at 1/2 scale), EXIF-rotated too (was 415 MB: the rotation copied the raster while the
    original lived on), 36 MP RGBA and 16-bit PNGs (were 688 and 894 MB through alpha_composite and float64
    copies); a 36 MP progressive 4:4:4 JPEG (its coefficients, 216 MB, plus one raster). A refused file costs next
    to nothing: a 12000x12000 PNG (was 550 MB: Pillow's PNG getexif decoded it) and a 12000x12000 progressive JPEG
    (was accepted, 551 MB: libjpeg holds its full-size coefficients whatever the draft scale)."""
    code = ("import resource, sys\n"
            "from classify.images import ImageError, load_image\n"
            "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
            "try:\n"
            f"    shape = '%d %d' % load_image({str(huge_files / name)!r}).shape[:2]\n"
            "except ImageError as err:\n"
            "    shape = 'refused ' + str(err)\n"
            "after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
            "print((after - before) // 1024, shape)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    grown, result = done.stdout.split(" ", 1)
    if isinstance(shape, tuple):
        assert result.strip() == "%d %d" % shape
    else:
        assert result.startswith("refused") and shape in result, result
    assert int(grown) < bound, f"{name}: the process grew by {grown} MB"


@pytest.fixture(scope="module")
def huge_files(tmp_path_factory) -> Path:
    """The large inputs of the memory test, made in a separate process (making them takes gigabytes)."""
    folder = tmp_path_factory.mktemp("huge")
    done = subprocess.run([sys.executable, "-c", _MAKE_HUGE, str(folder)], capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    return folder


def test_exif_rotation_is_applied_to_the_reduced_jpeg(tmp_path):
    """A huge sideways JPEG (orientation 6) comes out drafted down *and* rotated: 16000x9000 stored → 4500x8000
    displayed (``load_image`` returns (height, width))."""
    path = tmp_path / "sideways.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.new("L", (16000, 9000), 100).save(path, quality=30, exif=exif.tobytes())
    assert images.probe(path).orientation == 6
    assert images.load_image(path).shape == (8000, 4500, 3)


# ------------------------------------------------------------------------------------------ GAN kill
TINY = ["--size", "32", "--load-size", "36", "--gen-filters", "4", "--n-blocks", "1", "--disc-filters", "4",
        "--n-samples", "2", "--save-every", "1", "--epochs", "3", "--quiet", "--no-jit-compile"]


def _domains(tmp_path) -> list[str]:
    for cls, base in (("A", 0), ("B", 50)):
        (tmp_path / cls).mkdir()
        for i in range(3):
            _good(tmp_path / cls / f"{cls}{i}.png", base + i, (40, 40))
    return ["--domain-a", str(tmp_path / "A"), "--domain-b", str(tmp_path / "B")]


def test_kill_between_history_and_checkpoint_then_resume_loses_nothing(tmp_path):
    """SIGKILL just before epoch 2's checkpoint (after its history row and grid were written), then the same
    command: history.csv and every sample grid equal an uninterrupted run's."""
    from classify.files import read_json

    data = _domains(tmp_path)
    cmd = [sys.executable, "-m", "gan_aug.train", "cyclegan", *data, *TINY]
    full = subprocess.run(cmd + ["--out", str(tmp_path / "full")], capture_output=True, text=True, cwd=REPO,
                          timeout=600)
    assert full.returncode == 0, full.stderr[-2000:]
    env = {**os.environ, "GAN_AUG_KILL_BEFORE_CHECKPOINT": "2"}
    killed = subprocess.run(cmd + ["--out", str(tmp_path / "cut")], capture_output=True, text=True, cwd=REPO,
                            env=env, timeout=600)
    assert killed.returncode == -9, killed.stderr[-2000:]
    assert read_json(tmp_path / "cut" / "checkpoints" / "latest.json")["epoch"] == 1
    assert (tmp_path / "cut" / "samples" / "epoch_0002.png").exists()  # written before the kill
    resumed = subprocess.run(cmd + ["--out", str(tmp_path / "cut")], capture_output=True, text=True, cwd=REPO,
                             timeout=600)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert "resumed from" in resumed.stdout and "(epoch 1)" in resumed.stdout

    def history(run):
        with open(tmp_path / run / "history.csv", newline="") as f:
            return list(csv.DictReader(f))

    h_full, h_cut = history("full"), history("cut")
    assert [r["epoch"] for r in h_cut] == ["1", "2", "3"]
    for a, b in zip(h_full, h_cut):
        for k in a:
            assert float(a[k]) == pytest.approx(float(b[k]), rel=1e-5, abs=1e-7), k
    for n in (1, 2, 3):
        name = f"epoch_{n:04d}.png"
        a = np.asarray(Image.open(tmp_path / "full" / "samples" / name))
        b = np.asarray(Image.open(tmp_path / "cut" / "samples" / name))
        title = 30  # the title band names the run folder, which differs
        assert np.abs(a[title:].astype(int) - b[title:].astype(int)).max() <= 1, name


# ------------------------------------------------------------------------------------- --overwrite
def test_overwrite_never_touches_a_foreign_file(tmp_path, capsys):
    """Every tool with --overwrite: a file it did not write survives; what it wrote is replaced."""
    from classify import evaluate, train
    from gan_aug import generate as gan_generate
    from gan_aug import path_rank_filter
    from gan_aug import train as gan_train
    from nst_aug import generate, pseudo_label

    sample = str(REPO / "classify" / "samples" / "isic" / "ISIC_2019_Training_GroundTruth.csv")

    def foreign(folder: Path) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        f = folder / "my_notes.txt"
        f.write_text("keep me")
        return f

    def twice(main, argv, folder):
        note = foreign(folder)
        assert main(argv) == 0, capsys.readouterr().err
        assert main(argv + ["--overwrite"]) == 0, capsys.readouterr().err
        assert note.read_text() == "keep me", main

    clf = tmp_path / "clf"
    twice(train.main, ["--size", "32", "--epochs", "1", "--out", str(clf), "--quiet"], clf)
    model = str(clf / "model.keras")
    twice(evaluate.main, ["--model", model, "--out", str(tmp_path / "eval"), "--quiet"], tmp_path / "eval")
    nst = tmp_path / "nst"
    twice(generate.main, ["--csv", sample, "--content-class", "NV", "--style-class", "MEL", "--pairs", "2",
                          "--weights", "random", "--size", "32", "--steps", "1", "--optimizer", "adam",
                          "--out", str(nst), "--quiet"], nst)
    twice(pseudo_label.main, ["--manifest", str(nst), "--model", model, "--quiet"], nst)
    prf = tmp_path / "prf"
    twice(path_rank_filter.main, ["--model", model, "--csv", sample, "--class", "MEL", "--alpha", "1",
                                  "--out", str(prf), "--quiet"], prf)
    data = _domains(tmp_path)
    gan = tmp_path / "gan"
    twice(gan_train.main, ["cyclegan", *data, *TINY[:-4], "--epochs", "1", "--quiet", "--out", str(gan)], gan)
    synth = tmp_path / "synth"
    twice(gan_generate.main, [str(gan), "--input", str(tmp_path / "A"), "--out", str(synth), "--quiet"], synth)
