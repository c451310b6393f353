"""Subsumed matches: a code whose every mention is part of a longer match of another code.

Coders code to the most specific term the note states: in "type 2 diabetes mellitus with
diabetic amyotrophy" the phrase of ``E11.44`` covers the words that also match ``E11.9``'s
"type 2 diabetes mellitus", and the note does not state the unspecified code. A dictionary
matcher finds both; the longest-match rule of dictionary taggers (MetaMap, cTAKES) keeps the
longer one. Here the shorter one is not dropped, it is *flagged*: a code is **subsumed** when all
the characters its matches cover in a text lie inside the matches of one other code that covers
strictly more. The flag is a pair feature (``lexical_subsumed``) the network weighs; a code
mentioned once on its own anywhere in the note is not subsumed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence


def covered(spans: Iterable[Sequence[int]]) -> frozenset[int]:
    """The character offsets covered by ``spans`` (``(start, end, ...)``, end exclusive).

    Example:
        >>> sorted(covered([(2, 4), (3, 6, 0.9)]))
        [2, 3, 4, 5]
    """
    return frozenset(i for span in spans for i in range(span[0], span[1]))


def subsumed_codes(spans_by_code: Mapping[str, Iterable[Sequence[int]]]) -> frozenset[str]:
    """The codes of one text whose matched characters all lie inside the matches of one other
    code that covers more of the text (see the module docstring).

    Args:
        spans_by_code: Code → the character spans of its matches in one text
            (``(start, end, ...)``: extra items such as a score are ignored).

    Returns:
        The subsumed codes (a code with no span is never subsumed).

    Example:
        >>> text = "type 2 diabetes mellitus with diabetic amyotrophy; hypertension"
        >>> spans = {"E11.44": [(0, 49)], "E11.9": [(0, 24)], "I10": [(51, 63)]}
        >>> sorted(subsumed_codes(spans))
        ['E11.9']
        >>> sorted(subsumed_codes({"E11.9": [(0, 24), (70, 80)], "E11.44": [(0, 49)]}))
        []
    """
    cover = {code: covered(spans) for code, spans in spans_by_code.items()}
    by_size = sorted(cover.items(), key=lambda item: -len(item[1]))
    out = set()
    for code, chars in cover.items():
        if not chars:
            continue
        for other, wider in by_size:
            if len(wider) <= len(chars):
                break
            if other != code and chars <= wider:
                out.add(code)
                break
    return frozenset(out)


def subsumed_everywhere(
    texts: Sequence[Mapping[str, Iterable[Sequence[int]]]],
) -> frozenset[str]:
    """The codes subsumed (:func:`subsumed_codes`) in every text of ``texts`` that matches them:
    a note and its original-language text each give their own matches, and a code mentioned on
    its own in either is not subsumed.

    Example:
        >>> english = {"E11.44": [(0, 49)], "E11.9": [(0, 24)]}
        >>> sorted(subsumed_everywhere([english, {"E11.9": [(0, 20)]}]))
        []
        >>> sorted(subsumed_everywhere([english, {}]))
        ['E11.9']
    """
    flagged = [subsumed_codes(spans) for spans in texts]
    pairs = zip(texts, flagged, strict=True)
    on_their_own = set().union(*(spans.keys() - sub for spans, sub in pairs))
    return frozenset().union(*flagged) - on_their_own
