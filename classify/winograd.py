"""3x3 convolutions by Winograd F(4x4, 3x3) (Lavin & Gray 2016) where that pays: float32 on a CPU.

Used by both generators' networks: the NST engine's VGG (every conv is 3x3, stride 1, zero ``same`` padding;
:mod:`nst_aug.vgg`) and the CycleGAN ResNet generator's residual blocks (reflection padding folded into the tile
gather; :mod:`gan_aug.networks`). Same weights and the same function as ``Conv2D`` up to float rounding
(``tests/test_gan_networks.py``, ``tests/test_nst_engine.py``). The layer is registered for ``.keras`` saving under
the package name ``gan_aug``, where it was first defined, so generators exported before it moved still load.
"""
from __future__ import annotations

import functools

import keras
import numpy as np
import tensorflow as tf
from keras import layers


#: ``algorithm="auto"`` takes the Winograd path only from this many input x output channels: below it the
#: transforms cost more than they save. Measured forward + input gradient, 2-core AVX-512 CPU, float32, idle
#: (direct ms / Winograd ms): 224 px 3→64 10.2/18.2, 64→64 37/53; 112 px 64→128 19.3/18.1, 128→128 35.2/32.9;
#: 56 px 128→256 20.3/14.6, 256→256 39.6/21.4; 28 px 256→512 20.0/14.1, 512→512 39.6/24.3. At 128 px, batch 4:
#: 128 px 64→64 45.2/54.6, 64 px 64→128 22.3/17.2, 128→128 44.1/31.9, 8 px 512→512 13.6/10.9 (7.9 with the
#: kernel transformed once, :meth:`Winograd3x3Conv2D.freeze`). So 64→64 stays direct and 64→128 pays.
MIN_CHANNEL_PRODUCT = 64 * 128
#: The same for a frozen layer with zero padding (:func:`frozen_same_conv3x3`: input gradient by Winograd too).
#: 64→64, forward + input gradient, direct ms / frozen Winograd ms: 224 px batch 1 35.9/35.3, batch 4
#: 141.8/136.8; 128 px batch 1 11.8/9.8, batch 2 23.3/21.5, batch 4 45.9/42.0 (64→128 at 112 px 18.1/13.4).
MIN_CHANNEL_PRODUCT_FROZEN = 64 * 64


@functools.lru_cache(maxsize=1)
def bf16_winograd_pays() -> bool:
    """Whether a layer computing in bfloat16 (mixed precision) should run its convolution as float32 Winograd.

    On a CPU whose bfloat16 units are AVX512-BF16 dot products without AMX, float32 Winograd beats bfloat16 direct
    convolution and is more precise: 256→256 at 32x32 (a CycleGAN residual conv), forward + input and kernel
    gradients, 2-core Zen 4: batch 1 9.8 ms against 12.5 ms (float32 direct 18.3), batch 4 28.6 against 42.0;
    relative error against float32 3e-6 instead of bfloat16's 3e-3 (Winograd with the product in bfloat16 was
    9x less precise than that: not used). With AMX, bfloat16 direct is several times faster (README: CycleGAN
    1.0 vs 0.6 images/s); so is a GPU's float16, which never takes the Winograd path.
    """
    from .precision import cpu_has_amx, cpu_has_bf16_units

    return cpu_has_bf16_units() and not cpu_has_amx()


def reflect_pad(x, p: int):
    """Pad an NHWC tensor's height and width by ``p`` pixels mirroring the border (edge not repeated)."""
    return keras.ops.pad(x, [[0, 0], [p, p], [p, p], [0, 0]], mode="reflect")


def only_plain_convolution(layer: str, kwargs: dict, paddings: tuple[str, ...] = ("valid",)) -> None:
    """Refuse ``Conv2D`` arguments other than stride 1, a padding of ``paddings``, no dilation, channels-last, one
    group.

    Lists count as tuples: a config read back from a ``.keras`` file (JSON) has ``strides=[1, 1]``.
    """
    for key, ok in (("strides", (1, (1, 1))), ("padding", paddings), ("dilation_rate", (1, (1, 1))),
                    ("data_format", (None, "channels_last")), ("groups", (1,))):
        value = kwargs.get(key, ok[0])
        if (tuple(value) if isinstance(value, list) else value) not in ok:
            raise ValueError(f"{layer} supports only {key}={ok[0]!r}, got {value!r}")


