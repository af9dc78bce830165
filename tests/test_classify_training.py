"""classify.training: the 1cycle schedule and LR finder give fastai v1's documented values."""
from __future__ import annotations

import math

import numpy as np
import pytest

from classify.training import (FASTAI_LR_FIND, FASTAI_ONE_CYCLE, OneCycleSchedule, class_weights, compile_model,
                               lr_find, lr_find_schedule, one_cycle, one_cycle_momentum, smooth_losses,
                               suggest_lr)


def _cos(start, end, pct):
    return end + (start - end) / 2 * (1 + math.cos(math.pi * pct))


def test_fastai_defaults():
    assert FASTAI_ONE_CYCLE == dict(div_factor=25.0, pct_start=0.3, moms=(0.95, 0.85), final_div=25.0 * 1e4)
    assert FASTAI_LR_FIND["start_lr"] == 1e-7 and FASTAI_LR_FIND["end_lr"] == 10 and FASTAI_LR_FIND["num_it"] == 100


def test_one_cycle_learning_rate_values():
    sched = OneCycleSchedule(max_lr=1e-2, total_steps=100)  # a = 30 warm-up steps, 70 annealing
    lr = [float(sched(i)) for i in range(101)]
    assert lr[0] == pytest.approx(1e-2 / 25, rel=1e-5)
    assert lr[15] == pytest.approx(_cos(4e-4, 1e-2, 0.5), rel=1e-5) == pytest.approx((4e-4 + 1e-2) / 2)
    assert lr[30] == pytest.approx(1e-2, rel=1e-5) and max(lr) == pytest.approx(1e-2, rel=1e-5)
    assert lr[65] == pytest.approx(_cos(1e-2, 1e-2 / 25e4, 35 / 70), rel=1e-5)
    assert lr[100] == pytest.approx(1e-2 / (25 * 1e4), rel=1e-4)
    assert all(np.diff(lr[:31]) > 0) and all(np.diff(lr[30:]) < 0)


def test_one_cycle_momentum_values_and_callback():
    mom = [float(one_cycle_momentum(i, 100)) for i in range(101)]
    assert mom[0] == pytest.approx(0.95) and mom[30] == pytest.approx(0.85) and mom[100] == pytest.approx(0.95)
    assert mom[15] == pytest.approx(0.90) and mom[65] == pytest.approx(0.90)
    assert min(mom) == pytest.approx(0.85)


def test_cyclic_momentum_reaches_the_compiled_optimizer():
    import keras
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, activation="softmax")])
    sched, cb = one_cycle(1e-2, total_steps=10)
    compile_model(model, "adam", sched)
    x = np.random.default_rng(0).normal(size=(40, 3)).astype("float32")
    y = (x[:, 0] > 0).astype("int32")
    model.fit(x, y, batch_size=4, epochs=1, callbacks=[cb], verbose=0)
    assert cb.history == pytest.approx([float(one_cycle_momentum(i, 10)) for i in range(10)])
    assert float(model.optimizer.beta_1.numpy()) == pytest.approx(cb.history[-1])
    assert float(model.optimizer.learning_rate) == pytest.approx(float(sched(10)), rel=1e-4)
    # and beta_1 is live in the compiled step: from the same weights and optimizer state, beta_1 = 0 and 0.9 differ
    compile_model(model, "adam", 0.1)
    model.train_on_batch(x[:4], y[:4])
    state = [v.numpy() for v in model.optimizer.variables]
    w = model.get_weights()
    results = []
    for beta in (0.0, 0.9):
        model.set_weights(w)
        for v, value in zip(model.optimizer.variables, state):
            v.assign(value)
        model.optimizer.beta_1.assign(beta)
        model.train_on_batch(x[4:8], y[4:8])
        results.append(model.get_weights()[0])
    assert np.abs(results[0] - results[1]).max() > 1e-3


def test_lr_find_schedule_smoothing_and_suggestion():
    lrs = lr_find_schedule(1e-7, 10, 100)
    assert lrs[0] == pytest.approx(1e-7) and lrs[50] == pytest.approx(1e-7 * (1e8) ** 0.5)
    assert np.allclose(np.diff(np.log(lrs)), math.log(1e8) / 100)
    s = smooth_losses([2.0, 1.0, 4.0], beta=0.98)
    m1 = 0.02 * 2
    m2 = 0.98 * m1 + 0.02 * 1
    assert s[0] == pytest.approx(2.0) and s[1] == pytest.approx(m2 / (1 - 0.98 ** 2))


# An LR-finder run of 40 steps whose batch loss is 1 until step 20 and 0.5 from there on (dyadic: exact in float32).
N_IT, STEP_AT = 40, 20
STEP_LOSSES = np.r_[np.ones(STEP_AT), np.full(N_IT - STEP_AT, 0.5)]


def _debiased_ewma(losses, beta=0.98, debias=True):
    """fastai v1 SmoothenValue, written out: m_i = β m_(i-1) + (1-β) L_i, s_i = m_i / (1 - β^(i+1))."""
    out, m = [], 0.0
    for i, loss in enumerate(losses):
        m = beta * m + (1 - beta) * float(loss)
        out.append(m / (1 - beta ** (i + 1)) if debias else m)
    return out


