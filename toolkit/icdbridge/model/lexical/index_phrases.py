"""ICD-10-CM Index material as phrases of the lexical channel.

Coders find a code through the Alphabetic Index: note wording → main term → subterms → code.
The words of an Index path are often exactly the ones a code's title lacks (``Diabetes,
diabetic › with › amyotrophy`` → ``E11.44`` *Type 2 diabetes mellitus with diabetic
amyotrophy* is easy; ``Pneumonia › aspiration`` → ``J69.0`` *Pneumonitis due to inhalation of
food and vomit* is not). This module turns the Index material (:mod:`icdbridge.codes.index`)
into phrases of the :class:`~icdbridge.model.lexical.matcher.LexicalMatcher`:

* **Index terms** (``"index"``: Index to Diseases and Injuries; ``"eindex"``: External Cause
  Index): every term that leads to a code gives the content words of its path, main term first
  (nonessential modifiers left out: they are optional words). A title written as word forms
  (``Diabetes, diabetic``, ``Obstruction, obstructed, obstructive``) gives one phrase per form;
  an inverted title (``Effect, adverse``) its head word. A resolved "see" reference is another
  path to the code it names; category notes are not used.
* **Table of Drugs and Chemicals** (``"drug"``): a substance (with its subterms) is coded only
  with what happened — each cell is the substance's words plus a cue of its column
  (:data:`DRUG_CUES`: ``poisoning`` / ``overdose`` / ``intoxication`` → accidental poisoning,
  ``suicide`` → intentional self-harm, ``adverse effect`` / ``induced`` → adverse effect...).
* **Neoplasm Table** (``"neoplasm"``): a site (``Neoplasm, neoplastic`` left out) plus a cue of
  its behaviour column (:data:`NEOPLASM_CUES`: ``carcinoma`` / ``cancer`` → malignant primary,
  ``metastasis`` → malignant secondary, ``benign``, ``in situ``...).

A printed code becomes the phrase's target when the label space holds it; a dash code or a
category (``C34.9-``, ``T39.1X1``) also targets its children in the label space, at
:data:`CHILD_FACTOR`, when they are at most :data:`MAX_CHILDREN` (subsequent-encounter and
sequela codes left out); a code the label space lacks targets its billable codes in the label
release (``S32.40-``) when they are at most :data:`MAX_CHILDREN`. A phrase reaching more codes is
left out: it cannot tell them apart.

The words of the Index are English: a note's original-language text meets them through the
channel's word gloss (:mod:`~icdbridge.model.lexical.gloss`), like every other phrase.

Example:
    >>> from icdbridge.codes import get_terminology
    >>> from icdbridge.codes.index import load_index
    >>> from icdbridge.model.lexical import LexicalMatcher
    >>> terminology = get_terminology("icd10cm")
    >>> base = LexicalMatcher.build(terminology, ["T39.1X1", "T39.1X2", "T39.1X5"])
    >>> lexical = with_index_phrases(base, terminology, load_index())  # doctest: +SKIP
    >>> sorted(lexical.match("Paracetamol overdose."))  # doctest: +SKIP
    ['T39.1X1']
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from icdbridge.errors import IcdbridgeError
from icdbridge.model.lexical.matcher import (
    MAX_PHRASE_WORDS,
    LexicalMatcher,
    _Phrase,
    content_words,
)
from icdbridge.model.lexical.vocabulary import GENERIC_WORDS

if TYPE_CHECKING:
    from icdbridge.codes.base import Terminology
    from icdbridge.codes.index import AlphabeticIndex, IndexTerm

INDEX_SOURCES: tuple[str, ...] = ("index", "eindex", "drug", "neoplasm")
"""The Index documents that can give phrases (:attr:`PipelineConfig.index_phrases` values)."""


class UnknownIndexDocumentError(IcdbridgeError, ValueError):
    """An Index document name that is not one of :data:`INDEX_SOURCES`."""


INDEX_WEIGHT = 0.9
"""Weight of an Index path phrase (as a clinical variant of a title)."""
TABLE_WEIGHT = 0.9
"""Weight of a drug- or neoplasm-table cell phrase (substance or site plus a column cue)."""
CHILD_FACTOR = 0.95
"""Weight, relative to the phrase, of a child of the printed code (``C34.90`` for ``C34.9-``)."""
MAX_CHILDREN = 6
"""Most codes a printed code may expand to (children in the label space, or billable codes)."""
MAX_FORMS = 6
"""Most phrases one Index term gives (word forms of its titles combined)."""

DRUG_CUES: dict[str, tuple[str, ...]] = {
    "poisoning_accidental": ("poisoning", "intoxication", "overdose", "toxicity", "ingestion"),
    "poisoning_intentional": ("suicide", "suicidal", "autolytic", "intentional", "self harm"),
    "poisoning_assault": ("assault", "homicidal"),
    "adverse_effect": ("adverse effect", "side effect", "induced", "reaction", "allergy"),
    "underdosing": ("underdosing", "underdose", "insufficient dose"),
}
"""Drug-table column → words of a note that name it (each cue is added to the substance's
words; ``poisoning_undetermined`` has none: a note saying so is rare)."""

NEOPLASM_CUES: dict[str, tuple[str, ...]] = {
    "malignant_primary": (
        "malignant",
        "carcinoma",
        "cancer",
        "adenocarcinoma",
        "sarcoma",
        "malignancy",
    ),
    "malignant_secondary": ("metastasis", "metastases", "metastatic", "secondary malignant"),
    "in_situ": ("in situ",),
    "benign": ("benign",),
    "uncertain": ("uncertain behavior",),
    "unspecified": ("tumor", "neoplasm", "neoplasia"),
}
"""Neoplasm-table column → words of a note that name the behaviour (added to the site's
words)."""

_BRACKETS = re.compile(r"\s*[\(\[][^\)\]]*[\)\]]")
_QUALIFIER = re.compile(r"\b(NEC|NOS)\b")
_LATER = re.compile(r"subsequent encounter|sequela", re.IGNORECASE)
_NEOPLASM_MAIN = "neoplasm"


def _forms(title: str, main: bool) -> list[str]:
    """Word forms of one title: its first comma part, and the other parts that are forms of
    it (a main term: sharing its first four letters, ``Diabetes, diabetic``) or single words
    (a subterm: ``puerperal, postpartum``)."""
    cleaned = _QUALIFIER.sub(" ", _BRACKETS.sub(" ", title))
    parts = [p.strip() for p in cleaned.split(",") if p.strip()]
    if not parts:
        return [""]
    head = parts[0]
    out = [head]
    for part in parts[1:]:
        if main:
            if part.lower()[:4] == head.lower()[:4] and " " not in part:
                out.append(part)
        elif " " not in part or " " not in head:
            out.append(part)
    return out


def path_phrases(titles: Sequence[str], cue: str = "") -> list[tuple[str, ...]]:
    """Content-word phrases of an Index path (main term first), each with ``cue``'s words.

    Example:
        >>> path_phrases(("Diabetes, diabetic", "with", "amyotrophy"))
        [('diabete', 'amyotrophy'), ('diabetic', 'amyotrophy')]
        >>> path_phrases(("Acetaminophen",), "overdose")
        [('acetaminophen', 'overdose')]
    """
    combos: list[list[str]] = [[]]
    for level, title in enumerate(titles):
        forms = _forms(title, main=level == 0)
        combos = [[*c, f] for c in combos for f in forms][:MAX_FORMS]
    out: list[tuple[str, ...]] = []
    for combo in combos:
        words = tuple(dict.fromkeys(content_words(" ".join([*combo, cue]))))
        if not words or len(words) > MAX_PHRASE_WORDS:
            continue
        if all(w in GENERIC_WORDS or w.isdigit() for w in words):
            continue
        out.append(words)
    return list(dict.fromkeys(out))


class IndexTargets:
    """Printed Index code → (label-space code, factor) targets (see module docstring);
    :attr:`how` records how each printed code landed (:func:`target_summary`)."""

    def __init__(
        self,
        terminology: Terminology,
        codes: Iterable[str],
        index: AlphabeticIndex,
        bases: bool = False,
    ):
        self.terminology = terminology
        self.space = set(codes)
        self.index = index
        self._cache: dict[str, tuple[tuple[str, float], ...]] = {}
        self.how: dict[str, str] = {}
        # with ``bases``: a target's 7th-character base in the label space is a target too
        self._base: dict[str, str] = {}
        if bases:
            from icdbridge.codes.bases import seventh_character_bases
            from icdbridge.model.labels.texts import nearest_defined

            for base in seventh_character_bases(terminology):
                if base in self.space and (code := nearest_defined(terminology, base)):
                    self._base[code] = base

    def __call__(self, printed: str) -> tuple[tuple[str, float], ...]:
        found = self._cache.get(printed)
        if found is None:
            found = self._targets(printed)
            if self._base:
                found = tuple(
                    dict.fromkeys(
                        [*found, *((self._base[c], f) for c, f in found if c in self._base)]
                    )
                )
            self._cache[printed] = found
        return found

    def _targets(self, printed: str) -> tuple[tuple[str, float], ...]:
        from icdbridge.codes.icd10cm import canonical_icd10
        from icdbridge.codes.index.resolve import undash

        terminology = self.terminology
        code = canonical_icd10(undash(printed).upper())
        if code is not None and code in self.space:
            if terminology.get(code) is None or terminology.is_leaf(code):
                self.how[printed] = "in the label space"
                return ((code, 1.0),)
            children = [
                c
                for c in terminology.children(code)
                if c in self.space and not _LATER.search(terminology.node(c).title)
            ]
            if len(children) > MAX_CHILDREN:
                self.how[printed] = "in the label space (too many children to add)"
                return ((code, 1.0),)
            self.how[printed] = "in the label space, with its children"
            return ((code, 1.0), *((c, CHILD_FACTOR) for c in children))
        expansion = self.index.expansion(printed, terminology.release)
        targets = [
            c
            for c in expansion.targets
            if c in self.space and not _LATER.search(terminology.node(c).title)
        ]
        if expansion.status == "not_defined":
            self.how[printed] = "not defined in the label release"
        elif not targets:
            self.how[printed] = "expands outside the label space"
        elif len(targets) > MAX_CHILDREN:
            self.how[printed] = "expands to too many codes (not used)"
        else:
            self.how[printed] = "expanded to billable codes"
            return tuple((c, CHILD_FACTOR) for c in targets)
        return ()


def index_phrases(
    index: AlphabeticIndex,
    terminology: Terminology,
    codes: Iterable[str],
    sources: Iterable[str] = INDEX_SOURCES,
    bases: bool = False,
) -> Iterator[tuple[tuple[str, ...], str, str, float]]:
    """Phrases of the Index material for a label space: ``(words, text, code, weight)``.

    Args:
        index: The loaded Index (:func:`~icdbridge.codes.index.load_index`).
        terminology: The ICD-10-CM release of the label space (codes are expanded in it).
        codes: The label space.
        sources: Index documents used (:data:`INDEX_SOURCES`).
        bases: A target's 7th-character base (``S62.92X`` for ``S62.92``,
            :func:`~icdbridge.codes.bases.seventh_character_bases`) is a target too, with
            the same weight, when the label space has it.

    Raises:
        UnknownIndexDocumentError: an unknown source (a :class:`ValueError`).
    """
    sources = tuple(sources)
    check_documents(sources)
    targets = IndexTargets(terminology, codes, index, bases)
    for path in index.code_paths():
        term: IndexTerm = path.term
        if path.source not in sources or path.relation == "see_category":
            continue
        if path.relation == "cell":
            yield from _cell_phrases(path.term, path.column, path.code, targets)
            continue
        text = path.text()
        for words in path_phrases(term.titles):
            for code, factor in targets(path.code):
                yield words, text, code, INDEX_WEIGHT * factor


def target_summary(
    index: AlphabeticIndex,
    terminology: Terminology,
    codes: Iterable[str],
    sources: Iterable[str] = INDEX_SOURCES,
) -> dict[str, object]:
    """How the codes the Index prints land in a label space as phrase targets.

    Returns:
        ``printed`` (distinct printed codes of ``sources``), ``by_outcome`` (outcome → count:
        in the label space as printed, with children, expanded to billable codes, too many
        codes, outside the label space, not defined in the label release), ``not_defined``
        (those codes) and ``phrases`` (phrase-code pairs).
    """
    from collections import Counter

    codes, sources = list(codes), tuple(sources)
    pairs = sum(1 for _ in index_phrases(index, terminology, codes, sources))
    targets = IndexTargets(terminology, codes, index)
    # every printed code of the sources, also those whose terms give no phrase
    for path in index.code_paths():
        if path.source in sources and path.relation != "see_category":
            targets(path.code)
    outcomes = Counter(targets.how.values())
    return {
        "label_release": terminology.release,
        "printed": len(targets.how),
        "by_outcome": dict(sorted(outcomes.items())),
        "not_defined": sorted(
            c for c, how in targets.how.items() if how == "not defined in the label release"
        ),
        "phrase_code_pairs": pairs,
    }


def _cell_phrases(
    term: IndexTerm, column: str, printed: str, targets: IndexTargets
) -> Iterator[tuple[tuple[str, ...], str, str, float]]:
    if term.source == "neoplasm":
        cues = NEOPLASM_CUES.get(column, ())
        titles = [t for t in term.titles if not t.lower().startswith(_NEOPLASM_MAIN)]
    else:
        cues = DRUG_CUES.get(column, ())
        titles = list(term.titles)
    if not titles:
        return
    text = " › ".join(term.titles)
    for cue in cues:
        for words in path_phrases(titles, cue):
            for code, factor in targets(printed):
                yield words, f"{text} › {cue}", code, TABLE_WEIGHT * factor


def check_documents(documents: Iterable[str]) -> None:
    """Refuse a name that is not an Index document (:data:`INDEX_SOURCES`).

    Raises:
        UnknownIndexDocumentError: the names not known (a :class:`ValueError`).
    """
    unknown = sorted(set(documents) - set(INDEX_SOURCES))
    if unknown:
        raise UnknownIndexDocumentError(
            f"unknown Index sources {unknown}; choose from {list(INDEX_SOURCES)}"
        )


@dataclass(frozen=True)
class IndexPhrases:
    """The Index phrases of a lexical channel: what :func:`with_index_phrases` adds to its
    phrase table, kept so that a saved model carries them (:mod:`.index_store`).

    Attributes:
        documents: The Index documents they come from (:data:`INDEX_SOURCES`).
        phrases: One entry per distinct phrase (its content words), in Index order: the text of
            the first Index path that gives it, and each target code with its best weight —
            the ``(words, text, code, weight)`` rows of :func:`index_phrases`, grouped.
        provenance: Where they come from: ``system`` (the code system of their targets,
            ``"icd10cm"``), ``label_release`` (its release), ``index_release`` (fiscal year of
            the Index material), ``documents`` and ``files`` (per document read: ``document``,
            ``name``, ``format``, ``version`` and ``sha256`` of the file, ``None`` when it was
            not read from a file).
    """

    documents: tuple[str, ...]
    phrases: tuple[_Phrase, ...]
    provenance: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.phrases)

    @property
    def system(self) -> str:
        """The code system of the phrase targets (``"icd10cm"``)."""
        return str(self.provenance.get("system", "icd10cm"))

    @classmethod
    def build(
        cls,
        index: AlphabeticIndex,
        terminology: Terminology,
        codes: Iterable[str],
        sources: Iterable[str] = INDEX_SOURCES,
        bases: bool = False,
    ) -> IndexPhrases:
        """The phrases of :func:`index_phrases` (``bases``: also targeting 7th-character
        bases), grouped by words, with their provenance."""
        sources = tuple(dict.fromkeys(sources))
        table: dict[tuple[str, ...], tuple[str, dict[str, float]]] = {}
        for words, text, code, weight in index_phrases(index, terminology, codes, sources, bases):
            entry = table.setdefault(words, (text, {}))
            if weight > entry[1].get(code, 0.0):
                entry[1][code] = weight
        phrases = tuple(
            _Phrase(words, text, tuple(targets.items())) for words, (text, targets) in table.items()
        )
        return cls(sources, phrases, index_provenance(index, terminology, sources))

    def restricted(self, codes: Iterable[str]) -> IndexPhrases:
        """The phrases with their targets restricted to ``codes`` (a phrase left without a
        target is dropped): for a label space that lacks some of the codes they were built
        for (another release, a subset)."""
        keep = set(codes)
        phrases = []
        for phrase in self.phrases:
            targets = tuple((code, weight) for code, weight in phrase.targets if code in keep)
            if targets:
                phrases.append(
                    phrase
                    if targets == phrase.targets
                    else _Phrase(phrase.words, phrase.text, targets)
                )
        return IndexPhrases(self.documents, tuple(phrases), dict(self.provenance))

    def combined(self, other: IndexPhrases) -> IndexPhrases:
        """These phrases followed by ``other``'s (documents and source files of both)."""
        documents = tuple(dict.fromkeys((*self.documents, *other.documents)))
        provenance = {**self.provenance, "documents": list(documents)}
        provenance["files"] = [
            *self.provenance.get("files", []),
            *other.provenance.get("files", []),
        ]
        return IndexPhrases(documents, (*self.phrases, *other.phrases), provenance)


