"""ICD-10-CM ↔ WHO ICD-10 (2019 edition): structural mapping with labels and curated overrides.

ICD-10-CM extends WHO ICD-10 but not everywhere in the same meaning. The rule, in order:

1. **Curated table** (``mappings/icd10cm-icd10who-overrides.csv``, every row with a reason):
   a ``same-code`` row of the code itself (the same-string WHO code, ``exact`` when a reviewer
   found the same meaning behind different wording, ``approximate`` when the scope differs);
   else the longest ``map`` / ``no-who-equivalent`` row that is the code, an ancestor (by code
   prefix) or a ``?`` pattern matching it (``T42.4?5``: the adverse-effect codes of T42.4 →
   WHO Y47.1). A ``map`` row names one or more WHO codes with an exactness for its own code;
   codes below it are approximate. Labels: ``identical``/``broader``/``truncated-to-parent``/
   ``equivalent``/``redirected`` ``(override)``, ``identical (reviewed)``,
   ``scope-differs (reviewed)``, ``no-WHO-equivalent (override)``. This is where a WHO code
   with the *same string* means something else (CM R65.1 non-infectious SIRS vs WHO R65.1
   infectious SIRS with organ failure; CM K58.1 IBS-C vs WHO K58.1 IBS-D; O09; T76; K55.3; L89
   site vs stage; V90-V94 ...); the drift audit (:mod:`icdbridge.crosswalk.drift`) lists the
   pairs to settle.
2. **Longest WHO-defined prefix**: the CM code itself when WHO defines it (label ``identical``,
   exact), else the longest prefix of at least three characters that WHO defines (label
   ``truncated-to-parent``, approximate: the WHO code is broader).
3. Otherwise the label is ``no-WHO-equivalent`` and no code is reached. CM-only categories such as
   Y93, Z68, C7A, D3A, M26 (WHO puts these dentofacial anomalies in K07) fall here because no WHO
   prefix exists.

WHO → CM (:class:`WhoToCm`) goes the other way and never drops a code silently: the identical CM
leaf, the CM leaf descendants (``narrower``), or the nearest CM code above (``broader``).
:func:`audit_identical_codes` is the older word-overlap audit, kept for comparison.
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
ACTIONS = ("no-who-equivalent", "map", "same-code")
EXACTNESS = {"exact": Exactness.EXACT, "approximate": Exactness.APPROXIMATE}
WILDCARD = "?"

IDENTICAL = "identical"
TRUNCATED = "truncated-to-parent"
BROADER = "broader"
NARROWER = "narrower"
REDIRECTED = "redirected"
EQUIVALENT = "equivalent"
NO_EQUIVALENT = "no-WHO-equivalent"
OVERRIDE = "override"
REVIEWED = "reviewed"
SCOPE_DIFFERS = "scope-differs"
CM_SUBDIVISION = NARROWER


@dataclass(frozen=True, slots=True)
class Override:
    """One curated CM → WHO decision.

    A ``map`` or ``no-who-equivalent`` row applies to ``icd10cm`` and every CM code below it (the
    longest matching row wins); ``?`` in ``icd10cm`` matches any one character (``T42.4?5``: every
    adverse-effect code of T42.4). A ``same-code`` row applies to that one code only: it keeps
    the WHO code of the same string, ``exact`` when a reviewer found the same meaning behind
    different wording, ``approximate`` when the scope differs (codes below it follow the
    prefix rule).

    Attributes:
        icd10cm: The CM code or pattern as written in the table.
        action: ``map``, ``no-who-equivalent`` or ``same-code``.
        targets: WHO codes of a ``map`` row (several: a candidate set or a combination).
        exactness: ``exact`` or ``approximate`` (the label of the row's own code; codes below a
            row are always approximate).
        reason: Why (required).
        line: Line in the table.
    """

    icd10cm: str
    action: str
    targets: tuple[str, ...]
    exactness: str
    reason: str
    line: int = 0

    @property
    def icd10who(self) -> str | None:
        """The first WHO target (``None`` for ``no-who-equivalent`` / ``same-code``)."""
        return self.targets[0] if self.targets else None

    @property
    def is_pattern(self) -> bool:
        """Whether the CM column holds a ``?`` wildcard."""
        return WILDCARD in self.icd10cm


def read_overrides(path: Path | str | None = None) -> dict[str, Override]:
    """Read the curated override table (undotted CM code or pattern → :class:`Override`).

    Columns: ``icd10cm,action,icd10who,exactness,reason`` (``exactness`` may be absent: then
    ``approximate``). ``icd10who`` may list several codes separated by ``;``.

    Raises:
        InputFormatError: unknown action or exactness, a ``map`` row without a target, a row
            without reason, a ``same-code`` row with a pattern, or a CM code listed twice.
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
            targets = tuple(
                t.strip().upper() for t in (row.get("icd10who") or "").split(";") if t.strip()
            )
            if action == "map" and not targets:
                raise InputFormatError(path, "a 'map' override needs an icd10who code", line)
            exactness = (row.get("exactness") or "").strip() or (
                "exact" if action == "same-code" else "approximate"
            )
            if exactness not in EXACTNESS:
                raise InputFormatError(
                    path, f"exactness must be one of {tuple(EXACTNESS)}", line, exactness
                )
            reason = (row.get("reason") or "").strip()
            if not reason:
                raise InputFormatError(path, "every override needs a reason", line)
            code = (row.get("icd10cm") or "").strip().upper()
            if not code:
                raise InputFormatError(path, "icd10cm is empty", line)
            if action == "same-code" and WILDCARD in code:
                raise InputFormatError(path, "a 'same-code' row names one code", line, code)
            key = code.replace(".", "")
            if key in out:
                raise InputFormatError(path, "CM code listed twice", line, code)
            out[key] = Override(code, action, targets, exactness, reason, line)
    return out


