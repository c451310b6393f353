"""CSV and TSV: streaming reader (quote-aware, with physical-line accounting) and writer."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from icdbridge.errors import InputFormatError
from icdbridge.tables.chunk import Added, Chunk, Reader, Writer
from icdbridge.tables.text import FIELD_LIMIT, allow_long_fields, lines

NAMES = {",": "comma", "\t": "tab", ";": "semicolon", "|": "pipe"}

MULTI_LINE = (
    "a quoted cell holds line breaks, so one record spans several lines; if the column should "
    "not hold line breaks, look for an unterminated quote at the first line given"
)


def pick_column(
    path: Path | str, columns: list[str], column: str | None, line: int | None = 1
) -> str:
    """The code column: ``column`` if given (it must exist), the only column, or ``code``."""
    if column is not None:
        if column not in columns:
            raise InputFormatError(
                path, f"column {column!r} not found (columns: {', '.join(map(str, columns))})", line
            )
        return column
    if len(columns) == 1:
        return columns[0]
    if "code" in columns:
        return "code"
    raise InputFormatError(
        path, f"several columns ({', '.join(map(str, columns))}): name the code column", line
    )


def refuse_duplicates(path: Path, columns: list[str], line: int = 1) -> None:
    """Refuse repeated column names (which one would the code column be?)."""
    seen: set[str] = set()
    for name in columns:
        if name in seen:
            raise InputFormatError(
                path, "duplicate column name in the header; rename one of them", line, name
            )
        seen.add(name)


def _csv_error(path: Path, error: csv.Error, start: int, end: int) -> InputFormatError:
    text = str(error)
    where = start if start == end else f"{start}-{end}"
    if "unexpected end of data" in text:
        message = f"unterminated quote: the quoted cell opened on line {start} never closes"
    elif "expected after" in text:
        message = (
            f"a closing quote is followed by text (lines {where}); an unterminated quote "
            'earlier in this record, or a stray quote inside a quoted cell (write it as "")'
        )
    elif "field larger than field limit" in text:
        message = f"a field longer than {FIELD_LIMIT:,} characters (lines {where})"
    elif "NUL" in text:
        message = "a NUL byte (binary data, or UTF-16 text?)"
    else:
        message = f"malformed CSV ({text})"
    return InputFormatError(path, message, start)


class DelimitedReader(Reader):
    """Reads a CSV/TSV file in chunks of rows; the header is read on construction.

    Every record is checked: the header's number of fields (a blank line is a row of empty
    cells), no unterminated quote (strict quoting); records spanning several physical lines are
    counted in ``issues`` with the first line, never merged silently.

    Attributes:
        columns: Header names.
        column: The chosen code column.
        lines_read: Physical lines read so far (any line ending).
    """

    def __init__(self, path: Path, *, delimiter: str, **options: Any) -> None:
        self.delimiter = delimiter
        super().__init__(path, **options)

    def _open(self, column: str | None) -> None:
        path, delimiter = self.path, self.delimiter
        allow_long_fields()
        self._file = lines(path)
        self._reader = csv.reader(self._file, delimiter=delimiter, strict=True)
        header = self._next(1)
        if header is None or not any(cell.strip() for cell in header):
            raise InputFormatError(path, "empty file: expected a header line", 1)
        if len(header) == 1 and column not in header:
            for other, name in NAMES.items():
                if other != delimiter and other in header[0]:
                    raise InputFormatError(
                        path,
                        f"wrong delimiter: expected {NAMES[delimiter]}-separated, "
                        f"the header looks {name}-separated",
                        1,
                        header[0][:80],
                    )
        refuse_duplicates(path, header)
        self.columns = header
        self.column = pick_column(path, header, column)
        self.lines_read = self._reader.line_num

    def _next(self, start: int) -> list[str] | None:
        try:
            return next(self._reader, None)
        except csv.Error as error:
            raise _csv_error(self.path, error, start, self._reader.line_num) from None

    def __iter__(self) -> Iterator[Chunk]:
        reader, width, index = self._reader, len(self.columns), self.columns.index(self.column)
        path, limit, blank = self.path, self.chunk_rows, [""] * width
        while True:
            rows: list[list[str]] = []
            first = reader.line_num + 1
            try:
                for row in reader:
                    if not row:  # a blank line is a row of empty cells, never dropped
                        row = blank.copy()
                    elif len(row) != width:
                        start = first + len(rows) + _breaks_in(rows)
                        raise InputFormatError(
                            path, f"expected {width} fields, got {len(row)}", start
                        )
                    rows.append(row)
                    if len(rows) >= limit:
                        break
            except csv.Error as error:
                start = first + len(rows) + _breaks_in(rows)
                raise _csv_error(path, error, start, reader.line_num) from None
            self.lines_read = reader.line_num
            if not rows:
                return
            if self.lines_read - first + 1 != len(rows):  # some record spans several lines
                self._report_multi_line(rows, first)
            yield Chunk(path, self.columns, [row[index] for row in rows], first, rows=rows)

    def _report_multi_line(self, rows: list[list[str]], first: int) -> None:
        """Count the records of a chunk that span several physical lines, with their lines."""
        extra = 0
        for number, row in enumerate(rows):
            breaks = _breaks_in((row,))
            if breaks:
                cell = next(c for c in row if "\n" in c or "\r" in c)
                self.issues.add(
                    "multi-line-record", MULTI_LINE, line=first + number + extra, example=cell
                )
                extra += breaks


def _breaks_in(rows: Iterable[list[str]]) -> int:
    """Line breaks inside the cells of ``rows`` (each is one more physical line read)."""
    total = 0
    for row in rows:
        for cell in row:
            if "\n" in cell or "\r" in cell:
                total += cell.count("\n") + cell.count("\r") - cell.count("\r\n")
    return total


class DelimitedWriter(Writer):
    """Writes CSV/TSV (UTF-8, minimal quoting); list cells are joined with ``;``."""

    def __init__(self, path: Path, *, delimiter: str) -> None:
        self.path = path
        self._handle = open(path, "w", encoding="utf-8", errors="backslashreplace", newline="")  # noqa: SIM115
        self._writer = csv.writer(self._handle, delimiter=delimiter)
        self._list_cells: list[int] = []
        self._texts: dict[int, tuple[tuple, list[str]]] = {}

    def _start(self) -> None:
        """Write the header."""
        self._list_cells = [i for i, name in enumerate(self._added) if name in self._lists]
        self._writer.writerow([*self._columns, *self._added])

    def write(self, chunk: Chunk, added: Added) -> int:
        """Write the rows of ``chunk`` with the added cells."""
        rows = added.rows_of(chunk.as_rows())
        cells = self._text_cells(added.distinct)
        index = added.index.tolist() if hasattr(added.index, "tolist") else added.index
        writerow = self._writer.writerow
        for row, i in zip(rows, index, strict=True):
            writerow(row + cells[i])
        return len(rows)

    def _text_cells(self, distinct: Any) -> list[list[str]]:
        """Cell texts of each distinct tuple (cached by tuple: engines reuse them per mapping)."""
        texts, lists, out = self._texts, self._list_cells, []
        for cells in distinct:
            found = texts.get(id(cells))
            if found is None or found[0] is not cells:
                text = ["" if c is None else c for c in cells]
                for i in lists:
                    text[i] = ";".join(text[i])
                found = texts[id(cells)] = (cells, text)  # the tuple is kept, so its id stays
            out.append(found[1])
        return out
