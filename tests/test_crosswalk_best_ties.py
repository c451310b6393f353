"""``best`` among targets the meaning rules leave tied: the clinical default (rule 4), on real
entries. ICD-9-CM has neither the encounter nor the intent axis of ICD-10-CM, and its titles
rarely state what ICD-10-CM splits on (recurrent, intractable, side); table order used to
decide (008.45 → A04.71 *recurrent*, 919.0 → T07.XXXS *sequela*, 960.0 → T36.0X3A *assault*).
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from icdbridge.crosswalk import map_code
from icdbridge.crosswalk.columns import MappingColumns
from icdbridge.crosswalk.policies import axes_of, default_rank, keep_best, wanted


def test_c_difficile_without_recurrence_information_is_not_recurrent() -> None:
    """008.45 → A04.7 (a category in 2026): A04.72 "not specified as recurrent" denies the
    qualifier the source does not state, A04.71 asserts it; the runner-up is shown."""
    best = map_code("008.45", "icd9cm", "icd10cm", policy="best")
    assert best.codes == ["A04.72"]
    assert best.runner_up is not None and best.runner_up.code == "A04.71"
    assert "|| runner-up: A04.71" in MappingColumns().row(best)[4]
    mapping = map_code("008.45", "icd9cm", "icd10cm")
    ranks = {t.code: default_rank(mapping, t) for t in mapping.targets[1:]}
    assert ranks["A04.72"] < ranks["A04.71"]


@pytest.mark.parametrize(
    ("source", "category"),
    [
        ("919.0", "T07"),  # abrasion of multiple sites
        ("828.0", "T07"),  # closed multiple fractures of both lower limbs
        ("959.8", "T07"),  # injury of other specified sites, including multiple
        ("959.9", "T14.90"),  # unspecified site injury
        ("904.9", "T14.90"),  # injury to blood vessels of unspecified site
        ("829.0", "T14.8"),  # fracture of unspecified bone, closed
    ],
)
def test_injuries_go_to_the_initial_encounter(source: str, category: str) -> None:
    """The GEM's category's 7th-character leaves (A, D, S) score alike once the encounter words
    are left out; the initial encounter wins, as in the GEMs, and the sequela is no longer
    picked for a source that is no late effect."""
    mapping = map_code(source, "icd9cm", "icd10cm")
    assert [t.code for t in mapping.targets if t.not_billable] == [category]
    leaves = {c[-1] for c in mapping.codes if c.startswith(category) and c != category}
    assert leaves == {"A", "D", "S"}
    best = map_code(source, "icd9cm", "icd10cm", policy="best")
    (picked,) = [c for c in best.codes if c.startswith(category)]
    assert picked[-1] == "A", picked
    assert best.runner_up is not None and best.runner_up.code[-1] == "D"


def test_a_combination_keeps_the_initial_encounter() -> None:
    best = map_code("919.1", "icd9cm", "icd10cm", policy="best")
    assert sorted(best.codes) == ["L08.89", "T07.XXXA"]


def test_a_late_effect_goes_to_the_sequela() -> None:
    """905.0 late effect of fracture of skull: the GEM offers only sequela codes, ``best``
    keeps one; the same A/D/S leaves of T14.90 under the real late-effect title of 908.9 go
    to S (the source says otherwise than the initial encounter)."""
    best = map_code("905.0", "icd9cm", "icd10cm", policy="best")
    assert best.codes[0].endswith("S")
    injury = map_code("959.9", "icd9cm", "icd10cm")
    late = replace(injury, source_code="908.9", code="908.9")  # "Late effect of unspecified injury"
    assert keep_best(injury).codes == ["T14.90XA"]
    assert keep_best(late).codes == ["T14.90XS"]


def test_poisoning_of_unstated_intent_is_accidental() -> None:
    """ICD-9-CM states the intent in an E code; ICD-10-CM codes an unknown intent accidental
    (guideline I.C.19.e.5.b). 960.0 → T36.0X1A, not T36.0X3A assault; under the title of
    E950.0 (suicide) the same targets go to self-harm."""
    best = map_code("960.0", "icd9cm", "icd10cm", policy="best")
    assert best.codes == ["T36.0X1A"]
    poisoning = map_code("960.0", "icd9cm", "icd10cm")
    suicide = replace(poisoning, source_code="E950.0", code="E950.0")
    assert keep_best(suicide).codes == ["T36.0X2A"]


@pytest.mark.parametrize(
    ("source", "best", "runner_up"),
    [
        ("513.0", "J85.2", "J85.1"),  # abscess of lung → without pneumonia, not with
        ("345.90", "G40.909", "G40.901"),  # epilepsy → without status epilepticus
        ("339.12", "G44.229", "G44.221"),  # chronic tension-type headache → not intractable
        # "nondisplaced" asserts as much as "displaced": ICD-10-CM's default, displaced, stays
        ("810.12", "S42.023B", "S42.026B"),
    ],
)
def test_unstated_qualifiers_are_not_asserted(source: str, best: str, runner_up: str) -> None:
    picked = map_code(source, "icd9cm", "icd10cm", policy="best")
    assert picked.codes == [best]
    assert picked.runner_up is not None and picked.runner_up.code == runner_up


def test_axes_are_read_from_icd10cm_titles_only() -> None:
    assert axes_of("icd10who", "T07", "Unspecified multiple injuries, sequela") == {}
    assert axes_of("icd10cm", "T07", "Unspecified multiple injuries") == {}
    assert axes_of("icd10cm", "H18.533", "Granular corneal dystrophy, bilateral") == {}
    assert axes_of(
        "icd10cm", "T42.4X2S", "Poisoning by benzodiazepines, intentional self-harm, sequela"
    ) == {"encounter": "sequela", "intent": "self-harm"}
    assert wanted("encounter", "Aftercare for healing traumatic fracture of arm") == "subsequent"
    assert wanted("intent", "Assault by drugs and medicinal substances") == "assault"


def test_every_pick_among_t07_t14_leaves_is_the_initial_encounter() -> None:
    """The number in docs/crosswalks.md: 23 ICD-9-CM leaf codes (all injuries, 800–999) pick a
    7th-character leaf of T07, T14.8 or T14.90; every one is now the initial encounter."""
    from icdbridge.codes import get_terminology
    from icdbridge.crosswalk import get_crosswalk

    icd9 = get_terminology("icd9cm")
    crosswalk = get_crosswalk("icd9cm", "icd10cm")
    codes = [c for c in icd9.codes() if c[0] in "89" and icd9.is_leaf(c)]
    picks = {}
    for mapping in crosswalk.map_many(codes, policy="best"):
        for code in mapping.codes:
            if code[:3] in ("T07", "T14") and code[:6] in ("T07.XX", "T14.8X", "T14.90"):
                picks[mapping.code] = code
    assert len(picks) == 23
    assert {code[-1] for code in picks.values()} == {"A"}
