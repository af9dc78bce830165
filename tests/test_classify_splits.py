"""classify.splits: stratified, deterministic, and the group rule (no synthetic image of a held-out real image in
training) on a synthetic manifest built here."""
from __future__ import annotations

from collections import Counter

import pytest

from classify.data import Sample, class_counts, read_manifest
from classify.manifest import ManifestWriter, group_key
from classify.splits import (add_synthetic, check_no_leakage, per_class_split, stratified_group_kfold,
                             stratified_split)


def _real(n_a: int = 50, n_b: int = 20) -> list[Sample]:
    return [Sample(f"/data/a/{i:03d}.jpg", "A") for i in range(n_a)] + \
           [Sample(f"/data/b/{i:03d}.jpg", "B") for i in range(n_b)]


def test_stratified_80_10_10_proportions_and_determinism():
    samples = _real(100, 30)
    split = stratified_split(samples, (0.8, 0.1, 0.1), seed=3)
    assert class_counts(split.train) == {"A": 80, "B": 24}
    assert class_counts(split.val) == {"A": 10, "B": 3} and class_counts(split.test) == {"A": 10, "B": 3}
    paths = [s.path for part in (split.train, split.val, split.test) for s in part]
    assert sorted(paths) == sorted(s.path for s in samples)  # a partition
    again = stratified_split(list(reversed(samples)), (0.8, 0.1, 0.1), seed=3)  # input order does not matter
    assert again.test == split.test and again.val == split.val
    other = stratified_split(samples, (0.8, 0.1, 0.1), seed=4)
    assert {s.path for s in other.test} != {s.path for s in split.test}


def test_stratified_small_class_gets_every_part():
    split = stratified_split(_real(6, 4), (0.8, 0.1, 0.1), seed=0)
    for part in (split.train, split.val, split.test):
        assert set(class_counts(part)) == {"A", "B"}


def test_per_class_split_gauld_and_errors():
    split = per_class_split(_real(73, 91), 10, seed=1)
    assert class_counts(split.train) == {"A": 10, "B": 10}
    assert class_counts(split.test) == {"A": 63, "B": 81} and split.val == []
    assert per_class_split(_real(73, 91), 10, seed=1).train == split.train
    assert class_counts(per_class_split(_real(90, 90), 41, n_test=41).test) == {"A": 41, "B": 41}
    with pytest.raises(ValueError, match="need more than 10"):
        per_class_split(_real(10, 30), 10)


def _synthetic_manifest(tmp_path, real: list[Sample]) -> list[Sample]:
    """One NST image per (content a_i, style b_{i mod nb}) pair, and one noise-GAN image, via the real writer."""
    out = tmp_path / "gen"
    b = [s for s in real if s.label == "B"]
    with ManifestWriter(out) as w:
        for i, s in enumerate(x for x in real if x.label == "A"):
            w.write({"output": f"nst/{i}.png", "source": s.path, "style": b[i % len(b)].path, "label": "B",
                     "method": "nst"})
        w.write({"output": "gan/0.png", "label": "A", "method": "dcgan"})
    for folder, names in (("nst", [f"{i}.png" for i in range(len(real) - len(b))]), ("gan", ["0.png"])):
        (out / folder).mkdir(parents=True, exist_ok=True)
        for name in names:
            (out / folder / name).write_bytes(b"")  # the rule looks at paths only; readers want the file to exist
    samples, skipped = read_manifest(out)
    assert not skipped
    return samples


def test_group_rule_kfold_on_a_synthetic_manifest(tmp_path):
    real = _real(50, 20)
    synthetic = _synthetic_manifest(tmp_path, real)
    assert len(synthetic) == 51 and all(s.synthetic for s in synthetic)
    folds = stratified_group_kfold(real + synthetic, k=5, seed=0, val_fraction=0.2)
    tests = [s.path for f in folds for s in f.test]
    assert sorted(tests) == sorted(s.path for s in real)  # disjoint test parts cover every real image once
    for f in folds:
        assert class_counts(f.test) == {"A": 10, "B": 4}  # stratified
        assert not any(s.synthetic for s in f.val + f.test)  # synthetic images never validate or test
        check_no_leakage(f)
        held = {g for s in f.val + f.test for g in s.groups}
        for s in f.train:
            assert not held.intersection(s.groups)
        kept = [s for s in f.train if s.synthetic]
        # every synthetic image is either in train or dropped, and dropped only for a reason
        assert len(kept) + len(f.dropped) == len(synthetic)
        assert all(held.intersection(s.groups) for s in f.dropped)
        assert any(s.path.endswith("gan/0.png") for s in kept)  # no source/style: nothing to leak
    assert stratified_group_kfold(real + synthetic, k=5, seed=0, val_fraction=0.2)[2].test == folds[2].test


