"""Table targets the loaded release defines but does not bill (categories), on real entries.

The FY2018 GEMs name 237 ICD-10-CM codes that ICD-10-CM 2026 has since split (A04.7 → A04.71 /
A04.72); the WHO ICD-10 → ICD-10-CM hop climbs to CM categories (WHO A08.5 → CM A08). In
ICD-10-CM and ICD-9-CM such a target is kept, marked, and followed by its billable leaf codes;
WHO ICD-10 and ICD-11 categories are valid codes and stay as they are.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from icdbridge.crosswalk import Exactness, get_crosswalk, map_code
from icdbridge.crosswalk.model import BILLABLE_LEAF, NOT_BILLABLE, Target
from icdbridge.crosswalk.successors import NARROWER, expand_categories
from icdbridge.crosswalk.text_policy import rank_by_text


def _rows(mapping) -> list[tuple[str | None, str, str | None]]:
    return [(t.code, t.exactness.label, t.relation) for t in mapping.targets]


def test_a04_7_is_kept_marked_and_followed_by_its_two_leaves() -> None:
    """008.45 C. difficile intestinal infection: the GEM's exact target A04.7 is a category in
    ICD-10-CM 2026 (recurrent / not specified as recurrent)."""
    mapping = map_code("008.45", "icd9cm", "icd10cm")
    assert _rows(mapping) == [
        ("A04.7", "exact", None),
        ("A04.71", "approximate", NARROWER),
        ("A04.72", "approximate", NARROWER),
    ]
    category, *leaves = mapping.targets
    assert category.not_billable and category.flags == "00000"
    assert category.note.startswith(NOT_BILLABLE)
    assert "A04.7 is a category there; its 2 billable leaf codes" in category.note
    assert "ICD-10-CM 2026" in category.note
    for leaf in leaves:
        assert not leaf.not_billable and leaf.category_expanded
        assert leaf.note == f"{BILLABLE_LEAF} of A04.7 in ICD-10-CM 2026 (candidate set of 2)"
        assert leaf.flags == "00000"  # the GEM row's provenance stays with its leaves
    # the table's own target stays exact: lossless; the status says it is not billable
    assert (mapping.status, mapping.outcome) == ("category-expanded", "exact")


def test_exact_policy_keeps_the_exact_category_and_says_so() -> None:
    exact = map_code("008.45", "icd9cm", "icd10cm", policy="exact")
    assert exact.codes == ["A04.7"]
    assert exact.status == "category-expanded"


@pytest.mark.parametrize(
    ("source", "category", "count", "best"),
    [
        # Babesiosis -> B60.0 (split by species in 2026) -> "Babesiosis, unspecified"
        ("088.82", "B60.0", 5, "B60.00"),
        # Acidosis -> E87.2 (split in FY2023) -> "Acidosis, unspecified"
        ("276.2", "E87.2", 4, "E87.20"),
        # Malignant mast cell tumors, unspecified site (an unspecified source) -> C96.2 ->
        # "Malignant mast cell neoplasm, unspecified" (rule 1: unspecified for unspecified)
        ("202.60", "C96.2", 4, "C96.20"),
        # Dysmetabolic syndrome X -> E88.81 -> "Metabolic syndrome" (title similarity)
        ("277.7", "E88.81", 4, "E88.810"),
    ],
)
def test_best_picks_among_the_billable_leaves(
    source: str, category: str, count: int, best: str
) -> None:
    """``best`` never picks the non-billable category while its leaves are there; it ranks
    them by the usual rules (unspecified first for an unspecified source, then similarity)."""
    from icdbridge.codes import get_terminology

    cm = get_terminology("icd10cm")
    mapping = map_code(source, "icd9cm", "icd10cm")
    marked = [t for t in mapping.targets if t.not_billable]
    assert [t.code for t in marked] == [category]
    leaves = [t.code for t in mapping.targets if (t.note or "").startswith(BILLABLE_LEAF)]
    assert leaves == [c for c in cm.descendants(category) if cm.is_leaf(c)]
    assert len(leaves) == count and all(cm.is_leaf(c) for c in leaves)
    picked = map_code(source, "icd9cm", "icd10cm", policy="best")
    assert picked.codes == [best]
    assert picked.status == "category-expanded"
    assert picked.runner_up is not None and not picked.runner_up.not_billable


def test_a_combination_slot_keeps_its_scenario_and_best_completes_it() -> None:
    """919.1 infected abrasion of multiple sites: GEM combination T07 + L08.89; T07 is a
    category in 2026 (7th character), its leaves stay in choice list 1."""
    mapping = map_code("919.1", "icd9cm", "icd10cm")
    groups = {t.code: t.group for t in mapping.targets}
    assert groups == {
        "L08.89": (1, 2),
        "T07": (1, 1),
        "T07.XXXA": (1, 1),
        "T07.XXXD": (1, 1),
        "T07.XXXS": (1, 1),
    }
    best = map_code("919.1", "icd9cm", "icd10cm", policy="best")
    kept = {t.group[1]: t.code for t in best.targets}
    assert kept[2] == "L08.89" and kept[1].startswith("T07.XXX")  # never the category T07


def test_the_chain_goes_on_through_the_category_and_its_leaves() -> None:
    """008.45 → WHO ICD-10: A04.7 exists in WHO too (identical, exact); each leaf truncates to
    it (approximate). Every path is kept, the status says a category was met."""
    mapping = map_code("008.45", "icd9cm", "icd10who")
    paths = [(t.via[0].code, t.code, t.path_exactness.label) for t in mapping.targets]
    assert paths == [
        ("A04.7", "A04.7", "exact"),
        ("A04.71", "A04.7", "approximate"),
        ("A04.72", "A04.7", "approximate"),
    ]
    assert mapping.status == "category-expanded"
    assert mapping.codes == ["A04.7"]  # WHO A04.7 is a leaf there: nothing to expand


def test_who_code_climbing_to_a_cm_category_gets_its_leaves() -> None:
    """WHO A08.5 (other specified intestinal infections): CM lacks it and climbs to A08, a CM
    category; its 9 billable codes follow, and ``best`` finds CM A08.8."""
    mapping = map_code("A08.5", "icd10who", "icd10cm")
    category = mapping.targets[0]
    assert (category.code, category.relation, category.not_billable) == ("A08", "broader", True)
    assert "its 9 billable leaf codes" in category.note
    assert category.note.endswith("ICD-10-CM does not define A08.5; nearest CM code above it")
    assert [t.code for t in mapping.targets[1:]] == [
        "A08.0",
        "A08.11",
        "A08.19",
        "A08.2",
        "A08.31",
        "A08.32",
        "A08.39",
        "A08.4",
        "A08.8",
    ]
    assert all(t.exactness == Exactness.APPROXIMATE for t in mapping.targets)
    assert mapping.status == "category-expanded"
    assert map_code("A08.5", "icd10who", "icd10cm", policy="best").codes == ["A08.8"]


def test_who_icd10_and_icd11_categories_are_valid_codes_and_stay() -> None:
    """No expansion where the target system records categories: CM V90 → WHO V90 (the
    category only, by design), ICD-11 5A11 → WHO E11, WHO A18 → ICD-11 1B12 (a stem code with
    children)."""
    from icdbridge.codes import get_terminology

    who, icd11 = get_terminology("icd10who"), get_terminology("icd11")
    for code, source, target, expected in (
        ("V90.00XA", "icd10cm", "icd10who", "V90"),
        ("5A11", "icd11", "icd10who", "E11"),
        ("A18", "icd10who", "icd11", "1B12"),
    ):
        mapping = map_code(code, source, target)
        assert mapping.codes == [expected], code
        assert mapping.status == "mapped", code
        assert not any(t.category_expanded for t in mapping.targets), code
    assert not who.is_leaf("V90") and not who.is_leaf("E11") and not icd11.is_leaf("1B12")


def test_icd9cm_category_target_of_a_custom_table(tmp_path: Path) -> None:
    """ICD-9-CM codes must be billable too: a national table naming 250.0 (a category) gets its
    four leaves 250.00-250.03."""
    table = tmp_path / "national.csv"
    table.write_text("source,target,relation\nN003,250.0,equivalent\n", encoding="utf-8")
    crosswalk = get_crosswalk("national", "icd9cm", custom=(str(table), "national", "icd9cm"))
    mapping = crosswalk.map("N003")
    assert mapping.codes == ["250.0", "250.00", "250.01", "250.02", "250.03"]
    assert mapping.targets[0].not_billable and mapping.targets[0].exactness == Exactness.EXACT
    assert [t.exactness for t in mapping.targets[1:]] == [Exactness.APPROXIMATE] * 4
    assert mapping.status == "category-expanded"


def test_expand_categories_leaves_leaves_alone_and_does_not_repeat_listed_codes() -> None:
    from icdbridge.codes import get_terminology

    cm = get_terminology("icd10cm")

    def row(code: str) -> Target:
        return Target(code, "icd10cm", Exactness.EXACT, "t", "1")

    leaf_only = (row("A41.9"),)
    assert expand_categories(leaf_only, cm) is leaf_only
    out = expand_categories((row("A04.7"), row("A04.72")), cm)
    assert [t.code for t in out] == ["A04.7", "A04.71", "A04.72"]
    assert out[-1].note is None  # the table's own A04.72 row, not a repeated leaf


def test_text_pick_skips_the_category() -> None:
    mapping = map_code("008.45", "icd9cm", "icd10cm")
    ranking = rank_by_text(mapping, {"A04.7": 0.9, "A04.72": 0.6, "A04.71": 0.2})
    assert ranking.ranked == ("A04.7", "A04.72", "A04.71")  # the order is the model's
    assert ranking.pick == ("A04.72",)
    assert rank_by_text(mapping, None).pick == ("A04.71",)  # no text: first-listed leaf
