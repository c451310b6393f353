"""Read a note in its original language: a word gloss for the lexical channel.

Clinical datasets are often machine-translated into English (CodiEsp's Spanish cases are), and a
translation loses exactly the words coding depends on: rare disease names come out mangled or
dropped. When a document carries its original text (:attr:`~icdbridge.data.Document.original_text`),
the lexical channel also reads that text through a **gloss**: each word of the original replaced
by the English words it stands for in the terminology's own vocabulary, so the English phrase
table of :mod:`icdbridge.model.lexical.matcher` matches it unchanged (mostly as bag-of-words
matches,
since word order differs between languages).

The word-translation table is learned, not written: :class:`WordTranslator` aligns the words of
the WHO ICD-10 titles in both languages (:func:`icdbridge.codes.translations.parallel_titles`,
about 12,000 title pairs for Spanish) by *competitive linking* — within each title pair, the most
associated still-unlinked word pair is linked first, association being the Dice coefficient of
the two words over all title pairs plus a bonus for cognates (``macroglosia`` / ``macroglossia``)
— and keeps, for each source word, the English words it was linked to most often. A source word
absent from the titles falls back to an English word of the label space with the same cognate
skeleton (:func:`cognate_key`: accents, ``ph``/``f``, ``y``/``i``, doubled letters... folded).
English words are mapped onto the target terminology's spelling (WHO titles are British:
``oesophagus`` → ``esophagus``).

Only languages with a title table and word rules (:data:`LANGUAGES`) are read; others are
ignored by the pipeline (and reported by :func:`check_language`).

Example:
    >>> from icdbridge.codes import get_terminology
    >>> glosser = glosser_for("es", get_terminology("icd10cm"))  # doctest: +SKIP
    >>> glosser.gloss("Presenta macroglosia y pénfigo vulgar.").text  # doctest: +SKIP
    'presenta macroglossia pemphigus vulgaris .'
"""

from __future__ import annotations

import difflib
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

from icdbridge.model.lexical.language import (
    _WORD as _WORD,
)
from icdbridge.model.lexical.language import (
    LANGUAGES as LANGUAGES,
)
from icdbridge.model.lexical.language import (
    SPANISH as SPANISH,
)
from icdbridge.model.lexical.language import (
    SPANISH_STOP_WORDS as SPANISH_STOP_WORDS,
)
from icdbridge.model.lexical.language import (
    LanguageRules as LanguageRules,
)
from icdbridge.model.lexical.language import (
    fold as fold,
)
from icdbridge.model.lexical.language import (
    spanish_stem as spanish_stem,
)
from icdbridge.model.lexical.matcher import content_words, sentence_break

if TYPE_CHECKING:
    from icdbridge.codes.base import Terminology
    from icdbridge.data import Document

_SAME_IN_ENGLISH = re.compile(r"[a-z]|[ivx]+|[a-z]{1,2}\d{1,2}")
"""Words written the same in every language: a letter (vitamin K, hepatitis C), a roman
numeral (factor XI) or a letter with a number (B12, L5, T12)."""

_AMERICAN = (("oe", "e"), ("ae", "e"), ("our", "or"), ("isation", "ization"))


def cognate_key(word: str) -> str:
    """Spelling skeleton shared by cognates across European languages.

    Example:
        >>> cognate_key("retinosquisis") == cognate_key("retinoschisis")
        True
        >>> cognate_key("macroglosia") == cognate_key("macroglossia")
        True
    """
    word = fold(word)
    for old, new in (
        ("ph", "f"),
        ("th", "t"),
        ("rh", "r"),
        ("sch", "sq"),
        ("qu", "c"),
        ("ch", "c"),
        ("sq", "sc"),
        ("y", "i"),
        ("k", "c"),
        ("z", "s"),
        ("ae", "e"),
        ("oe", "e"),
        ("h", ""),
    ):
        word = word.replace(old, new)
    return re.sub(r"(.)\1", r"\1", word)


