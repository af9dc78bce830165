"""Cho (2021) §III, Table I: does adding DCGAN images that fool the discriminator help a small VGG16 classifier?

Design (Cho §III): two classes, 41 training and 41 test images each; the VGG16 variant adapted to 256 px
(``classify`` architecture ``cho_vgg16``), SGD lr 0.005, 50 epochs; one DCGAN per class (125-d uniform noise →
256×256×3, ResNet18 discriminator, Table II) trained on that class's 41 training images; the generated images
"that discriminator is fooled by" (D(G(z)) > 0.5) added to training (Cho: 40 cow, 58 horse); the classifier
retrained; per-class and overall accuracy before and after (Table I). Cho's cow/horse images are not available
offline: Caltech-101 butterfly and scorpion stand in (91 and 84 images allow 41 + 41).

Stages in ``OUT`` (each resumes by itself): ``split.csv``; ``runs/before``; ``gans/<class>`` (a
:func:`gan_aug.training.train` run on the class's *training* images only, through the split file);
``generated/<class>`` (:func:`gan_aug.generate.generate_images`) with ``fooled.csv`` (every image's D(x) and
whether it is kept, :func:`gan_aug.generate.keep_fooling`); ``runs/after``; ``quality.json`` (FD/KID/precision/
recall per class, GAN-train/GAN-test over both, :mod:`gan_aug.quality`); then ``cho_table.md/.csv``,
``cho_accuracy.png`` and ``cho_generated.png`` (kept vs rejected images per class).
"""
from __future__ import annotations

import os
from pathlib import Path

from classify.experiment import TrainSpec, train_and_evaluate
from classify.files import write_csv, write_json
from classify.splits import Split, check_no_leakage, per_class_split, write_split_file

from .common import Counter, caltech_data, gan_quality, generated, log
from .profiles import ChoProfile

#: Cho Table I (accuracy, %): his classes cow and horse; ours take their places in order.
CHO_TABLE_I = {"before": {"network": 74.39, "classes": (85.366, 63.415)},
               "after": {"network": 100.0, "classes": (100.0, 100.0)},
               "added": (40, 58)}


def train_spec(profile: ChoProfile) -> TrainSpec:
    """Cho §III's classifier: ``cho_vgg16``, SGD lr 0.005, a fixed number of epochs (no early stopping)."""
    return TrainSpec(arch="cho_vgg16", size=profile.clf_size, optimizer="sgd", lr=profile.clf_lr,
                     epochs=profile.clf_epochs, batch_size=profile.clf_batch, patience=0, seed=profile.seed)


