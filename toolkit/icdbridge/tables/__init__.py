"""Tabular data files — CSV, TSV, JSON lines, Parquet — read and written chunk by chunk.

Used by dataset migration (:mod:`icdbridge.crosswalk.migrate`) and any engine that streams a
table through a function of one column:

* :func:`detect_format` takes a file's format from its extension (:data:`SUFFIXES`);
* :func:`open_reader` yields :class:`Chunk` objects (at most ``chunk_rows`` rows each) and records
  what it had to say about the input in :class:`Issues` (rows spanning several lines, numbers
  where codes were expected...); malformed input raises
  :class:`~icdbridge.errors.InputFormatError` naming the file, the line and the value;
* :func:`open_writer` writes chunks, plus added columns, in any of the formats, so every pair of
  formats converts (types are kept where the output format has them: CSV/TSV cells are text).

Memory is bounded by one chunk: nothing reads a whole file.
"""

from __future__ import annotations

from icdbridge.tables.chunk import Added, Chunk
from icdbridge.tables.formats import FORMATS, SUFFIXES, detect_format, open_reader, open_writer
from icdbridge.tables.issues import Issue, Issues
from icdbridge.tables.text import FIELD_LIMIT

__all__ = [
    "FIELD_LIMIT",
    "FORMATS",
    "SUFFIXES",
    "Added",
    "Chunk",
    "Issue",
    "Issues",
    "detect_format",
    "open_reader",
    "open_writer",
]
