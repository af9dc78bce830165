"""The thesis's fastai v1 classifier as classify options: create_head's shape, fastai's Adam (betas 0.9/0.99, true
weight decay) against a hand-computed step, discriminative rates, BatchNorm trainable while frozen, and the LR
finder run on the frozen model."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from classify.data import Sample
from classify.experiment import TrainSpec, fastai_spec, train_and_evaluate
from classify.models import build_model, layer_groups, set_backbone_trainable
from classify.splits import Split
from classify.training import FASTAI_ADAM, even_mults, group_multipliers, make_optimizer


def test_fastai_head_is_create_head():
    import keras

    m = build_model("vgg16_imagenet", 8, 64, weights="random", head="fastai")
    names = [layer.name for layer in m.layers]
    assert names[names.index("backbone") + 1:] == [
        "head_max_pool", "head_avg_pool", "head_concat_pool", "head_bn1", "head_dropout1", "head_fc1", "head_bn2",
        "head_dropout2", "predictions"]
    assert m.get_layer("head_concat_pool").output.shape[-1] == 2 * 512          # max ++ avg of 512 channels
    assert m.get_layer("head_dropout1").rate == 0.25 and m.get_layer("head_dropout2").rate == 0.5
    assert m.get_layer("head_fc1").units == 512 and m.get_layer("head_fc1").activation is keras.activations.relu
    assert m.get_layer("predictions").units == 8
    # max pool comes first in the concatenation (fastai AdaptiveConcatPool2d: cat([mp, ap]))
    inbound = m.get_layer("head_concat_pool")._inbound_nodes[0].input_tensors
    assert [t._keras_history.operation.name for t in inbound] == ["head_max_pool", "head_avg_pool"]
    with pytest.raises(ValueError, match="pretrained backbone"):
        build_model("small_cnn", 2, 64, head="fastai")


def test_adamw_step_matches_fastai_by_hand():
    """One step on w = 1, g = 0.5, lr 0.1: true decay w·(1 − lr·wd) then Adam's bias-corrected step lr·m̂/√v̂ = 0.1
    → 0.999 − 0.1 = 0.899; with a group multiplier 0.1 both shrink tenfold → 0.9999 − 0.01."""
    import keras

    assert FASTAI_ADAM == dict(beta_1=0.9, beta_2=0.99, weight_decay=1e-2, epsilon=1e-8)
    a, b = keras.Variable(np.array([1.0], "float32"), name="a"), keras.Variable(np.array([1.0], "float32"), name="b")
    opt = make_optimizer("adamw", 0.1, multipliers={b.path: 0.1})
    assert float(opt.beta_2) == 0.99 and float(opt.weight_decay) == 0.01
    g = np.array([0.5], "float32")
    opt.apply([g, g], [a, b])
    assert float(a.numpy()[0]) == pytest.approx(0.899, abs=1e-6)
    assert float(b.numpy()[0]) == pytest.approx(0.9999 - 0.01, abs=1e-6)
    # plain adam has no decay: 1 − 0.1
    c = keras.Variable(np.array([1.0], "float32"))
    make_optimizer("adam", 0.1).apply([g], [c])
    assert float(c.numpy()[0]) == pytest.approx(0.9, abs=1e-5)


def test_discriminative_groups_and_frozen_batchnorm():
    import keras

    assert even_mults(1e-5, 1e-3, 3) == pytest.approx([1e-5, 1e-4, 1e-3])
    m = build_model("resnet50", 3, 64, weights="random", head="fastai")
    groups = layer_groups(m)
    assert len(groups) == 3 and all(groups)
    first = {v.path for v in groups[0]}
    assert any("conv1_conv" in p for p in first) and not any("conv4_" in p for p in first)
    assert all("conv4_" in p or "conv5_" in p for p in (v.path for v in groups[1]))
    mult = group_multipliers(groups, 100.0)
    assert len(mult) == sum(len(g) for g in groups)          # variable paths are unique keys
    assert [mult[v.path] for v in groups[0]] == pytest.approx([0.01] * len(groups[0]))
    assert [mult[v.path] for v in groups[1]] == pytest.approx([0.1] * len(groups[1]))
    assert [mult[v.path] for v in groups[2]] == [1.0] * len(groups[2])
    set_backbone_trainable(m, False, train_bn=True)
    backbone = m.get_layer("backbone")
    bn = [layer for layer in backbone.layers if isinstance(layer, keras.layers.BatchNormalization)]
    assert all(layer.trainable for layer in bn)
    assert not any(layer.trainable for layer in backbone.layers
                   if isinstance(layer, keras.layers.Conv2D))
    head_vars = len(groups[2])
    assert len(m.trainable_variables) == 2 * len(bn) + head_vars
    set_backbone_trainable(m, False)
    assert len(m.trainable_variables) == head_vars
    set_backbone_trainable(m, True)
    assert sum(len(g) for g in groups) == len(m.trainable_variables)


def test_fastai_spec_values():
    s = fastai_spec()
    assert (s.arch, s.head, s.optimizer, s.lr_find, s.one_cycle, s.train_bn, s.lr_spread, s.resize_method) == (
        "resnet50", "fastai", "adamw", True, True, True, 100.0, "bicubic")
    with pytest.raises(ValueError, match="adamw"):
        TrainSpec(lr_spread=10.0)
    from classify.train import build_parser, spec_from_args

    args = build_parser().parse_args(["--csv", "x.csv", "--arch", "vgg16_imagenet", "--fastai", "--epochs", "3",
                                      "--freeze-epochs", "2"])
    spec = spec_from_args(args)
    assert (spec.head, spec.optimizer, spec.freeze_epochs, spec.epochs, spec.lr_spread) == ("fastai", "adamw", 2, 3,
                                                                                            100.0)


def test_lr_finder_runs_on_the_frozen_model(tmp_path, monkeypatch):
    """fastai's cnn_learner is frozen when lr_find runs: the finder must see only the head (+ BatchNorm) as
    trainable, and its suggestion must drive the head phase."""
    import classify.training as training

    rng = np.random.default_rng(0)
    samples = []
    for label, colour in (("a", (200, 40, 40)), ("b", (40, 40, 200))):
        for i in range(6):
            arr = np.clip(rng.normal(colour, 30, size=(40, 40, 3)), 0, 255).astype("uint8")
            path = tmp_path / f"{label}{i}.png"
            Image.fromarray(arr).save(path)
            samples.append(Sample(str(path), label))
    seen = {}
    real_find = training.lr_find

    def spy(model, *a, **kw):
        seen["trainable"] = len(model.trainable_variables)
        seen["all"] = len(model.variables)
        result = real_find(model, *a, **kw)
        seen["suggestion"] = result.suggestion
        return result

    monkeypatch.setattr(training, "lr_find", spy)
    captured = {}
    real_fine_tune = training.fine_tune

    def spy_fine_tune(model, train, val, out, head_epochs, epochs, max_lr, *a, **kw):
        captured["max_lr"] = max_lr
        captured["lr_spread"] = kw.get("lr_spread")
        return real_fine_tune(model, train, val, out, head_epochs, epochs, max_lr, *a, **kw)

    monkeypatch.setattr(training, "fine_tune", spy_fine_tune)
    spec = fastai_spec("vgg16_imagenet", size=32, weights="random", epochs=2, freeze_epochs=1, batch_size=4)
    split = Split(samples[:4] + samples[6:10], [], samples[4:6] + samples[10:12])
    res = train_and_evaluate(spec, split, ["a", "b"], tmp_path / "run", verbose=0, save_model=False)
    assert seen["trainable"] == 8     # the fastai head only (VGG16 has no BatchNorm): 2 BN × 2 + 2 Dense × 2
    assert (tmp_path / "run" / "lr_find.png").is_file()
    assert captured["max_lr"] == seen["suggestion"] and captured["lr_spread"] == 100.0
    assert res.epochs_run == 2 and res.metrics is not None
