"""The mapping result model: one source code → every target, with provenance and exactness.

A :class:`Mapping` is what every crosswalk returns for one code. It holds **all** targets (a lossy
choice is a :mod:`~icdbridge.crosswalk.policies` policy applied afterwards, never a default). Each
:class:`Target` describes the last hop that produced it (table, release, GEM flags or WHO
relation, match type, residual, postcoordination, combination group) and keeps the earlier hops
of a chained mapping in :attr:`Target.via`, so the whole path can be shown.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import IntEnum


class Exactness(IntEnum):
    """How exactly a target represents its source; ordered so that ``min`` is the weakest hop.

    ``UNKNOWN`` means the table states no relation (the WHO 2024 tables dropped the Relation
    column): the target may or may not be exact. Combined with a weaker hop the weaker one wins;
    combined with an exact hop the result stays unknown.
    """

    NONE = 0
    """No code is reached (no map, uncoded grouping, no WHO equivalent)."""
    APPROXIMATE = 1
    """The table says the match is approximate (GEM flag, Subclass/Superclass, truncation)."""
    UNKNOWN = 2
    """The table reaches a code but states no relation."""
    EXACT = 3
    """Identical meaning (GEM non-approximate, WHO ``Equivalent``, identical code)."""

    @property
    def label(self) -> str:
        """Lower-case name used in files and reports (``exact``, ``approximate``...)."""
        return self.name.lower()


STATUSES = (
    "mapped",
    "combination",
    "category-expanded",
    "retired-in-target",
    "no-map",
    "invalid-code",
    "not-in-release",
)
"""Row statuses: *what happened* to a code (how exactly is :attr:`Mapping.outcome`).

* ``mapped`` — at least one target code reached;
* ``combination`` — a target belongs to a GEM combination (all its parts are needed);
* ``category-expanded`` — a category / non-billable code met on the way: either the input is
  one the table does not list (it was mapped through its descendants and the targets are their
  union, a candidate set, :attr:`Mapping.expanded_from` descendants), or a table target in a
  system whose codes must be billable leaves (ICD-10-CM, ICD-9-CM) is a category in the loaded
  release (kept, marked :data:`NOT_BILLABLE`, and followed by its billable leaf codes as a
  candidate set, see :mod:`icdbridge.crosswalk.successors`);
* ``retired-in-target`` — a table target is not defined in the loaded target release (checked
  at every hop; its successors are offered where the terminology or the curated table knows
  them, see :mod:`icdbridge.crosswalk.successors`);
* ``no-map`` — the code is defined but no target code is reached (the targets say why);
* ``invalid-code`` — bad syntax, empty or null;
* ``not-in-release`` — valid syntax, but neither the first table nor the source release
  defines it.
