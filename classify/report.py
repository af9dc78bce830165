"""Per-run reports: ``report.json`` (everything), ``report.md`` (for people) and PNG plots (matplotlib, Agg).

Plots: ``roc.png`` (ROC curve(s) with AUC in the legend, chance diagonal), ``confusion_matrix.png`` (counts, rows =
true class), ``learning_curves.png`` (loss and accuracy per epoch, train and validation).
"""
from __future__ import annotations

import csv
import json
import os
from pathlib import Path
from typing import Mapping, Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.ticker  # noqa: E402,F401
import numpy as np  # noqa: E402

from .files import save_figure, write_json, write_text  # noqa: E402


def read_history_csv(path: str | os.PathLike) -> dict[str, list[float]]:
    """Read a Keras ``CSVLogger`` file as ``{column: values}`` (the ``epoch`` column included)."""
    path = Path(path)
    if not path.is_file():
        return {}
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    def number(v: str | None) -> float:
        try:
            return float(v)
        except (TypeError, ValueError):  # CSVLogger writes "NA" for a metric missing in an epoch
            return float("nan")

    history = {k: [number(r.get(k)) for r in rows] for k in (rows[0] if rows else {})}
    return {k: v for k, v in history.items() if not all(np.isnan(v))}


def plot_roc(y_true, probs, class_names: Sequence[str], path, positive: int = 1, title: str = "ROC") -> Path:
    """ROC curve(s) (scikit-learn ``RocCurveDisplay``): the positive class for 2 classes, else one per class
    present, with the AUC in the legend and the chance diagonal."""
    from sklearn.metrics import RocCurveDisplay

    y = np.asarray(y_true, dtype=int)
    p = np.asarray(probs, dtype=float)
    classes = [positive] if p.shape[1] == 2 else sorted(set(y.tolist()))
    fig, ax = plt.subplots(figsize=(5, 5))
    if len(set(y.tolist())) > 1:
        for c in classes:
            RocCurveDisplay.from_predictions(y == c, p[:, c], name=class_names[c], ax=ax,
                                             plot_chance_level=c == classes[-1])
    ax.set(xlim=(0, 1), ylim=(0, 1.01), xlabel="false positive rate", ylabel="true positive rate", title=title)
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    return save_figure(fig, path)


def plot_confusion(matrix: Sequence[Sequence[int]], class_names: Sequence[str], path, title: str = "Confusion matrix"
                   ) -> Path:
    """Counts, rows = true class (scikit-learn ``ConfusionMatrixDisplay``)."""
    from sklearn.metrics import ConfusionMatrixDisplay

    cm = np.asarray(matrix)
    side = max(4.0, 1.2 + 0.7 * len(class_names))
    fig, ax = plt.subplots(figsize=(side + 0.6, side))
    ConfusionMatrixDisplay(cm, display_labels=list(class_names)).plot(ax=ax, cmap="Blues", xticks_rotation=45,
                                                                      colorbar=True)
    ax.set(xlabel="predicted", ylabel="true", title=title)
    fig.tight_layout()
    return save_figure(fig, path)


def plot_learning_curves(history: Mapping[str, Sequence[float]], path, title: str = "Learning curves") -> Path | None:
    metrics = [m for m in ("loss", "accuracy") if m in history]
    if not metrics:
        return None
    fig, axes = plt.subplots(1, len(metrics), figsize=(5 * len(metrics), 3.5))
    axes = np.atleast_1d(axes)
    for ax, m in zip(axes, metrics):
        epochs = np.arange(1, len(history[m]) + 1)
        ax.plot(epochs, history[m], "o-", label=f"train {m}")
        if f"val_{m}" in history:
            ax.plot(np.arange(1, len(history[f"val_{m}"]) + 1), history[f"val_{m}"], "o-", label=f"val {m}")
        if "val_loss" in history and len(history["val_loss"]):
            best = int(np.nanargmin(history["val_loss"])) + 1
            ax.axvline(best, color="gray", ls=":", label=f"best val_loss (epoch {best})")
        ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
        ax.set(xlabel="epoch", ylabel=m, title=f"{title}: {m}")
        ax.legend(fontsize=8)
    fig.tight_layout()
    return save_figure(fig, path)


def _fmt(v) -> str:
    return "–" if v is None else f"{v:.3f}" if isinstance(v, float) else str(v)


def write_report(out_dir: str | os.PathLike, metrics: dict, y_true, probs, history: Mapping | None = None,
                 options: Mapping | None = None, title: str = "Classification report", positive: int = 1,
                 record: Mapping | None = None) -> dict[str, Path]:
    """Write ``report.json``, ``report.md`` and the plots to ``out_dir``; returns ``{name: path}``. ``record``:
    more fields for ``report.json`` (:func:`classify.versions.run_record`: the versions; ``skipped_inputs``, the
    one-line reasons of the inputs left out, which ``report.md`` lists too)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    names = metrics["class_names"]
    files = {
        "roc": plot_roc(y_true, probs, names, out / "roc.png", positive, title=f"ROC — {title}"),
        "confusion_matrix": plot_confusion(metrics["confusion_matrix"], names, out / "confusion_matrix.png"),
    }
    if history:
        lc = plot_learning_curves(history, out / "learning_curves.png")
        if lc:
            files["learning_curves"] = lc
    payload = {"title": title, "metrics": metrics, "options": dict(options or {}),
               "history": {k: list(map(float, v)) for k, v in (history or {}).items()},
               "plots": {k: p.name for k, p in files.items()}, **dict(record or {})}
    write_json(out / "report.json", payload)
    lines = [f"# {title}", "",
             f"- images: {metrics['n']}", f"- accuracy: {_fmt(metrics['accuracy'])}",
             f"- balanced accuracy: {_fmt(metrics['balanced_accuracy'])}",
             f"- ROC AUC ({metrics['auc_kind']}): {_fmt(metrics['auc'])}", "",
             "| class | precision | recall | F1 | AUC (one-vs-rest) | support |", "|---|---|---|---|---|---|"]
    for name, m in metrics["per_class"].items():
        lines.append(f"| {name} | {_fmt(m['precision'])} | {_fmt(m['recall'])} | {_fmt(m['f1'])} | "
                     f"{_fmt(m['auc'])} | {m['support']} |")
    lines += ["", "Confusion matrix (rows = true, columns = predicted):", "",
              "| | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
    for name, row in zip(names, metrics["confusion_matrix"]):
        lines.append(f"| **{name}** | " + " | ".join(str(v) for v in row) + " |")
    lines += [""] + [f"![{k}]({p.name})" for k, p in files.items()] + [""]
    skipped = list((record or {}).get("skipped_inputs") or ())
    if skipped:
        lines += [f"## Skipped inputs ({len(skipped)})", ""] + [f"- {r}" for r in skipped] + [""]
    if options:
        lines += ["## Options", "", "```json", json.dumps(dict(options), indent=2, default=str), "```", ""]
    write_text(out / "report.md", "\n".join(lines))
    files["json"], files["md"] = out / "report.json", out / "report.md"
    return files
