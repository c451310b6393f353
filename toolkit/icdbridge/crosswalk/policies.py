"""Named lossy policies: how to cut the full target list down, explicitly.

The default, ``all``, keeps every target. Other policies are registered in :data:`POLICIES`;
each takes a :class:`~icdbridge.crosswalk.model.Mapping` and returns one with fewer targets and
a recomputed status.

``best`` picks one target (or one whole GEM combination) by, in order:

1. **Unspecified source → unspecified target.** When the source is an unspecified or residual
   code (ICD-11 ``.Z``, a code ending in ``9`` after the dot, a title saying "unspecified" or
   "NOS": :func:`~icdbridge.crosswalk.similarity.is_unspecified`), targets that are themselves
   unspecified come first (BA00.Z essential hypertension, unspecified → ICD-9-CM 401.9, not
   401.0 malignant).
2. **Title similarity** of the target to the source
   (:func:`~icdbridge.crosswalk.similarity.title_similarity`, the drift audit's scorer), highest
   first (5A11 type 2 diabetes mellitus → 250.00 "diabetes mellitus without mention of
   complication, type II", not 250.20 "with hyperosmolarity"). Two ICD-10-CM axes ICD-9-CM
   lacks are left out of the target's title here (:func:`axes_of`; rule 4a decides on them):
   the encounter of a 7th-character extension ("initial encounter", "subsequent encounter",
   "sequela": when the patient is seen, not what the condition is) and the intent of a
   poisoning or toxic effect ("accidental (unintentional)", "intentional self-harm",
   "assault", "undetermined": ICD-9-CM states it in a separate E code).
3. :func:`rank`: exact > unknown > approximate, equivalent > unstated > subclass >
   superclass, non-residual, WHO's preferred choice, non-postcoordinated.
4. **The clinical default** (:func:`default_rank`) among targets still tied:

   a. *Encounter and intent.* An ICD-10-CM 7th-character extension for the initial encounter
      (``A``, ``B``, ``C``) comes first, as in the CMS GEMs (ICD-9-CM has no encounter axis and
      the GEMs map an injury to its initial encounter), unless the source's title says
      otherwise: "late effect(s)" or "sequela(e)" (ICD-9-CM 905–909, 438; WHO T90–T98) → the
      sequela extension ``S``; "aftercare" or "subsequent encounter" → a subsequent encounter
      (``D``, ``G``, ``K``, ...). 919.0 abrasion of multiple sites → T07 → T07.XXXA, not
      T07.XXXS. Likewise the accidental intent comes first (ICD-10-CM guideline I.C.19.e.5.b)
      unless the source says "suicide"/"self-inflicted", "assault"/"homicide" or
      "undetermined" (960.0 poisoning by penicillins → T36.0X1A, not T36.0X3A assault).
   b. *Unstated qualifiers.* Fewer plain title words of the target that the source's title
      does not have: a target asserting a qualifier the source does not state ("recurrent",
      "intractable", "bilateral") comes after one that leaves it unspecified ("unspecified
      eye"), denies it ("not specified as recurrent", "not intractable", "without ...") or
      says nothing more. A joined "non" states a value: "nondisplaced" asserts as much as
      "displaced" (and table order keeps ICD-10-CM's default, displaced, first).
   c. A target whose title says "unspecified", "NOS" or "not specified" before one that does
      not. (008.45 C. difficile intestinal infection → A04.7 → A04.72 "not specified as
      recurrent", not A04.71 "recurrent".)

5. Table order.

A table target the loaded release does not bill (a category followed by its billable leaf
codes, :attr:`~icdbridge.crosswalk.model.Target.not_billable`) is not a candidate while any
other target reaches a code: ``best`` picks among the leaf codes (and the other targets) by the
rules above — 276.2 acidosis → GEM E87.2 (a category since ICD-10-CM 2023) → E87.20 "Acidosis,
unspecified"; WHO A08.5 → CM A08 → A08.8 "Other specified intestinal infections".

The runner-up (the best target of another code, or of another combination scenario) is kept
in :attr:`~icdbridge.crosswalk.model.Mapping.runner_up` and shown in ``map_detail``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace

from icdbridge.crosswalk.model import Exactness, Mapping, Target, status_of
from icdbridge.crosswalk.similarity import NEGATED, coverages, is_unspecified, title_words
from icdbridge.errors import UnknownSystemError

_RELATION_RANK = {"Equivalent": 0, "identical": 0, None: 1, "Subclass": 2, "Superclass": 3}
"""Lower is better: equivalent > unstated > subclass > superclass > intersections/others."""


def rank(target: Target, position: int = 0) -> tuple:
    """Sort key of a target for ``best`` (rule 3): exact > unknown > approximate, equivalent >
    subclass, non-residual > residual, WHO's preferred choice first, non-postcoordinated first,
    then ``position`` (``best`` puts :func:`default_rank` before the table order)."""
    relations = [_RELATION_RANK.get((hop.relation or None), 4) for hop in target.hops]
    return (
        -int(target.path_exactness),
        max(relations),
        target.path_residual,
        not all(hop.preferred for hop in target.hops if hop.source.startswith("who-")),
        target.postcoordinated,
        position,
    )


def _status(mapping: Mapping, kept: tuple[Target, ...]) -> str:
    """Status after a policy: recomputed from the kept targets (a kept path through a
    non-billable category target or its leaf codes is ``category-expanded``); a category input
    stays ``category-expanded`` while it reaches a code."""
    status = status_of(kept)
    if mapping.expanded_from and status in ("mapped", "combination"):
        return "category-expanded"
    return status


def keep_all(mapping: Mapping) -> Mapping:
    """Every target (the default; lossless)."""
    return mapping


def _title(system: str, code: str | None, given: str | None = None) -> str:
    """Title of ``code`` in ``system``'s default release (``given`` first; ``""`` if unknown)."""
    from icdbridge.crosswalk.hops import title_of

    return given or title_of(system, code)


