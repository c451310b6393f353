"""The lexical channel: dictionary matches of code descriptions and synonyms in a document.

A separate component with its own switch, as the dictionary systems that did well on CodiEsp.
:meth:`LexicalMatcher.build` turns every code's description and synonyms into **phrases** —
the text itself plus shortened forms (see :func:`shortened_forms`): parenthesised optional words
and ``[...]`` removed; qualifiers dropped (``unspecified``, ``NOS``, ``not elsewhere
classified``, ``NEC``, a qualifying ``without ...`` tail such as complications or coma, a leading
``Abnormal``, the 7th-character ``initial encounter ...`` tail of injury codes); bracketed
abbreviations used (``HIV disease``). ``subsequent encounter`` and ``sequela`` codes get no
shortened form: an unqualified mention means the initial encounter.
Words are lower-cased, lightly stemmed (plural ``s``/``ies``), and function words dropped.

Matching a document, sentence by sentence (no per-code regex loop: dictionary lookups only):

* **exact** — the phrase's content words occur contiguously (``n``-gram dict lookup over the
  sentence's content-word stream, ``n`` up to :data:`MAX_PHRASE_WORDS`), score 1.0;
* **compact** — all its content words occur side by side in another order (at most one other
  content word among them), score 0.9 — ``femur fracture`` for "Fracture of femur", or the
  gloss of a Spanish ``fractura de fémur``;
* **bag** — all its content words occur in the same sentence in any order (index on the phrase's
  rarest word, then a subset test), score 0.7;

multiplied by the phrase weight (description 1.0, synonym 0.95, clinical variant 0.9 — see
:mod:`icdbridge.model.lexical.variants` —, shortened form 0.85, mapped from a
category 0.9 of that), a small bonus for longer phrases (more specific), and 0.3 when a negation
cue (:data:`NEGATION_CUES`: ``no``, ``not``, ``without``, ``denies``, ``negative``...) precedes
the match in its sentence within 5 words. A code's score is its best match; its evidence is the
character spans of all its matches.

**Non-leaf categories.** When the label space holds only leaves (billable codes), a phrase of a
category (``E11`` "Type 2 diabetes mellitus") is mapped to the category's *default* leaf in the
label space: among its descendants whose title says ``unspecified`` or ``without
complication(s)`` (not subsequent-encounter/sequela codes), the one without a specific
``with ...``, with a trailing ``, unspecified``, then the shortest code, then one ending in 9
(``E11`` → ``E11.9``); for a category with a single leaf in the label space, that leaf;
otherwise the category phrase is not used (matching it to dozens of specific codes would only
add noise).
Categories that are themselves in the label space (``label_space="all"``) also score
directly, just below their default leaf (:data:`NON_LEAF_WEIGHT`).

Example:
    >>> from icdbridge.codes import get_terminology
    >>> lex = LexicalMatcher.build(get_terminology("icd10cm"), ["R50.9", "J18.9", "I10"])
    >>> hits = lex.match("She had fever. No pneumonia. History of high blood pressure.")
    >>> sorted(hits)
    ['I10', 'J18.9', 'R50.9']
    >>> hits["R50.9"].spans
    [(8, 13)]
    >>> hits["J18.9"].score < hits["R50.9"].score   # negated
    True
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from icdbridge.model.lexical.laterality import _side_codes, lateral_codes
from icdbridge.model.lexical.measurements import MeasureMatcher
from icdbridge.model.lexical.variants import WORD_VARIANTS, phrase_variants
from icdbridge.model.lexical.vocabulary import (
    GENERIC_WORDS as GENERIC_WORDS,
)
from icdbridge.model.lexical.vocabulary import (
    KIND_WEIGHTS as KIND_WEIGHTS,
)
from icdbridge.model.lexical.vocabulary import (
    MATCH_WEIGHTS as MATCH_WEIGHTS,
)
from icdbridge.model.lexical.vocabulary import (
    NEGATION_CUES as NEGATION_CUES,
)
from icdbridge.model.lexical.vocabulary import (
    NEGATION_FACTOR as NEGATION_FACTOR,
)
from icdbridge.model.lexical.vocabulary import (
    NEGATION_WINDOW as NEGATION_WINDOW,
)
from icdbridge.model.lexical.vocabulary import (
    STOP_WORDS as STOP_WORDS,
)

if TYPE_CHECKING:
    from icdbridge.codes.base import Terminology
    from icdbridge.model.lexical.index_phrases import IndexPhrases
    from icdbridge.model.lexical.overlap import WordOverlap

MAX_PHRASE_WORDS = 12
"""Longest phrase (content words) used by the exact n-gram lookup."""

CATEGORY_WEIGHT = 0.9
"""Weight of a phrase inherited from a non-leaf category by its default leaf."""
NON_LEAF_WEIGHT = 0.8
"""Weight of a non-leaf category's own phrases when it is itself in the label space: a mention
of the category is coded first by its default leaf, the category itself next."""
LATERAL_WEIGHT = 0.95
"""Weight of the right / left / bilateral code that a side word next to a match selects, relative
to the match (see :meth:`LexicalMatcher.match`)."""
SIDE_WORDS: dict[str, str] = {
    "right": "right",
    "left": "left",
    "bilateral": "bilateral",
    "both": "bilateral",
}
"""Words of a note that name a side, and the side."""
SIDE_WINDOW = 3
"""Words before or after a match in which a side word selects the lateral code."""

_TOKEN = re.compile(r"[a-z0-9]+")
_POSSESSIVE = re.compile(r"(?<=[a-z0-9])['’]s\b")
"""A possessive ``'s`` (``Barrett's esophagus``): not a word, so ``Barrett esophagus`` matches."""
_PAREN = re.compile(r"\s*[\(\[][^\)\]]*[\)\]]")
_QUALIFIERS: list[tuple[re.Pattern[str], bool]] = [
    (re.compile(pattern), tail)
    for pattern, tail in (
        (r"(?i),?\s*not elsewhere classified\b", True),
        (r"\s+\bNEC\b", True),
        (r"\s+\bNOS\b", True),
        (r"(?i),\s*unspecified(\s+(organism|type|cause|origin|etiology|as\s.*))?$", True),
        (r"(?i),\s*initial encounter\b.*$", True),
        (r"(?i),\s+without\s+.*$", True),
        (
            r"(?i)\s+without\s+(complications?|mention\b|(hepatic\s+)?coma|obstruction|hemorrhage"
            r"|perforation|gangrene|status\b|(acute\s+)?exacerbation|behavioral disturbance).*$",
            True,
        ),
        (r"(?i)^unspecified\s+", False),
        (r"(?i)^abnormal\s+", False),
        (r"(?i)\s*\bunspecified (part|site|region|area)s? of\b", False),
        (r"(?i)\s+unspecified\s+(site|part|region|type)$", False),
    )
]
"""(pattern, is_tail): a *tail* rule cuts an ICD qualifier (after a comma, ``NOS``...) and may drop
words; any other rule must keep every specific content word (see :func:`shortened_forms`)."""
_RESIDUAL = re.compile(r"(?i)^other\s+(?:specified\s+)?(?=\S)")
"""The leading ``Other`` of a residual title: ``Other chronic osteomyelitis`` is what the
alphabetic index gives for a ``chronic osteomyelitis`` not elsewhere classified."""
_ABBREVIATION = re.compile(r"\[([A-Z][A-Z0-9-]{1,9})\]")
_LATER_ENCOUNTER = re.compile(r"subsequent encounter|sequela", re.IGNORECASE)
_DEFAULT_LEAF = re.compile(r"unspecified|without complication", re.IGNORECASE)


_BREAK = re.compile(r"[.;:!?\n]")


def sentence_break(text: str, start: int, end: int) -> bool:
    """Whether ``text[start:end]`` (the gap between two words) ends a sentence.

    A ``;:!?`` or a line break does; a full stop does too, except the point of a decimal number
    (``0.75``) and of a one-letter initial (``H. pylori``, ``E. coli``).

    Example:
        >>> text = "BMI 31.2 after H. pylori. Then"
        >>> [sentence_break(text, a, b) for a, b in ((7, 8), (15, 17), (24, 26))]
        [False, False, True]
    """
    for found in _BREAK.finditer(text, start, end):
        i = found.start()
        if found.group() != ".":
            return True
        decimal = 0 < i < len(text) - 1 and text[i - 1].isdigit() and text[i + 1].isdigit()
        initial = i > 0 and text[i - 1].isalpha() and (i < 2 or not text[i - 2].isalnum())
        if not (decimal or initial):
            return True
    return False


def sentence_tokens(text: str) -> list[list[tuple[str, int, int, bool]]]:
    """The sentences of ``text`` (:func:`sentence_break`) as lists of ``(stemmed word, start,
    end, is_content)``; ``is_content`` is false for :data:`STOP_WORDS`, offsets index ``text``.

    Example:
        >>> sentences = sentence_tokens("Renal cysts. The fever")
        >>> [[w for w, _, _, content in s if content] for s in sentences]
        [['kidney', 'cyst'], ['fever']]
    """
    out: list[list[tuple[str, int, int, bool]]] = [[]]
    lowered = _POSSESSIVE.sub(lambda m: " " * len(m.group()), text.lower())  # same offsets
    last = 0
    for match in _TOKEN.finditer(lowered):
        if sentence_break(lowered, last, match.start()) and out[-1]:
            out.append([])
        word = match.group()
        out[-1].append((stem(word), match.start(), match.end(), word not in STOP_WORDS))
        last = match.end()
    return [s for s in out if s]


def _singular(word: str) -> str:
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def stem(word: str) -> str:
    """Very light stemming: ``-ies`` → ``-y``, plural ``-s`` dropped (not ``-ss/-us/-is``), then
    the canonical word of :data:`~icdbridge.model.lexical.variants.WORD_VARIANTS` (``renal`` →
    ``kidney``), stemmed the same way (``pancreatic`` and ``pancreas`` meet at ``pancrea``)."""
    word = _singular(word)
    canonical = WORD_VARIANTS.get(word)
    return word if canonical is None else _singular(canonical)


def content_words(text: str) -> list[str]:
    """Stemmed, lower-cased words of ``text`` without :data:`STOP_WORDS`."""
    lowered = _POSSESSIVE.sub("", text.lower())
    return [stem(w) for w in _TOKEN.findall(lowered) if w not in STOP_WORDS]


def _specific(text: str) -> set[str]:
    return {w for w in content_words(text) if w not in GENERIC_WORDS and w not in ("nos", "nec")}


def shortened_forms(text: str) -> list[str]:
    """Shortened variants of a title (see module docstring), excluding ``text`` itself.

    Besides removing parenthesised words and the qualifiers of :data:`_QUALIFIERS`, a bracketed
    abbreviation gives a variant with the abbreviation (``Human immunodeficiency virus [HIV]
    disease`` → ``HIV disease``, and ``HIV`` alone when the rest is generic). A non-tail rule that
    would drop a specific word (``Pain in unspecified joint`` → ``Pain in``) is not applied.

    Example:
        >>> shortened_forms("Pneumonia, unspecified organism")
        ['Pneumonia']
        >>> shortened_forms("Pain in unspecified joint")
        []
    """
    if _LATER_ENCOUNTER.search(text):
        return []
    out: list[str] = []
    for match in _ABBREVIATION.finditer(text):
        # only "<expansion> [ABBR] <rest>" at the start of the title: "HIV disease"
        rest = _PAREN.sub("", text[match.end() :]).strip(" ,")
        if _PAREN.search(text[: match.start()]) or not rest:
            continue
        out.append(f"{match.group(1)} {rest}")
        if not _specific(rest):
            out.append(match.group(1))
    current = text
    no_paren = _PAREN.sub("", current).strip()
    if no_paren and no_paren != current:
        out.append(no_paren)
        current = no_paren
    for pattern, tail in _QUALIFIERS:
        reduced = pattern.sub("", current).strip(" ,")
        if not reduced or reduced == current:
            continue
        if not tail and not _specific(current) - {"unspecified"} <= _specific(reduced):
            continue
        out.append(reduced)
        current = reduced
    return [form for form in dict.fromkeys(out) if form != text]


@dataclass
class LexicalHit:
    """Matches of one code in one document.

    Attributes:
        code: The code.
        score: Best match score in ``(0, ~1.1]``.
        spans: Character spans ``(start, end)`` of every matched word group (evidence).
        phrase: The phrase of the best match.
        kind: ``"exact"``, ``"compact"``, ``"bag"`` or ``"measure"`` (best match).
    """

    code: str
    score: float
    spans: list[tuple[int, int]] = field(default_factory=list)
    phrase: str = ""
    kind: str = ""


@dataclass(frozen=True, slots=True)
class _Phrase:
    words: tuple[str, ...]
    text: str
    targets: tuple[tuple[str, float], ...]  # (code, weight)


class LexicalMatcher:
    """Dictionary matcher over a label space; build with :meth:`build`.

    Args:
        phrases: The phrase table (built by :meth:`build`).
        codes: The label space.
        lateral: Code without a side → side (``right``, ``left``, ``bilateral``) → the code of
            that side (built by :func:`lateral_codes`).
        measures: Range codes matched by value (BMI, weeks of gestation), or ``None``.
        index_phrases: The ICD-10-CM Index phrases the table holds
            (:class:`~icdbridge.model.lexical.index_phrases.IndexPhrases`, added by
            :func:`~icdbridge.model.lexical.index_phrases.with_index_phrases`; a saved model
            carries them), or ``None``.
        title_phrases: With ``index_phrases``: the phrase table without them (the titles,
            synonyms and their forms the Index phrases were added to), from which
            :attr:`without_index` is built; ``None`` without Index phrases.
    """

    def __init__(
        self,
        phrases: Sequence[_Phrase],
        codes: Sequence[str],
        lateral: dict[str, dict[str, str]] | None = None,
        measures: MeasureMatcher | None = None,
        index_phrases: IndexPhrases | None = None,
        title_phrases: Sequence[_Phrase] | None = None,
    ) -> None:
        self.codes = list(codes)
        self.phrases = list(phrases)
        self.lateral = dict(lateral or {})
        self.measures = measures
        self.index_phrases = index_phrases
        self.title_phrases = list(title_phrases) if title_phrases is not None else None
        self._without_index: LexicalMatcher | None = None
        self._exact: dict[tuple[str, ...], list[int]] = {}
        frequency: Counter[str] = Counter()
        for i, phrase in enumerate(self.phrases):
            self._exact.setdefault(phrase.words, []).append(i)
            frequency.update(set(phrase.words))
        self._bag: dict[str, list[tuple[int, frozenset[str]]]] = {}
        for i, phrase in enumerate(self.phrases):
            if len(phrase.words) >= 2:
                rare = min(phrase.words, key=lambda w: (frequency[w], w))
                self._bag.setdefault(rare, []).append((i, frozenset(phrase.words)))
        self.max_words = max((len(p.words) for p in self.phrases), default=1)
        self._index_overlap: WordOverlap | None = None

    @property
    def index_overlap(self) -> WordOverlap | None:
        """Word overlap of the label space's codes with their Index phrases
        (:meth:`~icdbridge.model.lexical.overlap.WordOverlap.from_index`, built on first use),
        or ``None`` without Index phrases."""
        if self.index_phrases is None:
            return None
        if self._index_overlap is None:
            from icdbridge.model.lexical.overlap import WordOverlap

            self._index_overlap = WordOverlap.from_index(self.index_phrases, self.codes)
        return self._index_overlap

    @property
    def without_index(self) -> LexicalMatcher:
        """This matcher without its Index phrases: the same label space, laterality and
        measures over :attr:`title_phrases` (built on first use and kept); the matcher itself
        when it holds no Index phrases. What reads a document's original-language text when
        :attr:`~icdbridge.model.config.PipelineConfig.index_in_original` is off.

        Raises:
            ValueError: The matcher holds Index phrases but not the table they were added to
                (built by hand, not by
                :func:`~icdbridge.model.lexical.index_phrases.add_index_phrases`).
        """
        if self.index_phrases is None:
            return self
        if self.title_phrases is None:
            raise ValueError(
                "this lexical matcher holds Index phrases without the title phrases they were "
                "added to; build it with add_index_phrases to read originals without the Index"
            )
        if self._without_index is None:
            self._without_index = LexicalMatcher(
                self.title_phrases, self.codes, self.lateral, self.measures
            )
        return self._without_index

    @classmethod
    def build(
        cls,
        terminology: Terminology,
        codes: Iterable[str] | None = None,
        *,
        synonyms: bool = True,
        shortened: bool = True,
        categories: bool = True,
    ) -> LexicalMatcher:
        """Build the phrase table for ``codes`` (default: every leaf code of the release).

        Args:
            terminology: Terminology release (titles, synonyms, hierarchy).
            codes: The label space; codes the release does not define use the phrases of their
                longest defined prefix (as label texts do).
            synonyms: Use synonyms / inclusion terms.
            shortened: Add shortened forms.
            categories: Map phrases of non-leaf categories to their default leaf (see module),
                also when the category itself is in the label space.
        """
        from icdbridge.model.labels.texts import nearest_defined

        code_list = list(codes) if codes is not None else terminology.codes(leaves_only=True)
        label_space = set(code_list)
        table: dict[tuple[str, ...], dict[str, tuple[float, str]]] = {}

        def add(text: str, kind: str, code: str, factor: float = 1.0) -> None:
            words = tuple(content_words(text))
            if not words or len(words) > MAX_PHRASE_WORDS:
                return
            if kind in ("short", "variant", "residual") and all(
                w in GENERIC_WORDS or w.isdigit() for w in words
            ):
                return
            weight = KIND_WEIGHTS[kind] * factor
            targets = table.setdefault(words, {})
            if weight > targets.get(code, (0.0, ""))[0]:
                targets[code] = (weight, text)

        def add_node(source: str, target: str, factor: float = 1.0) -> None:
            node = terminology.node(source)
            texts = [(node.title, "description")]
            if synonyms:
                texts += [(s, "synonym") for s in node.synonyms]
            # a variant of one word is kept only where its title has no more than two
            # ("Irritability and anger" -> "Irritability"; not "Carcinoma" for C80.1)
            texts += [
                (v, "variant")
                for text, _ in list(texts)
                for v in phrase_variants(text)
                if len(content_words(v)) >= min(2, len(content_words(text)) - 1)
            ]
            for text, kind in texts:
                add(text, kind, target, factor)
                if shortened:
                    for form in shortened_forms(text):
                        if kind != "variant" or len(content_words(form)) >= 2:
                            add(form, "short", target, factor)
                    if kind == "description" and _RESIDUAL.match(text):
                        for form in [text, *shortened_forms(text)]:
                            residual = _RESIDUAL.sub("", form)
                            if _specific(residual):
                                add(residual, "residual", target, factor)

        for code in code_list:
            source = nearest_defined(terminology, code)
            if source is not None:
                # a category in the label space ranks below the leaf its phrase defaults to
                own = source != code or terminology.is_leaf(source)
                add_node(source, code, 1.0 if own else NON_LEAF_WEIGHT)
        if categories:
            for node in terminology.nodes():
                if node.kind in ("chapter", "block") or terminology.is_leaf(node.code):
                    continue
                default = cls._default_leaf(terminology, node.code, label_space)
                if default is not None:
                    add_node(node.code, default, CATEGORY_WEIGHT)
        phrases = [
            _Phrase(
                words,
                next(iter(targets.values()))[1],
                tuple((code, weight) for code, (weight, _) in targets.items()),
            )
            for words, targets in table.items()
        ]
        return cls(
            phrases,
            code_list,
            lateral_codes(terminology, code_list),
            MeasureMatcher.build(terminology, code_list),
        )

    @staticmethod
    def _default_leaf(terminology: Terminology, code: str, label_space: set[str]) -> str | None:
        leaves = [d for d in terminology.descendants(code) if d in label_space]
        if not leaves:
            return None
        if len(leaves) == 1:
            return leaves[0]
        defaults = [
            d
            for d in leaves
            if _DEFAULT_LEAF.search(terminology.node(d).title)
            and not _LATER_ENCOUNTER.search(terminology.node(d).title)
        ]
        if not defaults:
            return None

        def rank(code: str) -> tuple[bool, bool, int, bool, str]:
            title = terminology.node(code).title.lower()
            specific = " with " in f" {title} " and "without" not in title
            tail = bool(re.search(r",\s*unspecified\b[^,]*$|without complication", title))
            return (specific, not tail, len(code), not code.endswith("9"), code)

        return min(defaults, key=rank)

    # ------------------------------------------------------------------ matching
    def match(self, text: str) -> dict[str, LexicalHit]:
        """All codes matched in ``text``: code → :class:`LexicalHit`, best score first."""
        hits: dict[str, LexicalHit] = {}

        def add(code: str, score: float, spans: list[tuple[int, int]], text: str, kind: str):
            hit = hits.get(code)
            if hit is None:
                hits[code] = LexicalHit(code, score, list(spans), text, kind)
                return
            for span in spans:
                if span not in hit.spans:
                    hit.spans.append(span)
            if score > hit.score:
                hit.score, hit.phrase, hit.kind = score, text, kind

        def record(
            phrase_id: int,
            kind: str,
            spans: list[tuple[int, int]],
            negated: bool,
            sides: dict[str, tuple[int, int]],
        ):
            phrase = self.phrases[phrase_id]
            base = MATCH_WEIGHTS[kind] * (1.0 + 0.02 * min(len(phrase.words), 6))
            if negated:
                base *= NEGATION_FACTOR
            for code, weight in phrase.targets:
                score = base * weight
                add(code, score, spans, phrase.text, kind)
                for side, side_span in sides.items():
                    for lateral in _side_codes(self.lateral.get(code), side):
                        add(lateral, score * LATERAL_WEIGHT, [*spans, side_span], phrase.text, kind)

        for sentence in sentence_tokens(text):
            content = [(w, s, e, i) for i, (w, s, e, c) in enumerate(sentence) if c]
            words = [w for w, _, _, _ in content]

            def negated(position: int, sentence=sentence) -> bool:
                lo = max(0, position - NEGATION_WINDOW)
                return any(
                    sentence[j][0] in NEGATION_CUES or sentence[j][0] == "no"
                    for j in range(lo, position)
                )

            side_at = {
                j: SIDE_WORDS[w] for j, (w, _, _, _) in enumerate(sentence) if w in SIDE_WORDS
            }

            def sides(first: int, last: int, sentence=sentence, side_at=side_at):
                """Side words within SIDE_WINDOW words of sentence positions first..last."""
                found: dict[str, tuple[int, int]] = {}
                for j, side in side_at.items():
                    if first - SIDE_WINDOW <= j <= last + SIDE_WINDOW:
                        found.setdefault(side, (sentence[j][1], sentence[j][2]))
                return found

            exact_found: set[int] = set()
            for start in range(len(words)):
                for n in range(1, min(self.max_words, len(words) - start) + 1):
                    ids = self._exact.get(tuple(words[start : start + n]))
                    if not ids:
                        continue
                    span = [(content[start][1], content[start + n - 1][2])]
                    near = sides(content[start][3], content[start + n - 1][3]) if side_at else {}
                    for phrase_id in ids:
                        exact_found.add(phrase_id)
                        record(phrase_id, "exact", span, negated(content[start][3]), near)
            present = set(words)
            first: dict[str, int] = {}
            for k, w in enumerate(words):
                first.setdefault(w, k)
            for w in sorted(present):  # sorted: results never depend on string hashing
                for phrase_id, bag in self._bag.get(w, ()):
                    if phrase_id in exact_found or not bag <= present:
                        continue
                    positions = sorted(first[b] for b in bag)
                    spans = [(content[k][1], content[k][2]) for k in positions]
                    near = (
                        sides(content[positions[0]][3], content[positions[-1]][3])
                        if side_at
                        else {}
                    )
                    # the words side by side in another order ("knee pain", or a gloss of a
                    # language that puts adjectives after nouns) are almost an exact match
                    compact = positions[-1] - positions[0] <= len(bag)
                    kind = "compact" if compact else "bag"
                    record(phrase_id, kind, spans, negated(content[positions[0]][3]), near)
        for code, hit in self.measure_hits(text).items():
            add(code, hit.score, hit.spans, hit.phrase, hit.kind)
        for hit in hits.values():
            hit.spans.sort()
        return dict(sorted(hits.items(), key=lambda kv: (-kv[1].score, kv[0])))

    def measure_hits(self, text: str, language: str = "en") -> dict[str, LexicalHit]:
        """Range codes whose value a note states (:mod:`~icdbridge.model.lexical.measurements`),
        scored
        as an exact description match (a category: :data:`NON_LEAF_WEIGHT` of it)."""
        if self.measures is None:
            return {}
        out = {}
        for code, (spans, leaf) in self.measures.match(text, language).items():
            score = MATCH_WEIGHTS["exact"] * (1.0 if leaf else NON_LEAF_WEIGHT)
            out[code] = LexicalHit(code, score, sorted(spans), text[slice(*spans[0])], "measure")
        return out

    def scores(self, text: str) -> dict[str, float]:
        """Code → lexical score for the codes matched in ``text`` (best first)."""
        return {code: hit.score for code, hit in self.match(text).items()}

    def __len__(self) -> int:
        return len(self.phrases)
