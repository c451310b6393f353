"""ICD-10-CM ↔ WHO ICD-10 labels and overrides; WHO ICD-10 ↔ ICD-11 tables (2020 and 2024)."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from conftest import require_data
from icdbridge.crosswalk import Exactness, get_crosswalk, map_code
from icdbridge.crosswalk.cm_who import read_overrides
from icdbridge.errors import DataNotFoundError, InputFormatError


@pytest.fixture(scope="module")
def who_tables() -> Path:
    return require_data("who-icd10-icd11", "mappingtables-2024-01.zip")


# --------------------------------------------------------------------- CM → WHO
@pytest.mark.parametrize("code", ["Y93.A1", "Z68.1", "O09.11", "C7A.00", "D3A.010", "M26.01"])
def test_cm_only_categories_have_no_who_equivalent(code: str) -> None:
    mapping = map_code(code, "icd10cm", "icd10who")
    assert mapping.codes == []
    assert mapping.status == "no-map"
    assert mapping.targets[0].relation.startswith("no-WHO-equivalent")
    assert mapping.targets[0].note


def test_identical_and_truncated_labels() -> None:
    same = map_code("A41.9", "icd10cm", "icd10who").targets[0]
    assert (same.code, same.relation, same.exactness) == ("A41.9", "identical", Exactness.EXACT)
    cut = map_code("S72.001A", "icd10cm", "icd10who").targets[0]
    assert (cut.code, cut.relation) == ("S72.0", "truncated-to-parent")
    assert cut.exactness == Exactness.APPROXIMATE


def test_override_where_who_code_means_something_else() -> None:
    target = map_code("E11.00", "icd10cm", "icd10who").targets[0]
    assert target.code == "E11"  # WHO E11.0 is "with coma", CM E11.0 "with hyperosmolarity"
    assert "override" in target.relation and "hyperosmolarity" in target.note
    assert map_code("T76.11XA", "icd10cm", "icd10who").codes == []


def test_every_override_row_has_a_reason_and_a_defined_target() -> None:
    from icdbridge.codes import get_terminology

    who = get_terminology("icd10who")
    overrides = read_overrides()
    assert overrides
    for row in overrides.values():
        assert row.reason
        if row.action == "map":
            assert who.is_defined(row.icd10who)


def test_bad_override_row_is_reported_with_line(tmp_path: Path) -> None:
    path = tmp_path / "over.csv"
    path.write_text("icd10cm,action,icd10who,reason\nA00,guess,,because\n", encoding="utf-8")
    with pytest.raises(InputFormatError, match=r"over.csv, line 2"):
        read_overrides(path)


def test_who_to_cm_is_a_candidate_set_consistent_with_overrides() -> None:
    mapping = map_code("E11", "icd10who", "icd10cm")
    assert "E11.9" in mapping.codes and "E11.65" in mapping.codes
    # WHO E11.0 (coma) has no CM equivalent: CM E11.0x is hyperosmolarity (override)
    assert map_code("E11.0", "icd10who", "icd10cm").codes == []
    assert map_code("A41.9", "icd10who", "icd10cm").targets[0].relation == "identical"


# --------------------------------------------------------------------- WHO → ICD-11
def test_e11_relation_per_release(who_tables: Path) -> None:
    old = map_code("E11", "icd10who", "icd11", who_releases="2020-01").targets
    assert [(t.code, t.relation, t.release) for t in old] == [("5A11", "Subclass", "2020-01")]
    new = map_code("E11", "icd10who", "icd11", who_releases="2024-01").targets
    assert [(t.code, t.relation, t.release) for t in new] == [("5A11", None, "2024-01")]
    assert new[0].exactness == Exactness.UNKNOWN


def test_i10_is_an_equivalent_residual(who_tables: Path) -> None:
    target = map_code("I10", "icd10who", "icd11", who_releases="2020-01").targets[0]
    assert (target.code, target.relation, target.residual) == ("BA00.Z", "Equivalent", True)
    assert target.match_type == "EquivalentMatch"
    mapping = map_code("I10", "icd10who", "icd11")
    assert mapping.outcome == "residual-only"


def test_uncoded_grouping_reports_no_code_with_its_title(who_tables: Path) -> None:
    mapping = map_code("B23.8", "icd10who", "icd11")
    assert mapping.codes == [] and mapping.status == "no-map"
    assert mapping.targets[0].title == "Human immunodeficiency virus disease"
    assert "no code" in mapping.targets[0].note


def test_postcoordinated_targets_are_kept(who_tables: Path) -> None:
    targets = map_code("A00.0", "icd10who", "icd11").targets
    assert any(t.postcoordinated and "&" in t.code for t in targets)


def test_both_releases_together_record_their_release(who_tables: Path) -> None:
    both = map_code("E11", "icd10who", "icd11", who_releases=("2024-01", "2020-01"))
    assert sorted(t.release for t in both.targets) == ["2020-01", "2024-01"]


def test_icd11_back_to_icd10(who_tables: Path) -> None:
    assert "E11" in map_code("5A11", "icd11", "icd10who").codes


def test_user_table_file_and_missing_tables(who_tables: Path, tmp_path: Path) -> None:
    with zipfile.ZipFile(who_tables) as archive:
        archive.extract("10To11MapToOneCategory.txt", tmp_path)
    one = get_crosswalk(
        "icd10who", "icd11", who_tables=str(tmp_path / "10To11MapToOneCategory.txt")
    )
    target = one.map("E11").targets[0]
    assert (target.code, target.release, target.preferred) == ("5A11", "2024-01", True)
    with pytest.raises(DataNotFoundError, match=r"icd\.who\.int"):
        get_crosswalk("icd10who", "icd11", who_tables=str(tmp_path / "missing.zip"))


def test_overrides_for_a_different_axis_and_a_broader_who_code() -> None:
    # CM L89 subdivides by site, WHO L89 by stage: CM L89.013 (right elbow, stage 3) is not
    # WHO L89.0 "stage I" but WHO L89.2 "stage III", by the stage in CM's last character
    ulcer = map_code("L89.013", "icd10cm", "icd10who").targets[0]
    assert ulcer.code == "L89.2" and ulcer.exactness == Exactness.APPROXIMATE
    assert map_code("L89.01", "icd10cm", "icd10who").codes == ["L89"]  # no stage: category
    stage_one = map_code("L89.0", "icd10who", "icd10cm").codes
    assert "L89.011" in stage_one and "L89.91" in stage_one and "L89.012" not in stage_one
    # CM S12.3 (C4) is under WHO S12.2 (C3-C7), and WHO S12.2 → CM includes C3 to C7
    neck = map_code("S12.300A", "icd10cm", "icd10who").targets[0]
    assert (neck.code, neck.relation) == ("S12.2", "redirected (override)")
    back = map_code("S12.2", "icd10who", "icd10cm").codes
    assert "S12.200A" in back and "S12.600A" in back and "S12.000A" not in back
    # an override never claims an exact match
    assert map_code("M81.0", "icd10cm", "icd10who").targets[0].exactness == Exactness.APPROXIMATE


def test_audit_finds_same_codes_with_different_meaning() -> None:
    from icdbridge.crosswalk.cm_who import audit_identical_codes

    plain = {code for code, _, _ in audit_identical_codes()}
    assert "K55.3" in plain and "A41.9" not in plain
    axis = {code for code, _, _ in audit_identical_codes(distinctive=True)}
    assert {"L89.0", "V90.0"} <= axis and "E11.9" not in axis
