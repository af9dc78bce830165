"""Shinde §3.2: saliency (plain and guided backprop) and occlusion maps, and style masks from them."""
from __future__ import annotations

import numpy as np
import pytest

keras = pytest.importorskip("keras")
import tensorflow as tf  # noqa: E402

from nst_aug.saliency import Scorer, _logit_model, guided_relus, occlusion_map, saliency_map, style_mask  # noqa: E402


def _two_unit_net():
    """score = 2·relu(R) − 3·relu(G) per pixel, summed: a hand-checkable net with one positive and one negative
    path through a ReLU."""
    inp = keras.Input((4, 4, 3))
    hidden = keras.layers.Conv2D(2, 1, activation="relu", use_bias=False, name="hidden")(inp)
    out = keras.layers.Conv2D(1, 1, use_bias=False, name="out")(hidden)
    model = keras.Model(inp, out)
    model.get_layer("hidden").set_weights([np.array([[[[1, 0], [0, 1], [0, 0]]]], np.float32)])
    model.get_layer("out").set_weights([np.array([[[[2], [-3]]]], np.float32)])
    return Scorer(lambda x: tf.reduce_sum(model(x), axis=[1, 2, 3]), model, "two-unit net")


def test_guided_backprop_passes_only_positive_gradients():
    """Plain gradient: |∂/∂R| = 2, |∂/∂G| = 3 → max 3. Guided: the G path's incoming gradient (−3) is negative, so
    the ReLU passes nothing there → max 2. Where R's input is negative both paths through R are closed."""
    scorer = _two_unit_net()
    x = np.full((1, 4, 4, 3), 10.0, np.float32)
    np.testing.assert_allclose(saliency_map(scorer, x, guided=False, normalise=False), 3.0)
    np.testing.assert_allclose(saliency_map(scorer, x, guided=True, normalise=False), 2.0)
    x[0, 0, 0, 0] = -5.0  # R negative at one pixel: the positive path is closed there too
    guided = saliency_map(scorer, x, guided=True, normalise=False)
    assert guided[0, 0, 0] == 0.0 and guided[0, 1, 1] == 2.0
    # the patch is undone afterwards: the model's own gradient is the plain one again
    np.testing.assert_allclose(saliency_map(scorer, np.full((1, 4, 4, 3), 10.0, np.float32), guided=False,
                                            normalise=False), 3.0)
    with guided_relus(scorer.model) as n:
        assert n == 1


def test_occlusion_of_the_decisive_patch_drops_the_score():
    """The score reads only the red channel of the top-left 8x8 block: covering that block (and only that) drops
    it, so with stride = patch the map is 1 there and 0 elsewhere."""
    def fn(x):
        return tf.reduce_mean(tf.convert_to_tensor(x)[:, :8, :8, 0], axis=[1, 2])

    img = np.zeros((1, 32, 32, 3), np.float32)
    img[0, :8, :8, 0] = 255.0
    maps = occlusion_map(Scorer(fn, None, "top-left red"), img, patch=8, stride=8)
    assert maps.shape == (1, 32, 32)
    assert (maps[0, :8, :8] == 1.0).all() and maps[0].sum() == 64.0


def test_style_mask_keeps_exactly_the_top_fraction():
    values = np.arange(16, dtype=np.float32).reshape(1, 4, 4)  # 15 is the most important, at the end
    mask = style_mask(values, fraction=0.25)
    assert mask.sum() == 4 and (mask[0].ravel()[-4:] == 1).all()
    assert style_mask(values, top_k=2)[0].ravel().tolist() == [0.0] * 14 + [1.0, 1.0]
    flat = style_mask(np.zeros((1, 4, 4)), fraction=0.5)  # ties: the first positions, exactly half
    assert flat.sum() == 8 and (flat[0].ravel()[:8] == 1).all()
    with pytest.raises(ValueError, match="fraction"):
        style_mask(values, fraction=0.0)


def test_logit_model_removes_only_the_softmax():
    from classify.models import build_model

    model = build_model("small_cnn", num_classes=3, input_size=32)
    x = np.random.default_rng(0).uniform(0, 255, (2, 32, 32, 3)).astype(np.float32)
    logits = _logit_model(model)(x).numpy()
    np.testing.assert_allclose(tf.nn.softmax(logits).numpy(), model(x).numpy(), atol=1e-5)
    assert not np.allclose(logits.sum(axis=1), 1.0)


def test_cli_writes_maps_masks_and_pngs(tmp_path):
    from PIL import Image

    from nst_aug import saliency

    for i in range(2):
        Image.fromarray(np.random.default_rng(i).integers(0, 255, (40, 48, 3), dtype=np.uint8)).save(tmp_path / f"s{i}.png")
    out = tmp_path / "maps"
    args = [str(tmp_path / "s0.png"), str(tmp_path / "s1.png"), "--size", "32", "--weights", "random",
            "--backbone", "vgg16", "--layer", "block3_conv1", "--out", str(out), "--fraction", "0.5"]
    assert saliency.main(args) == 0
    z = np.load(out / "maps.npz")
    assert z["maps"].shape == (2, 32, 32) and z["masks"].sum() == 2 * 512
    assert {p.name for p in out.glob("s0_*.png")} == {"s0_guided_map.png", "s0_guided_overlay.png",
                                                      "s0_guided_mask.png"}
    assert saliency.main(args) == 2  # refuses to replace maps.npz without --overwrite
    assert saliency.main(args + ["--method", "occlude"]) == 2


