"""What the three GAN models share: loss functions, ``Mean`` trackers and the complete training state.

The models follow the keras-io examples: ``keras.Model`` subclasses overriding ``compile`` and ``train_step``,
losses reported through ``keras.metrics.Mean`` trackers, so ``model.fit`` gives progress bars, callbacks and
history. :meth:`GAN.state_variables` lists *everything* a resumed run needs to continue exactly: every network
weight (batch-norm statistics included), every optimizer slot and iteration count, the image pools, and the
random-number state of every ``SeedGenerator`` (noise, pool draws, dropout).

Under ``tf.distribute`` (``TrainOptions.distribute``; :func:`classify.training.distribution_strategy`) each replica
runs ``train_step`` on its slice of the global batch; the helpers below keep such a step equal to one device's on
the whole batch: a loss is divided by the number of replicas before its gradient (the optimizer all-reduce *sums*
the replicas' gradients), random draws are made for the global batch from the mirrored seed state (identical on
every replica) and each replica takes its own rows, and the image pools run on the gathered global batch.
"""
from __future__ import annotations

import contextlib
import os
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from classify.precision import resolve_precision


# --------------------------------------------------------------------------------------------------- losses
def lsgan_loss(scores, target_is_real: bool):
    """Least-squares GAN loss ``mean((D(x) - t)^2)``, t = 1 for real, 0 for fake (Mao et al.; Zhu et al. §4)."""
    target = 1.0 if target_is_real else 0.0
    return tf.reduce_mean(tf.square(scores - target))


def bce_logits_loss(logits, target_is_real: bool):
    """Binary cross-entropy on logits against all-ones (real) or all-zeros (fake): ``-log σ(±D(x))``."""
    labels = tf.ones_like(logits) if target_is_real else tf.zeros_like(logits)
    return tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(labels=labels, logits=logits))


def gan_loss(mode: str):
    """``lsgan`` -> :func:`lsgan_loss`, ``vanilla`` -> :func:`bce_logits_loss` (junyanz ``GANLoss``)."""
    try:
        return {"lsgan": lsgan_loss, "vanilla": bce_logits_loss}[mode]
    except KeyError:
        raise ValueError(f"gan_mode must be 'lsgan' or 'vanilla', got {mode!r}") from None


def l1_loss(a, b):
    """Mean absolute difference ``mean(|a - b|)`` (``torch.nn.L1Loss``)."""
    return tf.reduce_mean(tf.abs(a - b))


def class_loss(labels, logits):
    """Mean negative log-likelihood of the correct class, ``-mean(log softmax(logits)[label])``."""
    return tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=tf.cast(labels, tf.int32),
                                                                         logits=logits))


# ---------------------------------------------------------------------------------------------- precision
@contextlib.contextmanager
def dtype_policy(precision: str):
    """Build Keras layers under ``precision`` (resolved by ``classify.precision.resolve_precision``) inside the
    block: ``float32``, or mixed precision (weights and optimizer state float32, computation in ``bfloat16`` /
    ``float16``). The networks' output layers are float32 whatever the policy, so losses, image pools and saved
    images stay float32."""
    name = resolve_precision(precision)
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy("float32" if name == "float32" else f"mixed_{name}")
    try:
        yield name
    finally:
        keras.config.set_dtype_policy(previous)


def adam(opts) -> keras.optimizers.Optimizer:
    """``Adam(opts.lr, opts.beta_1, opts.beta_2)``; under float16 wrapped in a dynamic ``LossScaleOptimizer``
    (small float16 gradients would flush to zero; bfloat16 has float32's range and needs no scaling)."""
    optimizer = keras.optimizers.Adam(opts.lr, beta_1=opts.beta_1, beta_2=opts.beta_2)
    if resolve_precision(opts.precision) == "float16":
        optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
    return optimizer


# ------------------------------------------------------------------------------------------- tf.distribute
def replica_count() -> int:
    """Replicas the current step runs on: ``num_replicas_in_sync`` inside a ``tf.distribute`` replica context,
    else 1."""
    ctx = tf.distribute.get_replica_context()
    return 1 if ctx is None else int(ctx.num_replicas_in_sync)


def for_gradient(loss):
    """``loss`` as this replica's share of the global batch's loss: ``loss / replicas`` (each replica's loss is a
    mean over its own rows, and the optimizer sums the replicas' gradients); unchanged on one device."""
    n = replica_count()
    return loss if n == 1 else loss / tf.cast(n, loss.dtype)


def replica_rows(values, n):
    """Rows ``[i·n, (i+1)·n)`` of ``values`` on replica ``i`` (``values`` drawn or gathered for the global batch,
    the same on every replica); ``values`` unchanged on one device."""
    if replica_count() == 1:
        return values
    start = tf.cast(tf.distribute.get_replica_context().replica_id_in_sync_group, tf.int32) * n
    return values[start:start + n]


