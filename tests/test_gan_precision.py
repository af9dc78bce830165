"""Mixed precision for the GANs (``--precision``): what ``auto`` picks, what runs in which dtype, that bfloat16
and float16 training track float32, and that a mixed-precision run resumes exactly. Tiny CycleGANs at 32 px."""
from __future__ import annotations

import json

import keras
import numpy as np
import pytest
import tensorflow as tf

from classify import precision
from gan_aug import base, train
from gan_aug.base import compile_gan
from gan_aug.cyclegan import build_cyclegan
from gan_aug.dcgan import build_dcgan
from gan_aug.options import CycleGANOptions, DCGANOptions

TINY = dict(size=32, gen_filters=4, n_blocks=1, disc_filters=4, pool_size=3, seed=3)


def _batch(seed=0):
    rng = np.random.default_rng(seed)
    return (rng.uniform(-1, 1, (1, 32, 32, 3)).astype("float32"),
            rng.uniform(-1, 1, (1, 32, 32, 3)).astype("float32"))


def _model(precision, **kw):
    opts = CycleGANOptions(**{**TINY, **kw}, precision=precision, run_eagerly=True)
    return compile_gan(build_cyclegan(opts), opts)


def _steps(model, n, seed=0):
    """``n`` train steps on one fixed pair; each step's losses (trackers reset so they are not epoch means)."""
    a, b = (tf.constant(x) for x in _batch(seed))
    out = []
    for _ in range(n):
        for tracker in model.metrics:
            tracker.reset_state()
        out.append({k: float(v) for k, v in model.train_step((a, b)).items()})
    return out


# ------------------------------------------------------------------------------------------- choosing
def test_cpu_bf16_detection_reads_the_flags(tmp_path):
    with_bf16 = tmp_path / "zen4"
    with_bf16.write_text("processor\t: 0\nflags\t\t: fpu sse2 avx2 avx512f avx512_bf16 avx512_vnni\n")
    without = tmp_path / "zen2"
    without.write_text("processor\t: 0\nflags\t\t: fpu sse2 avx2 fma\n")
    amx = tmp_path / "sapphire"
    amx.write_text("flags\t\t: avx512f amx_tile amx_bf16 amx_int8\n")
    assert precision.cpu_has_bf16_units(with_bf16) and precision.cpu_has_bf16_units(amx)
    assert not precision.cpu_has_bf16_units(without)
    assert not precision.cpu_has_bf16_units(tmp_path / "missing")  # not Linux: no guess
    assert precision.cpu_has_amx(amx) and not precision.cpu_has_amx(with_bf16)
    assert not precision.cpu_has_amx(tmp_path / "missing")


def test_auto_precision_follows_the_hardware(monkeypatch):
    monkeypatch.setattr(tf.config, "list_physical_devices", lambda kind=None: [])
    monkeypatch.setattr(precision, "cpu_has_bf16_units", lambda *a: False)
    assert precision.resolve_precision("auto") == "float32"
    monkeypatch.setattr(precision, "cpu_has_bf16_units", lambda *a: True)
    assert precision.resolve_precision("auto") == "bfloat16"
    monkeypatch.setattr(tf.config, "list_physical_devices", lambda kind=None: ["GPU:0"])
    assert precision.resolve_precision("auto") == "float16"
    assert precision.resolve_precision("float32") == "float32"  # explicit choices are kept as they are
    with pytest.raises(ValueError, match="precision must be one of float32, bfloat16, float16, auto; got 'fp8'"):
        precision.resolve_precision("fp8")


def test_dtype_policy_is_restored_even_when_building_fails():
    before = keras.config.dtype_policy().name
    with pytest.raises(RuntimeError):
        with base.dtype_policy("bfloat16") as name:
            assert name == "bfloat16" and keras.config.dtype_policy().name == "mixed_bfloat16"
            raise RuntimeError("boom")
    assert keras.config.dtype_policy().name == before


# ------------------------------------------------------------------------------------------- building
def test_bfloat16_cyclegan_computes_in_bfloat16_with_float32_weights_and_outputs():
    m32, m16 = _model("float32"), _model("bfloat16")
    convs = [layer for layer in m16.gen_ab.layers if isinstance(layer, keras.layers.Conv2D)]
    assert convs and all(layer.compute_dtype == "bfloat16" for layer in convs)
    assert all(v.dtype == "float32" for net in (m16.gen_ab, m16.disc_a) for v in net.weights)
    assert isinstance(m16.g_optimizer, keras.optimizers.Adam)  # bfloat16 needs no loss scaling
    # Same seed, same initial weights: the precision changes the arithmetic, not the starting point.
    for v32, v16 in zip(m32.gen_ab.weights, m16.gen_ab.weights):
        np.testing.assert_array_equal(v32.numpy(), v16.numpy())
    a, _ = _batch()
    for net in ("gen_ab", "disc_a"):
        y32, y16 = getattr(m32, net)(a), getattr(m16, net)(a)
        assert y16.dtype == tf.float32 and y16.shape == y32.shape
        scale = float(tf.reduce_mean(tf.abs(y32)))
        err = float(tf.reduce_mean(tf.abs(y16 - y32)))
        assert 0 < err < 0.05 * scale + 1e-3, (net, err, scale)  # rounded, but the same function


