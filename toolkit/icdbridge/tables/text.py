"""Text input: UTF-8 lines with any line ending, decoding errors located by line and column."""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Iterator
from pathlib import Path

from icdbridge.errors import InputFormatError

FIELD_LIMIT = 1 << 30
"""Longest CSV/TSV field read, in characters (1 GiB; Python's own default is 131,072).

Free-text columns (clinical notes) are often longer than Python's default; a longer field is an
input error naming its line. Reading raises the process-wide :func:`csv.field_size_limit` to this
value (never lowers it).
"""


def allow_long_fields() -> None:
    """Raise the process-wide :func:`csv.field_size_limit` to :data:`FIELD_LIMIT` (never lower it).

    Every CSV reader of icdbridge calls this first, so what a file may hold does not depend on
    which reader ran before in the same process.
    """
    if csv.field_size_limit() < FIELD_LIMIT:
        csv.field_size_limit(FIELD_LIMIT)


_BLOCK = 1 << 20


def check_input(path: Path) -> Path:
    """Refuse an input that is missing, a folder, or not a regular file, in one line."""
    if not path.exists():
        raise InputFormatError(path, "input file not found")
    if path.is_dir():
        raise InputFormatError(path, "input is a folder; give a data file")
    if not path.is_file():
        raise InputFormatError(path, "input is not a regular file (a device or pipe)")
    return path


def lines(path: Path) -> Iterator[str]:
    """Lines of the UTF-8 file ``path`` with their endings, split at ``\\n``, ``\\r\\n`` or ``\\r``.

    A leading byte-order mark is dropped. Old Mac exports (``\\r`` only) read like any other file.

    Raises:
        InputFormatError: the file is not UTF-8 (naming the line and column of the first bad
            byte), or cannot be read.
    """
    try:
        handle = open(path, "rb")  # noqa: SIM115 - closed below, also when the generator is
    except OSError as error:
        raise InputFormatError(path, f"cannot read the input ({error.strerror or error})") from None
    text = io.TextIOWrapper(handle, encoding="utf-8-sig", newline="")
    try:
        yield from text
    except UnicodeDecodeError:
        raise locate_decode_error(path) from None
    except OSError as error:
        raise InputFormatError(path, f"cannot read the input ({error.strerror or error})") from None
    finally:
        text.close()


def _breaks(text: str) -> int:
    return text.count("\n") + text.count("\r") - text.count("\r\n")


def locate_decode_error(path: Path) -> InputFormatError:
    """The error for the first byte of ``path`` that is not UTF-8, with its line and column."""
    line, carry, last_cr = 1, b"", False
    with open(path, "rb") as handle:
        while True:
            block = handle.read(_BLOCK)
            data = carry + block
            if not data:
                break
            try:
                text, carry = data.decode("utf-8"), b""
            except UnicodeDecodeError as error:
                if block and error.end == len(data) and len(data) - error.start < 4:
                    text, carry = data[: error.start].decode("utf-8"), data[error.start :]
                else:
                    prefix = data[: error.start].decode("utf-8")
                    line += _breaks(prefix) - (last_cr and prefix.startswith("\n"))
                    start = max(prefix.rfind("\n"), prefix.rfind("\r")) + 1
                    column = len(prefix) - start + 1
                    byte = data[error.start : error.start + 1]
                    return InputFormatError(
                        path, f"not UTF-8 text (byte {byte!r} at column {column})", line
                    )
            line += _breaks(text) - (last_cr and text.startswith("\n"))
            last_cr = text.endswith("\r") if text else last_cr
    return InputFormatError(path, "not UTF-8 text")


def has_surrogate(text: str) -> bool:
    """Whether ``text`` holds an unpaired UTF-16 surrogate (``"\\ud800"`` from a JSON escape)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def clean_surrogates(text: str) -> str:
    """``text`` with unpaired surrogates written as ``\\udXXX`` escapes (valid UTF-8 text)."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def cell_text(value: object) -> str:
    """Text of one value in a CSV/TSV cell: ``None`` → empty, lists and objects as JSON."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        text = getattr(value, "text", None)  # a JSON number keeps the digits of the file
        if text is not None:
            return text
        return repr(value) if math.isfinite(value) else str(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", "backslashreplace")
    if isinstance(value, list | tuple | dict):
        return json.dumps(value, ensure_ascii=False, default=json_default)
    return str(value)


def json_default(value: object) -> object:
    """JSON form of values that :mod:`json` does not know (dates, decimals, bytes, arrays)."""
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", "backslashreplace")
    if hasattr(value, "tolist"):
        return value.tolist()
    return str(value)


def error_line(error: BaseException) -> str:
    """The first line of an error's message (its type name when it has none), for a message."""
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