def index_provenance(
    index: AlphabeticIndex, terminology: Terminology, sources: Sequence[str]
) -> dict[str, Any]:
    """Where what is built from the Index documents ``sources`` for a label space of
    ``terminology`` comes from: ``system`` and ``label_release`` of its codes, ``index_release``,
    ``documents`` and ``files`` (per document read: its file's name, format, version and
    SHA-256)."""
    return {
        "system": terminology.system,
        "label_release": terminology.release,
        "index_release": index.release,
        "documents": list(sources),
        "files": [_file_record(name, index) for name in sources if name in index.documents],
    }


def _file_record(document: str, index: AlphabeticIndex) -> dict[str, Any]:
    """Provenance of one document of ``index``: its file's name and SHA-256."""
    from icdbridge.data.download import file_checksum

    read = index.documents[document]
    path = Path(read.path)
    return {
        "document": document,
        "name": path.name,
        "format": read.format,
        "version": read.version,
        "sha256": file_checksum(path) if path.is_file() else None,
    }


def add_index_phrases(matcher: LexicalMatcher, phrases: IndexPhrases) -> LexicalMatcher:
    """A copy of ``matcher`` whose phrase table also holds ``phrases`` (a phrase the table
    already has keeps its best weight per code) and that carries them
    (:attr:`LexicalMatcher.index_phrases`) and the phrase table without them
    (:attr:`LexicalMatcher.title_phrases`, whence :attr:`LexicalMatcher.without_index`)."""
    table: dict[tuple[str, ...], tuple[str, dict[str, float]]] = {
        p.words: (p.text, dict(p.targets)) for p in matcher.phrases
    }
    for phrase in phrases.phrases:
        entry = table.setdefault(phrase.words, (phrase.text, {}))
        for code, weight in phrase.targets:
            if weight > entry[1].get(code, 0.0):
                entry[1][code] = weight
    merged = [
        _Phrase(words, text, tuple(targets.items())) for words, (text, targets) in table.items()
    ]
    if matcher.index_phrases is None:
        carried, titles = phrases, matcher.phrases
    else:
        carried, titles = matcher.index_phrases.combined(phrases), matcher.title_phrases
    return LexicalMatcher(merged, matcher.codes, matcher.lateral, matcher.measures, carried, titles)


