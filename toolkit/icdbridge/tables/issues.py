"""What a reader noticed about its input without refusing it (reported, never silent)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass
class Issue:
    """One kind of input problem: how many rows, where first, an example, what it means.

    Attributes:
        kind: Short id (``multi-line-record``, ``numeric-code``, ``surrogate``...).
        message: What it means and what to do, one sentence.
        rows: Number of rows concerned.
        first_line: Line (or row) where it was first seen.
        example: The first offending value (shortened).
    """

    kind: str
    message: str
    rows: int = 0
    first_line: int | None = None
    example: str | None = None

    def to_dict(self) -> dict[str, object]:
        """JSON-ready dict."""
        return asdict(self)

    def describe(self) -> str:
        """``12 rows (first at line 5, e.g. '250.1'): message``."""
        where = [f"first at line {self.first_line}"] if self.first_line is not None else []
        if self.example is not None:
            where.append(f"e.g. {self.example!r}")
        tail = f" ({', '.join(where)})" if where else ""
        noun = "row" if self.rows == 1 else "rows"
        return f"{self.rows} {noun}{tail}: {self.message}"


@dataclass
class Issues:
    """Accumulates :class:`Issue` objects by kind, in the order first seen."""

    found: dict[str, Issue] = field(default_factory=dict)

    def add(
        self,
        kind: str,
        message: str,
        *,
        rows: int = 1,
        line: int | None = None,
        example: object = None,
    ) -> None:
        """Count ``rows`` more rows of ``kind`` (the first call fixes message, line, example)."""
        issue = self.found.get(kind)
        if issue is None:
            text = None if example is None else _short(example)
            issue = self.found[kind] = Issue(kind, message, 0, line, text)
        issue.rows += rows

    def __iter__(self):
        return iter(self.found.values())

    def __len__(self) -> int:
        return len(self.found)


def _short(value: object, limit: int = 60) -> str:
    text = value if isinstance(value, str) else repr(value)
    text = text.encode("utf-8", "backslashreplace").decode("utf-8")  # lone surrogates as \udXXX
    return text if len(text) <= limit else text[: limit - 1] + "…"
