"""ICD-11 MMS 2024-01 from WHO's SimpleTabulation: facts, counts by ClassKind, file handling."""

from __future__ import annotations

import csv
import io
import zipfile
from collections import Counter
from pathlib import Path

import pytest

from conftest import require_data
from icdbridge.codes.icd11 import ICD11, TABULATION_ENV, canonical_icd11
from icdbridge.errors import DataNotFoundError, InputFormatError, NotDefinedError

TABULATION = ("who-icd11", "SimpleTabulation-ICD-11-MMS-en-2024-01.zip")


@pytest.fixture(scope="module")
def zip_path() -> Path:
    return require_data(*TABULATION)


@pytest.fixture(scope="module")
def mms(zip_path: Path) -> ICD11:
    return ICD11(tabulation=zip_path)


def _raw_rows(zip_path: Path) -> list[dict[str, str]]:
    with zipfile.ZipFile(zip_path) as archive:
        name = next(n for n in archive.namelist() if n.endswith("Tabulation-ICD-11-MMS-en.txt"))
        text = archive.read(name).decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text), delimiter="\t"))


def test_type_2_diabetes(mms: ICD11) -> None:
    assert mms.release == "2024-01"
    assert mms.description("5A11") == "Type 2 diabetes mellitus"
    assert mms.chapter("5A11") == "05"
    assert mms.ancestors("5a11") == ["BlockL2-5A1", "BlockL1-5A0", "05"]
    assert mms.description("BlockL2-5A1") == "Diabetes mellitus"
    assert mms.kind("5A11") == "category"
    assert mms.is_leaf("5A11")


def test_every_entity_is_read_by_class_kind(mms: ICD11, zip_path: Path) -> None:
    rows = _raw_rows(zip_path)
    expected = Counter(row["ClassKind"] for row in rows)
    assert expected == {"chapter": 28, "block": 1353, "category": 34663}
    ours = Counter(node.kind for node in mms.nodes())
    categories = ours["category"] + ours["subcategory"] + ours["extension"]
    assert (ours["chapter"], ours["block"], categories) == (28, 1353, 34663)
    assert len(mms) == len(rows)


def test_residuals_and_extensions(mms: ICD11) -> None:
    assert mms.is_residual("1A07.Z")
    assert mms.node("1A07.Z").extra["residual"] == "unspecified"
    assert not mms.is_residual("5A11")
    assert mms.kind("XS8H") == "extension" and mms.is_extension("XS8H")
    assert mms.chapter("XS8H") == "X"
    residuals = sum(1 for node in mms.nodes() if node.extra["is_residual"])
    assert residuals == 5217


def test_uncoded_groupings_and_uris(mms: ICD11) -> None:
    block = mms.by_uri("http://id.who.int/icd/release/11/2024-01/mms/588616678")
    assert block.code == "BlockL1-1A0"
    assert block.title == "Gastroenteritis or colitis of infectious origin"
    assert mms.normalize("http://id.who.int/icd/release/11/mms/1528414070/unspecified") == "1A07.Z"
    # Chapter X groupings have no BlockId: their id is the linearization entity number.
    assert mms.description("815889539") == "Severity Scale Value"
    with pytest.raises(NotDefinedError):
        mms.by_uri("http://id.who.int/icd/release/11/mms/1")


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [("ba00z", "BA00.Z"), ("1A03.0", "1A03.0"), ("2a0000", "2A00.00"), ("xs8h", "XS8H")],
)
def test_canonical_codes(raw: str, canonical: str) -> None:
    assert canonical_icd11(raw.upper()) == canonical


@pytest.mark.parametrize("bad", ["5I11", "5A1", "5A11.123", "AB", "XS8H.1"])
def test_bad_codes(bad: str) -> None:
    assert canonical_icd11(bad) is None


def test_missing_file_says_where_to_get_it(tmp_path: Path) -> None:
    with pytest.raises(DataNotFoundError) as error:
        ICD11(tabulation=tmp_path / "nope.zip").node("5A11")
    message = str(error.value)
    # the library names its own argument, never a command-line option
    assert "icd.who.int" in message and "tabulation=PATH" in message and "--" not in message
    assert TABULATION_ENV in message and "\n" not in message


def test_env_variable_and_plain_txt(zip_path: Path, tmp_path: Path, monkeypatch) -> None:
    with zipfile.ZipFile(zip_path) as archive:
        name = next(n for n in archive.namelist() if n.endswith("Tabulation-ICD-11-MMS-en.txt"))
        (tmp_path / "tab.txt").write_bytes(archive.read(name))
    monkeypatch.setenv(TABULATION_ENV, str(tmp_path / "tab.txt"))
    mms = ICD11()
    assert mms.release == "2024-01"  # from the file's Version header
    assert mms.description("5A11") == "Type 2 diabetes mellitus"


