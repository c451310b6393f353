"""Targets the loaded target release no longer defines or does not bill, and their successors.

A crosswalk table is older than the terminology release icdbridge loads: the CMS GEMs are FY2018
while ICD-10-CM is 2026, the WHO 2020-01 tables name ICD-11 codes MMS 2024-01 dropped. Every
hop of a chain passes its targets through :func:`check_targets`: a target the loaded release of
its system defines is kept as is; one it does not define becomes a code-less
``retired-in-target`` marker (its note names the code and the release), followed by its
successors where the terminology knows them, each labelled with its own exactness. A chain
continues through the successors; the marker ends its own path.

Where the terminology knows a successor (:data:`SUCCESSOR_RULES`, by system):

* **ICD-11**: the code the loaded release gives the same entity (the table's linearization URI;
  same relation and exactness as the table row, since it is the same entity).
* **ICD-10-CM, WHO ICD-10, ICD-9-CM** (prefix hierarchies), first rule that finds codes:

  1. *expanded*: leaf codes of the loaded release that extend the retired code (it gained a
     character, e.g. a 6th or 7th one) — ``narrower``, approximate, a candidate set;
  2. *placeholder filled* (ICD-10-CM): the retired code had a placeholder ``X`` that now holds
     a character (laterality, a new axis), the other characters, the 7th included, unchanged:
     ``S02.10XA`` → ``S02.101A``/``S02.102A``/``S02.109A`` — ``narrower``, approximate, a
     candidate set.

  Otherwise no successor is offered: the note names the nearest code above the retired one for
  a person to judge, but the chain does not climb there (a parent can change the axis:
  ``T40.1X5A`` adverse effect of heroin sits under ``T40.1X`` poisoning by heroin).

* **Curated** (any system, before the rules above): ``mappings/retired-successors.csv``
  (columns ``system,code,successors,exactness,reason``; several successors separated by ``;``),
  for conversion knowledge the release files do not carry (WHO ICD-10 K58.0 → K58.1 since the
  2016 update). Relation ``successor (curated)``, the row's own exactness.

**Defined, but not billable** (:func:`expand_categories`). In a system whose codes must be
billable leaves where a record holds them (:data:`BILLABLE_SYSTEMS`: ICD-10-CM, ICD-9-CM), a
table target the loaded release defines as a category is kept — the table named it, with its
own exactness — and marked (note :data:`~icdbridge.crosswalk.model.NOT_BILLABLE`, status
``category-expanded``), followed by its billable leaf codes in the loaded release as a candidate
set: relation ``narrower (successor)``, approximate, a note naming the rule and the count. The
FY2018 GEM names A04.7 (C. difficile enterocolitis), which ICD-10-CM split into A04.71
recurrent / A04.72 not specified as recurrent; WHO ICD-10 A08.5 climbs to CM A08, whose
billable codes are A08.0-A08.8. A chain continues through the category (its own code is valid
at category level in the next table: CM A04.7 → WHO A04.7) and through each leaf. WHO ICD-10
and ICD-11 are not in :data:`BILLABLE_SYSTEMS`: a WHO ICD-10 three-character category is a
valid code to record (the CM → WHO hop truncates to one on purpose) and an ICD-11 stem code
with children is a valid code of the MMS.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path

from icdbridge.crosswalk.manifests import mappings_dir
from icdbridge.crosswalk.model import BILLABLE_LEAF, NOT_BILLABLE, RETIRED, Exactness, Target
from icdbridge.errors import IcdbridgeError, InputFormatError

CURATED_FILE = "retired-successors.csv"
"""Curated successors of codes a release no longer defines (in ``mappings/``)."""

CURATED = "successor (curated)"
"""Relation of a successor from the curated table."""

NARROWER = "narrower (successor)"
"""Relation of a successor that extends the retired code (a candidate set)."""

SUCCESSOR = "successor"
"""Note prefix of a successor target (``successor of CODE in RELEASE: why``)."""

BILLABLE_SYSTEMS = frozenset({"icd10cm", "icd9cm"})
"""Systems whose codes must be billable leaves where a record holds them (a category target is
expanded to its leaf codes, :func:`expand_categories`). Not WHO ICD-10 (a three-character
category is a valid code there) nor ICD-11 (every MMS stem code is)."""


def _stem(system: str, code: str) -> str:
    """The code to look up: an ICD-11 postcoordinated target is checked by its stem code."""
    if system == "icd11":
        return code.split("&")[0].split("/")[0]
    return code


def check_targets(rows: tuple[Target, ...], terminology: object | None) -> tuple[Target, ...]:
    """Mark the targets ``terminology`` (the loaded target release) does not define or bill.

    Args:
        rows: Targets of one source code from one hop (all of one system).
        terminology: The loaded release of their system; ``None`` (not available, a custom
            system) leaves the rows unchanged.

    Returns:
        The rows, each undefined target replaced by a ``retired-in-target`` marker (no code,
        exactness none, its title names the retired code) followed by its successors; in a
        :data:`BILLABLE_SYSTEMS` system, each category target followed by its billable leaf
        codes (:func:`expand_categories`).
    """
    if terminology is None or not rows:
        return rows
    rows = _mark_retired(rows, terminology)
    if rows[0].system in BILLABLE_SYSTEMS:
        rows = expand_categories(rows, terminology)
    return rows


def _mark_retired(rows: tuple[Target, ...], terminology: object) -> tuple[Target, ...]:
    if all(row.code is None or terminology.is_defined(_stem(row.system, row.code)) for row in rows):
        return rows
    where = f"{terminology.name} {terminology.release}"
    rule = SUCCESSOR_RULES.get(rows[0].system)
    curated = read_curated()
    out: list[Target] = []
    for row in rows:
        if row.code is None or terminology.is_defined(_stem(row.system, row.code)):
            out.append(row)
            continue
        entry = curated.get((row.system, row.code))
        if entry is not None:
            found = _from_curated(terminology, row, entry)
        else:
            found = rule(terminology, row) if rule is not None else []
        found = [s for s in found if s.code != row.code]
        if found:
            why = f"successor offered: {', '.join(s.code for s in found)}"
        else:
            above = nearest_above(terminology, row.code)
            why = "no successor in this release" + (
                f" (nearest code above: {above}, not mapped)" if above else ""
            )
        out.append(
            replace(
                row,
                code=None,
                exactness=Exactness.NONE,
                title=f"{row.code} {row.title or ''}".strip(),
                note=f"{RETIRED}: {row.code} is not defined in {where}; {why}",
            )
        )
        out.extend(found)
    return tuple(out)


def expand_categories(rows: tuple[Target, ...], terminology: object) -> tuple[Target, ...]:
    """Follow each target ``terminology`` defines but does not bill with its billable leaves.

    Args:
        rows: Targets of one source code from one hop, in a system of :data:`BILLABLE_SYSTEMS`.
        terminology: The loaded release of their system.

    Returns:
        The rows, each category target kept with its note prefixed by
        :data:`~icdbridge.crosswalk.model.NOT_BILLABLE` and followed by its billable leaf codes
        (relation ``narrower (successor)``, approximate; leaves already among the rows are not
        repeated). A target with no leaf below it is left as it is.
    """

    def category(row: Target) -> bool:
        return (
            row.code is not None
            and terminology.is_defined(row.code)
            and not terminology.is_leaf(row.code)
        )

    if not any(category(row) for row in rows):
        return rows
    where = f"{terminology.name} {terminology.release}"
    listed = {row.code for row in rows}
    out: list[Target] = []
    for row in rows:
        leaves = (
            [c for c in terminology.descendants(row.code) if terminology.is_leaf(c)]
            if category(row)
            else []
        )
        if not leaves:
            out.append(row)
            continue
        count = len(leaves)
        mark = (
            f"{NOT_BILLABLE} in {where}: {row.code} is a category there; its {count} billable "
            f"leaf code{'s' if count > 1 else ''} follow as candidates"
        )
        out.append(replace(row, note=f"{mark}; {row.note}" if row.note else mark))
        note = f"{BILLABLE_LEAF} of {row.code} in {where} (candidate set of {count})"
        for leaf in leaves:
            if leaf in listed:
                continue  # a table row (or another category's leaf) already offers it
            listed.add(leaf)
            out.append(
                replace(
                    row,
                    code=leaf,
                    exactness=min(row.exactness, Exactness.APPROXIMATE),
                    relation=NARROWER,
                    title=terminology.description(leaf),
                    note=note,
                )
            )
    return tuple(out)


# --------------------------------------------------------------------- the curated table
@dataclass(frozen=True, slots=True)
class CuratedSuccessor:
    """One row of the curated successor table."""

    successors: tuple[str, ...]
    exactness: Exactness
    reason: str


@cache
def read_curated(path: str | None = None) -> dict[tuple[str, str], CuratedSuccessor]:
    """The curated successor table: ``(system, retired code)`` → its successors.

    Args:
        path: A CSV with columns ``system,code,successors,exactness,reason``; ``None`` reads
            ``mappings/retired-successors.csv`` (absent: no curated successors).

    Raises:
        InputFormatError: a row without successors or reason, or an exactness other than
            ``exact`` / ``approximate``.
    """
    file = Path(path) if path is not None else mappings_dir() / CURATED_FILE
    if not file.exists():
        return {}
    levels = {"exact": Exactness.EXACT, "approximate": Exactness.APPROXIMATE}
    out: dict[tuple[str, str], CuratedSuccessor] = {}
    with open(file, encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        for row in reader:
            line = reader.line_num
            successors = tuple(
                s.strip() for s in (row.get("successors") or "").split(";") if s.strip()
            )
            reason = (row.get("reason") or "").strip()
            exactness = (row.get("exactness") or "").strip()
            if not successors or not reason:
                raise InputFormatError(file, "a row needs successors and a reason", line)
            if exactness not in levels:
                raise InputFormatError(
                    file, "exactness must be exact or approximate", line, exactness
                )
            key = ((row.get("system") or "").strip(), (row.get("code") or "").strip().upper())
            out[key] = CuratedSuccessor(successors, levels[exactness], reason)
    return out


def _successor(terminology: object, row: Target, code: str, how: str) -> Target:
    """``row`` moved to ``code``, a successor of its code in the loaded release, with a note of
    ``how`` it was found."""
    where = f"{terminology.name} {terminology.release}"
    note = f"{SUCCESSOR} of {row.code} in {where} ({how})"
    return replace(row, code=code, title=terminology.description(code), note=note)


def _from_curated(terminology: object, row: Target, entry: CuratedSuccessor) -> list[Target]:
    how = f"curated: {entry.reason}"
    curated = replace(row, exactness=min(row.exactness, entry.exactness), relation=CURATED)
    return [
        _successor(terminology, curated, code, how)
        for code in entry.successors
        if terminology.is_defined(code)
    ]


# --------------------------------------------------------------------- successor rules
def _by_uri(terminology: object, row: Target) -> list[Target]:
    """ICD-11: the code the loaded release gives the entity the table names (same URI)."""
    if not row.uri or not hasattr(terminology, "by_uri"):
        return []
    try:
        code = terminology.by_uri(row.uri).code
    except IcdbridgeError:
        return []
    return [_successor(terminology, row, code, f"same entity: {row.uri}")]


def _undotted(code: str) -> str:
    return code.replace(".", "")


def nearest_above(terminology: object, code: str) -> str | None:
    """The nearest code above ``code`` (by prefix) that ``terminology`` defines, or ``None``."""
    undotted = _undotted(code)
    for cut in range(len(undotted) - 1, 2, -1):
        try:
            candidate = terminology.normalize(undotted[:cut])
        except IcdbridgeError:
            continue
        node = terminology.get(candidate)
        if node is not None and node.kind not in ("chapter", "block"):
            return node.code
    return None


def _placeholder_match(retired: str, leaf: str) -> bool:
    """Whether ``leaf`` is ``retired`` with each placeholder ``X`` (after the category) filled."""
    return len(leaf) == len(retired) and all(
        r == c or (r == "X" and i >= 3) for i, (r, c) in enumerate(zip(retired, leaf, strict=True))
    )


def _by_prefix(terminology: object, row: Target) -> list[Target]:
    """Prefix hierarchies: the leaf codes that extend the retired code, else (ICD-10-CM) the
    leaf codes that fill its placeholder ``X`` — narrower, approximate, a candidate set."""
    above = nearest_above(terminology, row.code)
    if above is None:
        return []
    retired = _undotted(row.code)
    leaves = [c for c in terminology.descendants(above) if terminology.is_leaf(c)]
    found = [c for c in leaves if _undotted(c).startswith(retired)]
    how = "expanded: it gained a character"
    if not found and row.system == "icd10cm" and "X" in retired[3:]:
        found = [c for c in leaves if _placeholder_match(retired, _undotted(c))]
        how = "its placeholder X now holds a character"
    how = f"{how}; candidate set of {len(found)}"
    narrower = replace(row, exactness=min(row.exactness, Exactness.APPROXIMATE), relation=NARROWER)
    return [_successor(terminology, narrower, code, how) for code in found]


SUCCESSOR_RULES: dict[str, Callable[[object, Target], list[Target]]] = {
    "icd11": _by_uri,
    "icd10cm": _by_prefix,
    "icd10who": _by_prefix,
    "icd9cm": _by_prefix,
}
"""System → how the loaded release names the successors of a code it no longer defines."""
