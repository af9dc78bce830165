"""Keras callbacks for GAN training: sample grids, loss curves, checkpoints, NaN guard.

``model.fit`` drives everything; these hook into ``on_epoch_end``:

- :class:`SampleGrid` writes ``samples/epoch_NNNN.png`` from *fixed* inputs (noise drawn once, or the same real
  images), so consecutive grids show the generator changing, not the inputs.
- :class:`LossHistory` appends each epoch's logs to ``history.csv`` and redraws ``loss_curves.png``.
- :class:`Checkpoint` saves the full training state every N epochs and at the end, never after a non-finite
  loss: NaN/inf stops training (like ``keras.callbacks.TerminateOnNaN``) and the last good checkpoint stays.
"""
from __future__ import annotations

import csv
import json
import math
import os
from pathlib import Path
from typing import Callable

import keras
import numpy as np

from classify.images import save_image

from .data import to_uint8
from .options import write_json_atomic

CHECKPOINT_DIR = "checkpoints"
LATEST = "latest.json"


def image_grid(rows: list[np.ndarray], pad: int = 2) -> np.ndarray:
    """Tile rows of ``uint8`` images (each row an ``(n, h, w, 3)`` array) into one image with white gaps."""
    n = max(len(r) for r in rows)
    h, w = rows[0].shape[1:3]
    grid = np.full((len(rows) * (h + pad) + pad, n * (w + pad) + pad, 3), 255, np.uint8)
    for i, row in enumerate(rows):
        for j, img in enumerate(row):
            y, x = pad + i * (h + pad), pad + j * (w + pad)
            grid[y:y + h, x:x + w] = img
    return grid


class SampleGrid(keras.callbacks.Callback):
    """Each epoch, ``rows_fn(model)`` -> list of float image rows in [-1, 1]; saved as ``samples/epoch_NNNN.png``.

    ``rows_fn`` closes over fixed inputs (see :mod:`gan_aug.train`), so every grid uses the same noise/images.
    """

    def __init__(self, out_dir: str | os.PathLike, rows_fn: Callable[[keras.Model], list], every: int = 1):
        super().__init__()
        self.dir = Path(out_dir) / "samples"
        self.rows_fn = rows_fn
        self.every = every

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every or not _finite(logs):  # no grid of a diverged (NaN) model
            return
        rows = [to_uint8(r) for r in self.rows_fn(self.model)]
        save_image(image_grid(rows), self.dir / f"epoch_{epoch + 1:04d}.png")


class LossHistory(keras.callbacks.Callback):
    """Append epoch logs to ``history.csv`` (rows after ``initial_epoch`` from a previous run are dropped first,
    so a resumed run's history equals an uninterrupted one's) and plot ``loss_curves.png``."""

    def __init__(self, out_dir: str | os.PathLike, initial_epoch: int = 0):
        super().__init__()
        self.out = Path(out_dir)
        self.csv = self.out / "history.csv"
        self.rows: list[dict] = []
        if self.csv.exists():
            with open(self.csv, newline="") as f:
                self.rows = [r for r in csv.DictReader(f) if int(r["epoch"]) <= initial_epoch]

    def on_epoch_end(self, epoch, logs=None):
        row = {"epoch": epoch + 1, **{k: float(v) for k, v in (logs or {}).items()}}
        self.rows.append(row)
        keys = list(dict.fromkeys(k for r in self.rows for k in r))
        tmp = self.csv.with_name(".history.csv.tmp")
        self.out.mkdir(parents=True, exist_ok=True)
        with open(tmp, "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=keys)
            w.writeheader()
            w.writerows(self.rows)
        os.replace(tmp, self.csv)
        self.plot()

    def plot(self) -> None:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        import matplotlib.ticker

        keys = [k for k in dict.fromkeys(k for r in self.rows for k in r) if k not in ("epoch", "lr")]
        if not keys:
            return
        fig, ax = plt.subplots(figsize=(8, 4.5))
        epochs = [int(float(r["epoch"])) for r in self.rows]
        for k in keys:
            ax.plot(epochs, [float(r.get(k, "nan") or "nan") for r in self.rows], label=k, marker=".")
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))  # no "epoch 1.25"
        ax.set_ylabel("loss (epoch mean)")
        ax.set_yscale("symlog", linthresh=1e-2)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, ncol=2, loc="upper left", bbox_to_anchor=(1.01, 1))  # beside, not over, the curves
        fig.tight_layout()
        tmp = self.out / ".loss_curves.tmp.png"
        fig.savefig(tmp, dpi=100)
        plt.close(fig)
        os.replace(tmp, self.out / "loss_curves.png")


def _finite(logs) -> bool:
    return all(math.isfinite(float(v)) for v in (logs or {}).values())


class Checkpoint(keras.callbacks.Callback):
    """Save the model's full state (:meth:`gan_aug.base.GAN.save_state`) every ``every`` epochs and at the end.

    ``checkpoints/epoch_NNNN.npz`` plus ``checkpoints/latest.json`` (``{"epoch": N, "file": ...}``, written
    last, atomically). A batch with a non-finite loss stops training; nothing is saved after it, so
    ``latest.json`` keeps pointing at the last good state. ``self.stopped_on_nan`` records it.
    """

    def __init__(self, out_dir: str | os.PathLike, every: int, final_epoch: int, keep: int = 2):
        super().__init__()
        self.dir = Path(out_dir) / CHECKPOINT_DIR
        self.every = max(1, int(every))
        self.final_epoch = final_epoch
        self.keep = keep
        self.stopped_on_nan = False
        self.saved: list[int] = []

    def on_train_batch_end(self, batch, logs=None):
        if not _finite(logs):
            self.stopped_on_nan = True
            self.model.stop_training = True

    def on_epoch_end(self, epoch, logs=None):
        done = epoch + 1
        if self.stopped_on_nan or not _finite(logs):
            self.stopped_on_nan = True
            self.model.stop_training = True
            print(f"\nnon-finite loss in epoch {done}: training stopped; last good checkpoint kept "
                  f"({latest_checkpoint(self.dir.parent) or 'none'})")
            return
        if done % self.every == 0 or done == self.final_epoch:
            self.save(done)

    def save(self, epoch: int) -> Path:
        path = self.model.save_state(self.dir / f"epoch_{epoch:04d}.npz")
        write_json_atomic({"epoch": epoch, "file": path.name}, self.dir / LATEST)
        self.saved.append(epoch)
        # keep the newest `keep` periodic checkpoints (always the latest)
        old = sorted(self.dir.glob("epoch_*.npz"))[: -self.keep] if self.keep else []
        for p in old:
            p.unlink(missing_ok=True)
        return path


def latest_checkpoint(out_dir: str | os.PathLike) -> tuple[int, Path] | None:
    """``(epoch, path)`` of the newest good checkpoint of a run folder, or ``None``."""
    meta = Path(out_dir) / CHECKPOINT_DIR / LATEST
    if not meta.exists():
        return None
    info = json.loads(meta.read_text())
    path = meta.parent / info["file"]
    return (int(info["epoch"]), path) if path.exists() else None
