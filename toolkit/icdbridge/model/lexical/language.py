"""Language rules of the lexical channel's original-text reading: accent folding, stemming,
stop words (Spanish today)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    pass


_WORD = re.compile(r"[a-z0-9]+")


def fold(text: str) -> str:
    """Lower-case and strip accents (``Pénfigo`` → ``penfigo``)."""
    decomposed = unicodedata.normalize("NFD", text.lower())
    return "".join(c for c in decomposed if unicodedata.category(c) != "Mn")


def spanish_stem(word: str) -> str:
    """Light Spanish stemming of a folded word: plural (``-es``, ``-s``) and gender (``-o``/``-a``)
    endings removed, so ``venosa``, ``venoso`` and ``venosos`` meet; ``-sis``/``-tis`` kept.

    Example:
        >>> [spanish_stem(w) for w in ("venosas", "venoso", "lumbares", "crisis", "cicatrices")]
        ['venos', 'venos', 'lumbar', 'crisis', 'cicatriz']
    """
    if len(word) > 5 and word.endswith("ces"):
        word = word[:-3] + "z"
    elif len(word) > 4 and re.search(r"[^aeiou]es$", word):
        word = word[:-2]
    elif len(word) > 3 and word.endswith("s") and not word.endswith(("sis", "tis", "us")):
        word = word[:-1]
    if len(word) > 4 and word[-1] in "ao":
        word = word[:-1]
    return word


@dataclass(frozen=True)
class LanguageRules:
    """How the words of one language are cut, normalised and glossed.

    Attributes:
        code: ISO 639-1 code.
        stop_words: Folded function words that carry no coding meaning (dropped).
        stem: Stemmer of a folded word (applied to titles and notes alike).
        fixed: Folded word → English words that the gloss always uses, matched on the word as
            written: negation cues (kept so the lexical channel's negation rule works) and
            clinical abbreviations.
        lexicon: Folded word → English words of clinical words that the title table lacks or
            links wrongly, matched on the word's stem (so every inflection shares one entry).
        cognate_prefixes: ``(pattern, replacement)`` of word-initial spellings that differ
            regularly from English (Spanish ``escler-`` / ``scler-``), tried by the cognate
            fallback when the word itself has no cognate.
    """

    code: str
    stop_words: frozenset[str]
    stem: Callable[[str], str]
    fixed: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    lexicon: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    cognate_prefixes: tuple[tuple[str, str], ...] = ()

    @cached_property
    def _stemmed_lexicon(self) -> dict[str, tuple[str, ...]]:
        return {self.stem(word): english for word, english in self.lexicon.items()}

    def lexicon_entry(self, stem: str) -> tuple[str, ...]:
        """English words of a stemmed word in :attr:`lexicon` (empty: not there)."""
        return self._stemmed_lexicon.get(stem, ())

    def prefix_variants(self, word: str) -> list[str]:
        """``word`` respelled by each matching :attr:`cognate_prefixes` rule."""
        return [
            variant
            for pattern, replacement in self.cognate_prefixes
            if (variant := re.sub(pattern, replacement, word, count=1)) != word
        ]

    def words(self, text: str) -> list[tuple[str, int, int]]:
        """``(normalised word, start, end)`` of each word of ``text`` that is not a stop word.

        Fixed words (:attr:`fixed`) are kept unstemmed; offsets index ``text``.
        """
        out = []
        for match in _WORD.finditer(fold(text)):
            word = match.group()
            if word in self.fixed:
                out.append((word, match.start(), match.end()))
            elif word not in self.stop_words:
                out.append((self.stem(word), match.start(), match.end()))
        return out


# fmt: off
SPANISH_STOP_WORDS = frozenset([
    "a", "al", "ante", "bajo", "cada", "como", "con", "contra", "cual", "cuales", "cuando", "de",
    "del", "desde", "donde", "durante", "e", "el", "ella", "ellas", "ellos", "en", "entre", "era",
    "es", "esta", "estaba", "este", "esto", "fue", "ha", "habia", "han", "hasta", "la", "las",
    "le", "les", "lo", "los", "mas", "me", "mediante", "muy", "o", "para", "pero", "por",
    "porque", "que", "quien", "se", "segun", "ser", "si", "sido", "siendo", "sobre", "su", "sus",
    "tambien", "tras", "u", "un", "una", "unas", "uno", "unos", "ya", "y",
])
# fmt: on
"""Folded Spanish function words (articles, prepositions, conjunctions, pronouns, auxiliaries)."""

# fmt: off
SPANISH_ABBREVIATIONS: dict[str, tuple[str, ...]] = {
    "hta": ("hypertension",),
    "dm": ("diabetes", "mellitus"),
    "vhc": ("hepatitis", "c"),
    "vhb": ("hepatitis", "b"),
    "vih": ("hiv",),
    "cmv": ("cytomegalovirus",),
    "sarm": ("methicillin", "resistant", "staphylococcus", "aureus"),
    "epoc": ("chronic", "obstructive", "pulmonary", "disease"),
    "iam": ("acute", "myocardial", "infarction"),
    "erc": ("chronic", "kidney", "disease"),
    "irc": ("chronic", "kidney", "disease"),
    "hsd": ("subdural", "hemorrhage"),
    "hsa": ("subarachnoid", "hemorrhage"),
    "tbc": ("tuberculosis",),
    "fa": ("atrial", "fibrillation"),
}
"""Spanish clinical abbreviations → English words (written as they are, folded)."""

SPANISH_LEXICON: dict[str, tuple[str, ...]] = {
    "deficit": ("deficiency",),  # the one title pair links it to "poor" (fetal growth)
    "tumoracion": ("neoplasm", "mass"),
    "debilidad": ("weakness",),
    "cardiopatia": ("heart", "disease"),
    "hepatopatia": ("liver", "disease"),
    "sangrado": ("bleeding",),
    "rectorragia": ("rectal", "bleeding"),
    "litiasis": ("calculus",),
    "proptosis": ("exophthalmos",),
    "estrenimiento": ("constipation",),
    "trombopenia": ("thrombocytopenia",),
    "ferropenia": ("iron", "deficiency"),
    "ferropenica": ("iron", "deficiency"),
    "anemizacion": ("anemia",),
    "hipertenso": ("hypertension",),
    "hipotenso": ("hypotension",),
    "lumbalgia": ("low", "back", "pain"),
    "epigastralgia": ("epigastric", "pain"),
    "microhematuria": ("microscopic", "hematuria"),
    "dislipemia": ("hyperlipidemia",),
    "polaquiuria": ("frequency", "micturition"),
    "escalofrio": ("chills",),
    "hipopotasemia": ("hypokalemia",),
    "febricula": ("fever",),
    "cigarrillo": ("cigarettes",),
    "fumador": ("nicotine", "dependence"),  # ICD-10-CM index: Smoker — see Dependence, nicotine
    "hepatocarcinoma": ("liver", "cell", "carcinoma"),
    "poliquistosis": ("polycystic",),
    "hipercoagulabilidad": ("hypercoagulable",),
    "molestia": ("discomfort",),
    "ictus": ("cerebral", "infarction"),
    "acufeno": ("tinnitus",),
    "gripe": ("influenza",),
    "enolismo": ("alcohol", "abuse"),
}
"""Spanish clinical words → English words, for words the WHO title table lacks (or links
wrongly). Like :mod:`icdbridge.model.lexical.variants`, written from the words the gloss dropped
in the evidence spans of CodiEsp **train** notes (never dev): general clinical Spanish, nothing
specific to a code."""
# fmt: on

SPANISH = LanguageRules(
    code="es",
    stop_words=SPANISH_STOP_WORDS,
    stem=spanish_stem,
    fixed={
        "no": ("no",),
        "ni": ("no",),
        "sin": ("without",),
        "niega": ("denies",),
        "negativo": ("negative",),
        "negativa": ("negative",),
        "negativos": ("negative",),
        "negativas": ("negative",),
        "ausencia": ("absence",),
        "descarta": ("not",),
        "descartandose": ("not",),
        "ambos": ("bilateral",),
        "ambas": ("bilateral",),
        "oi": ("left", "eye"),
        "od": ("right", "eye"),
        **SPANISH_ABBREVIATIONS,
    },
    lexicon=SPANISH_LEXICON,
    cognate_prefixes=(
        (r"^es(?=[bcdfgklmnpqrstvz])", "s"),  # escleritis / scleritis, escotoma / scotoma
        (r"^seud", "pseud"),  # seudoaneurisma / pseudoaneurysm
        (r"^sic", "psych"),  # sicosis / psychosis
        (r"^neum", "pneum"),  # neumococo / pneumococcus
    ),
)

LANGUAGES: dict[str, LanguageRules] = {"es": SPANISH}
"""Language → its word rules; a language is read when it is here and has a WHO title table
(:data:`icdbridge.codes.translations.TITLE_SOURCES`)."""
