"""Hierarchy files: export → load round trip, custom systems, and bad files."""

from __future__ import annotations

from pathlib import Path

import pytest

from icdbridge.codes import (
    export_hierarchy,
    get_terminology,
    load_hierarchy,
    register_hierarchy,
)
from icdbridge.codes.registry import CUSTOM_SYSTEMS
from icdbridge.errors import InputFormatError, NotDefinedError

TINY = """\
code,parent,title,kind,leaf,synonyms
A,,Infections,chapter,,
A00-A09,A,Intestinal infections,block,,
A00,A00-A09,Cholera,category,,
A00.0,A00,Classical cholera,subcategory,true,Cholera due to biovar cholerae | Asiatic cholera
A00.9,A00,"Cholera, unspecified",subcategory,true,
"""


@pytest.fixture()
def tiny(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.csv"
    path.write_text(TINY, encoding="utf-8")
    return path


def test_tiny_file_answers_like_a_terminology(tiny: Path) -> None:
    custom = load_hierarchy(tiny, system="natl", release="2025")
    assert (custom.system, custom.release) == ("natl", "2025")
    assert custom.ancestors("a000") == ["A00", "A00-A09", "A"]
    assert custom.block("A00.9") == "A00-A09"
    assert custom.synonyms("A00.0") == ["Cholera due to biovar cholerae", "Asiatic cholera"]
    assert custom.is_leaf("A00.0") and not custom.is_leaf("A00")
    assert custom.codes(leaves_only=True) == ["A00.0", "A00.9"]
    assert custom.search("asiatic")[0][0] == "A00.0"
    with pytest.raises(NotDefinedError):
        custom.node("B99")


@pytest.mark.parametrize("system", ["icd10who", "icd9cm"])
@pytest.mark.parametrize("suffix", [".csv", ".json"])
def test_round_trip(system: str, suffix: str, tmp_path: Path) -> None:
    original = get_terminology(system)
    loaded = load_hierarchy(export_hierarchy(original, tmp_path / f"h{suffix}"))
    assert len(loaded) == len(original)
    for code in original.codes()[::97]:
        assert loaded.ancestors(code) == original.ancestors(code)
        assert loaded.is_leaf(code) == original.is_leaf(code)
        assert loaded.description(code) == original.description(code)
    assert set(loaded.graph().edges) == set(original.graph().edges)


def test_register_custom_system(tiny: Path) -> None:
    try:
        register_hierarchy("tinyland", tiny)
        assert get_terminology("tinyland").parent("A00.9") == "A00"
    finally:
        CUSTOM_SYSTEMS.pop("tinyland", None)
        get_terminology.cache_clear()
    with pytest.raises(InputFormatError, match="built-in"):
        register_hierarchy("icd10cm", tiny)


@pytest.mark.parametrize(
    ("text", "line", "value", "message"),
    [
        ("code,title\nA,x\n", 1, None, "missing column"),
        ("code,parent,title\nA,,x\nA00,Z,y\n", 3, "Z", "unknown parent"),
        ("code,parent,title\nA,,x\nA,,y\n", 3, "A", "duplicate code"),
        ("code,parent,title\nA,B,x\nB,A,y\n", 2, "A", "cycle"),
        ("code,parent,title,leaf\nA,,x,maybe\n", 2, "maybe", "leaf"),
        ("code,parent,title\n,,x\n", 2, "", "empty code"),
    ],
)
def test_bad_files_name_file_line_value(
    tmp_path: Path, text: str, line: int, value: str | None, message: str
) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputFormatError) as error:
        load_hierarchy(path)
    assert error.value.line == line
    assert message in str(error.value) and "bad.csv" in str(error.value)
    if value is not None:
        assert error.value.value == value


def test_bad_json(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text('{"nodes": [{"code": "A", "parent": "Q", "title": "x"}]}', encoding="utf-8")
    with pytest.raises(InputFormatError, match="node #1: unknown parent"):
        load_hierarchy(path)
    other = tmp_path / "x.txt"
    other.write_text("code,parent,title\n", encoding="utf-8")
    with pytest.raises(InputFormatError, match=r"\.json or \.csv"):
        load_hierarchy(other)
