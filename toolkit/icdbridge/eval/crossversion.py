"""Evaluate across code systems: map gold and predictions into one common system first.

A model trained on ICD-9-CM data predicts ICD-9-CM codes; to judge it on ICD-10-CM gold, both
sides are mapped through :mod:`icdbridge.crosswalk` into a common system (e.g. WHO ICD-10) and
evaluated there. How one-to-many mappings become code sets is the crosswalk's explicit policy
(:data:`icdbridge.crosswalk.POLICIES`; default here ``best``: one target per code, or one whole
combination; ``all`` keeps every target). A score prediction gives each target code the highest
score of the source codes reaching it.

A category or non-billable code (ICD-10-CM ``E11``, ICD-9-CM ``250``) is mapped through its
descendants (the crosswalk's default ``categories="expand"``, counted in the report as
``codes_category_expanded``), so a model's non-leaf predictions are not lost.

Codes that cannot be mapped (no target, invalid, not in the release) are **not dropped**: they
become the token ``UNMAPPED:<system>:<code>``, so an unmapped gold code is a false negative that
no prediction can match and an unmapped predicted code is a false positive. The mapping report
counts codes and occurrences by crosswalk outcome (exact, unknown, approximate, residual-only,
none).
"""

from __future__ import annotations

from typing import Any

from icdbridge.eval.io import CodeFile

UNMAPPED_PREFIX = "UNMAPPED"


def unmapped_token(system: str, code: str) -> str:
    """The placeholder kept for a code that has no target in the common system.

    Example:
        >>> unmapped_token("icd9cm", "999.99")
        'UNMAPPED:icd9cm:999.99'
    """
    return f"{UNMAPPED_PREFIX}:{system}:{code}"


def map_code_file(
    codes: CodeFile, source: str, common: str, policy: str = "best"
) -> tuple[CodeFile, dict[str, Any]]:
    """Map every code of ``codes`` from ``source`` into ``common`` (see the module docstring).

    Returns:
        The mapped :class:`CodeFile` (same documents, issues kept) and the mapping report.
    """
    report: dict[str, Any] = {
        "from": source,
        "to": common,
        "policy": policy,
        "codes_by_outcome": {},
        "occurrences_by_outcome": {},
        "unmapped_examples": [],
        "codes_category_expanded": 0,
    }
    if source == common:
        report["codes_by_outcome"] = {"identity": len({c for d in codes.docs.values() for c in d})}
        return codes, report
    from icdbridge.crosswalk import get_crosswalk

    crosswalk = get_crosswalk(source, common)
    cache: dict[str, tuple[list[str], str]] = {}

    def targets(code: str) -> list[str]:
        found = cache.get(code)
        if found is None:
            mapping = crosswalk.map(code, policy=policy)
            outcome = mapping.outcome
            mapped = mapping.codes or [unmapped_token(source, code)]
            found = cache[code] = (mapped, outcome)
            report["codes_category_expanded"] += mapping.status == "category-expanded"
            report["codes_by_outcome"][outcome] = report["codes_by_outcome"].get(outcome, 0) + 1
            if not mapping.codes and len(report["unmapped_examples"]) < 20:
                report["unmapped_examples"].append(f"{code} ({mapping.status})")
        outcome = found[1]
        report["occurrences_by_outcome"][outcome] = (
            report["occurrences_by_outcome"].get(outcome, 0) + 1
        )
        return found[0]

    out = CodeFile(codes.path, issues=list(codes.issues), n_rows=codes.n_rows)
    out.scores = None if codes.scores is None else {}
    for doc, ranked in codes.docs.items():
        mapped: dict[str, float | None] = {}
        for code in ranked:
            score = None if codes.scores is None else codes.scores[doc][code]
            for target in targets(code):
                if target not in mapped or (score is not None and score > mapped[target]):
                    mapped[target] = score
        if out.scores is not None:
            ordered = sorted(mapped, key=lambda c: -mapped[c])
            out.scores[doc] = {c: float(mapped[c]) for c in ordered}
            out.docs[doc] = ordered
        else:
            out.docs[doc] = list(mapped)
    if codes.chosen is not None:  # the model's own choice maps like its scores (not recounted)
        out.chosen = {
            doc: list(
                dict.fromkeys(
                    t for c in chosen for t in (cache[c][0] if c in cache else targets(c))
                )
            )
            for doc, chosen in codes.chosen.items()
        }
    return out, report