def test_float16_wraps_adam_in_dynamic_loss_scaling():
    model = _model("float16")
    for opt in (model.g_optimizer, model.d_optimizer):
        assert isinstance(opt, keras.optimizers.LossScaleOptimizer)
        assert isinstance(opt.inner_optimizer, keras.optimizers.Adam)
    names = [v.path for v in model.state_variables()]
    assert any("dynamic_scale" in n for n in names)  # the loss scale is checkpointed with the rest


# ------------------------------------------------------------------------------------------- training
@pytest.fixture(scope="module")
def float32_losses():
    return _steps(_model("float32"), 16)


def test_bfloat16_training_tracks_float32(float32_losses):
    mixed = _steps(_model("bfloat16"), 16)
    assert mixed[-1]["g_loss"] < 0.92 * mixed[0]["g_loss"]  # the loss goes down ...
    for i, (ref, got) in enumerate(zip(float32_losses, mixed)):  # ... step by step as in float32, up to rounding
        for key in ("g_loss", "cycle_a", "idt_b"):
            assert got[key] == pytest.approx(ref[key], rel=0.015), (i, key)
        if i < 6:  # the small, oscillating D loss drifts apart later (measured: 20 % by step 13; GANs amplify)
            assert got["d_a_loss"] == pytest.approx(ref["d_a_loss"], rel=0.05), (i, "d_a_loss")


def test_float16_loss_scaling_settles_then_tracks_float32(float32_losses):
    model = _model("float16")
    before = [v.numpy().copy() for v in model.gen_ab.trainable_variables]
    mixed = _steps(model, 16)
    assert all(np.isfinite(v) for step in mixed for v in step.values())
    # Keras starts the scale at 2**15; float16 gradients overflow, those steps are skipped and the scale halves
    # until they fit. Then the weights move (nothing flushed to zero) and the loss falls as in float32.
    scale = float(model.g_optimizer.dynamic_scale.numpy())
    assert 1 <= scale < 2**15
    skipped = int(round(np.log2(2**15 / scale)))
    assert 1 <= skipped <= 8
    assert all(not np.array_equal(b, v.numpy()) for b, v in zip(before, model.gen_ab.trainable_variables))
    assert mixed[-1]["g_loss"] < 0.95 * mixed[0]["g_loss"]
    assert mixed[-1]["g_loss"] == pytest.approx(float32_losses[-1 - skipped]["g_loss"], rel=0.03)


def test_bfloat16_resume_equals_uninterrupted(tmp_path):
    full = _model("bfloat16")
    _steps(full, 4)
    part = _model("bfloat16")
    _steps(part, 2)
    part.save_state(tmp_path / "half.npz")
    resumed = _model("bfloat16")
    resumed.load_state(tmp_path / "half.npz")
    _steps(resumed, 2)
    for a, b in zip(full.state_variables(), resumed.state_variables()):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-6, err_msg=a.path)


def test_dcgan_builds_and_steps_in_bfloat16():
    opts = DCGANOptions(size=32, latent_dim=8, gen_filters=4, disc_filters=4, max_filters=16,
                        discriminator="dcgan", precision="bfloat16", run_eagerly=True)
    model = compile_gan(build_dcgan(opts), opts)
    assert model.generator.get_layer(index=2).compute_dtype == "bfloat16"
    images = np.random.default_rng(0).uniform(-1, 1, (4, 32, 32, 3)).astype("float32")
    logs = model.train_on_batch(images, return_dict=True)
    assert all(np.isfinite(float(v)) for v in logs.values())
    assert model.generator(np.zeros((2, 8), "float32")).dtype == tf.float32


# ------------------------------------------------------------------------------------------- CLI
def test_cli_records_the_precision_it_used_and_rejects_unknown_ones(tmp_path, capsys):
    for domain, value in (("A", 200), ("B", 40)):
        (tmp_path / domain).mkdir()
        for i in range(2):
            keras.utils.save_img(tmp_path / domain / f"{i}.png", np.full((36, 36, 3), value + i, np.uint8))
    common = ["cyclegan", "--domain-a", str(tmp_path / "A"), "--domain-b", str(tmp_path / "B"), "--size", "32",
              "--load-size", "36", "--gen-filters", "4", "--n-blocks", "1", "--disc-filters", "4",
              "--epochs", "1", "--n-samples", "2", "--quiet"]
    assert train.main([*common, "--out", str(tmp_path / "bad"), "--precision", "fp8"]) == 2
    assert "invalid choice: 'fp8'" in capsys.readouterr().err
    assert not (tmp_path / "bad").exists()
    assert train.main([*common, "--out", str(tmp_path / "run"), "--precision", "bfloat16"]) == 0
    rec = json.loads((tmp_path / "run" / "run.json").read_text())
    assert rec["status"] == "finished" and rec["precision"] == "bfloat16"
    assert rec["non_defaults"]["precision"] == "bfloat16"