# Winograd F(4x4, 3x3) (Lavin & Gray 2016, "Fast Algorithms for Convolutional Neural Networks", §4.2): one 4x4
# output tile from a 6x6 input tile is A^T [(G g G^T) * (B^T d B)] A, 36 multiplications per channel pair instead
# of 144. As Kronecker products each transform is one small matrix acting on the 36 tile positions.
_WINOGRAD_BT = ((4, 0, -5, 0, 1, 0), (0, -4, -4, 1, 1, 0), (0, 4, -4, -1, 1, 0),
                (0, -2, -1, 2, 1, 0), (0, 2, -1, -2, 1, 0), (0, 4, 0, -5, 0, 1))
_WINOGRAD_G = ((1 / 4, 0, 0), (-1 / 6, -1 / 6, -1 / 6), (-1 / 6, 1 / 6, -1 / 6),
               (1 / 24, 1 / 12, 1 / 6), (1 / 24, -1 / 12, 1 / 6), (0, 0, 1))
_WINOGRAD_AT = ((1, 1, 1, 1, 1, 0), (0, 1, -1, 2, -2, 0), (0, 1, 1, 4, 4, 0), (0, 1, -1, 8, -8, 1))
#: The same as Kronecker products: input (36x36), kernel (36x9) and output (16x36) transforms.
_WINOGRAD_INPUT, _WINOGRAD_KERNEL, _WINOGRAD_OUTPUT = (
    np.kron(m, m).astype("float32") for m in (np.asarray(v, np.float64)
                                              for v in (_WINOGRAD_BT, _WINOGRAD_G, _WINOGRAD_AT)))


def winograd_kernel(kernel):
    """The transformed kernel ``G g Gᵀ`` of a ``(3, 3, C, C_out)`` kernel: ``(36, C, C_out)``, one ``C x C_out``
    matrix per tile position."""
    c, c_out = kernel.shape[2], kernel.shape[3]
    u = tf.matmul(_WINOGRAD_KERNEL, tf.reshape(tf.cast(kernel, tf.float32), [9, c * c_out]))
    return tf.reshape(u, [36, c, c_out])


def winograd_conv3x3(x, kernel, reflect: bool = False, transformed_kernel=None):
    """``conv2d(x, kernel, stride 1, VALID)`` for a 3x3 kernel by Winograd F(4x4, 3x3), as batched matmuls.

    ``x`` is ``(N, H + 2, W + 2, C)`` float32 with static ``H``, ``W`` divisible by 4; ``kernel`` is
    ``(3, 3, C, C_out)``. The tiles are gathered from the flattened image (gradient: one scatter-add), the
    three transforms are matmuls with 36x36 / 36x9 / 16x36 constant matrices, and the channel mixing is one
    batched matmul of 36 ``(N·H·W/16, C) x (C, C_out)`` products: 4x fewer multiply-adds than direct
    convolution, and its gradients are matmuls of the same size. With ``reflect``, ``x`` is ``(N, H, W, C)``
    and is first padded by one pixel by reflection (``ReflectionPadding2D(1)``) at no cost: the tiles are
    gathered at mirrored indices. ``transformed_kernel`` is :func:`winograd_kernel` of the kernel computed
    beforehand (frozen weights): the kernel transform is then not run and ``kernel`` is not read (may be None).
    Same function as ``tf.nn.conv2d`` up to float rounding (relative error ~1e-5 in float32; tested), which is why
    it computes in float32 only (a bfloat16 :class:`Winograd3x3Conv2D` widens its input for it).
    """
    n_out, tile = 4, 6
    pad = 0 if reflect else 2
    h, w, c = x.shape[1] - pad, x.shape[2] - pad, x.shape[3]
    c_out = (kernel if transformed_kernel is None else transformed_kernel).shape[-1]
    th, tw = h // n_out, w // n_out
    # Pixel (row, col) of the padded image at tile position (i, j) of tile (ty, tx), ordered (i, j, ty, tx).
    i, j, ty, tx = np.meshgrid(np.arange(tile), np.arange(tile), np.arange(th), np.arange(tw), indexing="ij")
    row, col = ty * n_out + i, tx * n_out + j
    if reflect:  # padded row r is row |r - 1| of x, and row 2(H - 1) - (r - 1) past the far edge
        row, col = (np.abs(r - 1) for r in (row, col))
        row, col = (np.where(r > size - 1, 2 * (size - 1) - r, r) for r, size in ((row, h), (col, w)))
    index = (row * (w + pad) + col).reshape(-1).astype("int32")

    n = tf.shape(x)[0]
    # Gathered straight into (36, N, T) order from the (N·pixels, C) image: no transpose of the 2.25x larger tiles
    index = tf.reshape(index.reshape(tile * tile, 1, th * tw)
                       + tf.range(n)[None, :, None] * ((h + pad) * (w + pad)), [-1])
    d = tf.reshape(tf.gather(tf.reshape(x, [-1, c]), index), [tile * tile, -1])     # (36, N·T·C)
    v = tf.reshape(tf.matmul(_WINOGRAD_INPUT, d), [tile * tile, -1, c])
    u = winograd_kernel(kernel) if transformed_kernel is None else transformed_kernel
    m = tf.matmul(v, u)                                                                # (36, N·T, C_out)
    y = tf.matmul(_WINOGRAD_OUTPUT, tf.reshape(m, [tile * tile, -1]))
    y = tf.transpose(tf.reshape(y, [n_out, n_out, n, th, tw, c_out]), [2, 3, 0, 4, 1, 5])
    return tf.reshape(y, [n, h, w, c_out])


