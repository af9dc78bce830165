"""Training: ``model.fit`` with the papers' optimisers, early stopping, logs, class weights, and fastai's
LR finder + 1cycle policy with cyclic momentum (the thesis's ResNet-50 recipe).

1cycle (Smith 2018, arXiv:1803.09820; thesis §2.2.10), with fastai v1's defaults (``OneCycleScheduler``:
``div_factor=25, pct_start=0.3, moms=(0.95, 0.85), final_div=div_factor·1e4``). Over ``n`` optimiser steps,
``a = ⌊pct_start·n⌋`` warm-up steps and ``n − a`` annealing steps, both cosine:

    cos_anneal(start, end, p) = end + (start − end)/2 · (1 + cos(π p))
    lr(i)  = cos_anneal(max_lr/div_factor, max_lr, i/a)                    for i < a
           = cos_anneal(max_lr, max_lr/final_div, (i − a)/(n − a))         for i ≥ a
    mom(i) = cos_anneal(0.95, 0.85, i/a), then cos_anneal(0.85, 0.95, (i − a)/(n − a))

"Momentum" is Adam's β₁ (fastai sets ``betas[0]``) or SGD's momentum.

LR finder (fastai v1 ``lr_find``: ``start_lr=1e-7, end_lr=10, num_it=100, stop_div=True``): the learning rate
grows exponentially, ``lr(i) = start·(end/start)^(i/num_it)``; the loss is smoothed with fastai's debiased moving
average ``m_i = β m_{i−1} + (1−β) L_i``, ``s_i = m_i / (1 − β^{i+1})``, β = 0.98; the run stops once
``s_i > 4 · min_{j≤i} s_j`` (or NaN). The suggestion is fastai's: the lr where the smoothed loss falls
fastest, ``argmin_i ds/di`` (lr is log-uniform in i) after skipping the first 10 and last 5 points. Weights are
restored afterwards.

fastai's optimiser (thesis §5: fastai v1's default for ``cnn_learner``; ``basic_train.py``: ``opt_func =
partial(optim.Adam, betas=(0.9, 0.99))``, ``defaults.wd = 1e-2``, ``true_wd=True``, ``bn_wd=True``) is
``make_optimizer("adamw")``: Keras's AdamW, whose decoupled decay ``w ← w − lr·wd·w`` is fastai's "true weight
decay", applied to every weight (BatchNorm included, as ``bn_wd``), with ε 1e-8 (PyTorch's Adam). Discriminative
learning rates (fastai ``lr_range(slice(a, b))`` = ``even_mults(a, b, n_groups)``: geometric steps from the first
body group to the head) are per-variable multipliers of the one schedule (:class:`GroupAdamW`).
"""
from __future__ import annotations

import functools
import math
import os
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import keras
import numpy as np
import tensorflow as tf

from .models import set_backbone_trainable

#: Cho §III: "Stochastic Gradient descent(SGD) ... 50 epochs and learning rate = 0.005" (momentum not stated: 0).
CHO_2021 = dict(optimizer="sgd", learning_rate=0.005, momentum=0.0, epochs=50)
#: fastai v1 ``fit_one_cycle`` / ``OneCycleScheduler`` defaults (thesis §5: fastai ResNet-50 with 1cycle).
FASTAI_ONE_CYCLE = dict(div_factor=25.0, pct_start=0.3, moms=(0.95, 0.85), final_div=25.0 * 1e4)
#: fastai v1 ``Learner.lr_find`` defaults.
FASTAI_LR_FIND = dict(start_lr=1e-7, end_lr=10.0, num_it=100, stop_div=True, beta=0.98)


