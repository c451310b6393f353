"""Typed structures of the ICD-10-CM Index material: terms, table cells, paths, expansions.

The four documents of the "Table and Index" release share one tree shape (letter → main term →
subterms at levels 1..9), so one :class:`IndexTerm` type holds a term of any of them; the
:class:`IndexDocument` keeps the terms of one document in document order with parent links.

* ``index`` — Index to Diseases and Injuries (codes, manifestation codes, see / see also);
* ``eindex`` — External Cause of Injuries Index (V00–Y99);
* ``drug`` — Table of Drugs and Chemicals (cells: poisoning by intent, adverse effect,
  underdosing → T36–T65);
* ``neoplasm`` — Neoplasm Table (cells: behaviour → C/D codes).
"""

from __future__ import annotations

from dataclasses import dataclass, field

SOURCES: dict[str, str] = {
    "index": "Index to Diseases and Injuries",
    "eindex": "External Cause of Injuries Index",
    "drug": "Table of Drugs and Chemicals",
    "neoplasm": "Neoplasm Table",
}
"""Document id → the name the ICD-10-CM release gives it."""

PATH_SEPARATOR = " › "
"""Separator between the titles of a path when written as one text."""


@dataclass(frozen=True, slots=True)
class TableCell:
    """One cell of the Table of Drugs and Chemicals or of the Neoplasm Table.

    Attributes:
        column: Canonical column key, e.g. ``"adverse_effect"`` or ``"malignant_primary"``
            (see :mod:`icdbridge.codes.index.tables`).
        label: The column heading as the table prints it (``"Adverse effect"``).
        code: The code as printed, dash codes kept (``"C79.8-"``); empty cells (``--``) are not
            stored.
    """

    column: str
    label: str
    code: str


@dataclass(frozen=True, slots=True)
class IndexTerm:
    """A main term or subterm of an Index document.

    Attributes:
        id: Position of the term in its document (document order).
        source: Document id, one of :data:`SOURCES`.
        level: 0 for a main term, 1..9 for subterms.
        parent: ``id`` of the term one level up, ``None`` for a main term.
        titles: Titles from the main term down to this term (nonessential modifiers removed).
        modifiers: Nonessential modifiers of each title in :attr:`titles` (``""`` where none),
            e.g. ``("(mellitus) (sugar)", "", "")``.
        code: The code the term leads to, as printed (``"E11.44"``, dash codes ``"S32.40-"``),
            or ``""``.
        manifestation: Manifestation codes printed in brackets after the code (``[I43]``), only
            in the official Index XML.
        see: "see" cross reference (the term to use instead), or ``""``.
        see_also: "see also" cross reference, or ``""``.
        see_category: "see category / subcategory" references (``T71``) and category notes of the
            flattened CSV (``E08-E13 with .620``).
        instruction: A coding instruction printed in the term's wording (``"code as Burn, third
            degree, by site"``, ``"omit code"``; :mod:`icdbridge.codes.index.instructions`), or
            ``""``. The term it names is the term's :attr:`see` when it has no code or see.
        cells: Table cells (drug and neoplasm tables only).
        line: Line of the term in its file (1-based; 0 when unknown).
    """

    id: int
    source: str
    level: int
    parent: int | None
    titles: tuple[str, ...]
    modifiers: tuple[str, ...]
    code: str = ""
    manifestation: tuple[str, ...] = ()
    see: str = ""
    see_also: str = ""
    see_category: tuple[str, ...] = ()
    cells: tuple[TableCell, ...] = ()
    line: int = 0
    instruction: str = ""

    @property
    def title(self) -> str:
        """The term's own title (last element of :attr:`titles`)."""
        return self.titles[-1]

    def text(self, *, modifiers: bool = False) -> str:
        """The path as one text, e.g. ``"Diabetes, diabetic › with › amyotrophy"``.

        Args:
            modifiers: Append each level's nonessential modifiers in parentheses as printed.
        """
        if not modifiers:
            return PATH_SEPARATOR.join(self.titles)
        return PATH_SEPARATOR.join(
            f"{title} {mod}" if mod else title
            for title, mod in zip(self.titles, self.modifiers, strict=True)
        )


