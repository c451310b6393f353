"""The ICD-10-CM Index material: Index to Diseases and Injuries, External Cause Index, Table of
Drugs and Chemicals, Neoplasm Table.

Modules, one concept each:

* :mod:`~icdbridge.codes.index.model` — typed structures (:class:`IndexTerm`, :class:`IndexPath`,
  :class:`TableCell`, :class:`CodeExpansion`, :class:`CrossReference`);
* :mod:`~icdbridge.codes.index.xml` — the official XML reader (all four documents);
* :mod:`~icdbridge.codes.index.flat` — the flattened Index CSV reader;
* :mod:`~icdbridge.codes.index.tables` — drug and neoplasm table columns and rows;
* :mod:`~icdbridge.codes.index.resolve` — see / see-also, dash codes, category notes, releases;
* :mod:`~icdbridge.codes.index.alphabetic` — :class:`AlphabeticIndex`, the queryable whole;
* :mod:`~icdbridge.codes.index.load` — where the files are, and :func:`load_index`.

Nothing is read at import time.

Example:
    >>> from icdbridge.codes.index import load_index
    >>> index = load_index()  # doctest: +SKIP
    >>> index.paths_for("E11.44", exact=True)[0].text()  # doctest: +SKIP
    'Diabetes, diabetic › with › amyotrophy'
"""

from icdbridge.codes.index.alphabetic import AlphabeticIndex
from icdbridge.codes.index.flat import read_flat_csv
from icdbridge.codes.index.load import (
    DEFAULT_RELEASE,
    default_index_dir,
    load_index,
    locate_index,
    read_document,
)
from icdbridge.codes.index.model import (
    SOURCES,
    CodeExpansion,
    CrossReference,
    IndexDocument,
    IndexPath,
    IndexTerm,
    TableCell,
)
from icdbridge.codes.index.resolve import CodeExpander, ReferenceResolver, category_note_codes
from icdbridge.codes.index.tables import DRUG_COLUMNS, NEOPLASM_COLUMNS, TableRow
from icdbridge.codes.index.xml import read_index_xml

__all__ = [
    "DEFAULT_RELEASE",
    "DRUG_COLUMNS",
    "NEOPLASM_COLUMNS",
    "SOURCES",
    "AlphabeticIndex",
    "CodeExpander",
    "CodeExpansion",
    "CrossReference",
    "IndexDocument",
    "IndexPath",
    "IndexTerm",
    "ReferenceResolver",
    "TableCell",
    "TableRow",
    "category_note_codes",
    "default_index_dir",
    "load_index",
    "locate_index",
    "read_document",
    "read_flat_csv",
    "read_index_xml",
]
