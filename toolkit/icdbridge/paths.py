"""Where icdbridge finds data and keeps caches (nothing is created at import time)."""

from __future__ import annotations

import os
from pathlib import Path

DATA_ENV = "ICDBRIDGE_DATA"
CACHE_ENV = "ICDBRIDGE_CACHE"


def data_dir() -> Path:
    """Return the folder of third-party data (``$ICDBRIDGE_DATA``, default ``../shared/data``).

    The default is resolved relative to the current working directory, which is the project root
    when tests and experiments run.
    """
    return Path(os.environ.get(DATA_ENV, "../shared/data")).expanduser()


def cache_dir() -> Path:
    """Return the cache folder (``$ICDBRIDGE_CACHE``, default ``~/.cache/icdbridge``)."""
    path = Path(os.environ.get(CACHE_ENV, Path.home() / ".cache" / "icdbridge")).expanduser()
    path.mkdir(parents=True, exist_ok=True)
    return path
