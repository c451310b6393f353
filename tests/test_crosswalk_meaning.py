"""Meaning, not only plumbing: same code/different meaning, reverse choices, categories, retired
targets, the drift audit and its curated verdicts (issue 24)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from conftest import require_data
from icdbridge.crosswalk import Exactness, get_crosswalk, map_code
from icdbridge.crosswalk.cm_who import read_overrides
from icdbridge.crosswalk.columns import MappingColumns, gem_flags_text
from icdbridge.crosswalk.drift import drift_audit
from icdbridge.crosswalk.similarity import is_unspecified, title_similarity
from icdbridge.errors import InputFormatError


@pytest.fixture(scope="module")
def who() -> None:
    require_data("who-icd10-icd11", "mappingtables-2024-01.zip")


@pytest.fixture(scope="module")
def who_2020() -> None:
    require_data("who-icd10-icd11", "mappingtables-2020-01.zip")


# --------------------------------------------------------------------- the scorer
def test_similarity_folds_spelling_and_catches_contradiction() -> None:
    assert title_similarity("Hemoperitoneum", "Haemoperitoneum") == 1.0
    assert title_similarity("Counseling, unspecified", "Counselling, unspecified") == 1.0
    sirs_cm = "Systemic inflammatory response syndrome (SIRS) of non-infectious origin"
    sirs_who = "Systemic Inflammatory Response Syndrome of infectious origin with organ failure"
    assert title_similarity(sirs_cm, sirs_who) == 0.0  # shares 6 words, but contradicts
    # "without X" and "without mention of X" agree
    plain, mention = "Aneurysm, without rupture", "Aneurysm, without mention of rupture"
    assert title_similarity(plain, mention) == 1.0
    # a word negated on both sides is no contradiction
    both = "Pedestrian injured by pedal cycle, unspecified whether traffic or nontraffic"
    assert title_similarity(both, both.replace(",", " :")) == 1.0
    assert title_similarity("Benzodiazepines", "Poisoning by benzodiazepines") < 1.0
    assert title_similarity("Benzodiazepines", "Benzodiazepines", b_context=["Poisoning"]) == 1.0


def test_docstring_examples() -> None:
    import doctest

    from icdbridge.crosswalk import columns, similarity

    for module in (similarity, columns):
        result = doctest.testmod(module)
        assert result.attempted and not result.failed, module.__name__


def test_unspecified_detection() -> None:
    assert is_unspecified("BA00.Z", "Essential hypertension, unspecified")
    assert is_unspecified("401.9", "Unspecified essential hypertension")
    assert is_unspecified("E11.9", "Type 2 diabetes mellitus without complications")  # .9
    assert not is_unspecified("401.0", "Malignant essential hypertension")
    assert not is_unspecified("5A11", "Type 2 diabetes mellitus")


# --------------------------------------------------------------------- 1. same code, other meaning
def test_r65_1_non_infectious_sirs_is_not_who_r65_1() -> None:
    for code in ("R65.1", "R65.10", "R65.11"):
        targets = map_code(code, "icd10cm", "icd10who").targets
        assert all(t.code != "R65.1" for t in targets)
        assert all(t.relation != "identical" for t in targets)
    assert map_code("R65.10", "icd10cm", "icd10who").codes == ["R65.2"]  # non-inf., no failure
    assert map_code("R65.11", "icd10cm", "icd10who").codes == ["R65.3"]  # non-inf., failure
    # CM R65.2 severe sepsis is WHO's infectious SIRS with organ failure
    assert map_code("R65.20", "icd10cm", "icd10who").codes == ["R65.1"]


def test_adverse_effect_t42_4x5a_goes_to_the_y_code_not_poisoning(who: None) -> None:
    mapping = map_code("T42.4X5A", "icd10cm", "icd10who")
    assert mapping.codes == ["Y47.1"]  # benzodiazepines causing adverse effects in therapeutic use
    target = mapping.targets[0]
    assert target.exactness == Exactness.APPROXIMATE and "Y40-Y59" in target.note
    to_icd11 = map_code("T42.4X5A", "icd10cm", "icd11")
    assert "NE60" not in to_icd11.codes and to_icd11.codes  # not "harmful effects of drugs"
    # underdosing: no WHO underdosing concept, candidates Y63.6 / Z91.1
    assert map_code("T42.4X6A", "icd10cm", "icd10who").codes == ["Y63.6", "Z91.1"]
    # poisoning keeps the WHO poisoning code
    assert map_code("T42.4X1A", "icd10cm", "icd10who").codes == ["T42.4"]


def test_every_t36_t50_adverse_effect_and_underdosing_code_leaves_t36_t50() -> None:
    from icdbridge.codes import get_terminology

    cm = get_terminology("icd10cm")
    codes = [
        c
        for c in cm.codes(leaves_only=True)
        if c[0] == "T" and 36 <= int(c[1:3]) <= 50 and c.replace(".", "")[5:6] in ("5", "6")
    ]
    assert len(codes) > 900
    for mapping in get_crosswalk("icd10cm", "icd10who").map_many(codes):
        assert mapping.codes, mapping.code
        assert not any(code.startswith("T") for code in mapping.codes), mapping.code


def test_995_93_no_longer_ends_at_infection_unspecified(who: None) -> None:
    mapping = map_code("995.93", "icd9cm", "icd11")
    assert mapping.codes and "1H0Z" not in mapping.codes
    path = mapping.coded_targets[0].hops
    assert [h.code for h in path[:2]] == ["R65.10", "R65.2"]


def test_k58_subdivisions_swapped_between_cm_and_who() -> None:
    assert map_code("K58.1", "icd10cm", "icd10who").codes == ["K58.2"]  # IBS-C
    assert map_code("K58.2", "icd10cm", "icd10who").codes == ["K58.3"]  # mixed


def test_override_table_rows_are_checked(tmp_path: Path) -> None:
    from icdbridge.codes import get_terminology

    who = get_terminology("icd10who")
    rows = read_overrides()
    assert len(rows) > 600
    for row in rows.values():
        assert row.reason
        assert row.exactness in ("exact", "approximate")
        for target in row.targets:
            assert who.is_defined(target), row
    bad = tmp_path / "o.csv"
    bad.write_text(
        "icd10cm,action,icd10who,exactness,reason\nA00,map,A00,sure,because\n", encoding="utf-8"
    )
    with pytest.raises(InputFormatError, match=r"line 2.*exactness"):
        read_overrides(bad)
    bad.write_text("icd10cm,action,icd10who,reason\nT36.0?5,same-code,,x\n", encoding="utf-8")
    with pytest.raises(InputFormatError, match="one code"):
        read_overrides(bad)


# --------------------------------------------------------------------- drift audit
def test_drift_audit_every_flagged_pair_is_settled_and_never_identical() -> None:
    audit = drift_audit("icd10cm", "icd10who")
    counts = audit.counts()
    assert counts["compared"] == 10535
    assert 200 <= counts["flagged"] <= 400  # a reviewable list
    assert counts["unsettled"] == 0 and counts["settled"] == counts["flagged"]
    flagged = {p.code: p for p in audit.flagged}
    assert {"R65.1", "K58.1", "F90.1", "T42.4"} <= set(flagged)
    assert flagged["R65.1"].verdict.verdict == "map"
    for pair in audit.flagged:  # a flagged pair is never silently "identical" by the prefix rule
        assert pair.verdict.curated and pair.verdict.reason
        assert not pair.verdict.verdict.startswith("identical")
        if pair.verdict.verdict == "same-meaning":
            assert pair.verdict.exactness == "exact"


def test_drift_between_releases_and_cli(tmp_path: Path, capsys) -> None:
    from cli_harness import run_cli

    audit = drift_audit("icd10cm", "icd10cm", source_release="2024", target_release="2026")
    assert audit.counts()["unsettled"] == 0
    verdicts = {p.code: p.verdict.verdict for p in audit.flagged}
    assert verdicts["K58.9"] == "changed-meaning"  # "without diarrhea" became "unspecified"
    assert verdicts["S74.21XA"] == "same-meaning"  # a typo fixed
    out = tmp_path / "drift.csv"
    result = run_cli(
        ["codes", "drift", "--from", "icd10cm", "--to", "icd10who", "-o", out, "--flagged-only"],
        capsys,
    )
    assert result.code == 0, result.err
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert rows and all(r["flagged"] == "yes" and r["verdict"] for r in rows)
    r65 = next(r for r in rows if r["code"] == "R65.1")
    assert r65["targets"] == "R65.2;R65.3" and "NON-infectious" in r65["reason"]
    assert "0 unsettled" in result.out
    assert "| R65.1 |" in out.with_suffix(".md").read_text(encoding="utf-8")
    releases = [
        *("codes", "drift", "--from", "icd10cm", "--release", "2024"),
        *("--to", "icd10cm", "--to-release", "2026", "-o", tmp_path / "rel.csv"),
    ]
    result = run_cli(releases, capsys)
    assert result.code == 0 and "58 flagged, 58 settled" in result.out, result.err
    same = run_cli(["codes", "drift", "--from", "icd10cm", "--to", "icd10cm", "-o", out], capsys)
    assert same.code == 2 and "both sides" in same.err


def test_drift_channels_count_flagged_settled_unsettled_each() -> None:
    """Hand-made pairs: lexical flags a and b, the encoder b and c; only a and b are curated."""
    from icdbridge.crosswalk.drift import DriftAudit, DriftPair, Verdict

    curated, open_ = Verdict("same-meaning", ("X",), "exact", "why"), Verdict("?", curated=False)
    audit = DriftAudit("icd10cm", "2026", "icd10who", "2019", 0.5, 0.8, "t.csv")
    for code, lexical, semantic, verdict in (
        ("a", 0.2, 0.9, curated),
        ("b", 0.3, 0.5, curated),
        ("c", 0.9, 0.7, open_),
        ("d", 0.9, 0.95, open_),
    ):
        flagged = lexical < 0.5 or semantic < 0.8
        audit.pairs.append(DriftPair(code, "t", "u", lexical, semantic, flagged, verdict))
    assert audit.channel_counts() == {
        "lexical": {"flagged": 2, "settled": 2, "unsettled": 0},
        "encoder": {"flagged": 2, "settled": 1, "unsettled": 1},
        "both": {"flagged": 1, "settled": 1, "unsettled": 0},
        "encoder_only": {"flagged": 1, "settled": 0, "unsettled": 1},
    }
    counts = audit.counts()
    assert (counts["flagged"], counts["settled"], counts["unsettled"]) == (3, 2, 1)
    assert "| encoder_only | 1 | 0 | 1 |" in audit.to_markdown()


def test_encoder_only_pairs_are_settled_by_review() -> None:
    """The 301 pairs only the encoder flags (cosine < 0.8, lexical >= 0.5) were reviewed one by
    one: spelling variants are the same meaning, scope differences approximate, O68 elsewhere."""
    from icdbridge.crosswalk.drift import cm_who_verdict

    expected = {
        "A06": ("same-meaning", "exact"),  # amebiasis / amoebiasis
        "M16.1": ("same-meaning", "exact"),  # unilateral primary OA of hip / other coxarthrosis
        "F10.9": ("same-code-scope-differs", "approximate"),  # use vs unspecified disorder
        "K05.2": ("same-code-scope-differs", "approximate"),  # aggressive vs acute periodontitis
        "G97": ("same-code-scope-differs", "approximate"),  # CM adds intraoperative
        "U07.1": ("same-code-scope-differs", "approximate"),  # CM has no U07.2
        "O68": ("map", "approximate"),  # fetal acid-base balance -> WHO O68.3
    }
    for code, (verdict, exactness) in expected.items():
        got = cm_who_verdict(code)
        assert (got.verdict, got.exactness) == (verdict, exactness), code
        assert got.curated and got.reason
    assert cm_who_verdict("O68").targets == ("O68.3",)


# --------------------------------------------------------------------- 2. WHO → CM never drops
def test_who_code_cm_lacks_climbs_to_a_broader_cm_code(who: None) -> None:
    target = map_code("A09.9", "icd10who", "icd10cm").targets[0]
    assert (target.code, target.relation) == ("A09", "broader")
    assert target.exactness == Exactness.APPROXIMATE
    hiv = map_code("B23.8", "icd10who", "icd10cm")
    assert hiv.codes == ["B20"] and "block" in hiv.targets[0].note
    for target_system in ("icd10cm", "icd9cm"):
        mapping = map_code("1C62.Z", "icd11", target_system)
        assert mapping.codes, target_system
    assert map_code("1C62.Z", "icd11", "icd9cm").codes == ["042"]  # HIV disease


# --------------------------------------------------------------------- 3. best
def test_best_prefers_similar_and_unspecified_targets(who: None) -> None:
    diabetes = map_code("5A11", "icd11", "icd9cm", policy="best")
    assert diabetes.codes == ["250.00"]
    # runner-up: "with unspecified complication" asserts less than 250.20 "with hyperosmolarity"
    assert diabetes.runner_up is not None and diabetes.runner_up.code == "250.90"
    assert (
        '> 250.90 "Diabetes with unspecified complication'
        in MappingColumns().row(diabetes)[4].split("|| runner-up: ")[1]
    )
    hypertension = map_code("BA00.Z", "icd11", "icd9cm", policy="best")
    assert hypertension.codes == ["401.9"]
    assert map_code("073.0", "icd9cm", "icd10cm", policy="best").codes == ["A70", "J17"]


# --------------------------------------------------------------------- 4. categories
@pytest.mark.parametrize(
    ("code", "source", "target", "leaf"),
    [
        ("250", "icd9cm", "icd10cm", "E11.9"),
        ("410.7", "icd9cm", "icd10cm", "I21.4"),
        ("E11", "icd10cm", "icd9cm", "250.00"),
        ("A01", "icd10cm", "icd9cm", "002.0"),
    ],
)
def test_category_inputs_are_expanded(code: str, source: str, target: str, leaf: str) -> None:
    mapping = map_code(code, source, target)
    assert mapping.status == "category-expanded"
    assert mapping.expanded_from > 1 and leaf in mapping.codes
    assert len(set(mapping.codes)) == len(mapping.codes)
    assert "descendants" in MappingColumns().row(mapping)[4]
    closed = get_crosswalk(source, target, categories="none").map(code)
    assert closed.status == "no-map" and not closed.codes


def test_cross_system_evaluation_maps_category_predictions() -> None:
    from icdbridge.eval.crossversion import map_code_file
    from icdbridge.eval.io import CodeFile

    codes = CodeFile("pred.csv", docs={"d1": ["E11", "I10"]})
    mapped, report = map_code_file(codes, "icd10cm", "icd9cm")
    assert not any(c.startswith("UNMAPPED") for c in mapped.docs["d1"])
    assert "401.9" in mapped.docs["d1"] and len(mapped.docs["d1"]) == 2
    assert report["codes_by_outcome"] and report["codes_category_expanded"] == 1


# --------------------------------------------------------------------- 5. retired targets
def test_retired_icd11_target_is_marked_with_its_successor(who_2020: None) -> None:
    mapping = map_code("A48.3", "icd10who", "icd11", who_releases="2020-01")
    assert mapping.status == "retired-in-target"
    retired = next(t for t in mapping.targets if t.retired)
    assert retired.code is None and "1B52" in retired.title and "2024-01" in retired.note
    assert mapping.codes == ["1C45"]  # the same entity's code in ICD-11 2024-01
    assert "successor of 1B52" in mapping.coded_targets[0].note


def _successors(mapping) -> dict[str, list[str]]:
    """Retired code -> its successor codes, read from the notes of one mapping."""
    out: dict[str, list[str]] = {}
    for target in mapping.targets:
        if target.retired:
            out.setdefault(target.title, [])
        elif (target.note or "").startswith("successor of "):
            out.setdefault(target.note.split()[2], []).append(target.code)
    return out


def test_gem_target_expanded_since_fy2018_offers_its_filled_placeholder_codes() -> None:
    """801.00 (closed base-of-skull fracture) -> GEM S02.10XA, which ICD-10-CM 2026 split by
    side: S02.101A/S02.102A/S02.109A, narrower and approximate, a candidate set."""
    mapping = map_code("801.00", "icd9cm", "icd10cm")
    assert mapping.status == "retired-in-target"
    retired = next(t for t in mapping.targets if t.retired)
    assert retired.code is None and retired.title == "S02.10XA"
    assert "not defined in ICD-10-CM 2026" in retired.note and retired.flags == "10000"
    assert mapping.codes == ["S02.101A", "S02.102A", "S02.109A"]
    for target in mapping.coded_targets:
        assert target.relation == "narrower (successor)"
        assert target.exactness == Exactness.APPROXIMATE
        assert "placeholder X" in target.note and "candidate set of 3" in target.note
    # H40.11X0 (glaucoma, stage unspecified) gained laterality: the 7th character is kept
    glaucoma = _successors(map_code("365.11", "icd9cm", "icd10cm"))
    assert glaucoma["H40.11X0"] == ["H40.1110", "H40.1120", "H40.1130", "H40.1190"]
    assert set(glaucoma) == {f"H40.11X{i}" for i in range(5)}
    # 965.09: kept targets stay as they are, T40.4X1A (other synthetic narcotics) became
    # fentanyl / tramadol / other synthetic narcotics
    narcotics = map_code("965.09", "icd9cm", "icd10cm")
    assert "T40.2X1A" in narcotics.codes and "T40.4X1A" not in narcotics.codes
    assert _successors(narcotics)["T40.4X1A"] == ["T40.411A", "T40.421A", "T40.491A"]


def test_gem_target_without_successor_is_retired_not_climbed() -> None:
    """Z22.51 (carrier of hepatitis B) and M51.07 are gone from ICD-10-CM 2026 with no code that
    extends them: retired, the nearest code above named in the note but not mapped."""
    carrier = map_code("V02.61", "icd9cm", "icd10cm")
    assert (carrier.status, carrier.codes) == ("retired-in-target", [])
    assert "no successor" in carrier.targets[0].note and "Z22" in carrier.targets[0].note
    disc = map_code("722.73", "icd9cm", "icd10cm")
    assert disc.status == "retired-in-target" and disc.codes == ["M51.06"]
    assert _successors(disc) == {"M51.07": []}
    # an adverse effect must not climb to a poisoning category: T40.1X5A has no successor
    heroin = map_code("995.29", "icd9cm", "icd10cm")
    assert _successors(heroin)["T40.1X5A"] == []
    assert not any(code.startswith("T40.1X") for code in heroin.codes)


def test_chain_continues_through_a_gem_successor(who: None) -> None:
    mapping = map_code("801.00", "icd9cm", "icd11")
    assert mapping.status == "retired-in-target" and mapping.codes
    for target in mapping.coded_targets:
        first = target.hops[0]
        assert first.code in ("S02.101A", "S02.102A", "S02.109A")
        assert first.relation == "narrower (successor)"
        assert target.path_exactness <= Exactness.APPROXIMATE
    assert mapping.hop_reach[0] == Exactness.APPROXIMATE


def test_cm_to_who_override_naming_an_undefined_who_code_is_retired(tmp_path: Path) -> None:
    table = tmp_path / "overrides.csv"
    table.write_text(
        "icd10cm,action,icd10who,exactness,reason\nA00.0,map,A00.7,approximate,a typo\n",
        encoding="utf-8",
    )
    mapping = map_code("A00.0", "icd10cm", "icd10who", overrides=str(table))
    assert mapping.status == "retired-in-target" and mapping.codes == []
    assert "A00.7 is not defined in WHO ICD-10 2019" in mapping.targets[0].note


def test_curated_successor_of_a_retired_who_icd10_code(who_2020: None, tmp_path: Path) -> None:
    """WHO 2020-01 tables send ICD-11 DD91.01 (IBS-D) to K58.0, which WHO ICD-10 2019 replaced
    by K58.1; the chain then reaches CM K58.0 (IBS with diarrhea), not CM K58.1 (IBS-C)."""
    from icdbridge.crosswalk.successors import read_curated

    mapping = map_code("DD91.01", "icd11", "icd10who", who_releases="2020-01")
    assert mapping.status == "retired-in-target" and mapping.codes == ["K58.1"]
    successor = mapping.coded_targets[0]
    assert successor.relation == "successor (curated)" and "2016 update" in successor.note
    assert map_code("DD91.01", "icd11", "icd10cm", who_releases="2020-01").codes == ["K58.0"]
    bad = tmp_path / "s.csv"
    bad.write_text("system,code,successors,exactness,reason\nicd10who,K58.0,K58.1,sure,x\n")
    with pytest.raises(InputFormatError, match=r"line 2.*exactness"):
        read_curated(str(bad))


def test_who_no_mapping_text_is_not_a_code(who: None) -> None:
    """The 11To10 table writes 'No Mapping' in the code column for 33 ICD-11 codes."""
    mapping = map_code("1B70", "icd11", "icd10who")
    assert (mapping.status, mapping.codes) == ("no-map", [])
    assert "no mapping" in mapping.targets[0].note


# --------------------------------------------------------------------- 6. output
def test_gem_flags_spelled_out_and_titles_in_map_code_output(capsys, who: None) -> None:
    from cli_harness import run_cli

    assert gem_flags_text("10111") == "approximate, combination, scenario 1, choice list 1"
    assert gem_flags_text("00000") == "exact"
    args = ["map", "--code", "073.0", "--from", "icd9cm", "--to", "icd10cm"]
    result = run_cli(args, capsys)
    assert result.code == 0, result.err
    assert "Chlamydia psittaci infections" in result.out
    assert "GEM flags 10111: approximate, combination" in result.out
    assert "status combination, exactness approximate" in result.out
    plain = run_cli([*args, "--no-titles"], capsys)
    assert "Chlamydia" not in plain.out
    who = run_cli(["map", "--code", "E11.9", "--from", "icd10who", "--to", "icd11"], capsys)
    assert who.out.count("state no relation") == 1 and "(--who-release 2020-01)" in who.out


def test_report_says_who_2024_unknown_once(tmp_path: Path, who: None) -> None:
    from icdbridge.crosswalk.migrate import migrate

    src = tmp_path / "in.csv"
    src.write_text("code\nE11.9\nI10\nA41.9\n", encoding="utf-8")
    report = migrate(src, tmp_path / "out.csv", get_crosswalk("icd10who", "icd11"))
    text = report.to_markdown()
    assert text.count("state no relation") == 1 and "--who-release" not in text
    assert "## Status (`map_status`)" in text and "## Exactness (`map_exactness`)" in text
