"""The hop interface: one direct crosswalk table between two code systems.

A chained crosswalk (:class:`icdbridge.crosswalk.chain.Crosswalk`) composes hops. A hop answers
one question: *which targets does this (canonical) source code have in my table?* It returns
``None`` when its table has no row for the code (the chain then reports "no row"), and a tuple of
:class:`~icdbridge.crosswalk.model.Target` otherwise (code-less targets explain a no-map).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from functools import cache

from icdbridge.codes.icd10cm import canonical_icd10
from icdbridge.crosswalk.model import Target
from icdbridge.errors import IcdbridgeError, InvalidCodeError


class Hop(ABC):
    """One direct crosswalk table from :attr:`source_system` to :attr:`target_system`.

    Attributes:
        source_system: System id of the source codes.
        target_system: System id of the target codes.
        name: Id of the source table (its manifest name in ``mappings/``).
        release: Release of the table.
    """

    source_system: str
    target_system: str
    name: str
    release: str

    @abstractmethod
    def lookup(self, code: str) -> tuple[Target, ...] | None:
        """Targets of the canonical source ``code``; ``None`` when the table has no row for it."""

    def has_row(self, code: str) -> bool:
        """Whether the table itself lists ``code`` as a source (computed hops: ``False``)."""
        return False

    def fast_keys(self) -> dict[str, str]:
        """Spellings of listed source codes → canonical code (for the batch fast path)."""
        return {}

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.source_system}→{self.target_system}, {self.release})"


class TableHop(Hop):
    """A hop read from a table: canonical source code → its targets (every row kept).

    Subclasses set :attr:`source_system` / :attr:`target_system` and fill :attr:`table`,
    :attr:`name` and :attr:`release`.
    """

    table: dict[str, tuple[Target, ...]]

    def lookup(self, code: str) -> tuple[Target, ...] | None:
        return self.table.get(code)

    def has_row(self, code: str) -> bool:
        return code in self.table

    def fast_keys(self) -> dict[str, str]:
        return {code: code for code in self.table}


# --------------------------------------------------------------------- code spelling helpers
def dot_icd9(undotted: str) -> str:
    """Dotted ICD-9-CM diagnosis code from the undotted GEM form (``0389`` → ``038.9``).

    E codes keep four characters before the dot (``E8889`` → ``E888.9``), all others three.
    """
    cut = 4 if undotted.startswith("E") else 3
    return undotted if len(undotted) <= cut else f"{undotted[:cut]}.{undotted[cut:]}"


def dot_icd10(undotted: str) -> str:
    """Dotted ICD-10 / ICD-10-CM code from the undotted form (``A419`` → ``A41.9``)."""
    return canonical_icd10(undotted) or undotted


_FALLBACK_CANONICAL = {
    "icd9cm": lambda compact: dot_icd9(compact.replace(".", "")),
    "icd10cm": lambda compact: canonical_icd10(compact),
    "icd10who": lambda compact: canonical_icd10(compact),
    "icd11": lambda compact: compact,
}


@cache
def terminology_or_none(system: str):
    """The default terminology of ``system``, or ``None`` when it cannot be loaded here."""
    from icdbridge.codes.registry import get_terminology

    try:
        return get_terminology(system)
    except (ImportError, AttributeError, IcdbridgeError):
        return None


def normalize(system: str, code: str) -> str:
    """Canonical form of ``code`` in ``system`` (raises :class:`InvalidCodeError`)."""
    terminology = terminology_or_none(system)
    if terminology is not None:
        return terminology.normalize(code)
    if not isinstance(code, str):
        raise InvalidCodeError(f"{code!r} is not a {system} code: expected a string")
    compact = "".join(code.split()).upper()
    fallback = _FALLBACK_CANONICAL.get(system)
    canonical = fallback(compact) if (compact and fallback) else None
    if not canonical:
        raise InvalidCodeError(f"{code!r} is not a valid {system} code")
    return canonical


def is_defined(system: str, code: str) -> bool:
    """Whether the default release of ``system`` defines ``code`` (``False`` if unknown)."""
    terminology = terminology_or_none(system)
    return terminology is not None and terminology.is_defined(code)


def title_of(system: str, code: str | None) -> str:
    """Title of ``code`` in the default release of ``system`` (``""`` when unknown)."""
    if code is None:
        return ""
    terminology = terminology_or_none(system)
    node = terminology.get(code) if terminology is not None else None
    return node.title if node is not None else ""