def _zero_pad1(x):
    return tf.pad(x, [[0, 0], [1, 1], [1, 1], [0, 0]])


def frozen_same_conv3x3(x, transformed_kernel, transformed_flipped_kernel):
    """``conv2d(x, kernel, stride 1, SAME)`` of a fixed kernel, forward and input gradient both by Winograd.

    ``x`` is ``(N, H, W, C)`` with static ``H``, ``W`` divisible by 4; the kernels are :func:`winograd_kernel` of
    the ``(3, 3, C, C_out)`` kernel and of the kernel rotated by 180° with its channel axes swapped, because the
    input gradient of a ``SAME`` 3x3 correlation is the ``SAME`` correlation of the upstream gradient with that
    kernel. Autodiff of :func:`winograd_conv3x3` reaches the same gradient through the transposed transforms, a
    scatter-add for the gather and two transposes; written as a second forward convolution it took 201.8 instead
    of 222.6 ms for VGG16's convolutions from block1_conv2 to block5_conv2 (forward + input gradient, 128 px,
    batch 4, 2-core CPU), and block1_conv2 (64→64, 128 px) 42.0 ms against 45.9 direct. No kernel gradient: for
    frozen weights (:meth:`Winograd3x3Conv2D.freeze`).
    """
    @tf.custom_gradient
    def conv(x):
        def grad(upstream):
            return winograd_conv3x3(_zero_pad1(upstream), None, transformed_kernel=transformed_flipped_kernel)
        return winograd_conv3x3(_zero_pad1(x), None, transformed_kernel=transformed_kernel), grad
    return conv(x)


