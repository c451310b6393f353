"""The generic dataset format: one JSON object per line, ``{"id", "text", "codes", "system"}``.

Example line::

    {"id": "note-1", "text": "Type 2 diabetes without complications.", "codes": ["E11.9"],
     "system": "icd10cm"}

Two optional fields carry the note in its original language when ``text`` is a translation
(CodiEsp's English machine translation of Spanish cases): ``"original_text"`` and
``"original_language"`` (ISO 639-1, e.g. ``"es"``); the model's lexical channel also reads the
original (:mod:`icdbridge.model.lexical.gloss`) when its language is supported.

A labelled row may also say where each code is mentioned: ``"evidence"``, a list of
``{"code", "text", "source"?, "spans"?}`` objects (:class:`Mention`). ``text`` is the words that
justify the code as they stand in the note; ``source`` says which field they come from
(``"text"``, the default, or ``"original_text"``); ``spans`` (optional) are their
``[start, end]`` character offsets there. CodiEsp's ``*X.tsv`` files are such annotations; encoder
fine-tuning trains on them (:mod:`icdbridge.model.train.finetune`).

Reading is strict: bad JSON, a missing field, a field of the wrong type or a duplicate id raises
:class:`~icdbridge.errors.InputFormatError` naming the file, the line and the value. Blank lines
are allowed (they are not rows). Extra fields are kept in :attr:`Document.meta` and written back.
Codes are kept exactly as given; :func:`check_codes` reports which are not defined (or not leaves)
in a terminology release without dropping anything.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from typing import TYPE_CHECKING

from icdbridge.errors import InputFormatError

if TYPE_CHECKING:
    from icdbridge.codes.base import Terminology

REQUIRED_FIELDS: dict[str, type] = {"id": str, "text": str, "codes": list, "system": str}
"""Field name → expected JSON type of every row."""

LABEL_FIELDS: tuple[str, str] = ("codes", "system")
"""Fields that unlabelled documents (the input of prediction) may leave out."""

ORIGINAL_FIELDS: tuple[str, str] = ("original_text", "original_language")
"""Optional fields: the text in its original language and that language (both strings, given
together)."""

EVIDENCE_FIELD = "evidence"
"""Optional field: where each code is mentioned (a list of :class:`Mention` objects)."""

MENTION_SOURCES: tuple[str, str] = ("text", "original_text")
"""Fields a mention's words may come from."""


@dataclass(frozen=True, slots=True)
class Mention:
    """Where a note mentions one of its codes (an ``"evidence"`` entry of its JSON row).

    Attributes:
        code: The code, as the row's ``codes`` write it.
        text: The words that justify the code, as they stand in the note.
        source: The field they come from: ``"text"`` or ``"original_text"``.
    """

    code: str
    text: str
    source: str = "text"


@dataclass(slots=True)
class Document:
    """One coded (or to-be-coded) document.

    Attributes:
        id: Unique identifier within its file.
        text: The full clinical text (never truncated).
        codes: Gold codes (empty for unlabelled documents), in the order given.
        system: Code-system id of ``codes`` (``"icd10cm"``...).
        meta: Any extra fields of the JSON row, kept as they are.
    """

    id: str
    text: str
    codes: list[str] = field(default_factory=list)
    system: str = "icd10cm"
    meta: dict[str, object] = field(default_factory=dict)

    @property
    def original_text(self) -> str | None:
        """The note in its original language when :attr:`text` is a translation (else ``None``)."""
        value = self.meta.get("original_text")
        return value if isinstance(value, str) and value.strip() else None

    @property
    def original_language(self) -> str | None:
        """ISO 639-1 language of :attr:`original_text` (``None`` without one)."""
        value = self.meta.get("original_language")
        return value if isinstance(value, str) and self.original_text is not None else None

    @property
    def evidence(self) -> list[Mention]:
        """The annotated mentions of the document's codes (empty without an ``"evidence"``
        field; :func:`parse_row` has checked its entries)."""
        entries = self.meta.get(EVIDENCE_FIELD)
        if not isinstance(entries, list):
            return []
        fields = ("code", "text", "source")
        return [
            Mention(**{name: entry[name] for name in fields if name in entry})
            for entry in entries
            if isinstance(entry, dict)
        ]

    def to_dict(self) -> dict[str, object]:
        """The JSON row of this document (extra fields after the four required ones)."""
        row: dict[str, object] = {
            "id": self.id,
            "text": self.text,
            "codes": list(self.codes),
            "system": self.system,
        }
        row.update({k: v for k, v in self.meta.items() if k not in row})
        return row


