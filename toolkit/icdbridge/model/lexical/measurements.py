"""Codes defined by a measured value — body mass index, weeks of gestation, Glasgow coma scale
and NIHSS scores — read off a note.

ICD-10-CM codes some measurements by range: ``Z68.41`` is *Body mass index [BMI] 40.0-44.9,
adult*, ``Z3A.16`` is *16 weeks gestation of pregnancy*, ``R40.243`` is *Glasgow coma scale score
3-8* (``R40.2430`` at an unspecified time), ``R29.723`` is *NIHSS score 23*. A dictionary cannot
match them (a note says ``BMI 41.3``, ``Glasgow 6/15``), and a dataset rarely holds more than a
few of the dozens of range codes, so they are mostly codes never seen in training.
:class:`MeasureMatcher` reads the ranges **off the titles of the release** (nothing is
hard-coded but the wording of the title patterns) and finds the value in a note next to a cue
(``BMI``, ``body mass index``; ``IMC`` in Spanish; ``N weeks of gestation``, ``N semanas de
gestación``; ``Glasgow 8``, ``GCS of 15 points``, ``8-point Glasgow coma scale``, ``de 8 en la
escala de Glasgow``; ``23 points on the NIHSS scale``...), in English or in an original text's
language (:data:`CUES`). A Glasgow score matches its range category and the category's
*unspecified time* code (a note rarely says when the score was taken).

Example:
    >>> from icdbridge.codes import get_terminology
    >>> matcher = MeasureMatcher.build(get_terminology("icd10cm"))
    >>> found = matcher.match("Obese, BMI 41.3 kg/m2, at 16 weeks of gestation.")
    >>> {code: leaf for code, (spans, leaf) in found.items()}
    {'Z68.4': False, 'Z68.41': True, 'Z3A.16': True}
    >>> sorted(matcher.match("Admitted in coma (Glasgow 6/15); NIHSS 23 points."))
    ['R29.72', 'R29.723', 'R40.243', 'R40.2430']
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from icdbridge.codes.base import Terminology

_NUMBER = r"(\d{1,3}(?:[.,]\d+)?)"

TITLE_PATTERNS: dict[str, re.Pattern[str]] = {
    "bmi": re.compile(r"^Body mass index \[BMI\] (?P<range>.+), adult$"),
    "gestation": re.compile(r"^(?P<range>.+) weeks gestation of pregnancy$"),
    "glasgow": re.compile(r"^Glasgow coma scale score (?P<range>\d+-\d+)(?:, unspecified time)?$"),
    "nihss": re.compile(r"^NIHSS score (?P<range>\d+(?:-\d+)?)$"),
}
"""Measure → title pattern of its range codes (the ``range`` group holds the bounds)."""

_GLASGOW_THEN_SCORE = re.compile(r"\b(?:glasgow|gcs)\b\D{0,25}?(\d{1,2})\b", re.I)
"""``Glasgow 6/15``, ``GCS of 15 points``, ``Glasgow de 10``: the same in English and Spanish."""

CUES: dict[str, dict[str, tuple[re.Pattern[str], ...]]] = {
    "bmi": {
        "en": (re.compile(r"\b(?:bmi|body mass index)\b\D{0,20}?" + _NUMBER, re.I),),
        "es": (re.compile(r"\b(?:imc|[ií]ndice de masa corporal)\b\D{0,20}?" + _NUMBER, re.I),),
    },
    "gestation": {
        "en": (
            re.compile(r"\b(\d{1,2})(?:[+.,]\d)?\s*(?:weeks?|wks?)\b\W{0,3}(?:of\s+)?"
                       r"(?:gestation|pregnan|amenorrh)", re.I),
            re.compile(r"\bgestational age\b\D{0,20}?(\d{1,2})\s*(?:weeks?|wks?)\b", re.I),
        ),
        "es": (
            re.compile(r"\b(\d{1,2})(?:[+.,]\d)?\s*semanas?\b\W{0,3}(?:de\s+)?"
                       r"(?:gestaci[oó]n|embarazo|amenorrea|edad gestacional)", re.I),
            re.compile(r"\b(\d{1,2})(?:[+.,]\d)?\s*(?:SG|SEG)\b"),
            re.compile(r"\b(?:embarazada|embarazo|gestante|gestaci[oó]n|edad gestacional)\b"
                       r"\D{0,15}?(\d{1,2})\s*semanas?\b", re.I),
        ),
    },
    "glasgow": {
        "en": (
            _GLASGOW_THEN_SCORE,
            re.compile(r"\b(\d{1,2})[- ]points?\s+(?:on\s+the\s+)?(?:glasgow|gcs)\b", re.I),
        ),
        "es": (
            _GLASGOW_THEN_SCORE,
            re.compile(r"\b(\d{1,2})\s*(?:puntos?\s+)?en\s+la\s+escala\s+(?:del?\s+)?"
                       r"(?:coma\s+de\s+)?(?:glasgow|gcs)\b", re.I),
        ),
    },
    "nihss": {
        "en": (
            re.compile(r"\b(?:nihss|nih stroke scale)\b\D{0,25}?(\d{1,2})\b", re.I),
            re.compile(r"\b(\d{1,2})\s*points?\s+(?:on|in)\s+the\s+(?:nihss|nih)\b", re.I),
        ),
        "es": (
            re.compile(r"\bnihss\b\D{0,25}?(\d{1,2})\b", re.I),
            re.compile(r"\b(\d{1,2})\s*(?:puntos?\s+)?en\s+la\s+escala\s+(?:de\s+)?nihss\b",
                       re.I),
        ),
    },
}  # fmt: skip
"""Measure → language → patterns whose first group is the value in a note."""


@dataclass(frozen=True, slots=True)
class ValueRange:
    """A code and the interval of values it stands for (``low <= value < high``); ``leaf``:
    whether the code is a leaf (``Z68.4``, *40 or greater*, is the category of ``Z68.41``...)."""

    code: str
    low: float
    high: float
    leaf: bool = True


def parse_range(text: str) -> tuple[float, float] | None:
    """The ``[low, high)`` interval of a title's range wording.

    Example:
        >>> parse_range("40.0-44.9"), parse_range("19.9 or less"), parse_range("16")
        ((40.0, 45.0), (-inf, 20.0), (16.0, 17.0))
        >>> parse_range("Greater than 42"), parse_range("Less than 8")
        ((43.0, inf), (-inf, 8.0))
    """
    text = text.strip()
    step = lambda value: 0.1 if "." in value else 1.0  # noqa: E731 - the title's resolution
    if m := re.fullmatch(r"(\d+(?:\.\d)?)-(\d+(?:\.\d)?)", text):
        return float(m[1]), round(float(m[2]) + step(m[2]), 1)
    if m := re.fullmatch(r"(\d+(?:\.\d)?) or less", text):
        return float("-inf"), round(float(m[1]) + step(m[1]), 1)
    if m := re.fullmatch(r"(\d+(?:\.\d)?) or greater", text):
        return float(m[1]), float("inf")
    if m := re.fullmatch(r"(?i)less than (\d+)", text):
        return float("-inf"), float(m[1])
    if m := re.fullmatch(r"(?i)greater than (\d+)", text):
        return float(m[1]) + 1.0, float("inf")
    if m := re.fullmatch(r"(\d+)", text):
        return float(m[1]), float(m[1]) + 1.0
    return None


class MeasureMatcher:
    """Range codes of a release and the cues that give their value (see module docstring).

    Args:
        ranges: Measure → its :class:`ValueRange` codes.
    """

    def __init__(self, ranges: dict[str, list[ValueRange]]) -> None:
        self.ranges = ranges

    @classmethod
    def build(cls, terminology: Terminology, codes: Iterable[str] | None = None) -> MeasureMatcher:
        """Read the range codes off the titles of ``terminology`` (restricted to ``codes``)."""
        allowed = set(codes) if codes is not None else None
        ranges: dict[str, list[ValueRange]] = {name: [] for name in TITLE_PATTERNS}
        for node in terminology.nodes():
            if allowed is not None and node.code not in allowed:
                continue
            for name, pattern in TITLE_PATTERNS.items():
                match = pattern.match(node.title)
                bounds = parse_range(match["range"]) if match else None
                if bounds is not None:
                    leaf = terminology.is_leaf(node.code)
                    ranges[name].append(ValueRange(node.code, *bounds, leaf))
        return cls(ranges)

    def match(
        self, text: str, language: str = "en"
    ) -> dict[str, tuple[list[tuple[int, int]], bool]]:
        """Code → (character spans of the values with their cue, whether the code is a leaf) for
        the values found in ``text``.

        Languages without cues (:data:`CUES`) give no matches.
        """
        out: dict[str, tuple[list[tuple[int, int]], bool]] = {}
        for name, by_language in CUES.items():
            for pattern in by_language.get(language, ()):
                for found in pattern.finditer(text):
                    value = float(found.group(1).replace(",", "."))
                    for item in self.ranges.get(name, ()):
                        if item.low <= value < item.high:
                            spans = out.setdefault(item.code, ([], item.leaf))[0]
                            if found.span() not in spans:
                                spans.append(found.span())
        return out
