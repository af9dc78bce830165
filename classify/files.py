"""Writing files so that a crash never leaves half of one: every writer of the toolkit goes through here.

A file is written under a temporary name in its own folder (``.NAME.PID.tmp``, plus the real suffix where a
library insists on one) and renamed over ``NAME`` only when complete (``os.replace`` is atomic on one file
system), so a reader — or a resumed run — sees the old file or the whole new one, never a torn one. Text, JSON
and CSV writers also ``fsync`` before the rename. A writer that fails removes its temporary file.

Temporary names start with a dot and contain ``.tmp``: :func:`remove_temporaries` clears the leftovers of a
killed run.
"""
from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import re
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping, Sequence


def temporary_path(path: str | os.PathLike, suffix: str = "") -> Path:
    """``DIR/.NAME.PID.tmp[SUFFIX]`` beside ``path`` (``suffix`` for writers that choose a format by it)."""
    path = Path(path)
    return path.with_name(f".{path.name}.{os.getpid()}.tmp{suffix}")


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on leaving the block it is renamed over ``path`` (on an error it
    is deleted and ``path`` is left as it was). The parent folder is created."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_path(path, suffix)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "w", **kwargs) -> Iterator[io.IOBase]:
    """``open`` a temporary file for writing; flushed, fsynced and renamed over ``path`` when the block ends."""
    text = "b" not in mode
    if text:
        kwargs.setdefault("encoding", "utf-8")
    with atomic_path(path) as tmp:
        with open(tmp, mode, **kwargs) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())


def write_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` (UTF-8) atomically; returns the path."""
    with atomic_open(path) as f:
        f.write(text)
    return Path(path)


def write_json(path: str | os.PathLike, payload: Any) -> Path:
    """Write ``payload`` as indented JSON atomically (values JSON cannot hold are written with ``str``)."""
    return write_text(path, json.dumps(payload, indent=2, default=str))


def _name_pattern(part: str) -> re.Pattern | None:
    """A regular expression for one path part holding ``*`` (any characters) or ``#`` (one or more digits);
    ``None`` for a literal name."""
    if "*" not in part and "#" not in part:
        return None
    return re.compile("".join(".*" if c == "*" else r"\d+" if c == "#" else re.escape(c) for c in part))


def matching_files(folder: str | os.PathLike, names: Sequence[str]) -> list[Path]:
    """The files (never folders) under ``folder`` that ``names`` name: each a path relative to ``folder`` whose
    parts may hold ``*`` (any characters) and ``#`` (one or more digits), e.g. ``samples/epoch_#.png`` matches
    ``samples/epoch_0012.png`` but not ``samples/epoch_0012_mine.png``; in the order found, without repeats."""
    found: dict[Path, None] = {}

    def walk(base: Path, parts: Sequence[str]) -> None:
        head, rest = parts[0], parts[1:]
        pattern = _name_pattern(head)
        if pattern is None:
            candidates = [base / head]
        elif base.is_dir():
            candidates = sorted(c for c in base.iterdir() if pattern.fullmatch(c.name))
        else:
            candidates = []
        for c in candidates:
            if rest:
                if c.is_dir() and not c.is_symlink():
                    walk(c, rest)
            elif c.is_symlink() or c.is_file():
                found[c] = None

    for name in names:
        walk(Path(folder), Path(name).parts)
    return list(found)


def remove_files(folder: str | os.PathLike, names: Sequence[str]) -> int:
    """What a tool's ``--overwrite`` removes — the files it writes and nothing else: the files that ``names``
    name (:func:`matching_files`), the temporary files a killed writer of them left (:func:`temporary_path`'s
    ``.NAME.PID.tmp*``), and then each folder on their paths that is left empty (a folder that still holds
    anything, a user's file say, stays). Returns how many files were deleted."""
    temporaries = [str(Path(n).parent / f".{Path(n).name}.#.tmp*") for n in names]
    return remove_paths(folder, matching_files(folder, [*names, *temporaries]))


def remove_paths(folder: str | os.PathLike, paths: Iterable[str | os.PathLike]) -> int:
    """Delete ``paths`` (files inside ``folder``), then the folders between them and ``folder`` that are left
    empty; ``folder`` itself stays. Returns how many files were deleted."""
    base = Path(folder).resolve()
    n = 0
    parents: set[Path] = set()
    for p in map(Path, paths):
        p.unlink(missing_ok=True)
        n += 1
        parent = p.parent.resolve()
        while parent != base and base in parent.parents:
            parents.add(parent)
            parent = parent.parent
    for d in sorted(parents, key=lambda d: len(d.parts), reverse=True):
        with contextlib.suppress(OSError):  # not empty: it holds something this tool did not write
            d.rmdir()
    return n


def read_json(path: str | os.PathLike) -> Any | None:
    """The JSON in ``path``, or ``None`` when the file is missing or not valid JSON."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def write_csv(path: str | os.PathLike, columns: Sequence[str], rows: Iterable[Mapping[str, Any] | Sequence[Any]]
              ) -> Path:
    """Write a CSV with header ``columns`` atomically. Rows are mappings (missing keys empty, ``None`` empty,
    unknown keys ignored) or sequences in column order."""
    with atomic_open(path, newline="") as f:
        plain = csv.writer(f)
        plain.writerow(columns)
        for row in rows:
            if isinstance(row, Mapping):
                row = ["" if row.get(c) is None else row.get(c) for c in columns]
            plain.writerow(row)
    return Path(path)


def save_figure(fig, path: str | os.PathLike, dpi: int = 100) -> Path:
    """Save a matplotlib figure as PNG atomically and close it."""
    import matplotlib.pyplot as plt

    try:
        with atomic_path(path) as tmp:
            fig.savefig(tmp, dpi=dpi, format="png")
    finally:
        plt.close(fig)
    return Path(path)


def remove_temporaries(folder: str | os.PathLike, recursive: bool = False) -> int:
    """Delete the temporary files a killed writer left in ``folder``; returns how many."""
    folder = Path(folder)
    if not folder.is_dir():
        return 0
    found = folder.rglob(".*.tmp*") if recursive else folder.glob(".*.tmp*")
    n = 0
    for p in found:
        if p.is_file():
            p.unlink(missing_ok=True)
            n += 1
    return n
