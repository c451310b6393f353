"""Named lossy policies: how to cut the full target list down, explicitly.

The default, ``all``, keeps every target. Other policies are registered in :data:`POLICIES`;
each takes a :class:`~icdbridge.crosswalk.model.Mapping` and returns one with fewer targets and
a recomputed status.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from icdbridge.crosswalk.model import Exactness, Mapping, Target, status_of
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


def keep_all(mapping: Mapping) -> Mapping:
    """Every target (the default; lossless)."""
    return mapping


def keep_best(mapping: Mapping) -> Mapping:
    """The single best target by :func:`rank`; a combination is kept whole.

    When the best target belongs to a GEM combination scenario, the best target of every choice
    list of that scenario is kept, so the result is still a complete combination.
    """
    coded = [(rank(t, i), t) for i, t in enumerate(mapping.targets) if t.code is not None]
    if not coded:
        return mapping
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
    return replace(mapping, targets=kept, status=status_of(kept))


def keep_exact(mapping: Mapping) -> Mapping:
    """Only targets that are exact at every hop (a mapping with none becomes ``no-map``)."""
    if mapping.status in ("invalid-code", "not-in-release"):
        return mapping
    kept = tuple(
        t for t in mapping.targets if t.code is not None and t.path_exactness == Exactness.EXACT
    )
    return replace(mapping, targets=kept, status=status_of(kept))


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
