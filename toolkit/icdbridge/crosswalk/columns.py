"""The columns a migrated dataset gets, from each :class:`Mapping` (one home for all engines).

* ``map_status`` — ``mapped``, ``approximate``, ``combination``, ``no-map``, ``invalid-code``,
  ``not-in-release`` (see :func:`icdbridge.crosswalk.model.status_of`);
* ``map_targets`` — target codes (a list; in CSV/TSV joined with ``;``), or ``map_target`` with
  ``explode``;
* ``map_exactness`` — best end-to-end exactness (``exact``, ``unknown``, ``approximate``, ``none``);
* ``map_outcome`` — ``exact``, ``unknown``, ``approximate``, ``residual-only``, ``none``;
* ``map_detail`` — every path with its provenance, human-readable.
"""

from __future__ import annotations

from icdbridge.crosswalk.model import Mapping, Target

ADDED = ("map_status", "map_targets", "map_exactness", "map_outcome", "map_detail")
ADDED_EXPLODED = (
    "map_status",
    "map_target",
    "map_target_exactness",
    "map_combination",
    "map_outcome",
    "map_detail",
)


class MappingColumns:
    """Output cells of a mapping, computed once per distinct Mapping object.

    The one place that turns a :class:`~icdbridge.crosswalk.model.Mapping` into the columns a
    migrated dataset gets (:data:`ADDED`, or :data:`ADDED_EXPLODED` with one row per target),
    shared by every file format and engine.
    """

    def __init__(self) -> None:
        self._cache: dict[int, tuple] = {}

    def row(self, mapping: Mapping) -> tuple[str, list[str], str, str, str]:
        """Cells of :data:`ADDED` for one mapping (targets as a list)."""
        found = self._cache.get(id(mapping))
        if found is None:
            found = (
                mapping.status,
                mapping.codes,
                mapping.exactness.label,
                mapping.outcome,
                detail(mapping),
            )
            self._cache[id(mapping)] = found
            self._keep = getattr(self, "_keep", [])
            self._keep.append(mapping)  # keep ids valid
        return found

    def exploded(self, mapping: Mapping) -> list[tuple[str, str | None, str, str, str, str]]:
        """Cells of :data:`ADDED_EXPLODED`, one tuple per coded target (one row if none)."""
        key = -id(mapping)
        found = self._cache.get(key)
        if found is None:
            coded = [t for t in mapping.targets if t.code is not None]
            if not coded:
                found = [(mapping.status, None, "none", "", mapping.outcome, detail(mapping))]
            else:
                found = [
                    (
                        mapping.status,
                        t.code,
                        t.path_exactness.label,
                        "" if t.group is None else f"{t.group[0]}.{t.group[1]}",
                        mapping.outcome,
                        path_text(t),
                    )
                    for t in coded
                ]
            self._cache[key] = found
            self._keep = getattr(self, "_keep", [])
            self._keep.append(mapping)
        return found


def path_text(target: Target) -> str:
    """``A41.9 [approximate, flags 10000] > 1G40 [unknown]`` for one path."""
    return " > ".join(hop.describe() for hop in target.hops)


def detail(mapping: Mapping) -> str:
    """Every path of a mapping, ``" | "``-separated (or why there is none)."""
    if not mapping.targets:
        return mapping.status
    return " | ".join(path_text(t) for t in mapping.targets)
