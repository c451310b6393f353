"""The ICD-10-CM Alphabetic Index as one queryable object: paths per code, codes per term.

:class:`AlphabeticIndex` holds the loaded documents (:mod:`icdbridge.codes.index.model`) and
answers, for a label-space release of ICD-10-CM (default: the terminology's default, 2026):

* :meth:`AlphabeticIndex.paths_for` — every Index path leading to a code
  (``"Diabetes, diabetic › with › amyotrophy"`` → ``E11.44``), table cells with their column;
* :meth:`AlphabeticIndex.codes_for` — the codes a term leads to;
* :meth:`AlphabeticIndex.search` — Index terms matching words (typo tolerant);
* :meth:`AlphabeticIndex.label_texts` — extra label texts per code, for a model;
* :meth:`AlphabeticIndex.term_codes` — every term with the billable codes it leads to;
* :meth:`AlphabeticIndex.drug` / :meth:`AlphabeticIndex.neoplasm` — table rows by term;
* :meth:`AlphabeticIndex.release_mapping` — how the Index's codes land in the label release.

Everything is computed on first use and cached per label release.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from functools import cached_property
from typing import TYPE_CHECKING, Any

from icdbridge.codes.base import Terminology
from icdbridge.codes.icd10cm import canonical_icd10
from icdbridge.codes.index.model import PATH_SEPARATOR, SOURCES, IndexPath
from icdbridge.codes.index.resolve import (
    CodeExpander,
    ReferenceResolver,
    category_note_codes,
    undash,
)
from icdbridge.codes.index.tables import TABLE_COLUMNS, TableRow, behaviour_column, table_rows
from icdbridge.errors import NotDefinedError

if TYPE_CHECKING:
    from icdbridge.codes.index.model import CodeExpansion, CrossReference, IndexDocument, IndexTerm

_WORD = re.compile(r"[a-z0-9]+")


def _looks_like_code(text: str) -> bool:
    return canonical_icd10(undash(text).upper()) is not None


class _Release:
    """Everything derived for one label release (built once per release)."""

    def __init__(self, index: AlphabeticIndex, terminology: Terminology) -> None:
        self.terminology = terminology
        self.expand = CodeExpander(terminology)
        self.by_code: dict[str, list[IndexPath]] = {}
        for path in index.code_paths():
            if path.relation == "see_category":
                targets: tuple[str, ...] = category_note_codes(path.code, terminology, self.expand)
                printed = None
            else:
                targets = self.expand(path.code).targets
                printed = canonical_icd10(undash(path.code).upper())
            for target in targets:
                self.by_code.setdefault(target, []).append(
                    IndexPath(
                        path.term,
                        path.code,
                        path.relation,
                        path.column,
                        path.column_label,
                        exact=target == printed
                        and not path.code.endswith("-")
                        and path.relation != "see",
                    )
                )
            if printed is not None and printed not in targets:
                self.by_code.setdefault(printed, []).append(path)


class AlphabeticIndex:
    """The ICD-10-CM Index to Diseases and Injuries, External Cause Index, Drug and Neoplasm Tables.

    Built by :func:`icdbridge.codes.index.load_index`; usable directly from documents.

    Args:
        documents: Document id (``index``, ``eindex``, ``drug``, ``neoplasm``) → document.
        release: The Index's fiscal year (``"2025"``).
        label_release: ICD-10-CM release codes are expanded in by default (``None``: the default
            release of :class:`~icdbridge.codes.icd10cm.ICD10CM`).
    """

    def __init__(
        self,
        documents: dict[str, IndexDocument],
        *,
        release: str = "2025",
        label_release: str | None = None,
    ) -> None:
        self.documents = {s: documents[s] for s in SOURCES if s in documents}
        self.release = release
        from icdbridge.codes.icd10cm import ICD10CM

        self.label_release = label_release or ICD10CM.default_release
        self._releases: dict[str, _Release] = {}

    def __repr__(self) -> str:
        parts = ", ".join(f"{s}={len(d.terms)}" for s, d in self.documents.items())
        return f"AlphabeticIndex(release={self.release!r}, {parts})"

    # ----------------------------------------------------------------- terms
    def terms(self, source: str | None = None) -> Iterator[IndexTerm]:
        """Every term of one document (``source``) or of all, in document order."""
        for name, document in self.documents.items():
            if source is None or name == source:
                yield from document.terms

    def __len__(self) -> int:
        return sum(len(d.terms) for d in self.documents.values())

    def code_paths(self) -> Iterator[IndexPath]:
        """Every code the Index prints, with its term, as printed (dash codes unexpanded).

        Relations: ``code``, ``manifestation``, ``cell`` (tables), ``see_category`` (category
        notes, whose ``code`` is the note text), and ``see`` (a term whose "see" reference
        resolves fully to a term with a code, or to a Neoplasm Table row and a behaviour: the
        referring term is another path to that code).
        """
        columns = {key: label for table in TABLE_COLUMNS.values() for key, label in table.items()}
        for term in self.terms():
            if term.code:
                yield IndexPath(term, term.code)
            for code in term.manifestation:
                if _looks_like_code(code):
                    yield IndexPath(term, code, "manifestation")
            for cell in term.cells:
                yield IndexPath(term, cell.code, "cell", cell.column, columns[cell.column])
            for note in term.see_category:
                yield IndexPath(term, note, "see_category")
            if term.see and not term.code:
                reference = self.reference(term, "see")
                if reference is None or reference.status != "resolved" or not reference.target:
                    continue
                target = reference.target
                if target.code:
                    yield IndexPath(term, target.code, "see")
                column = behaviour_column(reference.remainder) if target.cells else None
                for cell in target.cells:  # "see Neoplasm, breast, malignant"
                    if cell.column == column:
                        yield IndexPath(term, cell.code, "see", cell.column, columns[cell.column])

    # ----------------------------------------------------------------- references
    @cached_property
    def _resolver(self) -> ReferenceResolver:
        return ReferenceResolver(self.documents)

    def reference(self, term: IndexTerm, kind: str = "see") -> CrossReference | None:
        """The resolved ``"see"`` / ``"see_also"`` reference of ``term`` (``None``: it has none)."""
        return self._resolver.resolve(term, kind)

    def references(self, source: str | None = None) -> Iterator[CrossReference]:
        """Every see and see-also reference, resolved (:class:`CrossReference`)."""
        for term in self.terms(source):
            for kind in ("see", "see_also"):
                reference = self._resolver.resolve(term, kind)
                if reference is not None:
                    yield reference

    def find(self, text: str, source: str | None = None) -> IndexTerm | None:
        """The term named by ``text``, as a cross reference names it (``"Pain, abdominal"``) or as
        a path (``"Diabetes, diabetic › with › amyotrophy"``); ``None`` when no term matches
        every part."""
        if PATH_SEPARATOR.strip() in text:
            titles = [t.strip() for t in text.split(PATH_SEPARATOR.strip())]
            for term in self.terms(source):
                if len(term.titles) == len(titles) and all(
                    a.lower() == b.lower() for a, b in zip(term.titles, titles, strict=True)
                ):
                    return term
            return None
        parts = [p.strip() for p in text.split(",") if p.strip()]
        for name in self.documents:
            if source is None or name == source:
                consumed, target = self._resolver._walk((name, None), parts)
                if target is not None and consumed == len(parts):
                    return target
        return None

    # ----------------------------------------------------------------- codes
    def _release(self, label_release: str | None) -> _Release:
        release = label_release or self.label_release
        found = self._releases.get(release)
        if found is None:
            from icdbridge.codes.registry import get_terminology

            found = self._releases[release] = _Release(self, get_terminology("icd10cm", release))
        return found

    def expansion(self, code: str, label_release: str | None = None) -> CodeExpansion:
        """What the Index code ``code`` (``"S32.40-"``) stands for in the label release."""
        return self._release(label_release).expand(code)

    def paths_for(
        self, code: str, *, label_release: str | None = None, exact: bool = False
    ) -> list[IndexPath]:
        """Every Index path leading to ``code`` of the label release, in document order.

        A billable code is reached by the terms printing it and by the dash, category and
        7th-character-less codes that expand to it (``exact=False`` on those paths); a
        non-billable code by the terms printing it.

        Args:
            code: An ICD-10-CM code, dotted or not (``E11.44``, ``e1144``).
            label_release: ICD-10-CM release (``None``: :attr:`label_release`).
            exact: Keep only paths printing the code itself.

        Raises:
            InvalidCodeError: ``code`` is not ICD-10-CM syntax.

        Example:
            >>> index = load_index()  # doctest: +SKIP
            >>> [p.text() for p in index.paths_for("E11.44")][:1]  # doctest: +SKIP
            ['Diabetes, diabetic › with › amyotrophy']
        """
        release = self._release(label_release)
        canonical = release.terminology.normalize(code)
        paths = release.by_code.get(canonical, [])
        return [p for p in paths if p.exact] if exact else list(paths)

    def codes_for(
        self,
        term: IndexTerm | str,
        *,
        label_release: str | None = None,
        expand: bool = False,
        subterms: bool = False,
    ) -> list[str]:
        """Codes a term leads to: its code, manifestation codes, table cells, see-category notes,
        and the code of the term its "see" reference names.

        Args:
            term: An :class:`IndexTerm`, or a text :meth:`find` understands.
            label_release: Release for ``expand``.
            expand: Return billable codes of the label release instead of the printed codes.
            subterms: Include the codes of every term below it.

        Raises:
            NotDefinedError: ``term`` is a text that names no Index term.
        """
        if isinstance(term, str):
            found = self.find(term)
            if found is None:
                raise NotDefinedError(f"no ICD-10-CM Index term {term!r}")
            term = found
        wanted = {term.id} if not subterms else self._subtree(term)
        out: list[str] = []
        release = self._release(label_release) if expand else None
        for path in self._paths_of_terms(term.source, wanted):
            if release is None:
                out.append(path.code)
            elif path.relation == "see_category":
                out.extend(category_note_codes(path.code, release.terminology, release.expand))
            else:
                out.extend(release.expand(path.code).targets)
        return list(dict.fromkeys(out))

    def _subtree(self, term: IndexTerm) -> set[int]:
        children = self._children(term.source)
        out, stack = set(), [term.id]
        while stack:
            current = stack.pop()
            out.add(current)
            stack.extend(children.get(current, ()))
        return out

    def _children(self, source: str) -> dict[int | None, list[int]]:
        cache = self.__dict__.setdefault("_children_cache", {})
        if source not in cache:
            cache[source] = self.documents[source].children()
        return cache[source]

    def _paths_of_terms(self, source: str, ids: set[int]) -> Iterator[IndexPath]:
        by_term = self.__dict__.get("_paths_by_term")
        if by_term is None:
            by_term = {}
            for path in self.code_paths():
                by_term.setdefault((path.source, path.term.id), []).append(path)
            self.__dict__["_paths_by_term"] = by_term
        for term_id in sorted(ids):
            yield from by_term.get((source, term_id), ())

    # ----------------------------------------------------------------- for a model
    def label_texts(
        self,
        codes: Iterable[str] | None = None,
        *,
        label_release: str | None = None,
        modifiers: bool = False,
        exact: bool = False,
    ) -> dict[str, list[str]]:
        """Extra label texts per code: the distinct Index path texts leading to it.

        Args:
            codes: Codes of the label release (``None``: every code the Index reaches).
            label_release: ICD-10-CM release (``None``: :attr:`label_release`).
            modifiers: Write nonessential modifiers into the texts.
            exact: Only paths printing the code itself (no dash or category expansion).

        Returns:
            Code → texts (codes without a path are left out), e.g. ``"E11.44"`` →
            ``["Diabetes, diabetic › with › amyotrophy", ...]``.
        """
        release = self._release(label_release)
        selected = (
            release.by_code
            if codes is None
            else {c: release.by_code.get(release.terminology.normalize(c), []) for c in codes}
        )
        out: dict[str, list[str]] = {}
        for code, paths in selected.items():
            texts = [p.text(modifiers=modifiers) for p in paths if p.exact or not exact]
            if texts:
                out[code] = list(dict.fromkeys(texts))
        return out

    def term_codes(
        self, source: str | None = None, *, label_release: str | None = None
    ) -> Iterator[tuple[IndexTerm, tuple[str, ...]]]:
        """Every term that leads to a code, with the billable codes of the label release it
        leads to (its own code, manifestation codes, cells, category notes, "see" targets) —
        e.g. a phrase dictionary for a lexical matcher. Terms reaching no billable code are
        left out."""
        release = self._release(label_release)
        by_term: dict[tuple[str, int], list[str]] = {}
        terms: dict[tuple[str, int], IndexTerm] = {}
        for code, paths in release.by_code.items():
            if not release.terminology.is_leaf(code):
                continue
            for path in paths:
                key = (path.source, path.term.id)
                terms[key] = path.term
                by_term.setdefault(key, []).append(code)
        for key in sorted(by_term, key=lambda k: (list(self.documents).index(k[0]), k[1])):
            if source is None or key[0] == source:
                yield terms[key], tuple(dict.fromkeys(by_term[key]))

    # ----------------------------------------------------------------- search
    @cached_property
    def _search_index(self) -> tuple[list[IndexTerm], dict[str, list[int]], Any]:
        from icdbridge.codes.fuzzy import Vocabulary

        terms = list(self.terms())
        inverted: dict[str, list[int]] = {}
        for position, term in enumerate(terms):
            words = set()
            for title, modifier in zip(term.titles, term.modifiers, strict=True):
                words.update(_WORD.findall(title.lower()))
                words.update(_WORD.findall(modifier.lower()))
            for cell in term.cells:  # "adverse", "malignant": the column a query may name
                words.update(_WORD.findall(TABLE_COLUMNS[term.source][cell.column].lower()))
            for word in words:
                inverted.setdefault(word, []).append(position)
        return terms, inverted, Vocabulary(inverted)

    def search(
        self, query: str, limit: int = 10, *, source: str | None = None
    ) -> list[tuple[IndexTerm, float]]:
        """Index terms whose path (titles, nonessential modifiers, and for table rows the labels
        of their columns) holds the query's words.

        The score is the fraction of the query's distinct words found in the path, misspelt words
        counting through their closest spellings (:mod:`icdbridge.codes.fuzzy`). Ties go to terms
        leading to a code, then shorter paths, then document order.

        Args:
            query: Words, e.g. ``"esential hypertension"``.
            limit: Number of terms returned.
            source: Restrict to one document (``index``, ``eindex``, ``drug``, ``neoplasm``).
        """
        words = sorted(set(_WORD.findall(query.lower())))
        if not words:
            return []
        terms, inverted, vocabulary = self._search_index
        hits: dict[int, float] = {}
        for word in words:
            found: dict[int, float] = {}
            for match, weight in vocabulary.match(word):
                for position in inverted[match]:
                    found[position] = max(found.get(position, 0.0), weight)
            for position, weight in found.items():
                hits[position] = hits.get(position, 0.0) + weight
        if source is not None:
            hits = {p: h for p, h in hits.items() if terms[p].source == source}

        def rank(position: int) -> tuple[float, bool, int, int]:
            term = terms[position]
            leads = bool(term.code or term.cells or term.see_category or term.see)
            return (-hits[position], not leads, len(term.titles), position)

        best = sorted(hits, key=rank)[:limit]
        return [(terms[p], hits[p] / len(words)) for p in best]

    # ----------------------------------------------------------------- tables
    def table(self, source: str) -> list[TableRow]:
        """Rows of the ``"drug"`` or ``"neoplasm"`` table (empty when that table is not loaded)."""
        document = self.documents.get(source)
        return table_rows(document.terms) if document else []

    def drug(self, substance: str) -> TableRow | None:
        """The Table of Drugs and Chemicals row of ``substance`` (``"Acetaminophen"``)."""
        return self._row("drug", substance)

    def neoplasm(self, site: str) -> TableRow | None:
        """The Neoplasm Table row of ``site`` (``"Neoplasm, neoplastic, lung"`` or ``"lung"``)."""
        return self._row("neoplasm", site)

    def _row(self, source: str, text: str) -> TableRow | None:
        if source not in self.documents:
            return None
        term = self.find(text, source)
        if term is None and source == "neoplasm":
            term = self.find(f"Neoplasm, {text}", source)
        return table_rows([term])[0] if term is not None else None

    # ----------------------------------------------------------------- releases
    def release_mapping(self, label_release: str | None = None) -> dict[str, Any]:
        """How the Index's printed codes land in the label release.

        Returns:
            ``label_release``; ``printed`` (distinct codes the Index prints, notes excluded);
            counts ``billable``, ``expanded`` (dash or non-billable codes replaced by their
            billable descendants), ``not_defined`` (codes the release lacks) and the
            ``not_defined_codes`` themselves; ``expanded_without_dash`` (expanded codes printed
            without ``-``: 7th-character-less table codes, categories, codes split since);
            ``reached`` (distinct billable codes reached) and ``reached_exact`` (reached by a
            path printing the code itself); ``billable_in_release`` and ``coverage`` (share of
            the release's billable codes with at least one path). For a release other than
            2024, the release diff from 2024: ``added_in_diff`` codes, how many of them the
            Index reaches (``added_reached``, ``added_reached_exact``), and how many codes the
            diff removed the Index still prints (``removed_printed``; they expand to their new
            children).
        """
        release = self._release(label_release)
        printed = sorted(
            {p.code for p in self.code_paths() if p.relation not in ("see_category", "see")}
        )
        statuses: dict[str, list[str]] = {"billable": [], "expanded": [], "not_defined": []}
        for code in printed:
            statuses[release.expand(code).status].append(code)
        billable = release.terminology.codes(leaves_only=True)
        reached = [c for c in billable if c in release.by_code]
        reached_exact = [c for c in reached if any(p.exact for p in release.by_code[c])]
        diff = {}
        terminology = release.terminology
        other = "2024" if terminology.release != "2024" else None
        if other is not None and hasattr(terminology, "added_codes"):
            # The release diff FY2024 → label release: new codes reached by the Index, and codes
            # the Index prints that the diff removed (split into new children since).
            added = terminology.added_codes(other)
            removed = set(terminology.removed_codes(other))
            undashed = {canonical_icd10(undash(code).upper()) for code in printed}
            diff = {
                "diff_from": other,
                "added_in_diff": len(added),
                "added_reached": sum(code in release.by_code for code in added),
                "added_reached_exact": sum(
                    any(p.exact for p in release.by_code.get(code, ())) for code in added
                ),
                "removed_in_diff": len(removed),
                "removed_printed": len(removed & undashed),
            }
        return {
            "index_release": self.release,
            "label_release": release.terminology.release,
            "printed": len(printed),
            "billable": len(statuses["billable"]),
            "expanded": len(statuses["expanded"]),
            "expanded_without_dash": sum(not c.endswith("-") for c in statuses["expanded"]),
            "dash_codes": sum(code.endswith("-") for code in printed),
            "not_defined": len(statuses["not_defined"]),
            "not_defined_codes": statuses["not_defined"],
            "reached": len(reached),
            "reached_exact": len(reached_exact),
            "billable_in_release": len(billable),
            "coverage": round(len(reached) / len(billable), 4) if billable else 0.0,
            **diff,
        }
