"""Robust image reading shared by every package: one function, one error type.

Real folders hold everything: grayscale and CMYK JPEGs, RGBA PNGs, 16-bit TIFFs, phone photos whose pixels are
stored sideways with an EXIF orientation tag, truncated downloads and stray non-image files. ``load_image``
turns each of them into an ``uint8`` RGB array or raises :class:`ImageError` with a one-line reason, so callers
can skip the file, count it and go on.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

#: Smallest accepted side in pixels: below this VGG's five poolings leave nothing of the image.
MIN_SIDE = 32
#: Largest accepted number of pixels (about 16k x 16k); beyond this decoding alone can exhaust memory.
MAX_PIXELS = 268_000_000

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp")

RESAMPLE = {
    "nearest": Image.Resampling.NEAREST,
    "bilinear": Image.Resampling.BILINEAR,
    "bicubic": Image.Resampling.BICUBIC,
    "lanczos": Image.Resampling.LANCZOS,
    "area": Image.Resampling.BOX,
}


class ImageError(ValueError):
    """An input image that cannot be used; ``str(err)`` is a one-line reason naming the file."""


def is_image_file(path: str | os.PathLike) -> bool:
    """True when the file name has an image extension (contents are checked by :func:`load_image`)."""
    return str(path).lower().endswith(IMAGE_EXTENSIONS)


def _to_rgb(img: Image.Image) -> Image.Image:
    """Convert any PIL mode to 8-bit RGB; transparent pixels are composited onto white."""
    if img.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        arr = np.asarray(img, dtype=np.float64)
        hi = 65535.0 if img.mode.startswith("I;16") or arr.max() > 255 else 255.0
        arr = np.clip(arr / hi * 255.0 + 0.5, 0, 255).astype(np.uint8)
        img = Image.fromarray(arr, mode="L")
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        img = Image.alpha_composite(background, rgba)
    return img.convert("RGB")


def load_image(
    path: str | os.PathLike,
    size: int | tuple[int, int] | None = None,
    resample: str = "bilinear",
    min_side: int = MIN_SIDE,
) -> np.ndarray:
    """Read an image file as an ``(H, W, 3)`` ``uint8`` RGB array.

    EXIF orientation is applied; grayscale, palette, RGBA/LA (composited on white), CMYK and 16-bit images become
    8-bit RGB. ``size`` resizes: an int scales the *shorter* side to ``size`` keeping the aspect ratio, a
    ``(height, width)`` tuple resizes to exactly that shape. ``resample`` is one of ``RESAMPLE``'s keys.

    Raises :class:`ImageError` with a one-line reason for a missing, unreadable, truncated, non-image, tiny
    (shorter side < ``min_side``) or huge (> ``MAX_PIXELS``) file.
    """
    path = Path(path)
    if not path.exists():
        raise ImageError(f"{path}: file not found")
    if path.is_dir():
        raise ImageError(f"{path}: is a folder, not an image")
    if resample not in RESAMPLE:
        raise ValueError(f"resample must be one of {sorted(RESAMPLE)}, got {resample!r}")
    try:
        with Image.open(path) as img:
            w, h = img.size
            if w * h > MAX_PIXELS:
                raise ImageError(f"{path}: too large ({w}x{h} px > {MAX_PIXELS:,} pixels)")
            img.load()
            img = ImageOps.exif_transpose(img)
            img = _to_rgb(img)
    except ImageError:
        raise
    except Image.DecompressionBombError as err:
        raise ImageError(f"{path}: too large to decode safely ({err})") from None
    except OSError as err:  # PIL.UnidentifiedImageError is an OSError; so are truncated files
        reason = "not an image file" if "cannot identify" in str(err) else f"unreadable ({err})"
        raise ImageError(f"{path}: {reason}") from None
    except (ValueError, SyntaxError) as err:
        raise ImageError(f"{path}: unreadable ({err})") from None
    w, h = img.size
    if min(w, h) < min_side:
        raise ImageError(f"{path}: too small ({w}x{h} px; the shorter side must be >= {min_side})")
    if size is not None:
        img = resize(img, size, resample)
    return np.asarray(img, dtype=np.uint8)


def resize(img: Image.Image, size: int | tuple[int, int], resample: str = "bilinear") -> Image.Image:
    """Resize a PIL image: int = shorter side to ``size`` (aspect kept), tuple = exactly ``(height, width)``."""
    w, h = img.size
    if isinstance(size, int):
        scale = size / min(w, h)
        new = (max(1, round(w * scale)), max(1, round(h * scale)))
    else:
        new = (int(size[1]), int(size[0]))
    if new == (w, h):
        return img
    return img.resize(new, RESAMPLE[resample])


def center_crop(arr: np.ndarray, height: int, width: int) -> np.ndarray:
    """Crop the centre ``(height, width)`` of an ``(H, W, C)`` array (which must be at least that large)."""
    h, w = arr.shape[:2]
    if h < height or w < width:
        raise ValueError(f"cannot crop {height}x{width} from a {h}x{w} image")
    top, left = (h - height) // 2, (w - width) // 2
    return arr[top : top + height, left : left + width]


def load_square(path: str | os.PathLike, size: int, resample: str = "bilinear") -> np.ndarray:
    """Shorter side to ``size`` then centre crop: an ``(size, size, 3)`` ``uint8`` array (what NST and CNNs eat)."""
    arr = load_image(path, size=size, resample=resample)
    return center_crop(arr, size, size)


def save_image(arr: np.ndarray, path: str | os.PathLike, quality: int = 95) -> Path:
    """Write an ``(H, W, 3)`` array atomically (:func:`classify.files.atomic_path`): a crash mid-write leaves only
    a temporary file, never a half image under the final name. Floats are taken as 0..255 and clipped; the
    format follows the suffix (JPEG at ``quality``, else PNG). Returns the final path."""
    from .files import atomic_path

    path = Path(path)
    arr = np.asarray(arr)
    if arr.dtype != np.uint8:
        arr = np.clip(np.round(arr), 0, 255).astype(np.uint8)
    fmt = {"jpg": "JPEG", "jpeg": "JPEG"}.get(path.suffix.lower().lstrip("."), None)
    kwargs = {"quality": quality} if fmt == "JPEG" else {}
    with atomic_path(path) as tmp:
        Image.fromarray(arr).save(tmp, format=fmt or Image.registered_extensions().get(path.suffix.lower(), "PNG"),
                                  **kwargs)
    return path