def _who():
    who = terminology_or_none("icd10who")
    if who is None:
        raise DataNotFoundError("WHO ICD-10 (icd10who) terminology is not available")
    return who


def _title(terminology, code: str) -> str | None:
    node = terminology.get(code)
    return node.title if node is not None else None


def _coded(code: str) -> str:
    return code if len(code) <= 3 else f"{code[:3]}.{code[3:]}"


def _exactness(exact: bool) -> Exactness:
    return Exactness.EXACT if exact else Exactness.APPROXIMATE


def _target(
    system: str,
    code: str | None,
    exactness: Exactness,
    relation: str,
    *,
    title: str | None = None,
    note: str | None = None,
) -> Target:
    """A target of either direction of this hop (source table and release are the same)."""
    return Target(
        code=code,
        system=system,
        exactness=exactness,
        source=NAME,
        release=WHO_RELEASE,
        relation=relation,
        title=title,
        note=note,
    )


def _matches(pattern: str, undotted: str) -> bool:
    return len(undotted) >= len(pattern) and all(
        p in (WILDCARD, c) for p, c in zip(pattern, undotted, strict=False)
    )


def _who_target(
    code: str, exact: bool, relation: str, title: str | None, note: str | None = None
) -> Target:
    """A WHO ICD-10 target of :class:`CmToWho`, exact or approximate."""
    return _target("icd10who", code, _exactness(exact), relation, title=title, note=note)


