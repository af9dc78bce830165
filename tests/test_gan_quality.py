"""GAN image-quality metrics (gan_aug.quality, python -m gan_aug.evaluate): FD, KID, improved precision/recall and
GAN-train/GAN-test against hand computations and constructed cases; features of real image files; the CLI."""
from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from gan_aug.quality import (QualityReport, frechet_distance, gan_train_test, kernel_distance, metric_names,
                             precision_recall)

REPO = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}


def _with_covariance(rng, n: int, cov: np.ndarray, mean: np.ndarray) -> np.ndarray:
    """``n`` rows whose sample mean and unbiased sample covariance are exactly ``mean`` and ``cov``."""
    z = rng.normal(size=(n, len(mean)))
    z -= z.mean(axis=0)
    z = z @ np.linalg.inv(np.linalg.cholesky(np.cov(z, rowvar=False))).T  # sample covariance = I
    return z @ np.linalg.cholesky(cov).T + mean


# ------------------------------------------------------------------------------------------------- FD
def test_fd_of_a_set_with_itself_is_zero():
    a = np.random.default_rng(0).normal(size=(500, 16)) * 3 + 1
    assert abs(frechet_distance(a, a)) < 1e-6


def test_fd_matches_the_closed_form_for_diagonal_covariances():
    """Commuting diagonal covariances: FD = ||μ1 − μ2||² + Σ (√s1 − √s2)²."""
    rng = np.random.default_rng(1)
    s1, s2 = np.array([1.0, 2.0, 3.0, 0.5]), np.array([4.0, 1.0, 0.25, 0.5])
    mu1, mu2 = np.array([0.0, 1.0, -1.0, 2.0]), np.array([1.0, 1.0, 0.5, 0.0])
    a = _with_covariance(rng, 300, np.diag(s1), mu1)
    b = _with_covariance(rng, 200, np.diag(s2), mu2)
    expected = ((mu1 - mu2) ** 2).sum() + ((np.sqrt(s1) - np.sqrt(s2)) ** 2).sum()
    assert frechet_distance(a, b) == pytest.approx(expected, rel=1e-9)


