"""Clinical wording variants of the lexical channel: how notes say what ICD titles say.

ICD-10-CM titles use one register — nouns of organs (``Calculus of kidney``), ``Malignant
neoplasm of ...``, ``Secondary malignant neoplasm of ...`` — while notes (and their machine
translation) write ``renal lithiasis``, ``ovarian adenocarcinoma``, ``brain metastases``. Two
small tables and one rule bridge the registers, all applied by
:mod:`icdbridge.model.lexical.matcher`:

* :data:`WORD_VARIANTS` — stemmed word → canonical word, applied to titles *and* notes (so the
  canonical form is what both sides are matched on): relational adjectives of organs to the
  organ (``renal`` → ``kidney``), British to American spelling, and word-level synonyms
  (``lithiasis`` / ``stone`` → ``calculus``, ``adenocarcinoma`` → ``carcinoma``);
* :data:`PHRASE_VARIANTS` — rewrites of a title into the words a note uses for it, each added
  as an extra phrase of the code (``Malignant neoplasm of left ovary`` → ``carcinoma of left
  ovary``, ``cancer of left ovary``);
* :func:`coordination_variants` — ICD's ``and`` means *and/or*: ``Irritability and anger`` is
  also a phrase ``anger``.

The tables were written from misses of the lexical channel on CodiEsp **train** notes (never
dev) and hold general clinical English only, nothing specific to a code.
"""

from __future__ import annotations

import re

_ORGAN_ADJECTIVES: dict[str, str] = {
    "renal": "kidney",
    "hepatic": "liver",
    "cardiac": "heart",
    "pulmonary": "lung",
    "gastric": "stomach",
    "ureteral": "ureter",
    "ureteric": "ureter",
    "urethral": "urethra",
    "vesical": "bladder",
    "ovarian": "ovary",
    "uterine": "uterus",
    "testicular": "testis",
    "prostatic": "prostate",
    "pancreatic": "pancreas",
    "esophageal": "esophagus",
    "intestinal": "intestine",
    "colonic": "colon",
    "rectal": "rectum",
    "splenic": "spleen",
    "duodenal": "duodenum",
    "jejunal": "jejunum",
    "ileal": "ileum",
    "peritoneal": "peritoneum",
    "laryngeal": "larynx",
    "pharyngeal": "pharynx",
    "tracheal": "trachea",
    "bronchial": "bronchus",
    "pleural": "pleura",
    "mammary": "breast",
    "ocular": "eye",
    "osseous": "bone",
    "venous": "vein",
    "arterial": "artery",
    "vertebral": "vertebra",
    "gingival": "gum",
    "lingual": "tongue",
    "tonsillar": "tonsil",
    "palpebral": "eyelid",
}

_SPELLINGS: dict[str, str] = {
    "haemorrhage": "hemorrhage",
    "oedema": "edema",
    "anaemia": "anemia",
    "tumour": "tumor",
    "haematoma": "hematoma",
    "leukaemia": "leukemia",
    "oesophagus": "esophagus",
    "oesophageal": "esophagus",
    "haematuria": "hematuria",
    "ischaemia": "ischemia",
    "ischaemic": "ischemic",
    "paediatric": "pediatric",
    "oestrogen": "estrogen",
}

_SYNONYMS: dict[str, str] = {
    "lithiasis": "calculus",
    "lithiasic": "calculus",
    "stone": "calculus",
    "calculi": "calculus",
    "adenocarcinoma": "carcinoma",
    "metastase": "metastasis",  # "metastases" after plural stemming
    "metastatic": "metastasis",
    "neoplasia": "neoplasm",
    "bleeding": "hemorrhage",
    "invagination": "intussusception",
    "hyperthyroidism": "thyrotoxicosis",
    "adenoviral": "adenovirus",
}

WORD_VARIANTS: dict[str, str] = {**_ORGAN_ADJECTIVES, **_SPELLINGS, **_SYNONYMS}
"""Stemmed word → the canonical word both titles and notes are matched on."""

