"""What both drivers share: the work counter, the log line, and finding the data they were pointed at.

Every stage a driver runs is a library call that resumes by itself: a generation job skips finished pairs
(:func:`nst_aug.job.run_generation`), a network whose spec and split are already finished in its folder is
returned from its ``result.json`` (:func:`classify.experiment.train_and_evaluate`). So a killed driver, run again,
loses at most the network or batch in flight.
"""
from __future__ import annotations

import time
from pathlib import Path

from classify.data import SHARED_DATA_ENV, shared_data_dir


class Counter:
    """How much work this run did (vs. found finished): networks ``trained``/``cached``, images
    ``generated``/``generation_cached``."""

    def __init__(self):
        self.trained = 0
        self.cached = 0
        self.generated = 0
        self.generation_cached = 0

    def network(self, result) -> None:
        """Count a :class:`classify.experiment.RunResult`."""
        if result.cached:
            self.cached += 1
        else:
            self.trained += 1

    def generation(self, summary: dict) -> None:
        """Count a :func:`nst_aug.job.run_generation` summary."""
        self.generated += summary["made"]
        self.generation_cached += summary["already_done"]

    def to_dict(self) -> dict:
        return dict(vars(self))


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def shared_subfolder(*parts: str) -> Path | None:
    """``$NST_AUG_SHARED_DATA/<parts>`` when that variable is set and the path exists, else None."""
    root = shared_data_dir()
    if root is None:
        return None
    path = root.joinpath(*parts)
    return path if path.exists() else None


def missing_data(what: str, flag: str = "--data") -> ValueError:
    return ValueError(f"{what}: give {flag} PATH (or set {SHARED_DATA_ENV} to a folder laid out like the "
                      "development data)")
