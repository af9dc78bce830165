"""Neural style transfer losses as small, composable functions, each with its formula and source.

Notation (Gatys et al. 2016; Shinde eqs. 1–5; Gauld eqs. 2–5): ``F`` is a layer's activation, reshaped to
``N`` channels × ``M = h·w`` positions; ``P`` the content image's, ``A`` the style image's Gram matrix.

All functions are batched: the leading axis is the pair index, and every loss returns one value *per pair*
``(B,)``, so B style-transfer problems optimised together stay independent (the gradient of pair b's loss only
involves pair b's image).

Gram matrices are returned *per location*, ``Ĝ = G / M`` with ``G = FᵀF``, so targets computed from an image of
another size (Shinde's style rescaling) stay comparable. Every style normalisation in use is a multiple of
``Σ (Ĝ − Â)²``:

=============  =====================================================  ============================================
name           formula                                                 source
=============  =====================================================  ============================================
``gatys``      ``1/(4N²M²) Σ(G − A)²  = 1/(4N²) Σ(Ĝ − Â)²``            Gatys 2016 eq. 4; Shinde eq. 2; Gauld eq. 3
``mean``       ``mean_ij (Ĝ − Â)²     = 1/N²  Σ(Ĝ − Â)²``              TensorFlow NST tutorial (``style_content_loss``)
``inetwork``   ``Σ(G − A)² / (4·3²·(H·W)²) = M²/(36 (HW)²) Σ(Ĝ − Â)²``  titu1994 ``INetwork.py`` ``style_loss``
                (``H·W`` the *input image* size, the same for all layers)
=============  =====================================================  ============================================
"""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import tensorflow as tf

from .config import CONTENT_REDUCTIONS, LAYER_WEIGHTINGS, STYLE_NORMALISATIONS  # noqa: E402,F401


# ----------------------------------------------------------------------------------------------- Gram matrices
def _resize_mask(mask: tf.Tensor, height: int | tf.Tensor, width: int | tf.Tensor) -> tf.Tensor:
    """``(B, H, W)`` or ``(B, H, W, 1)`` weight map → ``(B, h, w, 1)`` at a layer's resolution (area-like)."""
    if mask.shape.rank == 3:
        mask = mask[..., None]
    return tf.image.resize(tf.cast(mask, tf.float32), (height, width), method="bilinear", antialias=True)


def _self_gram(flat: tf.Tensor, positions: tf.Tensor) -> tf.Tensor:
    """``FᵀF / M`` of ``(B, M, N)`` features, with its gradient as one matmul.

    Autodiff treats the two ``F`` factors as different tensors: two ``(B, M, N) × (B, N, N)`` matmuls and their sum.
    Because ``G`` is ``FᵀF``, ``∂L/∂F = F (∂L/∂G + ∂L/∂Gᵀ) / M`` is one. Measured in the NST step (2-core CPU,
    128 px, batch 4): the five style Grams' backward pass took ~51 of ~300 ms with autodiff.
    """
    @tf.custom_gradient
    def gram(f):
        def grad(upstream):
            return tf.matmul(f, (upstream + tf.linalg.matrix_transpose(upstream)) / positions)  # N x N scaled
        return tf.matmul(f, f, transpose_a=True) / positions, grad
    return gram(flat)


def gram_matrix(features: tf.Tensor, shift: float = 0.0, mask: tf.Tensor | None = None) -> tf.Tensor:
    """Per-location Gram matrix ``Ĝ = (F + s)ᵀ (F + s) / M`` of ``(B, h, w, N)`` features → ``(B, N, N)``.

    ``shift`` is Novak & Nikulin's activation shift ``s`` (arXiv:1605.04603 §3.3, ``s = −1``), which keeps the
    Gram of sparse ReLU maps informative.

    ``mask`` (``(B, H, W)`` weights in [0, 1], any resolution) weights each position (Shinde §3.2: Gram matrices
    from selected positions): ``Ĝ = Σ_p w_p f_p f_pᵀ / Σ_p w_p``. A constant mask gives the unmasked Gram; a
    0/1 mask gives the Gram of the selected positions alone.
    """
    f = tf.cast(features, tf.float32) + shift
    b, h, w, n = tf.unstack(tf.shape(f))
    if mask is None:
        return _self_gram(tf.reshape(f, (b, h * w, n)), tf.cast(h * w, tf.float32))
    weights = tf.reshape(_resize_mask(mask, h, w), (b, h * w, 1))
    flat = tf.reshape(f, (b, h * w, n))
    total = tf.maximum(tf.reduce_sum(weights, axis=1, keepdims=True), 1e-8)  # (B, 1, 1)
    return tf.matmul(flat * weights, flat, transpose_a=True) / total


