"""Leakage-safe splits: stratified train/val/test, N-per-class, and stratified k-fold that honours groups.

All splits work on the *real* samples (``not sample.synthetic``) and are deterministic for a given ``seed``:
each class's samples are sorted by path, shuffled with ``numpy.random.default_rng(seed)`` and cut, so class
proportions are kept in every part (stratification) and the same seed gives the same split on any machine.

Synthetic samples (generator output, :attr:`Sample.source`/``style`` set) are only ever *added to training*, and
only when none of their groups (the real images they were made from) sits in validation or test: the data
leakage Mikołajczyk & Grochowski §IV.C warn about ("any images that were used to generate the augmented database
did not appear in the validation or test sets").

Papers: thesis §5 (80/10/10 stratified), Gauld (10 training images per class, the rest for test), Cho §III (41
per class for training, 41 for test), Mikołajczyk §IV.C (5-fold cross-validation; synthetic images train, real
images validate and test).
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Iterable, Sequence

import numpy as np

from .data import Sample


@dataclass
class Split:
    """One train/val/test partition; ``dropped`` = synthetic samples refused because of leakage."""

    train: list[Sample]
    val: list[Sample]
    test: list[Sample]
    dropped: list[Sample] = field(default_factory=list)


def _by_class(samples: Iterable[Sample]) -> dict[str, list[Sample]]:
    groups: dict[str, list[Sample]] = defaultdict(list)
    for s in samples:
        groups[s.label].append(s)
    return {k: sorted(v, key=lambda s: s.path) for k, v in sorted(groups.items())}


def _shuffled(samples: Sequence[Sample], rng: np.random.Generator) -> list[Sample]:
    return [samples[i] for i in rng.permutation(len(samples))]


def _real_and_synthetic(samples: Iterable[Sample]) -> tuple[list[Sample], list[Sample]]:
    samples = list(samples)
    return [s for s in samples if not s.synthetic], [s for s in samples if s.synthetic]


def add_synthetic(train: list[Sample], synthetic: Iterable[Sample], held_out: Iterable[Sample]
                  ) -> tuple[list[Sample], list[Sample]]:
    """``(train + allowed synthetic, dropped)``: a synthetic sample is dropped when any of its groups is held out.

    Rule (Mikołajczyk §IV.C): ``groups(s) ∩ ⋃_{h ∈ val ∪ test} groups(h) = ∅`` for every synthetic ``s`` in train.
    """
    blocked = {g for s in held_out for g in s.groups}
    kept, dropped = [], []
    for s in synthetic:
        (dropped if blocked.intersection(s.groups) else kept).append(s)
    return list(train) + kept, dropped


def _cut_counts(n: int, fractions: Sequence[float]) -> list[int]:
    """Split ``n`` into parts proportional to ``fractions`` (largest remainder; every part with a share > 0 and
    n >= number of parts gets at least one sample)."""
    f = np.asarray(fractions, dtype=float) / float(sum(fractions))
    raw = f * n
    counts = np.floor(raw).astype(int)
    for i in np.argsort(-(raw - counts), kind="stable")[: n - counts.sum()]:
        counts[i] += 1
    if n >= int((f > 0).sum()):
        for i in np.flatnonzero((f > 0) & (counts == 0)):
            j = int(np.argmax(counts))
            counts[j] -= 1
            counts[i] += 1
    return counts.tolist()


def stratified_split(samples: Iterable[Sample], fractions: Sequence[float] = (0.8, 0.1, 0.1), seed: int = 0
                     ) -> Split:
    """Stratified train/val/test split of the real samples (thesis §5: 80/10/10), synthetic ones added to train.

    For each class c with n_c samples, the counts are ``round(f · n_c)`` by largest remainder, so every part keeps
    the class proportions to within one sample per class.
    """
    if len(fractions) != 3 or min(fractions) < 0 or sum(fractions) <= 0:
        raise ValueError(f"fractions must be three non-negative numbers (train, val, test), got {fractions}")
    real, synthetic = _real_and_synthetic(samples)
    rng = np.random.default_rng(seed)
    train, val, test = [], [], []
    for items in _by_class(real).values():
        items = _shuffled(items, rng)
        a, b, _ = _cut_counts(len(items), fractions)
        train += items[:a]
        val += items[a:a + b]
        test += items[a + b:]
    train, dropped = add_synthetic(train, synthetic, val + test)
    return Split(train, val, test, dropped)


def per_class_split(samples: Iterable[Sample], n_train: int, seed: int = 0, n_test: int | None = None) -> Split:
    """``n_train`` real images per class for training, the rest (or ``n_test`` of them) for test; val is empty.

    Gauld: 10 per class for training, the rest of Caltech-101 crab/butterfly/scorpion for test. Cho §III: 41 and 41.
    A class with ``<= n_train`` images raises ``ValueError`` (nothing would be left to test on).
    """
    real, synthetic = _real_and_synthetic(samples)
    rng = np.random.default_rng(seed)
    train, test = [], []
    for label, items in _by_class(real).items():
        if len(items) <= n_train:
            raise ValueError(f"class {label!r} has {len(items)} images; need more than {n_train} for "
                             f"{n_train} per class in training and the rest for test")
        items = _shuffled(items, rng)
        train += items[:n_train]
        test += items[n_train:] if n_test is None else items[n_train:n_train + n_test]
    train, dropped = add_synthetic(train, synthetic, test)
    return Split(train, [], test, dropped)


def stratified_group_kfold(samples: Iterable[Sample], k: int = 5, seed: int = 0, val_fraction: float = 0.1,
                           real_in_train: bool = True) -> list[Split]:
    """``k`` stratified folds of the real images; fold i tests on part i (Mikołajczyk §IV.C: 5 folds).

    The real images are grouped by :attr:`Sample.groups` (duplicates of one file stay together), each class's
    groups are shuffled and dealt round-robin to the k parts, so every part holds ``n_c/k ± 1`` groups of class c
    and the test parts are disjoint and cover every real image once. Of the remaining real images,
    ``val_fraction`` (stratified) validates; the rest train when ``real_in_train`` — Mikołajczyk trained on
    synthetic images only, validating on all the other real ones: ``real_in_train=False, val_fraction=1.0``.
    Synthetic samples are added to train under the group rule of :func:`add_synthetic`.
    """
    if k < 2:
        raise ValueError(f"k must be >= 2, got {k}")
    if not 0.0 <= val_fraction <= 1.0:
        raise ValueError(f"val_fraction must be in [0, 1], got {val_fraction}")
    real, synthetic = _real_and_synthetic(samples)
    rng = np.random.default_rng(seed)
    part_of: dict[str, int] = {}  # group key -> part
    by_group: dict[str, list[Sample]] = defaultdict(list)
    for s in real:
        by_group[s.groups[0]].append(s)
    class_groups: dict[str, list[str]] = defaultdict(list)
    for key, items in sorted(by_group.items()):
        class_groups[items[0].label].append(key)
    for label in sorted(class_groups):
        keys = class_groups[label]
        if len(keys) < k:
            raise ValueError(f"class {label!r} has {len(keys)} images, fewer than k={k} folds")
        offset = int(rng.integers(k))  # rotate so the +1 remainders do not always land in part 0
        for j, i in enumerate(rng.permutation(len(keys))):
            part_of[keys[i]] = (j + offset) % k
    folds = []
    for i in range(k):
        test = [s for key, items in sorted(by_group.items()) if part_of[key] == i for s in items]
        rest = [s for key, items in sorted(by_group.items()) if part_of[key] != i for s in items]
        fold_rng = np.random.default_rng([seed, i])
        train, val = [], []
        for items in _by_class(rest).values():
            items = _shuffled(items, fold_rng)
            n_val = int(round(val_fraction * len(items)))
            val += items[:n_val]
            train += items[n_val:]
        if not real_in_train:
            train = []
        train, dropped = add_synthetic(train, synthetic, val + test)
        folds.append(Split(train, val, test, dropped))
    return folds


def check_no_leakage(split: Split) -> None:
    """Raise ``AssertionError`` when a training sample shares a group with a val/test sample."""
    held = {g for s in split.val + split.test for g in s.groups}
    for s in split.train:
        common = held.intersection(s.groups)
        if common:
            raise AssertionError(f"{s.path} in train depends on held-out image(s) {sorted(common)}")