def test_fd_matches_an_eigendecomposition_for_full_covariances():
    """Tr (Σ1 Σ2)^{1/2} = Σ √λ of the symmetric Σ1^{1/2} Σ2 Σ1^{1/2} (eigh), computed independently."""
    rng = np.random.default_rng(2)
    a, b = rng.normal(size=(400, 6)) @ rng.normal(size=(6, 6)), rng.normal(size=(300, 6)) @ rng.normal(size=(6, 6))
    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    w, v = np.linalg.eigh(s1)
    root1 = v @ np.diag(np.sqrt(w)) @ v.T
    lam = np.linalg.eigvalsh(root1 @ s2 @ root1)
    expected = ((a.mean(0) - b.mean(0)) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * np.sqrt(lam.clip(0)).sum()
    assert frechet_distance(a, b) == pytest.approx(expected, rel=1e-8)


def test_fd_small_within_a_distribution_large_across():
    rng = np.random.default_rng(3)
    real = rng.normal(size=(2000, 8))
    shifted = rng.normal(size=(1000, 8)) * 1.5 + 1.0
    within, across = frechet_distance(real[:1000], real[1000:]), frechet_distance(real[:1000], shifted)
    assert within < 0.1 and across > 50 * within


def test_fd_refuses_too_few_rows_and_mismatched_dimensions():
    a = np.zeros((5, 3))
    with pytest.raises(ValueError, match="at least 2"):
        frechet_distance(a[:1], a)
    with pytest.raises(ValueError, match="dimensions differ"):
        frechet_distance(a, np.zeros((5, 4)))


# ------------------------------------------------------------------------------------------------- KID
def _direct_mmd2(x, y):
    """Unbiased MMD² with k(x, y) = (x·y/d + 1)³, by explicit loops."""
    d, m = x.shape[1], len(x)
    k = lambda u, v: (float(np.dot(u, v)) / d + 1.0) ** 3  # noqa: E731
    xx = sum(k(x[i], x[j]) for i, j in itertools.permutations(range(m), 2)) / (m * (m - 1))
    yy = sum(k(y[i], y[j]) for i, j in itertools.permutations(range(m), 2)) / (m * (m - 1))
    xy = sum(k(x[i], y[j]) for i in range(m) for j in range(m)) / (m * m)
    return xx + yy - 2 * xy


def test_kid_matches_a_direct_computation():
    rng = np.random.default_rng(4)
    x, y = rng.normal(size=(7, 5)), rng.normal(size=(7, 5)) + 0.3
    mean, std = kernel_distance(x, y, subsets=1, subset_size=7)
    assert mean == pytest.approx(_direct_mmd2(x, y), rel=1e-10) and std == 0.0


def test_kid_near_zero_for_one_distribution_large_for_a_shifted_one():
    rng = np.random.default_rng(5)
    real, same, shifted = rng.normal(size=(400, 16)), rng.normal(size=(400, 16)), rng.normal(size=(400, 16)) + 1
    same_mean, same_std = kernel_distance(real, same, subsets=20, subset_size=200)
    far_mean, _ = kernel_distance(real, shifted, subsets=20, subset_size=200)
    assert abs(same_mean) < 0.02 and same_std > 0
    assert far_mean > 0.5 and far_mean > 25 * abs(same_mean)
    assert kernel_distance(real, same, subsets=5, subset_size=50, seed=1) == \
        kernel_distance(real, same, subsets=5, subset_size=50, seed=1)


# ------------------------------------------------------------------------------------------- precision/recall
def test_precision_recall_identical_far_and_half_covered():
    rng = np.random.default_rng(6)
    real = rng.normal(size=(100, 4))
    assert precision_recall(real, real.copy()) == (1.0, 1.0)
    assert precision_recall(real, rng.normal(size=(100, 4)) + 100) == (0.0, 0.0)
    # two real clusters; the generated images (jittered copies of the first) cover only it: mode collapse
    clusters = np.vstack([rng.normal(size=(60, 4)), rng.normal(size=(60, 4)) + 50])
    fake = clusters[:60] + rng.normal(scale=0.01, size=(60, 4))
    precision, recall = precision_recall(clusters, fake, k=3)
    assert precision >= 0.95 and 0.45 <= recall <= 0.5


def test_precision_uses_the_kth_neighbour_radius_boundary_included():
    """1-d by hand, k=2: real 0, 1, 3, 7, 15 have radii 3, 2, 3, 6, 14 (balls [-3, 3], [-1, 3], [0, 6], [1, 13],
    [1, 29]); of the fakes -2.5, -3 (on the boundary), 30, 100 the first two are inside. Every real point is
    inside the fakes' balls (radii 32.5, 33, 33, 102.5)."""
    real = np.array([[0.0], [1.0], [3.0], [7.0], [15.0]])
    fake = np.array([[-2.5], [-3.0], [30.0], [100.0]])
    assert precision_recall(real, fake, k=2) == (0.5, 1.0)
    assert precision_recall(real, fake, k=1) == (0.0, 1.0)  # radii 1, 1, 2, 4, 8


def test_precision_recall_needs_more_rows_than_k():
    with pytest.raises(ValueError, match="at least 4"):
        precision_recall(np.zeros((3, 2)), np.zeros((10, 2)), k=3)


# ------------------------------------------------------------------------------------------- GAN-train/test
def _blobs(rng, n, labels=("A", "B")):
    y = np.array([labels[i % len(labels)] for i in range(n)])
    centres = {c: np.full(10, 3.0 * (1 if i % 2 else -1)) for i, c in enumerate(labels)}
    return rng.normal(size=(n, 10)) + np.stack([centres[c] for c in y]), y


def test_gan_train_test_separable_and_shuffled():
    rng = np.random.default_rng(7)
    train_x, train_y = _blobs(rng, 200)
    gen_x, gen_y = _blobs(rng, 400)
    test_x, test_y = _blobs(rng, 400)
    good = gan_train_test(train_x, train_y, gen_x, gen_y, test_x, test_y)
    assert good["gan_train"] > 0.95 and good["gan_test"] > 0.95 and good["real_baseline"] > 0.95
    shuffled = rng.permutation(gen_y)  # generated images whose labels say nothing about them
    bad = gan_train_test(train_x, train_y, gen_x, shuffled, test_x, test_y)
    assert abs(bad["gan_train"] - 0.5) < 0.15 and abs(bad["gan_test"] - 0.5) < 0.15
    assert bad["real_baseline"] == good["real_baseline"]
    one = gan_train_test(train_x, train_y, gen_x, ["A"] * len(gen_x), test_x, test_y)
    assert one["gan_train"] is None and one["gan_test"] == pytest.approx(0.5, abs=0.01)


def test_names_follow_the_backbone_and_the_report_uses_them():
    assert metric_names("vgg16")["fd"] == "FD-VGG16" and metric_names("vgg16")["kid"] == "KID-VGG16"
    assert metric_names("inception")["fd"] == "FID" and metric_names("inception")["kid"] == "KID"
    with pytest.raises(ValueError):
        metric_names("resnet")
    report = QualityReport(1.0, 0.1, 0.01, 0.9, 0.5, None, None, None, 10, 12, "features", metric_names("vgg16"))
    d = report.to_dict()
    assert d["FD-VGG16"] == 1.0 and d["KID-VGG16"] == 0.1 and d["KID-VGG16 std"] == 0.01
    assert d["GAN-train"] is None and d["n_generated"] == 12 and "FID" not in d


# ------------------------------------------------------------------------------------------------- images
def _write_images(folder: Path, n: int, colour, seed: int) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    paths = []
    for i in range(n):
        img = np.clip(rng.normal(0, 25, (40, 40, 3)) + np.array(colour), 0, 255).astype(np.uint8)
        Image.fromarray(img).save(folder / f"img_{i}.png")
        paths.append(folder / f"img_{i}.png")
    return paths


def test_backbone_features_of_image_files_skip_a_corrupt_one(tmp_path, capsys):
    from gan_aug.quality import backbone_features

    paths = _write_images(tmp_path, 6, (120, 80, 60), 0)
    corrupt = tmp_path / "broken.png"
    corrupt.write_bytes(paths[0].read_bytes()[:60])  # a PNG cut short
    features, description, kept = backbone_features([str(p) for p in paths[:3]] + [str(corrupt)] +
                                                    [str(p) for p in paths[3:]], weights="random", size=32,
                                                    batch_size=4)
    assert features.shape == (6, 512) and np.isfinite(features).all()
    assert kept == [str(p) for p in paths] and "VGG16" in description and "random" in description
    err = capsys.readouterr().err
    assert "broken.png" in err and err.count("skipped:") == 1
    with pytest.raises(ValueError, match="true FID needs InceptionV3 ImageNet weights"):
        backbone_features([str(p) for p in paths], backbone="inception")


# ------------------------------------------------------------------------------------------------- CLI
def _run(*argv):
    return subprocess.run([sys.executable, "-m", "gan_aug.evaluate", *map(str, argv)], capture_output=True,
                          text=True, cwd=REPO, env=ENV, timeout=300)


def test_cli_writes_the_named_metrics(tmp_path):
    """Two classes (reddish, bluish): real train, generated and real test folders; GAN-train/test measured."""
    for part, seed in (("real", 0), ("gen", 1), ("test", 2)):
        _write_images(tmp_path / part / "A", 5, (200, 40, 40), seed)
        _write_images(tmp_path / part / "B", 5, (40, 40, 200), seed + 10)
    out = tmp_path / "q" / "x.json"
    done = _run("--real", tmp_path / "real" / "A", tmp_path / "real" / "B",
                "--generated", tmp_path / "gen" / "A", tmp_path / "gen" / "B",
                "--test", tmp_path / "test" / "A", tmp_path / "test" / "B",
                "--weights", "random", "--size", "32", "--kid-subsets", "10", "--quiet", "--out", out)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "| FD-VGG16 |" in done.stdout and "GAN-train" in done.stdout
    got = json.loads(out.read_text())
    assert got["FD-VGG16"] >= 0 and "KID-VGG16" in got and "FID" not in got
    assert got["n_real"] == got["n_generated"] == got["n_test"] == 10
    assert 0 <= got["precision"] <= 1 and 0 <= got["GAN-train"] <= 1 and 0 <= got["GAN-test"] <= 1
    assert got["options"]["weights"] == "random" and "random" in got["features"]
    again = _run("--real", tmp_path / "real" / "A", "--generated", tmp_path / "gen" / "A", "--weights", "random",
                 "--out", out)
    assert again.returncode == 2 and "--overwrite" in again.stderr  # an existing --out is not replaced


@pytest.mark.parametrize("argv,expected", [
    (["--k", "0"], "argument --k: 0 must be at least 1"),
    (["--backbone", "inception"], "true FID needs InceptionV3 ImageNet weights"),
    (["--real", "NO_SUCH_FOLDER"], "NO_SUCH_FOLDER"),
])
def test_cli_bad_argument_is_one_error_line(tmp_path, argv, expected):
    gen = _write_images(tmp_path / "gen", 4, (10, 200, 10), 0)[0].parent
    base = {"--real": str(gen), "--generated": str(gen)}
    for flag, value in zip(argv[::2], argv[1::2]):
        base[flag] = value
    done = _run(*itertools.chain.from_iterable(base.items()))
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("error: ") and expected in done.stderr


def test_cli_help_does_not_import_tensorflow():
    code = ("import runpy, sys\n"
            "sys.argv = ['gan_aug.evaluate', '--help']\n"
            "try:\n"
            "    runpy.run_module('gan_aug.evaluate', run_name='__main__')\n"
            "except SystemExit as e:\n"
            "    assert e.code in (0, None), e.code\n"
            "print('HEAVY', sorted(m for m in ('tensorflow', 'keras') if m in sys.modules))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, env=ENV,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "usage: python -m gan_aug.evaluate" in done.stdout and "--debug" in done.stdout
    assert done.stdout.strip().endswith("HEAVY []") and "``" not in done.stdout
