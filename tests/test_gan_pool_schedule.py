"""Image pool, learning-rate schedule, CycleGAN losses and options: the pieces with exact expected values."""
from __future__ import annotations

import json

import keras
import numpy as np
import pytest

from gan_aug import options as O
from gan_aug.cyclegan import CycleGAN
from gan_aug.networks import patchgan_discriminator
from gan_aug.pool import ImagePool
from gan_aug.schedules import EpochLRSchedule, linear_decay_factor


def _img(v):
    return np.full((1, 2, 2, 1), v, "float32")


def test_pool_fills_first_then_returns_old_images_half_the_time():
    pool = ImagePool(3, (2, 2, 1), seed=123)
    for v in (1.0, 2.0, 3.0):  # filling: every image comes straight back and is stored
        assert float(np.asarray(pool(_img(v)))[0, 0, 0, 0]) == v
    assert int(pool.count.numpy()) == 3
    stored = {1.0, 2.0, 3.0}
    old = 0
    n = 200
    for i in range(n):
        new = 100.0 + i
        out = float(np.asarray(pool(_img(new)))[0, 0, 0, 0])
        if out == new:  # pool unchanged
            continue
        old += 1
        assert out in stored  # an image that was in the pool ...
        stored.remove(out)
        stored.add(new)  # ... replaced by the new one
        assert sorted(np.asarray(pool.images).reshape(3, -1)[:, 0]) == sorted(stored)
    assert int(pool.count.numpy()) == 3
    # p = 0.5: 200 draws give 100 +- 7 (1 sd); allow 4 sd
    assert abs(old - n / 2) < 28, old


def test_pool_is_deterministic_per_seed_and_handles_batches():
    outs = []
    for _ in range(2):
        pool = ImagePool(2, (2, 2, 1), seed=7)
        outs.append([np.asarray(pool(np.arange(4, dtype="float32").reshape(4, 1, 1, 1).repeat(2, 1).repeat(2, 2)
                                     + 10 * k)) for k in range(5)])
    for a, b in zip(*outs):
        np.testing.assert_array_equal(a, b)
    assert outs[0][0].shape == (4, 2, 2, 1)
    np.testing.assert_array_equal(outs[0][0][:2, 0, 0, 0], [0, 1])  # first two fill the pool


def test_pool_size_zero_passes_through():
    pool = ImagePool(0, (2, 2, 1))
    x = np.random.rand(3, 2, 2, 1).astype("float32")
    np.testing.assert_array_equal(np.asarray(pool(x)), x)


def test_linear_decay_matches_junyanz_lambda_rule():
    # 1 - max(0, epoch + epoch_count - n_epochs) / (n_epochs_decay + 1), epoch_count = 1
    assert linear_decay_factor(0) == 1.0
    assert linear_decay_factor(99) == 1.0
    assert linear_decay_factor(100) == pytest.approx(1 - 1 / 101)
    assert linear_decay_factor(150) == pytest.approx(1 - 51 / 101)
    assert linear_decay_factor(199) == pytest.approx(1 - 100 / 101)
    assert linear_decay_factor(5, n_epochs=3, n_epochs_decay=3) == pytest.approx(1 - 3 / 4)


def test_epoch_schedule_callback_sets_every_optimizer():
    class Holder:
        g_optimizer = keras.optimizers.Adam(1.0)
        d_optimizer = keras.optimizers.Adam(1.0)

    cb = EpochLRSchedule(2e-4, linear_decay_factor, ("g_optimizer", "d_optimizer"))
    cb.set_model(Holder())
    for epoch in (0, 100, 150, 199):
        cb.on_epoch_begin(epoch)
        for opt in (Holder.g_optimizer, Holder.d_optimizer):
            assert float(opt.learning_rate.numpy()) == pytest.approx(2e-4 * linear_decay_factor(epoch), rel=1e-6)


def _fn_generator(fn, size=32):
    inp = keras.Input((size, size, 3))
    return keras.Model(inp, keras.layers.Lambda(fn)(inp))


def test_identity_and_cycle_losses_vanish_for_identity_generators():
    d = lambda: patchgan_discriminator(32, filters=2)  # noqa: E731
    model = CycleGAN(_fn_generator(lambda x: x), _fn_generator(lambda x: x), d(), d(), pool_size=0)
    a = np.random.uniform(-1, 1, (2, 32, 32, 3)).astype("float32")
    b = np.random.uniform(-1, 1, (2, 32, 32, 3)).astype("float32")
    losses = model.generator_losses(a, b, training=False)
    for k in ("cycle_a", "cycle_b", "idt_a", "idt_b"):
        assert float(losses[k]) == 0.0, k
    # negation: cycles still close (-(-x) = x) but the identity loss is λ·0.5·mean|2x|
    neg = CycleGAN(_fn_generator(lambda x: -x), _fn_generator(lambda x: -x), d(), d(), pool_size=0)
    losses = neg.generator_losses(a, b, training=False)
    assert float(losses["cycle_a"]) == pytest.approx(0.0, abs=1e-6)
    assert float(losses["idt_a"]) == pytest.approx(10 * 0.5 * np.mean(np.abs(2 * b)), rel=1e-5)
    assert float(losses["idt_b"]) == pytest.approx(10 * 0.5 * np.mean(np.abs(2 * a)), rel=1e-5)


def test_every_default_has_a_source_and_non_defaults_are_flagged(tmp_path):
    for cls in O.OPTIONS.values():
        for f in O.fields(cls):
            assert f.metadata["source"] and f.metadata["help"], (cls.__name__, f.name)
    c = O.CycleGANOptions()
    assert (c.size, c.load_size, c.n_blocks, c.pool_size, c.lambda_cycle, c.lambda_identity, c.lr, c.beta_1,
            c.n_epochs, c.n_epochs_decay, c.gan_mode, c.batch_size) == (256, 286, 9, 50, 10.0, 0.5, 2e-4, 0.5,
                                                                         100, 100, "lsgan", 1)
    d = O.DCGANOptions()
    assert (d.size, d.latent_dim, d.noise, d.discriminator) == (256, 125, "uniform", "resnet18")
    assert O.ACGANOptions().size == 128
    opts = O.CycleGANOptions(size=32, n_blocks=2)
    assert O.non_defaults(opts) == {"size": 32, "n_blocks": 2}
    from classify.cli import format_options
    from classify.files import write_json

    import dataclasses

    text = format_options(dataclasses.asdict(opts), O.defaults(opts))
    assert "[default: 256]" in text and "[default: 50]" not in text
    write_json(tmp_path / "run.json", O.options_record(opts))
    rec = json.loads((tmp_path / "run.json").read_text())
    assert rec["non_defaults"] == {"size": 32, "n_blocks": 2}
    assert "junyanz" in rec["defaults"]["pool_size"]["source"]
