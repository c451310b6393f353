"""The Table of Drugs and Chemicals and the Neoplasm Table: column meaning and row accessors.

Both tables are Index documents whose terms carry cells (``<cell col="N">``); the table's
``<indexHeading>`` names the columns. Column 1 is the term itself (substance, neoplasm site); the
others map to canonical keys:

* Drug table — ``poisoning_accidental``, ``poisoning_intentional`` (self-harm),
  ``poisoning_assault``, ``poisoning_undetermined``, ``adverse_effect``, ``underdosing``
  (codes T36–T65; the 6th character says the column: 1–4 poisoning, 5 adverse effect,
  6 underdosing).
* Neoplasm table — ``malignant_primary``, ``malignant_secondary``, ``in_situ``, ``benign``,
  ``uncertain``, ``unspecified`` (behaviour).

Empty cells (``--`` or ``-``) are not stored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from icdbridge.codes.index.model import IndexTerm

DRUG_COLUMNS: dict[str, str] = {
    "poisoning_accidental": "poisoning, accidental (unintentional)",
    "poisoning_intentional": "poisoning, intentional self-harm",
    "poisoning_assault": "poisoning, assault",
    "poisoning_undetermined": "poisoning, undetermined",
    "adverse_effect": "adverse effect",
    "underdosing": "underdosing",
}
"""Drug-table column key → label (in table order, columns 2–7)."""

NEOPLASM_COLUMNS: dict[str, str] = {
    "malignant_primary": "malignant primary",
    "malignant_secondary": "malignant secondary",
    "in_situ": "carcinoma in situ",
    "benign": "benign",
    "uncertain": "uncertain behavior",
    "unspecified": "unspecified behavior",
}
"""Neoplasm-table column key → label (in table order, columns 2–7)."""

TABLE_COLUMNS: dict[str, dict[str, str]] = {"drug": DRUG_COLUMNS, "neoplasm": NEOPLASM_COLUMNS}
"""Table document id → its columns."""

# Heading words → column key; the first rule whose words all occur in the heading wins.
_HEADING_RULES: tuple[tuple[tuple[str, ...], str], ...] = (
    (("accidental",), "poisoning_accidental"),
    (("intentional",), "poisoning_intentional"),
    (("assault",), "poisoning_assault"),
    (("undetermined",), "poisoning_undetermined"),
    (("adverse",), "adverse_effect"),
    (("underdosing",), "underdosing"),
    (("malignant", "primary"), "malignant_primary"),
    (("malignant", "secondary"), "malignant_secondary"),
    (("in situ",), "in_situ"),
    (("benign",), "benign"),
    (("uncertain",), "uncertain"),
    (("unspecified",), "unspecified"),
)
_TERM_HEADINGS = frozenset({"substance", "neoplasm", "drug", "site"})
EMPTY_CELLS = frozenset({"", "-", "--", "—"})
"""Cell values that mean "no code"."""


def column_key(heading: str) -> str | None:
    """Column key of a table heading, ``None`` for the term column, or ``""`` when unknown.

    Example:
        >>> column_key("Poisoning Intentional self-harm"), column_key("Ca in situ")
        ('poisoning_intentional', 'in_situ')
    """
    text = re.sub(r"\s+", " ", heading).strip().lower()
    if text in _TERM_HEADINGS:
        return None
    for words, key in _HEADING_RULES:
        if all(word in text for word in words):
            return key
    return ""


def default_columns(source: str) -> dict[int, tuple[str, str]]:
    """Column number → (key, label) of a table as the 2025 release lays it out (columns 2–7)."""
    columns = TABLE_COLUMNS.get(source, {})
    return {number: (key, columns[key]) for number, key in enumerate(columns, start=2)}


@dataclass(frozen=True, slots=True)
class TableRow:
    """One row of a table: the term (substance or site path) and its cells by column key.

    Attributes:
        term: The row's term; ``term.titles`` is its path (``("Neoplasm, neoplastic",
            "abdomen, abdominal", "wall")``).
        cells: Column key → code as printed (empty cells left out).
    """

    term: IndexTerm
    cells: dict[str, str]

    def __getitem__(self, column: str) -> str | None:
        return self.cells.get(column)


def table_rows(terms: list[IndexTerm]) -> list[TableRow]:
    """The rows of a table document: every term, with its non-empty cells by column key."""
    return [TableRow(term, {cell.column: cell.code for cell in term.cells}) for term in terms]


_BEHAVIOUR_WORDS: tuple[tuple[str, str], ...] = (
    ("secondary", "malignant_secondary"),
    ("in situ", "in_situ"),
    ("malignant", "malignant_primary"),  # "malignant" alone means primary
    ("benign", "benign"),
    ("uncertain", "uncertain"),
    ("unspecified", "unspecified"),
)


def behaviour_column(text: str) -> str | None:
    """Neoplasm-table column a reference's behaviour words name, or ``None``.

    Example:
        >>> behaviour_column("malignant"), behaviour_column("in situ, by site")
        ('malignant_primary', 'in_situ')
    """
    lowered = text.lower()
    return next((key for word, key in _BEHAVIOUR_WORDS if word in lowered), None)
