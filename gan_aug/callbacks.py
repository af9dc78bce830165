"""Keras callbacks for GAN training: sample grids, loss curves, checkpoints, NaN guard.

``model.fit`` drives everything; these hook into ``on_epoch_end``:

- :class:`SampleGrid` writes ``samples/epoch_NNNN.png`` from *fixed* inputs (noise drawn once, or the same real
  images), so consecutive grids show the generator changing, not the inputs.
- :class:`LossHistory` appends each epoch's logs to ``history.csv`` and redraws ``loss_curves.png``.
- :class:`Checkpoint` saves the full training state every N epochs and at the end, never after a non-finite
  loss: NaN/inf stops training (like ``keras.callbacks.TerminateOnNaN``) and the last good checkpoint stays.
  With each state it exports the generators as ``.keras`` files, which is all ``gan_aug.generate`` loads.
"""
from __future__ import annotations

import csv
import math
import os
from pathlib import Path
from typing import Callable, Sequence

import keras
import numpy as np

from classify.images import save_image

from classify.files import atomic_path, read_json, save_figure, write_csv, write_json

from .data import to_uint8

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


def labelled_grid(rows: list[np.ndarray], row_names: Sequence[str], title: str, pad: int = 2) -> np.ndarray:
    """:func:`image_grid` with each row's name on its left, column numbers on top and ``title`` above (PIL's
    built-in font: no font files needed)."""
    from PIL import Image, ImageDraw, ImageFont

    def drawable(text: str) -> str:  # the built-in bitmap font has Latin-1 glyphs only
        return text.replace("→", "->").encode("latin-1", "replace").decode("latin-1")

    row_names, title = [drawable(t) for t in row_names], drawable(title)
    grid = image_grid(rows, pad)
    font = ImageFont.load_default()
    h, w = rows[0].shape[1:3]
    n = max(len(r) for r in rows)
    left = 8 + max((int(ImageDraw.Draw(Image.new("RGB", (1, 1))).textlength(t, font=font)) for t in row_names),
                   default=0)
    top = 30
    canvas = Image.new("RGB", (left + grid.shape[1], top + grid.shape[0]), "white")
    canvas.paste(Image.fromarray(grid), (left, top))
    draw = ImageDraw.Draw(canvas)
    draw.text((4, 3), title, fill="black", font=font)
    for j in range(n):
        draw.text((left + pad + j * (w + pad) + w // 2 - 3, top - 13), str(j + 1), fill="gray", font=font)
    for i, name in enumerate(row_names[:len(rows)]):
        draw.text((4, top + pad + i * (h + pad) + h // 2 - 6), name, fill="black", font=font)
    return np.asarray(canvas)


class SampleGrid(keras.callbacks.Callback):
    """Each epoch, ``rows_fn(model)`` -> list of float image rows in [-1, 1]; saved as ``samples/epoch_NNNN.png``
    with ``row_names`` on the left, the column numbers on top and ``"<title> · epoch N/total"`` above.

    ``rows_fn`` closes over fixed inputs (see :meth:`gan_aug.kinds.GANKind.sample_rows`), so every grid uses the
    same noise/images: the columns of consecutive grids are comparable.
    """

    def __init__(self, out_dir: str | os.PathLike, rows_fn: Callable[[keras.Model], list], every: int = 1,
                 row_names: Sequence[str] = (), title: str = "", epochs: int | None = None):
        super().__init__()
        self.dir = Path(out_dir) / "samples"
        self.rows_fn = rows_fn
        self.every = every
        self.row_names = list(row_names)
        self.title = title
        self.epochs = epochs

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every or not _finite(logs):  # no grid of a diverged (NaN) model
            return
        rows = [to_uint8(r) for r in self.rows_fn(self.model)]
        heading = " · ".join(t for t in (self.title, f"epoch {epoch + 1}" + (f"/{self.epochs}" if self.epochs else ""))
                             if t)
        names = self.row_names + [""] * (len(rows) - len(self.row_names))
        save_image(labelled_grid(rows, names, heading), self.dir / f"epoch_{epoch + 1:04d}.png")


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
        write_csv(self.csv, list(dict.fromkeys(k for r in self.rows for k in r)), self.rows)
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
        save_figure(fig, self.out / "loss_curves.png")


def _finite(logs) -> bool:
    return all(math.isfinite(float(v)) for v in (logs or {}).values())


#: Test hook (see :class:`Checkpoint`).
KILL_HOOK = "GAN_AUG_KILL_BEFORE_CHECKPOINT"


class Checkpoint(keras.callbacks.Callback):
    """Save the model's full state (:meth:`gan_aug.base.GAN.save_state`) every ``every`` epochs and at the end.

    ``checkpoints/epoch_NNNN.npz``, each of ``generators`` (model attributes) as
    ``checkpoints/epoch_NNNN_<name>.keras``, then ``checkpoints/latest.json`` (``{"epoch": N, "file": ...,
    "generators": {name: file}}``, written last, atomically). A batch with a non-finite loss stops training;
    nothing is saved after it, so ``latest.json`` keeps pointing at the last good state. ``self.stopped_on_nan``
    records it.

    Put it *after* the callbacks that write the epoch's history row and sample grid: a kill between those and the
    checkpoint then resumes from the previous checkpoint and redoes the epoch, rows and grid included (the other
    order loses them for good). ``$GAN_AUG_KILL_BEFORE_CHECKPOINT=N`` kills the process (SIGKILL) just before
    epoch N's checkpoint: the test hook for that moment.
    """

    def __init__(self, out_dir: str | os.PathLike, every: int, final_epoch: int, keep: int = 2,
                 generators: tuple[str, ...] = ()):
        super().__init__()
        self.dir = Path(out_dir) / CHECKPOINT_DIR
        self.generators = tuple(generators)
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
        if os.environ.get(KILL_HOOK) == str(epoch):
            import signal

            os.kill(os.getpid(), signal.SIGKILL)
        path = self.model.save_state(self.dir / f"epoch_{epoch:04d}.npz")
        exported = {}
        for name in self.generators:
            target = self.dir / f"epoch_{epoch:04d}_{name}.keras"
            with atomic_path(target, suffix=".keras") as tmp:
                getattr(self.model, name).save(tmp)
            exported[name] = target.name
        write_json(self.dir / LATEST, {"epoch": epoch, "file": path.name, "generators": exported})
        self.saved.append(epoch)
        # keep the newest `keep` periodic checkpoints (always the latest), with their exported generators
        old = sorted(self.dir.glob("epoch_*.npz"))[: -self.keep] if self.keep else []
        for p in old:
            p.unlink(missing_ok=True)
            for g in self.dir.glob(f"{p.stem}_*.keras"):
                g.unlink(missing_ok=True)
        return path


def latest_checkpoint(out_dir: str | os.PathLike) -> tuple[int, Path] | None:
    """``(epoch, path)`` of the newest good checkpoint of a run folder, or ``None``."""
    info = read_json(Path(out_dir) / CHECKPOINT_DIR / LATEST)
    if not info:
        return None
    path = Path(out_dir) / CHECKPOINT_DIR / info["file"]
    return (int(info["epoch"]), path) if path.exists() else None


def exported_generator(checkpoint: str | os.PathLike, name: str) -> Path:
    """The ``.keras`` export of generator ``name`` saved with the state file ``checkpoint``."""
    checkpoint = Path(checkpoint)
    path = checkpoint.with_name(f"{checkpoint.stem}_{name}.keras")
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no exported generator {name!r} beside checkpoint {checkpoint.name}")
    return path
