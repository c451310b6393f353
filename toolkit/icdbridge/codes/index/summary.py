"""What ``icdbridge codes lookup --index`` and ``icdbridge codes search`` print about the Index,
as plain Python data (usable without the CLI)."""

from __future__ import annotations

import re
from typing import Any

from icdbridge.codes.base import Terminology
from icdbridge.codes.icd10cm import canonical_icd10
from icdbridge.codes.index.alphabetic import AlphabeticIndex
from icdbridge.codes.index.model import IndexTerm
from icdbridge.codes.index.resolve import undash
from icdbridge.codes.index.tables import TABLE_COLUMNS
from icdbridge.errors import UnknownSystemError


def _require_icd10cm(terminology: Terminology) -> None:
    if terminology.system != "icd10cm":
        raise UnknownSystemError(
            f"the ICD-10-CM Index applies to the system icd10cm, not {terminology.system!r}"
        )


def index_lookup(index: AlphabeticIndex, terminology: Terminology, code: str) -> dict[str, Any]:
    """Index paths and table cells leading to ``code`` in the terminology's release.

    Returns:
        ``index_release``, ``label_release``, ``paths`` (each path as
        :meth:`~icdbridge.codes.index.model.IndexPath.as_dict`, exact paths first) and
        ``counts`` per document.

    Raises:
        UnknownSystemError: ``terminology`` is not ICD-10-CM.
        InvalidCodeError / NotDefinedError: as :meth:`Terminology.node`.
    """
    _require_icd10cm(terminology)
    node = terminology.node(code)
    paths = index.paths_for(node.code, label_release=terminology.release)
    paths.sort(key=lambda p: (not p.exact, list(index.documents).index(p.source), p.term.id))
    counts: dict[str, int] = {}
    for path in paths:
        counts[path.source] = counts.get(path.source, 0) + 1
    return {
        "code": node.code,
        "index_release": index.release,
        "label_release": terminology.release,
        "counts": counts,
        "paths": [path.as_dict() for path in paths],
    }


_WORD = re.compile(r"[a-z0-9]+")


def _term_codes(
    index: AlphabeticIndex, term: IndexTerm, words: set[str]
) -> list[tuple[str, str, float]]:
    """(printed code, matched text, score adjustment) for each code an Index term leads to.

    A table cell loses the share of query words that only other columns' labels hold.
    """
    text = term.text()
    out = [(term.code, text, 0.0)] if term.code else []
    out.extend((code, text, 0.0) for code in term.manifestation)
    path_words = {w for title in term.titles for w in _WORD.findall(title.lower())}
    labels = {
        cell.column: set(_WORD.findall(TABLE_COLUMNS[term.source][cell.column].lower()))
        for cell in term.cells
    }
    label_words = set().union(*labels.values()) if labels else set()
    for cell in term.cells:
        # The term's score counts every column's words; a cell loses the query words that
        # only another column's label holds ("adverse" for the underdosing cell).
        other = (words & label_words) - labels[cell.column] - path_words
        label = TABLE_COLUMNS[term.source][cell.column]
        out.append((cell.code, f"{text} [{label}]", -len(other) / len(words)))
    if term.see and not term.code:
        reference = index.reference(term, "see")
        if reference is not None and reference.status == "resolved" and reference.target:
            target = reference.target
            out.extend(
                (code, f"{text} (see {reference.text})", 0.0) for code in [target.code] if code
            )
    return out


def search_with_index(
    terminology: Terminology,
    text: str,
    limit: int = 10,
    index: AlphabeticIndex | None = None,
) -> list[dict[str, Any]]:
    """Codes matching ``text`` by their titles and, with ``index``, by Index terms.

    Each hit: ``code``, ``score``, ``kind``, ``title``, ``leaf`` and ``matched`` (``"title"``,
    or the Index path text that led to the code). A code reached both ways keeps its best
    score; at equal scores title matches come first. Index codes that the terminology's release
    does not define are left out of the hits.
    """
    words = set(_WORD.findall(text.lower()))
    scores: dict[str, tuple[float, int, str]] = {}
    for rank, (code, score) in enumerate(terminology.search(text, limit=limit)):
        scores[code] = (score, rank, "title")
    if index is not None and words:
        _require_icd10cm(terminology)
        for rank, (term, score) in enumerate(index.search(text, limit=limit * 3)):
            for printed, matched, bonus in _term_codes(index, term, words):
                canonical = canonical_icd10(undash(printed).upper())
                if canonical is None or canonical not in terminology:
                    continue
                total = min(1.0, score + bonus)
                previous = scores.get(canonical)
                if previous is None or total > previous[0]:
                    scores[canonical] = (total, limit + rank, matched)
    best = sorted(scores.items(), key=lambda item: (-item[1][0], item[1][1]))[:limit]
    out = []
    for code, (score, _, matched) in best:
        node = terminology.node(code)
        out.append(
            {
                "code": code,
                "score": round(score, 4),
                "kind": node.kind,
                "title": node.title,
                "leaf": terminology.is_leaf(code),
                "matched": matched,
            }
        )
    return out