def parse_row(
    row: object,
    *,
    path: str | PathLike[str] | None = None,
    line: int | None = None,
    labelled: bool = True,
):
    """Validate one decoded JSON row and return its :class:`Document`.

    Args:
        row: The decoded JSON value.
        path, line: Where it comes from (for error messages).
        labelled: Require ``codes`` and ``system``; with ``False`` (documents to code) they
            may be absent (no codes; the default system), but are checked when present.

    Raises:
        InputFormatError: not an object, missing field, wrong type, empty id or non-string code.
    """
    if not isinstance(row, dict):
        raise InputFormatError(path, "expected a JSON object per line", line=line, value=row)
    for name, kind in REQUIRED_FIELDS.items():
        if name not in row:
            if not labelled and name in LABEL_FIELDS:
                continue
            required = [n for n in REQUIRED_FIELDS if labelled or n not in LABEL_FIELDS]
            raise InputFormatError(
                path, f"missing field {name!r} (required: {', '.join(required)})", line=line
            )
        if not isinstance(row[name], kind):
            raise InputFormatError(
                path, f"field {name!r} must be a JSON {kind.__name__}", line=line, value=row[name]
            )
    if not row["id"].strip():
        raise InputFormatError(path, "field 'id' must not be empty", line=line, value=row["id"])
    for code in row.get("codes", ()):
        if not isinstance(code, str) or not code.strip():
            raise InputFormatError(
                path, "every entry of 'codes' must be a non-empty string", line=line, value=code
            )
    present = [name for name in ORIGINAL_FIELDS if name in row]
    for name in present:
        if not isinstance(row[name], str) or not row[name].strip():
            raise InputFormatError(
                path, f"field {name!r} must be a non-empty JSON string", line=line, value=row[name]
            )
    if len(present) == 1:
        missing = next(name for name in ORIGINAL_FIELDS if name not in row)
        raise InputFormatError(
            path, f"field {present[0]!r} needs {missing!r} too", line=line, value=row[present[0]]
        )
    if EVIDENCE_FIELD in row:
        _check_evidence(row, path, line)
    meta = {k: v for k, v in row.items() if k not in REQUIRED_FIELDS}
    if "system" in row:
        return Document(row["id"], row["text"], list(row.get("codes", ())), row["system"], meta)
    return Document(row["id"], row["text"], list(row.get("codes", ())), meta=meta)


def _check_evidence(row: dict, path: str | PathLike[str] | None, line: int | None) -> None:
    """Check a row's ``"evidence"`` field (see :class:`Mention`)."""
    entries = row[EVIDENCE_FIELD]
    if not isinstance(entries, list):
        raise InputFormatError(
            path, f"field {EVIDENCE_FIELD!r} must be a JSON list", line=line, value=entries
        )
    for entry in entries:
        if not isinstance(entry, dict):
            raise InputFormatError(
                path, f"every entry of {EVIDENCE_FIELD!r} must be an object", line=line, value=entry
            )
        for name in ("code", "text"):
            if not isinstance(entry.get(name), str) or not entry[name].strip():
                raise InputFormatError(
                    path,
                    f"every entry of {EVIDENCE_FIELD!r} needs a non-empty string {name!r}",
                    line=line,
                    value=entry,
                )
        source = entry.get("source", "text")
        if source not in MENTION_SOURCES:
            raise InputFormatError(
                path,
                f"an entry's 'source' must be one of {MENTION_SOURCES}",
                line=line,
                value=source,
            )
        if source == "original_text" and "original_text" not in row:
            raise InputFormatError(
                path,
                "an entry with source 'original_text' needs the row's 'original_text'",
                line=line,
                value=entry,
            )
        spans = entry.get("spans", [])
        if not isinstance(spans, list) or not all(
            isinstance(span, list)
            and len(span) == 2
            and all(isinstance(x, int) and not isinstance(x, bool) for x in span)
            and 0 <= span[0] <= span[1] <= len(row[source])
            for span in spans
        ):
            raise InputFormatError(
                path,
                f"an entry's 'spans' must be [start, end] offsets into its {source!r}",
                line=line,
                value=spans,
            )


def iter_jsonl(path: str | PathLike[str], *, labelled: bool = True) -> Iterator[Document]:
    """Yield the documents of a JSONL file one by one, validating every row.

    Args:
        path: The JSONL file (UTF-8; a byte-order mark is skipped).
        labelled: Require ``codes`` and ``system`` on every row (see :func:`parse_row`).

    Raises:
        InputFormatError: bad JSON or UTF-8, bad row (see :func:`parse_row`), duplicate id, or
            a folder given as the file.
        DataNotFoundError: the file does not exist.
    """
    from icdbridge.errors import DataNotFoundError
    from icdbridge.text_input import parse_json_line, text_lines

    path = Path(path)
    if not path.exists():
        raise DataNotFoundError(f"{path}: dataset file not found")
    seen: dict[str, int] = {}
    for number, raw in text_lines(path):
        if not raw.strip():
            continue
        row = parse_json_line(path, number, raw)
        doc = parse_row(row, path=path, line=number, labelled=labelled)
        if doc.id in seen:
            raise InputFormatError(
                path,
                f"duplicate id (first seen on line {seen[doc.id]})",
                line=number,
                value=doc.id,
            )
        seen[doc.id] = number
        yield doc


