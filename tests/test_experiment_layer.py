"""The shared experiment layer on real data (../shared/data/isic_uda1, Caltech-101): a fold's split file keeps every
tool away from its validation and test images, one scoring path gives every tool the same probabilities, the
README's Mikołajczyk recipe trains on synthetic images, and DCGAN trains on Cho's 41 images per class."""
from __future__ import annotations

import csv
import json
import shutil

import numpy as np
import pytest

from classify.cli import run_main
from classify.data import read_image_list, read_manifest
from classify.manifest import ManifestWriter, group_key, read_manifest_rows
from classify.splits import read_split_file, select_parts, with_synthetic

NST = ["--weights", "random", "--size", "32", "--steps", "2", "--format", "png", "--batch-size", "4"]
TINY_CYCLEGAN = ["--size", "32", "--load-size", "36", "--gen-filters", "4", "--n-blocks", "1", "--disc-filters", "4",
                 "--pool-size", "3", "--n-epochs", "1", "--n-epochs-decay", "0", "--epochs", "1", "--no-jit-compile",
                 "--n-samples", "2", "--quiet", "--batch-size", "8"]


def _keys(samples) -> set[str]:
    return {group_key(s.path) for s in samples}


@pytest.fixture(scope="module")
def fold(isic_uda1, tmp_path_factory):
    """Fold 0 of 5 on ISIC UDA-1 NV/MEL: the "without" network (small CNN, 32 px, bicubic) and its split file."""
    from classify import train

    root = tmp_path_factory.mktemp("fold0")
    csv_path = isic_uda1 / "ISIC_2019_Training_GroundTruth.csv"
    assert train.main(["--csv", str(csv_path), "--classes", "NV", "MEL", "--split", "kfold",
                                 "--folds", "5", "--fold", "0", "--arch", "small_cnn", "--size", "32",
                                 "--resize-method", "bicubic", "--epochs", "1", "--batch-size", "32",
                                 "--out", str(root / "without"), "--quiet"]) == 0
    split = read_split_file(root / "without" / "split.csv")
    assert split.train and split.val and split.test
    return root, csv_path, split


@pytest.fixture(scope="module")
def nst(fold):
    """NST from fold 0's training part only (content NV, style MEL), as the README recipe's step 2."""
    from nst_aug.generate import main

    root, csv_path, _ = fold
    out = root / "nst"
    assert main(["--csv", str(csv_path), "--content-class", "NV", "--style-class", "MEL", "--pairs", "6",
                 "--split-file", str(root / "without" / "split.csv"), "--part", "train", "--out", str(out),
                 *NST]) == 0
    return out


def test_generation_restricted_to_the_training_part(fold, nst):
    _, _, split = fold
    train, held = _keys(split.train), _keys(split.val + split.test)
    rows = read_manifest_rows(nst)
    assert len(rows) == 6
    for r in rows:
        assert group_key(r["source"]) in train and group_key(r["style"]) in train
        assert group_key(r["source"]) not in held and group_key(r["style"]) not in held
    assert json.loads((nst / "run.json").read_text())["inputs"]["parts"] == ["train"]


def test_pseudo_labelling_never_labels_an_image_made_from_a_test_image(fold, nst, capsys):
    """A row whose content is a test image sits in the manifest; with the fold's split file it stays unlabelled."""
    from nst_aug import pseudo_label

    root, _, split = fold
    leaky = nst / "leaky.png"
    shutil.copy(nst / read_manifest_rows(nst)[0]["output"], leaky)
    from nst_aug.job import EXTRA_COLUMNS

    with ManifestWriter(nst, EXTRA_COLUMNS) as w:
        w.write({"output": "leaky.png", "source": split.test[0].path, "style": split.train[0].path, "method": "nst"})
    assert pseudo_label.main(["--manifest", str(nst), "--model", str(root / "without" / "model.keras"),
                              "--split-file", str(root / "without" / "split.csv"), "--part", "train"]) == 0
    assert '"dropped": 1' in capsys.readouterr().out
    rows = {r["output"]: r for r in read_manifest_rows(nst / "manifest-pseudo.csv")}
    assert rows["leaky.png"]["pseudo_label"] == "" and rows["leaky.png"]["pseudo_score"] == ""
    labelled = [r for r in rows.values() if r["pseudo_label"]]
    assert len(labelled) == 6 and sorted(r["pseudo_label"] for r in labelled) == ["MEL"] * 3 + ["NV"] * 3