def dcgan_options(profile: ChoProfile, label: str):
    from gan_aug.options import DCGANOptions

    return DCGANOptions(size=profile.dcgan_size, epochs=profile.dcgan_epochs, gen_filters=profile.dcgan_filters,
                        disc_filters=profile.dcgan_filters, discriminator=profile.discriminator, label=label,
                        seed=profile.seed, save_every=max(1, profile.dcgan_epochs // 10), n_samples=8)


def run(profile: ChoProfile, out: str | os.PathLike, data=None, progress: bool = False) -> dict:
    """Run (or resume) Cho's experiment into ``out``; ``progress`` shows the stages' progress bars (classifier
    epochs and scoring, GAN data loading and epochs, generation)."""
    from gan_aug.data import DataSpec, load_data
    from gan_aug.generate import generate_images, keep_fooling
    from gan_aug.kinds import get_kind
    from gan_aug.training import train_or_resume

    out = Path(out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    counter = Counter()
    real, root = caltech_data(data, profile, out)
    classes = list(profile.classes)
    split = per_class_split(real, profile.n_train, seed=profile.seed, n_test=profile.n_test)
    write_split_file(out / "split.csv", split)
    write_json(out / "profile.json", {"profile": profile.to_dict(), "data": root})
    log(f"data: {root}: train {len(split.train)}, test {len(split.test)}; profile {profile.name}")
    spec = train_spec(profile)
    before = train_and_evaluate(spec, Split(split.train, [], split.test), classes, out / "runs" / "before",
                                title="before augmentation", save_model=False, overwrite=True,
                                verbose="auto" if progress else 0)
    counter.network(before)
    log(f"before: accuracy {before.metrics['accuracy']:.3f}")
    added, all_generated, fooled_rows, made, per_class_quality = [], [], [], {}, {}
    for c in classes:
        opts = dcgan_options(profile, c)
        gan_data = load_data(get_kind("dcgan"), opts, DataSpec(input=str(Path(root) / c),
                                                               split_file=str(out / "split.csv"),
                                                               parts=("train",)), progress=progress,
                             cache=out / "gans" / "data")
        _, cached = train_or_resume("dcgan", opts, out / "gans" / c, gan_data, verbose=1 if progress else 2)
        counter.gan(cached)
        log(f"{'cached' if cached else 'trained'} DCGAN {c} ({len(gan_data['images'])} training images)")
        summary = generate_images(out / "gans" / c, out / "generated" / c, per_class=profile.generate,
                                  progress=progress)
        counter.generation(summary)
        images = generated(out / "generated" / c)
        all_generated += images
        kept, scores = keep_fooling(out / "gans" / c, images, profile.threshold)
        if profile.max_added is not None:
            kept = kept[:profile.max_added]
        keep = {s.path for s in kept}
        fooled_rows += [[s.path, c, f"{d:.4f}", int(s.path in keep)] for s, d in zip(images, scores)]
        made[c] = {"generated": len(images), "kept": len(kept), "mean_d": float(sum(scores) / max(1, len(scores)))}
        added += kept
        log(f"{c}: {len(kept)} of {len(images)} generated images fool the discriminator (D > {profile.threshold})")
        per_class_quality[c] = gan_quality(profile, [s for s in split.train if s.label == c], images,
                                           progress=progress)
    write_csv(out / "generated" / "fooled.csv", ["path", "label", "d_real", "kept"], fooled_rows)
    after_split = Split(split.train + added, [], split.test)
    check_no_leakage(after_split)
    if added:
        after = train_and_evaluate(spec, after_split, classes, out / "runs" / "after", title="after augmentation",
                                   save_model=False, overwrite=True, verbose="auto" if progress else 0)
        counter.network(after)
        log(f"after: accuracy {after.metrics['accuracy']:.3f} (+{len(added)} generated images)")
    else:  # the same training set and seed: retraining would only repeat 'before'
        after = before
        log("after: no generated image fooled its discriminator, nothing to add: 'after' is the 'before' network")
    quality = {"per_class": per_class_quality,
               "overall": gan_quality(profile, split.train, all_generated, split.test, progress=progress)}
    write_json(out / "quality.json", quality)
    files = write_table(out, profile, classes, before, after, made, quality)
    plot_generated(out / "cho_generated.png", out / "generated" / "fooled.csv", classes, profile.name)
    summary = {"out": str(out), "profile": profile.name, "data": root, "before": before.metrics["accuracy"],
               "after": after.metrics["accuracy"], "added": {c: made[c]["kept"] for c in classes},
               "work": counter.to_dict(), "files": {k: str(v) for k, v in files.items()}}
    write_json(out / "summary.json", summary)
    log(f"table: {files['markdown']}")
    return summary


def _accuracies(result, classes) -> list[float]:
    """Overall accuracy, then each class's accuracy (its recall: the share of its test images labelled right)."""
    m = result.metrics
    return [100 * m["accuracy"]] + [100 * m["per_class"][c]["recall"] for c in classes]


def write_table(out: Path, profile: ChoProfile, classes, before, after, made: dict, quality: dict) -> dict:
    from classify.tables import markdown_table, report_header, too_small, write_markdown, write_table_csv

    ours_b, ours_a = _accuracies(before, classes), _accuracies(after, classes)
    cho_b = [CHO_TABLE_I["before"]["network"], *CHO_TABLE_I["before"]["classes"]]
    cho_a = [CHO_TABLE_I["after"]["network"], *CHO_TABLE_I["after"]["classes"]]
    names = ["Network"] + [f"{c} (Cho: {'cow' if i == 0 else 'horse'})" for i, c in enumerate(classes)]
    rows = [[n, b, a, a - b, cb, ca] for n, b, a, cb, ca in zip(names, ours_b, ours_a, cho_b, cho_a)]
    rows.append(["images added", "", " / ".join(str(made[c]["kept"]) for c in classes), "",
                 "", " / ".join(str(x) for x in CHO_TABLE_I["added"])])
    small = too_small(n_train=len(classes) * profile.n_train, n_test=before.n_test)
    extra = [f"> Too small to show an effect: {'; '.join(small)}."] if small else []
    empty = cannot_answer(before, made, classes)
    extra += [f"> **Cannot answer Cho's question:** {'; '.join(empty)}."] if empty else []
    lines = report_header("Cho (2021) Table I: classification accuracy (%) before / after DCGAN augmentation",
                          profile.name, profile.departures, extra)
    lines += markdown_table(["accuracy (%)", "ours before", "ours after", "ours Δ", "Cho before", "Cho after"],
                            rows, digits=1)
    q = quality["overall"]
    names_q = q.get("names", {})
    lines += ["", "GAN quality (generated vs the class's real training images; features: "
              f"{q.get('features', '?')}):", ""]
    qrows = []
    for c in classes:
        pq = quality["per_class"][c]
        qrows.append([c, pq["fd"], pq["kid_mean"], pq["precision"], pq["recall"],
                      f"{made[c]['kept']}/{made[c]['generated']}", made[c]["mean_d"]])
    lines += markdown_table(["class", names_q.get("fd", "FD"), names_q.get("kid", "KID"), "precision", "recall",
                             "kept/generated", "mean D(G(z))"], qrows)
    lines += ["", f"GAN-train (probe trained on generated, tested on real test): {_pct(q.get('gan_train'))}; "
                  f"GAN-test (probe trained on real, tested on generated): {_pct(q.get('gan_test'))}; "
                  f"the same probe trained and tested on real: {_pct(q.get('real_baseline'))}.", "",
              *([f"What this shows: nothing about Cho's claim ({'; '.join(empty)}). "] if empty else []),
              "What this measures: whether DCGAN images that fool their discriminator change the accuracy of Cho's "
              f"classifier on {before.n_test} real test images. Cho's 100 % after augmentation came from one run on "
              "41 + 41 test images; a single run of ours differs from it by noise of about one image "
              f"({100 / max(1, before.n_test):.1f} points) per test image, and a low GAN-test or a large FD says "
              "the added images are not like the class's real ones."]
    md = write_markdown(out / "cho_table.md", lines)
    csv = write_table_csv(out / "cho_table.csv", ["row", "ours_before", "ours_after", "ours_delta", "cho_before",
                                                  "cho_after"], rows, profile.name)
    fig = plot_accuracy(out / "cho_accuracy.png", names, ours_b, ours_a, cho_b, cho_a, profile.name)
    return {"markdown": md, "csv": csv, "figure": fig}


def cannot_answer(before, made: dict, classes) -> list[str]:
    """Why a run cannot say whether the added images help: a 'before' network no better than always answering
    the majority class (one-sided binomial p ≥ 0.05, :func:`classify.stats.chance_p`), or no image added."""
    from classify.stats import chance_p

    reasons = []
    if before.y_true and before.probs:
        predicted = [max(range(len(p)), key=p.__getitem__) for p in before.probs]
        p = chance_p(before.y_true, predicted)
        if p >= 0.05:
            reasons.append(f"the 'before' network ({100 * before.metrics['accuracy']:.1f} %) is no better than "
                           f"chance on {before.n_test} test images (one-sided binomial p = {p:.2f})")
    if not any(made[c]["kept"] for c in classes):
        reasons.append("no generated image fooled its discriminator, so nothing was added and 'after' is the "
                       "'before' network")
    return reasons


def _pct(x) -> str:
    return "–" if x is None else f"{100 * x:.1f} %"


def plot_accuracy(path: Path, names, ours_b, ours_a, cho_b, cho_a, profile: str) -> Path:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    from classify.files import save_figure
    from classify.tables import mark_smoke

    x = np.arange(len(names))
    fig, ax = plt.subplots(figsize=(7, 4))
    for i, (vals, lab, col, hatch) in enumerate(((ours_b, "ours before", "#7fa7d1", ""),
                                                  (ours_a, "ours after", "#1f5fa8", ""),
                                                  (cho_b, "Cho before", "#f2b880", "//"),
                                                  (cho_a, "Cho after", "#d9822b", "//"))):
        ax.bar(x + (i - 1.5) * 0.2, vals, 0.2, label=lab, color=col, hatch=hatch)
    ax.set_xticks(x, names, fontsize=8)
    ax.set_ylabel("accuracy (%)")
    ax.set_ylim(0, 105)
    ax.legend(fontsize=8, ncol=2, loc="lower right")
    ax.set_title("Cho Table I: before / after DCGAN augmentation")
    fig.tight_layout()
    mark_smoke(fig, profile)
    return save_figure(fig, path)


def plot_generated(path: Path, fooled_csv: Path, classes, profile: str, n: int = 6) -> Path:
    """Per class, ``n`` generated images kept (they fool D) and ``n`` rejected, each with its D(x)."""
    import csv

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from PIL import Image

    from classify.files import save_figure
    from classify.tables import mark_smoke

    with open(fooled_csv, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    fig, axes = plt.subplots(2 * len(classes), n, figsize=(1.6 * n, 1.8 * 2 * len(classes)), squeeze=False)
    for ci, c in enumerate(classes):
        for k, kept in enumerate(("1", "0")):
            chosen = [r for r in rows if r["label"] == c and r["kept"] == kept][:n]
            for j in range(n):
                ax = axes[2 * ci + k][j]
                ax.axis("off")
                if j < len(chosen):
                    ax.imshow(Image.open(chosen[j]["path"]).convert("RGB"))
                    ax.set_title(f"D={float(chosen[j]['d_real']):.2f}", fontsize=7)
            total = sum(r["label"] == c and r["kept"] == kept for r in rows)
            axes[2 * ci + k][0].text(-0.1, 0.5, f"{c}\n{'kept' if kept == '1' else 'rejected'}\n({total})",
                                     fontsize=8, ha="right", va="center", transform=axes[2 * ci + k][0].transAxes)
            if not chosen:
                axes[2 * ci + k][0].text(0.05, 0.5, "none", fontsize=9, color="0.4", va="center",
                                         transform=axes[2 * ci + k][0].transAxes)
    fig.suptitle("DCGAN images kept (D(G(z)) > 0.5) and rejected", fontsize=10)
    fig.tight_layout()
    mark_smoke(fig, profile)
    return save_figure(fig, path)
