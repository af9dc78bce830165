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
def _plant(folder: Path, names) -> dict[Path, str]:
    """Foreign files (a user's, not the tool's) at ``names`` inside ``folder``: {path: content}."""
    planted = {}
    for name in names:
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"a user's file: {name}")
        planted[path] = path.read_text()
    return planted


def _overwrite(capsys, main, first, again, folder, foreign, gone=()) -> str:
    """Run ``first``; plant ``foreign`` files in ``folder`` (inside the tool's own subfolders and beside its
    files with look-alike names); run ``again + --overwrite``: every foreign file is intact, each of ``gone``
    (own files of the first run that the second does not write again) was removed. Returns the second stdout."""
    assert main(first) == 0, capsys.readouterr().err
    capsys.readouterr()
    planted = _plant(folder, foreign)
    own = [folder / g for g in gone]
    assert all(p.exists() for p in own), [str(p) for p in own if not p.exists()]
    assert main(again + ["--overwrite"]) == 0, capsys.readouterr().err
    touched = [str(p.relative_to(folder)) for p, text in planted.items() if not p.is_file() or p.read_text() != text]
    assert not touched, f"{main.__module__} --overwrite removed or changed {touched}"
    assert not [p for p in own if p.exists()], f"{main.__module__} --overwrite left {own}"
    return capsys.readouterr().out


SAMPLE_CSV = str(REPO / "classify" / "samples" / "isic" / "ISIC_2019_Training_GroundTruth.csv")


def test_overwrite_never_touches_a_foreign_file(tmp_path, capsys):
    """classify and nst_aug tools with --overwrite: a file they did not write survives — beside theirs with a
    look-alike name, inside the subfolders they write into, or listed in a manifest that is not theirs — and what
    they wrote is removed (classify.train removed static/ and tensorboard/ whole, nst_aug.generate deleted
    run*.json, contact_sheet*.png, manifest*.csv and the images any manifest*.csv listed)."""
    from classify import evaluate, train
    from gan_aug import path_rank_filter
    from nst_aug import generate, look, pseudo_label, saliency

    clf = tmp_path / "clf"
    argv = ["--size", "32", "--epochs", "1", "--static-copies", "1", "--out", str(clf), "--quiet"]
    assert train.main(argv) == 0, capsys.readouterr().err
    static = sorted((clf / "static").rglob("*_static0.png"))
    assert static
    # what --tensorboard writes (event files named as Keras's TensorBoard callback names them)
    events = _plant(clf, ["tensorboard/train/events.out.tfevents.1796408692.host.26972.0.v2",
                          "tensorboard/validation/events.out.tfevents.1796408693.host.26972.1.v2"])
    out = _overwrite(capsys, train.main, argv, argv, clf,
                     ["my_notes.txt", "run_mine.json", "report_old.md", "model.keras.bak", "static/keep.txt",
                      f"static/{static[0].parent.name}/mine.png", "static/manifest_mine.csv", "tensorboard/keep.txt",
                      "tensorboard/train/keep.txt", "tensorboard/validation/events.txt"],
                     gone=[e.relative_to(clf) for e in events])
    assert "nothing to do" not in out  # --overwrite trains afresh, even the same run
    assert all(p.is_file() for p in static)  # made again
    model = str(clf / "model.keras")
    ev = tmp_path / "eval"
    _overwrite(capsys, evaluate.main, ["--model", model, "--out", str(ev), "--quiet"],
               ["--model", model, "--out", str(ev), "--quiet"], ev, ["my_notes.txt", "report_mine.md"])

    nst = tmp_path / "nst"
    common = ["--csv", SAMPLE_CSV, "--content-class", "NV", "--style-class", "MEL", "--weights", "random", "--size",
              "32", "--steps", "1", "--optimizer", "adam", "--out", str(nst), "--quiet"]
    (nst / "mine").mkdir(parents=True)
    (nst / "mine" / "photo.png").write_text("a user's image")
    from classify.manifest import ManifestWriter, read_manifest_rows

    with ManifestWriter(nst, name="manifest_mine.csv") as w:  # a user's manifest listing a user's image in OUT
        w.write({"output": "mine/photo.png", "method": "mine"})
    planted_manifest = (nst / "manifest_mine.csv").read_text()
    assert generate.main(common + ["--pairs", "2"]) == 0, capsys.readouterr().err
    rows = read_manifest_rows(nst / "manifest.csv")
    assert len(rows) == 2
    _overwrite(capsys, generate.main, common + ["--pairs", "2"], common + ["--pairs", "1"], nst,
               ["my_notes.txt", "runbook.json", "run_mine.json", "contact_sheet_mine.png", "manifest.csv.bak",
                "keep.jpg"], gone=[rows[1]["output"]])
    assert (nst / "mine" / "photo.png").read_text() == "a user's image"
    assert (nst / "manifest_mine.csv").read_text() == planted_manifest
    assert len(read_manifest_rows(nst / "manifest.csv")) == 1
    _overwrite(capsys, pseudo_label.main, ["--manifest", str(nst), "--model", model, "--quiet"],
               ["--manifest", str(nst), "--model", model, "--quiet"], nst, ["manifest_pseudo_mine.csv"])

    images = tmp_path / "img"
    images.mkdir()
    for i in range(2):
        _good(images / f"s{i}.png", i, (40, 48))
    sal = tmp_path / "sal"
    argv = [str(images / "s0.png"), str(images / "s1.png"), "--size", "32", "--weights", "random", "--backbone",
            "vgg16", "--layer", "block1_conv1", "--out", str(sal)]
    _overwrite(capsys, saliency.main, argv, argv[:1] + argv[2:], sal,
               ["maps_mine.npz", "s0_guided_map_mine.png", "keep.txt"], gone=["s1_guided_map.png"])

    data = tmp_path / "lookdata"
    (data / "caltech101" / "101_ObjectCategories" / "butterfly").mkdir(parents=True)
    (data / "styles").mkdir()
    _good(data / "caltech101" / "101_ObjectCategories" / "butterfly" / "image_0001.jpg", 1, (48, 40))
    _good(data / "styles" / "kandinsky_composition_vii.jpg", 2, (48, 40))
    lk = tmp_path / "look"
    argv = ["--out", str(lk), "--data", str(data), "--only", "gauld", "--gauld-steps", "1", "--gauld-size", "32"]
    _overwrite(capsys, look.main, argv, argv, lk, ["gauld2020_butterfly_mine.png", "keep.txt"])

    prf = tmp_path / "prf"
    argv = ["--model", model, "--csv", SAMPLE_CSV, "--class", "MEL", "--alpha", "1", "--out", str(prf), "--quiet"]
    _overwrite(capsys, path_rank_filter.main, argv, argv, prf, ["selection_mine.csv", "keep.txt"])


