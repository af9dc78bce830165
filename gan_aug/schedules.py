"""Learning-rate schedules by epoch, applied by a Keras callback so ``model.fit`` drives them.

CycleGAN (Zhu et al. §4: "We keep the same learning rate for the first 100 epochs and linearly decay the rate to
zero over the next 100 epochs"), in junyanz's exact form (``models/networks.py`` ``get_scheduler``, policy
``linear``)::

    factor(epoch) = 1 - max(0, epoch + epoch_count - n_epochs) / (n_epochs_decay + 1)

with the 0-based epoch index and ``epoch_count = 1`` (junyanz ``--epoch_count`` default). For the defaults
(100 + 100): factor 1 for epochs 0..99, 1 - 1/101 = 0.990 at epoch 100, 1 - 51/101 = 0.495 at 150 and
1 - 100/101 = 0.0099 at 199, the last epoch.
The schedule position is just the epoch, restored on ``--resume`` through ``fit(initial_epoch=...)``.
"""
from __future__ import annotations

from typing import Iterable

import keras


def linear_decay_factor(epoch: int, n_epochs: int = 100, n_epochs_decay: int = 100, epoch_count: int = 1) -> float:
    """junyanz's ``lambda_rule``: 1 for the first ``n_epochs`` epochs, then linearly towards 0 (see module)."""
    return 1.0 - max(0, epoch + epoch_count - n_epochs) / float(n_epochs_decay + 1)


class EpochLRSchedule(keras.callbacks.Callback):
    """Set each optimizer's learning rate to ``base_lr * factor(epoch)`` at the start of every epoch.

    ``optimizers`` are read from the model by attribute name (e.g. ``("g_optimizer", "d_optimizer")``) when
    training starts; ``factor`` is a function of the 0-based epoch. The last value set is in ``self.history``.
    """

    def __init__(self, base_lr: float, factor, optimizer_attrs: Iterable[str]):
        super().__init__()
        self.base_lr = float(base_lr)
        self.factor = factor
        self.optimizer_attrs = tuple(optimizer_attrs)
        self.history: dict[int, float] = {}

    def on_epoch_begin(self, epoch, logs=None):
        lr = self.base_lr * self.factor(epoch)
        for attr in self.optimizer_attrs:
            getattr(self.model, attr).learning_rate.assign(lr)
        self.history[epoch] = lr

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["lr"] = self.history.get(epoch, float("nan"))