def read_jsonl(path: str | PathLike[str], *, labelled: bool = True) -> list[Document]:
    """Read and validate a whole JSONL dataset file (see :func:`iter_jsonl`)."""
    return list(iter_jsonl(path, labelled=labelled))


def read_unlabelled(path: str | PathLike[str]) -> list[Document]:
    """Read the documents to code: ``{"id", "text"}`` rows (``codes`` / ``system`` optional).

    Raises:
        InputFormatError: bad rows (see :func:`iter_jsonl`) or a file without any document.
        DataNotFoundError: the file does not exist.
    """
    docs = read_jsonl(path, labelled=False)
    if not docs:
        raise InputFormatError(
            path, 'no documents (the file is empty or blank); expected JSON lines {"id", "text"}'
        )
    return docs


def write_jsonl(docs: Iterable[Document], path: str | PathLike[str]) -> int:
    """Write documents as JSONL (UTF-8, one object per line); return the number written.

    The file is written atomically: on an error nothing is left at ``path`` (an existing file
    stays as it was).

    Raises:
        InputFormatError: two documents share an id.
    """
    from icdbridge.outputs import atomic_file, check_output

    path = check_output(path)  # a missing folder is created
    seen: set[str] = set()
    count = 0
    with atomic_file(path) as temp, temp.open("w", encoding="utf-8") as handle:
        for doc in docs:
            if doc.id in seen:
                raise InputFormatError(path, "duplicate document id", value=doc.id)
            seen.add(doc.id)
            handle.write(json.dumps(doc.to_dict(), ensure_ascii=False) + "\n")
            count += 1
    return count


@dataclass(frozen=True, slots=True)
class CodeReport:
    """How the gold codes of a dataset relate to one terminology release.

    Attributes:
        system: Code-system id checked against.
        release: Release checked against.
        n_documents: Documents checked.
        n_assignments: (document, code) pairs checked.
        undefined: Code → number of assignments, for codes the release does not define
            (including invalid syntax).
        non_leaf: Code → number of assignments, for defined codes that are not leaves (billable).
        bases: The part of ``undefined`` that are ICD-10-CM **7th-character bases**, codes
            written without their 7th character (``S62.92X``;
            :func:`~icdbridge.codes.bases.seventh_character_bases`), which training takes into
            the label space ("auto").
    """

    system: str
    release: str
    n_documents: int
    n_assignments: int
    undefined: dict[str, int]
    non_leaf: dict[str, int]
    bases: dict[str, int] = field(default_factory=dict)

    def summary(self) -> str:
        """One human-readable line."""

        def top(counts: dict[str, int]) -> str:
            items = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:5]
            return ", ".join(f"{c} ×{n}" for c, n in items)

        text = (
            f"{self.n_documents} documents, {self.n_assignments} code assignments; "
            f"{sum(self.undefined.values())} assignments ({len(self.undefined)} distinct codes) "
            f"not defined in {self.system} {self.release}"
        )
        if self.undefined:
            text += f" [{top(self.undefined)}]"
        if self.bases:
            text += (
                f", of which {sum(self.bases.values())} assignments ({len(self.bases)} codes) "
                "are codes written without their 7th character (7th-character bases)"
            )
        text += (
            f"; {sum(self.non_leaf.values())} assignments ({len(self.non_leaf)} codes) "
            "to non-leaf codes"
        )
        if self.non_leaf:
            text += f" [{top(self.non_leaf)}]"
        return text


def check_codes(docs: Iterable[Document], terminology: Terminology) -> CodeReport:
    """Count the gold codes that ``terminology`` does not define or that are not leaves.

    Nothing is changed or dropped; the report is for the user (and for experiment write-ups).
    """
    undefined: Counter[str] = Counter()
    non_leaf: Counter[str] = Counter()
    n_docs = n_pairs = 0
    for doc in docs:
        n_docs += 1
        for code in doc.codes:
            n_pairs += 1
            node = terminology.get(code)
            if node is None:
                undefined[code] += 1
            elif not terminology.is_leaf(node.code):
                non_leaf[node.code] += 1
    from icdbridge.codes.bases import seventh_character_bases

    bases = set(seventh_character_bases(terminology)) if undefined else set()
    return CodeReport(
        system=terminology.system,
        release=terminology.release,
        n_documents=n_docs,
        n_assignments=n_pairs,
        undefined=dict(undefined),
        non_leaf=dict(non_leaf),
        bases={code: n for code, n in undefined.items() if code in bases},
    )