def with_index_phrases(
    matcher: LexicalMatcher,
    terminology: Terminology,
    index: AlphabeticIndex,
    sources: Iterable[str] = INDEX_SOURCES,
    bases: bool = False,
) -> LexicalMatcher:
    """A copy of ``matcher`` whose phrase table also holds the Index phrases of ``sources``
    (:func:`index_phrases`, ``bases`` as there; a phrase the table already has keeps its best
    weight per code).
    The copy carries them (:attr:`LexicalMatcher.index_phrases`, :class:`IndexPhrases`): a
    model saved with it writes them into its folder.

    Args:
        matcher: The lexical channel built from the titles.
        terminology: ICD-10-CM release of the label space.
        index: The loaded Index.
        sources: Index documents used (:data:`INDEX_SOURCES`).
    """
    return add_index_phrases(
        matcher, IndexPhrases.build(index, terminology, matcher.codes, sources, bases)
    )


def load_index_for(terminology: Terminology, source: str | None = None) -> AlphabeticIndex:
    """The Index material (:func:`~icdbridge.codes.index.load_index`, cached) for a label space
    of ``terminology``.

    Raises:
        UnknownSystemError: ``terminology`` is not ICD-10-CM (the Index is ICD-10-CM's).
        DataNotFoundError: no Index material at ``source`` (or the default folder).
    """
    from icdbridge.codes.index import load_index
    from icdbridge.errors import UnknownSystemError

    if terminology.system != "icd10cm":
        raise UnknownSystemError(
            f"Index phrases need an ICD-10-CM label space, not {terminology.system}; "
            "train without index_phrases"
        )
    return load_index(source=source, label_release=terminology.release)
