"""Path-Rank-Filter keeps exactly ceil(alpha * n) correctly classified images, surest first (thesis §7.2.3)."""
from __future__ import annotations

import math

import keras
import numpy as np
import pytest

from classify.data import read_manifest
from classify.images import save_image
from gan_aug.path_rank_filter import path_rank_filter, write_filtered

# The fake classifier's P(MEL | x) is the image's red value / 255, so these are the confidences we control.
REDS = [250, 10, 200, 90, 180, 30, 140, 220, 60, 160]
CORRECT_BY_CONFIDENCE = [250, 220, 200, 180, 160, 140]  # red > 127.5 -> argmax = MEL


def fake_classifier(size=32):
    """softmax-like outputs [P(MEL), P(NV)] = [r/255, 1 - r/255] from the mean red value r (0..255 input)."""
    inp = keras.Input((size, size, 3))
    x = keras.layers.GlobalAveragePooling2D()(inp)
    dense = keras.layers.Dense(2)
    out = dense(x)
    dense.set_weights([np.array([[1 / 255, -1 / 255], [0, 0], [0, 0]], "float32"), np.array([0, 1], "float32")])
    return keras.Model(inp, out)


@pytest.fixture(scope="module")
def mel_images(tmp_path_factory):
    root = tmp_path_factory.mktemp("prf")
    paths = []
    for i, r in enumerate(REDS):
        img = np.zeros((32, 32, 3), np.uint8)
        img[..., 0] = r
        paths.append(str(save_image(img, root / f"mel_{i:02d}_{r}.png")))
    return paths


@pytest.mark.parametrize("alpha", [1 / 8, 1 / 4, 1 / 2, 1.0])
def test_keeps_ceil_alpha_n_correct_images_in_confidence_order(mel_images, alpha):
    kept, ranked, skipped = path_rank_filter(fake_classifier(), mel_images, "MEL", ["MEL", "NV"], alpha)
    assert not skipped and len(ranked) == len(REDS)
    n_correct = len(CORRECT_BY_CONFIDENCE)
    assert len(kept) == math.ceil(alpha * n_correct)
    assert [int(p.rsplit("_", 1)[1].split(".")[0]) for p in (r.path for r in kept)] == \
        CORRECT_BY_CONFIDENCE[: len(kept)]
    assert all(r.correct and r.predicted == "MEL" for r in kept)
    assert [r.rank for r in kept] == list(range(1, len(kept) + 1))
    confidences = [r.confidence for r in kept]
    assert confidences == sorted(confidences, reverse=True)
    assert confidences[0] == pytest.approx(250 / 255, abs=1e-5)


def test_filtered_list_is_a_manifest_classify_reads(mel_images, tmp_path):
    kept, _, _ = path_rank_filter(fake_classifier(), mel_images + [str(tmp_path / "missing.jpg")], "MEL",
                                  ["MEL", "NV"], 0.5)
    path = write_filtered(tmp_path / "prf", kept, 0.5, "clf.keras")
    samples = read_manifest(path)
    assert [s.label for s in samples] == ["MEL"] * 3
    assert [s.path for s in samples] == [r.path for r in kept]


def test_bad_arguments(mel_images):
    with pytest.raises(ValueError, match="alpha"):
        path_rank_filter(fake_classifier(), mel_images, "MEL", ["MEL", "NV"], 0)
    with pytest.raises(ValueError, match="not among"):
        path_rank_filter(fake_classifier(), mel_images, "BCC", ["MEL", "NV"], 0.5)


def test_cli_loads_a_saved_classify_model(mel_images, tmp_path):
    """The CLI, in its own process as users run it, loads what ``classify.train`` saves: a model holding
    classify's custom layers (``InputScaling``), which only load once their module is imported."""
    import subprocess
    import sys

    from classify.models import build_model

    build_model("small_cnn", num_classes=2, input_size=32).save(tmp_path / "model.keras")
    folder = str(mel_images[0]).rsplit("/", 1)[0]
    done = subprocess.run([sys.executable, "-m", "gan_aug.path_rank_filter", "--model", str(tmp_path / "model.keras"),
                           "--classes", "MEL,NV", "--class", "MEL", "--alpha", "0.5", "--images", folder,
                           "--out", str(tmp_path / "prf")], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    samples = read_manifest(tmp_path / "prf" / "manifest.csv")
    line = done.stdout.strip().splitlines()[-1]
    n_correct = int(line.split(" images, ")[1].split(" classified")[0])
    assert len(samples) == math.ceil(0.5 * n_correct) and all(s.label == "MEL" for s in samples)
