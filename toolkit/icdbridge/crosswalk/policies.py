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
   complication, type II", not 250.20 "with hyperosmolarity").
3. Then :func:`rank`: exact > unknown > approximate, equivalent > unstated > subclass >
   superclass, non-residual, WHO's preferred choice, non-postcoordinated, table order.

A table target the loaded release does not bill (a category followed by its billable leaf
codes, :attr:`~icdbridge.crosswalk.model.Target.not_billable`) is not a candidate while any
other target reaches a code: ``best`` picks among the leaf codes (and the other targets) by the
rules above — 276.2 acidosis → GEM E87.2 (a category since ICD-10-CM 2023) → E87.20 "Acidosis,
unspecified"; WHO A08.5 → CM A08 → A08.8 "Other specified intestinal infections". Leaves that
score alike go by table order (008.45 → A04.71 "recurrent", not A04.72 "not specified as
recurrent").

The runner-up (the best target of another code, or of another combination scenario) is kept
in :attr:`~icdbridge.crosswalk.model.Mapping.runner_up` and shown in ``map_detail``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from icdbridge.crosswalk.model import Exactness, Mapping, Target, status_of
from icdbridge.crosswalk.similarity import coverages, is_unspecified
from icdbridge.errors import UnknownSystemError

_RELATION_RANK = {"Equivalent": 0, "identical": 0, None: 1, "Subclass": 2, "Superclass": 3}
"""Lower is better: equivalent > unstated > subclass > superclass > intersections/others."""


def rank(target: Target, position: int = 0) -> tuple:
    """Sort key of a target for ``best``: exact > unknown > approximate, equivalent > subclass,
    non-residual > residual, WHO's preferred choice first, non-postcoordinated first, then
    table order."""
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


def meaning_rank(mapping: Mapping, target: Target) -> tuple[bool, float, float]:
    """Sort key of a target by meaning: unspecified-for-unspecified first, then title similarity
    to the source (higher first; ties: the higher mean of the two word coverages, i.e. fewer
    words the source does not have). See the module docstring."""
    source_title = _title(mapping.source_system, mapping.code)
    target_title = _title(target.system, target.code, target.title)
    unspecified_source = mapping.code is not None and is_unspecified(mapping.code, source_title)
    mismatch = unspecified_source and not is_unspecified(target.code or "", target_title)
    cover = coverages(source_title, target_title) if source_title else (0.0, 0.0)
    return mismatch, -round(min(cover), 6), -round(sum(cover) / 2, 6)


def keep_best(mapping: Mapping) -> Mapping:
    """The single best target (see the module docstring); a combination is kept whole.

    When the best target belongs to a GEM combination scenario, the best target of every choice
    list of that scenario is kept, so the result is still a complete combination. The best
    target not kept is the mapping's :attr:`~icdbridge.crosswalk.model.Mapping.runner_up`.
    """
    coded = [
        ((*meaning_rank(mapping, t), *rank(t, i)), t)
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
