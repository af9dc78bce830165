"""Train and evaluate one network from a typed spec, into a run folder: what every tool and driver calls.

:class:`TrainSpec` holds every choice that changes the result (architecture, input, augmentation, optimiser and
schedule, epochs, seed); :func:`train_and_evaluate` applies it to a :class:`~classify.splits.Split` and writes
``OUT/``:

- ``run.json``   the spec (non-defaults listed), classes, weights used, split sizes, library versions, the
                 caller's record (data, command) and the run's fingerprint
- ``split.csv``  every image of every part (:func:`classify.splits.write_split_file`)
- ``history.csv`` (Keras ``CSVLogger``), ``model.keras`` (with its :class:`~classify.scoring.ClassifierInfo`)
- ``report.md``, ``report.json``, ``roc.png``, ``confusion_matrix.png``, ``learning_curves.png``
  (:mod:`classify.report`) on the test part (the validation part when there is no test part)
- ``result.json`` written last: metrics, labels and probabilities of the evaluated images

The fingerprint hashes the spec, the classes and every (part, path, label) of the split. Calling again with the
same fingerprint returns the finished result without training (``RunResult.cached``): drivers resume by just
calling again. A folder holding a different run is refused unless ``overwrite``, which removes only the files
the run wrote (:func:`remove_run`).

Trainers (:data:`classify.models.TRAINERS`): ``fit`` — ``model.fit`` with early stopping on the validation loss
(best weights restored), Adam or SGD, fastai's LR finder and 1cycle, freeze-then-unfreeze, class weights
(:mod:`classify.training`); ``logistic_regression`` — frozen features computed once (cached per image when
``feature_cache`` is given) and scikit-learn's ``LogisticRegression`` on their standardisation, folded into the
model's last layer (:func:`classify.models.set_logistic_head`).
"""
from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Sequence

import numpy as np

from .data import Sample
from .files import read_json, remove_files, write_json
from .splits import Split, write_split_file

if TYPE_CHECKING:
    from .augment import AffineAugment

#: What a run writes into its folder, in :func:`classify.files.matching_files`' notation (``overwrite`` removes
#: these and nothing else; Gauld's static copies in ``static/`` go by their own manifest, :func:`remove_run`).
RUN_FILES = ("run.json", "split.csv", "history.csv", "model.keras", "report.md", "report.json", "roc.png",
             "confusion_matrix.png", "learning_curves.png", "lr_find.png", "result.json",
             "tensorboard/train/events.out.tfevents.*", "tensorboard/validation/events.out.tfevents.*")
RESULT_NAME = "result.json"


class ExistingRunError(ValueError):
    """The output folder holds a different run (one line: what to do)."""


