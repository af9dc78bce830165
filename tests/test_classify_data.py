"""classify.data: the readers on the real ISIC 2019 CSV, the UDA-1 images, Caltech-101 folders, and manifests."""
from __future__ import annotations

import csv
import os

import pytest
from PIL import Image

from classify.data import ISIC_CLASSES, Sample, class_counts, read_class_folders, read_isic_csv, read_manifest
from classify.manifest import ManifestWriter, group_key
from classify.samples import ISIC_SAMPLE_CSV, ISIC_SAMPLE_IMAGES

# shared/data/README.md
ISIC2019_COUNTS = {"MEL": 4522, "NV": 12875, "BCC": 3323, "BKL": 2624, "AK": 867, "SCC": 628, "VASC": 253, "DF": 239}


def test_full_isic2019_csv(isic2019_csv):
    samples, skipped = read_isic_csv(isic2019_csv, check_files=False)
    assert len(samples) == 25_331 and skipped == []
    assert class_counts(samples) == dict(sorted(ISIC2019_COUNTS.items()))
    assert samples[0].path.endswith("ISIC_0000000.jpg") and samples[0].label == "NV"


def test_full_isic2019_csv_without_images_reports_each_missing(isic2019_csv, tmp_path):
    samples, skipped = read_isic_csv(isic2019_csv, image_dir=tmp_path, classes=["DF"])
    assert samples == [] and len(skipped) == 239
    assert skipped[0].startswith("ISIC_") and "image file missing in" in skipped[0]


def test_isic_uda1_nv_mel(isic_uda1):
    samples, skipped = read_isic_csv(isic_uda1 / "ISIC_2019_Training_GroundTruth.csv", classes=("NV", "MEL"))
    assert skipped == []
    assert class_counts(samples) == {"MEL": 106, "NV": 264}
    assert all(os.path.isabs(s.path) and os.path.isfile(s.path) for s in samples)


def test_embedded_sample():
    samples, skipped = read_isic_csv(ISIC_SAMPLE_CSV)
    assert skipped == [] and class_counts(samples) == {"MEL": 4, "NV": 6}
    assert {os.path.dirname(s.path) for s in samples} == {str(ISIC_SAMPLE_IMAGES)}


def test_isic_csv_errors_and_skips(tmp_path):
    (tmp_path / "images").mkdir()
    Image.new("RGB", (40, 40)).save(tmp_path / "images" / "ISIC_1.jpg")
    Image.new("RGB", (40, 40)).save(tmp_path / "images" / "ISIC_3_downsampled.jpg")
    rows = [["image", *ISIC_CLASSES], ["ISIC_1", 1, 0, 0, 0, 0, 0, 0, 0, 0], ["ISIC_2", 0, 1, 0, 0, 0, 0, 0, 0, 0],
            ["ISIC_3", 0, 0, 1.0, 0, 0, 0, 0, 0, 0], ["ISIC_4", 0, 0, 0, 0, 0, 0, 0, 0, 0]]
    with open(tmp_path / "gt.csv", "w", newline="") as f:
        csv.writer(f).writerows(rows)
    samples, skipped = read_isic_csv(tmp_path / "gt.csv")
    assert [(os.path.basename(s.path), s.label) for s in samples] == [("ISIC_1.jpg", "MEL"),
                                                                      ("ISIC_3_downsampled.jpg", "BCC")]
    assert len(skipped) == 2 and skipped[0].startswith("ISIC_2: image file missing in")
    assert skipped[1].startswith("ISIC_4:")
    with pytest.raises(ValueError, match="MEL, NV, BCC"):
        read_isic_csv(tmp_path / "gt.csv", classes=["melanoma"])


def test_caltech_folders(caltech101):
    samples, skipped = read_class_folders(caltech101)
    assert class_counts(samples) == {"butterfly": 91, "crab": 73, "scorpion": 84}
    assert skipped == []
    with pytest.raises(ValueError, match="butterfly"):
        read_class_folders(caltech101, classes=["cow"])


def test_class_folders_empty_and_non_images(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    Image.new("RGB", (40, 40)).save(tmp_path / "a" / "x.png")
    (tmp_path / "a" / "notes.txt").write_text("hi")
    samples, skipped = read_class_folders(tmp_path, classes=["a"])
    assert len(samples) == 1 and len(skipped) == 1 and "notes.txt" in skipped[0]
    with pytest.raises(ValueError, match="holds no images"):
        read_class_folders(tmp_path)


def test_manifest_and_groups(tmp_path):
    real = tmp_path / "real.jpg"
    Image.new("RGB", (40, 40)).save(real)
    out = tmp_path / "gen"
    for name in ("1.png", "2.png", "3.png"):
        (out / "a").mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (40, 40)).save(out / "a" / name)
    with open(tmp_path / "gan_training.csv", "w") as f:
        f.write(f"path,label\n{real},NV\n")
    with ManifestWriter(out, extra_columns=("depends_on",)) as w:
        w.write({"output": "a/1.png", "source": str(real), "style": "../style.jpg", "label": "MEL", "method": "nst"})
        w.write({"output": "a/2.png", "source": "", "style": "", "label": "", "method": "dcgan"})
        w.write({"output": "a/3.png", "label": "NV", "method": "dcgan", "depends_on": "../gan_training.csv"})
    samples, skipped = read_manifest(out)
    assert skipped == []
    assert samples[0].path == str((out / "a" / "1.png").resolve())
    assert samples[0].style == str((tmp_path / "style.jpg").resolve())
    assert samples[0].groups == (group_key(real), group_key(tmp_path / "style.jpg"))
    assert samples[1].groups == () and samples[1].label == ""
    # a GAN image depends on every real image its generator was trained on
    assert samples[2].groups == (group_key(real),)
    assert Sample(str(real), "NV").groups == (group_key(real),)
    assert read_manifest(out / "manifest.csv")[0] == samples
    with pytest.raises(ValueError, match="pseudo"):
        read_manifest(out, label_column="pseudo")


def test_manifest_rows_must_name_images_inside_their_folder(tmp_path):
    """A row pointing outside the manifest's folder (or at an absolute path, or at nothing) is dropped with a
    one-line reason: a manifest cannot smuggle a real image (say, a test image) into training."""
    real = tmp_path / "data" / "test_image.jpg"
    real.parent.mkdir()
    Image.new("RGB", (40, 40)).save(real)
    out = tmp_path / "gen"
    (out / "ok").mkdir(parents=True)
    Image.new("RGB", (40, 40)).save(out / "ok" / "x.png")
    with ManifestWriter(out) as w:
        w.write({"output": "ok/x.png", "label": "MEL"})
        w.write({"output": "../data/test_image.jpg", "label": "MEL"})
        w.write({"output": str(real), "label": "MEL"})
        w.write({"output": "ok/never_written.png", "label": "MEL"})
    samples, skipped = read_manifest(out)
    assert [s.path for s in samples] == [str((out / "ok" / "x.png").resolve())]
    assert len(skipped) == 3
    assert "outside the manifest folder" in skipped[0] and "absolute path" in skipped[1]
    assert "image file missing" in skipped[2]
    assert all("\n" not in reason for reason in skipped)
