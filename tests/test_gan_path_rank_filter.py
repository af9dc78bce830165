"""Path-Rank-Filter keeps exactly ceil(alpha * n) correctly classified images, surest first (thesis §7.2.3)."""
from __future__ import annotations

import math

import keras
import numpy as np
import pytest

from classify.data import Sample, read_image_list
from classify.images import save_image
from classify.scoring import Classifier, ClassifierInfo
from gan_aug.path_rank_filter import path_rank_filter, write_selection

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
    return Classifier(keras.Model(inp, out), ClassifierInfo(("MEL", "NV"), size))


@pytest.fixture(scope="module")
def mel_images(tmp_path_factory):
    root = tmp_path_factory.mktemp("prf")
    paths = []
    for i, r in enumerate(REDS):
        img = np.zeros((32, 32, 3), np.uint8)
        img[..., 0] = r
        paths.append(Sample(str(save_image(img, root / f"mel_{i:02d}_{r}.png")), "MEL"))
    return paths


@pytest.mark.parametrize("alpha", [1 / 8, 1 / 4, 1 / 2, 1.0])
def test_keeps_ceil_alpha_n_correct_images_in_confidence_order(mel_images, alpha):
    kept, ranked, skipped = path_rank_filter(fake_classifier(), mel_images, "MEL", alpha, progress=False)
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


def test_selection_is_an_image_list_classify_reads(mel_images, tmp_path):
    kept, _, skipped = path_rank_filter(fake_classifier(), mel_images + [Sample(str(tmp_path / "missing.jpg"), "MEL")],
                                        "MEL", 0.5, progress=False)
    assert len(skipped) == 1 and "missing.jpg" in skipped[0]
    path = write_selection(tmp_path / "prf", kept, 0.5)
    samples = read_image_list(path)
    assert [s.label for s in samples] == ["MEL"] * 3
    assert [s.path for s in samples] == [r.path for r in kept]
    assert not any(s.synthetic for s in samples)  # real images, selected


def test_bad_arguments(mel_images):
    with pytest.raises(ValueError, match="alpha"):
        path_rank_filter(fake_classifier(), mel_images, "MEL", 0)
    with pytest.raises(ValueError, match="not among"):
        path_rank_filter(fake_classifier(), mel_images, "BCC", 0.5)


def test_cli_loads_a_saved_classify_model(mel_images, tmp_path):
    """The CLI, in its own process as users run it, loads what ``classify.train`` saves: a model holding
    classify's custom layers (``InputScaling``), which only load once their module is imported."""
    import subprocess
    import sys

    from classify.models import build_model
    from classify.scoring import save_classifier

    save_classifier(build_model("small_cnn", num_classes=2, input_size=32), tmp_path / "model.keras",
                    ClassifierInfo(("MEL", "NV"), 32))
    folder = mel_images[0].path.rsplit("/", 1)[0]
    command = [sys.executable, "-m", "gan_aug.path_rank_filter", "--model", str(tmp_path / "model.keras"),
               "--class", "MEL", "--alpha", "0.5", "--input", folder, "--out", str(tmp_path / "prf")]
    done = subprocess.run(command, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    samples = read_image_list(tmp_path / "prf" / "selection.csv")
    line = done.stdout.strip().splitlines()[-1]
    n_correct = int(line.split(" images, ")[1].split(" classified")[0])
    assert len(samples) == math.ceil(0.5 * n_correct) and all(s.label == "MEL" for s in samples)
    # a class order that contradicts the model's record is refused in one line (the README once did this)
    done = subprocess.run(command + ["--overwrite", "--classes", "NV,MEL"], capture_output=True, text=True)
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert done.returncode == 2 and len(errors) == 1 and errors[0].startswith("error: classes NV,MEL contradict")
    assert "Traceback" not in done.stderr


# Ten correctly classified images (red > 127.5 -> argmax = MEL) and two wrong ones, in no particular order: with
# n = 10 the thesis's alphas give ⌈α·n⌉ ≠ round(α·n) ≠ ⌊α·n⌋ (the six-image set above only tells ceil from floor).
REDS_10 = [175, 20, 250, 140, 215, 160, 100, 240, 190, 150, 230, 200]
CORRECT_10 = sorted((r for r in REDS_10 if r > 127.5), reverse=True)


@pytest.fixture(scope="module")
def mel_images_10(tmp_path_factory):
    root = tmp_path_factory.mktemp("prf10")
    samples = []
    for i, r in enumerate(REDS_10):
        img = np.zeros((32, 32, 3), np.uint8)
        img[..., 0] = r
        samples.append(Sample(str(save_image(img, root / f"mel_{i:02d}_{r}.png")), "MEL"))
    return samples


@pytest.mark.parametrize("alpha,expected", [(1 / 8, 2), (1 / 4, 3)])
def test_keeps_the_ceiling_where_it_differs_from_rounding(mel_images_10, alpha, expected):
    """⌈α·n⌉ with n = 10 correct: α = 1/8 → ⌈1.25⌉ = 2 (round and floor give 1), α = 1/4 → ⌈2.5⌉ = 3 (round, which
    rounds halves to even, and floor give 2). Catches ``round``/``floor``/``int`` in place of ``ceil``."""
    n_correct = len(CORRECT_10)
    assert n_correct == 10 and math.ceil(alpha * n_correct) == expected
    assert expected not in (round(alpha * n_correct), math.floor(alpha * n_correct))  # the case tells them apart
    kept, ranked, skipped = path_rank_filter(fake_classifier(), mel_images_10, "MEL", alpha, progress=False)
    assert not skipped and sum(r.correct for r in ranked) == n_correct
    assert len(kept) == expected
    assert [int(r.path.rsplit("_", 1)[1].split(".")[0]) for r in kept] == CORRECT_10[:expected]
    assert [r.rank for r in kept] == list(range(1, expected + 1)) and all(r.correct for r in kept)