def gather_global(values):
    """The global batch: every replica's ``values`` concatenated in replica order (the order
    ``tf.distribute`` split the batch in); ``values`` unchanged on one device."""
    if replica_count() == 1:
        return values
    return tf.distribute.get_replica_context().all_gather(values, axis=0)


# --------------------------------------------------------------------------------------------------- base
class GAN(keras.Model):
    """Base class: ``Mean`` trackers by name, optimizer building, and save/restore of the full state."""

    tracker_names: tuple[str, ...] = ()

    def __init__(self, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.seed_generator = keras.random.SeedGenerator(seed, name="noise_seed")
        self.trackers = {n: keras.metrics.Mean(name=n) for n in self.tracker_names}
        # The networks come built; without this, fit under tf.distribute would try to build the model by calling
        # it on a batch of training data (which a DCGAN's call, taking noise, cannot take).
        self.built = True

    @property
    def metrics(self):
        # Listed here so Keras resets them at the start of every epoch (keras-io pattern).
        return list(self.trackers.values())

    def _update(self, **values) -> dict:
        for name, value in values.items():
            self.trackers[name].update_state(value)
        return {name: t.result() for name, t in self.trackers.items()}

    # The optimizers compile() sets, and the networks each one trains.
    optimizer_attrs: tuple[str, ...] = ("g_optimizer", "d_optimizer")

    def compile(self, g_optimizer: keras.optimizers.Optimizer, d_optimizer: keras.optimizers.Optimizer,
                jit_compile: bool = False, **kwargs):
        """One optimizer for the generator(s), one for the discriminator(s); slots are built at once."""
        super().compile(jit_compile=jit_compile, **kwargs)
        self.g_optimizer, self.d_optimizer = g_optimizer, d_optimizer
        self.build_optimizers()

    def _networks_for(self, optimizer_attr: str) -> list[keras.Model]:
        """The networks an optimizer trains (one generator and one discriminator unless overridden)."""
        return [self.generator] if optimizer_attr == "g_optimizer" else [self.discriminator]

    def build_optimizers(self) -> None:
        """Create the optimizers' slot variables now (needed before restoring them from a checkpoint)."""
        for attr in self.optimizer_attrs:
            variables = [v for net in self._networks_for(attr) for v in net.trainable_variables]
            getattr(self, attr).build(variables)

    def state_variables(self) -> list:
        """Every variable whose value a resumed run needs, in a fixed order (weights, RNG, pools, optimizers)."""
        seen, out = set(), []
        candidates = list(self.variables)
        for attr in self.optimizer_attrs:
            candidates += list(getattr(self, attr).variables)
        for v in candidates:
            if id(v) not in seen:
                seen.add(id(v))
                out.append(v)
        return out

    def save_state(self, path: str | os.PathLike) -> Path:
        """Write :meth:`state_variables` to an ``.npz`` file atomically (:func:`classify.files.atomic_open`)."""
        from classify.files import atomic_open

        arrays = {f"v{i:05d}": np.asarray(keras.ops.convert_to_numpy(v)) for i, v in enumerate(self.state_variables())}
        names = np.array([v.path for v in self.state_variables()])
        with atomic_open(path, "wb") as f:
            np.savez(f, __names__=names, **arrays)
        return Path(path)

    def load_state(self, path: str | os.PathLike) -> None:
        """Restore a :meth:`save_state` file; shapes and count must match (same options, same model)."""
        variables = self.state_variables()
        with np.load(path) as data:
            n = len([k for k in data.files if k.startswith("v")])
            if n != len(variables):
                raise ValueError(f"{path}: holds {n} variables, this model has {len(variables)} "
                                 "(built with other options?)")
            for i, v in enumerate(variables):
                value = data[f"v{i:05d}"]
                if tuple(value.shape) != tuple(v.shape):
                    raise ValueError(f"{path}: variable {i} ({v.path}) has shape {value.shape}, expected {v.shape}")
                v.assign(value)


def compile_gan(model: GAN, opts) -> GAN:
    """Compile any GAN of this package for ``opts``: one Adam(lr, β1, β2) for the generator(s) and one for the
    discriminator(s) (Zhu et al. §4; Radford et al. §4: 2e-4, 0.5; :func:`adam`), XLA when ``opts.jit_compile``,
    eager when ``opts.run_eagerly``."""
    model.compile(g_optimizer=adam(opts), d_optimizer=adam(opts), jit_compile=opts.jit_compile and not opts.run_eagerly,
                  run_eagerly=opts.run_eagerly)
    return model
