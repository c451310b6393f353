"""The lexical channel: dictionary matching of titles and inclusion terms in a note, the
clinical-English variant tables, measurement rules, word overlap, and the word gloss that reads
a note's original-language text.
"""

from typing import TYPE_CHECKING

from icdbridge.model._exports import lazy_package

if TYPE_CHECKING:  # the public names, imported on first use (see _exports)
    from .channel import (
        ORIGINAL_WEIGHT,
        build_lexical,
        combined_lexical_scores,
        document_lexical_scores,
        lexical_candidates,
        lexical_matches,
        original_gloss,
        original_matches,
    )
    from .gloss import (
        Gloss,
        Glosser,
        WordTranslator,
        check_language,
        cognate_key,
        cognate_ratio,
        describe_unread,
        glosser_for,
        readable_original,
        terminology_words,
        unread_originals,
    )
    from .language import (
        LANGUAGES,
        SPANISH,
        SPANISH_ABBREVIATIONS,
        SPANISH_LEXICON,
        SPANISH_STOP_WORDS,
        LanguageRules,
        fold,
        spanish_stem,
    )
    from .laterality import lateral_codes
    from .matcher import (
        CATEGORY_WEIGHT,
        LATERAL_WEIGHT,
        MAX_PHRASE_WORDS,
        NON_LEAF_WEIGHT,
        SIDE_WINDOW,
        SIDE_WORDS,
        LexicalHit,
        LexicalMatcher,
        content_words,
        sentence_break,
        sentence_tokens,
        shortened_forms,
        stem,
    )
    from .measurements import CUES, TITLE_PATTERNS, MeasureMatcher, ValueRange, parse_range
    from .overlap import WordOverlap, document_words, sentence_words, specific_words
    from .variants import PHRASE_VARIANTS, WORD_VARIANTS, coordination_variants, phrase_variants
    from .vocabulary import (
        GENERIC_WORDS,
        KIND_WEIGHTS,
        MATCH_WEIGHTS,
        NEGATION_CUES,
        NEGATION_FACTOR,
        NEGATION_WINDOW,
        STOP_WORDS,
    )

__all__, __getattr__, __dir__ = lazy_package(__name__, __file__)
