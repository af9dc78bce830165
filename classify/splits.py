"""Leakage-safe splits: stratified train/val/test, N-per-class, and stratified k-fold that honours groups.

All splits work on the *real* samples (``not sample.synthetic``) and are deterministic for a given ``seed``:
each class's samples are sorted by path, shuffled with ``numpy.random.default_rng(seed)`` and cut, so class
proportions are kept in every part (stratification) and the same seed gives the same split on any machine.

Synthetic samples (generator output, :attr:`Sample.source`/``style`` set) are only ever *added to training*, and
only when none of their groups (the real images they were made from) sits in validation or test: the data
leakage Mikołajczyk & Grochowski §IV.C warn about ("any images that were used to generate the augmented database
did not appear in the validation or test sets").

A synthetic sample is also refused when it *is* one of the dataset's real images (a manifest row pointing at a
real file would otherwise train with the manifest's label while the same file is tested).

Papers: thesis §5 (80/10/10 stratified), Gauld (10 training images per class, the rest for test), Cho §III (41
per class for training, 41 for test), Mikołajczyk §IV.C (5-fold cross-validation; synthetic images train, real
images validate and test).

Split files (``split.csv``: ``path,label,source,style,generated,part``) record a split so that another tool can
work on one part of it only: :func:`write_split_file`, :func:`read_split_file`, and :func:`select_parts` — real
images of the chosen parts, synthetic images that depend on no image of the other parts. Parts are ``train``,
``val``, ``test`` and ``pool`` (real images that neither train, validate nor test, but whose synthetic
descendants may train: Mikołajczyk's synthesis pool when training on synthetic images only).
"""
from __future__ import annotations

import os
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Callable, Iterable, Sequence

import numpy as np

from .data import Sample, read_image_list
from .manifest import group_key

#: The parts of a split, in the order split files list them.
PARTS = ("train", "val", "test", "pool")


@dataclass
class Split:
    """One train/val/test partition.

    ``pool``: real images that are neither trained on nor held out (their synthetic descendants may train);
    ``dropped``: synthetic samples refused, each with its one-line reason in ``reasons`` (same order).
    """

    train: list[Sample]
    val: list[Sample]
    test: list[Sample]
    dropped: list[Sample] = field(default_factory=list)
    pool: list[Sample] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)

    def parts(self) -> dict[str, list[Sample]]:
        """``{part: samples}`` for the parts of :data:`PARTS` (empty ones included)."""
        return {"train": self.train, "val": self.val, "test": self.test, "pool": self.pool}

    def summary(self) -> str:
        """One line: sizes and class counts of the parts, and how many synthetic samples were dropped and why."""
        from .data import class_counts

        text = ", ".join(f"{name} {len(items)} {class_counts(items)}" for name, items in self.parts().items()
                         if items or name != "pool")
        if self.dropped:
            why = {}
            for reason in self.reasons:
                key = reason.split(": ", 1)[-1].split(" (")[0]
                why[key] = why.get(key, 0) + 1
            text += f"; {len(self.dropped)} synthetic dropped (" + ", ".join(f"{n} {k}" for k, n in why.items()) + ")"
        return text


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


def add_synthetic(train: list[Sample], synthetic: Iterable[Sample], held_out: Iterable[Sample],
                  real: Iterable[Sample] = ()) -> tuple[list[Sample], list[Sample]]:
    """``(train + allowed synthetic, dropped)``: a synthetic sample is dropped when any of its groups is held out
    (or when it is itself one of the ``real`` images of the dataset).

    Rule (Mikołajczyk §IV.C): ``groups(s) ∩ ⋃_{h ∈ val ∪ test} groups(h) = ∅`` for every synthetic ``s`` in train.
    """
    kept, dropped, _ = _filter_synthetic(synthetic, held_out, real)
    return list(train) + kept, dropped


