"""Title similarity: the one lexical scorer of the drift audit and the ``best`` policy.

Dependency-free (it reuses the light stemming and word variants of the lexical channel,
:func:`icdbridge.model.lexical.matcher.content_words`, which imports neither torch nor numpy).

How two titles are compared (:func:`title_similarity`):

1. **Words.** Accents are removed (``Charcôt`` → ``charcot``), British spellings folded
   (``haem`` → ``hem``, ``ae``/``oe`` → ``e``: ``oesophagitis`` = ``esophagitis``), words
   lower-cased and lightly stemmed, function words and qualifiers (``other``, ``unspecified``,
   ``specified``, ``NOS``, ``NEC``) dropped.
2. **Polarity.** A word after ``non``/``non-``/``without``/``not``/``no`` is kept as a negated
   word (``non-infectious`` → ``¬infectious``). When one title negates a word the other states
   plainly (``non-infectious`` vs ``infectious``; ``without organ failure`` vs ``with organ
   failure``) the titles **contradict** each other and the similarity is 0, whatever else they
   share.
3. **Coverage.** Each title's words are looked for in the other title *and its context*
   (its category's title and inclusion terms, passed by the caller): WHO subcategory titles are
   often only the words that differ from the category (WHO T42.4 "Benzodiazepines" under
   "Poisoning by antiepileptic, sedative-hypnotic ... drugs"). The similarity is the smaller of
   the two coverages: 1.0 when every word of each title is found on the other side, 0.0 when
   none is.

Example:
    >>> title_similarity("Amebiasis", "Amoebiasis")
    1.0
    >>> title_similarity("SIRS of non-infectious origin", "SIRS of infectious origin")
    0.0
    >>> round(title_similarity("Alcohol abuse", "Alcohol harmful use"), 2)  # 1/2 and 1/3
    0.33
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from functools import lru_cache

NEGATORS = frozenset({"non", "without", "not", "no"})
"""Words that negate the next content word."""

QUALIFIERS = frozenset(
    {"other", "unspecified", "specified", "nos", "nec", "elsewhere", "classified", "type"}
)
"""Words left out of the comparison: they say how residual a code is, not what it is about."""

ROMAN = {"ii": "2", "iii": "3", "iv": "4"}
"""Roman numerals read as digits (``type II`` = ``type 2``)."""

NEGATED = "¬"
"""Prefix of a negated word."""

_SPELLING = (
    (re.compile(r"aem"), "em"),
    (re.compile(r"oe"), "e"),
    (re.compile(r"ae"), "e"),
    (re.compile(r"isation"), "ization"),
    (re.compile(r"our"), "or"),
    (re.compile(r"elling\b"), "eling"),
    (re.compile(r"ases\b"), "asis"),
    (re.compile(r"tre\b"), "ter"),
)
_RAW_WORD = re.compile(r"[a-z0-9]+")


def fold(text: str) -> str:
    """Lower-case ``text`` without accents and with British spellings folded to American."""
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c)).lower()
    for pattern, replacement in _SPELLING:
        text = pattern.sub(replacement, text)
    return text


@lru_cache(maxsize=200_000)
def title_words(text: str) -> frozenset[str]:
    """Content words of a title: folded, stemmed, qualifiers dropped, negated words marked."""
    from icdbridge.model.lexical.matcher import STOP_WORDS, stem

    out: set[str] = set()
    negate = False
    for word in _RAW_WORD.findall(fold(text).replace("'s", "")):
        if word in NEGATORS:
            negate = True
            continue
        if negate and word in ("mention", "of", "as"):
            continue  # "without mention of X" = "without X"
        if word.startswith("non") and len(word) > 6 and word not in ("nonunion",):
            word, negate = word[3:], True
        if word in STOP_WORDS or word in QUALIFIERS or word == "with":
            continue
        stemmed = stem(ROMAN.get(word, word))
        out.add(NEGATED + stemmed if negate else stemmed)
        negate = False
    return frozenset(out)


def contradicts(a: frozenset[str], b: frozenset[str]) -> bool:
    """Whether one word set negates a word the other states plainly (and only plainly)."""
    for mine, theirs in ((a, b), (b, a)):
        for word in mine:
            if not word.startswith(NEGATED):
                continue
            plain = word[1:]
            if plain in theirs and plain not in mine and word not in theirs:
                return True
    return False


def title_similarity(
    a: str,
    b: str,
    a_context: Iterable[str] = (),
    b_context: Iterable[str] = (),
) -> float:
    """Lexical similarity of two titles in ``[0, 1]`` (see the module docstring).

    Args:
        a: One title.
        b: The other title.
        a_context: Texts around ``a`` (its category's title, inclusion terms) where ``b``'s words
            may be found too.
        b_context: Same for ``b``.
    """
    return min(coverages(a, b, a_context, b_context))


def coverages(
    a: str, b: str, a_context: Iterable[str] = (), b_context: Iterable[str] = ()
) -> tuple[float, float]:
    """The two coverages behind :func:`title_similarity`: the share of ``a``'s words found
    around ``b``, and of ``b``'s words found around ``a`` (both 0 on a contradiction)."""
    words_a, words_b = title_words(a), title_words(b)
    if contradicts(words_a, words_b):
        return 0.0, 0.0
    around_a = words_a.union(*(title_words(t) for t in a_context))
    around_b = words_b.union(*(title_words(t) for t in b_context))
    cover_b = len(words_b & around_a) / len(words_b) if words_b else 1.0
    cover_a = len(words_a & around_b) / len(words_a) if words_a else 1.0
    return cover_a, cover_b


RESIDUAL_WORDS = re.compile(r"\b(unspecified|nos|not otherwise specified)\b", re.IGNORECASE)
"""Title words that make a code an unspecified / residual one."""


def is_unspecified(code: str, title: str | None) -> bool:
    """Whether a code is an unspecified or residual one: ICD-11 ``.Z``, an ICD-10/ICD-9 code whose
    last character is ``9`` after the dot, or a title saying ``unspecified`` / ``NOS``.

    Example:
        >>> is_unspecified("BA00.Z", "Essential hypertension, unspecified")
        True
        >>> is_unspecified("401.0", "Malignant essential hypertension")
        False
    """
    if title and RESIDUAL_WORDS.search(title):
        return True
    _, dot, tail = code.partition(".")
    return bool(dot) and (tail.endswith("Z") or tail.endswith("9")) and "&" not in code
