"""Reader of the official ICD-10-CM Index XML files (``icd10cm_index_YYYY.xsd`` and
``icd10cm_drug_neoplasm_YYYY.xsd``).

All four documents of a release share the structure ``ICD10CM.index → letter → mainTerm →
term[@level]``; a term has a ``title`` (mixed content with an optional ``nemod``, the nonessential
modifier) and, per the Index XSD, optional ``see``, ``seeAlso``, ``code``, ``seecat``, ``subcat``,
``manif``, ``warning`` and ``cell`` children (tables add ``indexHeading`` with one ``head`` per
column). Addenda files wrap changed text in ``diff`` with ``unc`` / ``new`` / ``old``: the reader
keeps unchanged and new text and drops old text.

Which document a file is (``index``, ``eindex``, ``drug``, ``neoplasm``) is read from its
headings and title unless given.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from xml.parsers import expat

from icdbridge.codes.index.flat import modifier_title
from icdbridge.codes.index.instructions import split_wording
from icdbridge.codes.index.model import IndexDocument, IndexTerm, TableCell
from icdbridge.codes.index.tables import EMPTY_CELLS, column_key, default_columns
from icdbridge.errors import InputFormatError

ROOT_TAG = "ICD10CM.index"
_TERM_CHILDREN = frozenset(
    {"title", "diff", "see", "seeAlso", "code", "seecat", "subcat", "manif", "warning", "cell"}
)
_SPACE = re.compile(r"\s+")


@dataclass(slots=True)
class _Element:
    tag: str
    attrib: dict[str, str]
    line: int
    items: list[_Element | str] = field(default_factory=list)

    def elements(self, tag: str | None = None) -> list[_Element]:
        return [i for i in self.items if isinstance(i, _Element) and (tag is None or i.tag == tag)]


def _parse(path: Path) -> _Element:
    """Parse ``path`` into a light element tree that remembers each element's line."""
    parser = expat.ParserCreate()
    root = _Element("", {}, 0)
    stack = [root]

    def start(tag: str, attrib: dict[str, str]) -> None:
        element = _Element(tag, attrib, parser.CurrentLineNumber)
        stack[-1].items.append(element)
        stack.append(element)

    def end(tag: str) -> None:
        stack.pop()

    def text(data: str) -> None:
        stack[-1].items.append(data)

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = text
    try:
        with path.open("rb") as handle:
            parser.ParseFile(handle)
    except expat.ExpatError as error:
        raise InputFormatError(
            path, f"not well-formed XML: {expat.ErrorString(error.code)}", line=error.lineno
        ) from None
    except OSError as error:
        raise InputFormatError(path, f"cannot read the file: {error.strerror or error}") from None
    elements = root.elements()
    if len(elements) != 1 or elements[0].tag != ROOT_TAG:
        found = elements[0].tag if elements else None
        raise InputFormatError(
            path, f"not an ICD-10-CM Index XML: root is not <{ROOT_TAG}>", value=found
        )
    return elements[0]


def _text(element: _Element, *, skip: frozenset[str] = frozenset({"old"})) -> str:
    """Whitespace-normalised text of ``element`` and its children (``old`` addenda dropped)."""
    parts: list[str] = []
    for item in element.items:
        if isinstance(item, str):
            parts.append(item)
        elif item.tag not in skip:
            parts.append(_text(item, skip=skip))
    return _SPACE.sub(" ", "".join(parts)).strip()


def _title(element: _Element) -> tuple[str, str]:
    """(title without nonessential modifiers, nonessential modifiers) of a title/diff element."""
    modifiers = [_text(nemod) for nemod in _find_all(element, "nemod")]
    title = _text(element, skip=frozenset({"old", "nemod"}))
    return title, " ".join(m for m in modifiers if m)


def _find_all(element: _Element, tag: str) -> list[_Element]:
    out = []
    for child in element.elements():
        if child.tag == tag:
            out.append(child)
        elif child.tag != "old":
            out.extend(_find_all(child, tag))
    return out


def detect_source(root: _Element) -> str:
    """Guess which document a parsed file is from its headings and title."""
    heading = root.elements("indexHeading")
    if heading:
        heads = {_text(h).lower() for h in heading[0].elements("head")}
        if any("substance" in h or "adverse" in h for h in heads):
            return "drug"
        if any("neoplasm" in h or "malignant" in h for h in heads):
            return "neoplasm"
    titles = root.elements("title")
    title = _text(titles[0]).lower() if titles else ""
    if "external cause" in title:
        return "eindex"
    if "drug" in title:
        return "drug"
    if "neoplasm" in title:
        return "neoplasm"
    return "index"


