"""Error types shared by the whole package.

Every error a user can cause (bad code, bad file, unknown system) is an :class:`IcdbridgeError`,
whose message is one line naming the offending value and what was expected. The CLI prints that
line and exits non-zero; it never shows a traceback for these.
"""

from __future__ import annotations

from os import PathLike


class IcdbridgeError(Exception):
    """Base class of every user-facing error."""


class UnknownSystemError(IcdbridgeError, KeyError):
    """A code-system id (or release) that icdbridge does not know."""

    def __str__(self) -> str:  # KeyError would otherwise quote the message
        return str(self.args[0]) if self.args else ""


class InvalidCodeError(IcdbridgeError, ValueError):
    """A string that is not a syntactically valid code of the system."""


class NotDefinedError(IcdbridgeError, KeyError):
    """A syntactically valid code that the chosen release does not define."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class DataNotFoundError(IcdbridgeError, FileNotFoundError):
    """A source file (WHO table, dataset...) that is missing; the message says where to get it."""


class InputFormatError(IcdbridgeError, ValueError):
    """Malformed user input file: the message names the file, the line and the offending value."""

    def __init__(
        self,
        path: str | PathLike[str] | None,
        message: str,
        line: int | None = None,
        value: object | None = None,
    ) -> None:
        self.path = None if path is None else str(path)
        self.line = line
        self.value = value
        where = self.path or "<input>"
        if line is not None:
            where += f", line {line}"
        text = f"{where}: {message}"
        if value is not None:
            text += f" (got {value!r})"
        super().__init__(text)


class OutputError(IcdbridgeError, OSError):
    """An output that cannot or must not be written (an input, a folder, a read-only place)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""
