"""Word lists and negation settings of the lexical matcher (stop words, negation cues,
generic words that never make a match on their own)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    pass


STOP_WORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "of",
        "and",
        "or",
        "in",
        "on",
        "at",
        "to",
        "for",
        "by",
        "from",
        "as",
        "with",
        "is",
        "are",
        "was",
        "were",
        "be",
        "its",
        "his",
        "her",
        "their",
        "this",
        "that",
        "these",
        "those",
        "into",
    ]
)
"""Function words ignored when matching (``without`` and ``not`` are kept: they change meaning)."""

NEGATION_CUES = frozenset(
    ["no", "not", "without", "denies", "denied", "negative", "absence", "absent", "free"]
)
"""Words that negate a following mention within :data:`NEGATION_WINDOW` words."""
NEGATION_WINDOW = 5
NEGATION_FACTOR = 0.3

GENERIC_WORDS = frozenset(
    [
        "disease",
        "diseases",
        "disorder",
        "disorders",
        "condition",
        "conditions",
        "other",
        "injury",
        "injuries",
        "unspecified",
        "specified",
        "type",
        "site",
        "part",
        "effect",
        "effects",
        "abnormal",
        "finding",
        "findings",
        "syndrome",
        "unknown",
        "encounter",
        "complication",
        "complications",
        "problem",
        "problems",
        "activity",
        "status",
        "exposure",
        "history",
        "state",
        "contact",
    ]
)
"""A shortened phrase made only of these words is too vague to be a match."""

KIND_WEIGHTS: dict[str, float] = {
    "description": 1.0,
    "synonym": 0.95,
    "variant": 0.9,
    "short": 0.85,
    "residual": 0.75,
}
"""Phrase kind → weight."""
MATCH_WEIGHTS: dict[str, float] = {"exact": 1.0, "compact": 0.9, "bag": 0.7}
"""Match kind → weight."""
