"""Mikołajczyk & Grochowski (2018): NST synthesis as regularisation, skin lesions, Table I and Fig. 4.

Stages (each cached in ``OUT``; re-running skips what is finished):

1. **Splitting** (§IV.C): the real NV/MEL images → ``folds`` stratified folds
   (:func:`classify.splits.stratified_group_kfold`). Fold i tests on part i; of the rest ``val_fraction``
   validates and the remainder is fold i's *real training part* — the pool its synthetic images are made from.
2. **Synthesis** (§IV.A, §IV.D): for every fold, NV content × MEL style pairs drawn from that fold's real
   training part, ``python -m nst_aug.generate --preset mikolajczyk2019`` into ``OUT/nst/fold<i>``; the
   per-fold manifests are combined into ``OUT/nst/manifest.csv`` (outputs re-pointed). Drawing pairs inside the
   pool means every image is usable by the fold it was made for (and by any other fold whose val/test holds
   neither of its parents).
3. **Without** (traditional training): each architecture trained on fold i's real training part, validated on
   its val part (early stopping), tested on its test part.
4. **Pseudo-labels** (§IV.B): the "without" network of ``labeller_arch`` in fold i (trained on real data only)
   scores every synthetic image fold i may use; the threshold is the median MEL score, so NV and MEL come out
   equal in size (:mod:`nst_aug.pseudo_label`) → ``OUT/nst/manifest-pseudo-fold<i>.csv``.
5. **With** (§IV.C): each architecture trained on the pseudo-labelled synthetic images only, under the group
   rule (a synthetic image whose content or style image is in fold i's val/test is dropped from fold i),
   validated and tested on the same real images as "without".
6. **Table I, statistics, Fig. 4** (:mod:`nst_aug.reproduce.tables`).

All networks: affine augmentation (rotation, zoom, shear, reflection: ``classify.augment.MIKOLAJCZYK_AUGMENT``),
dropout 0.5 in the heads, early stopping on validation loss with the best weights restored (§V).
"""
from __future__ import annotations

import csv
import os
from pathlib import Path

from classify.data import Sample, read_isic_csv, read_manifest
from classify.manifest import read_manifest_rows
from classify.splits import add_synthetic, check_no_leakage, stratified_group_kfold

from .common import Counter, atomic_write_json, load_done, log, run_generate, train_network
from .profiles import MikolajczykProfile
from . import tables

CLASSES = ("NV", "MEL")   # benign content, malignant style; AUC for MEL (positive index 1)
POSITIVE = 1
CSV_NAME = "ISIC_2019_Training_GroundTruth.csv"


def resolve_data(data: str | os.PathLike | None, profile: MikolajczykProfile) -> Path:
    """The ISIC CSV: ``data`` (a CSV or a folder holding it); default: the embedded sample for ``smoke``, else
    the shared ``isic_uda1`` when present, else the embedded sample (with a notice)."""
    from classify.samples import ISIC_SAMPLE_CSV

    from .common import shared_data_dir

    if data:
        p = Path(data)
        return p if p.is_file() else p / CSV_NAME
    if profile.name != "smoke":
        shared = shared_data_dir()
        if shared and (shared / "isic_uda1" / CSV_NAME).is_file():
            return shared / "isic_uda1" / CSV_NAME
        log("NOTICE: no shared ISIC data found; using the embedded 10-image sample")
    return Path(ISIC_SAMPLE_CSV)


def _cap(real: list[Sample], n: int | None, seed: int) -> list[Sample]:
    if not n or n >= len(real):
        return real
    from classify.splits import stratified_split

    frac = n / len(real)
    return stratified_split(real, (frac, 0.0, 1.0 - frac), seed).train


def combine_manifests(nst_dir: Path, folds: int) -> Path:
    """``nst_dir/manifest.csv`` = the rows of every ``nst_dir/fold<i>/manifest.csv`` with ``output`` re-pointed to
    ``fold<i>/...`` (rewritten atomically, only when its content changes)."""
    rows, header = [], None
    for i in range(folds):
        f = nst_dir / f"fold{i}" / "manifest.csv"
        if not f.is_file():
            continue
        with open(f, newline="", encoding="utf-8") as fh:
            h = next(csv.reader(fh))
        header = header or h
        for r in read_manifest_rows(f):
            if (f.parent / r["output"]).is_file():
                rows.append(dict(r, output=f"fold{i}/{r['output']}"))
    target = nst_dir / "manifest.csv"
    tmp = nst_dir / ".manifest.csv.tmp"
    with open(tmp, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=header or ["output", "source", "style", "label"], extrasaction="ignore")
        w.writeheader()
        w.writerows(rows)
    if target.is_file() and target.read_bytes() == tmp.read_bytes():
        tmp.unlink()
    else:
        os.replace(tmp, target)
    return target