@dataclass(frozen=True)
class TrainSpec:
    """Every setting that changes what a network learns. Defaults are ``classify.train``'s."""

    arch: str = "small_cnn"                 # classify.models.ARCHITECTURES
    size: int | None = None                 # input side in px; None = the architecture's (224; cho_vgg16 256)
    resize_method: str = "bilinear"         # classify.pipeline.RESIZE_METHODS (thesis §5.2: bicubic)
    fit: str = "crop"                       # "crop" (shorter side, centre square) or "squash"
    weights: str = "auto"                   # pretrained architectures: auto | imagenet | random | FILE
    dropout: float | None = None            # None = the architecture's
    fc_units: int | None = None             # VGG heads; None = 256 (Cho 4096)
    augment: AffineAugment | None = None    # online affine augmentation (classify.augment)
    static_copies: int = 0                  # Gauld: translated + rotated copies per real training image
    epochs: int = 2
    batch_size: int = 16
    optimizer: str = "adam"                 # "adam", "adamw" (fastai's Adam, thesis) or "sgd"
    lr: float | None = None                 # None = adam 1e-3, sgd 0.005 (Cho); with lr_find + 1cycle: found
    momentum: float | None = None
    weight_decay: float | None = None       # adamw: None = fastai's 1e-2
    head: str = "default"                   # pretrained backbones: "default" or "fastai" (classify.models)
    train_bn: bool = False                  # frozen backbone keeps BatchNorm trainable (fastai train_bn)
    lr_spread: float = 1.0                  # after unfreezing: slice(top/lr_spread, top) over fastai's groups
    one_cycle: bool = False                 # fastai 1cycle + cyclic momentum (thesis)
    lr_find: bool = False                   # fastai LR finder first (its suggestion is max_lr with 1cycle)
    freeze_epochs: int = 0                  # epochs with the backbone frozen first (implies 1cycle)
    class_weight: str = "none"              # "none" or "balanced"
    patience: int = 10                      # early stopping on val_loss; 0 = off
    seed: int = 0
    distribute: str = "none"                # tf.distribute: none | mirrored (local GPUs) | multiworker
    l2_c: float = 1.0                       # logistic regression: inverse L2 strength (sklearn's default)
    max_iter: int = 1000                    # logistic regression: L-BFGS iterations

    def __post_init__(self) -> None:
        from .choices import ARCHITECTURES, DISTRIBUTE, HEADS, OPTIMIZERS, RESIZE_METHODS, SIZE_RANGE

        choices = {"arch": (self.arch, ARCHITECTURES), "resize_method": (self.resize_method, RESIZE_METHODS),
                   "distribute": (self.distribute, DISTRIBUTE),
                   "fit": (self.fit, ("crop", "squash")), "optimizer": (self.optimizer, OPTIMIZERS),
                   "head": (self.head, HEADS),
                   "class_weight": (self.class_weight, ("none", "balanced"))}
        for name, (value, allowed) in choices.items():
            if value not in allowed:
                raise ValueError(f"{name} must be one of {', '.join(allowed)}; got {value!r}")
        for name in ("epochs", "batch_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.size is not None and not SIZE_RANGE[0] <= self.size <= SIZE_RANGE[1]:
            raise ValueError(f"size must be within {SIZE_RANGE[0]}..{SIZE_RANGE[1]} px, got {self.size}")
        if not 0 <= self.freeze_epochs <= self.epochs:
            raise ValueError(f"freeze_epochs must be in 0..epochs ({self.epochs}), got {self.freeze_epochs}")
        if self.static_copies < 0 or self.patience < 0:
            raise ValueError("static_copies and patience must be >= 0")
        if self.lr_spread < 1:
            raise ValueError(f"lr_spread must be >= 1, got {self.lr_spread}")
        if self.lr_spread != 1 and self.optimizer != "adamw":
            raise ValueError("lr_spread (discriminative learning rates) needs optimizer 'adamw'")

    @property
    def image_size(self) -> int:
        from .choices import DEFAULT_SIZES

        return self.size or DEFAULT_SIZES.get(self.arch, 224)

    @property
    def trainer(self) -> str:
        from .models import TRAINERS

        return TRAINERS.get(self.arch, "fit")

    @property
    def learning_rate(self) -> float:
        return self.lr if self.lr is not None else (0.005 if self.optimizer == "sgd" else 1e-3)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def changed(self) -> dict[str, Any]:
        """The fields that differ from the defaults."""
        default = TrainSpec()
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)
                if f.name != "arch" and getattr(self, f.name) != getattr(default, f.name)}


def fastai_spec(arch: str = "resnet50", **changes) -> TrainSpec:
    """The thesis's classifier (§5: fastai v1 ``cnn_learner(data, models.resnet50)``, ``lr_find``,
    ``fit_one_cycle`` with the body frozen, then ``unfreeze`` and ``fit_one_cycle`` again), as a spec.

    Sources (fastai v1): ``basic_train.py`` — Adam with betas (0.9, 0.99), true weight decay 1e-2
    (``optimizer="adamw"``), ``train_bn=True``; ``vision/learner.py`` — ``create_head`` (``head="fastai"``),
    the body frozen at creation (so ``lr_find`` runs on the frozen model), the split into layer groups;
    ``train.py`` — ``lr_find`` defaults and ``fit_one_cycle``'s (:mod:`classify.training`); ``slice(lr/1000,
    lr/10)`` after unfreezing (``lr_spread=100``, head at lr/10) is the fastai course's lesson-1 pattern — the
    thesis gives no rates. §5.2.1 resizes bicubically. ``changes`` override any field (epochs, freeze_epochs, …).
    """
    recipe = dict(arch=arch, head="fastai", optimizer="adamw", lr_find=True, one_cycle=True, train_bn=True,
                  lr_spread=100.0, resize_method="bicubic", freeze_epochs=1, epochs=2, patience=0)
    recipe.update(changes)
    return TrainSpec(**recipe)


