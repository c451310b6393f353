"""The evaluation's view of a code hierarchy: normalise a code and name its ancestors by level.

Evaluation needs three things from a code system: a canonical form for every code (so that
``e11.9`` and ``E119`` match), the node of each *level* above a code (chapter, block, category,
4-character subcategory, ...), and the chapter for breakdowns. :class:`EvalHierarchy` provides
them for

* a terminology of the registry (:func:`icdbridge.codes.get_terminology`) or a custom hierarchy
  file (:func:`icdbridge.codes.hierarchy_file.load_hierarchy`): :class:`TerminologyHierarchy`;
* a CoPHE-style JSON file where each code lists its ``parents`` at fixed depths (the format of
  the CoPHE reference implementation, e.g. ``icd9_graph_desc.json``): :class:`CopheHierarchy`.

Levels are named by what they are. Above the category they are ``block`` and ``chapter`` (the
nearest block only, when blocks nest); the category is the top-most node below the block;
nodes between the category and the code are named by their length without the dot
(``4-character``, ``5-character``...). Every code is also its own ``code`` level.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from functools import cache
from os import PathLike
from pathlib import Path

from icdbridge.errors import InputFormatError, InvalidCodeError

GROUP_LEVELS = ("chapter", "block")
"""Levels above the category, from the top."""


def level_sort_key(level: str) -> tuple[int, int]:
    """Order levels bottom-up: code, longest n-character first, category, block, chapter."""
    if level == "code":
        return (0, 0)
    if level.endswith("-character"):
        return (1, -int(level.split("-")[0]))
    return {"category": (2, 0), "block": (3, 0), "chapter": (4, 0)}.get(level, (5, 0))


class EvalHierarchy(ABC):
    """A code system as evaluation sees it (see the module docstring)."""

    name: str = "hierarchy"

    @abstractmethod
    def normalize(self, code: str) -> str:
        """Canonical form of ``code``.

        Raises:
            InvalidCodeError: ``code`` is not valid syntax for the system.
        """

    @abstractmethod
    def contains(self, code: str) -> bool:
        """Whether the canonical ``code`` is a node of the hierarchy."""

    @abstractmethod
    def _levels(self, code: str) -> dict[str, str]:
        """Level name → node for a canonical code known to the hierarchy (``code`` included)."""

    def levels(self, code: str) -> dict[str, str]:
        """Level name → node for ``code`` (only ``{"code": code}`` when outside the hierarchy)."""
        if not self.contains(code):
            return {"code": code}
        return self._levels(code)

    def chapter(self, code: str) -> str | None:
        """The chapter of ``code``, ``None`` when outside the hierarchy."""
        return self.levels(code).get("chapter")


class TerminologyHierarchy(EvalHierarchy):
    """A :class:`icdbridge.codes.Terminology` (registry system or custom hierarchy file).

    Example:
        >>> from icdbridge.codes import get_terminology
        >>> h = TerminologyHierarchy(get_terminology("icd10cm"))
        >>> levels = h.levels(h.normalize("z20818"))
        >>> list(levels)
        ['code', '6-character', '5-character', '4-character', 'category', 'block', 'chapter']
        >>> levels["4-character"], levels["category"], levels["block"]
        ('Z20.8', 'Z20', 'Z20-Z29')
    """

    def __init__(self, terminology) -> None:
        self.terminology = terminology
        self.name = getattr(terminology, "system", "hierarchy")
        self._cache: dict[str, dict[str, str]] = {}

    def normalize(self, code: str) -> str:
        return self.terminology.normalize(code)

    def contains(self, code: str) -> bool:
        return self.terminology.is_defined(code)

    def _levels(self, code: str) -> dict[str, str]:
        cached = self._cache.get(code)
        if cached is not None:
            return cached
        term = self.terminology
        chain = [code, *term.ancestors(code)]
        kinds = [term.kind(node) for node in chain]
        out: dict[str, str] = {"code": code}
        below_block = [
            node for node, kind in zip(chain, kinds, strict=True) if kind not in GROUP_LEVELS
        ]
        if below_block:
            out_inner = below_block[:-1]
            for node in out_inner:
                out.setdefault(f"{len(node.replace('.', ''))}-character", node)
            out["category"] = below_block[-1]
        for node, kind in zip(chain, kinds, strict=True):
            if kind in GROUP_LEVELS:
                out.setdefault(kind, node)
        self._cache[code] = out
        return out


class CopheHierarchy(EvalHierarchy):
    """A CoPHE-style JSON hierarchy: ``{code: {"parents": [p0, p1, p2, p3], ...}}``.

    ``parents[i]`` is the code's ancestor at fixed depth ``i`` counted from the bottom (for
    ICD-9: 4-character subcategory, 3-character category, block, chapter); a code shallower
    than a depth repeats itself there (``401.9 → [401.9, 401, 401-405.99, 390-459.99]``).
    The root is ``@``. Codes are matched as written (upper-cased); an undotted code is
    accepted when exactly one dotted code of the file has that undotted form.
    """

    LEVEL_NAMES = ("subcategory", "category", "block", "chapter")

    def __init__(self, parents: dict[str, list[str]], name: str = "cophe") -> None:
        self.parents = parents
        self.name = name
        undotted: dict[str, list[str]] = {}
        for code in parents:
            undotted.setdefault(code.replace(".", ""), []).append(code)
        self._undotted = {key: codes[0] for key, codes in undotted.items() if len(codes) == 1}

    @classmethod
    def from_file(cls, path: str | PathLike[str]) -> CopheHierarchy:
        """Read a CoPHE JSON file.

        Raises:
            InputFormatError: not JSON, or an entry without a ``parents`` list.
        """
        return _load_cophe(str(Path(path).resolve()))

    def normalize(self, code: str) -> str:
        if not isinstance(code, str) or not code.strip():
            raise InvalidCodeError(f"{code!r} is not a code of {self.name}")
        compact = "".join(code.split()).upper()
        if compact in self.parents:
            return compact
        return self._undotted.get(compact.replace(".", ""), compact)

    def contains(self, code: str) -> bool:
        return code in self.parents and code != "@"

    def _levels(self, code: str) -> dict[str, str]:
        parents = self.parents[code]
        out = {"code": code}
        for index, node in enumerate(parents[: len(self.LEVEL_NAMES)]):
            if node == "@" or (node in out.values() and node != code):
                continue  # the root, or a node repeating itself at a deeper fixed depth
            if index == 0:
                if len(parents) > 1 and node == parents[1]:
                    continue  # a category repeats itself at the subcategory depth
                out[f"{len(node.replace('.', ''))}-character"] = node
            else:
                out[self.LEVEL_NAMES[index]] = node
        return out


@cache
def _load_cophe(path: str) -> CopheHierarchy:
    from icdbridge.text_input import read_utf8

    try:
        raw = json.loads(read_utf8(path))
    except json.JSONDecodeError as error:
        raise InputFormatError(path, f"not valid JSON: {error.msg}", line=error.lineno) from None
    except (RecursionError, ValueError) as error:
        if isinstance(error, InputFormatError):
            raise
        raise InputFormatError(
            path, "unreadable JSON (nested too deeply or a huge number)"
        ) from None
    if not isinstance(raw, dict):
        raise InputFormatError(path, "a CoPHE hierarchy is a JSON object {code: {parents: [...]}}")
    parents: dict[str, list[str]] = {}
    for code, entry in raw.items():
        value = entry.get("parents") if isinstance(entry, dict) else None
        if not isinstance(value, list) or not all(isinstance(p, str) for p in value):
            raise InputFormatError(path, "entry without a 'parents' list of codes", value=code)
        parents[code.upper()] = [p.upper() for p in value]
    return CopheHierarchy(parents, name=Path(path).stem)


def is_cophe_json(path: str | PathLike[str]) -> bool:
    """Whether ``path`` looks like a CoPHE JSON hierarchy (a JSON object with ``parents``)."""
    path = Path(path)
    if path.suffix.lower() != ".json":
        return False
    with open(path, "rb") as handle:
        head = handle.read(4096).decode("utf-8", errors="replace")  # a sniff; read_utf8 checks
    return head.lstrip().startswith("{") and '"parents"' in head


def resolve_hierarchy(
    system: str | None = None, hierarchy: str | PathLike[str] | None = None
) -> EvalHierarchy | None:
    """The hierarchy named by ``system`` or read from the file ``hierarchy`` (``None``: neither).

    Args:
        system: a registry system id (``icd9cm``, ``icd10cm``, ``icd10who``, ``icd11``).
        hierarchy: a CoPHE JSON file, or a plain hierarchy file of the terminology layer.

    Raises:
        UnknownSystemError: unknown ``system``.
        InputFormatError: unreadable hierarchy file.
    """
    if system is not None and hierarchy is not None:
        raise InputFormatError(None, "give either a code system or a hierarchy file, not both")
    if hierarchy is not None:
        path = Path(hierarchy)
        if not path.is_file():
            raise InputFormatError(path, "hierarchy file not found")
        if is_cophe_json(path):
            return CopheHierarchy.from_file(path)
        from icdbridge.codes.hierarchy_file import load_hierarchy

        return TerminologyHierarchy(load_hierarchy(path))
    if system is not None:
        from icdbridge.codes import get_terminology

        return TerminologyHierarchy(get_terminology(system))
    return None


__all__ = [
    "CopheHierarchy",
    "EvalHierarchy",
    "TerminologyHierarchy",
    "is_cophe_json",
    "level_sort_key",
    "resolve_hierarchy",
]
