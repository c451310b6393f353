"""The lexical channel of the pipeline: matches of a document's text and original, as scores.

Glue between :class:`~icdbridge.model.lexical.matcher.LexicalMatcher` (dictionary matches of
one text) and the pipeline: the matches of a document's text and of the word gloss of its
original-language text (:mod:`~icdbridge.model.lexical.gloss`), combined into one lexical score
per code.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from icdbridge.codes.base import Terminology
    from icdbridge.data import Document
    from icdbridge.model.lexical.gloss import Gloss


ORIGINAL_WEIGHT = 0.9
"""Weight of a lexical match in a document's original-language text (read through a word gloss,
less precise than a match in the text itself)."""


def build_lexical(
    terminology: Terminology,
    codes: Sequence[str],
    index_phrases: Sequence[str] | None = (),
    index_source: str | None = None,
    bases: bool = False,
) -> Any:
    """The lexical channel (:class:`~icdbridge.model.lexical.matcher.LexicalMatcher`) over
    ``codes``; with ``index_phrases`` (Index documents, e.g. ``("index", "drug")``), also the
    phrases of the ICD-10-CM Index material read from ``index_source``
    (:mod:`~icdbridge.model.lexical.index_phrases`; the matcher carries them, and a model saved
    with it keeps them). ``None``: "auto", resolved as training resolves
    :attr:`~icdbridge.model.config.PipelineConfig.index_phrases`
    (:func:`~icdbridge.model.lexical.index_choice.resolve_index_phrases`). ``bases``: the
    Index phrases also target the 7th-character bases in ``codes``
    (:attr:`~icdbridge.model.config.PipelineConfig.seventh_character_bases`; title phrases
    reach them as every code the release does not define: through its longest defined
    prefix)."""
    from icdbridge.model.lexical.matcher import LexicalMatcher

    if index_phrases is None:
        from icdbridge.model.lexical.index_choice import resolve_index_phrases

        choice = resolve_index_phrases(terminology.system, None, index_source)
        index_phrases = choice.documents
    matcher = LexicalMatcher.build(terminology, codes)
    if not index_phrases:
        return matcher
    from icdbridge.model.lexical.index_phrases import load_index_for, with_index_phrases

    index = load_index_for(terminology, index_source)
    return with_index_phrases(matcher, terminology, index, index_phrases, bases)


def lexical_matches(matcher: Any, text: str) -> dict[str, tuple[float, list[tuple[int, int]]]]:
    """Code → (score, character spans) from the lexical channel."""
    return {code: (hit.score, list(hit.spans)) for code, hit in matcher.match(text).items()}


def original_gloss(doc: Document, terminology: Terminology) -> Gloss | None:
    """The English gloss of the document's original-language text (``None`` when it has none,
    or its language cannot be read: :func:`~icdbridge.model.lexical.gloss.readable_original`)."""
    from icdbridge.model.lexical.gloss import glosser_for, readable_original

    if not readable_original(doc):
        return None
    return glosser_for(doc.original_language, terminology).gloss(doc.original_text)


def original_matches(
    matcher: Any, doc: Document, terminology: Terminology, gloss: Gloss | None = None
) -> dict[str, tuple[float, list[tuple[int, int]]]]:
    """Code → (score, character spans into ``doc.original_text``) of the lexical channel over
    the English gloss of the document's original-language text (empty when there is none:
    :func:`original_gloss`, which ``gloss``, when given, is the result of)."""
    gloss = gloss or original_gloss(doc, terminology)
    if gloss is None:
        return {}
    original, language = doc.original_text, doc.original_language
    out: dict[str, tuple[float, list[tuple[int, int]]]] = {}
    for code, (score, spans) in lexical_matches(matcher, gloss.text).items():
        source = [span for s, e in spans if (span := gloss.source_span(s, e)) is not None]
        out[code] = (score, list(dict.fromkeys(source)))
    for code, hit in matcher.measure_hits(original, language).items():
        if hit.score > out.get(code, (0.0, []))[0]:
            out[code] = (hit.score, hit.spans)
    return out


def combined_lexical_scores(
    matches: dict[str, tuple[float, list[tuple[int, int]]]],
    originals: dict[str, tuple[float, list[tuple[int, int]]]],
) -> dict[str, float]:
    """Code → lexical score of every matched code: the best of its match in the text and
    :data:`ORIGINAL_WEIGHT` times its match in the original text."""
    scores = {code: score for code, (score, _) in matches.items()}
    for code, (score, _) in originals.items():
        scores[code] = max(scores.get(code, 0.0), ORIGINAL_WEIGHT * score)
    return scores


def document_lexical_scores(
    matcher: Any, doc: Document, terminology: Terminology, use_original: bool = True
) -> dict[str, float]:
    """Code → lexical score (:func:`combined_lexical_scores`) of one document, best first: the
    lexical channel alone."""
    matches = lexical_matches(matcher, doc.text)
    originals = original_matches(matcher, doc, terminology) if use_original else {}
    scores = combined_lexical_scores(matches, originals)
    return dict(sorted(scores.items(), key=lambda item: (-item[1], item[0])))


def lexical_candidates(
    matcher: Any,
    docs: Sequence[Document],
    terminology: Terminology,
    siblings_per_code: int = 5,
) -> list[str]:
    """Codes the lexical channel finds in ``docs`` (their text and original text) plus a few
    hierarchy siblings of each.

    A cheap label space for a handful of notes: it avoids embedding a whole release.
    """
    from icdbridge.model.labels.tree import siblings

    codes: dict[str, None] = {}
    for doc in docs:
        for code in document_lexical_scores(matcher, doc, terminology):
            codes.setdefault(code)
            for sibling in siblings(terminology, code, siblings_per_code):
                if terminology.is_leaf(sibling):
                    codes.setdefault(sibling)
    return list(codes)
