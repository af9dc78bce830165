"""Pseudo-labelling with a class-balancing threshold (Mikołajczyk & Grochowski §IV.B) on hand-made scores."""
from __future__ import annotations

import csv

import numpy as np
import pytest

from classify.manifest import ManifestWriter, read_manifest_rows
from nst_aug.pseudo_label import (balanced_binary_labels, balanced_labels, balanced_threshold, pseudo_labels,
                                  write_pseudo_manifest)


def test_threshold_is_the_median_and_classes_are_equal():
    scores = [0.9, 0.1, 0.4, 0.6, 0.35, 0.8]
    assert balanced_threshold(scores) == pytest.approx(0.5)  # (0.4 + 0.6) / 2
    labels = balanced_binary_labels(scores)
    assert labels.tolist() == [1, 0, 0, 1, 0, 1]  # the three scores above 0.5
    assert labels.sum() == 3


def test_skewed_scores_still_split_in_half():
    # a labeller that calls everything malignant: a 0.5 threshold would give 6 MEL, the median gives 3 / 3
    scores = [0.97, 0.91, 0.99, 0.93, 0.95, 0.92]
    names, s, t = pseudo_labels(np.stack([1 - np.array(scores), scores], 1), ["NV", "MEL"], positive=1)
    assert t == pytest.approx(0.94)
    assert names == ["MEL", "NV", "MEL", "NV", "MEL", "NV"]
    assert s.tolist() == pytest.approx(scores)


def test_ties_and_odd_counts():
    assert balanced_binary_labels([0.5] * 4).sum() == 2          # all tied: still 2 / 2
    assert balanced_binary_labels([0.1, 0.2, 0.3, 0.4, 0.5]).tolist() == [0, 0, 0, 1, 1]  # ⌊5/2⌋ positive
    assert balanced_binary_labels([0.7]).tolist() == [0]


def test_positive_index_zero():
    probs = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.3, 0.7]])
    names, scores, t = pseudo_labels(probs, ["MEL", "NV"], positive=0)
    assert scores.tolist() == [0.9, 0.2, 0.6, 0.3]
    assert t == pytest.approx(0.45)
    assert names == ["MEL", "NV", "MEL", "NV"]


def test_multiclass_quotas():
    rng = np.random.default_rng(0)
    probs = rng.dirichlet([5, 1, 1], size=10)  # most mass on class 0
    labels = balanced_labels(probs)
    assert sorted(np.bincount(labels, minlength=3).tolist()) == [3, 3, 4]
    # binary goes through the median rule
    assert balanced_labels(np.array([[0.2, 0.8], [0.9, 0.1]])).tolist() == [1, 0]


def test_write_pseudo_manifest_adds_columns_atomically(tmp_path):
    with ManifestWriter(tmp_path, extra_columns=("pair_index",)) as w:
        for i in range(3):
            w.write({"output": f"img{i}.jpg", "source": f"/c{i}.jpg", "style": "/s.jpg", "label": "",
                     "pair_index": i})
    original = (tmp_path / "manifest.csv").read_bytes()
    target = write_pseudo_manifest(tmp_path, {"img0.jpg": (0.25, "NV"), "img2.jpg": (0.75, "MEL")},
                                   name="manifest-pseudo.csv")
    assert target == tmp_path / "manifest-pseudo.csv"
    assert (tmp_path / "manifest.csv").read_bytes() == original     # the original is untouched
    assert not list(tmp_path.glob(".*.tmp"))                           # no temporary file left behind
    with open(target, newline="") as f:
        header = next(csv.reader(f))
    assert header[-2:] == ["pseudo_score", "pseudo_label"] and "pair_index" in header
    rows = read_manifest_rows(target)
    assert [(r["pseudo_score"], r["pseudo_label"]) for r in rows] == [("0.250000", "NV"), ("", ""),
                                                                     ("0.750000", "MEL")]
    # re-labelling replaces the columns instead of adding a second pair
    write_pseudo_manifest(target, {"img1.jpg": (0.5, "MEL")}, name="manifest-pseudo.csv")
    with open(target, newline="") as f:
        assert next(csv.reader(f)).count("pseudo_label") == 1


def test_pseudo_label_manifest_with_a_model(tmp_path):
    """End to end with a tiny fixed Keras model whose MEL score is the image brightness: the brighter half → MEL."""
    keras = pytest.importorskip("keras")
    from PIL import Image

    from nst_aug.pseudo_label import pseudo_label_manifest

    levels = [10, 200, 60, 250, 120, 30]
    with ManifestWriter(tmp_path) as w:
        for i, v in enumerate(levels):
            Image.fromarray(np.full((40, 40, 3), v, np.uint8)).save(tmp_path / f"g{i}.png")
            w.write({"output": f"g{i}.png", "source": f"/c{i}.jpg", "style": "/s.jpg"})
    inp = keras.Input((32, 32, 3))
    x = keras.layers.GlobalAveragePooling2D()(keras.layers.Rescaling(1 / 255.0)(inp))
    x = keras.layers.Dense(1, use_bias=False, kernel_initializer="ones")(x)     # 3 × brightness
    out = keras.layers.Concatenate()([1.0 - x / 3.0, x / 3.0])                 # [P(NV), P(MEL)]
    model = keras.Model(inp, out)
    from classify.scoring import Classifier, ClassifierInfo

    # the fold's split: content c5 is a test image, so g5 (made from it) must not be labelled
    (tmp_path / "split.csv").write_text("path,label,part\n" + "".join(f"/c{i}.jpg,NV,train\n" for i in range(5))
                                        + "/c5.jpg,NV,test\n/s.jpg,MEL,train\n")
    summary = pseudo_label_manifest(tmp_path, Classifier(model, ClassifierInfo(("NV", "MEL"), 32)), positive=1,
                                    split_file=tmp_path / "split.csv", name="manifest-pseudo-fold0.csv",
                                    progress=False)
    assert summary["n"] == 5 and summary["counts"] == {"NV": 3, "MEL": 2} and summary["dropped"] == 1
    assert summary["threshold"] == pytest.approx(120 / 255, abs=2e-3)    # median brightness of the 5 labelled
    rows = {r["output"]: r for r in read_manifest_rows(tmp_path / "manifest-pseudo-fold0.csv")}
    assert [rows[f"g{i}.png"]["pseudo_label"] for i in range(6)] == ["NV", "MEL", "NV", "MEL", "NV", ""]
