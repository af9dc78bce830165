"""The toolkit's one image-decoding policy, shared by every package and every ``tf.data`` path.

Real folders hold everything: grayscale and CMYK JPEGs, RGBA PNGs, 16-bit TIFFs, phone photos whose pixels are
stored sideways with an EXIF orientation tag, truncated downloads, decompression bombs, huge scans and stray
non-image files. A file is either used — decoded to ``uint8`` RGB by :func:`load_image` — or skipped with one
line naming it and the reason (:class:`ImageError`), so callers can count it and go on:

- :func:`probe` (header and tail only, no pixels): missing, not an image, shorter side below :data:`MIN_SIDE`,
  more pixels than the decoder is allowed (:data:`MAX_DECODE_PIXELS`, except JPEGs, which shrink while decoding),
  a decompression bomb, a file name that is not valid UTF-8, or a JPEG/PNG cut short (no end marker). Callers
  probe *before* any split or count (:func:`usable`), so the numbers a split reports are the images used.
- :func:`load_image`: the pixels. A JPEG with more than :data:`MAX_DECODE_PIXELS` pixels is decoded at 1/2, 1/4
  or 1/8 scale by the JPEG decoder itself (PIL ``draft``: the full-size raster never exists), so one decode's peak
  memory is bounded by about 10 bytes per decoded pixel — the decoded raster, its RGB conversion and the array —
  i.e. under 400 MB for :data:`MAX_DECODE_PIXELS` (measured: a 12000×12000 JPEG grows a process by 345 MB, decoded
  at 6000×6000; at full size it took 1377 MB; ``tests/test_reliability.py``).
"""
from __future__ import annotations

import math
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, TypeVar

import numpy as np
from PIL import Image, ImageOps

#: Smallest accepted side in pixels: below this VGG's five poolings leave nothing of the image.
MIN_SIDE = 32
#: Most pixels decoded at full size (36 MP, a 7360×4912 photo; ISIC's largest images are 24 MP). Larger JPEGs
#: are decoded reduced (see the module docstring); larger images in other formats are refused.
MAX_DECODE_PIXELS = 36_000_000
#: Beyond this PIL itself calls a file a decompression bomb (its ``MAX_IMAGE_PIXELS`` × 2, about 179 MP).
BOMB_PIXELS = 2 * Image.MAX_IMAGE_PIXELS

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


def printable(path: str | os.PathLike) -> str:
    """A path as text that can always be printed and written to a UTF-8 file (undecodable bytes escaped)."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def name_problem(path: str | os.PathLike) -> str | None:
    """Why a file name cannot travel through manifests and CSVs (not valid UTF-8), or ``None``."""
    try:
        os.fsdecode(os.fsencode(path)).encode("utf-8")
    except UnicodeEncodeError:
        return f"{printable(path)}: file name is not valid UTF-8 (skipped: rename the file)"
    return None


@dataclass(frozen=True)
class ImageInfo:
    """What :func:`probe` read from a file's header."""

    width: int
    height: int
    format: str
    mode: str
    orientation: int = 1
    transparency: bool = False
    complete: bool = True  # the JPEG/PNG end marker is where it belongs

    @property
    def pixels(self) -> int:
        return self.width * self.height

    @property
    def draft_scale(self) -> int:
        """1, 2, 4 or 8: the JPEG decoder's reduction that brings the image within :data:`MAX_DECODE_PIXELS`."""
        k = 1
        while self.pixels > MAX_DECODE_PIXELS * k * k and k < 8:
            k *= 2
        return k


def _tail_complete(path: Path, fmt: str) -> bool:
    """JPEG: an end-of-image marker in the last KB; PNG: the IEND chunk at the end (a cut download has neither)."""
    if fmt not in ("JPEG", "PNG"):
        return True
    with open(path, "rb") as f:
        f.seek(0, os.SEEK_END)
        size = f.tell()
        f.seek(max(0, size - 1024))
        tail = f.read()
    return (b"\xff\xd9" in tail) if fmt == "JPEG" else (b"IEND" in tail[-64:])