def test_one_scoring_path_for_evaluate_prf_and_pseudo_labels(fold, nst, hand_prepared):
    """A bicubic-trained 32 px model: PRF's confidences and the pseudo-labeller's scores are exactly what
    classify.evaluate's scoring gives for the same images; that scoring equals the network on a batch prepared
    here with bicubic resizing, and scoring bilinearly moves the probabilities by a bound measured on hand-prepared
    batches (the old check, any difference > 1e-4, did not tie the numbers to bicubic at all)."""
    import dataclasses

    from classify.data import Sample
    from classify.scoring import load_classifier, predict
    from gan_aug.path_rank_filter import path_rank_filter

    root, _, split = fold
    classifier = load_classifier(root / "without" / "model.keras")
    assert classifier.info.resize_method == "bicubic" and classifier.info.image_size == 32
    assert classifier.info.classes == ("NV", "MEL")  # the order --classes gave at training, recorded
    mel = [s for s in split.train if s.label == "MEL"][:12]
    reference = predict(classifier, mel, progress=False)
    _, ranked, _ = path_rank_filter(classifier, mel, "MEL", 1.0, progress=False)
    by_path = {r.path: r.confidence for r in ranked}
    mel_index = classifier.info.classes.index("MEL")
    np.testing.assert_allclose([by_path[s.path] for s in reference.samples], reference.probs[:, mel_index],
                               atol=1e-6)

    rows = [r for r in read_manifest_rows(nst / "manifest-pseudo.csv") if r["pseudo_label"]]
    images = [Sample(str((nst / r["output"]).resolve()), "") for r in rows]
    scored = predict(classifier, images, progress=False)
    np.testing.assert_allclose([float(r["pseudo_score"]) for r in rows], scored.probs[:, mel_index], atol=1e-5)

    # the recorded bicubic, measured: scoring equals the model on a hand-prepared bicubic batch (TOL: float32
    # noise of one batch through the same network), and scoring bilinearly moves the probabilities by at least
    # what the hand-prepared bilinear batch moves them, less both tolerances; that gap is checked to be far above
    # the tolerance, so a silent fallback to bilinear (gap 0) cannot pass
    tol = 1e-6
    def probs_of(method):
        batch = hand_prepared([s.path for s in reference.samples], 32, method)
        return np.asarray(classifier.model.predict_on_batch(batch), dtype=float)

    hand_bicubic, hand_bilinear = probs_of("bicubic"), probs_of("bilinear")
    np.testing.assert_allclose(reference.probs, hand_bicubic, rtol=0, atol=tol)
    hand_gap = np.abs(hand_bicubic - hand_bilinear).max()
    assert hand_gap > 100 * tol, f"bicubic and bilinear barely differ on these images ({hand_gap:.2e})"
    bilinear = dataclasses.replace(classifier, info=dataclasses.replace(classifier.info, resize_method="bilinear"))
    scored_bilinear = predict(bilinear, mel, progress=False).probs
    np.testing.assert_allclose(scored_bilinear, hand_bilinear, rtol=0, atol=tol)
    assert np.abs(scored_bilinear - reference.probs).max() >= hand_gap - 2 * tol


