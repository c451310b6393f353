"""What the ``icdbridge codes`` commands print, as plain Python data (usable without the CLI)."""

from __future__ import annotations

import os
from typing import Any

from icdbridge.codes.base import Terminology
from icdbridge.errors import UnknownSystemError


def open_terminology(
    system: str | None = None,
    release: str | None = None,
    *,
    hierarchy: str | os.PathLike[str] | None = None,
    icd11_tabulation: str | os.PathLike[str] | None = None,
) -> Terminology:
    """The terminology a user named: a built-in ``system``, or a custom ``hierarchy`` file.

    Args:
        system: Built-in or registered system id (``icd10cm``...); with ``hierarchy``, the id to
            give the custom system.
        release: Release id (``None``: the default release).
        hierarchy: A custom hierarchy file (``.csv``/``.json``), see
            :mod:`icdbridge.codes.hierarchy_file`.
        icd11_tabulation: WHO's SimpleTabulation file for ``system="icd11"``.

    Raises:
        UnknownSystemError: neither ``system`` nor ``hierarchy`` given, an unknown system or
            release, or ``icd11_tabulation`` with another system.
    """
    from icdbridge.codes.registry import get_terminology

    if hierarchy is not None:
        from icdbridge.codes.hierarchy_file import load_hierarchy

        return load_hierarchy(hierarchy, system=system, release=release)
    if system is None:
        raise UnknownSystemError(
            "no code system given: name a system (icd9cm, icd10cm, icd10who, icd11) "
            "or a hierarchy file"
        )
    if icd11_tabulation is not None:
        if system != "icd11":
            raise UnknownSystemError(
                f"an ICD-11 tabulation file applies to the system icd11, not {system!r}"
            )
        from icdbridge.codes.icd11 import ICD11

        return ICD11(release, tabulation=icd11_tabulation)
    return get_terminology(system, release)


def code_summary(terminology: Terminology, code: str) -> dict[str, Any]:
    """Everything ``icdbridge codes lookup`` shows about ``code``.

    Raises:
        InvalidCodeError: malformed code.
        NotDefinedError: not defined in the release.

    Example:
        >>> from icdbridge.codes import get_terminology
        >>> info = code_summary(get_terminology("icd10cm"), "e119")
        >>> info["normalized"], info["parent"]["code"], info["chapter"]
        ('E11.9', 'E11', '4')
    """
    node = terminology.node(code)

    def brief(other: str) -> dict[str, str]:
        target = terminology.node(other)
        return {"code": target.code, "title": target.title, "kind": target.kind}

    return {
        "input": code,
        "normalized": node.code,
        "undotted": node.code.replace(".", ""),
        "system": terminology.system,
        "release": terminology.release,
        "description": node.title,
        "kind": node.kind,
        "synonyms": list(node.synonyms),
        "leaf": terminology.is_leaf(node.code),
        "billable": terminology.is_billable(node.code),
        "parent": brief(node.parent) if node.parent else None,
        "ancestors": [brief(a) for a in terminology.ancestors(node.code)],
        "chapter": terminology.chapter(node.code),
        "block": terminology.block(node.code),
        "children": len(terminology.children(node.code)),
        "extra": {k: v for k, v in node.extra.items() if v not in (None, "")},
    }


def search_summary(terminology: Terminology, text: str, limit: int = 10) -> list[dict[str, Any]]:
    """Best lexical matches of ``text``: ``code``, ``score``, ``kind``, ``title``, ``leaf``."""
    out = []
    for code, score in terminology.search(text, limit=limit):
        node = terminology.node(code)
        out.append(
            {
                "code": code,
                "score": round(score, 4),
                "kind": node.kind,
                "title": node.title,
                "leaf": terminology.is_leaf(code),
            }
        )
    return out


def release_diff(system: str, old: str, new: str) -> dict[str, Any]:
    """Billable codes added and removed between two releases of ``system``.

    Raises:
        UnknownSystemError: unknown system or release, or a system with a single release.

    Example:
        >>> diff = release_diff("icd10cm", "2024", "2026")
        >>> diff["counts"]["added"] > 0
        True
    """
    from icdbridge.codes.registry import get_terminology, terminology_class

    releases = terminology_class(system).releases
    if len(releases) < 2:
        raise UnknownSystemError(
            f"{system} has one release ({', '.join(releases)}); a diff needs two releases of "
            "one system, e.g. icd10cm 2024 and 2026"
        )
    before = get_terminology(system, old).codes(leaves_only=True)
    after = get_terminology(system, new).codes(leaves_only=True)
    old_set, new_set = set(before), set(after)
    added = [c for c in after if c not in old_set]
    removed = [c for c in before if c not in new_set]
    return {
        "system": system,
        "from": old,
        "to": new,
        "counts": {
            "from": len(before),
            "to": len(after),
            "added": len(added),
            "removed": len(removed),
        },
        "added": added,
        "removed": removed,
    }
