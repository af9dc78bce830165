"""Image pool, learning-rate schedule, CycleGAN and DCGAN losses and options: the pieces with exact expected
values."""
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


def _linear(kernel: np.ndarray, side: int = 2) -> keras.Model:
    """A trainable 1x1 convolution without bias, set to ``kernel`` (``channels_in x channels_out``): every pixel
    ``y = x @ kernel``. As a generator ``np.eye(3)`` is the identity and ``-np.eye(3)`` negates; as a
    discriminator a one-column kernel scores each pixel by a known linear form of its channels."""
    inp = keras.Input((side, side, 3))
    conv = keras.layers.Conv2D(kernel.shape[1], 1, use_bias=False)
    model = keras.Model(inp, conv(inp))
    conv.set_weights([kernel[None, None].astype("float32")])
    return model


def _np_adv(mode: str, scores: np.ndarray, real: bool) -> float:
    """The adversarial loss by hand: LSGAN ``mean((s - t)^2)`` with t = 1 real, 0 fake (Mao et al.; Zhu et al.
    §4); vanilla BCE on logits ``mean(-log σ(s))`` for real, ``mean(-log(1 - σ(s)))`` for fake (junyanz
    ``GANLoss``)."""
    if mode == "lsgan":
        return float(np.mean((scores - (1.0 if real else 0.0)) ** 2))
    p = 1.0 / (1.0 + np.exp(-scores))
    return float(np.mean(-np.log(p if real else 1.0 - p)))


@pytest.mark.parametrize("mode", ["lsgan", "vanilla"])
def test_cyclegan_step_losses_equal_hand_computed_targets_and_half_d_loss(mode):
    """Catches real/fake targets swapped (in the loss functions, in the generator terms or in the discriminator
    loss), the ½ of ``loss_D = (loss_D_real + loss_D_fake) * 0.5`` (junyanz ``backward_D_basic``) dropped, BCE and
    least squares confused, and a discriminator judging the wrong domain. One real ``train_step`` on 2x2 images
    with linear networks whose outputs are known: G_AB = identity, G_BA = negation, disc_a scores channel 0,
    disc_b half of channel 1 (two different forms, so a mix-up shows). Every loss the step reports is computed
    before any update of the networks it scores, so it must equal numpy's value on the initial networks."""
    rng = np.random.default_rng(5)
    a, b = (rng.uniform(-2, 2, (1, 2, 2, 3)).astype("float32") for _ in range(2))
    model = CycleGAN(_linear(np.eye(3)), _linear(-np.eye(3)), _linear(np.array([[1.0], [0.0], [0.0]])),
                     _linear(np.array([[0.0], [0.5], [0.0]])), pool_size=0, gan_mode=mode)
    model.compile(g_optimizer=keras.optimizers.Adam(), d_optimizer=keras.optimizers.Adam(), run_eagerly=True)
    got = {k: float(v) for k, v in model.train_step((a, b)).items()}

    a, b = a.astype("float64"), b.astype("float64")
    fake_b, fake_a = a, -b                                   # G_AB(a), G_BA(b)
    disc_a, disc_b = (lambda x: x[..., 0]), (lambda x: 0.5 * x[..., 1])
    lam, lam_idt = 10.0, 0.5                                 # the CycleGAN defaults (Zhu et al. §4, §5.2)
    want = {
        "g_a_adv": _np_adv(mode, disc_b(fake_b), real=True),  # G_AB wants disc_b to call its fakes real
        "g_b_adv": _np_adv(mode, disc_a(fake_a), real=True),
        "d_a_loss": 0.5 * (_np_adv(mode, disc_a(a), True) + _np_adv(mode, disc_a(fake_a), False)),
        "d_b_loss": 0.5 * (_np_adv(mode, disc_b(b), True) + _np_adv(mode, disc_b(fake_b), False)),
        "cycle_a": lam * np.mean(np.abs(-a - a)),            # G_BA(G_AB(a)) = -a
        "cycle_b": lam * np.mean(np.abs(-b - b)),            # G_AB(G_BA(b)) = -b
        "idt_a": 0.0,                                        # G_AB(b) = b
        "idt_b": lam_idt * lam * np.mean(np.abs(-a - a)),    # G_BA(a) = -a
    }
    want["g_loss"] = sum(want[k] for k in ("g_a_adv", "g_b_adv", "cycle_a", "cycle_b", "idt_a", "idt_b"))
    assert set(got) == set(want)
    for k, v in want.items():
        assert got[k] == pytest.approx(v, rel=1e-5, abs=1e-6), k