@functools.lru_cache(maxsize=None)
def distribution_strategy(name: str = "none") -> tf.distribute.Strategy | None:
    """The ``tf.distribute`` strategy :data:`classify.choices.DISTRIBUTE` names, or ``None`` for ``none``.

    ``mirrored``: ``MirroredStrategy`` — one replica per local GPU (or per logical CPU device), gradients
    all-reduced each step; the global batch is split across replicas. Measured on 2 logical CPUs (vgg9, SGD, no
    dropout or BatchNorm — BatchNorm computes its statistics per replica): the first epoch's loss equals one
    device's within 3e-6; later epochs drift apart by up to ~1 %, as the distributed iterator walks the repeated
    dataset differently across epoch boundaries (``tests/test_distribute.py``).
    ``multiworker``: ``MultiWorkerMirroredStrategy`` across machines, each started with its ``TF_CONFIG``
    (cluster and task index; see TensorFlow's multi-worker guide). Build and compile the model inside
    ``strategy.scope()``.

    One strategy per name and process, made on first use and reused by every later model (TensorFlow expects a
    multi-worker strategy to be made once; and measured on 2 logical CPUs, a second ``MirroredStrategy`` in the
    same process aborted a DCGAN step whose synchronized BatchNorm and gradient all-reduces then disagreed)."""
    if name == "none":
        return None
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if name == "multiworker":
        return tf.distribute.MultiWorkerMirroredStrategy()
    raise ValueError(f"distribute must be none, mirrored or multiworker, got {name!r}")


def set_seeds(seed: int) -> None:
    """Seed Python, NumPy and TensorFlow/Keras (``keras.utils.set_random_seed``)."""
    random.seed(seed)
    np.random.seed(seed)
    keras.utils.set_random_seed(seed)


