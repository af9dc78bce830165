"""Shared test fixtures: paths to the real data in ../shared/data (tests skip cleanly when it is absent)."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("NST_AUG_SHARED_DATA", REPO.parent / "shared" / "data"))


def _need(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"real data not available: {path}")
    return path


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The folder ../shared/data (skip when absent)."""
    return _need(SHARED_DATA)


@pytest.fixture(scope="session")
def isic_uda1(shared_data) -> Path:
    """370 CC0 ISIC images in the ISIC 2019 layout (images/ + ground-truth CSV)."""
    return _need(shared_data / "isic_uda1")


@pytest.fixture(scope="session")
def isic2019_csv(shared_data) -> Path:
    """The full ISIC 2019 training ground-truth CSV (25,331 rows, no images)."""
    return _need(shared_data / "isic2019" / "ISIC_2019_Training_GroundTruth.csv")


@pytest.fixture(scope="session")
def caltech101(shared_data) -> Path:
    """Caltech-101 crab/butterfly/scorpion in the official folder layout."""
    return _need(shared_data / "caltech101" / "101_ObjectCategories")


@pytest.fixture(scope="session")
def kandinsky(shared_data) -> Path:
    """Kandinsky, Composition VII (public domain)."""
    return _need(shared_data / "styles" / "kandinsky_composition_vii.jpg")
