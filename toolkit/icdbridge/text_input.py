"""Read user text files line by line with one-line errors for what real files contain.

Every reader of a user's line-based file (gold codes, predictions, documents to code, hierarchy
files) goes through :func:`text_lines` or :func:`parse_json_line`, so that bytes that are not
UTF-8, a JSON integer of thousands of digits or JSON nested thousands of levels deep become an
:class:`~icdbridge.errors.InputFormatError` naming the file, the line and the value — never a
traceback.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from os import PathLike
from pathlib import Path
from typing import Any

from icdbridge.errors import InputFormatError

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
    """Yield ``(line number, text)`` of a UTF-8 file, the line ending kept.

    Args:
        path: The file.
        bom: Skip a UTF-8 byte-order mark at the start of the file.

    Raises:
        InputFormatError: the file is a folder or cannot be read, or a line is not UTF-8 (the
            message names the line, the byte and its column).
    """
    path = Path(path)
    if path.is_dir():
        raise InputFormatError(path, "is a folder, not a file")
    try:
        handle = path.open("rb")
    except OSError as error:
        raise InputFormatError(path, f"cannot read the file: {error.strerror or error}") from None
    with handle:
        for number, raw in enumerate(handle, start=1):
            if number == 1 and bom and raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as error:
                bad = raw[error.start : error.start + 1]
                raise InputFormatError(
                    path,
                    f"not UTF-8 text (byte 0x{bad.hex()} at column {error.start + 1}); "
                    "save the file as UTF-8",
                    line=number,
                ) from None
            yield number, text


def parse_json_line(path: str | PathLike[str], number: int, text: str) -> Any:
    """Decode one JSON line; every failure is an :class:`InputFormatError` with file and line.

    Besides malformed JSON this covers an integer too long for Python to convert, a number
    whose value overflows, and nesting too deep to decode.
    """
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        message = f"not valid JSON ({error.msg} at column {error.colno})"
    except RecursionError:
        message = "JSON nested too deeply"
    except ValueError as error:  # e.g. an integer of more than 4300 digits
        message = f"unreadable JSON value ({str(error).split(';')[0].split(':')[0]})"
    raise InputFormatError(path, message, line=number, value=snippet(text))


__all__ = ["parse_json_line", "snippet", "text_lines"]
