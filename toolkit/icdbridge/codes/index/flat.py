"""Reader of the flattened Index to Diseases and Injuries (one CSV row per term).

Columns ``RowID, Letter, Level, Term, See, SeeAlso, NonEssModif, Code``: ``Level`` 0 is a main
term, 1.. a subterm under the nearest preceding row of lower level. The flattening keeps only the
first code, see, see-also and nonessential modifier of each term and drops manifestation codes
(the ``[I43]`` after a code) and see-category notes that the official XML carries; where a
see-category note survived in the ``See``/``SeeAlso`` column (``"E08-E13 with .620"``,
``"category I01"``) it is kept as :attr:`~icdbridge.codes.index.model.IndexTerm.see_category`.
Coding instructions in a term's wording (``fourth degree - code as Burn, third degree, by
site``), see references written as modifiers (``(see Hemoptysis)``) and codes the flattening ran
into a title (``angiomatousD18.00``) are taken apart (:mod:`icdbridge.codes.index.instructions`).
"""

from __future__ import annotations

import csv
import os
import re
from pathlib import Path

from icdbridge.codes.index.instructions import is_category_note, split_wording
from icdbridge.codes.index.model import IndexDocument, IndexTerm
from icdbridge.errors import InputFormatError

COLUMNS = ("RowID", "Letter", "Level", "Term", "See", "SeeAlso", "NonEssModif", "Code")
"""Header of the flattened CSV."""

CODE_SYNTAX = re.compile(r"[A-Z][0-9][0-9A-Z](?:\.[0-9A-Z]{1,4})?-?|[A-Z][0-9][0-9A-Z]\.?-")
"""An Index code as printed: dotted, optionally ending in ``-`` (more characters needed)."""

_SPACE = re.compile(r"\s+")
MAX_LEVEL = 9


def _clean(value: str | None) -> str:
    return _SPACE.sub(" ", value or "").strip()


def modifier_title(modifier: str) -> str:
    """Title of a term printed as a modifier only (``"(somatoform)"`` → ``"somatoform"``).

    The Index has a few such subterms (a subterm whose whole wording is optional); the modifier
    is kept as well.
    """
    return modifier.strip().removeprefix("(").removesuffix(")").strip()


def read_flat_csv(path: str | os.PathLike[str]) -> IndexDocument:
    """Read the flattened Index CSV into an :class:`IndexDocument` (source ``index``).

    Raises:
        InputFormatError: wrong header, a level that is not 0..9 or jumps more than one level
            down, an empty term, or a code that is not ICD-10-CM Index syntax — naming the line.

    Example:
        >>> import tempfile, pathlib
        >>> file = pathlib.Path(tempfile.mkdtemp()) / "flat.csv"
        >>> _ = file.write_text(
        ...     "RowID,Letter,Level,Term,See,SeeAlso,NonEssModif,Code\\n"
        ...     "1,D,0,\\"Diabetes, diabetic\\",,,(mellitus) (sugar),E11.9\\n"
        ...     "2,D,1,with,,,,\\n3,D,2,amyotrophy,,,,E11.44\\n")
        >>> read_flat_csv(file).terms[-1].text()
        'Diabetes, diabetic › with › amyotrophy'
    """
    path = Path(path)
    document = IndexDocument(source="index", path=str(path), format="flat-csv")
    try:
        handle = path.open(encoding="utf-8-sig", newline="")
    except OSError as error:
        raise InputFormatError(path, f"cannot read the file: {error.strerror or error}") from None
    with handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if header is None or tuple(h.strip() for h in header) != COLUMNS:
            raise InputFormatError(
                path, f"expected the header {','.join(COLUMNS)}", line=1, value=header
            )
        stack: list[IndexTerm] = []
        for line, row in enumerate(reader, start=2):
            if not row:
                continue
            if len(row) != len(COLUMNS):
                raise InputFormatError(
                    path, f"expected {len(COLUMNS)} fields", line=line, value=len(row)
                )
            _, _, raw_level, raw_term, see, see_also, modifier, code = (_clean(v) for v in row)
            if not raw_level.isdigit() or int(raw_level) > MAX_LEVEL:
                raise InputFormatError(
                    path, f"Level must be 0..{MAX_LEVEL}", line=line, value=raw_level
                )
            level = int(raw_level)
            if level > len(stack):
                raise InputFormatError(
                    path,
                    f"Level {level} has no parent row (previous row: level {len(stack) - 1})",
                    line=line,
                    value=raw_level,
                )
            if not raw_term:
                if not modifier:
                    raise InputFormatError(path, "empty Term and NonEssModif", line=line)
                raw_term = modifier_title(modifier)
            if code and not CODE_SYNTAX.fullmatch(code):
                raise InputFormatError(path, "Code is not an ICD-10-CM code", line=line, value=code)
            wording = split_wording(raw_term, modifier, code=code, see=see, see_also=see_also)
            del stack[level:]
            parent = stack[-1] if stack else None
            printed = (wording.see, wording.see_also)
            notes = (*wording.notes, *(ref for ref in printed if ref and is_category_note(ref)))
            term = IndexTerm(
                id=len(document.terms),
                source="index",
                level=level,
                parent=parent.id if parent else None,
                titles=(*(parent.titles if parent else ()), wording.title),
                modifiers=(*(parent.modifiers if parent else ()), wording.modifier),
                code=wording.code,
                see="" if wording.see in notes else wording.see,
                see_also="" if wording.see_also in notes else wording.see_also,
                see_category=notes,
                line=line,
                instruction=wording.instruction,
            )
            document.terms.append(term)
            stack.append(term)
    if not document.terms:
        raise InputFormatError(path, "no Index rows")
    return document