@dataclass(frozen=True, slots=True)
class IndexPath:
    """A way the Index leads to a code: a term path, and the table column when from a table.

    Attributes:
        term: The term whose code (or cell) this is.
        code: The code as the Index prints it (``"S32.40-"``, ``"T39.1X5"``).
        relation: ``"code"`` (the term's code), ``"manifestation"`` (a bracketed code),
            ``"cell"`` (a table cell), ``"see_category"`` (a see-category reference).
        column: Column key for table cells (``"adverse_effect"``), else ``""``.
        column_label: Column heading for table cells (``"Adverse effect"``), else ``""``.
        exact: Whether the printed code equals the code it was looked up for (``False`` when the
            code was reached by expanding a dash or category code).
    """

    term: IndexTerm
    code: str
    relation: str = "code"
    column: str = ""
    column_label: str = ""
    exact: bool = True

    @property
    def source(self) -> str:
        """Document id of the term (``index``, ``eindex``, ``drug``, ``neoplasm``)."""
        return self.term.source

    @property
    def titles(self) -> tuple[str, ...]:
        """Titles from the main term down to the term."""
        return self.term.titles

    def text(self, *, modifiers: bool = False) -> str:
        """The path as a label text; a table cell's path ends with its column, e.g.
        ``"Acetaminophen › adverse effect"`` (a see reference into a table row does not)."""
        text = self.term.text(modifiers=modifiers)
        if self.column_label and self.relation == "cell":
            text += PATH_SEPARATOR + self.column_label.lower()
        return text

    def as_dict(self) -> dict[str, object]:
        """Plain-data form (for JSON output)."""
        return {
            "source": self.source,
            "path": list(self.titles),
            "text": self.text(),
            "modifiers": list(self.term.modifiers),
            "code": self.code,
            "relation": self.relation,
            "column": self.column or None,
            "exact": self.exact,
            "instruction": self.term.instruction or None,
        }


@dataclass(frozen=True, slots=True)
class CodeExpansion:
    """What an Index code stands for in one ICD-10-CM release.

    Attributes:
        code: The code as the Index prints it (``"S32.40-"``).
        release: The ICD-10-CM release it was expanded in.
        status: ``"billable"`` (a billable code of the release), ``"expanded"`` (a dash code or a
            non-billable code, replaced by the billable codes below it), or ``"not_defined"``
            (the release has no such code).
        targets: The billable codes of the release the Index code leads to.
        nearest: For ``"not_defined"`` codes, the nearest defined ancestor (longest defined
            prefix), else ``None``.
    """

    code: str
    release: str
    status: str
    targets: tuple[str, ...]
    nearest: str | None = None


@dataclass(frozen=True, slots=True)
class CrossReference:
    """A see / see-also reference resolved to the terms it names.

    Attributes:
        term: The term carrying the reference.
        kind: ``"see"`` or ``"see_also"``.
        text: The reference as printed (``"Pain, abdominal"``).
        status: ``"resolved"`` (every part matched a term), ``"partial"`` (a leading part matched;
            the rest is an instruction such as ``"by site"``), ``"table"`` (a reference to the
            Table of Drugs and Chemicals, or to a whole column of the Neoplasm Table:
            ``"Neoplasm, benign, by site"``), ``"category"`` (a note
            naming code categories, e.g. ``"E08-E13 with .620"``), ``"generic"`` (``"condition"``,
            ``"specific substance"``...) or ``"unresolved"``.
        target: The deepest term matched, or ``None``.
        remainder: The words that no term matched (``"by type of instrument"``); for a
            Neoplasm Table reference, also the behaviour it names (``"malignant"``).
    """

    term: IndexTerm
    kind: str
    text: str
    status: str
    target: IndexTerm | None = None
    remainder: str = ""


@dataclass(slots=True)
class IndexDocument:
    """The terms of one Index document, in document order.

    Attributes:
        source: Document id (:data:`SOURCES`).
        path: File it was read from.
        version: The ``<version>`` of the XML (``"2025"``), ``""`` when the file has none.
        columns: For tables, column number → (column key, heading) from ``<indexHeading>``.
        terms: Every term; ``terms[i].id == i``.
        format: ``"xml"`` or ``"flat-csv"``.
    """

    source: str
    path: str
    version: str = ""
    columns: dict[int, tuple[str, str]] = field(default_factory=dict)
    terms: list[IndexTerm] = field(default_factory=list)
    format: str = "xml"

    def main_terms(self) -> list[IndexTerm]:
        """The level-0 terms."""
        return [term for term in self.terms if term.parent is None]

    def children(self) -> dict[int | None, list[int]]:
        """Parent id (``None`` for main terms) → child ids in document order."""
        out: dict[int | None, list[int]] = {}
        for term in self.terms:
            out.setdefault(term.parent, []).append(term.id)
        return out