def cognate_ratio(a: str, b: str) -> float:
    """Similarity in ``[0, 1]`` of two words' :func:`cognate_key` (0 for words under 4 letters)."""
    a, b = cognate_key(a), cognate_key(b)
    if min(len(a), len(b)) < 4:
        return 0.0
    return difflib.SequenceMatcher(None, a, b).ratio()


@dataclass(eq=False)
class WordTranslator:
    """Source word → English words, learned from parallel titles (see module docstring).

    Args:
        rules: Word rules of the source language.
        max_translations: English words kept per source word.
        min_association: Smallest association (Dice + cognate bonus) that links two words.
        min_share: A translation is kept when linked at least this share of the best one's links.
        min_cognate_length: Shortest source word tried by the cognate fallback.
        min_cognate_ratio: Smallest :func:`cognate_ratio` of a fuzzy cognate (``linfopenia`` /
            ``lymphopenia``) when no English word has the same skeleton.

    Attributes:
        table_: Source word → English surface words (learned).
        vocabulary_: English stem → its most frequent surface word, the target words.
    """

    rules: LanguageRules
    max_translations: int = 3
    min_association: float = 0.2
    min_share: float = 0.25
    min_cognate_length: int = 5
    min_cognate_ratio: float = 0.86

    def fit(self, pairs: Iterable[tuple[str, str]], words: Mapping[str, int]) -> WordTranslator:
        """Learn the table from ``(English title, source title)`` pairs.

        Args:
            pairs: Parallel titles.
            words: Lower-case English words of the terminology the gloss will be matched
                against, with their frequency (:func:`terminology_words`).
        """
        self.vocabulary_ = _stem_surfaces(words)
        aligned = [
            (
                sorted({w for w, _, _ in self.rules.words(source)}),
                sorted({self._target(w) for w in content_words(english)}),
            )
            for english, source in pairs
        ]
        source_count: Counter[str] = Counter()
        target_count: Counter[str] = Counter()
        joint: Counter[tuple[str, str]] = Counter()
        for source_words, target_words in aligned:
            source_count.update(source_words)
            target_count.update(target_words)
            joint.update((s, t) for s in source_words for t in target_words)
        association: dict[tuple[str, str], float] = {}
        for (s, t), n in joint.items():
            dice = 2 * n / (source_count[s] + target_count[t])
            association[s, t] = dice + 0.5 * max(0.0, cognate_ratio(s, t) - 0.6) / 0.4
        links: Counter[tuple[str, str]] = Counter()
        for source_words, target_words in aligned:
            scored = sorted(
                ((association[s, t], s, t) for s in source_words for t in target_words),
                key=lambda x: (-x[0], x[1], x[2]),
            )
            used_source: set[str] = set()
            used_target: set[str] = set()
            for value, s, t in scored:
                if value < self.min_association:
                    break
                if s in used_source or t in used_target:
                    continue
                used_source.add(s)
                used_target.add(t)
                links[s, t] += 1
        by_source: dict[str, list[tuple[int, str]]] = defaultdict(list)
        for (s, t), n in links.items():
            by_source[s].append((n, t))
        self.table_: dict[str, tuple[str, ...]] = {}
        for s, options in by_source.items():
            # a one- or two-letter English word (a vitamin, a roman numeral) is no translation
            options.sort(key=lambda x: (-x[0], x[1]))
            best = options[0][0]
            kept = [
                t
                for n, t in options
                if n >= max(1, self.min_share * best) and (len(t) > 2 or t.isdigit())
            ]
            surface = [self.vocabulary_.get(t, t) for t in kept[: self.max_translations]]
            self.table_[s] = tuple(dict.fromkeys(surface))
        self._cognates: dict[str, list[str]] = defaultdict(list)
        self._buckets: dict[str, list[tuple[str, str]]] = defaultdict(list)
        for surface in sorted(words):  # every surface word: "vesical" matches as "bladder"
            if len(surface) >= self.min_cognate_length and not surface.isdigit():
                key = cognate_key(surface)
                self._cognates[key].append(surface)
                self._cognates[key[:-1]].append(surface)
                self._buckets[key[:2]].append((key, surface))
        self._memo: dict[str, tuple[str, ...]] = {}
        return self

    def _target(self, stem: str) -> str:
        """An English stem in the target terminology's spelling when it has it."""
        if stem in self.vocabulary_:
            return stem
        for old, new in _AMERICAN:
            american = stem.replace(old, new)
            if american in self.vocabulary_:
                return american
        return stem

    def translate(self, word: str) -> tuple[str, ...]:
        """English surface words for a normalised source word (empty: unknown word)."""
        if word in self.rules.fixed:
            return self.rules.fixed[word]
        if word.isdigit():
            return (word,)
        found = self.rules.lexicon_entry(word) or self.table_.get(word)
        if found:
            return found
        if _SAME_IN_ENGLISH.fullmatch(word):
            return (word,)
        if word not in self._memo:
            self._memo[word] = self._cognate(word) or next(
                filter(None, map(self._cognate, self.rules.prefix_variants(word))), ()
            )
        return self._memo[word]

    def _cognate(self, word: str) -> tuple[str, ...]:
        if len(word) < self.min_cognate_length:
            return ()
        key = cognate_key(word)
        for probe in (key, key[:-1]):
            surfaces = self._cognates.get(probe)
            if surfaces:
                return tuple(surfaces[:2])
        matcher = difflib.SequenceMatcher(b=key)
        best, found = self.min_cognate_ratio, ""
        for other, surface in self._buckets.get(key[:2], ()):
            if abs(len(other) - len(key)) > 2:
                continue
            matcher.set_seq1(other)
            if matcher.quick_ratio() < best:
                continue
            ratio = matcher.ratio()
            if ratio > best or (ratio == best and not found):
                best, found = ratio, surface
        return (found,) if found else ()


