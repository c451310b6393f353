"""Dataset migration: map one code column of a CSV, TSV, JSONL or Parquet file, streaming.

Every input row appears in the output — one row per input row (targets as a list column), or one
row per target with ``explode`` (a row without targets still appears once). Added columns:

* ``map_status`` — see :data:`icdbridge.crosswalk.model.STATUSES`;
* ``map_targets`` — target codes (a list; in CSV/TSV joined with ``;``), or ``map_target`` with
  ``explode``;
* ``map_exactness``, ``map_target_titles`` — see :mod:`icdbridge.crosswalk.columns`;
* ``map_detail`` — every path with its provenance, human-readable.

Files are read and written chunk by chunk (Parquet with pyarrow batch readers/writers, mapping
each distinct value of a batch once and broadcasting), so memory does not grow with file size.
"""

from __future__ import annotations

import csv
import json
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from icdbridge.crosswalk.chain import Crosswalk
from icdbridge.crosswalk.columns import ADDED, ADDED_EXPLODED, MappingColumns
from icdbridge.errors import InputFormatError

CHUNK_ROWS = 100_000
_DELIMITERS = {",": "comma", "\t": "tab", ";": "semicolon", "|": "pipe"}


@dataclass
class Tally:
    """Row counts per distinct input value (the report is built from it)."""

    rows: Counter = field(default_factory=Counter)
    on_rows: Callable[[int], None] | None = None
    """Called with the number of rows of each chunk (progress display)."""

    def add(self, values: list[object]) -> None:
        """Count one chunk of input values."""
        self.rows.update(v if isinstance(v, str) else ("" if v is None else str(v)) for v in values)
        if self.on_rows is not None:
            self.on_rows(len(values))


# --------------------------------------------------------------------- delimited text
def _decoded_lines(path: Path) -> Iterator[str]:
    with open(path, "rb") as handle:
        for number, raw in enumerate(handle, start=1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as error:
                byte = raw[error.start : error.start + 1]
                raise InputFormatError(
                    path, f"not UTF-8 text (byte {byte!r} at column {error.start + 1})", number
                ) from None
            yield line.removeprefix("\ufeff") if number == 1 else line


def _pick_column(path: Path, columns: list[str], column: str | None, line: int = 1) -> str:
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
        path, f"several columns ({', '.join(map(str, columns))}): choose one with --column", line
    )


