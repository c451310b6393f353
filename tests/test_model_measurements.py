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


def test_glasgow_and_nihss_ranges_come_from_the_release_titles():
    matcher = MeasureMatcher.build(get_terminology("icd10cm"))
    glasgow = {r.code: (r.low, r.high, r.leaf) for r in matcher.ranges["glasgow"]}
    # each range category and its unspecified-time code; the timed codes (R40.2411...) are not
    assert glasgow == {
        "R40.241": (13.0, 16.0, False),
        "R40.2410": (13.0, 16.0, True),
        "R40.242": (9.0, 13.0, False),
        "R40.2420": (9.0, 13.0, True),
        "R40.243": (3.0, 9.0, False),
        "R40.2430": (3.0, 9.0, True),
    }
    nihss = {r.code: (r.low, r.high) for r in matcher.ranges["nihss"]}
    assert nihss["R29.700"] == (0.0, 1.0)
    assert nihss["R29.742"] == (42.0, 43.0)
    assert nihss["R29.72"] == (20.0, 30.0)
    assert len([r for r in matcher.ranges["nihss"] if r.leaf]) == 43  # scores 0 to 42


@pytest.mark.parametrize(
    ("text", "language", "codes"),
    [
        ("mydriasis, anuric and a Glasgow scale of 3 points", "en", {"R40.243", "R40.2430"}),
        ("in coma (Glasgow 6/15) and blood tests showed", "en", {"R40.243", "R40.2430"}),
        ("on admission an 8-point Glasgow coma scale", "en", {"R40.243", "R40.2430"}),
        ("with GCS of 15 points, symmetric pupils", "en", {"R40.241", "R40.2410"}),
        ("with a Glasgow score of 10, but", "en", {"R40.242", "R40.2420"}),
        ("presented 23 points on the NIHSS scale", "en", {"R29.72", "R29.723"}),
        ("una puntuación de 3 en la escala de Glasgow", "es", {"R40.243", "R40.2430"}),
        ("de 8 en la escala del coma de Glasgow", "es", {"R40.243", "R40.2430"}),
        ("con un Glasgow de 10", "es", {"R40.242", "R40.2420"}),
        ("23 puntos en la escala NIHSS (National Institute", "es", {"R29.72", "R29.723"}),
        ("Glasgow 25", "en", set()),  # outside every range: no code
    ],
)
def test_glasgow_and_nihss_cues(text, language, codes):
    matcher = MeasureMatcher.build(get_terminology("icd10cm"))
    assert set(matcher.match(text, language)) == codes


def test_glasgow_and_nihss_scores_in_real_notes():
    """In the CodiEsp train notes that state a Glasgow or NIHSS score, the matcher finds a gold
    code of that scale in nearly all (coders are not always consistent: one note's ``Glasgow
    Coma Scale score 6`` is coded R40.2421, 9-12)."""
    from conftest import require_data
    from icdbridge.data import load_codiesp

    require_data("codiesp", "train")
    matcher = MeasureMatcher.build(get_terminology("icd10cm"))
    stated = found = 0
    for doc in load_codiesp(split="train"):
        matched = set(matcher.match(doc.text))
        scale_gold = {c for c in doc.codes if c.startswith(("R40.24", "R29.7"))}
        if matched and scale_gold:
            stated += 1
            found += bool(matched & scale_gold)
    assert stated >= 8
    assert found >= stated - 1
