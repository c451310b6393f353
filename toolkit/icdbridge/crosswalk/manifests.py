"""Source manifests: one TOML file per mapping source in ``mappings/``.

Each manifest says what a source is and how icdbridge reads it: ``name``, ``title``,
``publisher``, ``release`` (or ``releases``), ``licence``, ``download`` (where users get it),
``files``, ``columns`` (expected columns per file) and ``reader`` (a key of :data:`READERS`).
Manifests are read with the standard library's :mod:`tomllib`.
"""

from __future__ import annotations

import os
import sys
import tomllib
from functools import cache
from pathlib import Path
from typing import Any

from icdbridge.errors import DataNotFoundError, UnknownSystemError

MAPPINGS_ENV = "ICDBRIDGE_MAPPINGS"
REQUIRED = ("name", "title", "publisher", "licence", "download", "reader")


def mappings_dir() -> Path:
    """Folder of manifests and curated tables.

    ``$ICDBRIDGE_MAPPINGS`` when set; else the repository's ``mappings/`` (source checkouts and
    editable installs); else ``<prefix>/share/icdbridge/mappings``, where a wheel installs it.
    """
    env = os.environ.get(MAPPINGS_ENV)
    if env:
        return Path(env).expanduser()
    source = Path(__file__).resolve().parents[3] / "mappings"
    if source.is_dir():
        return source
    return Path(sys.prefix) / "share" / "icdbridge" / "mappings"


@cache
def manifests() -> dict[str, dict[str, Any]]:
    """Every manifest in :func:`mappings_dir`, by name.

    Raises:
        DataNotFoundError: the folder is missing.
    """
    folder = mappings_dir()
    if not folder.is_dir():
        raise DataNotFoundError(f"mapping manifests not found in {folder} (set {MAPPINGS_ENV})")
    out = {}
    for path in sorted(folder.glob("*.toml")):
        with open(path, "rb") as handle:
            manifest = tomllib.load(handle)
        manifest["path"] = str(path)
        out[manifest["name"]] = manifest
    return out


def manifest(name: str) -> dict[str, Any]:
    """The manifest called ``name``.

    Raises:
        UnknownSystemError: no manifest of that name.
    """
    try:
        return manifests()[name]
    except KeyError:
        known = ", ".join(manifests())
        raise UnknownSystemError(f"unknown mapping source {name!r} (known: {known})") from None
