"""Contact sheets: one row per generated image, ``content | style | result``, saved as a PNG to look at."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

import numpy as np
from PIL import Image, ImageDraw

from classify.images import ImageError, load_fitted, save_image


def contact_sheet(
    rows: Sequence[Sequence[str | os.PathLike]],
    path: str | os.PathLike,
    tile: int = 160,
    header: Sequence[str] = ("content", "style", "result"),
    title: str = "",
) -> Path:
    """Write a grid of thumbnails, one row per entry of ``rows`` (a sequence of image paths).

    Each image is shown whole (longer side = ``tile``, centred in its square cell), so a sheet shows what the
    engine saw whatever the preset's image fit; unreadable images appear as grey tiles rather than failing the sheet.
    """
    if not rows:
        raise ValueError("contact_sheet needs at least one row")
    ncol = max(len(r) for r in rows)
    top = 20 + (18 if title else 0)
    sheet = Image.new("RGB", (ncol * tile, top + len(rows) * tile), (255, 255, 255))
    draw = ImageDraw.Draw(sheet)
    if title:
        draw.text((4, 2), title, fill=(0, 0, 0))
    for j, name in enumerate(header[:ncol]):
        draw.text((j * tile + 4, top - 16), name, fill=(0, 0, 0))
    for i, row in enumerate(rows):
        for j, image_path in enumerate(row):
            try:
                thumb = load_fitted(image_path, tile, "long_side")
            except (ImageError, ValueError):
                thumb = np.full((tile, tile, 3), 128, np.uint8)
            h, w = thumb.shape[:2]
            sheet.paste(Image.fromarray(thumb), (j * tile + (tile - w) // 2, top + i * tile + (tile - h) // 2))
    return save_image(np.asarray(sheet), path)
