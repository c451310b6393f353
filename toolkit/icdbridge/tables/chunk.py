"""A chunk of rows as one reader holds them, convertible to what any writer needs."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Self

from icdbridge.errors import InputFormatError
from icdbridge.tables.issues import Issues
from icdbridge.tables.text import cell_text, check_input, error_line


@dataclass
class Chunk:
    """Up to ``chunk_rows`` consecutive input rows and the values of the chosen column.

    Exactly one of ``rows`` (CSV/TSV: lists of cell strings), ``records`` (JSON lines: dicts) and
    ``batch`` (Parquet: a pyarrow ``RecordBatch``) is set.

    Attributes:
        path: The input file (named in errors).
        columns: The input's column names, in order.
        values: Values of the chosen column, one per row (a list, or a pyarrow string array).
        first_line: Line (row number for Parquet) of the first row, for messages.
        lines: Line of each record (JSON lines only).
    """

    path: Path
    columns: list[str]
    values: Any
    first_line: int
    rows: list[list[str]] | None = None
    records: list[dict[str, Any]] | None = None
    batch: Any = None
    lines: list[int] | None = None

    def __len__(self) -> int:
        if self.rows is not None:
            return len(self.rows)
        if self.records is not None:
            return len(self.records)
        return self.batch.num_rows

    def _check_keys(self) -> None:
        """Refuse a record with a key the column list lacks (it would be dropped)."""
        wanted = set(self.columns)
        size = len(wanted)
        for number, record in zip(self.lines or [], self.records or [], strict=False):
            if len(record) > size or not record.keys() <= wanted:
                extra = next(key for key in record if key not in wanted)
                raise InputFormatError(
                    self.path,
                    f"key {extra!r} is not among the first line's keys "
                    f"({', '.join(self.columns)}); "
                    "CSV, TSV and Parquet outputs need the same keys on every line (write .jsonl "
                    "to keep each line's own keys)",
                    number,
                )

    def as_rows(self) -> list[list[str]]:
        """Rows as lists of cell texts in :attr:`columns` order (``None`` → empty cell)."""
        if self.rows is not None:
            return self.rows
        if self.records is not None:
            self._check_keys()
            names = self.columns
            return [[cell_text(record.get(name)) for name in names] for record in self.records]
        import pyarrow as pa

        columns = []
        for array in self.batch.columns:
            values = array.to_pylist()
            if pa.types.is_string(array.type) or pa.types.is_large_string(array.type):
                columns.append(["" if v is None else v for v in values])
            else:
                columns.append([cell_text(v) for v in values])
        return [list(row) for row in zip(*columns, strict=True)] if columns else []

    def as_records(self) -> list[dict[str, Any]]:
        """Rows as dicts (column → value)."""
        if self.records is not None:
            return self.records
        if self.rows is not None:
            names = self.columns
            return [dict(zip(names, row, strict=True)) for row in self.rows]
        return self.batch.to_pylist()

    def as_table(self, schema: Any = None) -> Any:
        """Rows as a pyarrow ``Table`` (CSV/TSV cells as strings; JSON types inferred).

        Args:
            schema: Schema of the earlier chunks (JSON lines: later chunks must fit it).
        """
        import pyarrow as pa

        if self.batch is not None:
            return pa.Table.from_batches([self.batch])
        if self.rows is not None:
            columns = list(zip(*self.rows, strict=True)) or [[] for _ in self.columns]
            pairs = zip(self.columns, columns, strict=True)
            return pa.table({name: pa.array(col, pa.string()) for name, col in pairs})
        self._check_keys()
        names = self.columns
        records = [{name: record.get(name) for name in names} for record in self.records or []]
        try:
            if schema is not None:
                return pa.Table.from_pylist(records, schema=schema)
            table = pa.Table.from_pylist(records)
        except (pa.ArrowException, TypeError, ValueError, OverflowError) as error:
            raise InputFormatError(
                self.path,
                "a column holds values of different types, which Parquet cannot store in one "
                f"column ({error_line(error)}); write .jsonl or .csv instead, or make the types "
                "agree",
                self.first_line,
            ) from None
        fields = [
            pa.field(f.name, pa.string()) if pa.types.is_null(f.type) else f for f in table.schema
        ]
        return table.cast(pa.schema(fields))


@dataclass
class Added:
    """Columns added to every output row, as cells of distinct values and a per-row index.

    Attributes:
        names: Added column names.
        lists: Names of the columns whose cells are lists of strings (CSV/TSV: ``;``-joined).
        distinct: Cell tuples, one per distinct value (aligned with ``names``).
        index: Per output row, its position in :attr:`distinct` (a list or numpy array).
        source_rows: Per output row, the input row it repeats (``None``: one output row per
            input row, in order).
    """

    names: tuple[str, ...]
    lists: frozenset[str]
    distinct: Sequence[tuple[Any, ...]]
    index: Any
    source_rows: Any = None

    def __len__(self) -> int:
        return len(self.index)

    def rows_of(self, rows: list[Any]) -> list[Any]:
        """The input rows aligned with the output rows (repeated with ``explode``)."""
        if self.source_rows is None:
            return rows
        take = self.source_rows
        take = take.tolist() if hasattr(take, "tolist") else take
        return [rows[i] for i in take]


class _Closing:
    """A context manager that calls :meth:`close` on the way out."""

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Reader(_Closing):
    """What :func:`~icdbridge.tables.open_reader` returns: an iterable of :class:`Chunk` objects.

    The readers of every format share this part: the input is checked on construction, chunks
    hold at most ``chunk_rows`` rows, what the reader has to say about the input goes to
    ``issues``, and the reader is a context manager that closes the file.

    Args:
        path: The input file.
        column: The code column (default: the only column, or one called ``code``).
        chunk_rows: Rows per chunk at the most.
        issues: Where input issues are counted (default: a new :class:`Issues`).

    Attributes:
        columns: The input's column names.
        column: The chosen code column.
        schema: The input's Arrow schema (Parquet; ``None`` for the text formats).
        lines_read: Lines (Parquet: rows) read so far.
    """

    columns: list[str]
    column: str | None = None
    schema: Any = None

    def __init__(
        self,
        path: Path,
        *,
        column: str | None = None,
        chunk_rows: int = 100_000,
        issues: Issues | None = None,
    ) -> None:
        self.path, self.chunk_rows = check_input(path), chunk_rows
        self.issues = issues if issues is not None else Issues()
        self.lines_read = 0
        self._open(column)

    def _open(self, column: str | None) -> None:
        """Read what the format needs to know its columns, and choose the code column."""
        raise NotImplementedError

    def __iter__(self) -> Iterator[Chunk]:
        raise NotImplementedError

    def close(self) -> None:
        """Close the file."""
        self._file.close()


class Writer(_Closing):
    """What :func:`~icdbridge.tables.open_writer` returns (use it as a context manager).

    :meth:`begin` fixes the columns, :meth:`write` writes a chunk with its added cells,
    :meth:`close` finishes the file (the text formats: a handle opened by the subclass).
    """

    _handle: IO[str]

    def begin(
        self,
        columns: list[str],
        added: tuple[str, ...],
        lists: frozenset[str],
        input_schema: Any = None,
    ) -> None:
        """Fix the columns: the input's, the added ones, which added ones hold lists, and the
        input's Arrow schema (Parquet); then :meth:`_start` (the header of text formats)."""
        self._columns, self._added, self._lists = columns, added, lists
        self._input_schema = input_schema
        self._start()

    def _start(self) -> None:
        """Called by :meth:`begin` once the columns are known."""

    def write(self, chunk: Chunk, added: Added) -> int:
        """Write the rows of ``chunk`` with their added cells; return the rows written."""
        raise NotImplementedError

    def close(self) -> None:
        """Flush and close."""
        self._handle.close()
