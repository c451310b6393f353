"""One registry of code systems: system id → terminology class (imported on first use)."""

from __future__ import annotations

import os
from functools import cache
from importlib import import_module
from pathlib import Path

from icdbridge.codes.base import Terminology
from icdbridge.errors import UnknownSystemError

SYSTEMS: dict[str, str] = {
    "icd9cm": "icdbridge.codes.icd9cm:ICD9CM",
    "icd10cm": "icdbridge.codes.icd10cm:ICD10CM",
    "icd10who": "icdbridge.codes.icd10who:ICD10WHO",
    "icd11": "icdbridge.codes.icd11:ICD11",
}
"""System id → ``module:Class`` of its terminology."""

CUSTOM_SYSTEMS: dict[str, Path] = {}
"""Custom system id → hierarchy file, filled by :func:`register_hierarchy`."""


def terminology_class(system: str) -> type[Terminology]:
    """Return the terminology class registered for ``system``.

    Raises:
        UnknownSystemError: ``system`` is not one of :data:`SYSTEMS`.
    """
    try:
        target = SYSTEMS[system]
    except KeyError:
        known = ", ".join([*SYSTEMS, *CUSTOM_SYSTEMS])
        raise UnknownSystemError(
            f"unknown code system {system!r} (expected one of: {known}; "
            "a custom hierarchy file is loaded with icdbridge.codes.load_hierarchy)"
        ) from None
    module, _, name = target.partition(":")
    return getattr(import_module(module), name)


@cache
def get_terminology(system: str, release: str | None = None) -> Terminology:
    """Return the (cached) terminology of ``system`` at ``release`` (``None``: its default).

    Example:
        >>> t = get_terminology("icd10cm")
        >>> t.parent("e119")
        'E11'
    """
    if system in CUSTOM_SYSTEMS:
        from icdbridge.codes.hierarchy_file import load_hierarchy

        return load_hierarchy(CUSTOM_SYSTEMS[system], system=system, release=release)
    return terminology_class(system)(release)


def register_hierarchy(system: str, path: str | os.PathLike[str]) -> None:
    """Make the custom hierarchy file at ``path`` available as ``get_terminology(system)``.

    The file is read on first use (format: :mod:`icdbridge.codes.hierarchy_file`).

    Raises:
        InputFormatError: ``system`` is a built-in system id, or ``path`` does not exist.
    """
    from icdbridge.errors import InputFormatError

    if system in SYSTEMS:
        raise InputFormatError(path, f"{system!r} is a built-in code system; choose another id")
    if not Path(path).is_file():
        raise InputFormatError(path, "hierarchy file not found")
    CUSTOM_SYSTEMS[system] = Path(path)
    get_terminology.cache_clear()
