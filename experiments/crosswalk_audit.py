"""Crosswalk audit: the numbers behind "What you can trust" in docs/crosswalks.md.

1. **Drift audit, ICD-10-CM 2026 vs WHO ICD-10 2019**: code strings both define, how many have
   different titles, how many the lexical channel flags (similarity < 0.5), how many of those
   the curated table (``mappings/icd10cm-icd10who-overrides.csv``) settles, and the verdicts.
   With ``--encoder`` the label encoder (all-MiniLM-L6-v2) scores the same pairs: a pair is
   flagged when either channel finds it dissimilar (cosine < 0.8), and ``channels`` counts
   flagged, settled and unsettled pairs per channel (lexical, encoder, both, encoder only).
2. **Drift audit, ICD-10-CM 2024 vs 2026**: kept codes whose title changed, flagged (any change
   of title words), settled (``mappings/icd10cm-release-drift.csv``).
3. **The curated rules at work**: every ICD-10-CM adverse-effect (6th character 5) and
   underdosing (6th character 6) code of T36-T50, and where it lands in WHO ICD-10 (never in
   T36-T50); R65.1 and its subcodes.
4. **WHO ICD-10 → ICD-10-CM**: WHO codes CM does not define, and how many now climb to a CM code
   (``broader``) instead of being dropped; ICD-11 codes reaching ICD-10-CM through the 2024-01
   tables.
5. **Retired and non-billable targets of the GEMs**: GEM (FY2018) targets the loaded release
   does not define, in both directions, how many get a successor (and how many successor
   codes), how many source codes meet one; targets it defines as categories (not billable),
   how many billable leaf codes are offered for them, how many source codes meet one.
6. **ICD-9-CM → ICD-11 reach and exactness** (README row), with the 2024-01 and 2020-01 tables.

Writes ``experiments/crosswalk_audit.json`` (``crosswalk_audit_encoder.json`` with
``--encoder``), next to this script, and prints it. The encoder's embeddings are cached
(``$ICDBRIDGE_CACHE/drift_embeddings``): the first ``--encoder`` run encodes about 20,000 titles
(minutes on a shared CPU), later runs reuse them.

Run: ``python experiments/crosswalk_audit.py [--encoder] [--output PATH]``
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

from icdbridge.codes import get_terminology
from icdbridge.crosswalk import Exactness, get_crosswalk
from icdbridge.crosswalk.drift import drift_audit
from icdbridge.outputs import dumps_json, write_text

HERE = Path(__file__).resolve().parent


def adverse_effect_codes() -> dict[str, list[str]]:
    """ICD-10-CM leaf codes of T36-T50 with 6th character 5 (adverse effect) / 6 (underdosing)."""
    cm = get_terminology("icd10cm")
    out: dict[str, list[str]] = {"adverse_effect": [], "underdosing": []}
    for code in cm.codes(leaves_only=True):
        undotted = code.replace(".", "")
        if code[0] == "T" and 36 <= int(code[1:3]) <= 50 and len(undotted) >= 6:
            if undotted[5] == "5":
                out["adverse_effect"].append(code)
            elif undotted[5] == "6":
                out["underdosing"].append(code)
    return out


def t36_t50_section() -> dict[str, object]:
    crosswalk = get_crosswalk("icd10cm", "icd10who")
    result: dict[str, object] = {}
    for kind, codes in adverse_effect_codes().items():
        landing: Counter = Counter()
        for mapping in crosswalk.map_many(codes):
            for code in mapping.codes:
                landing[code[:1] + ("T36-T50" if code[0] == "T" else code[1:3])] += 1
        in_t = sum(1 for m in crosswalk.map_many(codes) if any(c.startswith("T") for c in m.codes))
        result[kind] = {
            "codes": len(codes),
            "still_in_T36_T50": in_t,
            "target_categories": dict(sorted(landing.items())),
        }
    r65 = {
        code: [t.code for t in crosswalk.map(code).targets]
        for code in ("R65.1", "R65.10", "R65.11", "R65.20", "R65.21")
    }
    result["R65"] = r65
    return result


def who_to_cm_section() -> dict[str, object]:
    who, cm = get_terminology("icd10who"), get_terminology("icd10cm")
    missing = [c for c in who.codes() if cm.get(c) is None]
    crosswalk = get_crosswalk("icd10who", "icd10cm")
    relations: Counter = Counter()
    reached = 0
    for mapping in crosswalk.map_many(missing):
        if mapping.codes:
            reached += 1
        relations.update({t.relation for t in mapping.targets})
    categories: set[str] = set()
    meeting = 0
    for mapping in crosswalk.map_many(who.codes()):
        found = {t.code for t in mapping.targets if t.not_billable}
        categories |= found
        meeting += bool(found)
    icd11 = get_terminology("icd11").codes()
    to_cm = get_crosswalk("icd11", "icd10cm", who_releases="2024-01").map_many(icd11)
    lost = sum(
        1
        for m in to_cm
        if not m.codes
        and any(
            hop.system == "icd10who" and hop.code is not None for t in m.targets for hop in t.hops
        )
    )
    return {
        "who_codes_cm_lacks": len(missing),
        "of_which_reach_a_cm_code": reached,
        "relations": dict(sorted((str(k), v) for k, v in relations.items())),
        "who_codes_reaching_a_cm_category": meeting,
        "cm_categories_expanded_to_billable_leaves": len(categories),
        "icd11_codes": len(icd11),
        "icd11_reaching_a_who_code_but_no_cm_code": lost,
    }


def retired_section() -> dict[str, object]:
    from icdbridge.crosswalk.gem import gem_hop

    out: dict[str, object] = {}
    for source, target in (("icd9cm", "icd10cm"), ("icd10cm", "icd9cm")):
        release = get_terminology(target)
        table = gem_hop(source, target).table
        targets = {t.code for rows in table.values() for t in rows if t.code is not None}
        undefined = sorted(c for c in targets if not release.is_defined(c))
        crosswalk = get_crosswalk(source, target)
        successors: dict[str, set[str]] = {}
        categories: set[str] = set()
        leaves: set[str] = set()
        sources = left_without = meeting_category = 0
        for code in table:
            mapping = crosswalk.map(code)
            sources += mapping.status == "retired-in-target"
            left_without += mapping.status == "retired-in-target" and not mapping.codes
            meeting_category += any(t.not_billable for t in mapping.targets)
            for t in mapping.targets:
                if (t.note or "").startswith("successor of "):
                    successors.setdefault(t.note.split()[2], set()).add(t.code)
                if t.not_billable:
                    categories.add(t.code)
                elif t.category_expanded:
                    leaves.add(t.code)
        out[f"{source}_to_{target}"] = {
            "target_release": f"{release.name} {release.release}",
            "distinct_targets": len(targets),
            "not_defined": len(undefined),
            "with_successors": len(successors),
            "successor_codes": sum(len(v) for v in successors.values()),
            "without_successor": [c for c in undefined if c not in successors],
            "source_codes_meeting_one": sources,
            "source_codes_left_without_a_code": left_without,
            "defined_but_no_longer_leaf": sum(
                1 for c in targets if release.is_defined(c) and not release.is_leaf(c)
            ),
            "not_billable_kept_and_expanded": len(categories),
            "billable_leaf_codes_offered": len(leaves),
            "source_codes_meeting_a_category": meeting_category,
        }
    return out


def reach_section() -> dict[str, object]:
    codes = get_terminology("icd9cm").codes(leaves_only=True)
    out: dict[str, object] = {"icd9cm_codes": len(codes)}
    for release in ("2024-01", "2020-01"):
        mappings = get_crosswalk("icd9cm", "icd11", who_releases=release).map_many(codes)
        reached = sum(1 for m in mappings if m.codes)
        exact = sum(1 for m in mappings if m.exactness == Exactness.EXACT)
        out[release] = {
            "reach_an_icd11_code": reached,
            "reach_share": round(reached / len(codes), 4),
            "exact_at_every_hop": exact,
            "exact_share": round(exact / len(codes), 4),
            "statuses": dict(sorted(Counter(m.status for m in mappings).items())),
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--encoder", action="store_true", help="also run the label encoder")
    parser.add_argument("--output", type=Path, default=None, help="results JSON")
    args = parser.parse_args()
    if args.output is None:
        name = "crosswalk_audit_encoder.json" if args.encoder else "crosswalk_audit.json"
        args.output = HERE / name

    systems = drift_audit("icd10cm", "icd10who", encoder=args.encoder)
    counts = systems.counts()
    releases = drift_audit("icd10cm", "icd10cm", source_release="2024", target_release="2026")
    result = {
        "drift_icd10cm_vs_icd10who": counts,
        "drift_icd10cm_2024_vs_2026": releases.counts(),
        "t36_t50_and_r65": t36_t50_section(),
        "who_to_cm": who_to_cm_section(),
        "gem_retired_targets": retired_section(),
        "icd9cm_to_icd11": reach_section(),
    }
    text = dumps_json(result)
    write_text(args.output, text + "\n")
    print(text)


if __name__ == "__main__":
    main()