def test_wrong_release_and_bad_rows(zip_path: Path, tmp_path: Path) -> None:
    with pytest.raises(InputFormatError, match="2024-01"):
        ICD11("2025-01", tabulation=zip_path).node("5A11")
    bad = tmp_path / "bad.txt"
    bad.write_text("Code\tTitle\n5A11\tx\n", encoding="utf-8")
    with pytest.raises(InputFormatError, match="missing column"):
        ICD11(tabulation=bad).node("5A11")


TINY_HEADER = [
    "Foundation URI",
    "Linearization URI",
    "Code",
    "BlockId",
    "Title",
    "ClassKind",
    "DepthInKind",
    "IsResidual",
    "ChapterNo",
    "BrowserLink",
    "isLeaf",
    "Primary tabulation",
    "Version:2031 Mar 02 - 10:00 UTC",
]
TINY_ROWS = [
    # uri number, code, block id, title, class kind, depth in kind, residual, chapter, leaf
    ("1", "", "", "Chapter one", "chapter", "1", "False", "01", "False"),
    ("2", "", "BlockL1-1A0", "- Block", "block", "1", "False", "01", "False"),
    ("3", "1A00", "", "- - Stem", "category", "1", "False", "01", "False"),
    ("4", "1A00.0", "", "- - - Child", "category", "2", "False", "01", "True"),
    (
        "3/unspecified",
        "1A00.Z",
        "",
        "- - - Stem, unspecified",
        "category",
        "2",
        "True",
        "01",
        "True",
    ),
    ("5", "", "", "- - Uncoded grouping", "category", "1", "False", "01", "True"),
    ("6", "", "", "Extension Codes", "chapter", "1", "False", "X", "False"),
    ("7", "", "", "- Severity", "block", "1", "False", "X", "False"),
    ("8", "XS8H", "", "- - Mild", "category", "1", "False", "X", "True"),
]


def _write_tiny(path: Path, rows=TINY_ROWS) -> Path:
    lines = ["\t".join(TINY_HEADER)]
    for number, code, block, title, kind, depth, residual, chapter, leaf in rows:
        foundation = "" if "/" in number else f"http://id.who.int/icd/entity/{number}"
        uri = f"http://id.who.int/icd/release/11/mms/{number}"
        cells = [foundation, uri, code, block, title, kind, depth, residual, chapter, "", leaf, ""]
        lines.append("\t".join(cells))
    path.write_text("\r\n".join(lines) + "\r\n", encoding="utf-8-sig")
    return path


def test_tiny_tabulation_by_hand(tmp_path: Path) -> None:
    mms = ICD11(tabulation=_write_tiny(tmp_path / "tiny.txt"))
    assert mms.release == "2031-03"  # from the Version header
    assert [node.code for node in mms.nodes()] == [
        "01", "BlockL1-1A0", "1A00", "1A00.0", "1A00.Z", "5", "X", "7", "XS8H",
    ]  # fmt: skip
    assert mms.ancestors("1a000") == ["1A00", "BlockL1-1A0", "01"]
    assert mms.kind("1A00") == "category" and mms.kind("1A00.0") == "subcategory"
    assert mms.node("1A00.Z").extra["residual"] == "unspecified" and mms.is_residual("1A00.Z")
    # A category without a code keeps its entity number as a stable id.
    uncoded = mms.node("5")
    assert (uncoded.title, uncoded.parent, uncoded.extra["coded"]) == (
        "Uncoded grouping",
        "BlockL1-1A0",
        False,
    )
    assert mms.by_uri("http://id.who.int/icd/release/11/2031-03/mms/5").code == "5"
    assert mms.kind("XS8H") == "extension" and mms.ancestors("XS8H") == ["7", "X"]
    assert not mms.is_leaf("1A00") and mms.is_leaf("1A00.0")


def test_tiny_tabulation_bad_indentation(tmp_path: Path) -> None:
    rows = list(TINY_ROWS)
    rows[3] = ("4", "1A00.0", "", "- - - - - Too deep", "category", "2", "False", "01", "True")
    with pytest.raises(InputFormatError) as error:
        ICD11(tabulation=_write_tiny(tmp_path / "bad.txt", rows)).node("1A00")
    assert error.value.line == 5 and "indentation" in str(error.value)
