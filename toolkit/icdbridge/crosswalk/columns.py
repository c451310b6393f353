"""The columns a migrated dataset gets, from each :class:`Mapping` (one home for all engines).

One vocabulary for what happened and one for how exactly (documented in ``docs/crosswalks.md``,
"Glossary"):

* ``map_status`` — what happened to the code (:data:`~icdbridge.crosswalk.model.STATUSES`):
  ``mapped``, ``combination``, ``category-expanded``, ``retired-in-target``, ``no-map``,
  ``invalid-code``, ``not-in-release``;
* ``map_targets`` — target codes (a list; in CSV/TSV joined with ``;``), or ``map_target`` with
  ``explode``;
* ``map_exactness`` — how exactly the best path reaches the target
  (:data:`~icdbridge.crosswalk.model.EXACTNESS_CLASSES`): ``exact``, ``unknown`` (the table
  states no relation), ``approximate``, ``residual-only`` (every code reached is a residual
  "other"/"unspecified" category), ``none``;
* ``map_target_titles`` — the titles of ``map_targets``, in the same order, joined by
  :data:`TITLE_SEPARATOR` (``map_target_title`` with ``explode``); empty cells with
  ``MappingColumns(titles=False)``;
* ``map_detail`` — every path with its provenance, GEM flags spelled out, and after the ``best``
  policy the runner-up.
"""

from __future__ import annotations

from icdbridge.crosswalk.hops import title_of
from icdbridge.crosswalk.model import Mapping, Target

ADDED = ("map_status", "map_targets", "map_exactness", "map_target_titles", "map_detail")
ADDED_EXPLODED = (
    "map_status",
    "map_target",
    "map_target_title",
    "map_target_exactness",
    "map_combination",
    "map_exactness",
    "map_detail",
)
TITLE_SEPARATOR = " | "
"""Between the titles of several targets in ``map_target_titles``."""

GEM_FLAGS = ("approximate", "no map", "combination", "scenario", "choice list")
"""Meaning of the five GEM flag digits, in file order."""


def gem_flags_text(flags: str | None) -> str:
    """The five GEM flags spelled out: ``10111`` → ``approximate, combination, scenario 1,
    choice list 1``; ``00000`` → ``exact (flags 00000)``.

    Example:
        >>> gem_flags_text("10000")
        'approximate'
        >>> gem_flags_text("11000")
        'approximate, no map'
    """
    if not flags or len(flags) != 5:
        return flags or ""
    approximate, no_map, combination, scenario, choice = flags
    words = []
    if approximate == "1":
        words.append("approximate")
    if no_map == "1":
        words.append("no map")
    if combination == "1":
        words.append(f"combination, scenario {scenario}, choice list {choice}")
    return ", ".join(words) if words else "exact"


class MappingColumns:
    """Output cells of a mapping, computed once per distinct Mapping object.

    The one place that turns a :class:`~icdbridge.crosswalk.model.Mapping` into the columns a
    migrated dataset gets (:data:`ADDED`, or :data:`ADDED_EXPLODED` with one row per target),
    shared by every file format and engine.

    Args:
        titles: Fill the target-title columns (default); ``False`` leaves them empty.
    """

    def __init__(self, titles: bool = True) -> None:
        self.titles = titles
        self._cache: dict[int, tuple] = {}
        self._keep: list[Mapping] = []

    def row(self, mapping: Mapping) -> tuple[str, list[str], str, str, str]:
        """Cells of :data:`ADDED` for one mapping (targets as a list)."""
        found = self._cache.get(id(mapping))
        if found is None:
            codes = mapping.codes
            found = (
                mapping.status,
                codes,
                mapping.outcome,
                TITLE_SEPARATOR.join(_titles(mapping, codes)) if self.titles else "",
                detail(mapping),
            )
            self._cache[id(mapping)] = found
            self._keep.append(mapping)  # keep ids valid
        return found

    def exploded(self, mapping: Mapping) -> list[tuple[str, str | None, str, str, str, str, str]]:
        """Cells of :data:`ADDED_EXPLODED`, one tuple per coded target (one row if none)."""
        key = -id(mapping)
        found = self._cache.get(key)
        if found is None:
            coded = [t for t in mapping.targets if t.code is not None]
            if not coded:
                found = [(mapping.status, None, "", "none", "", mapping.outcome, detail(mapping))]
            else:
                found = [
                    (
                        mapping.status,
                        t.code,
                        (t.title or title_of(t.system, t.code)) if self.titles else "",
                        t.path_exactness.label,
                        "" if t.group is None else f"{t.group[0]}.{t.group[1]}",
                        mapping.outcome,
                        path_text(t),
                    )
                    for t in coded
                ]
            self._cache[key] = found
            self._keep.append(mapping)
        return found


def _titles(mapping: Mapping, codes: list[str]) -> list[str]:
    first: dict[str, str] = {}
    for target in mapping.targets:
        if target.code is not None and target.code not in first:
            first[target.code] = target.title or title_of(target.system, target.code)
    return [first.get(code, "") for code in codes]


def hop_text(hop: Target) -> str:
    """One hop, readable: ``A41.9 "Sepsis, unspecified organism" [approximate (GEM flags
    10000: approximate), cms-gem-2018 2018]``."""
    bits = [hop.exactness.label]
    if hop.flags:
        bits[0] += f" (GEM flags {hop.flags}: {gem_flags_text(hop.flags)})"
    if hop.relation:
        bits.append(hop.relation)
    if hop.residual:
        bits.append("residual")
    if hop.postcoordinated:
        bits.append("postcoordinated")
    if hop.note and (hop.retired or hop.note.startswith(("successor", "category"))):
        bits.append(hop.note)
    bits.append(f"{hop.source} {hop.release}")
    if hop.code is None:
        return f"no code ({hop.title or hop.note}) [{', '.join(bits)}]"
    name = hop.title or title_of(hop.system, hop.code)
    title = f' "{name}"' if name else ""
    return f"{hop.code}{title} [{', '.join(bits)}]"


def path_text(target: Target) -> str:
    """``A41.9 [...] > 1G40 [...]`` for one path, every hop readable (:func:`hop_text`)."""
    return " > ".join(hop_text(hop) for hop in target.hops)


def detail(mapping: Mapping) -> str:
    """Every path of a mapping, ``" | "``-separated (or why there is none), and the runner-up
    a lossy policy left out."""
    if not mapping.targets:
        return mapping.status
    text = " | ".join(path_text(t) for t in mapping.targets)
    if mapping.expanded_from:
        text = f"category expanded through {mapping.expanded_from} descendants: {text}"
    if mapping.runner_up is not None:
        text += f" || runner-up: {path_text(mapping.runner_up)}"
    return text
