"""Dataset migration: map one code column of a CSV, TSV, JSONL or Parquet file, streaming.

Every input row appears in the output — one row per input row (targets as a list column), or one
row per target with ``explode`` (a row without targets still appears once). The added columns are
those of :mod:`icdbridge.crosswalk.columns` (``map_status``, ``map_targets``...).

Formats come from the file extensions (:func:`icdbridge.tables.detect_format`), so a migration
also converts between any two of CSV, TSV, JSON lines and Parquet. Files are read and written
chunk by chunk (:mod:`icdbridge.tables`), each distinct value of a chunk mapped once, so memory
does not grow with file size.

Safety (see ``docs/reliability.md``): the output and the report files are checked before any work
(never an input, never a folder, the folder writable), written to temporary files beside them and
renamed into place together only when everything succeeded; on an error, Ctrl-C or SIGTERM the
temporary files are removed and the previous output and report stay as they were. Malformed input
is an :class:`~icdbridge.errors.InputFormatError` naming the file, line and value; what the
readers noticed without refusing (records spanning lines, numeric codes, missing values...) is
listed in the report's *Input issues*.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from os import PathLike
from pathlib import Path
from typing import TYPE_CHECKING, TypedDict

from icdbridge.crosswalk.chain import Crosswalk, MappedArray
from icdbridge.crosswalk.columns import ADDED, ADDED_EXPLODED, MappingColumns
from icdbridge.errors import IcdbridgeError, InputFormatError
from icdbridge.outputs import atomic_file, check_output, output_error
from icdbridge.tables import Added, Chunk, Issues, detect_format, open_reader, open_writer
from icdbridge.tables.text import check_input

if TYPE_CHECKING:
    from icdbridge.crosswalk.report import MigrationReport
    from icdbridge.crosswalk.text_policy import TextColumns

CHUNK_ROWS = 100_000
"""Rows per chunk read, mapped and written at once (memory is bounded by one chunk)."""

REPORT_SUFFIXES = (".md", ".json", ".png")
"""The report files written for a stem: ``STEM.md``, ``STEM.json``, ``STEM.png``."""

Pathish = str | PathLike[str]


class MigrateOptions(TypedDict, total=False):
    """Keyword arguments of :func:`migrate` that the policies built on it pass through
    (:func:`~icdbridge.crosswalk.text_policy.migrate_with_text`); each as :func:`migrate`
    documents it."""

    column: str | None
    explode: bool
    input_format: str | None
    output_format: str | None
    on_rows: Callable[[int], None] | None
    report: Pathish | None
    write_report: bool
    inputs: Iterable[Pathish | None]


@dataclass
class Tally:
    """Row counts per distinct input value (the report is built from it).

    ``None`` (a null cell) and ``""`` (an empty string) are counted apart, so every row is counted
    once.
    """

    rows: Counter = field(default_factory=Counter)
    on_rows: Callable[[int], None] | None = None
    """Called with the number of rows of each chunk (progress display)."""

    def add(self, values: list[object]) -> None:
        """Count one chunk of input values (lists of strings; other values by their text)."""
        self.rows.update(v if v is None or isinstance(v, str) else str(v) for v in values)
        if self.on_rows is not None:
            self.on_rows(len(values))

    def add_mapped(self, mapped: MappedArray) -> None:
        """Count one chunk from its columnar mapping (distinct values and per-row index)."""
        import numpy as np

        counts = np.bincount(mapped.index, minlength=len(mapped.mappings))
        for value, count in zip(mapped.values, counts.tolist(), strict=True):
            if count:
                self.rows[value] += count
        if self.on_rows is not None:
            self.on_rows(len(mapped.index))


def report_paths(output_path: Pathish, report: Pathish | None = None) -> list[Path]:
    """Report files of a migration: ``STEM.md``, ``STEM.json``, ``STEM.png``.

    Args:
        output_path: The migrated file.
        report: The stem; ``None`` (default) names the report after the full output file name
            (``out.csv`` → ``out.csv.report.md``), so outputs of different formats never share
            a report.
    """
    stem = Path(f"{output_path}.report") if report is None else Path(report)
    return [Path(f"{stem}{suffix}") for suffix in REPORT_SUFFIXES]


def check_migration(
    input_path: Pathish,
    output_path: Pathish,
    *,
    report: Pathish | None = None,
    write_report: bool = True,
    inputs: Iterable[Pathish | None] = (),
    input_format: str | None = None,
    output_format: str | None = None,
) -> tuple[Path, Path, list[Path]]:
    """Check, before any work, that a migration can read its input and write its outputs.

    Args:
        input_path: The dataset to migrate (must be a regular file with a known extension).
        output_path: The output file (known extension; never an input; its folder is created).
        report: Report stem (see :func:`report_paths`).
        write_report: Whether report files will be written (and so are checked).
        inputs: Other files the run reads (crosswalk tables): outputs may not be any of them.
        input_format: The input's format when not taken from its extension.
        output_format: The output's format when not taken from its extension.

    Returns:
        The input, output and report paths.

    Raises:
        InputFormatError: the input is missing, a folder, or of an unknown type.
        OutputError: an output is an input, a folder, of an unknown type, or not writable.
    """
    source = check_input(Path(input_path))
    if input_format is None:
        detect_format(source)
    if output_format is None:
        detect_format(output_path, output=True)
    protected = [source, *inputs]
    target = check_output(output_path, protected)
    reports = report_paths(target, report) if write_report else []
    for path in reports:
        if path == target:
            from icdbridge.errors import OutputError

            raise OutputError(f"{path}: report file is the output file; choose another report path")
        check_output(path, [*protected, target])
    return source, target, reports


def migrate(
    input_path: Pathish,
    output_path: Pathish,
    crosswalk: Crosswalk,
    *,
    column: str | None = None,
    policy: str = "all",
    explode: bool = False,
    input_format: str | None = None,
    output_format: str | None = None,
    on_rows: Callable[[int], None] | None = None,
    report: Pathish | None = None,
    write_report: bool = True,
    inputs: Iterable[Pathish | None] = (),
    text: TextColumns | None = None,
) -> MigrationReport:
    """Map the code column of a dataset file into a new file and return the migration report.

    Args:
        input_path: CSV, TSV, JSONL or Parquet file (format from the extension unless given).
        output_path: Output file; its extension chooses the format (any of the four, so the
            migration also converts), unless ``output_format`` is given.
        crosswalk: From :func:`icdbridge.crosswalk.get_crosswalk`.
        column: Code column (default: the only column, or one called ``code``).
        policy: Lossy policy name (``all`` keeps every target).
        explode: One output row per target instead of a list column.
        input_format: ``csv``, ``tsv``, ``jsonl`` or ``parquet`` (default: from the extension).
        output_format: Same choices (default: from the output's extension).
        on_rows: Called with the row count of each chunk read (for progress display).
        report: Report stem (default: ``OUTPUT.report``, see :func:`report_paths`).
        write_report: Write the report files (markdown, JSON, PNG) with the output.
        inputs: Other files the run reads (crosswalk tables), which no output may overwrite.
        text: The ``text`` policy's added columns (each row's targets ordered by its note;
            see :func:`icdbridge.crosswalk.text_policy.migrate_with_text`), or ``None``.

    Returns:
        The :class:`~icdbridge.crosswalk.report.MigrationReport`.

    Raises:
        InputFormatError: malformed input (naming the file and line).
        OutputError: an output that must not or cannot be written.
    """
    from icdbridge.crosswalk.policies import get_policy

    get_policy(policy)
    source, target, reports = check_migration(
        input_path,
        output_path,
        report=report,
        write_report=write_report,
        inputs=inputs,
        input_format=input_format,
        output_format=output_format,
    )
    in_kind = input_format or detect_format(source)
    out_kind = output_format or detect_format(target, output=True)
    issues = Issues()
    tally = Tally(on_rows=on_rows)
    with _signals_held() as hold, contextlib.ExitStack() as stack:
        temps = [stack.enter_context(atomic_file(path)) for path in reports]
        data = stack.enter_context(atomic_file(target))  # renamed first, then the report
        reader = stack.enter_context(
            open_reader(in_kind, source, column=column, chunk_rows=CHUNK_ROWS, issues=issues)
        )
        extra = text.names(explode) if text is not None else ()
        renamed = _renaming(source, reader.columns, extra)
        try:
            written = _copy(
                reader, data, out_kind, crosswalk, policy, explode, tally, renamed, text
            )
        except IcdbridgeError:
            raise
        except OSError as error:
            raise output_error(target, error) from None
        if renamed:
            pairs = ", ".join(f"{old} → {new}" for old, new in renamed.items())
            issues.add(
                "renamed-column",
                f"the input already had columns that mapping adds (a migrated file?): {pairs}",
                rows=sum(tally.rows.values()),
            )
        result = _report(tally, issues, crosswalk, policy)
        result.input, result.output, result.rows_written = str(source), str(target), written
        result.input_format, result.output_format = in_kind, out_kind
        result.lines = reader.lines_read if in_kind in ("csv", "tsv", "jsonl") else None
        if temps:
            try:
                result.write(*temps)
            except OSError as error:
                raise output_error(reports[0], error, "write the report") from None
        hold()  # the renames below run with signals held, so data and report move together
    return result


@contextlib.contextmanager
def _signals_held():
    """Yield a function that holds Ctrl-C/SIGTERM/SIGHUP until the block ends.

    A signal arriving while the finished files are renamed into place is delivered after the
    last rename (so the output and its report are never from different runs).
    """
    import signal
    import threading

    held: list[object] = []

    def hold() -> None:
        if threading.current_thread() is threading.main_thread():
            wanted = {signal.SIGINT, signal.SIGTERM, signal.SIGHUP}
            held.append(signal.pthread_sigmask(signal.SIG_BLOCK, wanted))

    try:
        yield hold
    finally:
        if held:
            signal.pthread_sigmask(signal.SIG_SETMASK, held[0])


def _copy(
    reader,
    data: Path,
    out_kind: str,
    crosswalk: Crosswalk,
    policy: str,
    explode: bool,
    tally: Tally,
    renamed: dict[str, str],
    text: TextColumns | None = None,
) -> int:
    names = ADDED_EXPLODED if explode else ADDED
    lists = frozenset() if explode else frozenset({"map_targets"})
    if text is not None:
        names, lists = (*names, *text.names(explode)), lists | text.lists(explode)
    cells = MappingColumns()
    written = 0
    columns = [renamed.get(name, name) for name in reader.columns]
    schema = reader.schema
    if renamed and schema is not None:
        schema = _renamed_schema(schema, renamed)
    with open_writer(out_kind, data) as writer:
        writer.begin(columns, names, lists, input_schema=schema)
        for chunk in reader:
            mapped = crosswalk.map_array(_arrow_strings(chunk.values), policy)
            more = text.cells(chunk, mapped, explode) if text is not None else None
            if renamed:
                chunk = _renamed(chunk, renamed, columns)
            tally.add_mapped(mapped)
            added = _added(mapped, cells, names, lists, explode)
            if more is not None:
                added = _with_cells(added, more)
            written += writer.write(chunk, added)
    return written


RENAMED_PREFIX = "input_"
"""Prefix given to input columns that have the name of a column mapping adds."""


def _renaming(source: Path, columns: list[str], extra: Iterable[str] = ()) -> dict[str, str]:
    """Input columns named like added ones (a migrated file mapped again) → their new names."""
    added = {*ADDED, *ADDED_EXPLODED, *extra}
    renamed = {name: RENAMED_PREFIX + name for name in columns if name in added}
    taken = set(columns) & set(renamed.values())
    if taken:
        raise InputFormatError(
            source,
            f"the input has both {next(iter(taken))[len(RENAMED_PREFIX) :]!r} and "
            f"{next(iter(taken))!r}, names mapping needs; rename them",
        )
    return renamed


def _renamed_schema(schema, renamed: dict[str, str]):
    import pyarrow as pa

    return pa.schema([field.with_name(renamed.get(field.name, field.name)) for field in schema])


def _renamed(chunk: Chunk, renamed: dict[str, str], columns: list[str]) -> Chunk:
    """``chunk`` with the input columns of :func:`_renaming` under their new names."""
    if chunk.records is not None:
        records = [{renamed.get(k, k): v for k, v in record.items()} for record in chunk.records]
        return replace(chunk, columns=columns, records=records)
    if chunk.batch is not None:
        return replace(chunk, columns=columns, batch=chunk.batch.rename_columns(columns))
    return replace(chunk, columns=columns)


def _arrow_strings(values: object) -> object:
    import pyarrow as pa

    if isinstance(values, pa.Array | pa.ChunkedArray):
        return values
    return pa.array(values, pa.string())


def _added(
    mapped: MappedArray,
    cells: MappingColumns,
    names: tuple[str, ...],
    lists: frozenset[str],
    explode: bool,
) -> Added:
    import numpy as np

    index = mapped.index
    if not explode:
        distinct = [cells.row(mapping) for mapping in mapped.mappings]
        return Added(names, lists, distinct, index)
    per = [cells.exploded(mapping) for mapping in mapped.mappings]
    sizes = np.array([len(p) for p in per], dtype=np.int64)
    starts = np.cumsum(sizes) - sizes
    distinct = [cell for p in per for cell in p]
    per_row = sizes[index]
    total = int(per_row.sum())
    source_rows = np.repeat(np.arange(len(index), dtype=np.int64), per_row)
    row_start = np.cumsum(per_row) - per_row
    within = np.arange(total, dtype=np.int64) - np.repeat(row_start, per_row)
    out_index = np.repeat(starts[index], per_row) + within
    return Added(names, lists, distinct, out_index, source_rows)


def _with_cells(added: Added, more: list[list[tuple]]) -> Added:
    """``added`` with more cells per output row: ``more`` holds, per input row, one tuple per
    output row of that input row (in output order)."""
    flat = [cells for per_row in more for cells in per_row]
    distinct = [(*added.distinct[i], *cells) for i, cells in zip(added.index, flat, strict=True)]
    return Added(added.names, added.lists, distinct, list(range(len(flat))), added.source_rows)


def _report(tally: Tally, issues: Issues, crosswalk: Crosswalk, policy: str) -> MigrationReport:
    from icdbridge.crosswalk.report import build_report

    report = build_report(tally.rows, crosswalk, policy)
    report.issues = [issue.to_dict() for issue in issues] + report.issues
    return report
