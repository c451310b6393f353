"""One registry of code systems: system id → terminology class (imported on first use)."""

from __future__ import annotations

from functools import cache
from importlib import import_module

from icdbridge.codes.base import Terminology
from icdbridge.errors import UnknownSystemError

SYSTEMS: dict[str, str] = {
    "icd9cm": "icdbridge.codes.icd9cm:ICD9CM",
    "icd10cm": "icdbridge.codes.icd10cm:ICD10CM",
    "icd10who": "icdbridge.codes.icd10who:ICD10WHO",
    "icd11": "icdbridge.codes.icd11:ICD11",
}
"""System id → ``module:Class`` of its terminology."""


def terminology_class(system: str) -> type[Terminology]:
    """Return the terminology class registered for ``system``.

    Raises:
        UnknownSystemError: ``system`` is not one of :data:`SYSTEMS`.
    """
    try:
        target = SYSTEMS[system]
    except KeyError:
        known = ", ".join(SYSTEMS)
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
    return terminology_class(system)(release)
