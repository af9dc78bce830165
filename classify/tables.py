"""Result tables as people read them (markdown) and as programs read them (CSV), with the paper beside ours.

Every reproduction table opens with :func:`report_header`: the profile and each way the run departs from the
paper, so a number is never read without its caveats. Cells go through :func:`fmt` ("–" for a missing value).
Files are written atomically (:mod:`classify.files`).
"""
from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any, Sequence

from .files import write_text


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
    return lines + list(extra) + [""]


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