class CmToWho(Hop):
    """ICD-10-CM → WHO ICD-10 2019 by longest WHO-defined prefix, with curated overrides."""

    source_system, target_system = "icd10cm", "icd10who"

    def __init__(self, overrides: Path | str | None = None) -> None:
        self.name, self.release = NAME, WHO_RELEASE
        self.overrides = read_overrides(overrides)
        self._patterns = [o for k, o in self.overrides.items() if WILDCARD in k]
        self._cache: dict[str, tuple[Target, ...]] = {}

    def override_for(self, code: str) -> Override | None:
        """The override that applies to canonical CM ``code``.

        A ``same-code`` row of the code itself first; else the longest ``map`` /
        ``no-who-equivalent`` row (plain code prefix or ``?`` pattern) matching the code.
        """
        undotted = code.replace(".", "")
        own = self.overrides.get(undotted)
        if own is not None and own.action == "same-code":
            return own
        best: Override | None = None
        for cut in range(len(undotted), 2, -1):
            found = self.overrides.get(undotted[:cut])
            if found is not None and found.action != "same-code":
                best = found
                break
        for pattern in self._patterns:
            key = pattern.icd10cm.replace(".", "")
            if _matches(key, undotted) and (best is None or len(key) > len(best.icd10cm)):
                best = pattern
        return best

    def lookup(self, code: str) -> tuple[Target, ...] | None:
        found = self._cache.get(code)
        if found is None:
            found = self._cache[code] = self._compute(code)
        return found

    def _compute(self, code: str) -> tuple[Target, ...]:
        who = _who()
        override = self.override_for(code)
        if override is not None and override.action == "same-code":
            exact = override.exactness == "exact"
            relation = f"{IDENTICAL if exact else SCOPE_DIFFERS} ({REVIEWED})"
            return (_who_target(code, exact, relation, who.description(code), override.reason),)
        if override is not None:
            if override.action == "no-who-equivalent":
                return (self._none(override.reason, relation=f"{NO_EQUIVALENT} ({OVERRIDE})"),)
            own = override.is_pattern or override.icd10cm.replace(".", "") == code.replace(".", "")
            out = []
            for raw in override.targets:
                target = who.normalize(raw)
                if target == code:
                    label = BROADER if override.exactness != "exact" else IDENTICAL
                elif _below(code, target):
                    label = TRUNCATED
                elif own and override.exactness == "exact":
                    label = EQUIVALENT
                else:
                    label = REDIRECTED
                exact = own and override.exactness == "exact"
                relation = f"{label} ({OVERRIDE})"
                out.append(
                    # an undefined target gets no title: the chain marks it retired
                    _who_target(target, exact, relation, _title(who, target), override.reason)
                )
            return tuple(out)
        undotted = code.replace(".", "")
        for cut in range(len(undotted), 2, -1):
            prefix = _coded(undotted[:cut])
            node = who.get(prefix)
            if node is None or node.kind in ("chapter", "block"):
                continue
            exact = cut == len(undotted)
            return (_who_target(node.code, exact, IDENTICAL if exact else TRUNCATED, node.title),)
        return (self._none(f"no prefix of {code} is defined in WHO ICD-10 {WHO_RELEASE}"),)

    def _none(self, note: str, relation: str = NO_EQUIVALENT) -> Target:
        return _target("icd10who", None, Exactness.NONE, relation, note=note)


