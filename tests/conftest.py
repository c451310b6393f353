"""Shared fixtures: the real third-party data folder (skipped with a reason when absent)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from icdbridge.paths import data_dir

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def require_data(*parts: str) -> Path:
    """Return ``data_dir()/parts``, skipping the test with a clear reason when it is absent."""
    path = data_dir().joinpath(*parts)
    if not path.exists():
        pytest.skip(
            f"real data not found at {path} (set ICDBRIDGE_DATA to the shared data folder; "
            "see ../shared/data/README.md)"
        )
    return path


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The shared data folder; tests using it skip when it is absent."""
    return require_data()
