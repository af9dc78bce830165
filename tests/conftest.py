"""Shared test fixtures: paths to the real data in ../shared/data (tests skip cleanly when it is absent)."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("NST_AUG_SHARED_DATA", REPO.parent / "shared" / "data"))


def _need(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"real data not available: {path}")
    return path


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The folder ../shared/data (skip when absent)."""
    return _need(SHARED_DATA)


@pytest.fixture(scope="session")
def isic_uda1(shared_data) -> Path:
    """370 CC0 ISIC images in the ISIC 2019 layout (images/ + ground-truth CSV)."""
    return _need(shared_data / "isic_uda1")


@pytest.fixture(scope="session")
def isic2019_csv(shared_data) -> Path:
    """The full ISIC 2019 training ground-truth CSV (25,331 rows, no images)."""
    return _need(shared_data / "isic2019" / "ISIC_2019_Training_GroundTruth.csv")


@pytest.fixture(scope="session")
def caltech101(shared_data) -> Path:
    """Caltech-101 crab/butterfly/scorpion in the official folder layout."""
    return _need(shared_data / "caltech101" / "101_ObjectCategories")


@pytest.fixture(scope="session")
def kandinsky(shared_data) -> Path:
    """Kandinsky, Composition VII (public domain)."""
    return _need(shared_data / "styles" / "kandinsky_composition_vii.jpg")


def _hand_prepared(paths, size: int, method: str):
    """classify.pipeline.resize_image's documented preparation written out independently: decode, shorter side to
    ``size`` (longer side rounded) with ``tf.image.resize(..., method, antialias=True)`` on float32, the centre
    ``size × size``, rounded to uint8; returned as a float32 batch 0..255."""
    import numpy as np
    import tensorflow as tf

    out = []
    for path in paths:
        img = tf.io.decode_image(tf.io.read_file(str(path)), channels=3, expand_animations=False).numpy()
        h, w = img.shape[:2]
        new = (max(size, round(h * size / min(h, w))), max(size, round(w * size / min(h, w))))
        x = tf.image.resize(img.astype(np.float32), new, method=method, antialias=True).numpy()
        top, left = (new[0] - size) // 2, (new[1] - size) // 2
        out.append(np.clip(np.round(x[top:top + size, left:left + size]), 0, 255).astype(np.uint8))
    return np.stack(out).astype(np.float32)


@pytest.fixture(scope="session")
def hand_prepared():
    """The scoring preparation computed by hand (:func:`_hand_prepared`), for tests that pin one scoring path."""
    return _hand_prepared


@pytest.fixture(scope="session")
def outputs_and_gradients():
    """``f(layer, x, weights)`` → ``[y, dL/dx, dL/dw...]`` for ``L = sum(layer(x) * weights)``, traced with the batch
    size unknown (as in ``fit``), as numpy arrays: how the fast layers are compared with the Keras layers they
    replace."""
    import numpy as np
    import tensorflow as tf

    def run_layer(layer, x, weights):
        @tf.function(input_signature=[tf.TensorSpec((None, *x.shape[1:]))])
        def run(x):
            with tf.GradientTape() as tape:
                tape.watch(x)
                y = layer(x)
                loss = tf.reduce_sum(y * weights[: tf.shape(x)[0]])
            return (y, *tape.gradient(loss, [x, *layer.trainable_variables]))

        return [np.asarray(t) for t in run(tf.constant(x))]

    return run_layer