PHRASE_VARIANTS: tuple[tuple[re.Pattern[str], tuple[str, ...]], ...] = tuple(
    (re.compile(pattern, re.IGNORECASE), replacements)
    for pattern, replacements in (
        (r"\bsecondary malignant neoplasm\b", ("metastasis",)),
        (r"\bmalignant neoplasm\b", ("carcinoma", "cancer", "malignant tumor")),
        (r"\bbenign neoplasm\b", ("benign tumor",)),
    )
)
"""(pattern, replacements): a title matching ``pattern`` also gets one phrase per replacement.
Listed most specific first; only the first matching pattern is used."""


_LIST = re.compile(r"(?P<items>(?:\b[A-Za-z-]+,\s+)*\b[A-Za-z-]+,?\s+(?:and|or)\s+[A-Za-z-]+)\b")
_PAIR = re.compile(r"(?P<items>\b[A-Za-z-]+\s+(?:and|or)\s+[A-Za-z-]+)\b")
_QUALIFIER = re.compile(r"\s(?:with|without|due to|following|in)\s")
_NOT_ALTERNATIVES = frozenset({"other", "unspecified", "specified", "nos", "nec"})


def coordination_variants(title: str) -> list[str]:
    """One phrase per alternative of a coordination of single words in ``title``.

    ICD-10-CM reads ``and`` in a title as *and/or* (a convention of its guidelines), so
    ``Irritability and anger`` is coded for irritability alone and ``Epigastric swelling, mass or
    lump`` for an epigastric mass. Only the first coordination before a qualifier (``with``,
    ``due to``...) is split, and only one of single words; a comma list counts as one when words
    precede it (in ``Contracture, ankle and foot`` the comma separates the lead term, so only
    ``ankle and foot`` is split). Alternatives that only qualify (``other``, ``unspecified``) are
    not phrases of their own.

    >>> coordination_variants("Epigastric swelling, mass or lump")
    ['Epigastric swelling', 'Epigastric mass', 'Epigastric lump']
    >>> coordination_variants("Contracture, ankle and foot")
    ['Contracture, ankle', 'Contracture, foot']
    >>> coordination_variants("Calculus of kidney and ureter")
    ['Calculus of kidney', 'Calculus of ureter']
    >>> coordination_variants("Disorders of kidney and ureter in diseases classified elsewhere")[1]
    'Disorders of ureter in diseases classified elsewhere'
    >>> coordination_variants("Fracture of femur")
    []
    """
    qualifier = _QUALIFIER.search(title)
    head = title[: qualifier.start()] if qualifier else title
    match = _LIST.search(head)
    if match is not None and match.start() == 0 and "," in match.group("items"):
        match = _PAIR.search(head, match.group("items").rindex(",") + 1)
    if match is None:
        return []
    items = [w for w in re.split(r",\s*|\s+(?:and|or)\s+", match.group("items")) if w]
    prefix, rest = title[: match.start()], title[match.end() :]
    return [f"{prefix}{item}{rest}" for item in items if item.lower() not in _NOT_ALTERNATIVES]


def phrase_variants(title: str) -> list[str]:
    """The extra phrases of ``title``: :data:`PHRASE_VARIANTS` and
    :func:`coordination_variants`, possibly none.

    >>> phrase_variants("Secondary malignant neoplasm of brain")
    ['metastasis of brain']
    >>> phrase_variants("Malignant neoplasm of jejunum")[:2]
    ['carcinoma of jejunum', 'cancer of jejunum']
    """
    out: list[str] = []
    for pattern, replacements in PHRASE_VARIANTS:
        if pattern.search(title):
            out = [pattern.sub(r, title, count=1) for r in replacements]
            break
    for text in [title, *out]:
        out += coordination_variants(text)
    return list(dict.fromkeys(out))
