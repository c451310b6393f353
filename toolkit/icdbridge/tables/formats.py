"""File formats: extension → format name, and format name → reader / writer."""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module
from os import PathLike
from pathlib import Path
from typing import Any

from icdbridge.errors import InputFormatError, OutputError

SUFFIXES: dict[str, str] = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".txt": "tsv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".parquet": "parquet",
    ".pq": "parquet",
}
"""File extension (lower case) → format name."""

FORMATS: dict[str, tuple[str, str, dict[str, Any]]] = {
    "csv": ("icdbridge.tables.delimited", "Delimited", {"delimiter": ","}),
    "tsv": ("icdbridge.tables.delimited", "Delimited", {"delimiter": "\t"}),
    "jsonl": ("icdbridge.tables.jsonl", "Jsonl", {}),
    "parquet": ("icdbridge.tables.parquet", "Parquet", {}),
}
"""Format name → ``(module, class prefix, options)``: ``<prefix>Reader`` / ``<prefix>Writer``."""


def detect_format(path: str | PathLike[str], *, output: bool = False) -> str:
    """Format name of ``path`` from its extension (``.csv``, ``.tsv``, ``.jsonl``, ``.parquet``...).

    Args:
        path: The file.
        output: The file is an output (the error is then an :class:`OutputError`).

    Raises:
        InputFormatError: unknown extension of an input, listing the known ones.
        OutputError: unknown extension of an output, listing the known ones.
    """
    suffix = Path(path).suffix.lower()
    try:
        return SUFFIXES[suffix]
    except KeyError:
        known = ", ".join(sorted(SUFFIXES))
        what = repr(suffix) if suffix else "no extension"
        if output:
            raise OutputError(
                f"{path}: unknown output file type ({what}); the extension chooses the format, "
                f"one of {known}"
            ) from None
        raise InputFormatError(
            path, f"unknown file type {what} (expected one of {known})"
        ) from None


def _get(kind: str, role: str) -> Callable[..., Any]:
    if kind not in FORMATS:
        raise InputFormatError(None, f"unknown format {kind!r} (expected {', '.join(FORMATS)})")
    module, prefix, options = FORMATS[kind]
    cls = getattr(import_module(module), prefix + role)
    return lambda *args, **kwargs: cls(*args, **options, **kwargs)


def open_reader(kind: str, path: str | PathLike[str], **kwargs: Any) -> Any:
    """A reader of format ``kind`` over ``path`` (see :class:`~icdbridge.tables.chunk.Reader`).

    Keyword arguments (``column``, ``chunk_rows``, ``issues``) go to the reader.
    """
    return _get(kind, "Reader")(Path(path), **kwargs)


def open_writer(kind: str, path: str | PathLike[str], **kwargs: Any) -> Any:
    """A writer of format ``kind`` into ``path`` (see :class:`~icdbridge.tables.chunk.Writer`)."""
    return _get(kind, "Writer")(Path(path), **kwargs)
