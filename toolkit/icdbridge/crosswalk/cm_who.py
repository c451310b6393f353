"""ICD-10-CM ↔ WHO ICD-10 (2019 edition): structural mapping with labels and curated overrides.

ICD-10-CM extends WHO ICD-10 but not everywhere in the same meaning. The rule, in order:

1. **Curated override** (``mappings/icd10cm-icd10who-overrides.csv``): the longest CM code in the
   table that is the code itself or one of its ancestors (by code prefix) decides: either
   ``no-who-equivalent`` or ``map`` to a named WHO code (always approximate: labelled
   ``truncated-to-parent (override)``, ``broader (override)`` when the WHO code has the same
   string but a wider scope, or ``redirected (override)`` to a WHO code elsewhere). Every row
   states its reason. Overrides catch the places where a WHO code with the *same string* means
   something else (CM O09 "supervision of high-risk pregnancy" vs WHO O09 "duration of
   pregnancy"; T76; K55.3; L89 site vs stage; V90-V94 kind of accident vs type of vessel; ...).
2. **Longest WHO-defined prefix**: the CM code itself when WHO defines it (label ``identical``,
   exact), else the longest prefix of at least three characters that WHO defines (label
   ``truncated-to-parent``, approximate: the WHO code is broader).
3. Otherwise the label is ``no-WHO-equivalent`` and no code is reached. CM-only categories such as
   Y93, Z68, C7A, D3A, M26 (WHO puts these dentofacial anomalies in K07) fall here because no WHO
   prefix exists.

WHO → CM goes the other way: one WHO code → the CM code itself when CM defines it as a leaf
(``identical``), else its CM leaf descendants as a candidate set (``cm-subdivision``,
approximate). CM codes that an override excludes from the WHO code are left out of that set.
:func:`audit_identical_codes` lists same-string codes whose titles share no words, the starting
point for curating overrides.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from functools import cache, cached_property
from pathlib import Path

from icdbridge.crosswalk.hops import Hop, is_defined, terminology_or_none
from icdbridge.crosswalk.manifests import mappings_dir
from icdbridge.crosswalk.model import Exactness, Target
from icdbridge.errors import DataNotFoundError, InputFormatError

NAME = "icd10cm-icd10who-prefix"
WHO_RELEASE = "2019"
OVERRIDES_FILE = "icd10cm-icd10who-overrides.csv"
ACTIONS = ("no-who-equivalent", "map")

IDENTICAL = "identical"
TRUNCATED = "truncated-to-parent"
BROADER = "broader"
REDIRECTED = "redirected"
NO_EQUIVALENT = "no-WHO-equivalent"
OVERRIDE = "override"
CM_SUBDIVISION = "cm-subdivision"


@dataclass(frozen=True, slots=True)
class Override:
    """One curated CM → WHO decision: applies to ``icd10cm`` and every CM code below it."""

    icd10cm: str
    action: str
    icd10who: str | None
    reason: str


def read_overrides(path: Path | str | None = None) -> dict[str, Override]:
    """Read the curated override table (CM code → :class:`Override`).

    Raises:
        InputFormatError: unknown action, a ``map`` row without a target, or a row without reason.
    """
    path = Path(path) if path is not None else mappings_dir() / OVERRIDES_FILE
    if not path.exists():
        raise DataNotFoundError(f"CM→WHO override table not found: {path}")
    out: dict[str, Override] = {}
    with open(path, encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        for row in reader:
            line = reader.line_num
            action = (row.get("action") or "").strip()
            if action not in ACTIONS:
                raise InputFormatError(path, f"action must be one of {ACTIONS}", line, action)
            target = (row.get("icd10who") or "").strip() or None
            if action == "map" and target is None:
                raise InputFormatError(path, "a 'map' override needs an icd10who code", line)
            reason = (row.get("reason") or "").strip()
            if not reason:
                raise InputFormatError(path, "every override needs a reason", line)
            code = row["icd10cm"].strip().upper()
            out[code.replace(".", "")] = Override(code, action, target, reason)
    return out


def _who():
    who = terminology_or_none("icd10who")
    if who is None:
        raise DataNotFoundError("WHO ICD-10 (icd10who) terminology is not available")
    return who


def _coded(code: str) -> str:
    return code if len(code) <= 3 else f"{code[:3]}.{code[3:]}"


class CmToWho(Hop):
    """ICD-10-CM → WHO ICD-10 2019 by longest WHO-defined prefix, with curated overrides."""

    source_system, target_system = "icd10cm", "icd10who"

    def __init__(self, overrides: Path | str | None = None) -> None:
        self.name, self.release = NAME, WHO_RELEASE
        self.overrides = read_overrides(overrides)
        self._cache: dict[str, tuple[Target, ...]] = {}

    def override_for(self, code: str) -> Override | None:
        """The override that applies to canonical CM ``code`` (longest matching prefix)."""
        undotted = code.replace(".", "")
        for cut in range(len(undotted), 2, -1):
            found = self.overrides.get(undotted[:cut])
            if found is not None:
                return found
        return None

    def lookup(self, code: str) -> tuple[Target, ...] | None:
        found = self._cache.get(code)
        if found is None:
            found = self._cache[code] = (self._compute(code),)
        return found

    def _compute(self, code: str) -> Target:
        who = _who()
        override = self.override_for(code)
        if override is not None:
            if override.action == "no-who-equivalent":
                return self._none(override.reason, relation=f"{NO_EQUIVALENT} ({OVERRIDE})")
            target = who.normalize(override.icd10who)
            if target == code:
                label = BROADER
            elif _below(code, target):
                label = TRUNCATED
            else:
                label = REDIRECTED
            return Target(
                code=target,
                system="icd10who",
                exactness=Exactness.APPROXIMATE,  # an override exists because codes differ
                source=NAME,
                release=WHO_RELEASE,
                relation=f"{label} ({OVERRIDE})",
                title=who.description(target),
                note=override.reason,
            )
        undotted = code.replace(".", "")
        for cut in range(len(undotted), 2, -1):
            prefix = _coded(undotted[:cut])
            node = who.get(prefix)
            if node is None or node.kind in ("chapter", "block"):
                continue
            exact = cut == len(undotted)
            return Target(
                code=node.code,
                system="icd10who",
                exactness=Exactness.EXACT if exact else Exactness.APPROXIMATE,
                source=NAME,
                release=WHO_RELEASE,
                relation=IDENTICAL if exact else TRUNCATED,
                title=node.title,
            )
        return self._none(f"no prefix of {code} is defined in WHO ICD-10 {WHO_RELEASE}")

    def _none(self, note: str, relation: str = NO_EQUIVALENT) -> Target:
        return Target(
            code=None,
            system="icd10who",
            exactness=Exactness.NONE,
            source=NAME,
            release=WHO_RELEASE,
            relation=relation,
            note=note,
        )


class WhoToCm(Hop):
    """WHO ICD-10 → ICD-10-CM: the identical leaf, or the CM leaf descendants as candidates."""

    source_system, target_system = "icd10who", "icd10cm"

    def __init__(self, overrides: Path | str | None = None) -> None:
        self.name, self.release = NAME, WHO_RELEASE
        self.forward = cm_to_who(None if overrides is None else str(overrides))
        self._cache: dict[str, tuple[Target, ...]] = {}

    @cached_property
    def _cm(self):
        cm = terminology_or_none("icd10cm")
        if cm is None:
            raise DataNotFoundError("ICD-10-CM terminology is not available")
        return cm

    def lookup(self, code: str) -> tuple[Target, ...] | None:
        found = self._cache.get(code)
        if found is None:
            found = self._cache[code] = self._compute(code)
        return found

    @cached_property
    def _redirected_here(self) -> dict[str, list[str]]:
        """WHO code → CM codes that an override sends to it from outside its own subtree."""
        out: dict[str, list[str]] = {}
        for override in self.forward.overrides.values():
            if override.action == "map" and override.icd10who:
                cm_code = self._cm.get(override.icd10cm)
                if cm_code is not None and not _below(cm_code.code, override.icd10who):
                    out.setdefault(override.icd10who, []).append(cm_code.code)
        return out

    def _leaves(self, code: str) -> list[str]:
        cm = self._cm
        return [c for c in cm.descendants(code) if cm.is_leaf(c)]

    def _compute(self, code: str) -> tuple[Target, ...]:
        cm = self._cm
        node = cm.get(code)
        if node is None or node.kind in ("chapter", "block"):
            return (self._none(f"ICD-10-CM does not define {code}"),)
        candidates = [code] if cm.is_leaf(code) else self._leaves(code)
        for extra in self._redirected_here.get(code, ()):
            candidates.extend(self._leaves(extra) if not cm.is_leaf(extra) else [extra])
        candidates = list(dict.fromkeys(candidates))
        out = []
        for candidate in candidates:
            back = self.forward.lookup(candidate)[0]
            if back.code is None or not (back.code == code or _below(back.code, code)):
                continue  # an override says this CM code is not (under) the WHO code
            exact = candidate == code and back.exactness == Exactness.EXACT
            out.append(
                Target(
                    code=candidate,
                    system="icd10cm",
                    exactness=Exactness.EXACT if exact else Exactness.APPROXIMATE,
                    source=NAME,
                    release=WHO_RELEASE,
                    relation=IDENTICAL if exact else CM_SUBDIVISION,
                    title=cm.description(candidate),
                )
            )
        if not out:
            return (self._none(f"no ICD-10-CM code corresponds to WHO {code}"),)
        return tuple(out)

    def _none(self, note: str) -> Target:
        return Target(
            code=None,
            system="icd10cm",
            exactness=Exactness.NONE,
            source=NAME,
            release=WHO_RELEASE,
            relation="no-CM-equivalent",
            note=note,
        )


def _below(who_code: str, ancestor: str) -> bool:
    return who_code.replace(".", "").startswith(ancestor.replace(".", ""))


@cache
def cm_to_who(overrides: str | None = None) -> CmToWho:
    """The (cached) ICD-10-CM → WHO ICD-10 hop."""
    return CmToWho(overrides)


@cache
def who_to_cm(overrides: str | None = None) -> WhoToCm:
    """The (cached) WHO ICD-10 → ICD-10-CM hop."""
    return WhoToCm(overrides)


_WORDS = re.compile(r"[a-z0-9]+")


def audit_identical_codes(distinctive: bool = False) -> list[tuple[str, str, str]]:
    """Same-string CM/WHO codes whose titles share no word (British spellings folded).

    Args:
        distinctive: Compare only the words a subcategory adds to its category's title (in each
            system), which finds subdivisions along a different axis (CM L89.0 "pressure ulcer of
            elbow" vs WHO L89.0 "stage I decubitus ulcer").

    Returns:
        ``(code, CM title, WHO title)`` triples, candidates for the override table.
    """
    cm, who = terminology_or_none("icd10cm"), _who()
    stop = {"of", "and", "or", "the", "in", "to", "with", "due", "other", "unspecified", "by"}

    def words(text: str) -> set[str]:
        text = text.lower().replace("ae", "e").replace("oe", "e")
        return set(_WORDS.findall(text)) - stop

    out = []
    for node in cm.nodes():
        if node.kind in ("chapter", "block") or not is_defined("icd10who", node.code):
            continue
        other = who.node(node.code)
        if other.kind in ("chapter", "block"):
            continue
        mine, theirs = words(node.title), words(other.title)
        if distinctive:
            if len(node.code) < 5:
                continue
            mine -= words(cm.node(node.code[:3]).title)
            theirs -= words(who.node(node.code[:3]).title)
            if not mine or not theirs:
                continue
        if not mine & theirs:
            out.append((node.code, node.title, other.title))
    return out