def _filter_synthetic(synthetic: Iterable[Sample], held_out: Iterable[Sample], real: Iterable[Sample] = ()
                      ) -> tuple[list[Sample], list[Sample], list[str]]:
    """``(kept, dropped, reasons)`` under the group rule and the is-a-real-image rule (module docstring)."""
    blocked = {g for s in held_out for g in s.groups}
    real_keys = {group_key(s.path) for s in real}
    kept, dropped, reasons = [], [], []
    for s in synthetic:
        if real_keys and group_key(s.path) in real_keys:
            dropped.append(s)
            reasons.append(f"{s.path}: is a real image of the dataset being split, not a synthetic one")
            continue
        common = blocked.intersection(s.groups)
        if common:
            dropped.append(s)
            reasons.append(f"{s.path}: depends on a validation/test image ({sorted(common)[0]})")
            continue
        kept.append(s)
    return kept, dropped, reasons


def _finish(train: list[Sample], val: list[Sample], test: list[Sample], synthetic: list[Sample],
            real: list[Sample], pool: Sequence[Sample] = ()) -> Split:
    """The split with the allowed synthetic samples added to training (module docstring)."""
    kept, dropped, reasons = _filter_synthetic(synthetic, val + test, real)
    return Split(list(train) + kept, val, test, dropped, list(pool), reasons)


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


def stratified_split(samples: Iterable[Sample], fractions: Sequence[float] = (0.8, 0.1, 0.1), seed: int = 0,
                     group_of: Callable[[Sample], str] | None = None) -> Split:
    """Stratified train/val/test split of the real samples (thesis §5: 80/10/10), synthetic ones added to train.

    For each class c with n_c samples, the counts are ``round(f · n_c)`` by largest remainder, so every part keeps
    the class proportions to within one sample per class. With ``group_of`` (e.g. HAM10000's ``lesion_id``:
    several images of one lesion) whole groups are dealt out in random order: a part takes groups until it
    holds its count, so the parts are disjoint in groups and the counts hold to within one group.
    """
    if len(fractions) != 3 or min(fractions) < 0 or sum(fractions) <= 0:
        raise ValueError(f"fractions must be three non-negative numbers (train, val, test), got {fractions}")
    real, synthetic = _real_and_synthetic(samples)
    rng = np.random.default_rng(seed)
    train, val, test = [], [], []
    for items in _by_class(real).values():
        items = _shuffled(items, rng)
        a, b, _ = _cut_counts(len(items), fractions)
        if group_of is None:
            train += items[:a]
            val += items[a:a + b]
            test += items[a + b:]
            continue
        by_group: dict[str, list[Sample]] = {}
        for x in items:
            by_group.setdefault(group_of(x), []).append(x)
        n_train = n_val = 0
        for members in by_group.values():
            if n_train < a:
                train += members
                n_train += len(members)
            elif n_val < b:
                val += members
                n_val += len(members)
            else:
                test += members
    if group_of is not None:
        seen: dict[str, str] = {}
        for name, part in (("train", train), ("val", val), ("test", test)):
            for x in part:
                if seen.setdefault(group_of(x), name) != name:
                    raise ValueError(f"group {group_of(x)!r} has images of several classes: cannot stratify by "
                                     "class and keep it whole")
    return _finish(train, val, test, synthetic, real)


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
    return _finish(train, [], test, synthetic, real)