def test_a_class_order_that_contradicts_the_model_is_refused(fold, capsys):
    from classify import evaluate

    root, _, _ = fold
    assert run_main(evaluate.main, ["--model", str(root / "without" / "model.keras"), "--classes", "MEL", "NV"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("error: classes MEL,NV contradict")


def test_path_rank_filter_ranks_training_images_only(fold, capsys):
    from gan_aug import path_rank_filter as prf

    root, csv_path, split = fold
    out = root / "prf"
    assert prf.main(["--model", str(root / "without" / "model.keras"), "--csv", str(csv_path), "--class", "NV",
                     "--split-file", str(root / "without" / "split.csv"), "--part", "train", "--alpha", "1",
                     "--out", str(out)]) == 0
    kept = read_image_list(out / "selection.csv")
    train_nv = {group_key(s.path) for s in split.train if s.label == "NV"}
    assert kept and _keys(kept) <= train_nv
    assert not _keys(kept) & _keys(split.val + split.test)
    assert "kept" in capsys.readouterr().out


def test_the_readme_mikolajczyk_recipe_trains_on_synthetic_images(fold, nst, capsys):
    """Step 4 of the README recipe (and its one-line k-fold form): synthetic images only, real images validate
    and test; the real training images are the synthesis pool, not trained on."""
    from classify import train

    root, csv_path, split = fold
    with_dir = root / "with"
    assert train.main(["--split-file", str(root / "without" / "split.csv"), "--manifest",
                                 str(nst / "manifest-pseudo.csv"), "--label-column", "pseudo_label",
                                 "--synthetic-only", "--arch", "small_cnn", "--size", "32", "--epochs", "1",
                                 "--out", str(with_dir), "--quiet"]) == 0
    used = list(csv.DictReader(open(with_dir / "split.csv")))
    trained = [r for r in used if r["part"] == "train"]
    assert len(trained) == 6 and all(r["generated"] == "1" for r in trained)
    assert sum(r["part"] == "pool" for r in used) == len(split.train)
    assert {r["path"] for r in used if r["part"] == "test"} == {s.path for s in split.test}
    # the one-line form of the recipe table: k-fold fold 0 of the same data, manifest images only
    assert train.main(["--csv", str(csv_path), "--classes", "NV", "MEL", "--manifest",
                                 str(nst / "manifest-pseudo.csv"), "--label-column", "pseudo_label",
                                 "--split", "kfold", "--folds", "5", "--fold", "0", "--synthetic-only",
                                 "--arch", "small_cnn", "--size", "32", "--epochs", "1", "--out",
                                 str(root / "with_kfold"), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "train 6" in out


def test_cyclegan_on_the_training_part_and_its_outputs_carry_the_dependency(fold, tmp_path):
    """A CycleGAN trained with --split-file … --part train sees no val/test image; what it makes depends on every
    image it saw, so another fold that tests one of them refuses its images."""
    from gan_aug import generate, train

    root, csv_path, split = fold
    run = tmp_path / "nv2mel"
    data = ["--csv", str(csv_path), "--domain-a", "NV", "--domain-b", "MEL",
            "--split-file", str(root / "without" / "split.csv"), "--part", "train"]
    assert train.main(["cyclegan", "--out", str(run), *data, *TINY_CYCLEGAN]) == 0
    seen = {r["path"] for r in csv.DictReader(open(run / "training_images.csv"))}
    assert seen == _keys(split.train)
    assert not seen & _keys(split.val + split.test)
    out = tmp_path / "synth"
    assert generate.main([str(run), "--out", str(out), "--csv", str(csv_path), "--input", "NV",
                          "--split-file", str(root / "without" / "split.csv"), "--part", "train"]) == 0
    synthetic, skipped = read_manifest(out)
    assert not skipped and len(synthetic) == sum(s.label == "NV" for s in split.train)
    assert all(s.label == "MEL" and set(s.groups) >= seen for s in synthetic)
    # usable by the fold it was made for ...
    assert len(with_synthetic(split, synthetic).train) == len(split.train) + len(synthetic)
    # ... and by no other fold: each of those tests some image the CycleGAN trained on
    from classify.data import read_isic_csv
    from classify.splits import stratified_group_kfold

    real, _ = read_isic_csv(csv_path, classes=["NV", "MEL"])
    other = stratified_group_kfold(real + synthetic, 5, 0, 0.1)[1]
    assert not [s for s in other.train if s.synthetic] and len(other.dropped) == len(synthetic)


def test_select_parts_keeps_real_images_of_the_parts_and_clean_synthetic_ones(fold):
    from classify.data import Sample

    root, _, split = fold
    file = root / "without" / "split.csv"
    every = split.train + split.val + split.test
    kept, note = select_parts(every, file, ["train"])
    assert _keys(kept) == _keys(split.train) and "kept" in note
    clean = Sample("/gen/a.png", "MEL", source=split.train[0].path, style=split.train[1].path, generated=True)
    dirty = Sample("/gen/b.png", "MEL", source=split.train[0].path, style=split.test[0].path, generated=True)
    outsider = Sample("/gen/c.png", "MEL", source="/elsewhere/x.jpg", generated=True)
    kept, _ = select_parts([clean, dirty, outsider], file, ["train"])
    assert kept == [clean, outsider]
    with pytest.raises(ValueError, match="unknown split part"):
        select_parts(every, file, ["testing"])


def test_dcgan_trains_on_41_images_with_the_default_batch(caltech101, tmp_path, capsys):
    """Cho: 41 training images per class; DCGAN's default batch of 128 is capped to the 41 (one step per epoch)."""
    from classify.data import read_class_folders
    from classify.splits import per_class_split, write_split_file
    from gan_aug import train

    real, _ = read_class_folders(caltech101, ["butterfly", "scorpion"])
    write_split_file(tmp_path / "split.csv", per_class_split(real, 41, seed=0, n_test=41))
    run = tmp_path / "dcgan"
    assert train.main(["dcgan", "--out", str(run), "--input", str(caltech101 / "butterfly"),
                       "--split-file", str(tmp_path / "split.csv"), "--part", "train", "--size", "32",
                       "--epochs", "1", "--discriminator", "dcgan", "--gen-filters", "4", "--disc-filters", "4",
                       "--max-filters", "8", "--n-samples", "2", "--quiet"]) == 0
    record = json.loads((run / "run.json").read_text())
    assert record["data"]["images"]["images"] == 41 and record["options"]["batch_size"] == 41
    assert record["status"] == "finished" and "fewer than one batch of 128" in capsys.readouterr().out
