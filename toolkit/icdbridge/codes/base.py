"""The common interface of every code system: a release-pinned hierarchy of nodes.

A terminology is a tree ``ROOT → chapter → block(s) → category → subcategories``. Each node has a
canonical id (dotted codes such as ``E11.9`` or ``250.00``; block ranges such as ``E08-E13``;
chapter ids as the source names them), a title, a kind, optional synonyms and a parent.

Three questions are kept apart, as in R's ``icd`` package:

* :meth:`Terminology.is_valid_syntax` — could this string be a code of the system at all?
* :meth:`Terminology.is_defined` — does the pinned release define it?
* :meth:`Terminology.is_leaf` — is it a leaf (billable / most specific) code?

Every public method normalises its argument first (:meth:`Terminology.normalize`), so ``e119``,
``E11.9`` and `` E11.9 `` are the same code everywhere.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, ClassVar

from icdbridge.errors import InvalidCodeError, NotDefinedError

if TYPE_CHECKING:
    import networkx as nx

    from icdbridge.codes.fuzzy import Vocabulary

ROOT = "ROOT"
"""Id of the synthetic root node of every hierarchy graph."""

GROUPING_KINDS = frozenset({"chapter", "block"})
"""Node kinds that group codes but are not codes themselves."""

_WORD = re.compile(r"[a-z0-9]+")


@dataclass(frozen=True, slots=True)
class Node:
    """One node of a terminology hierarchy.

    Attributes:
        code: Canonical id (normalised, dotted for codes).
        title: Preferred description.
        kind: ``"chapter"``, ``"block"``, ``"category"``, ``"subcategory"`` or a system-specific
            kind (ICD-11 ``"extension"``...).
        parent: Canonical id of the parent, ``None`` for chapters (whose parent is :data:`ROOT`).
        synonyms: Inclusion terms and alternative labels.
        leaf: Whether the node is a leaf/billable code; ``None`` means "has no children".
        extra: System-specific attributes (e.g. ICD-11 ``is_residual``).
    """

    code: str
    title: str
    kind: str
    parent: str | None
    synonyms: tuple[str, ...] = ()
    leaf: bool | None = None
    extra: dict[str, object] = field(default_factory=dict, compare=False, hash=False)


@dataclass(frozen=True, slots=True)
class _Index:
    nodes: dict[str, Node]
    children: dict[str, list[str]]
    order: dict[str, int]


class Terminology(ABC):
    """A release-pinned code system with its hierarchy.

    Subclasses set :attr:`system`, :attr:`name`, :attr:`releases`, :attr:`default_release`, and
    implement :meth:`_canonical` (syntax) and :meth:`_load_nodes` (the source reader). Nodes are
    read on first use and cached on the instance; instances are cached by
    :func:`icdbridge.codes.get_terminology`.

    Args:
        release: Release id (one of :attr:`releases`); ``None`` takes :attr:`default_release`.
    """

    system: ClassVar[str]
    name: ClassVar[str]
    releases: ClassVar[dict[str, str]]
    """Release id → human-readable description of the release and its source."""
    default_release: ClassVar[str]
    example: ClassVar[str] = ""
    """An example code, used in error messages."""

    def __init__(self, release: str | None = None) -> None:
        from icdbridge.errors import UnknownSystemError

        release = self.default_release if release is None else str(release)
        if release not in self.releases:
            known = ", ".join(sorted(self.releases))
            raise UnknownSystemError(
                f"unknown {self.name} release {release!r} (known releases: {known})"
            )
        self.release = release

    def __repr__(self) -> str:
        return f"{type(self).__name__}(release={self.release!r})"

    # ----------------------------------------------------------------- subclass hooks
    @abstractmethod
    def _canonical(self, compact: str) -> str | None:
        """Return the canonical form of an upper-cased, whitespace-free string, or ``None``."""

    @abstractmethod
    def _load_nodes(self) -> Iterable[Node]:
        """Yield every node of the release, parents before or after children (any order)."""

    # ----------------------------------------------------------------- index
    @cached_property
    def _index(self) -> _Index:
        nodes: dict[str, Node] = {}
        for node in self._load_nodes():
            nodes[node.code] = node
        children: dict[str, list[str]] = {ROOT: []}
        for node in nodes.values():
            children.setdefault(node.code, [])
            parent = ROOT if node.parent is None else node.parent
            children.setdefault(parent, []).append(node.code)
        order = {code: i for i, code in enumerate(nodes)}
        return _Index(nodes=nodes, children=children, order=order)

    # ----------------------------------------------------------------- normalisation
    def normalize(self, code: str) -> str:
        """Return the canonical (dotted, upper-case) form of ``code``.

        Chapter and block ids of the release (e.g. ``E08-E13``) are accepted as they are.

        Raises:
            InvalidCodeError: ``code`` is not valid syntax for this system.
        """
        if not isinstance(code, str):
            raise InvalidCodeError(f"{code!r} is not a {self.name} code: expected a string")
        compact = "".join(code.split()).upper()
        if compact in self._grouping_ids:
            return compact
        canonical = self._canonical(compact) if compact else None
        if canonical is None:
            hint = f", e.g. {self.example}" if self.example else ""
            raise InvalidCodeError(f"{code!r} is not a valid {self.name} code{hint}")
        return canonical

    @cached_property
    def _grouping_ids(self) -> frozenset[str]:
        return frozenset(
            code for code, node in self._index.nodes.items() if node.kind in GROUPING_KINDS
        )

    def to_dotted(self, code: str) -> str:
        """Return the dotted form of ``code`` (the canonical form)."""
        return self.normalize(code)

    def to_undotted(self, code: str) -> str:
        """Return the undotted form of ``code`` (canonical form without ``.``)."""
        return self.normalize(code).replace(".", "")

    # ----------------------------------------------------------------- the three questions
    def is_valid_syntax(self, code: str) -> bool:
        """Whether ``code`` has the syntax of a code of this system (release-independent)."""
        try:
            self.normalize(code)
        except InvalidCodeError:
            return False
        return True

    def is_defined(self, code: str) -> bool:
        """Whether the pinned release defines ``code`` (any node: code, block or chapter)."""
        try:
            return self.normalize(code) in self._index.nodes
        except InvalidCodeError:
            return False

    def is_leaf(self, code: str) -> bool:
        """Whether ``code`` is a leaf (billable / most specific) code of the release."""
        return self._leaf(self.node(code))

    def _leaf(self, node: Node) -> bool:
        if node.leaf is not None:
            return node.leaf
        return not self._index.children.get(node.code)

    is_billable = is_leaf

    # ----------------------------------------------------------------- lookups
    def node(self, code: str) -> Node:
        """Return the :class:`Node` of ``code``.

        Raises:
            InvalidCodeError: bad syntax.
            NotDefinedError: valid syntax, but not defined in this release.
        """
        canonical = self.normalize(code)
        try:
            return self._index.nodes[canonical]
        except KeyError:
            raise NotDefinedError(
                f"{code!r} is not defined in {self.name} release {self.release}"
            ) from None

    def get(self, code: str) -> Node | None:
        """Return the node of ``code``, or ``None`` when invalid or undefined (never raises)."""
        try:
            return self.node(code)
        except (InvalidCodeError, NotDefinedError):
            return None

    def __contains__(self, code: object) -> bool:
        return isinstance(code, str) and self.is_defined(code)

    def __len__(self) -> int:
        return len(self._index.nodes)

    def description(self, code: str) -> str:
        """Preferred title of ``code``."""
        return self.node(code).title

    def synonyms(self, code: str) -> list[str]:
        """Inclusion terms / alternative labels of ``code`` (may be empty)."""
        return list(self.node(code).synonyms)

    def kind(self, code: str) -> str:
        """Kind of node: chapter, block, category, subcategory, ..."""
        return self.node(code).kind

    def parent(self, code: str) -> str | None:
        """Parent of ``code`` (``None`` for a chapter)."""
        return self.node(code).parent

    def ancestors(self, code: str) -> list[str]:
        """Ancestors of ``code``, nearest first, up to and including the chapter."""
        out: list[str] = []
        parent = self.node(code).parent
        nodes = self._index.nodes
        while parent is not None:
            out.append(parent)
            parent = nodes[parent].parent
        return out

    def children(self, code: str) -> list[str]:
        """Direct children of ``code`` in source order."""
        return list(self._index.children.get(self.node(code).code, ()))

    def descendants(self, code: str) -> list[str]:
        """All descendants of ``code``, depth-first in source order."""
        out: list[str] = []
        stack = list(reversed(self.children(code)))
        children = self._index.children
        while stack:
            current = stack.pop()
            out.append(current)
            stack.extend(reversed(children.get(current, ())))
        return out

    def depth(self, code: str) -> int:
        """Depth below the root: chapters are 1, their children 2, ..."""
        return len(self.ancestors(code)) + 1

    def chapter(self, code: str) -> str:
        """The chapter containing ``code`` (itself if it is a chapter)."""
        node = self.node(code)
        if node.kind == "chapter":
            return node.code
        return self.ancestors(code)[-1]

    def block(self, code: str) -> str | None:
        """The nearest block containing ``code`` (``None`` if it has none)."""
        nodes = self._index.nodes
        for ancestor in self.ancestors(code):
            if nodes[ancestor].kind == "block":
                return ancestor
        return None

    # ----------------------------------------------------------------- enumeration
    def nodes(self) -> Iterator[Node]:
        """Every node of the release (chapters and blocks included), in source order."""
        return iter(self._index.nodes.values())

    def codes(self, *, leaves_only: bool = False) -> list[str]:
        """Every code (no chapters or blocks) of the release, in source order.

        Args:
            leaves_only: Keep only leaf (billable) codes.
        """
        out = []
        for node in self._index.nodes.values():
            if node.kind in GROUPING_KINDS:
                continue
            if leaves_only and not self._leaf(node):
                continue
            out.append(node.code)
        return out

    def graph(self) -> nx.DiGraph:
        """The hierarchy as a ``networkx.DiGraph`` with edges parent → child from :data:`ROOT`.

        Node attributes: ``title``, ``kind``, ``leaf``.
        """
        import networkx as nx

        graph = nx.DiGraph(system=self.system, release=self.release)
        graph.add_node(ROOT, title=f"{self.name} {self.release}", kind="root", leaf=False)
        for node in self._index.nodes.values():
            graph.add_node(node.code, title=node.title, kind=node.kind, leaf=self._leaf(node))
        for node in self._index.nodes.values():
            graph.add_edge(ROOT if node.parent is None else node.parent, node.code)
        return graph

    # ----------------------------------------------------------------- search
    @cached_property
    def _inverted(self) -> dict[str, set[str]]:
        inverted: dict[str, set[str]] = {}
        for node in self._index.nodes.values():
            for text in (node.title, *node.synonyms):
                for word in _WORD.findall(text.lower()):
                    inverted.setdefault(word, set()).add(node.code)
        return inverted

    @cached_property
    def _vocabulary(self) -> Vocabulary:
        from icdbridge.codes.fuzzy import Vocabulary

        return Vocabulary(self._inverted)

    def search(self, text: str, limit: int = 10) -> list[tuple[str, float]]:
        """Lexical search of titles and synonyms, tolerant of typos.

        The score of a node is the fraction of the query's distinct words found in its title or
        synonyms; a misspelt word (not in any title, e.g. ``esential``) counts through its closest
        spellings with weight ``1 - edits / length`` (:mod:`icdbridge.codes.fuzzy`). Ties go to
        codes (before blocks/chapters), then shorter titles, then source order.

        Returns:
            Up to ``limit`` ``(code, score)`` pairs, best first.
        """
        words = sorted(set(_WORD.findall(text.lower())))
        if not words:
            return []
        hits: dict[str, float] = {}
        for word in words:
            # A word missing from the vocabulary counts through its closest spellings
            # (icdbridge.codes.fuzzy), weighted below an exact match.
            found: dict[str, float] = {}
            for match, weight in self._vocabulary.match(word):
                for code in self._inverted[match]:
                    found[code] = max(found.get(code, 0.0), weight)
            for code, weight in found.items():
                hits[code] = hits.get(code, 0.0) + weight
        nodes, order = self._index.nodes, self._index.order

        def rank(code: str) -> tuple[float, int, int, int]:
            node = nodes[code]
            return (-hits[code], node.kind in GROUPING_KINDS, len(node.title), order[code])

        best = sorted(hits, key=rank)[:limit]
        return [(code, hits[code] / len(words)) for code in best]