ENCOUNTERS = ("initial", "subsequent", "sequela")
"""Kinds of ICD-10-CM 7th-character extensions that say when the patient is seen."""

INTENTS = ("accidental", "self-harm", "assault", "undetermined")
"""Intents of ICD-10-CM poisoning, adverse-effect and toxic-effect codes (T36–T65)."""

_I = re.IGNORECASE
_ENCOUNTER_WORDS = re.compile(r"\b(?:(initial|subsequent) encounter|(sequela))\b", _I)
_INTENT_WORDS = re.compile(
    r",\s*(accidental|intentional self-harm|assault|undetermined)(?: \(unintentional\))?\s*(?=,|$)",
    _I,
)
_SOURCE_SAYS = {
    "encounter": (
        ("sequela", re.compile(r"\b(?:late effects?|sequelae?)\b", _I)),
        ("subsequent", re.compile(r"\b(?:aftercare|subsequent encounter)\b", _I)),
    ),
    "intent": (
        ("self-harm", re.compile(r"\b(?:suicide|self-inflicted|self-harm)\b", _I)),
        ("assault", re.compile(r"\b(?:assault|homicide|purposely inflicted)\b", _I)),
        ("undetermined", re.compile(r"\bundetermined\b", _I)),
    ),
}
_DEFAULT = {"encounter": "initial", "intent": "accidental"}
_UNSPECIFIED_WORD = re.compile(r"\bunspecified\s+\w+", _I)
"""A word an "unspecified" leaves open ("Sepsis, unspecified organism"): not asserted."""
_JOINED_NON = re.compile(r"\bnon-?(?=[a-z]{4})", _I)
"""``non`` joined to a word states a value ("nondisplaced"), unlike "not"/"without"/"no"."""
_NOT_SPECIFIED = re.compile(r"\bnot (?:otherwise )?specified\b", _I)


