"""Range codes read off the titles (BMI, weeks of gestation) and their values in notes."""

from __future__ import annotations

import pytest

from icdbridge.codes import get_terminology
from icdbridge.model.lexical.measurements import MeasureMatcher, parse_range


def test_ranges_come_from_the_release_titles():
    matcher = MeasureMatcher.build(get_terminology("icd10cm"))
    bmi = {r.code: (r.low, r.high) for r in matcher.ranges["bmi"]}
    assert bmi["Z68.1"] == (float("-inf"), 20.0)
    assert bmi["Z68.20"] == (20.0, 21.0)
    assert bmi["Z68.45"] == (70.0, float("inf"))
    assert not any(code.startswith("Z68.5") for code in bmi)  # pediatric percentiles: no value
    weeks = {r.code: (r.low, r.high) for r in matcher.ranges["gestation"]}
    assert weeks["Z3A.01"] == (float("-inf"), 8.0)
    assert weeks["Z3A.08"] == (8.0, 9.0)
    assert weeks["Z3A.49"] == (43.0, float("inf"))
    # every adult BMI value falls in exactly one leaf
    leaves = [r for r in matcher.ranges["bmi"] if r.leaf]
    for value in (12.0, 19.95, 20.0, 24.9, 39.99, 40.0, 69.9, 80.0):
        assert sum(r.low <= value < r.high for r in leaves) == 1, value


def test_restricted_label_space_and_unparsable_wording():
    matcher = MeasureMatcher.build(get_terminology("icd10cm"), ["Z68.41"])
    assert [r.code for r in matcher.ranges["bmi"]] == ["Z68.41"]
    assert matcher.ranges["gestation"] == []
    assert parse_range("about forty") is None


@pytest.mark.parametrize(
    ("text", "language", "code"),
    [
        ("BMI 22", "en", "Z68.22"),
        ("body mass index of 30.5 kg/m2", "en", "Z68.30"),
        ("at 38+2 weeks of gestation", "en", "Z3A.38"),
        ("índice de masa corporal 41", "es", "Z68.41"),
        ("embarazo de 32 semanas", "es", "Z3A.32"),
        ("gestación de 28 SG", "es", "Z3A.28"),
    ],
)
def test_cues_in_both_languages(text, language, code):
    matcher = MeasureMatcher.build(get_terminology("icd10cm"))
    assert code in matcher.match(text, language)
