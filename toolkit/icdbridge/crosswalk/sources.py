"""Registry of source readers named by the manifests' ``reader`` field."""

from __future__ import annotations

from collections.abc import Callable

from icdbridge.crosswalk.cm_who import read_overrides
from icdbridge.crosswalk.custom import read_custom_table
from icdbridge.crosswalk.gem import read_gem_csv, read_gem_text
from icdbridge.crosswalk.manifests import manifest, manifests
from icdbridge.crosswalk.who_icd11 import load_tables

READERS: dict[str, Callable] = {
    "gem-csv": read_gem_csv,
    "gem-text": read_gem_text,
    "cm-who-overrides": read_overrides,
    "who-tables": load_tables,
    "custom-csv": read_custom_table,
}
"""Manifest ``reader`` name → function that reads that kind of source."""


def reader(name: str) -> Callable:
    """The reader function of the source manifest called ``name``."""
    return READERS[manifest(name)["reader"]]


__all__ = ["READERS", "manifest", "manifests", "reader"]
