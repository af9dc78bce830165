"""Colour preservation by luminance-only transfer (Gatys, Bethge, Hertzmann & Shechtman 2016, §2.2).

The result keeps its own luminance (the style's texture) and takes the chroma of the content image, in the YIQ
colour space: ``Y`` from the stylised image, ``I``/``Q`` from the content.
"""
from __future__ import annotations

import numpy as np

_RGB_TO_YIQ = np.array([[0.299, 0.587, 0.114],
                        [0.595716, -0.274453, -0.321263],
                        [0.211456, -0.522591, 0.311135]])
_YIQ_TO_RGB = np.linalg.inv(_RGB_TO_YIQ)


def rgb_to_yiq(rgb: np.ndarray) -> np.ndarray:
    """``(..., 3)`` RGB (any scale) → YIQ on the same scale."""
    return np.asarray(rgb, np.float64) @ _RGB_TO_YIQ.T


def yiq_to_rgb(yiq: np.ndarray) -> np.ndarray:
    """Inverse of :func:`rgb_to_yiq`."""
    return np.asarray(yiq, np.float64) @ _YIQ_TO_RGB.T


def preserve_color(content: np.ndarray, stylised: np.ndarray) -> np.ndarray:
    """Stylised luminance + content chroma, as ``uint8`` RGB of the stylised image's shape."""
    c, s = rgb_to_yiq(content), rgb_to_yiq(stylised)
    if c.shape != s.shape:
        raise ValueError(f"content {c.shape} and stylised {s.shape} images differ in shape")
    out = np.concatenate([s[..., :1], c[..., 1:]], axis=-1)
    return np.clip(np.round(yiq_to_rgb(out)), 0, 255).astype(np.uint8)
