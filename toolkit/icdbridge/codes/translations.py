"""WHO ICD-10 titles in other languages, parallel to the English titles of the same codes.

A clinical note is often coded from its original language while icdbridge's terminologies are
English; a table of the same classification's titles in both languages is what lets the model
read the original (:mod:`icdbridge.model.lexical.gloss` learns a word-translation table from it).

Sources, by language:

* ``"es"`` — Spanish WHO ICD-10 titles (categories and 4-character subcategories, about 12,000
  codes) shipped in the PyPI package ``cie`` (MIT; scraped from icdcode.info and deis.cl, see
  its README). The English side is WHO ICD-10 2019 (:mod:`icdbridge.codes.icd10who`).

Example:
    >>> pairs = parallel_titles("es")  # doctest: +SKIP
    >>> pairs["Q38.2"]  # doctest: +SKIP
    ('Macroglossia', 'Macroglosia')
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Callable
from functools import cache
from importlib.util import find_spec
from pathlib import Path

from icdbridge.errors import DataNotFoundError, UnknownSystemError


def _cie_zip() -> Path:
    spec = find_spec("cie")
    locations = list(spec.submodule_search_locations or []) if spec else []
    for location in locations:
        path = Path(location) / "data" / "cie-10.zip"
        if path.is_file():
            return path
    raise DataNotFoundError(
        "Spanish ICD-10 titles need the 'cie' package (pip install cie): its data/cie-10.zip "
        "was not found"
    )


def _spanish_titles() -> dict[str, str]:
    """Raw code (``A000``) → Spanish title, from the ``cie`` package's CSV."""
    from icdbridge.text_input import decode_utf8, reading_zip

    path = _cie_zip()
    with reading_zip(path), zipfile.ZipFile(path) as archive:
        data = archive.read("cie-10.csv")
    rows = csv.DictReader(io.StringIO(decode_utf8(f"{path}:cie-10.csv", data), newline=""))
    return {row["code"].strip(): row["description"].strip() for row in rows}


TITLE_SOURCES: dict[str, Callable[[], dict[str, str]]] = {"es": _spanish_titles}
"""Language (ISO 639-1) → reader of raw WHO ICD-10 code → title in that language."""


def supported_languages() -> tuple[str, ...]:
    """Languages with a WHO ICD-10 title table (see :data:`TITLE_SOURCES`)."""
    return tuple(sorted(TITLE_SOURCES))


@cache
def parallel_titles(language: str) -> dict[str, tuple[str, str]]:
    """WHO ICD-10 code → (English title, title in ``language``), for every code both define.

    Codes are canonical WHO ICD-10 codes (``Q38.2``); chapters and block ranges are left out.

    Raises:
        UnknownSystemError: no title table for ``language``.
        DataNotFoundError: the table's package is not installed.
    """
    from icdbridge.codes import get_terminology

    if language not in TITLE_SOURCES:
        raise UnknownSystemError(
            f"no ICD-10 title table in language {language!r} "
            f"(available: {', '.join(supported_languages())})"
        )
    who = get_terminology("icd10who")
    out: dict[str, tuple[str, str]] = {}
    for raw, title in TITLE_SOURCES[language]().items():
        if "-" in raw or not title or not who.is_valid_syntax(raw):
            continue
        node = who.get(raw)
        if node is not None and node.kind not in ("chapter", "block"):
            out[node.code] = (node.title, title)
    return out