@keras.saving.register_keras_serializable(package="gan_aug")
class Winograd3x3Conv2D(layers.Conv2D):
    """``Conv2D`` (3x3, stride 1, ``valid``, channels-last) computed by :func:`winograd_conv3x3` where that pays.

    ``reflect=True`` makes it ``ReflectionPadding2D(1)`` followed by the convolution (output size = input
    size); the Winograd path folds the padding into its gather, so neither the pad nor its gradient is run.
    ``padding="same"`` pads by one pixel of zeros (VGG's convolutions; output size = input size).

    Same weights (checkpoints of a plain ``Conv2D`` load), same outputs and gradients up to float rounding. With
    ``algorithm="auto"`` the Winograd path is taken when the layer computes in float32, the output height and
    width are static multiples of 4, input x output channels are at least :data:`MIN_CHANNEL_PRODUCT` and no GPU
    is visible (cuDNN picks its own algorithms); otherwise, and with
    ``algorithm="direct"``, it is ``Conv2D``. A layer computing in bfloat16 takes it too — in float32, its input
    widened and its output rounded back — where that beats the CPU's bfloat16 direct kernels
    (:func:`bf16_winograd_pays`: AVX512-BF16 without AMX); Winograd with a bfloat16 product would cost too much
    precision. On a 2-core AVX512 CPU it ran a 128 px ResNet-9 generator's
    forward + backward pass 1.58x faster (its 18 residual convs at 32x32x256; before ``reflect`` and
    :class:`InstanceNormalization`).
    """

    def __init__(self, filters, kernel_size=3, algorithm="auto", reflect: bool = False, **kwargs):
        only_plain_convolution("Winograd3x3Conv2D", kwargs, ("valid", "same"))
        if kernel_size not in (3, (3, 3), [3, 3]):
            raise ValueError(f"Winograd3x3Conv2D needs kernel_size=3, got {kernel_size!r}")
        if algorithm not in ("auto", "winograd", "direct"):
            raise ValueError(f"algorithm must be 'auto', 'winograd' or 'direct', got {algorithm!r}")
        super().__init__(filters, 3, **kwargs)
        self.algorithm = algorithm
        self.reflect = bool(reflect)
        self.frozen = False
        self._frozen_kernel = None  # (transform, flipped kernel's transform or None), made on first use
        if self.reflect and self.padding != "valid":
            raise ValueError("Winograd3x3Conv2D pads by reflection (reflect=True) or by zeros (padding='same'), "
                             "not both")

    def uses_winograd(self, input_shape) -> bool:
        pad = 0 if self.reflect or self.padding == "same" else 2
        h, w = input_shape[1], input_shape[2]
        fits = h is not None and w is not None and (h - pad) % 4 == 0 and (w - pad) % 4 == 0
        if not fits and self.algorithm == "winograd":
            raise ValueError(f"Winograd3x3Conv2D(algorithm='winograd') needs static output height and width "
                             f"divisible by 4; the input is {tuple(input_shape)}")
        if not fits or self.algorithm != "auto":
            return fits and self.algorithm == "winograd"
        return self._pays(input_shape[-1], frozen_same=self.frozen and self._zero_padded())

    def _pays(self, channels, frozen_same: bool = False) -> bool:
        least = MIN_CHANNEL_PRODUCT_FROZEN if frozen_same else MIN_CHANNEL_PRODUCT
        wide = channels is not None and channels * self.filters >= least
        if not wide or tf.config.list_logical_devices("GPU"):
            return False
        return self.compute_dtype == "float32" or (self.compute_dtype == "bfloat16" and bf16_winograd_pays())

    def _zero_padded(self) -> bool:
        return self.padding == "same" and not self.reflect

    def freeze(self) -> None:
        """Declare the weights final (the NST engine's VGG): the kernel is then transformed once, not per call.

        On the first call that takes the Winograd path the transformed kernel is computed (eagerly, also while a
        ``tf.function`` is traced) and kept: in a 128 px NST step at batch 4 the per-call transform took ~25 of
        ~300 ms, most of it in the 512-channel layers. With ``padding="same"`` the input gradient becomes a second
        Winograd convolution (:func:`frozen_same_conv3x3`), which also makes 64→64 layers pay
        (:data:`MIN_CHANNEL_PRODUCT_FROZEN`); the kernel gradient is then no longer computed. Costs 4x the
        kernel's memory per transform (36 instead of 9 numbers per channel pair; with the flipped kernel's,
        ~400 MB for VGG16 up to block5_conv2 at sizes where every layer takes the Winograd path). ``set_weights``
        afterwards is refused: functions already traced would go on using the old transforms.
        """
        self.frozen = True

    def frozen_transforms(self):
        """``(transform, flipped transform or None)`` of a frozen layer's kernel, computed once."""
        if not self.frozen:
            raise RuntimeError(f"{self.name} is not frozen")
        if self._frozen_kernel is None:
            with tf.init_scope():  # eager even inside a traced function: a constant the graph captures
                kernel = tf.convert_to_tensor(self.kernel)
                flipped = (winograd_kernel(tf.transpose(kernel[::-1, ::-1], [0, 1, 3, 2]))
                           if self._zero_padded() else None)
                self._frozen_kernel = (winograd_kernel(kernel), flipped)
        return self._frozen_kernel

    def set_weights(self, weights):
        if self.frozen:
            raise RuntimeError(f"{self.name}: weights set after freeze(); build a new layer instead")
        super().set_weights(weights)

    def convolution_op(self, inputs, kernel):
        if not self.uses_winograd(inputs.shape):
            return super().convolution_op(reflect_pad(inputs, 1) if self.reflect else inputs, kernel)
        if inputs.dtype != tf.float32:  # a bfloat16 layer where float32 Winograd is faster (bf16_winograd_pays)
            out = self._winograd(tf.cast(inputs, tf.float32), tf.cast(kernel, tf.float32))
            return tf.cast(out, inputs.dtype)
        return self._winograd(inputs, kernel)

    def _winograd(self, inputs, kernel):
        transformed, flipped = self.frozen_transforms() if self.frozen else (None, None)
        if flipped is not None:
            return frozen_same_conv3x3(inputs, transformed, flipped)
        if self.padding == "same":
            inputs = _zero_pad1(inputs)
        return winograd_conv3x3(inputs, tf.convert_to_tensor(kernel), reflect=self.reflect,
                                transformed_kernel=transformed)

    def compute_output_shape(self, input_shape):
        if self.reflect:
            input_shape = (input_shape[0], *(None if d is None else d + 2 for d in input_shape[1:3]),
                           *input_shape[3:])
        return super().compute_output_shape(input_shape)

    def get_config(self):
        return {**super().get_config(), "algorithm": self.algorithm, "reflect": self.reflect}