def read_index_xml(path: str | os.PathLike[str], source: str | None = None) -> IndexDocument:
    """Read one official Index XML file (Index, External Cause Index, Drug or Neoplasm Table).

    Args:
        path: The XML file (e.g. ``icd10cm_index_2025.xml``, ``icd10cm_eindex_2025.xml``).
        source: Document id (``index``, ``eindex``, ``drug``, ``neoplasm``); ``None`` detects it.

    Returns:
        The document, every term with its full title path, in document order.

    Raises:
        InputFormatError: not well-formed XML, not an Index document, or an element the XSD does
            not allow, naming the file and line.

    Example:
        >>> import tempfile, pathlib
        >>> xml = ('<ICD10CM.index><letter><title>A</title><mainTerm>'
        ...        '<title>Abasia<nemod>(-astasia)</nemod></title><code>R26.2</code>'
        ...        '</mainTerm></letter></ICD10CM.index>')
        >>> file = pathlib.Path(tempfile.mkdtemp()) / "index.xml"
        >>> _ = file.write_text(xml)
        >>> term = read_index_xml(file).terms[0]
        >>> term.titles, term.modifiers, term.code
        (('Abasia',), ('(-astasia)',), 'R26.2')
    """
    path = Path(path)
    root = _parse(path)
    source = source or detect_source(root)
    version = root.elements("version")
    document = IndexDocument(
        source=source, path=str(path), version=_text(version[0]) if version else ""
    )
    headings = root.elements("indexHeading")
    if headings:
        for head in headings[0].elements("head"):
            number = _column_number(path, head)
            label = _text(head)
            key = column_key(label)
            if key == "":
                raise InputFormatError(
                    path, "unknown table column heading", line=head.line, value=label
                )
            if key is not None:
                document.columns[number] = (key, label)
    elif source in ("drug", "neoplasm"):
        document.columns = default_columns(source)
    for letter in root.elements("letter"):
        for main in letter.elements("mainTerm"):
            _read_term(path, document, main, level=0, parent=None, titles=(), modifiers=())
    return document


def _column_number(path: Path, element: _Element) -> int:
    raw = element.attrib.get("col", "")
    if not raw.isdigit() or int(raw) < 1:
        raise InputFormatError(
            path, f"<{element.tag}> needs col=1..9", line=element.line, value=raw
        )
    return int(raw)


def _read_term(
    path: Path,
    document: IndexDocument,
    element: _Element,
    *,
    level: int,
    parent: int | None,
    titles: tuple[str, ...],
    modifiers: tuple[str, ...],
) -> None:
    if element.tag == "term":
        raw = element.attrib.get("level", "")
        if not raw.isdigit() or int(raw) != level:
            raise InputFormatError(
                path,
                f"term level does not follow its nesting (expected {level})",
                line=element.line,
                value=raw,
            )
    title_elements = element.elements("title") or element.elements("diff")
    if not title_elements:
        raise InputFormatError(path, f"<{element.tag}> without a <title>", line=element.line)
    title, modifier = _title(title_elements[0])
    if not title:
        if not modifier:
            raise InputFormatError(
                path, f"<{element.tag}> with an empty <title>", line=element.line
            )
        title = modifier_title(modifier)
    fields: dict[str, list[_Element]] = {}
    subterms: list[_Element] = []
    for child in element.elements():
        if child.tag == "term":
            subterms.append(child)
        elif child.tag in _TERM_CHILDREN:
            fields.setdefault(child.tag, []).append(child)
        else:
            raise InputFormatError(
                path, f"unexpected element in <{element.tag}>", line=child.line, value=child.tag
            )
    for tag in ("code", "see", "seeAlso"):
        if len(fields.get(tag, ())) > 1:
            raise InputFormatError(
                path, f"more than one <{tag}> in a term", line=fields[tag][1].line
            )

    def first(tag: str) -> str:
        found = fields.get(tag)
        return _text(found[0]) if found else ""

    cells = []
    for cell in fields.get("cell", ()):
        number = _column_number(path, cell)
        value = _text(cell)
        if value in EMPTY_CELLS:
            continue
        if number not in document.columns:
            raise InputFormatError(
                path,
                "cell in a column the table heading does not name",
                line=cell.line,
                value=number,
            )
        key, label = document.columns[number]
        cells.append(TableCell(column=key, label=label, code=value))
    wording = split_wording(
        title, modifier, code=first("code"), see=first("see"), see_also=first("seeAlso")
    )
    term = IndexTerm(
        id=len(document.terms),
        source=document.source,
        level=level,
        parent=parent,
        titles=(*titles, wording.title),
        modifiers=(*modifiers, wording.modifier),
        code=wording.code,
        manifestation=tuple(_text(m) for m in fields.get("manif", ()) if _text(m)),
        see=wording.see,
        see_also=wording.see_also,
        see_category=(
            *(_text(e) for tag in ("seecat", "subcat") for e in fields.get(tag, ()) if _text(e)),
            *wording.notes,
        ),
        cells=tuple(cells),
        line=element.line,
        instruction=wording.instruction,
    )
    document.terms.append(term)
    for child in subterms:
        _read_term(
            path,
            document,
            child,
            level=level + 1,
            parent=term.id,
            titles=term.titles,
            modifiers=term.modifiers,
        )
