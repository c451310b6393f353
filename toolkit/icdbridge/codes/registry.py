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

CUSTOM_RELEASES: dict[tuple[str, str], Path] = {}
"""(custom system id, release) → hierarchy file of that release, filled by
:func:`register_hierarchy` with a ``release``."""

ALIASES: dict[str, str] = {"icd9": "icd9cm", "icd11mms": "icd11"}
"""Other names of a system (compared as :func:`system_id` does): ``icd9`` is ICD-9-CM, the only
ICD-9 icdbridge knows."""

AMBIGUOUS: dict[str, tuple[str, ...]] = {"icd10": ("icd10cm", "icd10who")}
"""Names that could mean several systems: refused, naming the choices."""


def system_id(name: str) -> str:
    """The system id ``name`` stands for: ids and :data:`ALIASES` in any case and punctuation.

    ``ICD-10-CM``, ``icd10_cm`` and ``icd10cm`` are all ``icd10cm``; ``icd9`` is ``icd9cm``. A name
    that is neither (a custom system) is returned unchanged, for the caller to accept or refuse.
    Every command resolves ``--from``/``--to``/``--system`` through this one rule.

    Raises:
        UnknownSystemError: an ambiguous name (``icd10``: ``icd10cm`` or ``icd10who``).

    Example:
        >>> system_id("ICD-10-CM"), system_id("icd9")
        ('icd10cm', 'icd9cm')
    """
    if name in SYSTEMS or name in CUSTOM_SYSTEMS or not isinstance(name, str):
        return name
    key = "".join(ch for ch in name.lower() if ch.isalnum())
    if key in SYSTEMS:
        return key
    if key in ALIASES:
        return ALIASES[key]
    if key in AMBIGUOUS:
        choices = " or ".join(AMBIGUOUS[key])
        raise UnknownSystemError(
            f"code system {name!r} is ambiguous: use {choices} (ICD-10-CM is the US clinical "
            "modification, icd10who the WHO ICD-10)"
        )
    return name


def terminology_class(system: str) -> type[Terminology]:
    """Return the terminology class registered for ``system``.

    Raises:
        UnknownSystemError: ``system`` is not one of :data:`SYSTEMS`.
    """
    system = system_id(system)
    try:
        target = SYSTEMS[system]
    except KeyError:
        aliases = [f"{alias} (= {name})" for alias, name in ALIASES.items()]
        known = ", ".join([*SYSTEMS, *CUSTOM_SYSTEMS, *aliases])
        raise UnknownSystemError(
            f"unknown code system {system!r} (expected one of: {known}; "
            "a custom hierarchy file is loaded with icdbridge.codes.load_hierarchy)"
        ) from None
    module, _, name = target.partition(":")
    return getattr(import_module(module), name)


@cache
def get_terminology(system: str, release: str | None = None) -> Terminology:
    """Return the (cached) terminology of ``system`` at ``release`` (``None``: its default).

    ``system`` is an id or an alias (see :func:`system_id`).

    Example:
        >>> t = get_terminology("icd10cm")
        >>> t.parent("e119")
        'E11'
    """
    canonical = system_id(system)
    if canonical != system:  # the same cache entry as the canonical id's
        if release is None:
            return get_terminology(canonical)
        return get_terminology(canonical, release)
    if system in CUSTOM_SYSTEMS:
        from icdbridge.codes.hierarchy_file import load_hierarchy

        path = CUSTOM_RELEASES.get((system, release or ""), CUSTOM_SYSTEMS[system])
        return load_hierarchy(path, system=system, release=release)
    return terminology_class(system)(release)


def register_hierarchy(
    system: str, path: str | os.PathLike[str], release: str | None = None
) -> None:
    """Make the custom hierarchy file at ``path`` available as ``get_terminology(system)``.

    The file is read on first use (format: :mod:`icdbridge.codes.hierarchy_file`). With
    ``release``, the file is that release of ``system`` (``get_terminology(system, release)``),
    beside the file registered without one (the system's file for every other release, which a
    first registration with a release also becomes): one custom system can have several
    releases, e.g. to predict with a model in a newer release than it was trained with.

    Raises:
        InputFormatError: ``system`` is a built-in system id, or ``path`` does not exist.
    """
    from icdbridge.errors import InputFormatError

    if system in SYSTEMS:
        raise InputFormatError(path, f"{system!r} is a built-in code system; choose another id")
    if not Path(path).is_file():
        raise InputFormatError(path, "hierarchy file not found")
    if release is None:
        CUSTOM_SYSTEMS[system] = Path(path)
    else:
        CUSTOM_RELEASES[(system, release)] = Path(path)
        CUSTOM_SYSTEMS.setdefault(system, Path(path))
    get_terminology.cache_clear()
