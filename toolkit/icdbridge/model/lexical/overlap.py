"""Word overlap: how much of a code's title a document mentions, as a graded lexical feature.

The lexical channel (:mod:`icdbridge.model.lexical.matcher`) is all or nothing: a phrase matches
when
every content word of it is in one sentence. Most codes a note supports are only *partly*
spelled out — ``esclerosis focal y segmentaria`` for N05.1 "Unspecified nephritic syndrome with
focal and segmental glomerular lesions", ``tumor fibroso de la túnica vaginal`` for D29.8 —
and among the codes of one category the words that set a code apart from its siblings (*focal*,
*segmental*, a side, an organ) are exactly what the note says. :class:`WordOverlap` scores that:
the IDF-weighted share of a code's specific title words (content words without the generic ones
such as *unspecified*, *other*, *disorder*; the same stemming and clinical word variants as the
lexical channel) found anywhere in the document,

``overlap(c, d) = Σ_{w ∈ W_c ∩ D} idf(w) / Σ_{w ∈ W_c} idf(w)``, ``idf(w) = log(N / df(w))``

over the ``N`` codes of the label space. It is a pair feature of the model (``"overlap"``,
switched with the lexical channel), learned to weigh against the other evidence, and the codes
of highest overlap join each document's candidates
(:attr:`~icdbridge.model.config.PipelineConfig.overlap_k`). A document's words are those of
its text plus the English gloss of its original text when that is read
(:mod:`icdbridge.model.lexical.gloss`).

Example:
    >>> from icdbridge.codes import get_terminology
    >>> overlap = WordOverlap.build(get_terminology("icd10cm"), ["N05.1", "N05.9", "R50.9"])
    >>> words = document_words("Biopsy: focal and segmental glomerulosclerosis. No fever.")
    >>> scores = overlap.scores(words, ["N05.1", "N05.9", "R50.9"])
    >>> scores["N05.1"] > scores["N05.9"] == 0.0 < scores["R50.9"]
    True
    >>> overlap.top(words, 2)  # "Fever, unspecified": its one specific word, fully matched
    ['R50.9', 'N05.1']
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from icdbridge.model.lexical.matcher import GENERIC_WORDS, content_words, sentence_tokens

if TYPE_CHECKING:
    from icdbridge.codes.base import Terminology
    from icdbridge.model.lexical.index_phrases import IndexPhrases

_NOT_SPECIFIC = GENERIC_WORDS | {"nos", "nec"}


def specific_words(title: str) -> frozenset[str]:
    """The stemmed content words of ``title`` that are not generic.

    Example:
        >>> sorted(specific_words("Other specified disorders of kidney and ureter"))
        ['kidney', 'ureter']
    """
    return frozenset(w for w in content_words(title) if w not in _NOT_SPECIFIC)


def sentence_words(*texts: str | None) -> list[frozenset[str]]:
    """The stemmed content words of each sentence of one document's texts (``None`` entries
    skipped), split as the lexical channel splits them
    (:func:`~icdbridge.model.lexical.matcher.sentence_tokens`)."""
    return [
        frozenset(word for word, _, _, content in sentence if content)
        for text in texts
        if text
        for sentence in sentence_tokens(text)
    ]


def document_words(*texts: str | None) -> frozenset[str]:
    """The stemmed content words of one document's texts: those of all its sentences
    (:func:`sentence_words`)."""
    return frozenset().union(*sentence_words(*texts))


class WordOverlap:
    """IDF-weighted overlap of codes' title words with a document (see module docstring).

    Args:
        phrases: Code → the specific words of each of its phrases (its title, then its
            synonyms), the label space in its order. A code's overlap is its best phrase's.
    """

    def __init__(self, phrases: dict[str, Sequence[frozenset[str]]]) -> None:
        from scipy import sparse

        self.codes = list(phrases)
        self.row = {code: i for i, code in enumerate(self.codes)}
        frequency = Counter(w for texts in phrases.values() for w in frozenset().union(*texts))
        total = max(len(phrases), 1)
        self.idf = {w: math.log(total / n) for w, n in frequency.items()}
        self.vocabulary = {w: i for i, w in enumerate(sorted(frequency))}
        # one row per phrase, a code's rows contiguous (a code without phrases: one empty row)
        texts = [list(t) or [frozenset()] for t in phrases.values()]
        self.start = np.cumsum([0] + [len(t) for t in texts])
        rows, columns, values, masses = [], [], [], []
        for phrase in (w for t in texts for w in t):
            # in word order: a sum over a set's own order would depend on Python's string hash
            # seed in its last bits, and near-ties of :meth:`top` with it
            words = sorted(phrase)
            mass = sum(self.idf[w] for w in words)
            for w in words if mass > 0 else ():
                rows.append(len(masses))
                columns.append(self.vocabulary[w])
                values.append(self.idf[w] / mass)
            masses.append(mass)
        self.mass = np.array(masses)[self.start[:-1]]  # of each code's first phrase (title)
        self._groups: _SiblingGroups | None = None  # see sibling_margins
        self.matrix = sparse.csr_matrix(
            (values, (rows, columns)), shape=(len(masses), len(self.vocabulary))
        )

    @classmethod
    def build(
        cls, terminology: Terminology, codes: Iterable[str], synonyms: bool = False
    ) -> WordOverlap:
        """The phrases of each code of the label space: its title and, with ``synonyms``, its
        synonyms / inclusion terms (undefined codes: those of their longest defined prefix, as
        label texts do; none defined: no phrase). Titles alone are the default, the pipeline's
        choice (:attr:`LabelSpace.overlap <icdbridge.model.labels.space.LabelSpace.overlap>`)."""
        from icdbridge.model.labels.texts import nearest_defined

        phrases = {}
        for code in codes:
            source = nearest_defined(terminology, code)
            node = terminology.node(source) if source is not None else None
            texts = [] if node is None else [node.title, *(node.synonyms if synonyms else ())]
            phrases[code] = [w for w in map(specific_words, texts) if w]
        return cls(phrases)

    @classmethod
    def from_index(cls, phrases: IndexPhrases, codes: Iterable[str]) -> WordOverlap:
        """The overlap of each code with its **ICD-10-CM Index phrases**
        (:class:`~icdbridge.model.lexical.index_phrases.IndexPhrases`: the content words of
        each Index path, or table cell with its column cue, that leads to it; generic words
        left out): a code's best phrase. The graded form of the Index phrases' all-or-nothing
        match, and the words that set a code apart from its siblings in the Index (``with,
        coma``, ``ketoacidosis``). Codes of ``codes`` no phrase leads to have none (overlap 0).
        """
        table: dict[str, dict[frozenset[str], None]] = {code: {} for code in codes}
        for phrase in phrases.phrases:
            words = frozenset(w for w in phrase.words if w not in _NOT_SPECIFIC)
            if not words:
                continue
            for code, _ in phrase.targets:
                if code in table:
                    table[code][words] = None
        return cls({code: list(texts) for code, texts in table.items()})

    def _best(self, phrase_scores: np.ndarray) -> np.ndarray:
        """Per code, the best of its phrases' scores (rows: phrases in code order)."""
        return np.maximum.reduceat(phrase_scores, self.start[:-1], axis=0)

    def vector(self, document: frozenset[str]) -> np.ndarray:
        """Overlap in ``[0, 1]`` of every code (in :attr:`codes` order) with a document's words
        (:func:`document_words`); codes without specific words score 0."""
        present = np.zeros(len(self.vocabulary))
        present[[self.vocabulary[w] for w in document if w in self.vocabulary]] = 1.0
        return self._best(self.matrix @ present)

    def scores(self, document: frozenset[str], codes: Sequence[str]) -> dict[str, float]:
        """Code → overlap of ``codes`` with a document's words (unknown codes score 0)."""
        return dict(zip(codes, self.best_overlap([document], codes).tolist(), strict=True))

    def sentence_scores(
        self, sentences: Sequence[frozenset[str]], codes: Sequence[str]
    ) -> dict[str, float]:
        """Code → its best overlap with one sentence (:func:`sentence_words`): title words
        named together, not scattered over the note (unknown codes, no sentence: 0)."""
        return dict(zip(codes, self.best_overlap(sentences, codes).tolist(), strict=True))

    def best_overlap(self, word_sets: Sequence[frozenset[str]], codes: Sequence[str]) -> np.ndarray:
        """Per code of ``codes``, its best overlap with any of ``word_sets`` (a document's
        words, or each of its sentences'); unknown codes and no word set: 0."""
        from scipy import sparse

        known = [i for i, c in enumerate(codes) if c in self.row]
        best = np.zeros(len(codes))
        cells = [
            (self.vocabulary[w], j)
            for j, words in enumerate(word_sets)
            for w in words
            if w in self.vocabulary
        ]
        if known and cells:
            word_rows, set_columns = zip(*cells, strict=True)
            present = sparse.csr_matrix(
                (np.ones(len(cells)), (word_rows, set_columns)),
                shape=(len(self.vocabulary), len(word_sets)),
            )
            index = np.array([self.row[codes[i]] for i in known])
            first, lengths = self.start[index], self.start[index + 1] - self.start[index]
            offsets = np.concatenate(([0], np.cumsum(lengths)[:-1]))
            phrase_rows = np.repeat(first - offsets, lengths) + np.arange(lengths.sum())
            per_set = (self.matrix[phrase_rows] @ present).toarray().max(axis=1)
            best[known] = np.maximum.reduceat(per_set, offsets)
        return best

    def sibling_margins(
        self, document: frozenset[str], codes: Sequence[str], terminology: Terminology
    ) -> np.ndarray:
        """Per code of ``codes``, its overlap with a document's words minus the best overlap of
        its **siblings** (the other codes of :attr:`codes` that share its parent in
        ``terminology``; none: 0), in ``[-1, 1]``.

        Positive when the document names words that set the code apart from every sibling
        (``ketoacidosis`` for E11.1 against E11.0...), 0 when a sibling matches as well (the
        words the whole family shares: ``type 2 diabetes`` alone), negative when a sibling
        matches better. Codes outside :attr:`codes` have overlap 0. The siblings come from the
        hierarchy, not from a candidate list, so a code's margin is the same whatever else is
        scored with it. The parents are read from ``terminology`` once, on the first call
        (an overlap table belongs to one label space, hence one release).

        Example:
            >>> from icdbridge.codes import get_terminology
            >>> icd = get_terminology("icd10cm")
            >>> overlap = WordOverlap.build(icd, ["N05.0", "N05.1", "N05.9", "R50.9"])
            >>> words = document_words("Focal and segmental glomerular lesions. Fever.")
            >>> margins = overlap.sibling_margins(words, ["N05.1", "N05.9", "R50.9"], icd)
            >>> bool(margins[0] > 0 > margins[1]), float(margins[2])  # R50.9: no sibling here
            (True, 1.0)
        """
        groups = self._sibling_groups(terminology)
        overlap = self.vector(document)
        values = overlap[groups.order]
        first = np.maximum.reduceat(values, groups.starts)
        is_first = values == np.repeat(first, groups.sizes)
        ties = np.add.reduceat(is_first.astype(np.int64), groups.starts)
        second = np.maximum.reduceat(np.where(is_first, 0.0, values), groups.starts)
        rows = np.array([self.row.get(code, -1) for code in codes], dtype=np.int64)
        known = rows >= 0
        own = np.where(known, overlap[np.maximum(rows, 0)], 0.0)
        group = np.where(known, groups.of[np.maximum(rows, 0)], -1)
        grouped = group >= 0
        g = np.maximum(group, 0)
        # the best sibling: the group's best, unless the code is its only best (then the next)
        alone_best = (own == first[g]) & (ties[g] == 1)
        other = np.where(alone_best, second[g], first[g])
        return own - np.where(grouped, other, 0.0)

    def _sibling_groups(self, terminology: Terminology) -> _SiblingGroups:
        """The codes of :attr:`codes` grouped by parent (built once; see
        :meth:`sibling_margins`)."""
        if self._groups is None:
            self._groups = _SiblingGroups.of_codes(self.codes, terminology)
        return self._groups

    def top(self, document: frozenset[str], k: int) -> list[str]:
        """The ``k`` codes of highest overlap with a document (ties: more title words matched,
        i.e. the larger IDF mass, then code order); only codes with some overlap."""
        overlap = self.vector(document)
        hits = np.flatnonzero(overlap > 0)
        order = np.lexsort((hits, -self.mass[hits], -overlap[hits]))[:k]
        return [self.codes[i] for i in hits[order]]


@dataclass(frozen=True)
class _SiblingGroups:
    """Codes grouped by their parent: ``of[i]`` is code ``i``'s group (-1: no parent among the
    codes' parents, e.g. a code the release does not define), ``order`` the codes that have a
    group sorted by it, ``starts`` / ``sizes`` each group's slice of ``order``."""

    of: np.ndarray
    order: np.ndarray
    starts: np.ndarray
    sizes: np.ndarray

    @classmethod
    def of_codes(cls, codes: Sequence[str], terminology: Terminology) -> _SiblingGroups:
        parents: dict[str, int] = {}
        of = np.full(len(codes), -1, dtype=np.int64)
        for i, code in enumerate(codes):
            node = terminology.get(code)
            if node is not None and node.parent is not None:
                of[i] = parents.setdefault(node.parent, len(parents))
        order = np.flatnonzero(of >= 0)
        order = order[np.argsort(of[order], kind="stable")]
        sizes = np.bincount(of[order], minlength=len(parents))
        starts = np.concatenate(([0], np.cumsum(sizes)[:-1])).astype(np.int64)
        return cls(of=of, order=order, starts=starts, sizes=sizes)
