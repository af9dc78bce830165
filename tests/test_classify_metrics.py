"""classify.metrics and classify.report against values computed by hand."""
from __future__ import annotations

import json

import numpy as np
import pytest

from classify.metrics import compute_metrics, roc_auc
from classify.report import write_report


def test_binary_auc_by_pair_counting():
    # AUC = P(score of a positive > score of a negative), ties count 1/2
    y = [0, 0, 1, 1, 0, 1]
    p1 = np.array([0.1, 0.4, 0.35, 0.8, 0.4, 0.4])
    pos, neg = p1[np.array(y) == 1], p1[np.array(y) == 0]
    pairs = [(a > b) + 0.5 * (a == b) for a in pos for b in neg]
    assert len(pairs) == 9 and sum(pairs) == 6.0  # 0.35>0.1; 0.8>all; 0.4>0.1, 0.4=0.4 twice
    probs = np.stack([1 - p1, p1], 1)
    assert roc_auc(y, probs, positive=1) == pytest.approx(6 / 9)
    assert roc_auc(y, probs, positive=0) == pytest.approx(6 / 9)  # symmetric for two classes
    assert roc_auc([1, 1, 1], probs[:3]) is None


def test_multiclass_metrics_by_hand():
    y = np.array([0, 0, 1, 1, 2, 2])
    probs = np.array([[.8, .1, .1], [.3, .6, .1], [.2, .7, .1], [.1, .8, .1], [.1, .2, .7], [.5, .3, .2]])
    m = compute_metrics(y, probs, ["a", "b", "c"])
    # predictions: 0, 1, 1, 1, 2, 0
    assert m["confusion_matrix"] == [[1, 1, 0], [0, 2, 0], [1, 0, 1]]
    assert m["accuracy"] == pytest.approx(4 / 6)
    assert m["per_class"]["a"]["precision"] == pytest.approx(1 / 2) and m["per_class"]["a"]["recall"] == 0.5
    assert m["per_class"]["b"]["precision"] == pytest.approx(2 / 3) and m["per_class"]["b"]["recall"] == 1.0
    assert m["per_class"]["c"]["precision"] == 1.0 and m["per_class"]["c"]["recall"] == 0.5
    assert m["balanced_accuracy"] == pytest.approx((0.5 + 1 + 0.5) / 3)
    # one-vs-rest AUCs by pair counting: a: pos {.8,.3}, neg {.2,.1,.1,.5} -> (4 + 3)/8;
    # b: pos {.7,.8}, neg {.1,.6,.2,.3} -> 8/8; c: pos {.7,.2}, neg {.1 x4} -> 8/8
    assert m["per_class"]["a"]["auc"] == pytest.approx(7 / 8)
    assert m["auc"] == pytest.approx((7 / 8 + 1 + 1) / 3)
    assert m["auc_kind"] == "one-vs-rest macro"


def test_absent_class_and_shape_errors():
    y = np.array([0, 0, 1, 1])
    probs = np.array([[.6, .3, .1], [.2, .5, .3], [.3, .6, .1], [.1, .8, .1]])
    m = compute_metrics(y, probs, ["a", "b", "c"])
    assert m["per_class"]["c"]["auc"] is None and m["per_class"]["c"]["support"] == 0
    assert m["balanced_accuracy"] == pytest.approx((0.5 + 1.0) / 2)  # over present classes, like sklearn
    with pytest.raises(ValueError, match="probs must be"):
        compute_metrics(y, probs[:, :2], ["a", "b", "c"])


def test_report_files(tmp_path):
    from PIL import Image
    y = np.array([0, 1, 0, 1, 1])
    probs = np.array([[.9, .1], [.2, .8], [.4, .6], [.3, .7], [.6, .4]])
    m = compute_metrics(y, probs, ["MEL", "NV"], positive=0)
    files = write_report(tmp_path, m, y, probs, history={"loss": [1.0, 0.5], "val_loss": [1.1, 0.9],
                                                         "accuracy": [.5, .7], "val_accuracy": [.4, .6]},
                         options={"arch": "small_cnn"}, positive=0)
    data = json.loads((tmp_path / "report.json").read_text())
    assert data["metrics"]["auc"] == pytest.approx(m["auc"]) and data["options"]["arch"] == "small_cnn"
    assert "ROC AUC (binary, positive class MEL)" in (tmp_path / "report.md").read_text()
    for name in ("roc", "confusion_matrix", "learning_curves"):
        with Image.open(files[name]) as im:
            assert im.format == "PNG" and im.size[0] > 200
