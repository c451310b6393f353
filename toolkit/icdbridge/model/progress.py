"""Progress of the model's slow phases, on stderr.

On a terminal a phase shows a bar with its ETA (or, when its length is unknown, a spinner with
the elapsed time) that disappears when it ends. When stderr is not a terminal (a log file, CI),
nothing is drawn; each phase that took at least :data:`MIN_SECONDS` writes one line with its
duration instead, so a redirected log says where the time went::

    encoding 1,204 pieces: 14.2 s
    training network 1/3: 8 epochs, best validation MAP 0.4412, 61.0 s
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import TypeVar

T = TypeVar("T")

MIN_SECONDS = 3.0
"""Phases shorter than this write no line to a log (a terminal's bar is transient anyway)."""


def on_terminal() -> bool:
    """Whether stderr is an interactive terminal (bars are drawn only there)."""
    return bool(getattr(sys.stderr, "isatty", lambda: False)())


def log_line(message: str) -> None:
    """Write one line to stderr."""
    print(message, file=sys.stderr, flush=True)


def track(
    items: Sequence[T] | Iterable[T],
    description: str,
    enabled: bool = True,
    total: int | None = None,
) -> Iterator[T]:
    """Iterate over ``items`` with a progress bar (ETA) on a terminal, or one line with the
    duration in a log (see the module docstring); ``enabled=False``: silently.

    Example:
        >>> list(track([1, 2, 3], "counting", enabled=False))
        [1, 2, 3]
    """
    if not enabled:
        yield from items
        return
    if total is None and hasattr(items, "__len__"):
        total = len(items)  # type: ignore[arg-type]
    started = time.perf_counter()
    if on_terminal():
        from rich.progress import track as rich_track

        yield from rich_track(items, description=description, total=total, transient=True)
    else:
        yield from items
    seconds = time.perf_counter() - started
    if not on_terminal() and seconds >= MIN_SECONDS:
        log_line(f"{description}: {seconds:.1f} s")


@contextmanager
def phase(description: str, enabled: bool = True) -> Iterator[dict[str, str]]:
    """Time a phase: a spinner with the elapsed time on a terminal, one line with the duration
    in a log. Yields a dictionary whose ``"result"`` entry, when set, is added to the line.

    Example:
        >>> with phase("nothing", enabled=False) as note:
        ...     note["result"] = "done"
    """
    note: dict[str, str] = {}
    if not enabled:
        yield note
        return
    started = time.perf_counter()
    if on_terminal():
        from rich.console import Console

        with Console(stderr=True).status(description):
            yield note
    else:
        yield note
    seconds = time.perf_counter() - started
    if not on_terminal() and (seconds >= MIN_SECONDS or note.get("result")):
        result = f"{note['result']}, " if note.get("result") else ""
        log_line(f"{description}: {result}{seconds:.1f} s")