def axes_of(system: str, code: str | None, title: str) -> dict[str, str]:
    """The ICD-10-CM axes ICD-9-CM does not have that a target's title states: ``encounter``
    (a 7th-character extension, one of :data:`ENCOUNTERS`) and ``intent`` (one of
    :data:`INTENTS`). Empty for other systems and codes without them (a 7th character for a
    fetus or an eye is no encounter).

    Example:
        >>> axes_of("icd10cm", "T07.XXXS", "Unspecified multiple injuries, sequela")
        {'encounter': 'sequela'}
        >>> axes_of("icd10cm", "S42.001A", "..., initial encounter for closed fracture")
        {'encounter': 'initial'}
        >>> axes_of("icd10cm", "T36.0X3A", "Poisoning by penicillins, assault, initial encounter")
        {'encounter': 'initial', 'intent': 'assault'}
        >>> axes_of("icd10cm", "O31.8X10", "..., not applicable or unspecified")
        {}
    """
    if system != "icd10cm" or code is None:
        return {}
    out: dict[str, str] = {}
    if len(code.replace(".", "")) == 7 and (found := _ENCOUNTER_WORDS.search(title)):
        out["encounter"] = (found.group(1) or found.group(2)).lower()
    if found := _INTENT_WORDS.search(title):
        out["intent"] = found.group(1).lower().replace("intentional ", "")
    return out


def wanted(axis: str, source_title: str) -> str:
    """The value of ``axis`` a source implies (rule 4a).

    ``encounter``: ``sequela`` when the source's title says "late effect" or "sequela(e)",
    ``subsequent`` for "aftercare" or "subsequent encounter", else ``initial`` (the GEMs'
    convention for a source without an encounter axis). ``intent``: ``self-harm`` for
    "suicide", "self-inflicted"; ``assault`` for "assault", "homicide", "purposely
    inflicted"; ``undetermined``; else ``accidental`` (ICD-10-CM guideline I.C.19.e.5.b: an
    unknown or unspecified intent is coded accidental).

    Example:
        >>> wanted("encounter", "Late effect of fracture of skull and face bones")
        'sequela'
        >>> wanted("encounter", "Unspecified site injury")
        'initial'
        >>> wanted("intent", "Poisoning by penicillins")
        'accidental'
    """
    for kind, pattern in _SOURCE_SAYS[axis]:
        if pattern.search(source_title):
            return kind
    return _DEFAULT[axis]


def _compared_title(target: Target, title: str) -> str:
    """The target title as rules 2 and 4b compare it: without its encounter and intent words."""
    axes = axes_of(target.system, target.code, title)
    if "encounter" in axes:
        title = _ENCOUNTER_WORDS.sub(" ", title)
    if "intent" in axes:
        title = _INTENT_WORDS.sub(" ", title)
    return title


def meaning_rank(mapping: Mapping, target: Target) -> tuple[bool, float, float]:
    """Sort key of a target by meaning: unspecified-for-unspecified first, then title similarity
    to the source (higher first; ties: the higher mean of the two word coverages, i.e. fewer
    words the source does not have; a 7th character's encounter words left out). See the
    module docstring."""
    source_title = _title(mapping.source_system, mapping.code)
    target_title = _title(target.system, target.code, target.title)
    unspecified_source = mapping.code is not None and is_unspecified(mapping.code, source_title)
    mismatch = unspecified_source and not is_unspecified(target.code or "", target_title)
    compared = _compared_title(target, target_title)
    cover = coverages(source_title, compared) if source_title else (0.0, 0.0)
    return mismatch, -round(min(cover), 6), -round(sum(cover) / 2, 6)


def _plain(title: str) -> str:
    """A title as rule 4b counts its words: "unspecified X" left out, "nonX" read as "X"."""
    return _JOINED_NON.sub("", _UNSPECIFIED_WORD.sub(" ", title))


