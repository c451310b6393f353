"""JSON lines: one JSON object per line; streaming reader and writer."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from icdbridge.errors import InputFormatError
from icdbridge.tables.chunk import Added, Chunk, Reader, Writer
from icdbridge.tables.delimited import pick_column
from icdbridge.tables.text import clean_surrogates, has_surrogate, json_default, lines

NUMERIC_CODE = (
    "codes stored as JSON numbers, not strings: zeros may have been lost upstream (250.10 read as "
    "250.1, 038 as 38); they are mapped as written in the file — store codes as strings"
)
SURROGATE = (
    "text holds an unpaired surrogate escape such as \\ud800 (not valid Unicode); it is kept as "
    "the text \\ud800"
)
NOT_A_CODE = "values of the code column are lists, objects or booleans, not codes (invalid-code)"
MISSING_KEY = "records without the code column's key (mapped as missing: invalid-code)"
BLANK = "blank lines (no record) skipped"

_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


class JsonNumber(float):
    """A JSON number with a fraction or exponent, remembering its text (``250.10``)."""

    __slots__ = ("text",)

    text: str


def _number(text: str) -> JsonNumber:
    number = JsonNumber(text)
    number.text = text
    return number


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    record = dict(pairs)
    if len(record) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _DuplicateKey(key)
            seen.add(key)
    return record


class _DuplicateKey(ValueError):
    pass


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        return clean_surrogates(value) if has_surrogate(value) else value
    if isinstance(value, list):
        return [_clean(v) for v in value]
    if isinstance(value, dict):
        return {_clean(k): _clean(v) for k, v in value.items()}
    return value


class JsonlReader(Reader):
    """Reads JSON lines in chunks of records; the first record is read on construction.

    Refused with file and line: invalid JSON, a line that is not an object, duplicate keys,
    nesting too deep, integers too long to convert. Reported in ``issues``: numeric codes (mapped
    as the number's text in the file), unpaired surrogate escapes, blank lines, missing keys.
    """

    def _open(self, column: str | None) -> None:
        path = self.path
        self._file = lines(path)
        self._numbered = enumerate(self._file, start=1)
        self._first: tuple[int, dict[str, Any]] | None = None
        self.column = None  # still reading the first record (see _parse)
        for number, line in self._numbered:
            record = self._parse(number, line)
            if record is not None:
                self._first = (number, record)
                break
        if self._first is None:
            raise InputFormatError(path, "empty file: expected JSON objects, one per line", 1)
        self.columns = list(self._first[1])
        self.column = pick_column(path, self.columns, column, self._first[0])
        if type(self._first[1][self.column]) is float:  # keep the digits of the file
            self._first = (self._first[0], self._decode(self._first[0], self._first_line, True))

    def _parse(self, number: int, line: str) -> dict[str, Any] | None:
        self.lines_read = number
        if not line.strip():
            self.issues.add("blank-line", BLANK, line=number)
            return None
        record = self._decode(number, line)
        if not isinstance(record, dict):
            raise InputFormatError(self.path, "each line must be a JSON object", number, _cut(line))
        if len(record) != line.count(":") or type(record.get(self.column)) is float:
            # as many colons as keys: no key can repeat (one colon per pair); otherwise (nested
            # objects, colons in text, a numeric code) parse again checking keys, keeping digits
            record = self._decode(number, line, True)
        if _SURROGATE_ESCAPE.search(line) and has_surrogate(json.dumps(record, ensure_ascii=False)):
            self.issues.add("surrogate", SURROGATE, line=number, example=line.strip()[:60])
            record = _clean(record)
        if self.column is None:  # still reading the first record
            self._first_line = line
        return record

    def _decode(self, number: int, line: str, careful: bool = False) -> Any:
        """Parse one line; ``careful``: refuse repeated keys and keep each float's text."""
        try:
            if careful:
                return json.loads(line, object_pairs_hook=_unique_keys, parse_float=_number)
            return json.loads(line)
        except _DuplicateKey as error:
            raise InputFormatError(
                self.path, "duplicate key in one JSON object", number, error.args[0]
            ) from None
        except json.JSONDecodeError as error:
            raise InputFormatError(
                self.path, f"invalid JSON ({error.msg}, column {error.colno})", number, _cut(line)
            ) from None
        except RecursionError:
            raise InputFormatError(self.path, "JSON nested too deeply to read", number) from None
        except ValueError as error:  # an integer over Python's 4,300-digit conversion limit
            raise InputFormatError(
                self.path, f"unreadable JSON number ({str(error).split(';')[0]})", number
            ) from None

    def _code(self, number: int, record: dict[str, Any]) -> object:
        value = record.get(self.column, _MISSING)
        if value is _MISSING:
            self.issues.add("missing-key", MISSING_KEY, line=number)
            return None
        if value is None or isinstance(value, str):
            return value
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.issues.add("not-a-code", NOT_A_CODE, line=number, example=value)
            return json.dumps(value, default=json_default)
        text = value.text if isinstance(value, JsonNumber) else str(value)
        self.issues.add("numeric-code", NUMERIC_CODE, line=number, example=text)
        return text

    def __iter__(self) -> Iterator[Chunk]:
        pending = [self._first] if self._first is not None else []
        self._first = None
        records: list[dict[str, Any]] = []
        numbers: list[int] = []
        for number, record in pending:
            numbers.append(number)
            records.append(record)
        for number, line in self._numbered:
            record = self._parse(number, line)
            if record is None:
                continue
            numbers.append(number)
            records.append(record)
            if len(records) >= self.chunk_rows:
                yield self._chunk(records, numbers)
                records, numbers = [], []
        if records:
            yield self._chunk(records, numbers)

    def _chunk(self, records: list[dict[str, Any]], numbers: list[int]) -> Chunk:
        name = self.column
        values: list[object] = []
        for number, record in zip(numbers, records, strict=True):
            value = record.get(name, _MISSING)
            values.append(value if type(value) is str else self._code(number, record))
        return Chunk(self.path, self.columns, values, numbers[0], records=records, lines=numbers)


_MISSING = object()


def _cut(line: str) -> str:
    return line.strip()[:80]


class JsonlWriter(Writer):
    """Writes one JSON object per line (ASCII-escaped, so any text round-trips)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._handle = open(path, "w", encoding="utf-8")  # noqa: SIM115

    def write(self, chunk: Chunk, added: Added) -> int:
        """Write the records of ``chunk`` with the added fields."""
        records = added.rows_of(chunk.as_records())
        names = self._added
        extras = [dict(zip(names, cells, strict=True)) for cells in added.distinct]
        index = added.index.tolist() if hasattr(added.index, "tolist") else added.index
        write, dumps = self._handle.write, json.dumps
        for record, i in zip(records, index, strict=True):
            write(dumps({**record, **extras[i]}, default=json_default) + "\n")
        return len(records)