def run(profile: MikolajczykProfile, out: str | os.PathLike, data: str | os.PathLike | None = None) -> dict:
    """Run (or resume) the whole reproduction into ``out``; returns the summary (also ``out/summary.json``)."""
    out = Path(out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    counter = Counter()
    csv_path = resolve_data(data, profile)
    real, skipped = read_isic_csv(csv_path, classes=CLASSES)
    real = _cap(real, profile.max_real, profile.seed)
    log(f"data: {csv_path}: {len(real)} real images "
        f"({sum(s.label == 'NV' for s in real)} NV, {sum(s.label == 'MEL' for s in real)} MEL), "
        f"{len(skipped)} skipped; profile {profile.name}")
    atomic_write_json(out / "profile.json", {"profile": profile.to_dict(), "data": str(csv_path)})
    folds = stratified_group_kfold(real, profile.folds, profile.seed, profile.val_fraction, real_in_train=True)

    # ---- 2. synthesis, per fold from the fold's real training part
    nst_dir = out / "nst"
    for i, split in enumerate(folds):
        nv = [s.path for s in split.train if s.label == "NV"]
        mel = [s.path for s in split.train if s.label == "MEL"]
        argv = ["--content", *nv, "--style", *mel, "--preset", "mikolajczyk2019", "--size", str(profile.nst_size),
                "--weights", profile.nst_weights, "--batch-size", str(profile.nst_batch),
                "--seed", str(profile.seed + i), "--out", str(nst_dir / f"fold{i}")]
        argv += ["--pairs", str(profile.nst_pairs)] if profile.nst_pairs else ["--all-pairs"]
        if profile.nst_steps:
            argv += ["--steps", str(profile.nst_steps)]
        run_generate(argv, counter)
    manifest = combine_manifests(nst_dir, len(folds))
    synthetic = [s for s in read_manifest(manifest) if Path(s.path).is_file()]
    log(f"synthetic images: {len(synthetic)} in {manifest}")

    # ---- 3-5. training, architecture-major so that a partial run fills whole rows of Table I
    archs = list(dict.fromkeys([profile.labeller_arch, *profile.archs]))
    results: dict[tuple[str, str, int], dict] = {}
    pseudo: dict[int, dict] = {}
    common = dict(classes=CLASSES, size=profile.image_size, epochs=profile.epochs, batch_size=profile.batch_size,
                  learning_rate=profile.learning_rate, patience=profile.patience, augment=profile.augment,
                  seed=profile.seed, counter=counter, positive=POSITIVE)

    def weights(arch: str) -> str:
        return profile.densenet_weights if arch in ("densenet121", "resnet50") else "random"

    for arch in archs:
        for i, split in enumerate(folds):
            run_dir = out / "runs" / arch / f"fold{i}"
            is_labeller = arch == profile.labeller_arch
            need_model = is_labeller and load_done(out / "pseudo" / f"fold{i}") is None
            res = train_network(run_dir / "without", split.train, split.val, split.test, arch=arch,
                                weights=weights(arch), save_model=need_model,
                                title=f"{arch} fold {i} without", **common)
            if arch in profile.archs:
                results[(arch, "without", i)] = res
            if is_labeller:
                pseudo[i] = _pseudo_label(out, i, split, synthetic, run_dir / "without", profile)
            labelled = _labelled_for_fold(out, i, split)
            if arch not in profile.archs:
                continue
            if not labelled:
                log(f"fold {i}: no synthetic image may train (all depend on held-out images): 'with' skipped")
                continue
            train = labelled
            check_no_leakage(type(split)(train, split.val, split.test))
            results[(arch, "with", i)] = train_network(
                run_dir / "with", train, split.val, split.test, arch=arch, weights=weights(arch),
                title=f"{arch} fold {i} with", **common)
            files = tables.write_mikolajczyk(out, profile, results, len(folds), pseudo)
    files = tables.write_mikolajczyk(out, profile, results, len(folds), pseudo)
    summary = {"out": str(out), "profile": profile.name, "data": str(csv_path), "real": len(real),
               "synthetic": len(synthetic), "work": counter.to_dict(), "files": {k: str(v) for k, v in files.items()},
               "pseudo_labels": pseudo}
    atomic_write_json(out / "summary.json", summary)
    log(f"table: {files['markdown']}")
    return summary


def _pseudo_label(out: Path, fold: int, split, synthetic: list[Sample], labeller_dir: Path,
                  profile: MikolajczykProfile) -> dict:
    """Pseudo-label the synthetic images fold ``fold`` may use with the fold's labeller (cached)."""
    stage = out / "pseudo" / f"fold{fold}"
    done = load_done(stage)
    name = f"manifest-pseudo-fold{fold}.csv"
    if done is not None and (out / "nst" / name).is_file():
        return done
    allowed, dropped = add_synthetic([], synthetic, split.val + split.test)
    nst_dir = out / "nst"
    outputs = [os.path.relpath(s.path, nst_dir) for s in allowed]
    if not outputs:
        summary = {"manifest": None, "n": 0, "dropped": len(dropped), "threshold": None, "counts": {}}
    else:
        import keras

        from classify.models import load_classifier
        from nst_aug.pseudo_label import pseudo_label_manifest

        model = load_classifier(labeller_dir / "model.keras")
        summary = pseudo_label_manifest(nst_dir / "manifest.csv", model, CLASSES, profile.image_size, POSITIVE,
                                        outputs=outputs, name=name)
        summary["dropped"] = len(dropped)
        keras.backend.clear_session()
    summary["labeller"] = f"{profile.labeller_arch} 'without' network of fold {fold}"
    log(f"fold {fold}: pseudo-labelled {summary['n']} synthetic images (threshold = median MEL score "
        f"{summary['threshold']}), counts {summary['counts']}; {len(dropped)} dropped by the group rule")
    atomic_write_json(stage / "done.json", summary)
    return summary


def _labelled_for_fold(out: Path, fold: int, split) -> list[Sample]:
    f = out / "nst" / f"manifest-pseudo-fold{fold}.csv"
    if not f.is_file():
        return []
    samples = [s for s in read_manifest(f, label_column="pseudo_label") if s.label and Path(s.path).is_file()]
    kept, _ = add_synthetic([], samples, split.val + split.test)  # the group rule, enforced again
    return kept