def cross_gram_matrix(deeper: tf.Tensor, shallower: tf.Tensor, shift: float = 0.0) -> tf.Tensor:
    """Correlation-chain Gram ``Ĝ^(l,l−1) = (F^l + s)ᵀ up(F^(l−1) …)`` between adjacent layers → ``(B, N_l, N_{l−1})``.

    Novak & Nikulin §3.4–3.5: the cross-correlation of layer ``l`` with layer ``l − 1``; the smaller map is
    upsampled (bilinear) to the larger one's resolution. Normalised per location of the larger map.
    """
    d = tf.cast(deeper, tf.float32) + shift
    s = tf.cast(shallower, tf.float32) + shift
    (hd, wd), (hs, ws) = d.shape[1:3], s.shape[1:3]
    if None in (hd, wd, hs, ws):
        raise ValueError("cross_gram_matrix needs static spatial shapes (build the step for a fixed image size)")
    if hd * wd < hs * ws:
        d = tf.image.resize(d, (hs, ws), method="bilinear")
    elif hs * ws < hd * wd:
        s = tf.image.resize(s, (hd, wd), method="bilinear")
    b, h, w = tf.shape(d)[0], d.shape[1], d.shape[2]
    fd = tf.reshape(d, (b, h * w, d.shape[3]))
    fs = tf.reshape(s, (b, h * w, s.shape[3]))
    return tf.matmul(fd, fs, transpose_a=True) / float(h * w)


def blend_grams(grams: Sequence[tf.Tensor], weights: Sequence[float] | None = None) -> tf.Tensor:
    """Weighted mean ``Â = Σ_k λ_k Â_k / Σ_k λ_k`` of several style images' Gram targets (Shinde §3.3)."""
    if not grams:
        raise ValueError("blend_grams needs at least one Gram matrix")
    lam = np.ones(len(grams)) if weights is None else np.asarray(weights, dtype=np.float64)
    if lam.shape != (len(grams),) or np.any(lam < 0) or lam.sum() <= 0:
        raise ValueError(f"blend weights must be {len(grams)} non-negative numbers with a positive sum, got {weights}")
    lam = lam / lam.sum()
    return tf.add_n([float(l) * tf.cast(g, tf.float32) for l, g in zip(lam, grams)])


# ------------------------------------------------------------------------------------------------------ losses
def style_layer_loss(
    gram: tf.Tensor,
    target: tf.Tensor,
    normalisation: str = "gatys",
    num_positions: int | tf.Tensor | None = None,
    image_pixels: int | tf.Tensor | None = None,
) -> tf.Tensor:
    """One layer's style loss ``E_l`` per pair ``(B,)`` from per-location Grams (see the module table).

    ``num_positions`` (M of the generated image's layer) and ``image_pixels`` (H·W of the input image) are only
    needed by ``"inetwork"``. Cross Grams of shape ``(B, N_a, N_b)`` use ``N² = N_a·N_b``.
    """
    sq = tf.reduce_sum(tf.square(gram - target), axis=(1, 2))
    n2 = tf.cast(tf.shape(gram)[1] * tf.shape(gram)[2], tf.float32)
    if normalisation == "gatys":
        return sq / (4.0 * n2)
    if normalisation == "mean":
        return sq / n2
    if normalisation == "inetwork":
        if num_positions is None or image_pixels is None:
            raise ValueError("the inetwork normalisation needs num_positions and image_pixels")
        m = tf.cast(num_positions, tf.float32)
        hw = tf.cast(image_pixels, tf.float32)
        return sq * tf.square(m) / (36.0 * tf.square(hw))
    raise ValueError(f"style normalisation must be one of {STYLE_NORMALISATIONS}, got {normalisation!r}")


def content_loss(features: tf.Tensor, target: tf.Tensor, reduction: str = "half_sum") -> tf.Tensor:
    """Content loss per pair ``(B,)`` between a layer's features ``F`` and the content image's ``P``.

    - ``half_sum``: ``½ Σ (F − P)²``  (Gatys 2016 eq. 1; Shinde eq. 4)
    - ``sum``:      ``Σ (F − P)²``    (Gauld eq. 2; INetwork ``content_loss`` with ``content_loss_type=0``)
    - ``mean``:     ``mean (F − P)²`` (TensorFlow NST tutorial)
    """
    sq = tf.square(tf.cast(features, tf.float32) - tf.cast(target, tf.float32))
    if reduction == "half_sum":
        return 0.5 * tf.reduce_sum(sq, axis=(1, 2, 3))
    if reduction == "sum":
        return tf.reduce_sum(sq, axis=(1, 2, 3))
    if reduction == "mean":
        return tf.reduce_mean(sq, axis=(1, 2, 3))
    raise ValueError(f"content reduction must be one of {CONTENT_REDUCTIONS}, got {reduction!r}")