def test_generate_selects_style_positions_and_blends_styles(tmp_path, capsys):
    """--style-select: each style's Gram comes from its most salient positions (the images change, the manifest
    says how); --blend 2: every output blends its own style with one other, recorded with the weights; a run
    with another selection is refused in the same folder."""
    from PIL import Image

    from classify.manifest import read_manifest_rows
    from nst_aug import generate

    rng = np.random.default_rng(0)
    (tmp_path / "c").mkdir()
    (tmp_path / "s").mkdir()
    for i in range(2):
        Image.fromarray(rng.integers(0, 255, (40, 40, 3), dtype=np.uint8)).save(tmp_path / "c" / f"c{i}.png")
    for i, colour in enumerate(((200, 30, 30), (30, 30, 200), (30, 200, 30))):
        stripes = np.zeros((40, 40, 3), np.uint8)
        stripes[:, : 20 + 5 * i] = colour
        Image.fromarray(stripes).save(tmp_path / "s" / f"s{i}.png")
    common = ["--content", str(tmp_path / "c"), "--style", str(tmp_path / "s"), "--pairs", "2", "--weights",
              "random", "--size", "32", "--steps", "10", "--quiet"]
    assert generate.main(common + ["--out", str(tmp_path / "plain")]) == 0
    assert generate.main(common + ["--out", str(tmp_path / "sel"), "--style-select", "guided", "--select-fraction",
                                   "0.1", "--select-layer", "block3_conv1", "--blend", "2", "--blend-weights", "3",
                                   "1"]) == 0
    plain, sel = read_manifest_rows(tmp_path / "plain"), read_manifest_rows(tmp_path / "sel")
    assert [r["source"] for r in plain] == [r["source"] for r in sel]
    for r in sel:
        assert r["style_selection"].startswith("guided top 0.1 of positions")
        parts = r["blend"].split("|")
        assert len(parts) == 2 and parts[0].startswith(r["style"]) and parts[0].endswith(":0.75")
        assert parts[1].endswith(":0.25") and not parts[1].startswith(r["style"])
    a = np.stack([np.asarray(Image.open(tmp_path / "plain" / r["output"]), float) for r in plain])
    b = np.stack([np.asarray(Image.open(tmp_path / "sel" / r["output"]), float) for r in sel])
    assert np.abs(a - b).mean() > 1.0  # selecting and blending change what the image becomes
    capsys.readouterr()
    assert generate.main(common + ["--out", str(tmp_path / "sel"), "--style-select", "occlusion"]) == 2
    assert "different configuration" in capsys.readouterr().err


def test_a_saved_classify_model_explains_maps_in_saliency_and_generate(tmp_path, capsys):
    """``--model FILE`` (saliency) and ``--select-model FILE`` (generate) load a saved classify model and score
    with its recorded image size (both failed with ``'ClassifierInfo' object has no attribute 'size'``)."""
    from PIL import Image

    from classify.manifest import read_manifest_rows
    from classify.models import build_model
    from classify.scoring import ClassifierInfo, save_classifier
    from nst_aug import generate, saliency

    model = save_classifier(build_model("small_cnn", num_classes=2, input_size=32), tmp_path / "model.keras",
                            ClassifierInfo(("NV", "MEL"), 32, arch="small_cnn"))
    rng = np.random.default_rng(0)
    for d in ("c", "s"):
        (tmp_path / d).mkdir()
        for i in range(2):
            Image.fromarray(rng.integers(0, 255, (40, 48, 3), dtype=np.uint8)).save(tmp_path / d / f"{d}{i}.png")
    out = tmp_path / "maps"
    assert saliency.main([str(tmp_path / "s" / "s0.png"), "--model", str(model), "--class", "MEL", "--size", "48",
                          "--method", "gradient", "--out", str(out)]) == 0, capsys.readouterr().err
    z = np.load(out / "maps.npz")
    assert z["maps"].shape == (1, 48, 48) and z["maps"].max() == pytest.approx(1.0)
    assert "small_cnn logit of MEL" in capsys.readouterr().out
    gen = tmp_path / "gen"
    assert generate.main(["--content", str(tmp_path / "c"), "--style", str(tmp_path / "s"), "--pairs", "1",
                          "--weights", "random", "--size", "32", "--steps", "2", "--quiet", "--style-select",
                          "gradient", "--select-model", str(model), "--out", str(gen)]) == 0, capsys.readouterr().err
    (row,) = read_manifest_rows(gen)
    assert "small_cnn logit of the predicted class" in row["style_selection"]