"""

EXACTNESS_CLASSES = ("exact", "unknown", "approximate", "residual-only", "none")
"""Values of :attr:`Mapping.outcome` (the ``map_exactness`` column): how exactly the target is
reached, see :attr:`Mapping.outcome`."""

RETIRED = "retired-in-target"
"""Note prefix of a target the loaded target release no longer defines."""

CATEGORY = "category-expanded"
"""Status of a mapping that met a category / non-billable code (input or table target)."""

NOT_BILLABLE = f"{CATEGORY}: not billable"
"""Note prefix of a table target the loaded release defines as a category, not a billable leaf
(in a system whose codes must be billable: ICD-10-CM, ICD-9-CM); its leaf codes follow it."""

BILLABLE_LEAF = f"{CATEGORY}: billable leaf"
"""Note prefix of a billable leaf code offered for a :data:`NOT_BILLABLE` target."""


@dataclass(frozen=True, slots=True)
class Target:
    """One target of a source code, described by the (last) hop that produced it.

    Attributes:
        code: Canonical target code, or ``None`` when the hop reaches no code (GEM ``NoDx``, a
            WHO mapping to an uncoded grouping or chapter, a CM code without WHO equivalent).
        system: Target code system id.
        exactness: Exactness of this hop alone.
        source: Id of the source table (a manifest name in ``mappings/``).
        release: Release of the source table that produced the row.
        relation: Relation stated by the table (WHO ``Equivalent``/``Subclass``/..., or the
            CM→WHO label ``identical``/``truncated-to-parent``/...); ``None`` when not stated.
        flags: The five GEM flags as the 5-character string of the file (``"10111"``).
        match_type: WHO ``Match Type`` (2020 tables), e.g. ``ToBroaderInTheSameBlock``.
        residual: The target is a residual category (ICD-11 ``/unspecified`` or ``/other``).
        postcoordinated: The target is a postcoordinated ICD-11 cluster (``&`` or ``/``).
        scenario: GEM combination scenario (0 when not a combination).
        choice_list: GEM choice list within the scenario (0 when not a combination).
        title: Title of the target as given by the table (for groupings without a code, the
            grouping's title).
        note: Free-text provenance detail (override reason, "no code: uncoded grouping" ...).
        preferred: WHO marks this target as the single best one (``MapToOneCategory`` table).
        uri: The target's linearization URI where the table gives one (WHO ICD-11 tables): it
            finds the successor of a code the loaded release no longer defines.
        via: Earlier hops of a chained mapping, first hop first (empty for a direct mapping).
    """

    code: str | None
    system: str
    exactness: Exactness
    source: str
    release: str
    relation: str | None = None
    flags: str | None = None
    match_type: str | None = None
    residual: bool = False
    postcoordinated: bool = False
    scenario: int = 0
    choice_list: int = 0
    title: str | None = None
    note: str | None = None
    preferred: bool = False
    uri: str | None = None
    via: tuple[Target, ...] = field(default=(), compare=False)

    @property
    def is_combination(self) -> bool:
        """Whether this target (or an earlier hop of it) belongs to a GEM combination."""
        return self.scenario > 0 or any(hop.scenario > 0 for hop in self.via)

    @property
    def group(self) -> tuple[int, int] | None:
        """``(scenario, choice_list)`` of the first combination hop on the path, or ``None``."""
        for hop in (*self.via, self):
            if hop.scenario > 0:
                return hop.scenario, hop.choice_list
        return None

    @property
    def hops(self) -> tuple[Target, ...]:
        """Every hop of the path, first hop first, this target last."""
        return (*self.via, self)

    @property
    def path_exactness(self) -> Exactness:
        """End-to-end exactness: the weakest hop of the path."""
        return min(hop.exactness for hop in self.hops)

    @property
    def retired(self) -> bool:
        """Whether this target's code is not defined in the loaded target release."""
        return bool(self.note) and self.note.startswith(RETIRED)

    @property
    def not_billable(self) -> bool:
        """Whether this target is a category the loaded release does not bill (its billable
        leaf codes follow it as candidates, see :data:`NOT_BILLABLE`)."""
        return bool(self.note) and self.note.startswith(NOT_BILLABLE)

    @property
    def category_expanded(self) -> bool:
        """Whether some hop of the path is a non-billable category target or one of the
        billable leaf codes offered for it."""
        return any(bool(hop.note) and hop.note.startswith(f"{CATEGORY}:") for hop in self.hops)

    @property
    def path_residual(self) -> bool:
        """Whether any hop of the path lands on a residual category."""
        return any(hop.residual for hop in self.hops)

    def describe(self) -> str:
        """Short one-line description: ``code [exactness, relation/flags, source release]``."""
        bits = [self.exactness.label]
        if self.relation:
            bits.append(self.relation)
        if self.flags:
            bits.append(f"flags {self.flags}")
        if self.scenario:
            bits.append(f"combination {self.scenario}.{self.choice_list}")
        if self.residual:
            bits.append("residual")
        if self.postcoordinated:
            bits.append("postcoordinated")
        bits.append(f"{self.source} {self.release}")
        if self.retired or (self.note or "").startswith(f"{CATEGORY}:"):
            bits.append(str(self.note))
        code = self.code if self.code is not None else f"no code ({self.title or self.note})"
        return f"{code} [{', '.join(bits)}]"

    def to_dict(self) -> dict[str, object]:
        """JSON-ready dict of this hop (``via`` as a list of dicts)."""
        out: dict[str, object] = {
            "code": self.code,
            "system": self.system,
            "exactness": self.exactness.label,
            "source": self.source,
            "release": self.release,
            "relation": self.relation,
            "flags": self.flags,
            "match_type": self.match_type,
            "residual": self.residual,
            "postcoordinated": self.postcoordinated,
            "scenario": self.scenario,
            "choice_list": self.choice_list,
            "title": self.title,
            "note": self.note,
            "preferred": self.preferred,
        }
        if self.uri:
            out["uri"] = self.uri
        if self.via:
            out["via"] = [hop.to_dict() for hop in self.via]
            out["path_exactness"] = self.path_exactness.label
        return out

    def chained(self, via: tuple[Target, ...]) -> Target:
        """This target with earlier hops ``via`` prepended to its path."""
        return replace(self, via=(*via, *self.via))


@dataclass(frozen=True, slots=True)
class Mapping:
    """Every target of one source code, and what happened to it.

    Attributes:
        source_code: The input as given (its text), whichever call mapped it first (``map`` or
            ``map_many``): ``0389`` stays ``0389`` although it shares ``038.9``'s targets.
        code: Canonical form of the source code (``None`` when the syntax is invalid).
        source_system: Source code system id.
        target_system: Target code system id.
        targets: All targets (including code-less ones that explain a no-map), in table order.
        status: One of :data:`STATUSES`.
        hop_reach: For each hop of the chain, the best exactness of any path that reached that
            hop with a code (``Exactness.NONE`` when the chain died before or at that hop).
        systems: The systems of the chain, source first, target last.
        runner_up: After a lossy policy (``best``), the best target it left out (shown in
            ``map_detail``); ``None`` otherwise.
        expanded_from: For a category (non-leaf) input mapped through its descendants
            (status ``category-expanded``), how many descendant codes were mapped; 0 otherwise.
    """

    source_code: str
    code: str | None
    source_system: str
    target_system: str
    targets: tuple[Target, ...]
    status: str
    hop_reach: tuple[Exactness, ...] = ()
    systems: tuple[str, ...] = ()
    runner_up: Target | None = None
    expanded_from: int = 0

    @property
    def codes(self) -> list[str]:
        """Distinct target codes, first occurrence order (code-less targets left out)."""
        return list(dict.fromkeys(t.code for t in self.targets if t.code is not None))

    @property
    def coded_targets(self) -> tuple[Target, ...]:
        """Targets that reach a code."""
        return tuple(t for t in self.targets if t.code is not None)

    @property
    def exactness(self) -> Exactness:
        """Best end-to-end exactness over all targets (``NONE`` when no code is reached)."""
        return max((t.path_exactness for t in self.coded_targets), default=Exactness.NONE)

    @property
    def outcome(self) -> str:
        """Report class: ``exact``, ``unknown``, ``approximate``, ``residual-only`` or ``none``.

        ``residual-only`` means every code reached is a residual (``/unspecified``, ``/other``)
        category; ``unknown`` means codes are reached but no table along the way states whether
        exactly.
        """
        coded = self.coded_targets
        if not coded:
            return "none"
        if all(t.path_residual for t in coded):
            return "residual-only"
        return self.exactness.label

    def combinations(self) -> dict[tuple[int, int], list[Target]]:
        """Targets grouped by GEM combination ``(scenario, choice_list)``."""
        groups: dict[tuple[int, int], list[Target]] = {}
        for target in self.targets:
            group = target.group
            if group is not None:
                groups.setdefault(group, []).append(target)
        return groups

    def scenarios(self) -> dict[int, dict[int, list[Target]]]:
        """Combination scenarios: scenario → choice list → targets (one scenario is one group)."""
        out: dict[int, dict[int, list[Target]]] = {}
        for (scenario, choice), targets in self.combinations().items():
            out.setdefault(scenario, {})[choice] = targets
        return out

    def to_dict(self) -> dict[str, object]:
        """JSON-ready dict of the whole mapping."""
        return {
            "source_code": self.source_code,
            "code": self.code,
            "from": self.source_system,
            "to": self.target_system,
            "status": self.status,
            "outcome": self.outcome,
            "exactness": self.exactness.label,
            "systems": list(self.systems),
            "hop_reach": [e.label for e in self.hop_reach],
            "targets": [t.to_dict() for t in self.targets],
            **({"runner_up": self.runner_up.to_dict()} if self.runner_up is not None else {}),
            **({"descendants_mapped": self.expanded_from} if self.expanded_from else {}),
        }


def status_of(targets: tuple[Target, ...]) -> str:
    """Row status of a defined source code from its targets (see :data:`STATUSES`).

    ``retired-in-target`` when a table target is not defined in the loaded target release;
    else ``no-map`` when no code is reached; else ``category-expanded`` when a path passes a
    non-billable category target or one of its billable leaf codes; else ``combination`` when a
    coded target belongs to a GEM combination; else ``mapped``. How exactly:
    :attr:`Mapping.outcome`.
    """
    if any(t.retired for t in targets):
        return RETIRED
    coded = [t for t in targets if t.code is not None]
    if not coded:
        return "no-map"
    if any(t.category_expanded for t in coded):
        return CATEGORY
    if any(t.is_combination for t in coded):
        return "combination"
    return "mapped"