def default_rank(mapping: Mapping, target: Target) -> tuple[int, int, bool]:
    """Sort key of targets the other rules leave tied: the clinical default (rule 4).

    Returns:
        ``(wrong axes, qualifiers asserted, not unspecified)``, lower first: how many of the
        target's encounter and intent (:func:`axes_of`) differ from what the source implies
        (:func:`wanted`); the
        number of plain title words of the target the source's title lacks (not negated by
        "not"/"without"/"no", not the word right after "unspecified": "Sepsis, unspecified
        organism" asserts one word, as "Other specified sepsis" does; "nondisplaced" asserts
        "displaced" as "displaced" does); and
        whether the target's title does not say "unspecified", "NOS" or "not specified".

    Example:
        >>> from icdbridge.crosswalk import map_code
        >>> mapping = map_code("008.45", "icd9cm", "icd10cm")
        >>> [(t.code, default_rank(mapping, t)) for t in mapping.targets[1:]]
        [('A04.71', (0, 2, True)), ('A04.72', (0, 1, False))]
    """
    source_title = _title(mapping.source_system, mapping.code)
    target_title = _title(target.system, target.code, target.title)
    wrong = sum(
        value != wanted(axis, source_title)
        for axis, value in axes_of(target.system, target.code, target_title).items()
    )
    source_words = title_words(source_title)
    asserted = sum(
        1
        for word in title_words(_plain(_compared_title(target, target_title)))
        if not word.startswith(NEGATED) and word not in source_words
    )
    says_unspecified = is_unspecified("", target_title) or bool(_NOT_SPECIFIED.search(target_title))
    return wrong, asserted, not says_unspecified


def keep_best(mapping: Mapping) -> Mapping:
    """The single best target (see the module docstring); a combination is kept whole.

    When the best target belongs to a GEM combination scenario, the best target of every choice
    list of that scenario is kept, so the result is still a complete combination. The best
    target not kept is the mapping's :attr:`~icdbridge.crosswalk.model.Mapping.runner_up`.
    """
    coded = [
        ((*meaning_rank(mapping, t), *rank(t), *default_rank(mapping, t), i), t)
        for i, t in enumerate(mapping.targets)
        if t.code is not None
    ]
    if not coded:
        return mapping
    billable = [pair for pair in coded if not pair[1].not_billable]
    coded = billable or coded  # a category the release does not bill: pick among its leaves
    coded.sort(key=lambda pair: pair[0])
    best = coded[0][1]
    group = best.group
    if group is None:
        kept: tuple[Target, ...] = (best,)
    else:
        per_choice: dict[int, Target] = {}
        for _, target in coded:
            other = target.group
            if other is not None and other[0] == group[0]:
                per_choice.setdefault(other[1], target)
        kept = tuple(per_choice[c] for c in sorted(per_choice))
    codes = {t.code for t in kept}
    runner_up = next((t for _, t in coded if t.code not in codes), None)
    return replace(mapping, targets=kept, status=_status(mapping, kept), runner_up=runner_up)


def keep_exact(mapping: Mapping) -> Mapping:
    """Only targets that are exact at every hop (a mapping with none becomes ``no-map``)."""
    if mapping.status in ("invalid-code", "not-in-release"):
        return mapping
    kept = tuple(
        t for t in mapping.targets if t.code is not None and t.path_exactness == Exactness.EXACT
    )
    return replace(mapping, targets=kept, status=_status(mapping, kept))


POLICIES: dict[str, Callable[[Mapping], Mapping]] = {
    "all": keep_all,
    "best": keep_best,
    "exact": keep_exact,
}
"""Policy name → function ``Mapping → Mapping``."""


def get_policy(name: str) -> Callable[[Mapping], Mapping]:
    """The policy called ``name``.

    Raises:
        UnknownSystemError: unknown policy name.
    """
    try:
        return POLICIES[name]
    except KeyError:
        known = ", ".join(POLICIES)
        raise UnknownSystemError(f"unknown policy {name!r} (expected one of: {known})") from None
