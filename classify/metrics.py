"""Classification metrics with scikit-learn: the numbers each paper reports.

- ROC AUC (Mikołajczyk Table I): binary = ``roc_auc_score(y == pos, p[:, pos])``; multi-class = one-vs-rest
  macro, ``(1/K) Σ_c AUC(y == c, p[:, c])`` (sklearn ``roc_auc_score(multi_class="ovr", average="macro")``);
  when a class is absent from the test set (it has no ROC curve, and sklearn refuses it) the same mean over the
  classes present.
- Per-class precision ``TP/(TP+FP)`` and recall ``TP/(TP+FN)`` (Gauld, Equations 6 and 7), F1, support.
- Accuracy ``(1/N) Σ [ŷ = y]``, balanced accuracy = mean per-class recall (thesis, imbalanced ISIC).
- Confusion matrix ``C[i, j]`` = number of samples of true class i predicted as j.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
from sklearn import metrics as skm


def positive_index(classes: Sequence[str]) -> int:
    """The positive class of a binary task: MEL when present (melanoma detection), else the second class."""
    return list(classes).index("MEL") if "MEL" in classes else min(1, len(classes) - 1)


def roc_auc(y_true: Sequence[int], probs: np.ndarray, positive: int = 1) -> float | None:
    """Binary AUC for 2 classes (``positive`` = index of the positive class), else one-vs-rest macro AUC over the
    classes present in ``y_true``. ``None`` when fewer than two classes are present."""
    y = np.asarray(y_true, dtype=int)
    p = np.asarray(probs, dtype=float)
    present = np.unique(y)
    if len(present) < 2:
        return None
    if p.shape[1] == 2:
        return float(skm.roc_auc_score(y == positive, p[:, positive]))
    if len(present) == p.shape[1]:
        return float(skm.roc_auc_score(y, p, multi_class="ovr", average="macro", labels=list(range(p.shape[1]))))
    # scikit-learn's one-vs-rest refuses a class absent from y_true: the mean over the present ones, as its
    # macro average would be if it allowed them
    return float(np.mean([skm.roc_auc_score(y == c, p[:, c]) for c in present]))


def compute_metrics(y_true: Sequence[int], probs: np.ndarray, class_names: Sequence[str], positive: int = 1
                    ) -> dict:
    """All metrics as a JSON-ready dict: ``n``, ``accuracy``, ``balanced_accuracy``, ``auc``, ``auc_kind``,
    ``per_class`` {name: precision, recall, f1, support, auc}, ``confusion_matrix`` (rows = true),
    ``class_names``. Predictions are ``argmax`` of ``probs``."""
    y = np.asarray(y_true, dtype=int)
    p = np.asarray(probs, dtype=float)
    k = len(class_names)
    if p.ndim != 2 or p.shape[1] != k or len(p) != len(y):
        raise ValueError(f"probs must be (N={len(y)}, K={k}), got {p.shape}")
    pred = p.argmax(axis=1)
    labels = list(range(k))
    prec, rec, f1, sup = skm.precision_recall_fscore_support(y, pred, labels=labels, zero_division=0)
    present = set(np.unique(y).tolist())
    per_class = {}
    for c, name in enumerate(class_names):
        auc_c = (float(skm.roc_auc_score(y == c, p[:, c])) if c in present and len(present) > 1 else None)
        per_class[name] = dict(precision=float(prec[c]), recall=float(rec[c]), f1=float(f1[c]),
                               support=int(sup[c]), auc=auc_c)
    recalls = [rec[c] for c in sorted(present)]
    return dict(
        n=int(len(y)),
        class_names=list(class_names),
        accuracy=float(np.mean(pred == y)) if len(y) else None,
        balanced_accuracy=float(np.mean(recalls)) if recalls else None,
        auc=roc_auc(y, p, positive),
        auc_kind=("binary, positive class " + class_names[positive]) if k == 2 else "one-vs-rest macro",
        per_class=per_class,
        confusion_matrix=skm.confusion_matrix(y, pred, labels=labels).tolist(),
    )


def summary_line(metrics: dict) -> str:
    """``accuracy …, balanced accuracy …, AUC … (kind)``: how every CLI reports a result in one line."""
    auc = metrics["auc"]
    return (f"accuracy {metrics['accuracy']:.3f}, balanced accuracy {metrics['balanced_accuracy']:.3f}, "
            f"AUC {'n/a' if auc is None else f'{auc:.3f}'} ({metrics['auc_kind']})")