def stratified_group_kfold(samples: Iterable[Sample], k: int = 5, seed: int = 0, val_fraction: float = 0.1,
                           real_in_train: bool = True, group_of: Callable[[Sample], str] | None = None,
                           test_count: int | None = None, val_count: int | None = None) -> list[Split]:
    """``k`` stratified folds of the real images; fold i tests on part i (Mikołajczyk §IV.C: 5 folds).

    The test parts are scikit-learn's ``StratifiedGroupKFold(k, shuffle=True, random_state=seed)`` over the real
    images sorted by path: disjoint, covering every real image once, each keeping the class proportions as
    closely as whole groups allow. A group is ``group_of(sample)`` — by default the image itself
    (:func:`~classify.manifest.group_key`; pass e.g. a lesion id so that several images of one lesion never sit
    on both sides, HAM10000). Of the remaining real images, ``val_fraction`` of each class validates (whole
    groups, :func:`_grouped_cut`); the rest train when ``real_in_train``, else they form the fold's ``pool``:
    Mikołajczyk trained on synthetic images only, made from real images kept apart from validation and test
    (``real_in_train=False``). Synthetic samples are added to train under the group rule of :func:`add_synthetic`.

    Counts instead of fractions (Mikołajczyk §V: "tested it on 200 images per each of five folds", "validated on
    1976 real images"): ``test_count`` keeps that many images of fold i's test part (stratified, whole groups;
    the others join the rest), ``val_count`` validates on that many of the rest (overriding ``val_fraction``).
    """
    from sklearn.model_selection import StratifiedGroupKFold

    if k < 2:
        raise ValueError(f"k must be >= 2, got {k}")
    if not 0.0 <= val_fraction <= 1.0:
        raise ValueError(f"val_fraction must be in [0, 1], got {val_fraction}")
    real, synthetic = _real_and_synthetic(samples)
    real = sorted(real, key=lambda s: s.path)
    group_of = group_of or (lambda s: s.groups[0])
    groups = [group_of(s) for s in real]
    for label in sorted({s.label for s in real}):
        n = len({g for g, s in zip(groups, real) if s.label == label})
        if n < k:
            raise ValueError(f"class {label!r} has {n} images (groups), fewer than k={k} folds")
    labels = [s.label for s in real]
    folds = []
    cv = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=seed)
    for i, (rest_idx, test_idx) in enumerate(cv.split(np.zeros(len(real)), labels, groups)):
        test = [real[j] for j in sorted(test_idx)]
        rest = [real[j] for j in sorted(rest_idx)]
        if test_count is not None:
            test, back = _grouped_cut(test, _share(test_count, len(test), "test_count"),
                                      np.random.default_rng([seed, i, 1]), group_of)
            rest = sorted(rest + back, key=lambda s: s.path)
        share = val_fraction if val_count is None else _share(val_count, len(rest), "val_count")
        val, train = _grouped_cut(rest, share, np.random.default_rng([seed, i]), group_of)
        pool = [] if real_in_train else train
        folds.append(_finish(train if real_in_train else [], val, test, synthetic, real, pool))
    return folds


def _share(count: int, available: int, name: str) -> float:
    """``count`` of ``available`` images as the fraction :func:`_grouped_cut` takes (per class, rounded)."""
    if not 0 < count <= available:
        raise ValueError(f"{name} must be in 1..{available} (the images there are), got {count}")
    return count / available


def _grouped_cut(samples: Sequence[Sample], fraction: float, rng: np.random.Generator,
                 group_of: Callable[[Sample], str]) -> tuple[list[Sample], list[Sample]]:
    """``(part, rest)``: per class, whole groups in random order until the part holds ``round(fraction · n_c)``
    images of the class (with one image per group: exactly that many)."""
    part, rest = [], []
    for items in _by_class(samples).values():
        by_group: dict[str, list[Sample]] = {}
        for s in _shuffled(items, rng):
            by_group.setdefault(group_of(s), []).append(s)
        want, taken = int(round(fraction * len(items))), 0
        for members in by_group.values():
            if taken < want:
                part += members
                taken += len(members)
            else:
                rest += members
    return part, rest


def make_split(samples: Iterable[Sample], kind: str = "stratified", seed: int = 0,
               fractions: Sequence[float] = (0.8, 0.1, 0.1), n_per_class: int = 10, folds: int = 5, fold: int = 0,
               val_fraction: float = 0.1) -> Split:
    """One split of ``kind``: ``stratified`` (:func:`stratified_split` with ``fractions``), ``per-class``
    (:func:`per_class_split`, ``n_per_class``) or ``kfold`` (fold ``fold`` of :func:`stratified_group_kfold`
    with ``folds`` folds and ``val_fraction``)."""
    if kind == "stratified":
        return stratified_split(samples, fractions, seed)
    if kind == "per-class":
        return per_class_split(samples, n_per_class, seed)
    if kind != "kfold":
        raise ValueError(f"split must be stratified, per-class or kfold; got {kind!r}")
    if not 0 <= fold < folds:
        raise ValueError(f"fold must be in 0..{folds - 1}, got {fold}")
    return stratified_group_kfold(samples, folds, seed, val_fraction)[fold]