def _slopes(values):
    """The numerical gradient by hand: central differences inside, one-sided at the two ends."""
    v = list(values)
    return [v[1] - v[0]] + [(v[i + 1] - v[i - 1]) / 2 for i in range(1, len(v) - 1)] + [v[-1] - v[-2]]


def _steepest(curve, skip_start=10, skip_end=5):
    """Index (in the whole run) of the most negative slope of ``curve`` after fastai's trimming."""
    g = _slopes(curve[skip_start: len(curve) - skip_end])
    return skip_start + min(range(len(g)), key=g.__getitem__), sorted(g)


def _expected_step_suggestion():
    """The steepest-slope index of the smoothed step curve, and proof that the curve tells the rule apart from
    its likely mistakes: the minimum of the smoothed loss, the slope of the raw loss, the slope without debiasing
    all land on other indices, and the runner-up slope is clearly less steep (no near-tie)."""
    smoothed = _debiased_ewma(STEP_LOSSES)
    index, slopes = _steepest(smoothed)
    assert index == STEP_AT                                  # falls fastest where the batch loss drops
    assert slopes[1] > 0.95 * slopes[0]                      # unique: the runner-up is > 5 % less steep
    trimmed = smoothed[10: N_IT - 5]
    assert 10 + trimmed.index(min(trimmed)) != index         # argmin of the loss: the last trimmed point (34)
    assert _steepest(list(STEP_LOSSES))[0] != index          # raw loss: 19 (the tie 19/20 goes to the first)
    assert _steepest(_debiased_ewma(STEP_LOSSES, debias=False))[0] != index  # biased average still rising: 34
    return index, smoothed


def test_suggestion_is_the_steepest_slope_of_the_smoothed_loss():
    """suggest_lr on smooth_losses of a hand-made step curve gives exactly the lr at the step (computed here with
    its own EWMA and differences). The old check accepted any of 10 lrs; this one fails for argmin of the loss,
    for the raw loss's slope, for smoothing without debiasing, and for an lr taken off by one index."""
    index, smoothed = _expected_step_suggestion()
    lrs = [1e-4 * (1.0 / 1e-4) ** (i / N_IT) for i in range(N_IT)]
    np.testing.assert_allclose(smooth_losses(STEP_LOSSES), smoothed, rtol=1e-12)
    assert suggest_lr(lrs, smooth_losses(STEP_LOSSES)) == lrs[index]


def test_lr_find_suggests_the_steepest_slope_of_its_own_smoothing():
    """lr_find end to end with batch losses set by hand: a model whose loss is its input (x + 0·w, so the weight
    gets a zero gradient and every batch loss is the fed value). lr_find smooths the losses itself (not through
    smooth_losses), so this pins its own moving average, debiasing and suggestion."""
    import keras
    import tensorflow as tf

    class PassThrough(keras.layers.Layer):
        def build(self, input_shape):
            self.w = self.add_weight(shape=(), initializer="zeros", name="w")

        def call(self, x):
            return x + 0.0 * self.w

    inputs = keras.Input((1,))
    model = keras.Model(inputs, PassThrough()(inputs))
    model.compile(keras.optimizers.SGD(1e-3), loss=lambda y_true, y_pred: keras.ops.mean(y_pred))
    ds = tf.data.Dataset.from_tensor_slices((STEP_LOSSES.astype("float32")[:, None],
                                             np.zeros((N_IT, 1), "float32"))).batch(1)
    index, smoothed = _expected_step_suggestion()
    res = lr_find(model, ds, start_lr=1e-4, end_lr=1.0, num_it=N_IT)
    assert res.losses == list(STEP_LOSSES)                  # the run saw exactly the hand-made losses
    np.testing.assert_allclose(res.smoothed, smoothed, rtol=1e-12)
    lrs = [1e-4 * (1.0 / 1e-4) ** (i / N_IT) for i in range(N_IT)]
    np.testing.assert_allclose(res.lrs, lrs, rtol=1e-12)
    assert res.suggestion == res.lrs[index] == pytest.approx(lrs[index], rel=1e-12)


def test_lr_find_runs_stops_on_divergence_and_restores_weights():
    import keras
    import tensorflow as tf
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="relu"),
                              keras.layers.Dense(2, activation="softmax")])
    compile_model(model, "sgd", 1e-3)  # plain SGD diverges for large lr
    x = np.random.default_rng(1).normal(size=(64, 4)).astype("float32")
    y = (x.sum(1) > 0).astype("int32")
    ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(16)
    before = model.get_weights()
    res = lr_find(model, ds, start_lr=1e-5, end_lr=1e3, num_it=60)
    assert 5 < len(res.lrs) < 60  # diverged before the end (lr up to 1000 with SGD)
    assert res.smoothed[-1] > 4 * min(res.smoothed) or math.isnan(res.smoothed[-1])
    assert res.lrs == pytest.approx(list(lr_find_schedule(1e-5, 1e3, 60)[: len(res.lrs)]))
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert float(model.optimizer.learning_rate) == pytest.approx(1e-3)


def test_class_weights_balanced():
    w = class_weights([0, 0, 0, 1], 3)
    assert w == {0: pytest.approx(4 / 9), 1: pytest.approx(4 / 3), 2: 0.0}