@dataclass
class Gloss:
    """An English gloss of a text and the way back to the text.

    Attributes:
        text: The gloss: English words, sentence boundaries of the source kept as ``" ."``.
        pieces: ``(gloss_start, gloss_end, source_start, source_end)`` of each glossed word.
    """

    text: str
    pieces: list[tuple[int, int, int, int]]

    @property
    def lines(self) -> str:
        """The gloss with each source sentence on its own line: the same length and offsets as
        :attr:`text`, so that pieces cut from it (:mod:`~icdbridge.model.text.pieces`) map back
        through :meth:`source_span`."""
        return self.text.replace(" . ", " .\n")

    def source_span(self, start: int, end: int) -> tuple[int, int] | None:
        """The source span covering the gloss span ``[start, end)`` (``None``: no word there)."""
        inside = [(s, e) for gs, ge, s, e in self.pieces if gs < end and ge > start]
        if not inside:
            return None
        return min(s for s, _ in inside), max(e for _, e in inside)


class Glosser:
    """Turns text in one language into an English :class:`Gloss` (see module docstring).

    Args:
        translator: A fitted :class:`WordTranslator`.
    """

    def __init__(self, translator: WordTranslator) -> None:
        self.translator = translator
        self.language = translator.rules.code

    def gloss(self, text: str) -> Gloss:
        """Gloss ``text`` word by word; unknown words are left out."""
        folded = fold(text)
        parts: list[str] = []
        pieces: list[tuple[int, int, int, int]] = []
        length = 0
        last = 0
        for word, start, end in self.translator.rules.words(text):
            if sentence_break(folded, last, start) and parts and parts[-1] != ".":
                parts.append(".")
                length += 2
            last = end
            for english in self.translator.translate(word):
                offset = length + (1 if parts else 0)
                parts.append(english)
                pieces.append((offset, offset + len(english), start, end))
                length = offset + len(english)
        return Gloss(" ".join(parts) + (" ." if parts else ""), pieces)


def terminology_words(terminology: Terminology) -> Counter[str]:
    """Lower-case words of a release's titles and synonyms, with their frequency."""
    words: Counter[str] = Counter()
    for node in terminology.nodes():
        for text in (node.title, *node.synonyms):
            words.update(_WORD.findall(text.lower()))
    return words