def with_synthetic(split: Split, synthetic: Iterable[Sample]) -> Split:
    """``split`` (e.g. read from a split file) with ``synthetic`` samples added to training under the group rule."""
    real = [s for part in split.parts().values() for s in part if not s.synthetic]
    kept, dropped, reasons = _filter_synthetic(synthetic, split.val + split.test, real)
    return Split(split.train + kept, split.val, split.test, split.dropped + dropped, split.pool,
                 split.reasons + reasons)


def training_on_synthetic_only(split: Split) -> Split:
    """The same split with its real training images moved to the ``pool`` (Mikołajczyk: train on synthetic
    images only; the real training images are what they were made from)."""
    real = [s for s in split.train if not s.synthetic]
    return Split([s for s in split.train if s.synthetic], split.val, split.test, split.dropped,
                 split.pool + real, split.reasons)


# ------------------------------------------------------------------------------------------------ split files
SPLIT_COLUMNS = ("path", "label", "source", "style", "generated", "part")


def write_split_file(path: str | os.PathLike, split: Split) -> None:
    """``split.csv``: one row per sample of every part (:data:`SPLIT_COLUMNS`), written atomically."""
    from .files import write_csv

    write_csv(path, SPLIT_COLUMNS, ([s.path, s.label, s.source, s.style, int(s.generated), part]
                                    for part, samples in split.parts().items() for s in samples))


def read_split_file(path: str | os.PathLike) -> Split:
    """The *real* images of a split file as a :class:`Split` (synthetic rows are left out: a tool that reuses a
    split adds its own synthetic images under the group rule)."""
    by_part = {p: [s for s in read_image_list(path, parts=[p]) if not s.generated] for p in PARTS}
    return Split(by_part["train"], by_part["val"], by_part["test"], pool=by_part["pool"])


def select_parts(samples: Sequence[Sample], split_file: str | os.PathLike, parts: Iterable[str]
                 ) -> tuple[list[Sample], str]:
    """Only what a tool working on ``parts`` of a split may see: ``(kept, one-line summary)``.

    A real sample is kept when the split file puts it in one of ``parts`` (an image the file does not list is
    left out too); a synthetic sample is kept when none of the real images it depends on
    (:attr:`Sample.groups`) is in another part of the file. So ``parts=("train",)`` keeps every validation and
    test image, and everything made from one, away from a generator or a labeller.
    """
    parts = tuple(parts)
    unknown = [p for p in parts if p not in PARTS]
    if unknown:
        raise ValueError(f"unknown split part(s) {unknown}; parts are {', '.join(PARTS)}")
    split = read_split_file(split_file)
    part_of = {group_key(s.path): name for name, items in split.parts().items() for s in items}
    kept, out_real, unlisted, out_synthetic = [], 0, 0, 0
    for s in samples:
        if s.synthetic:
            if any(part_of.get(g, parts[0]) not in parts for g in s.groups):
                out_synthetic += 1
                continue
        else:
            part = part_of.get(group_key(s.path))
            if part not in parts:
                out_real += part is not None
                unlisted += part is None
                continue
        kept.append(s)
    note = f"split file {split_file}, parts {'+'.join(parts)}: kept {len(kept)} of {len(samples)}"
    extra = [f"{out_real} real images in other parts"] * bool(out_real) + \
            [f"{unlisted} not in the split file"] * bool(unlisted) + \
            [f"{out_synthetic} synthetic images made from images of other parts"] * bool(out_synthetic)
    return kept, note + (f" ({', '.join(extra)} left out)" if extra else "")


def check_no_leakage(split: Split) -> None:
    """Raise ``AssertionError`` when a training sample shares a group with a val/test sample."""
    held = {g for s in split.val + split.test for g in s.groups}
    for s in split.train:
        common = held.intersection(s.groups)
        if common:
            raise AssertionError(f"{s.path} in train depends on held-out image(s) {sorted(common)}")