@dataclass
class RunResult:
    """What one trained and evaluated network gives (``result.json``)."""

    out: str
    title: str
    arch: str
    size: int
    classes: list[str]
    weights_source: str
    part: str | None                        # the part evaluated ("test", or "val" without a test part)
    n_train: int
    n_val: int
    n_test: int
    train_counts: dict[str, int]
    epochs_run: int
    seconds: float
    metrics: dict | None
    y_true: list[int] = field(default_factory=list)
    probs: list[list[float]] = field(default_factory=list)
    test_paths: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    fingerprint: str = ""
    cached: bool = False

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d.pop("cached")
        return d

    @classmethod
    def from_dict(cls, d: Mapping) -> "RunResult":
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})

    @property
    def auc(self) -> float | None:
        return None if self.metrics is None else self.metrics.get("auc")


def fingerprint(spec: TrainSpec, split: Split, classes: Sequence[str]) -> str:
    """sha256 of the spec (not where it runs: ``distribute``), the classes and every (part, path, label) of the
    split."""
    parts = [(name, s.path, s.label) for name, items in split.parts().items() for s in items]
    what = {k: v for k, v in spec.to_dict().items() if k != "distribute"}
    text = json.dumps({"spec": what, "classes": list(classes), "split": parts}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def finished_run(out: str | os.PathLike, key: str, need_model: bool = False) -> RunResult | None:
    """The finished result in ``out`` when its fingerprint is ``key`` (and it kept its model if needed)."""
    done = read_json(Path(out) / RESULT_NAME)
    if not done or done.get("fingerprint") != key or (need_model and not (Path(out) / "model.keras").is_file()):
        return None
    result = RunResult.from_dict(done)
    result.cached = True
    return result


def run_differences(old: Mapping[str, Any], spec: TrainSpec, classes: Sequence[str], split: Split) -> list[str]:
    """What makes the run recorded in ``old`` (its ``run.json``) another run than ``spec`` on ``split`` with
    ``classes``: one phrase per difference (``--lr 0.001 there, 0.01 here``), the settings first, then the
    classes, then the split's part sizes; when all of them agree, the images themselves differ."""
    if "spec" not in old:
        return ["other data, split or settings"]
    now = json.loads(json.dumps(spec.to_dict(), default=str))
    was = old["spec"]
    diffs = [f"--{k.replace('_', '-')} {was.get(k)!r} there, {now[k]!r} here"
             for k in now if k != "distribute" and was.get(k) != now[k]]
    if list(old.get("classes") or []) != list(classes):
        diffs.append(f"classes {','.join(old.get('classes') or [])} there, {','.join(classes)} here")
    sizes = {name: len(items) for name, items in split.parts().items()}
    old_sizes = dict(old.get("split_sizes") or {})
    if was.get("static_copies") or spec.static_copies:  # the recorded training part includes the static copies
        sizes.pop("train"), old_sizes.pop("train", None)
    changed = [f"{name} {old_sizes.get(name)} there, {n} here" for name, n in sizes.items()
               if old_sizes.get(name) != n]
    if changed:
        diffs.append("split sizes: " + ", ".join(changed))
    return diffs or ["the same settings, classes and split sizes, but other images (another split or data)"]


def _prepare_folder(out: Path, key: str, overwrite: bool, spec: TrainSpec | None = None,
                    classes: Sequence[str] = (), split: Split | None = None) -> None:
    """Refuse a folder that holds another run, naming what differs (:func:`run_differences`), unless
    ``overwrite`` (which removes only what the run wrote: :func:`remove_run`)."""
    old = read_json(out / "run.json") or read_json(out / RESULT_NAME)
    if old is not None and old.get("fingerprint") != key and not overwrite:
        what = run_differences(old, spec, classes, split) if spec is not None and split is not None else \
            ["other data, split or settings"]
        raise ExistingRunError(f"{out} holds another run ({'; '.join(what)}): use another output folder or "
                               "--overwrite")
    if overwrite or old is not None:
        remove_run(out)
    out.mkdir(parents=True, exist_ok=True)


def remove_run(out: str | os.PathLike) -> None:
    """Delete what a run wrote in ``out`` and nothing else: :data:`RUN_FILES`, and the static copies that
    ``static/manifest.csv`` lists (:func:`classify.augment.static_augment`) with that manifest."""
    from .manifest import remove_listed_outputs

    remove_files(out, RUN_FILES)
    static = Path(out) / "static"
    if static.is_dir():
        remove_listed_outputs(static)
        with contextlib.suppress(OSError):  # the folder itself, when nothing else is left in it
            static.rmdir()


def train_and_evaluate(spec: TrainSpec, split: Split, classes: Sequence[str], out: str | os.PathLike, *,
                       title: str = "", positive: int | None = None, save_model: bool = True,
                       overwrite: bool = False, restart: bool = False, cache: str = "memory",
                       feature_cache: str | os.PathLike | None = None, tensorboard: bool = False,
                       verbose: int | str = "auto",
                       record: Mapping[str, Any] | None = None) -> RunResult:
    """Train ``spec`` on ``split.train``, validate on ``split.val``, evaluate on ``split.test`` (module docstring).

    ``classes`` fixes the output order; ``positive`` the class whose AUC a binary task reports (default: MEL
    when present, else the second class). ``cache``: ``memory``, ``none`` or a cache-file prefix for the
    decoded images. ``record``: extra fields for ``run.json`` (the data description, the command line).
    ``overwrite`` replaces a different run in ``out`` (only the files it wrote: :func:`remove_run`); ``restart``
    also replaces this very run (``classify.train --overwrite``). Returns the :class:`RunResult`; with the same
    spec and split in ``out`` already finished, returns it at once (drivers resume so) unless ``restart``.
    """
    from .metrics import positive_index

    out = Path(out).resolve()
    classes = list(classes)
    if len(classes) < 2:
        raise ValueError(f"need at least two classes, got {classes}")
    positive = positive_index(classes) if positive is None else positive
    key = fingerprint(spec, split, classes)
    done = None if restart else finished_run(out, key, need_model=save_model)
    if done is not None:
        return done
    if not [s for s in split.train if s.label in classes]:
        raise ValueError("the training set is empty" + (f" ({len(split.dropped)} synthetic images dropped: "
                                                        f"{split.reasons[0]})" if split.dropped else ""))
    _prepare_folder(out, key, overwrite or restart, spec, classes, split)
    t0 = time.time()
    train = list(split.train)
    if spec.static_copies:
        from .augment import static_augment

        train += static_augment([s for s in train if not s.synthetic], out / "static", copies=spec.static_copies,
                                seed=spec.seed)
    split = Split(train, split.val, split.test, split.dropped, split.pool, split.reasons)
    write_split_file(out / "split.csv", split)
    run = {"title": title, "spec": spec.to_dict(), "changed": spec.changed(), "classes": classes,
           "image_size": spec.image_size, "trainer": spec.trainer, "fingerprint": key,
           "split_sizes": {name: len(items) for name, items in split.parts().items()},
           **dict(record or {})}
    trainer = _train_logistic if spec.trainer == "logistic_regression" else _train_fit
    result = trainer(spec, split, classes, out, positive, run, cache=cache, feature_cache=feature_cache,
                     tensorboard=tensorboard, verbose=verbose, save_model=save_model)
    result.title, result.fingerprint, result.seconds = title, key, round(time.time() - t0, 1)
    write_json(out / RESULT_NAME, result.to_dict())
    return result


# ------------------------------------------------------------------------------------------------ trainers
def _eval_samples(split: Split) -> tuple[str | None, list[Sample]]:
    return ("test", split.test) if split.test else ("val", split.val) if split.val else (None, [])


def _write_run(out: Path, run: dict, weights_source: str) -> None:
    from .versions import library_versions

    write_json(out / "run.json", {**run, "weights_source": weights_source, "versions": library_versions()})


def _finish(out: Path, spec: TrainSpec, classes, positive, run, model, prediction, part, history, n_train,
            n_val, train_counts, epochs_run, save_model, skipped) -> RunResult:
    """Report, model file and result of a trained model on its evaluation part."""
    from .metrics import compute_metrics
    from .report import write_report
    from .scoring import ClassifierInfo, save_classifier

    info = ClassifierInfo(tuple(classes), spec.image_size, spec.resize_method, spec.fit, spec.arch,
                          model.weights_source)
    if save_model:
        save_classifier(model, out / "model.keras", info)
    metrics, y, probs, paths = None, [], np.zeros((0, len(classes))), []
    if prediction is not None and len(prediction.samples):
        y, probs, paths = prediction.labels(), prediction.probs, [s.path for s in prediction.samples]
        metrics = compute_metrics(y, probs, classes, positive)
        write_report(out, metrics, y, probs, history, options=run.get("spec"),
                     title=f"{spec.arch} on {part} ({len(y)} images)", positive=positive)
        skipped = skipped + prediction.skipped
    return RunResult(str(out), run.get("title", ""), spec.arch, spec.image_size, list(classes), model.weights_source,
                     part, n_train, n_val, len(paths), train_counts, epochs_run, 0.0, metrics,
                     np.asarray(y).tolist(), np.round(probs, 6).tolist(), paths, skipped)


def _bars(verbose: int | str) -> bool:
    """Progress bars for the steps around ``fit`` (image checks, scoring, features) when Keras shows its own:
    ``verbose`` ``"auto"`` or 1 (``classify.train`` passes 2 for ``--quiet``, the drivers 0 unless asked)."""
    return verbose in ("auto", 1)


def _usable(samples: Sequence[Sample], what: str, progress: bool = False):
    """Scan headers; print (and return) the one-line reasons of files that cannot be used."""
    from .pipeline import scan_samples

    kept, flags, bad = scan_samples(samples, progress=progress, desc=f"checking {what} images")
    for reason in bad:
        print(f"skipped ({what}): {reason}", file=sys.stderr)
    return kept, flags, bad


def _train_fit(spec: TrainSpec, split: Split, classes, out: Path, positive: int, run: dict, *, cache, feature_cache,
               tensorboard, verbose, save_model) -> RunResult:
    """``model.fit`` (with 1cycle / LR finder / freezing as the spec says), then the evaluation part."""
    import warnings

    warnings.filterwarnings("ignore", message=".*(ran out of data|shuffle=True. was passed).*")
    import keras

    from .augment import affine_augmentation
    from .pipeline import make_dataset
    from .report import read_history_csv
    from .scoring import Classifier, ClassifierInfo, predict
    from .training import distribution_strategy, set_seeds

    set_seeds(spec.seed)
    cached = {"memory": True, "none": False}.get(cache, cache)
    augment = (affine_augmentation(spec.augment, seed=spec.seed)
               if spec.augment is not None and not spec.augment.is_identity() else None)
    size = spec.image_size

    def dataset(samples, training: bool, what: str):
        kept, flags, bad = _usable(samples, what, _bars(verbose))
        if not kept:
            return None, [], bad
        ds = make_dataset(kept, classes, size, spec.batch_size, spec.resize_method, spec.fit, shuffle=training,
                          seed=spec.seed, cache=cached, augment=augment if training else None, safe_flags=flags)
        return ds, kept, bad

    train_ds, train_kept, skipped = dataset(split.train, True, "train")
    if train_ds is None:
        raise ValueError("no usable training images")
    # repeated, with steps_per_epoch: Keras then knows each epoch's length ("n/N", not "1/Unknown"); each pass is
    # one reshuffled sweep of the cached set, as when fit re-iterates a finite dataset every epoch
    train_ds = train_ds.repeat()
    val_ds, _, bad = dataset(split.val, False, "val") if split.val else (None, [], [])
    skipped += bad
    strategy = distribution_strategy(spec.distribute)
    if strategy is not None:
        print(f"distribute: {spec.distribute}, {strategy.num_replicas_in_sync} replicas")
    with strategy.scope() if strategy is not None else contextlib.nullcontext():
        model, history = _fit_in_scope(spec, classes, out, run, train_ds, val_ds, train_kept, tensorboard, verbose)
    if strategy is not None:  # a plain copy scores and saves: nothing of the strategy stays in the model file
        plain = keras.models.clone_model(model)
        plain.set_weights(model.get_weights())
        plain.weights_source = model.weights_source
        model = plain
    history = read_history_csv(out / "history.csv") or history
    part, eval_samples = _eval_samples(split)
    prediction = None
    if eval_samples:
        info = ClassifierInfo(tuple(classes), size, spec.resize_method, spec.fit, spec.arch, model.weights_source)
        prediction = predict(Classifier(model, info), eval_samples, spec.batch_size, progress=_bars(verbose),
                             desc=f"scoring {part}")
    counts = {c: sum(s.label == c for s in train_kept) for c in classes}
    result = _finish(out, spec, classes, positive, run, model, prediction, part, history, len(train_kept),
                     len(split.val), counts, len(history.get("loss", [])), save_model, skipped)
    keras.backend.clear_session()
    return result


def _fit_in_scope(spec: TrainSpec, classes, out: Path, run: dict, train_ds, val_ds, train_kept, tensorboard,
                  verbose):
    """``(model, history)``: the model built, compiled and trained (inside the caller's strategy scope)."""
    from .models import build_model, set_backbone_trainable
    from .pipeline import encode_labels
    from .training import class_weights, compile_model, fine_tune, fit, lr_find

    size = spec.image_size
    model = build_model(spec.arch, len(classes), size, spec.dropout, spec.weights, spec.fc_units, spec.seed,
                        head=spec.head)
    print(f"model: {model.name}, {model.count_params():,} parameters, weights: {model.weights_source}")
    _write_run(out, run, model.weights_source)
    labels = encode_labels(train_kept, classes)
    cw = class_weights(labels, len(classes)) if spec.class_weight == "balanced" else None
    steps = int(np.ceil(len(train_kept) / spec.batch_size))
    lr = spec.learning_rate
    if spec.lr_find:
        # on the model as it will first be trained: frozen when the body is (fastai's cnn_learner is frozen)
        set_backbone_trainable(model, not spec.freeze_epochs, spec.train_bn)
        compile_model(model, spec.optimizer, 1e-7, spec.momentum, spec.weight_decay)
        found = lr_find(model, train_ds, num_it=min(100, max(20, 5 * steps)))
        found.plot(out / "lr_find.png")
        print(f"lr_find: suggestion {found.suggestion}")
        if spec.lr is None and spec.one_cycle and found.suggestion:
            lr = found.suggestion
    patience = spec.patience or None
    if spec.freeze_epochs or spec.one_cycle:
        history = fine_tune(model, train_ds, val_ds, out, spec.freeze_epochs,
                            spec.epochs - spec.freeze_epochs if spec.freeze_epochs else spec.epochs, lr, steps,
                            spec.optimizer, patience, cw, verbose=verbose, train_bn=spec.train_bn,
                            lr_spread=spec.lr_spread, weight_decay=spec.weight_decay)
    else:
        compile_model(model, spec.optimizer, lr, spec.momentum, spec.weight_decay)
        history = fit(model, train_ds, val_ds, spec.epochs, out, patience, cw, tensorboard, verbose=verbose,
                      steps_per_epoch=steps)
    return model, history


class FeatureCache:
    """Frozen features per image path, computed once and kept in ``FOLDER/<key>.npz`` (saved atomically)."""

    def __init__(self, folder: str | os.PathLike | None, key: str):
        self.file = None if folder is None else Path(folder) / f"{key}.npz"
        self.items: dict[str, np.ndarray] = {}
        if self.file is not None and self.file.is_file():
            with np.load(self.file, allow_pickle=False) as z:
                self.items = dict(zip(z["paths"].tolist(), z["features"]))

    def get(self, samples: Sequence[Sample], compute) -> np.ndarray:
        """Features of ``samples`` (``compute(missing samples) -> array`` fills the gaps)."""
        from .files import atomic_open

        missing = list({s.path: s for s in samples if s.path not in self.items}.values())
        if missing:
            self.items.update(zip((s.path for s in missing), compute(missing)))
            if self.file is not None:
                paths = sorted(self.items)
                with atomic_open(self.file, "wb") as f:
                    np.savez(f, paths=np.asarray(paths), features=np.stack([self.items[p] for p in paths]))
        return np.stack([self.items[s.path] for s in samples])


def _train_logistic(spec: TrainSpec, split: Split, classes, out: Path, positive: int, run: dict, *, cache,
                    feature_cache, tensorboard, verbose, save_model) -> RunResult:
    """Frozen features → standardise with the training mean and sd → scikit-learn ``LogisticRegression``."""
    import keras
    from sklearn.linear_model import LogisticRegression

    from .models import build_model, feature_model, set_logistic_head
    from .pipeline import encode_labels, make_dataset
    from .scoring import Prediction

    model = build_model(spec.arch, len(classes), spec.image_size, weights=spec.weights, seed=spec.seed)
    _write_run(out, run, model.weights_source)
    features = feature_model(model)
    tag = hashlib.sha256(model.weights_source.encode()).hexdigest()[:8]
    store = FeatureCache(feature_cache, f"{spec.arch}-{spec.image_size}-{spec.resize_method}-{spec.fit}-{tag}")

    def compute(samples: Sequence[Sample]) -> np.ndarray:
        from tqdm.auto import tqdm

        batch = 16
        ds = make_dataset(samples, classes, spec.image_size, batch, spec.resize_method, spec.fit, cache=False,
                          labels=np.zeros(len(samples), np.int32))
        print(f"features: {len(samples)} images through the frozen backbone at {spec.image_size} px")
        with tqdm(total=len(samples), desc="features", unit="img", disable=not _bars(verbose), leave=False,
                  dynamic_ncols=True) as bar:
            out = []
            for x, _ in ds:
                out.append(np.asarray(features.predict_on_batch(x)))
                bar.update(len(out[-1]))
        return np.concatenate(out)

    train_kept, _, skipped = _usable(split.train, "train", _bars(verbose))
    part, eval_samples = _eval_samples(split)
    eval_kept, _, bad = _usable(eval_samples, part or "eval", _bars(verbose))
    skipped += bad
    xtr = store.get(train_kept, compute)
    ytr = encode_labels(train_kept, classes)
    mean, scale = xtr.mean(axis=0), xtr.std(axis=0) + 1e-6
    clf = LogisticRegression(C=spec.l2_c, max_iter=spec.max_iter, random_state=spec.seed,
                             class_weight="balanced" if spec.class_weight == "balanced" else None)
    clf.fit((xtr - mean) / scale, ytr)
    set_logistic_head(model, mean, scale, clf.coef_, clf.intercept_, clf.classes_)
    prediction = None
    if eval_kept:
        probs = np.zeros((len(eval_kept), len(classes)))
        probs[:, clf.classes_] = clf.predict_proba((store.get(eval_kept, compute) - mean) / scale)
        prediction = Prediction(probs, eval_kept, tuple(classes))
    counts = {c: int((ytr == i).sum()) for i, c in enumerate(classes)}
    result = _finish(out, spec, classes, positive, run, model, prediction, part, None, len(train_kept),
                     len(split.val), counts, int(np.max(clf.n_iter_)), save_model, skipped)
    keras.backend.clear_session()
    return result