def _stem_surfaces(words: Mapping[str, int]) -> dict[str, str]:
    """English stem (:func:`~icdbridge.model.lexical.matcher.content_words`) → its most frequent
    word."""
    surfaces: dict[str, Counter[str]] = defaultdict(Counter)
    for word, count in words.items():
        stems = content_words(word)
        if len(stems) == 1:
            surfaces[stems[0]][word] += count
    return {stem: max(c, key=lambda w: (c[w], -len(w), w)) for stem, c in surfaces.items()}


def check_language(language: str | None) -> bool:
    """Whether original texts in ``language`` can be read (a title table and word rules)."""
    from icdbridge.codes.translations import TITLE_SOURCES

    return language in LANGUAGES and language in TITLE_SOURCES


def readable_original(doc: Document) -> bool:
    """Whether a document has an original text in a language that can be read
    (:func:`check_language`)."""
    return doc.original_text is not None and check_language(doc.original_language)


def unread_originals(docs: Iterable[Document], use_original: bool = True) -> Counter[str]:
    """Documents whose ``original_text`` the lexical channel will *not* read, by language.

    A document carrying an original text is read from its English text alone when its
    ``original_language`` cannot be read (:func:`check_language`; counted under that language,
    ``"?"`` when missing) or when the model does not read originals at all (``use_original``
    false: every such document counts). Train, predict and the demo report these counts, so a
    user never mistakes an unread original for a read one.

    Example:
        >>> from icdbridge.data import Document
        >>> def doc(language):
        ...     meta = {"original_text": "t", "original_language": language}
        ...     return Document("d", "t", meta=meta)
        >>> docs = [doc("es"), doc("pt"), Document("c", "t")]
        >>> dict(unread_originals(docs))
        {'pt': 1}
        >>> dict(unread_originals(docs, use_original=False))
        {'es': 1, 'pt': 1}
    """
    return Counter(
        doc.original_language or "?"
        for doc in docs
        if doc.original_text is not None and not (use_original and readable_original(doc))
    )


def describe_unread(counts: Mapping[str, int], use_original: bool = True) -> str | None:
    """One sentence on :func:`unread_originals` for a command's output (``None``: nothing
    unread); ``use_original`` as given to :func:`unread_originals`.

    Example:
        >>> print(describe_unread({"pt": 2, "fr": 1}))  # doctest: +NORMALIZE_WHITESPACE
        3 documents carry an original_text that is not read (fr: 1, pt: 2; languages read:
        es): they are scored from their text alone
    """
    total = sum(counts.values())
    if not total:
        return None
    by_language = ", ".join(f"{language}: {n}" for language, n in sorted(counts.items()))
    why = (
        f"languages read: {', '.join(LANGUAGES)}"
        if use_original
        else "the model reads no original: its use_original or use_lexical is off"
    )
    noun = "document carries" if total == 1 else "documents carry"
    return (
        f"{total} {noun} an original_text that is not read ({by_language}; {why}): "
        f"{'it is' if total == 1 else 'they are'} scored from their text alone"
    )


@cache
def _glosser(language: str, system: str, release: str | None) -> Glosser:
    from icdbridge.codes import get_terminology
    from icdbridge.codes.translations import parallel_titles

    terminology = get_terminology(system, release)
    pairs = parallel_titles(language).values()
    translator = WordTranslator(LANGUAGES[language]).fit(pairs, terminology_words(terminology))
    return Glosser(translator)


def glosser_for(language: str, terminology: Terminology) -> Glosser:
    """The (cached) :class:`Glosser` from ``language`` into ``terminology``'s vocabulary.

    Raises:
        UnknownSystemError: no title table for ``language`` (see :func:`check_language`).
    """
    from icdbridge.errors import UnknownSystemError

    if language not in LANGUAGES:
        raise UnknownSystemError(
            f"original texts in {language!r} cannot be read (languages: {', '.join(LANGUAGES)})"
        )
    return _glosser(language, terminology.system, terminology.release)