def probe(path: str | os.PathLike, min_side: int = MIN_SIDE) -> ImageInfo:
    """Check a file against the policy (module docstring) from its header and tail, without decoding pixels;
    :class:`ImageError` with a one-line reason when it cannot be used."""
    path = Path(path)
    problem = name_problem(path)
    if problem:
        raise ImageError(problem)
    if not path.exists():
        raise ImageError(f"{path}: file not found")
    if path.is_dir():
        raise ImageError(f"{path}: is a folder, not an image")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # the size is checked below
            with Image.open(path) as img:
                w, h = img.size
                fmt, mode = img.format or "", img.mode
                try:
                    orientation = int(img.getexif().get(0x0112, 1) or 1)
                except Exception:  # noqa: BLE001 - broken EXIF: decode robustly, do not trust the tag
                    orientation = -1
                transparency = "transparency" in img.info
    except Image.DecompressionBombError:
        raise ImageError(f"{path}: too large to decode safely (a decompression bomb: its header claims more than "
                         f"{BOMB_PIXELS:,} pixels)") from None
    except OSError as err:  # PIL.UnidentifiedImageError is an OSError
        reason = "not an image file" if "cannot identify" in str(err) else f"unreadable ({err})"
        raise ImageError(f"{path}: {reason}") from None
    except (ValueError, SyntaxError) as err:
        raise ImageError(f"{path}: unreadable ({err})") from None
    if min(w, h) < min_side:
        raise ImageError(f"{path}: too small ({w}x{h} px; the shorter side must be >= {min_side})")
    info = ImageInfo(w, h, fmt, mode, orientation, transparency, _tail_complete(path, fmt))
    if info.pixels > MAX_DECODE_PIXELS and (fmt != "JPEG" or info.pixels > MAX_DECODE_PIXELS * 64):
        raise ImageError(f"{path}: too large ({w}x{h} px, more than {MAX_DECODE_PIXELS:,} pixels; downscale it "
                         "or save it as JPEG)")
    if not info.complete:
        try:  # a valid file with data after its end marker (phone 'motion photos') decodes fully: keep it
            _decode(path, info)
        except ImageError:
            raise ImageError(f"{path}: truncated (the {fmt} data ends early)") from None
    return info


T = TypeVar("T")


def usable(items: Iterable[T], min_side: int = MIN_SIDE) -> tuple[list[T], list[str]]:
    """``(the items whose .path passes probe, one-line reasons for the others)``: run before splitting or
    counting, so every number reported afterwards counts images that are used."""
    kept, reasons = [], []
    for item in items:
        try:
            probe(item.path, min_side)
        except ImageError as err:
            reasons.append(str(err))
            continue
        kept.append(item)
    return kept, reasons


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

    Raises :class:`ImageError` with a one-line reason for any file the policy refuses (:func:`probe`) and for
    pixel data that turns out broken while decoding. A JPEG over :data:`MAX_DECODE_PIXELS` comes out reduced
    (1/2, 1/4 or 1/8: :attr:`ImageInfo.draft_scale`).
    """
    if resample not in RESAMPLE:
        raise ValueError(f"resample must be one of {sorted(RESAMPLE)}, got {resample!r}")
    path = Path(path)
    info = probe(path, min_side)
    img = _decode(path, info)
    if size is not None:
        img = resize(img, size, resample)
    return np.asarray(img, dtype=np.uint8)


def _decode(path: Path, info: ImageInfo) -> Image.Image:
    """The pixels of a probed file as an RGB PIL image (EXIF orientation applied, JPEGs drafted down)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # probe has bounded the size
            with Image.open(path) as img:
                k = info.draft_scale
                if k > 1 and img.format == "JPEG":
                    img.draft("RGB", (math.ceil(info.width / k), math.ceil(info.height / k)))
                img.load()
                rotated = ImageOps.exif_transpose(img) if info.orientation not in (0, 1) else img
                return _to_rgb(rotated)
    except OSError as err:  # truncated or corrupt pixel data
        raise ImageError(f"{path}: unreadable ({err})") from None
    except (ValueError, SyntaxError) as err:
        raise ImageError(f"{path}: unreadable ({err})") from None


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


def load_fitted(path: str | os.PathLike, size: int, fit: str = "crop", resample: str = "bilinear") -> np.ndarray:
    """An image fitted to side ``size`` as :data:`classify.choices.IMAGE_FITS` describes: ``crop`` → ``(size,
    size, 3)`` centre square, ``squash`` → ``(size, size, 3)``, ``long_side`` → longer side ``size``, aspect kept
    (the shorter side never below :data:`MIN_SIDE`)."""
    if fit == "crop":
        return load_square(path, size, resample)
    if fit == "squash":
        return load_image(path, size=(size, size), resample=resample)
    if fit != "long_side":
        raise ValueError(f"fit must be 'crop', 'squash' or 'long_side', got {fit!r}")
    if resample not in RESAMPLE:
        raise ValueError(f"resample must be one of {sorted(RESAMPLE)}, got {resample!r}")
    path = Path(path)
    img = _decode(path, probe(path))  # EXIF rotation applied: the shape below is the displayed one
    scale = size / max(img.size)
    shape = (max(MIN_SIDE, round(img.size[1] * scale)), max(MIN_SIDE, round(img.size[0] * scale)))
    return np.asarray(resize(img, shape, resample), dtype=np.uint8)


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