GAN_FOREIGN = ["my_notes.txt", "run_mine.json", "history_mine.csv", "samples/keep.txt", "samples/epoch_0001_mine.png",
               "samples/epoch_0001.png.bak", "checkpoints/keep.txt", "checkpoints/latest_mine.json",
               "checkpoints/epoch_0001_mine.keras", "checkpoints/epoch_0001.npz.bak", "data/keep.txt"]


def test_gan_overwrite_never_touches_a_foreign_file(tmp_path, capsys):
    """gan_aug.train (cyclegan, dcgan, acgan), gan_aug.generate and gan_aug.evaluate with --overwrite: a user's
    files in the run's samples/ and checkpoints/ (removed whole before) and beside its files stay; the epoch-2
    grid and checkpoint of a 2-epoch run are gone after a 1-epoch --overwrite."""
    from gan_aug import evaluate as gan_evaluate
    from gan_aug import generate as gan_generate
    from gan_aug import train as gan_train

    data = _domains(tmp_path)
    second = ["samples/epoch_0002.png", "checkpoints/epoch_0002.npz"]
    small = ["--size", "32", "--gen-filters", "4", "--disc-filters", "4", "--n-samples", "2", "--save-every", "1",
             "--quiet", "--no-jit-compile"]
    runs = {"cyclegan": ["cyclegan", *data, *small, "--load-size", "36", "--n-blocks", "1"],
            "dcgan": ["dcgan", "--input", str(tmp_path / "A"), *small, "--max-filters", "8", "--batch-size", "2",
                      "--discriminator", "dcgan"],
            "acgan": ["acgan", "--folders", str(tmp_path), "--classes", "A", "B", *small, "--max-filters", "8",
                      "--batch-size", "2"]}
    for kind, argv in runs.items():
        out = tmp_path / kind
        exported = ["checkpoints/epoch_0002_gen_ab.keras"] if kind == "cyclegan" else \
            ["checkpoints/epoch_0002_generator.keras"]
        _overwrite(capsys, gan_train.main, argv + ["--epochs", "2", "--out", str(out)],
                   argv + ["--epochs", "1", "--out", str(out)], out, GAN_FOREIGN, gone=second + exported)
        assert (out / "samples" / "epoch_0001.png").is_file() and (out / "checkpoints" / "latest.json").is_file()

    synth = tmp_path / "synth"
    (synth / "images").mkdir(parents=True)
    (synth / "images" / "mine.png").write_text("a user's image")
    from classify.manifest import ManifestWriter

    with ManifestWriter(synth, name="manifest_mine.csv") as w:
        w.write({"output": "images/mine.png", "method": "mine"})
    argv = [str(tmp_path / "dcgan"), "--per-class", "3", "--out", str(synth), "--quiet"]
    _overwrite(capsys, gan_generate.main, argv, argv, synth, ["keep.txt", "images/keep.png"])
    assert (synth / "images" / "mine.png").read_text() == "a user's image"
    q = tmp_path / "quality"
    argv = ["--real", str(tmp_path / "A"), "--generated", str(synth), "--backbone", "vgg16", "--weights", "random",
            "--size", "32", "--k", "1", "--kid-subsets", "1", "--kid-subset-size", "2", "--out", str(q / "q.json"),
            "--quiet"]
    _overwrite(capsys, gan_evaluate.main, argv, argv, q, ["keep.txt", "q.json.bak", "q_mine.json"])
