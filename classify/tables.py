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


def report_header(title: str, profile: str, departures: Sequence[str], extra: Sequence[str] = ()) -> list[str]:
    """``# title``, the profile, and a bullet per departure from the paper (then ``extra`` lines)."""
    lines = [f"# {title}", "", f"Profile **{profile}**. Where this run departs from the paper:", ""]
    lines += [f"- {d}" for d in departures] or ["- nowhere (paper settings)"]
    return lines + list(extra) + [""]


def write_markdown(path: str | os.PathLike, lines: Sequence[str]) -> Path:
    """Write markdown ``lines`` atomically."""
    return write_text(path, "\n".join(lines))