class WhoToCm(Hop):
    """WHO ICD-10 → ICD-10-CM: the identical leaf, the CM leaf descendants (``narrower``), or the
    nearest CM code above (``broader``) — a WHO code is never dropped silently.

    In order:

    1. CM defines the WHO code: the code itself when it is a CM leaf (``identical``), else its CM
       leaf descendants as a candidate set (``narrower``, approximate), leaving out CM codes an
       override moves away from the WHO code and adding those an override sends to it.
    2. CM does not define it: the nearest WHO ancestor code that CM defines (``broader``,
       approximate: 1A40.0's WHO A09.9 → CM A09); when CM defines no ancestor code, the one CM
       category inside the WHO code's block when CM merged the block into a single category
       (WHO B23.8 in B20-B24 → CM B20 "HIV disease", ``broader``). CM codes that an override
       sends to the WHO code are added (WHO Y47.1 → CM T42.4X5-, adverse effect of
       benzodiazepines).
    3. Otherwise ``no-CM-equivalent`` with the reason.
    """

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
        cm = self._cm
        patterns = [o for o in self.forward.overrides.values() if o.is_pattern]
        for override in self.forward.overrides.values():
            if override.action != "map" or override.is_pattern:
                continue
            cm_code = cm.get(override.icd10cm)
            if cm_code is None:
                continue
            for target in override.targets:
                if not _below(cm_code.code, target):
                    out.setdefault(target, []).append(cm_code.code)
        leaves: dict[str, list[str]] = {}
        for pattern in patterns:
            category = pattern.icd10cm[:3]
            if category not in leaves:
                leaves[category] = self._leaves(category) if cm.get(category) else []
            for leaf in leaves[category]:
                if not _matches(pattern.icd10cm.replace(".", ""), leaf.replace(".", "")):
                    continue
                found = self.forward.override_for(leaf)
                if found is pattern and found.action == "map":
                    for target in found.targets:
                        out.setdefault(target, []).append(leaf)
        return out

    def _leaves(self, code: str) -> list[str]:
        cm = self._cm
        return [c for c in cm.descendants(code) if cm.is_leaf(c)]

    def _agrees(self, candidate: str, code: str) -> bool:
        """Whether the forward hop sends CM ``candidate`` to WHO ``code`` or below it."""
        return any(
            back.code is not None and (back.code == code or _below(back.code, code))
            for back in self.forward.lookup(candidate)
        )

    def _compute(self, code: str) -> tuple[Target, ...]:
        cm = self._cm
        node = cm.get(code)
        redirected = self._redirected_here.get(code, ())
        if node is None or node.kind in ("chapter", "block"):
            return self._climb(code, redirected)
        candidates = [code] if cm.is_leaf(code) else self._leaves(code)
        for extra in redirected:
            candidates.extend(self._leaves(extra) if not cm.is_leaf(extra) else [extra])
        candidates = list(dict.fromkeys(candidates))
        out = []
        for candidate in candidates:
            if not self._agrees(candidate, code):
                continue  # an override says this CM code is not (under) the WHO code
            back = self.forward.lookup(candidate)[0]
            exact = candidate == code and back.exactness == Exactness.EXACT
            out.append(self._target(candidate, _exactness(exact), IDENTICAL if exact else NARROWER))
        if not out:
            return (self._none(f"no ICD-10-CM code corresponds to WHO {code}"),)
        return tuple(out)

    def _climb(self, code: str, redirected: tuple[str, ...] | list[str]) -> tuple[Target, ...]:
        cm, who = self._cm, _who()
        out = [
            self._target(c, Exactness.APPROXIMATE, f"{REDIRECTED} ({OVERRIDE})") for c in redirected
        ]
        undotted = code.replace(".", "")
        for cut in range(len(undotted) - 1, 2, -1):
            ancestor = cm.get(_coded(undotted[:cut]))
            if ancestor is None or ancestor.kind in ("chapter", "block"):
                continue
            override = self.forward.override_for(ancestor.code)
            if override is not None and override.action == "no-who-equivalent":
                break  # the CM code of that string means something else
            out.append(
                self._target(
                    ancestor.code,
                    Exactness.APPROXIMATE,
                    BROADER,
                    f"ICD-10-CM does not define {code}; nearest CM code above it",
                )
            )
            return tuple(out)
        block = who.block(code) if who.get(code) is not None else None
        if block and "-" in block:
            first, last = block.split("-")
            inside = [
                c
                for c in cm.codes()
                if len(c) == 3 and first <= c <= last and cm.kind(c) == "category"
            ]
            if len(inside) == 1:
                out.append(
                    self._target(
                        inside[0],
                        Exactness.APPROXIMATE,
                        BROADER,
                        f"ICD-10-CM does not define {code}; CM has one category ({inside[0]}) "
                        f"for the whole WHO block {block}",
                    )
                )
        if out:
            return tuple(out)
        return (self._none(f"ICD-10-CM defines neither {code} nor a code above it"),)

    def _target(
        self, candidate: str, exactness: Exactness, relation: str, note: str | None = None
    ) -> Target:
        return _target(
            "icd10cm",
            candidate,
            exactness,
            relation,
            title=self._cm.description(candidate),
            note=note,
        )

    def _none(self, note: str) -> Target:
        return _target("icd10cm", None, Exactness.NONE, "no-CM-equivalent", note=note)


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