def test_group_rule_stratified_split(tmp_path):
    real = _real(50, 20)
    synthetic = _synthetic_manifest(tmp_path, real)
    split = stratified_split(real + synthetic, seed=1)
    check_no_leakage(split)
    assert split.dropped and all(s.synthetic for s in split.dropped)
    # a synthetic image whose content AND style are both training images is kept
    train_groups = {group_key(s.path) for s in split.train if not s.synthetic}
    for s in synthetic:
        if s.groups and set(s.groups) <= train_groups:
            assert s in split.train


def test_mikolajczyk_synthetic_only_training(tmp_path):
    real = _real(50, 20)
    synthetic = [Sample(f"/gen/{i}.png", "A", source=f"/other/{i}.jpg") for i in range(30)]
    folds = stratified_group_kfold(real + synthetic, k=5, val_fraction=1.0, real_in_train=False)
    for f in folds:
        assert f.train == synthetic and len(f.val) == 56 and len(f.test) == 14


def test_add_synthetic_and_leakage_check():
    real = _real(4, 4)
    leaky = Sample("/gen/x.png", "A", source=real[0].path)
    train, dropped = add_synthetic(real[1:], [leaky], held_out=[real[0]])
    assert dropped == [leaky] and leaky not in train
    from classify.splits import Split
    with pytest.raises(AssertionError, match="depends on held-out"):
        check_no_leakage(Split(real[1:] + [leaky], [], [real[0]]))
    assert Counter(len(f.test) for f in stratified_group_kfold(_real(10, 5), k=5)) == Counter({3: 5})


def test_kfold_keeps_a_lesion_together_with_group_of():
    """HAM10000 has several images of one lesion: grouped by lesion, no lesion is on both sides of any fold."""
    real = [Sample(f"/data/{c}/{i:03d}.jpg", c) for c in ("A", "B") for i in range(40)]
    lesion = {s.path: f"{s.label}{int(s.path[-7:-4]) // 3}" for s in real}   # 3 images per lesion
    folds = stratified_group_kfold(real, k=4, seed=1, val_fraction=0.25, group_of=lambda s: lesion[s.path])
    for f in folds:
        held = {lesion[s.path] for s in f.test}
        assert not held & {lesion[s.path] for s in f.train + f.val}
        assert not {lesion[s.path] for s in f.val} & {lesion[s.path] for s in f.train}
        assert 8 <= class_counts(f.test)["A"] <= 12       # stratified to within a lesion
    assert sorted(s.path for f in folds for s in f.test) == sorted(s.path for s in real)


def test_a_synthetic_row_that_is_a_real_image_is_dropped():
    """A manifest row whose image *is* one of the dataset's real images never trains (it would carry the manifest's
    label while the same file is validated or tested)."""
    real = _real(10, 10)
    smuggled = Sample(real[0].path, "B", generated=True)
    split = stratified_split(real + [smuggled], seed=0)
    assert smuggled in split.dropped and smuggled not in split.train
    assert "is a real image of the dataset" in split.reasons[0]


def test_kfold_with_the_papers_counts():
    """Mikołajczyk §V's counts instead of fractions: each fold tests on ``test_count`` images of its k-fold part
    (class proportions kept, within one image per class of the count), validates on ``val_count`` of the rest,
    trains on what is left; the parts stay disjoint and cover every real image; bad counts raise."""
    real = _real(150, 50)  # k=5: k-fold parts of 40 (30 A + 10 B)
    folds = stratified_group_kfold(real, k=5, seed=2, test_count=20, val_count=60)
    tests = set()
    for f in folds:
        assert class_counts(f.test) == {"A": 15, "B": 5}          # 20 of 40, stratified
        assert class_counts(f.val) == {"A": 45, "B": 15}          # 60 of the other 180
        assert len(f.train) == 200 - 20 - 60
        parts = [s.path for part in (f.train, f.val, f.test) for s in part]
        assert sorted(parts) == sorted(s.path for s in real)       # a partition of the real images
        tests |= {s.path for s in f.test}
    assert len(tests) == 100                                       # the five test samples are disjoint
    plain = stratified_group_kfold(real, k=5, seed=2)
    assert all({s.path for s in f.test} <= {s.path for s in p.test} for f, p in zip(folds, plain))
    with pytest.raises(ValueError, match="test_count"):
        stratified_group_kfold(real, k=5, test_count=41)
    with pytest.raises(ValueError, match="val_count"):
        stratified_group_kfold(real, k=5, val_count=0)
