"""The toolkit's one image-decoding policy, shared by every package and every ``tf.data`` path.

Real folders hold everything: grayscale and CMYK JPEGs, RGBA PNGs, 16-bit TIFFs, phone photos whose pixels are
stored sideways with an EXIF orientation tag, truncated downloads, decompression bombs, huge scans and stray
non-image files. A file is either used — decoded to ``uint8`` RGB by :func:`load_image` — or skipped with one
line naming it and the reason (:class:`ImageError`), so callers can count it and go on:

- :func:`probe` (header and tail only, no pixels): missing, not an image, shorter side below :data:`MIN_SIDE`,
  more pixels than the decoder is allowed (:data:`MAX_DECODE_PIXELS`; half of it for WebP and JPEG 2000,
  :data:`HEAVY_DECODER_PIXELS`; baseline JPEGs shrink while decoding instead), a progressive JPEG whose DCT
  coefficients alone would need more than :data:`MAX_PROGRESSIVE_COEFFICIENT_BYTES`, a decompression bomb, a
  file name that is not valid UTF-8, or a JPEG/PNG cut short (no end marker). The size limits are checked before
  anything else is read, and the EXIF orientation only where the header holds it (JPEG APP1, TIFF's IFD, WebP's
  EXIF chunk, a PNG ``eXIf`` chunk before the pixel data): Pillow's own ``PngImageFile.getexif`` decodes every
  pixel looking for a later one. Callers probe *before* any split or count (:func:`usable`), so the numbers a
  split reports are the images used.
- :func:`load_image`: the pixels. A JPEG with more than :data:`MAX_DECODE_PIXELS` pixels is decoded at 1/2, 1/4
  or 1/8 scale by the JPEG decoder itself (PIL ``draft``: the full-size raster never exists); the EXIF rotation
  is applied to that reduced raster. Afterwards at most two rasters are alive at once: each conversion (rotation,
  CMYK/palette/16-bit to RGB, transparency composited by a masked paste) releases the raster it replaces, an RGB
  image is not copied, and the array is filled band by band. One decode's peak memory is therefore about two
  4-byte-per-pixel rasters of :data:`MAX_DECODE_PIXELS` (2 × 144 MB), or while a progressive JPEG decodes, its
  coefficients (at most 216 MB) plus one raster: **under 400 MB per image** for every accepted file. Measured in
  ``tests/test_reliability.py`` (growth of a fresh process): 12000×12000 baseline and EXIF-rotated JPEGs 250–280
  MB, a 36 MP progressive 4:4:4 JPEG 345 MB, 36 MP RGBA and 16-bit PNGs 250–280 MB; a refused 12000×12000 PNG or
  progressive JPEG about 1 MB (at full size a 12000×12000 JPEG took 1.9 GB).
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
#: Formats whose Pillow decoder holds extra full-size buffers while it decodes (WebP about 15 bytes per pixel,
#: JPEG 2000 about 18): refused above this many pixels instead of :data:`MAX_DECODE_PIXELS`.
HEAVY_DECODER_PIXELS = {"WEBP": MAX_DECODE_PIXELS // 2, "JPEG2000": MAX_DECODE_PIXELS // 2}
#: Most memory a progressive JPEG's DCT coefficients may take (216 MB: a 36 MP full-colour image; 72 MP with the
#: usual 4:2:0 chroma subsampling). libjpeg keeps every coefficient of a progressive file at full resolution,
#: 2 bytes per sample of each colour component, whatever scale it decodes at, so ``draft`` cannot shrink it.
MAX_PROGRESSIVE_COEFFICIENT_BYTES = 2 * 3 * MAX_DECODE_PIXELS

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


def _coefficient_bytes(img: Image.Image) -> int:
    """The memory libjpeg's whole-image coefficient buffer takes for a progressive JPEG: 2 bytes for each sample of
    each component, padded to 8×8 blocks (components subsampled by their sampling factors, from the SOF header)."""
    layers = getattr(img, "layer", None) or [("", 1, 1, 0)] * len(img.getbands())
    h_max = max(h for _, h, _, _ in layers) or 1
    v_max = max(v for _, _, v, _ in layers) or 1
    w, h = img.size
    return sum(2 * 64 * math.ceil(w * hs / h_max / 8) * math.ceil(h * vs / v_max / 8) for _, hs, vs, _ in layers)


def _size_problem(w: int, h: int, fmt: str, img: Image.Image, min_side: int) -> str | None:
    """Why an image of this header cannot be decoded within the memory bound (module docstring), or ``None``."""
    if min(w, h) < min_side:
        return f"too small ({w}x{h} px; the shorter side must be >= {min_side})"
    pixels = w * h
    progressive = fmt == "JPEG" and bool(img.info.get("progressive") or img.info.get("progression"))
    limit = HEAVY_DECODER_PIXELS.get(fmt, MAX_DECODE_PIXELS)
    if pixels > limit and (fmt != "JPEG" or pixels > MAX_DECODE_PIXELS * 64):
        return (f"too large ({w}x{h} px, more than {limit:,} pixels"
                f"{' for a ' + fmt + ' file' if fmt in HEAVY_DECODER_PIXELS else ''}; downscale it or save it as JPEG)")
    if progressive and _coefficient_bytes(img) > MAX_PROGRESSIVE_COEFFICIENT_BYTES:
        return (f"too large for a progressive JPEG ({w}x{h} px: its decoder holds every DCT coefficient at full "
                f"size, more than {MAX_PROGRESSIVE_COEFFICIENT_BYTES // 10**6} MB; downscale it or save it as a "
                "baseline JPEG)")
    return None


def _header_orientation(img: Image.Image) -> int:
    """The EXIF orientation tag (1 when absent, -1 when the EXIF is broken) from what the header holds, never by
    decoding pixels: ``Image.getexif`` reads ``info['exif']`` (JPEG APP1, WebP's chunk, a PNG ``eXIf``/raw-profile
    chunk before the image data), TIFF's IFD and XMP; ``PngImageFile.getexif`` would first load the whole image to
    look for an ``eXIf`` chunk after it."""
    try:
        return int(Image.Image.getexif(img).get(0x0112, 1) or 1)
    except Exception:  # noqa: BLE001 - broken EXIF: decode robustly, do not trust the tag
        return -1


def probe(path: str | os.PathLike, min_side: int = MIN_SIDE) -> ImageInfo:
    """Check a file against the policy (module docstring) from its header and tail, without decoding pixels (the
    size limits first); :class:`ImageError` with a one-line reason when it cannot be used."""
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
                problem = _size_problem(w, h, fmt, img, min_side)
                orientation = 1 if problem else _header_orientation(img)
                transparency = "transparency" in img.info
    except Image.DecompressionBombError:
        raise ImageError(f"{path}: too large to decode safely (a decompression bomb: its header claims more than "
                         f"{BOMB_PIXELS:,} pixels)") from None
    except OSError as err:  # PIL.UnidentifiedImageError is an OSError
        reason = "not an image file" if "cannot identify" in str(err) else f"unreadable ({err})"
        raise ImageError(f"{path}: {reason}") from None
    except (ValueError, SyntaxError) as err:
        raise ImageError(f"{path}: unreadable ({err})") from None
    if problem:
        raise ImageError(f"{path}: {problem}")
    info = ImageInfo(w, h, fmt, mode, orientation, transparency, _tail_complete(path, fmt))
    if not info.complete:
        try:  # a valid file with data after its end marker (phone 'motion photos') decodes fully: keep it
            _decode(path, info)
        except ImageError:
            raise ImageError(f"{path}: truncated (the {fmt} data ends early)") from None
    return info


T = TypeVar("T")


def usable(items: Iterable[T], min_side: int = MIN_SIDE, progress: bool = False,
           desc: str = "checking images") -> tuple[list[T], list[str]]:
    """``(the items whose .path passes probe, one-line reasons for the others)``: run before splitting or
    counting, so every number reported afterwards counts images that are used. ``progress`` shows a bar."""
    from tqdm.auto import tqdm

    items = list(items)
    kept, reasons = [], []
    for item in tqdm(items, desc=desc, unit="img", disable=not progress or not items, leave=False,
                     dynamic_ncols=True):
        try:
            probe(item.path, min_side)
        except ImageError as err:
            reasons.append(str(err))
            continue
        kept.append(item)
    return kept, reasons


def _to_rgb(img: Image.Image, consume: bool = False) -> Image.Image:
    """Convert any PIL mode to 8-bit RGB; transparent pixels are composited onto white (``c·a/255 + 255·(1 −
    a/255)``, rounded, by a masked paste). Each intermediate raster is released as soon as the next exists, and
    so is ``img`` itself when ``consume`` (the decoder's own image); an RGB image is returned as it is."""
    first = img

    def replace(new: Image.Image) -> Image.Image:
        if new is not img and (img is not first or consume):
            img.close()
        return new

    if img.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        img = replace(_scaled_to_8_bits(img))
    if img.mode == "PA" or (img.mode == "P" and "transparency" in img.info):
        img = replace(img.convert("RGBA"))
    if img.mode in ("RGBA", "LA"):
        base = "RGB" if img.mode == "RGBA" else "L"
        background = Image.new(base, img.size, (255,) * len(base))
        background.paste(img, (0, 0), img)  # the mask is img's own alpha band
        img = replace(background)
    return img if img.mode == "RGB" else replace(img.convert("RGB"))


def _scaled_to_8_bits(img: Image.Image) -> Image.Image:
    """A 16-bit or 32-bit grayscale image as 8-bit ``L``: ``round(x / hi · 255)`` (half up, clipped to 0..255) with
    ``hi`` 65535 for 16-bit data (or values above 255), else 255; computed in float64 bands of rows so that
    memory stays near the image and its 8-bit result."""
    arr = np.asarray(img)
    hi = 65535.0 if img.mode.startswith("I;16") or arr.max() > 255 else 255.0
    out = np.empty(arr.shape, np.uint8)
    step = max(1, (1 << 20) // max(1, arr.shape[1]))
    for top in range(0, arr.shape[0], step):
        band = arr[top:top + step].astype(np.float64)
        out[top:top + step] = np.clip(band / hi * 255.0 + 0.5, 0, 255)
    del arr
    return Image.fromarray(out)


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
    return as_array(img)


def as_array(img: Image.Image) -> np.ndarray:
    """An RGB PIL image as an ``(H, W, 3)`` ``uint8`` array, copied in bands of rows: ``np.asarray(img)`` goes
    through ``tobytes``, which holds the pixels twice more (its chunks and their join) on top of the image."""
    w, h = img.size
    if w * h <= 1 << 20:
        return np.asarray(img, dtype=np.uint8)
    out = np.empty((h, w, 3), np.uint8)
    step = max(1, (1 << 20) // w)
    for top in range(0, h, step):
        out[top:top + step] = np.asarray(img.crop((0, top, w, min(h, top + step))), dtype=np.uint8)
    return out


def _decode(path: Path, info: ImageInfo) -> Image.Image:
    """The pixels of a probed file as an RGB PIL image (JPEGs drafted down, EXIF orientation applied to the reduced
    raster, each superseded raster released at once; see the module docstring for the memory bound)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # probe has bounded the size
            with Image.open(path) as img:
                k = info.draft_scale
                if k > 1 and img.format == "JPEG":
                    img.draft("RGB", (math.ceil(info.width / k), math.ceil(info.height / k)))
                img.load()
                if info.orientation not in (0, 1):
                    rotated = ImageOps.exif_transpose(img)  # reads the tag while the file is open (TIFF)
                    if rotated is not img:
                        img.close()
                    img = rotated
            return _to_rgb(img, consume=True)
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
    return as_array(resize(img, shape, resample))


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
