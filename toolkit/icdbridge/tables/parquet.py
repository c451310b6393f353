"""Parquet: streaming reader (record batches) and writer (one row group per chunk)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from icdbridge.errors import InputFormatError
from icdbridge.tables.chunk import Added, Chunk, Reader, Writer
from icdbridge.tables.delimited import pick_column, refuse_duplicates
from icdbridge.tables.text import error_line

NUMERIC_CODE = (
    "the code column is numeric ({type}), not text: zeros may have been lost upstream (250.10 "
    "stored as 250.1, 038 as 38); values are mapped as their decimal text — store codes as strings"
)


class ParquetReader(Reader):
    """Reads a Parquet file batch by batch; the schema is checked on construction.

    Refused with a one-line error: a file Parquet cannot open, duplicate column names, a code
    column of lists/structs/maps or binary data, a corrupt page (naming the rows read before it).
    A numeric code column is mapped as decimal text and reported in ``issues``.
    """

    def _open(self, column: str | None) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        path = self.path
        try:
            self._file = pq.ParquetFile(path)
            self.schema = self._file.schema_arrow
        except (pa.ArrowException, OSError, ValueError) as error:
            raise InputFormatError(
                path, f"not a readable Parquet file ({error_line(error)})"
            ) from None
        self.columns = list(self.schema.names)
        refuse_duplicates(path, self.columns, line=None)  # type: ignore[arg-type]
        self.column = pick_column(path, self.columns, column, None)
        kind = self.schema.field(self.column).type
        if pa.types.is_dictionary(kind):
            kind = kind.value_type
        self._numeric = False
        if pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_null(kind):
            pass
        elif pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind):
            self._numeric = True
            self._message = NUMERIC_CODE.format(type=kind)
        else:
            raise InputFormatError(
                path,
                f"column {self.column!r} holds {kind} values, not codes; name a text column "
                "as the code column",
            )

    def __iter__(self) -> Iterator[Chunk]:
        import pyarrow as pa
        import pyarrow.compute as pc

        index = self.columns.index(self.column)
        batches = self._file.iter_batches(batch_size=self.chunk_rows)
        while True:
            try:
                batch = next(batches, None)
            except (pa.ArrowException, OSError, ValueError) as error:
                raise InputFormatError(
                    self.path,
                    f"corrupt Parquet data after row {self.lines_read:,} ({error_line(error)})",
                ) from None
            if batch is None:
                return
            values = batch.column(index)
            if pa.types.is_dictionary(values.type):
                values = values.dictionary_decode()
            if self._numeric:
                present = len(values) - values.null_count
                if present:
                    example = pc.drop_null(values)[0].as_py()
                    self.issues.add(
                        "numeric-code",
                        self._message,
                        rows=present,
                        line=self.lines_read + 1,
                        example=str(example),
                    )
            if not (pa.types.is_string(values.type) or pa.types.is_large_string(values.type)):
                values = values.cast(pa.string())
            first = self.lines_read + 1
            self.lines_read += batch.num_rows
            yield Chunk(self.path, self.columns, values, first, batch=batch)


class ParquetWriter(Writer):
    """Writes Parquet, one row group per chunk; the schema comes from the first chunk."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._writer: Any = None
        self._schema: Any = None
        self._input_schema: Any = None

    def _added_type(self, name: str) -> Any:
        import pyarrow as pa

        return pa.list_(pa.string()) if name in self._lists else pa.string()

    def write(self, chunk: Chunk, added: Added) -> int:
        """Write the rows of ``chunk`` with the added columns."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = chunk.as_table(self._input_part())
        if added.source_rows is not None:
            table = table.take(pa.array(added.source_rows, pa.int64()))
        take = pa.array(added.index, pa.int64())
        for position, name in enumerate(self._added):
            cells = [cells[position] for cells in added.distinct]
            table = table.append_column(name, pa.array(cells, self._added_type(name)).take(take))
        if self._writer is None:
            self._schema = table.schema
            self._writer = pq.ParquetWriter(self.path, table.schema)
        elif table.schema != self._schema:
            try:
                table = table.cast(self._schema)
            except (pa.ArrowException, ValueError, TypeError) as error:
                raise InputFormatError(
                    chunk.path,
                    "a column changes type within the file, which Parquet cannot store in one "
                    f"column ({error_line(error)}); write .jsonl or .csv instead",
                    chunk.first_line,
                ) from None
        self._writer.write_table(table)
        return table.num_rows

    def _input_part(self) -> Any:
        if self._schema is None:
            return None
        import pyarrow as pa

        return pa.schema([self._schema.field(name) for name in self._columns])

    def close(self) -> None:
        """Finish the file (an input without rows still gets its schema)."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        if self._writer is None:
            if self._input_schema is not None:
                fields = list(self._input_schema)
            else:
                fields = [pa.field(name, pa.string()) for name in self._columns]
            fields += [pa.field(name, self._added_type(name)) for name in self._added]
            pq.write_table(pa.schema(fields).empty_table(), self.path)
            return
        self._writer.close()

    def __exit__(self, *exc: object) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None
            return
        if exc[0] is None:
            self.close()