def test_dcgan_step_losses_are_unhalved_bce_with_the_right_targets():
    """Catches DCGAN's real/fake targets swapped and a ½ borrowed from CycleGAN: its recipe (the PyTorch DCGAN
    example Cho followed, ``errD = errD_real + errD_fake``) sums the two BCE terms. A generator whose output is a
    fixed image whatever the noise (zero kernel, known bias) and a linear discriminator make every logit known;
    with learning rate 0 the step's update changes nothing, so the generator's loss, taken after D's update, is
    known too."""
    from gan_aug.dcgan import DCGAN

    rng = np.random.default_rng(6)
    real = rng.uniform(-1, 1, (2, 2, 2, 3)).astype("float32")
    fake_image, w = (rng.uniform(-1, 1, 12).astype("float32") for _ in range(2))
    z = keras.Input((4,))
    dense = keras.layers.Dense(12, kernel_initializer="zeros")
    gen = keras.Model(z, keras.layers.Reshape((2, 2, 3))(dense(z)))
    dense.set_weights([np.zeros((4, 12), "float32"), fake_image])
    x = keras.Input((2, 2, 3))
    score = keras.layers.Dense(1, use_bias=False)
    disc = keras.Model(x, score(keras.layers.Flatten()(x)))
    score.set_weights([w[:, None]])
    model = DCGAN(gen, disc, seed=0)
    model.compile(g_optimizer=keras.optimizers.Adam(0.0), d_optimizer=keras.optimizers.Adam(0.0), run_eagerly=True)
    got = {k: float(v) for k, v in model.train_step(real).items()}

    w = w.astype("float64")
    s_real = real.reshape(2, 12).astype("float64") @ w        # one logit per real image
    s_fake = np.full(2, fake_image.astype("float64") @ w)     # the same fake image twice
    sigmoid = lambda s: 1.0 / (1.0 + np.exp(-s))  # noqa: E731
    want = {"d_loss": _np_adv("vanilla", s_real, True) + _np_adv("vanilla", s_fake, False),
            "g_loss": _np_adv("vanilla", s_fake, True),      # non-saturating: G wants its fakes called real
            "d_real": float(np.mean(sigmoid(s_real))), "d_fake": float(np.mean(sigmoid(s_fake)))}
    assert set(got) == set(want)
    for k, v in want.items():
        assert got[k] == pytest.approx(v, rel=1e-5, abs=1e-6), k


def test_gan_loss_functions_by_hand():
    """The two loss functions alone on three fixed scores (each with both targets), against :func:`_np_adv`: the
    pieces every model (CycleGAN, DCGAN, ACGAN) builds its objective from."""
    from gan_aug.base import bce_logits_loss, gan_loss, lsgan_loss

    scores = np.array([[-1.5], [0.25], [2.0]], "float32")
    assert gan_loss("lsgan") is lsgan_loss and gan_loss("vanilla") is bce_logits_loss
    for mode, fn in (("lsgan", lsgan_loss), ("vanilla", bce_logits_loss)):
        for real in (True, False):
            assert float(fn(scores, real)) == pytest.approx(_np_adv(mode, scores.astype("float64"), real),
                                                            rel=1e-6), (mode, real)


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
