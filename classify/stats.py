"""Statistics the paper tables report: paired comparisons across folds or subsets (scipy).

For paired values ``a_f`` (with augmentation) and ``b_f`` (without) over ``k`` folds, ``d_f = a_f − b_f``:

- the paired t-test ``t = mean(d) / (sd(d)/√k)`` with ``k − 1`` degrees of freedom (``scipy.stats.ttest_rel``);
  undefined (NaN) with fewer than :data:`MIN_PAIRS` pairs or differences of zero spread;
- a percentile bootstrap CI of ``mean(d)`` (``scipy.stats.bootstrap``, ``method="percentile"``, the folds
  resampled with replacement ``n_boot`` times from ``numpy.random.default_rng(seed)``); NaN with fewer than
  :data:`MIN_PAIRS` pairs (two values resampled give three possible means: no interval worth printing).

And for one network on one test set, :func:`chance_p`: the exact one-sided binomial p-value that its accuracy beats
always answering the test set's most frequent class (``scipy.stats.binomtest``) — a table whose baseline network
cannot be told from that has no baseline to improve on.
"""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np

#: Fewest paired values a t-test or a confidence interval is computed from.
MIN_PAIRS = 3


def paired_stats(with_values: Sequence[float], without_values: Sequence[float], n_boot: int = 10000,
                 seed: int = 0, confidence: float = 0.95) -> dict:
    """``{n, mean_with, mean_without, diff, t, p, ci_low, ci_high}`` for paired values (module docstring)."""
    from scipy import stats

    a = np.asarray(with_values, dtype=float)
    b = np.asarray(without_values, dtype=float)
    if a.shape != b.shape:
        raise ValueError(f"need paired values, got {a.shape} and {b.shape}")
    d = a - b
    n = int(d.size)
    out = {"n": n, "mean_with": float(a.mean()) if n else math.nan,
           "mean_without": float(b.mean()) if n else math.nan,
           "diff": float(d.mean()) if n else math.nan, "t": math.nan, "p": math.nan,
           "ci_low": math.nan, "ci_high": math.nan}
    if n >= MIN_PAIRS and np.ptp(d) > 1e-12:  # constant differences (up to rounding): t undefined
        res = stats.ttest_rel(a, b)
        out["t"], out["p"] = float(res.statistic), float(res.pvalue)
    if n >= MIN_PAIRS:
        ci = stats.bootstrap((d,), np.mean, n_resamples=n_boot, method="percentile", confidence_level=confidence,
                             random_state=np.random.default_rng(seed)).confidence_interval
        out["ci_low"], out["ci_high"] = float(ci.low), float(ci.high)
    return out


def mean_std(values: Sequence[float | None]) -> tuple[float | None, float | None]:
    """Mean and sample standard deviation (ddof 1) of the values that are not None (None where undefined)."""
    got = [float(v) for v in values if v is not None]
    return (float(np.mean(got)) if got else None, float(np.std(got, ddof=1)) if len(got) > 1 else None)


def chance_p(y_true: Sequence[int], y_pred: Sequence[int]) -> float:
    """One-sided exact binomial p-value of ``k`` correct out of ``n`` against the rate of always predicting the
    most frequent true class, ``H1: accuracy > max_c n_c / n`` (``scipy.stats.binomtest``, ``alternative=
    "greater"``). Example: 9 of 10 right on a 5/5 test set gives (C(10,9) + C(10,10)) / 2¹⁰ = 11/1024."""
    from scipy import stats

    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if y_true.shape != y_pred.shape or y_true.size == 0:
        raise ValueError(f"need as many predictions as labels (got {y_pred.shape} and {y_true.shape}), at least one")
    k, n = int((y_true == y_pred).sum()), int(y_true.size)
    chance = np.bincount(y_true).max() / n
    return float(stats.binomtest(k, n, chance, alternative="greater").pvalue)