@tf.custom_gradient
def _total_variation_abs(x: tf.Tensor):
    """``tf.image.total_variation(x)`` (same value, same gradient: ``sign`` is 0 at 0 like ``Abs``'s), with its
    gradient written as four pads of the differences' signs. Autodiff's ``StridedSliceGrad`` of the four slices
    took 6.1 ms per 4×128×128×3 batch on a 2-core CPU, this 1.5 ms."""
    dy = x[:, 1:] - x[:, :-1]
    dx = x[:, :, 1:] - x[:, :, :-1]

    def grad(upstream):
        sy, sx = tf.sign(dy), tf.sign(dx)
        z = [0, 0]
        g = (tf.pad(sy, [z, [1, 0], z, z]) - tf.pad(sy, [z, [0, 1], z, z])
             + tf.pad(sx, [z, z, [1, 0], z]) - tf.pad(sx, [z, z, [0, 1], z]))
        return g * upstream[:, None, None, None]
    return tf.reduce_sum(tf.abs(dy), axis=(1, 2, 3)) + tf.reduce_sum(tf.abs(dx), axis=(1, 2, 3)), grad


def total_variation_loss(images: tf.Tensor, kind: str = "abs", power: float = 1.25) -> tf.Tensor:
    """Total variation per image ``(B,)``.

    - ``abs``: ``Σ |x_{i+1,j} − x_{i,j}| + Σ |x_{i,j+1} − x_{i,j}|`` (``tf.image.total_variation``; TF tutorial)
    - ``power``: ``Σ_{i<H−1, j<W−1} ((x_{i+1,j} − x_{i,j})² + (x_{i,j+1} − x_{i,j})²)^power`` (Mahendran & Vedaldi;
      INetwork ``total_variation_loss`` with power 1.25)
    """
    x = tf.cast(images, tf.float32)
    if kind == "abs":
        return _total_variation_abs(x)
    if kind == "power":
        a = tf.square(x[:, 1:, :-1, :] - x[:, :-1, :-1, :])
        b = tf.square(x[:, :-1, 1:, :] - x[:, :-1, :-1, :])
        # (a + b)^p with a zero-safe gradient: d/du u^p = p u^(p−1) is 0 at u = 0 for p > 1.
        u = a + b
        safe = tf.where(u > 0, u, tf.ones_like(u))
        return tf.reduce_sum(tf.where(u > 0, tf.pow(safe, power), tf.zeros_like(u)), axis=(1, 2, 3))
    raise ValueError(f"total variation kind must be 'abs' or 'power', got {kind!r}")


# ------------------------------------------------------------------------------------------------ layer weights
def layer_weights(
    layers: Sequence[str],
    all_layers: Sequence[str],
    scheme: str | Mapping[str, float] = "uniform",
) -> dict[str, float]:
    """Weights ``w_l`` for the loss terms of ``layers`` (conv layers of a backbone listed in depth order).

    - ``uniform``: ``w_l = 1/|L|`` (Gatys 2016; Gauld: "all layers have an equal weighting, w_l = 1/|L|").
    - ``geometric``: ``w_l ∝ 2^(D − d(l))``, shallow layers heavier (Novak & Nikulin §3.1, for style), normalised
      to sum to 1 (the overall scale is the style weight's job). ``d(l)`` is the layer's depth (1 = first conv),
      ``D`` the depth of the deepest layer in ``layers``.
    - ``geometric_content``: ``w_l ∝ 2^d(l)``, deep layers heavier (Novak & Nikulin §3.1, for content),
      normalised to sum to 1.
    - ``inetwork_chain``: the effective per-layer weights of titu1994 ``INetwork.py``'s "chained inference":
      ``Σ_{i=0}^{n−1} 2^−(n−1−i) (E_i − E_{i+1})`` with ``n = |L| − 1``, which telescopes to
      ``w_0 = 2^−(n−1)``, ``w_k = 2^−(n−k)`` for ``0 < k < n`` and ``w_n = −1``: the *last layer is rewarded
      for mismatching*. Reproduced only for ``reference="inetwork"``; not normalised.
    - a mapping ``{layer: weight}``: used as given (missing layers weigh 0).
    """
    layers = list(layers)
    if not layers:
        return {}
    if isinstance(scheme, Mapping):
        return {name: float(scheme.get(name, 0.0)) for name in layers}
    depth = {name: all_layers.index(name) + 1 for name in layers}
    if scheme == "uniform":
        return {name: 1.0 / len(layers) for name in layers}
    if scheme in ("geometric", "geometric_content"):
        deepest = max(depth.values())
        raw = {name: 2.0 ** ((deepest - depth[name]) if scheme == "geometric" else depth[name]) for name in layers}
        total = sum(raw.values())
        return {name: value / total for name, value in raw.items()}
    if scheme == "inetwork_chain":
        n = len(layers) - 1
        coeff = [2.0 ** -(n - 1 - i) for i in range(n)]  # style_weight / 2^(nb_layers − (i + 1))
        weights = []
        for k in range(len(layers)):
            w = (coeff[k] if k < n else 0.0) - (coeff[k - 1] if k >= 1 else 0.0)
            weights.append(w)
        return dict(zip(layers, weights))
    raise ValueError(f"layer weighting must be one of {LAYER_WEIGHTINGS} or a dict, got {scheme!r}")