@keras.saving.register_keras_serializable("classify")
class GroupAdamW(keras.optimizers.AdamW):
    """AdamW whose step size is ``learning_rate × multiplier`` per variable (fastai's discriminative learning rates
    over layer groups), for both the Adam step and the decoupled weight decay. ``multipliers`` maps a variable's
    ``path`` to its factor (default 1). Keras 3 has no per-variable learning rate of its own (TF-Addons'
    ``MultiOptimizer`` is gone); one optimiser keeps one 1cycle schedule and one cyclic β₁ for every group."""

    def __init__(self, *args, multipliers: dict[str, float] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.multipliers = dict(multipliers or {})
        self._factors: list[float] = []

    def build(self, var_list):
        super().build(var_list)
        self._factors = [float(self.multipliers.get(v.path, 1.0)) for v in var_list]

    def _factor(self, variable) -> float:
        return self._factors[self._get_variable_index(variable)] if self._factors else 1.0

    def update_step(self, gradient, variable, learning_rate):
        super().update_step(gradient, variable, learning_rate * self._factor(variable))

    def _apply_weight_decay(self, variables):
        # the base class's decay with this variable's rate (single device: no distribution-strategy merge call)
        if self.weight_decay is None:
            return
        for variable in variables:
            if self._use_weight_decay(variable):
                lr = keras.ops.cast(self.learning_rate, variable.dtype) * self._factor(variable)
                wd = keras.ops.cast(self.weight_decay, variable.dtype)
                variable.assign(variable - variable * wd * lr)

    def get_config(self):
        return {**super().get_config(), "multipliers": self.multipliers}


#: fastai v1's Adam (``basic_train.py``): betas (0.9, 0.99), true weight decay 1e-2; PyTorch Adam's ε 1e-8.
FASTAI_ADAM = dict(beta_1=0.9, beta_2=0.99, weight_decay=1e-2, epsilon=1e-8)


def even_mults(start: float, stop: float, n: int) -> list[float]:
    """fastai v1 ``even_mults``: ``n`` values from ``start`` to ``stop`` in equal ratios."""
    if n == 1:
        return [stop]
    step = (stop / start) ** (1 / (n - 1))
    return [start * step ** i for i in range(n)]


def group_multipliers(groups: Sequence[Sequence], spread: float) -> dict[str, float]:
    """Multipliers for :class:`GroupAdamW` giving ``slice(top/spread, top)`` over ``groups`` (first body group
    ``1/spread`` of the head's rate; fastai ``lr_range``)."""
    factors = even_mults(1.0 / spread, 1.0, len(groups))
    return {v.path: f for group, f in zip(groups, factors) for v in group}


def make_optimizer(name: str = "adam", learning_rate: float = 1e-3, momentum: float | None = None,
                   weight_decay: float | None = None, multipliers: dict[str, float] | None = None
                   ) -> keras.optimizers.Optimizer:
    """``adam`` (Mikołajczyk: unspecified, Keras's default), ``adamw`` (the thesis's fastai Adam,
    :data:`FASTAI_ADAM`; ``weight_decay`` overrides its 1e-2, ``multipliers`` gives per-variable rates) or ``sgd``
    (Cho: lr 0.005).

    Adam's β₁ is held in a ``keras.Variable`` so :class:`CyclicMomentum` can change it between steps of an
    already-compiled train function (a Python float would be baked into the graph). SGD's momentum stays constant.
    """
    if name in ("adam", "adamw"):
        if name == "adam":
            opt = keras.optimizers.Adam(learning_rate, beta_1=0.9 if momentum is None else momentum)
        else:
            kw = {**FASTAI_ADAM, **({} if momentum is None else {"beta_1": momentum}),
                  **({} if weight_decay is None else {"weight_decay": weight_decay})}
            opt = GroupAdamW(learning_rate, multipliers=multipliers, **kw)
        opt.beta_1 = keras.Variable(float(opt.beta_1), trainable=False, name="beta_1", dtype="float32")
    elif name == "sgd":
        # Keras 3's SGD branches on ``momentum != 0`` in Python, so its momentum must stay a float: 1cycle's
        # cyclic momentum is available with Adam only (the thesis's optimiser).
        opt = keras.optimizers.SGD(learning_rate, momentum=0.0 if momentum is None else momentum)
    else:
        raise ValueError(f"optimizer must be 'adam', 'adamw' or 'sgd', got {name!r}")
    return opt


def compile_model(model: keras.Model, optimizer: str | keras.optimizers.Optimizer = "adam",
                  learning_rate: float | keras.optimizers.schedules.LearningRateSchedule = 1e-3,
                  momentum: float | None = None, weight_decay: float | None = None,
                  multipliers: dict[str, float] | None = None) -> keras.Model:
    """Compile with sparse categorical cross-entropy and accuracy (labels are class indices)."""
    opt = (make_optimizer(optimizer, learning_rate, momentum, weight_decay, multipliers)
           if isinstance(optimizer, str) else optimizer)
    model.compile(optimizer=opt, loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def class_weights(labels: Sequence[int], num_classes: int) -> dict[int, float]:
    """Balanced class weights ``w_c = N / (K · n_c)`` over the model's K outputs: scikit-learn's
    ``compute_class_weight("balanced")`` on the classes present (it refuses absent ones), rescaled by
    K_present / K so that a class absent from the training labels changes no other weight; absent classes get 0.
    """
    from sklearn.utils.class_weight import compute_class_weight

    y = np.asarray(labels, dtype=int)
    present = np.unique(y)
    weights = dict.fromkeys(range(num_classes), 0.0)
    if len(present):
        balanced = compute_class_weight("balanced", classes=present, y=y) * (len(present) / num_classes)
        weights.update(zip(present.tolist(), balanced.tolist()))
    return weights


# -------------------------------------------------------------------------------------------------- 1cycle


def cos_anneal(start, end, pct):
    """``end + (start − end)/2 · (1 + cos(π·pct))``: ``start`` at pct 0, ``end`` at pct 1 (fastai annealing_cos)."""
    return end + (start - end) / 2.0 * (1.0 + keras.ops.cos(math.pi * pct))


def _phase_values(step, total_steps: int, pct_start: float, v0, v1, v2):
    step = keras.ops.cast(step, "float32")
    a = float(max(1, int(total_steps * pct_start)))
    b = float(max(1, total_steps - int(total_steps * pct_start)))
    warm = cos_anneal(v0, v1, keras.ops.clip(step / a, 0.0, 1.0))
    anneal = cos_anneal(v1, v2, keras.ops.clip((step - a) / b, 0.0, 1.0))
    return keras.ops.where(step < a, warm, anneal)


@keras.saving.register_keras_serializable(package="classify")
class OneCycleSchedule(keras.optimizers.schedules.LearningRateSchedule):
    """The 1cycle learning rate (module docstring) as a ``LearningRateSchedule`` of the optimiser step."""

    def __init__(self, max_lr: float, total_steps: int, div_factor: float = 25.0, pct_start: float = 0.3,
                 final_div: float | None = None):
        if total_steps < 2:
            raise ValueError(f"total_steps must be >= 2, got {total_steps}")
        self.max_lr, self.total_steps = float(max_lr), int(total_steps)
        self.div_factor, self.pct_start = float(div_factor), float(pct_start)
        self.final_div = float(div_factor * 1e4 if final_div is None else final_div)

    def __call__(self, step):
        return _phase_values(step, self.total_steps, self.pct_start, self.max_lr / self.div_factor, self.max_lr,
                             self.max_lr / self.final_div)

    def get_config(self):
        return dict(max_lr=self.max_lr, total_steps=self.total_steps, div_factor=self.div_factor,
                    pct_start=self.pct_start, final_div=self.final_div)


def one_cycle_momentum(step, total_steps: int, moms: tuple[float, float] = (0.95, 0.85), pct_start: float = 0.3):
    """Cyclic momentum of 1cycle: ``moms[0] → moms[1]`` during warm-up, back to ``moms[0]`` while annealing."""
    return _phase_values(step, total_steps, pct_start, moms[0], moms[1], moms[0])


class CyclicMomentum(keras.callbacks.Callback):
    """Set Adam's β₁ before every batch from :func:`one_cycle_momentum` of the optimiser step.
    Needs an optimiser from :func:`make_optimizer` (momentum held in a variable)."""

    def __init__(self, total_steps: int, moms: tuple[float, float] = (0.95, 0.85), pct_start: float = 0.3):
        super().__init__()
        self.total_steps, self.moms, self.pct_start = total_steps, tuple(moms), pct_start
        self.history: list[float] = []

    def on_train_begin(self, logs=None):
        self._var = getattr(self.model.optimizer, "beta_1", None)
        if not isinstance(self._var, keras.Variable):
            self._var = None
            print("NOTICE: cyclic momentum needs Adam from classify.training.make_optimizer; momentum kept constant")

    def on_train_batch_begin(self, batch, logs=None):
        if self._var is None:
            return
        step = int(self.model.optimizer.iterations.numpy())
        value = float(one_cycle_momentum(step, self.total_steps, self.moms, self.pct_start))
        self._var.assign(value)
        self.history.append(value)


def one_cycle(max_lr: float, total_steps: int, div_factor: float = 25.0, pct_start: float = 0.3,
              moms: tuple[float, float] = (0.95, 0.85), final_div: float | None = None
              ) -> tuple[OneCycleSchedule, CyclicMomentum]:
    """fastai v1 ``fit_one_cycle``: the learning-rate schedule (for the optimiser) and the momentum callback."""
    return (OneCycleSchedule(max_lr, total_steps, div_factor, pct_start, final_div),
            CyclicMomentum(total_steps, moms, pct_start))


# ------------------------------------------------------------------------------------------------ LR finder


@dataclass
class LRFinderResult:
    lrs: list[float] = field(default_factory=list)
    losses: list[float] = field(default_factory=list)      # raw batch losses
    smoothed: list[float] = field(default_factory=list)    # debiased moving average (β = 0.98)
    suggestion: float | None = None                        # lr of the steepest descent of the smoothed loss

    def plot(self, path: str | os.PathLike) -> Path:
        """Loss vs learning rate (log x) with the suggestion marked; PNG via the Agg backend."""
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        fig, ax = plt.subplots(figsize=(6, 4))
        ax.plot(self.lrs, self.smoothed, label="smoothed loss")
        ax.plot(self.lrs, self.losses, alpha=0.3, label="batch loss")
        if self.suggestion:
            ax.axvline(self.suggestion, color="r", ls="--", label=f"suggestion {self.suggestion:.2e}")
        ax.set_xscale("log")
        ax.set_xlabel("learning rate")
        ax.set_ylabel("loss")
        ax.legend()
        fig.tight_layout()
        from .files import save_figure

        return save_figure(fig, path)


def lr_find_schedule(start_lr: float, end_lr: float, num_it: int) -> np.ndarray:
    """``start·(end/start)^(i/num_it)`` for i = 0..num_it−1 (fastai annealing_exp)."""
    i = np.arange(num_it, dtype=np.float64)
    return start_lr * (end_lr / start_lr) ** (i / num_it)


def smooth_losses(losses: Sequence[float], beta: float = 0.98) -> np.ndarray:
    """fastai ``SmoothenValue``: ``m_i = β m_{i−1} + (1−β) L_i``, returned debiased as ``m_i / (1 − β^{i+1})``."""
    out, m = [], 0.0
    for i, loss in enumerate(losses):
        m = beta * m + (1 - beta) * loss
        out.append(m / (1 - beta ** (i + 1)))
    return np.asarray(out)


def suggest_lr(lrs: Sequence[float], smoothed: Sequence[float], skip_start: int = 10, skip_end: int = 5
               ) -> float | None:
    """fastai v1 ``Recorder.plot(suggestion=True)``: the lr at ``argmin(np.gradient(loss))`` on the trimmed curve."""
    lrs = np.asarray(lrs)[skip_start: len(lrs) - skip_end if skip_end else None]
    s = np.asarray(smoothed)[skip_start: len(smoothed) - skip_end if skip_end else None]
    if len(s) < 2:
        return None
    return float(lrs[int(np.argmin(np.gradient(s)))])


def lr_find(model: keras.Model, dataset: tf.data.Dataset, start_lr: float = 1e-7, end_lr: float = 10.0,
            num_it: int = 100, stop_div: bool = True, beta: float = 0.98) -> LRFinderResult:
    """fastai's LR range test on a compiled ``model`` (module docstring). ``dataset`` is repeated as needed; the
    model's weights and the optimiser's learning rate are restored afterwards (the optimiser's moment estimates are
    not: recompile before training, as :func:`fine_tune` does)."""
    weights = model.get_weights()
    opt = model.optimizer
    if isinstance(opt._learning_rate, keras.optimizers.schedules.LearningRateSchedule):
        raise ValueError("lr_find needs a model compiled with a constant learning rate, not a schedule")
    old_lr = float(keras.ops.convert_to_numpy(opt.learning_rate))
    schedule = lr_find_schedule(start_lr, end_lr, num_it)
    result = LRFinderResult()
    best, m = math.inf, 0.0
    try:
        for i, (x, y) in enumerate(dataset.repeat().take(num_it)):
            opt.learning_rate = float(schedule[i])
            loss = float(model.train_on_batch(x, y, return_dict=True)["loss"])
            m = beta * m + (1 - beta) * loss
            s = m / (1 - beta ** (i + 1))
            result.lrs.append(float(schedule[i]))
            result.losses.append(loss)
            result.smoothed.append(s)
            best = min(best, s)
            if stop_div and (s > 4 * best or math.isnan(s)):
                break
    finally:
        model.set_weights(weights)
        opt.learning_rate = old_lr
    result.suggestion = suggest_lr(result.lrs, result.smoothed)
    return result


# --------------------------------------------------------------------------------------------------- fitting


def standard_callbacks(out_dir: str | os.PathLike, patience: int | None = 10, monitor: str = "val_loss",
                       tensorboard: bool = False) -> list[keras.callbacks.Callback]:
    """EarlyStopping(restore_best_weights) on ``monitor`` (Mikołajczyk §IV.D "early stopping": the model that
    leaves ``fit`` holds the best epoch's weights), CSVLogger to ``OUT/history.csv`` (appending), TensorBoard to
    ``OUT/tensorboard`` when asked."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    cbs: list[keras.callbacks.Callback] = [keras.callbacks.CSVLogger(str(out / "history.csv"), append=True)]
    if patience:
        cbs.append(keras.callbacks.EarlyStopping(monitor=monitor, patience=patience, restore_best_weights=True,
                                                 verbose=1))
    if tensorboard:
        cbs.append(keras.callbacks.TensorBoard(str(out / "tensorboard")))
    return cbs


def fit(model: keras.Model, train: tf.data.Dataset, val: tf.data.Dataset | None, epochs: int,
        out_dir: str | os.PathLike, patience: int | None = 10, class_weight: dict[int, float] | None = None,
        tensorboard: bool = False, extra_callbacks: Sequence[keras.callbacks.Callback] = (), initial_epoch: int = 0,
        verbose: int | str = "auto", steps_per_epoch: int | None = None) -> dict[str, list[float]]:
    """``model.fit`` with :func:`standard_callbacks` (monitoring ``val_loss``, or ``loss`` without ``val``);
    returns the history dict. ``steps_per_epoch`` is needed for a repeated (infinite) ``train``."""
    cbs = standard_callbacks(out_dir, patience, "val_loss" if val is not None else "loss", tensorboard)
    hist = model.fit(train, validation_data=val, epochs=epochs, initial_epoch=initial_epoch,
                     steps_per_epoch=steps_per_epoch, class_weight=class_weight,
                     callbacks=cbs + list(extra_callbacks), verbose=verbose)
    return hist.history


def fine_tune(model: keras.Model, train: tf.data.Dataset, val: tf.data.Dataset | None, out_dir: str | os.PathLike,
              head_epochs: int, epochs: int, max_lr: float, steps_per_epoch: int, optimizer: str = "adam",
              patience: int | None = None, class_weight: dict[int, float] | None = None,
              unfrozen_lr_factor: float = 0.1, verbose: int | str = "auto", train_bn: bool = False,
              lr_spread: float = 1.0, weight_decay: float | None = None) -> dict[str, list[float]]:
    """Thesis §5 / fastai: train the new head with the backbone frozen (1cycle, ``max_lr``) for ``head_epochs``,
    then unfreeze everything and train ``epochs`` more with 1cycle at ``max_lr · unfrozen_lr_factor`` for the
    head (fastai's ``unfreeze(); fit_one_cycle(n, slice(..., lr/10))`` pattern). ``lr_spread`` > 1 gives fastai's
    discriminative rates after unfreezing, ``slice(top/lr_spread, top)`` over :func:`classify.models.layer_groups`
    (needs ``optimizer="adamw"``); ``train_bn`` keeps the frozen body's BatchNorm trainable. Models without a
    ``backbone`` layer are simply trained for ``head_epochs + epochs``."""
    from .models import layer_groups

    history: dict[str, list[float]] = {}

    def run(n_epochs: int, lr: float, start: int, multipliers=None) -> None:
        schedule, momentum = one_cycle(lr, max(2, n_epochs * steps_per_epoch))
        compile_model(model, optimizer, schedule, weight_decay=weight_decay, multipliers=multipliers)
        h = fit(model, train, val, start + n_epochs, out_dir, patience, class_weight,
                extra_callbacks=[momentum], initial_epoch=start, verbose=verbose, steps_per_epoch=steps_per_epoch)
        for k, v in h.items():
            history.setdefault(k, []).extend(v)

    if lr_spread != 1.0 and optimizer != "adamw":
        raise ValueError("discriminative learning rates (lr_spread != 1) need optimizer 'adamw'")
    has_backbone = set_backbone_trainable(model, False, train_bn)
    if has_backbone and head_epochs:
        run(head_epochs, max_lr, 0)
        set_backbone_trainable(model, True)
        multipliers = group_multipliers(layer_groups(model), lr_spread) if lr_spread != 1.0 else None
        run(epochs, max_lr * unfrozen_lr_factor, head_epochs, multipliers)
    else:
        set_backbone_trainable(model, True)
        run(head_epochs + epochs, max_lr, 0)
    return history
