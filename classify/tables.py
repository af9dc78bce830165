"""Result tables as people read them (markdown) and as programs read them (CSV), with the paper beside ours.

Every reproduction table opens with :func:`report_header`: the profile and each way the run departs from the
paper, so a number is never read without its caveats. Cells go through :func:`fmt` ("–" for a missing value).
Files are written atomically (:mod:`classify.files`).
"""
from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from .files import write_csv, write_text


def fmt(value: Any, digits: int = 3) -> str:
    """``value`` with ``digits`` decimals; "–" for None or NaN; other types as ``str``."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def markdown_table(columns: Sequence[str], rows: Sequence[Sequence[Any]], digits: int = 3) -> list[str]:
    """A markdown table: header, separator, one line per row (cells through :func:`fmt`)."""
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(c if isinstance(c, str) else fmt(c, digits) for c in row) + " |" for row in rows]
    return lines


#: What a smoke run's tables and figures say about themselves.
SMOKE_NOTE = ("SMOKE RUN: tiny data, few steps, random network weights; the numbers only show that the pipeline "
              "runs and mean nothing about the paper's claim")


def report_header(title: str, profile: str, departures: Sequence[str], extra: Sequence[str] = ()) -> list[str]:
    """``# title``, the profile (a smoke profile says :data:`SMOKE_NOTE`), and a bullet per departure from the
    paper (then ``extra`` lines)."""
    lines = [f"# {title}" + (" — SMOKE RUN" if profile == "smoke" else ""), ""]
    if profile == "smoke":
        lines += [f"> **{SMOKE_NOTE}.**", ""]
    lines += [f"Profile **{profile}**. Where this run departs from the paper:", ""]
    lines += [f"- {d}" for d in departures] or ["- nowhere (paper settings)"]
    for line in extra:  # each its own paragraph (consecutive '>' lines would merge into one quote)
        lines += ["", line]
    return lines + [""]


def write_table_csv(path: str | os.PathLike, columns: Sequence[str],
                    rows: Iterable[Mapping[str, Any] | Sequence[Any]], profile: str) -> Path:
    """A result table as CSV (:func:`classify.files.write_csv`). A smoke run's gets one more column, ``note``,
    holding :data:`SMOKE_NOTE` in every row, so the file says what it is wherever it is copied (a comment line
    would break every CSV reader; an extra column is ignored by those that read by name)."""
    if profile != "smoke":
        return write_csv(path, columns, rows)

    def noted(row):
        return {**row, "note": SMOKE_NOTE} if isinstance(row, Mapping) else [*row, SMOKE_NOTE]

    return write_csv(path, [*columns, "note"], (noted(r) for r in rows))


def write_markdown(path: str | os.PathLike, lines: Sequence[str]) -> Path:
    """Write markdown ``lines`` atomically."""
    return write_text(path, "\n".join(lines))


def mark_smoke(fig, profile: str) -> None:
    """Stamp a matplotlib figure of a smoke run with :data:`SMOKE_NOTE` (a red band across the top), so that a
    figure copied out of its report still says what it is."""
    if profile != "smoke":
        return
    fig.subplots_adjust(top=0.86)
    fig.text(0.5, 0.985, "SMOKE RUN: random weights, tiny settings; these numbers mean nothing", ha="center",
             va="top", color="white", fontsize=9, weight="bold",
             bbox=dict(boxstyle="square,pad=0.3", facecolor="#c0392b", edgecolor="none"))


#: The PNG text key that says a picture already carries the smoke band (:func:`stamp_smoke_png`).
SMOKE_PNG_KEY = "nst-aug-smoke"


def stamp_smoke_png(path: str | os.PathLike, profile: str) -> Path:
    """Stamp a PNG a tool already wrote (a classifier's confusion matrix, a GAN's sample grid) with the red
    smoke band of :func:`mark_smoke`, in place, when ``profile`` is ``smoke`` — so a picture of a smoke run says
    what it is wherever it is copied. Idempotent (the PNG records that it is stamped); other profiles leave the
    file as it is. Returns ``path``."""
    from PIL import Image, ImageDraw, ImageFont, PngImagePlugin

    from .files import atomic_path

    path = Path(path)
    if profile != "smoke":
        return path
    with Image.open(path) as img:
        if img.info.get(SMOKE_PNG_KEY):
            return path
        picture = img.convert("RGB")
    text = "SMOKE RUN: random weights, tiny settings; these numbers mean nothing"
    font = ImageFont.load_default()
    band = 16
    canvas = Image.new("RGB", (picture.width, picture.height + band), "#c0392b")
    canvas.paste(picture, (0, band))
    draw = ImageDraw.Draw(canvas)
    width = draw.textlength(text, font=font)
    draw.text((max(2, (picture.width - width) / 2), 3), text, fill="white", font=font)
    meta = PngImagePlugin.PngInfo()
    meta.add_text(SMOKE_PNG_KEY, "1")
    with atomic_path(path, suffix=".png") as tmp:
        canvas.save(tmp, format="PNG", pnginfo=meta)
    return path


#: Below these a table says its numbers cannot answer the question (:func:`too_small`).
MIN_TRAIN, MIN_TEST = 20, 20


def too_small(n_pairs: int | None = None, n_train: int | None = None, n_test: int | None = None,
              pairs_name: str = "paired value") -> list[str]:
    """The reasons a result is too small to mean anything: fewer than :data:`classify.stats.MIN_PAIRS` paired
    values (no t-test, no CI), training or test sets under :data:`MIN_TRAIN` / :data:`MIN_TEST` images."""
    from .stats import MIN_PAIRS

    reasons = []
    if n_pairs is not None and n_pairs < MIN_PAIRS:
        reasons.append(f"{n_pairs} {pairs_name}{'s' if n_pairs != 1 else ''} (fewer than {MIN_PAIRS}: no t-test, "
                       "no CI)")
    if n_train is not None and n_train < MIN_TRAIN:
        reasons.append(f"training sets of {n_train} images (fewer than {MIN_TRAIN})")
    if n_test is not None and n_test < MIN_TEST:
        reasons.append(f"test sets of {n_test} images (fewer than {MIN_TEST})")
    return reasons