def _delimited(delimiter: str) -> Callable:
    def run(
        path: Path,
        out: Path,
        xw: Crosswalk,
        column: str | None,
        policy: str,
        explode: bool,
        tally: Tally,
    ) -> int:
        lines = _decoded_lines(path)
        reader = csv.reader(lines, delimiter=delimiter)
        header = next(reader, None)
        if header is None or not any(cell.strip() for cell in header):
            raise InputFormatError(path, "empty file: expected a header line", 1)
        if len(header) == 1 and column not in header:
            for other, name in _DELIMITERS.items():
                if other != delimiter and other in header[0]:
                    raise InputFormatError(
                        path,
                        f"wrong delimiter: expected {_DELIMITERS[delimiter]}-separated, "
                        f"the header looks {name}-separated",
                        1,
                        header[0][:80],
                    )
        name = _pick_column(path, header, column)
        index = header.index(name)
        cells = MappingColumns()
        written = 0
        with open(out, "w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle, delimiter=delimiter)
            writer.writerow([*header, *(ADDED_EXPLODED if explode else ADDED)])
            while True:
                chunk = []
                for row in reader:
                    if not row:  # a blank line is a row of empty cells, never dropped
                        row = [""] * len(header)
                    if len(row) != len(header):
                        raise InputFormatError(
                            path, f"expected {len(header)} fields, got {len(row)}", reader.line_num
                        )
                    chunk.append(row)
                    if len(chunk) >= CHUNK_ROWS:
                        break
                if not chunk:
                    break
                values = [row[index] for row in chunk]
                tally.add(values)
                for row, mapping in zip(chunk, xw.map_many(values, policy), strict=True):
                    if explode:
                        for cell in cells.exploded(mapping):
                            writer.writerow([*row, *(c if c is not None else "" for c in cell)])
                            written += 1
                    else:
                        status, codes, exactness, outcome, text = cells.row(mapping)
                        writer.writerow([*row, status, ";".join(codes), exactness, outcome, text])
                        written += 1
        return written

    return run


# --------------------------------------------------------------------- JSON lines
def _text(value: object) -> object:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return value  # lists, objects, booleans: mapped as invalid-code


def _jsonl(
    path: Path,
    out: Path,
    xw: Crosswalk,
    column: str | None,
    policy: str,
    explode: bool,
    tally: Tally,
) -> int:
    cells = MappingColumns()
    written = 0
    name: str | None = column
    seen_any = False
    with open(out, "w", encoding="utf-8") as handle:
        chunk: list[tuple[int, dict]] = []

        def flush() -> int:
            # numbers become strings (as in CSV); null stays null (status invalid-code)
            values = [_text(record.get(name)) for _, record in chunk]
            tally.add(values)
            count = 0
            for (_, record), mapping in zip(chunk, xw.map_many(values, policy), strict=True):
                if explode:
                    for cell in cells.exploded(mapping):
                        handle.write(
                            json.dumps({**record, **dict(zip(ADDED_EXPLODED, cell, strict=True))})
                            + "\n"
                        )
                        count += 1
                else:
                    status, codes, exactness, outcome, text = cells.row(mapping)
                    extra = dict(zip(ADDED, (status, codes, exactness, outcome, text), strict=True))
                    handle.write(json.dumps({**record, **extra}) + "\n")
                    count += 1
            chunk.clear()
            return count

        for number, line in enumerate(_decoded_lines(path), start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as error:
                raise InputFormatError(
                    path, f"invalid JSON ({error.msg})", number, line.strip()[:80]
                ) from None
            if not isinstance(record, dict):
                raise InputFormatError(
                    path, "each line must be a JSON object", number, line.strip()[:80]
                )
            if name is None or not seen_any:
                name = _pick_column(path, list(record), column, number)
            elif name not in record:
                raise InputFormatError(path, f"column {name!r} missing", number)
            seen_any = True
            chunk.append((number, record))
            if len(chunk) >= CHUNK_ROWS:
                written += flush()
        if not seen_any:
            raise InputFormatError(path, "empty file: expected JSON objects, one per line", 1)
        if chunk:
            written += flush()
    return written


# --------------------------------------------------------------------- Parquet
def _parquet(
    path: Path,
    out: Path,
    xw: Crosswalk,
    column: str | None,
    policy: str,
    explode: bool,
    tally: Tally,
) -> int:
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        source = pq.ParquetFile(path)
    except (pa.ArrowInvalid, OSError) as error:
        raise InputFormatError(path, f"not a readable Parquet file ({error})") from None
    names = source.schema_arrow.names
    name = _pick_column(path, names, column)
    writer: pq.ParquetWriter | None = None
    written = 0
    cells = MappingColumns()
    list_type = pa.list_(pa.string())
    try:
        for batch in source.iter_batches(batch_size=CHUNK_ROWS):
            mapped = xw.map_array(batch.column(names.index(name)), policy)
            indices, mappings = mapped.index, mapped.mappings
            counts = np.bincount(indices, minlength=len(mappings))
            pairs = zip(mapped.values, counts, strict=True)
            tally.rows.update({("" if v is None else v): int(n) for v, n in pairs if n})
            if tally.on_rows is not None:
                tally.on_rows(sum(int(n) for _, n in pairs))
            if explode:
                per = [cells.exploded(m) for m in mappings]
                sizes = np.array([len(p) for p in per])
                rows = np.repeat(np.arange(batch.num_rows), sizes[indices])
                flat = [cell for i in indices for cell in per[i]]
                table = pa.Table.from_batches([batch]).take(pa.array(rows))
                columns = list(zip(*flat, strict=True)) if flat else [[] for _ in ADDED_EXPLODED]
                for added, data in zip(ADDED_EXPLODED, columns, strict=True):
                    table = table.append_column(added, pa.array(list(data), pa.string()))
            else:
                per = [cells.row(m) for m in mappings]
                take = pa.array(indices)
                table = pa.Table.from_batches([batch])
                table = table.append_column(
                    ADDED[0], pa.array([p[0] for p in per], pa.string()).take(take)
                )
                table = table.append_column(
                    ADDED[1], pa.array([p[1] for p in per], list_type).take(take)
                )
                for i in (2, 3, 4):
                    table = table.append_column(
                        ADDED[i], pa.array([p[i] for p in per], pa.string()).take(take)
                    )
            if writer is None:
                writer = pq.ParquetWriter(out, table.schema)
            writer.write_table(table)
            written += table.num_rows
        if writer is None:  # no rows at all: still write the schema
            empty = source.schema_arrow.empty_table()
            added = ADDED_EXPLODED if explode else ADDED
            for added_name in added:
                kind = list_type if added_name == "map_targets" else pa.string()
                empty = empty.append_column(added_name, pa.array([], kind))
            pq.write_table(empty, out)
    finally:
        if writer is not None:
            writer.close()
    return written


FORMATS: dict[str, Callable] = {
    "csv": _delimited(","),
    "tsv": _delimited("\t"),
    "jsonl": _jsonl,
    "parquet": _parquet,
}
"""Format → streaming migrator ``(in, out, crosswalk, column, policy, explode, tally) → rows``."""

_SUFFIXES = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".txt": "tsv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".parquet": "parquet",
    ".pq": "parquet",
}


def detect_format(path: Path | str) -> str:
    """Format name from the file suffix (``.csv``, ``.tsv``, ``.jsonl``, ``.parquet``).

    Raises:
        InputFormatError: unknown suffix.
    """
    suffix = Path(path).suffix.lower()
    try:
        return _SUFFIXES[suffix]
    except KeyError:
        known = ", ".join(sorted(_SUFFIXES))
        raise InputFormatError(
            path, f"unknown file type {suffix!r} (expected one of {known})"
        ) from None


def migrate(
    input_path: Path | str,
    output_path: Path | str,
    crosswalk: Crosswalk,
    *,
    column: str | None = None,
    policy: str = "all",
    explode: bool = False,
    input_format: str | None = None,
    output_format: str | None = None,
    on_rows: Callable[[int], None] | None = None,
):
    """Map the code column of a dataset file into a new file and return the migration report.

    Args:
        input_path: CSV, TSV, JSONL or Parquet file (format from the suffix unless given).
        output_path: Output file, same format as the input.
        crosswalk: From :func:`icdbridge.crosswalk.get_crosswalk`.
        column: Code column (default: the only column, or one called ``code``).
        policy: Lossy policy name (``all`` keeps every target).
        explode: One output row per target instead of a list column.
        input_format: ``csv``, ``tsv``, ``jsonl`` or ``parquet`` (default: from the suffix).
        output_format: Must equal the input format when given.
        on_rows: Called with the row count of each chunk read (for progress display).

    Returns:
        The :class:`~icdbridge.crosswalk.report.MigrationReport`.

    Raises:
        InputFormatError: malformed input (naming the file and line).
    """
    from icdbridge.crosswalk.policies import get_policy
    from icdbridge.crosswalk.report import build_report
    from icdbridge.errors import DataNotFoundError

    get_policy(policy)
    input_path, output_path = Path(input_path), Path(output_path)
    if not input_path.exists():
        raise DataNotFoundError(f"input file not found: {input_path}")
    kind = input_format or detect_format(input_path)
    if kind not in FORMATS:
        raise InputFormatError(
            input_path, f"unknown format {kind!r} (expected {', '.join(FORMATS)})"
        )
    if output_format is not None and output_format != kind:
        raise InputFormatError(output_path, f"output format must match the input ({kind})")
    tally = Tally(on_rows=on_rows)
    written = FORMATS[kind](input_path, output_path, crosswalk, column, policy, explode, tally)
    report = build_report(tally.rows, crosswalk, policy)
    report.input, report.output, report.rows_written = str(input_path), str(output_path), written
    return report
