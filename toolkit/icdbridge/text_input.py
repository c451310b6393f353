"""Read user text files line by line with one-line errors for what real files contain.

Every reader of a user's line-based file (gold codes, predictions, documents to code, hierarchy
files) goes through :func:`text_lines` or :func:`parse_json_line`, so that bytes that are not
UTF-8, a JSON integer of thousands of digits or JSON nested thousands of levels deep become an
:class:`~icdbridge.errors.InputFormatError` naming the file, the line and the value — never a
traceback.
"""

from __future__ import annotations

import contextlib
import json
import zipfile
import zlib
from collections.abc import Iterator
from os import PathLike
from pathlib import Path
from typing import Any

from icdbridge.errors import IcdbridgeError, InputFormatError

SNIPPET = 80
"""Characters of an offending line quoted in an error message."""


def snippet(text: str, limit: int = SNIPPET) -> str:
    """``text`` stripped and cut to ``limit`` characters (``...`` marks a cut).

    Example:
        >>> snippet("  abc  "), snippet("x" * 10, 6)
        ('abc', 'xxx...')
    """
    text = text.strip()
    return text if len(text) <= limit else text[: limit - 3] + "..."


def text_lines(path: str | PathLike[str], *, bom: bool = True) -> Iterator[tuple[int, str]]:
    """Yield ``(line number, text)`` of a UTF-8 file, streamed, each line ending in ``"\\n"``.

    Line endings are universal, as in Python's text mode: ``\\n``, ``\\r\\n`` and a lone
    ``\\r`` (old Mac exports) all end a line.

    Args:
        path: The file.
        bom: Skip a UTF-8 byte-order mark at the start of the file.

    Raises:
        InputFormatError: the file is a folder or cannot be read, or it is not UTF-8 (the
            message names the line, the byte and its column).
    """
    path = Path(path)
    if path.is_dir():
        raise InputFormatError(path, "is a folder, not a file")
    try:
        handle = path.open(encoding="utf-8-sig" if bom else "utf-8", newline=None)
    except OSError as error:
        raise InputFormatError(path, f"cannot read the file: {error.strerror or error}") from None
    with handle:
        try:
            yield from enumerate(handle, start=1)
            return
        except UnicodeDecodeError:
            pass
    decode_utf8(path, path.read_bytes(), bom=bom)  # raises, naming the line and column
    raise InputFormatError(path, "not UTF-8 text; save the file as UTF-8")  # pragma: no cover


def decode_utf8(path: str | PathLike[str], data: bytes, *, bom: bool = True) -> str:
    """Decode a whole file's bytes as UTF-8 (a leading byte-order mark dropped).

    Raises:
        InputFormatError: the bytes are not UTF-8; the message names the line (counted with
            universal line endings) and the column.
    """
    try:
        return data.decode("utf-8-sig" if bom else "utf-8")
    except UnicodeDecodeError as error:
        before = data[: error.start].decode("utf-8", errors="replace")
        line = before.count("\n") + before.count("\r") - before.count("\r\n") + 1
        start = max(before.rfind("\n"), before.rfind("\r")) + 1
        column = len(before) - start + 1
        bad = data[error.start : error.start + 1]
        raise InputFormatError(
            path,
            f"not UTF-8 text (byte 0x{bad.hex()} at column {column}); save the file as UTF-8",
            line=line,
        ) from None


def read_utf8(path: str | PathLike[str]) -> str:
    """The whole text of a UTF-8 file (see :func:`decode_utf8`).

    Raises:
        InputFormatError: a folder, an unreadable file, or bytes that are not UTF-8.
    """
    path = Path(path)
    if path.is_dir():
        raise InputFormatError(path, "is a folder, not a file")
    try:
        data = path.read_bytes()
    except OSError as error:
        raise InputFormatError(path, f"cannot read the file: {error.strerror or error}") from None
    return decode_utf8(path, data)


ZIP_FAULTS: tuple[type[BaseException], ...] = (
    zipfile.BadZipFile,
    zlib.error,
    EOFError,
    NotImplementedError,
    RuntimeError,
    OSError,
    ValueError,
)
"""What :mod:`zipfile` raises on a corrupt, truncated, encrypted or unsupported archive."""


@contextlib.contextmanager
def reading_zip(path: str | PathLike[str]) -> Iterator[None]:
    """Turn a corrupt or truncated zip archive met in the block into one :class:`InputFormatError`.

    Example:
        >>> import tempfile, pathlib, zipfile
        >>> bad = pathlib.Path(tempfile.mkdtemp()) / "t.zip"
        >>> _ = bad.write_bytes(b"PK garbage")
        >>> with reading_zip(bad):  # doctest: +ELLIPSIS
        ...     zipfile.ZipFile(bad)
        Traceback (most recent call last):
        icdbridge.errors.InputFormatError: .../t.zip: not a readable zip archive ...
    """
    try:
        yield
    except IcdbridgeError:
        raise
    except ZIP_FAULTS as error:
        reason = str(error).split("\n")[0] or type(error).__name__
        raise InputFormatError(
            path,
            f"not a readable zip archive ({reason}); the file is corrupt or truncated, "
            "download it again",
        ) from None


def parse_json_line(path: str | PathLike[str], number: int, text: str) -> Any:
    """Decode one JSON line; every failure is an :class:`InputFormatError` with file and line.

    Besides malformed JSON this covers an integer too long for Python to convert, a number
    whose value overflows, and nesting too deep to decode.
    """
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        message = f"invalid JSON ({error.msg} at column {error.colno})"
    except RecursionError:
        message = "JSON nested too deeply"
    except ValueError as error:  # e.g. an integer of more than 4300 digits
        message = f"unreadable JSON value ({str(error).split(';')[0].split(':')[0]})"
    raise InputFormatError(path, message, line=number, value=snippet(text))


__all__ = [
    "decode_utf8",
    "parse_json_line",
    "read_utf8",
    "reading_zip",
    "snippet",
    "text_lines",
]
