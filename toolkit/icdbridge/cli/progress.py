"""Progress display shared by the CLI commands (on stderr, so stdout stays machine-readable)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager


@contextmanager
def spinner(message: str) -> Iterator[None]:
    """Show a transient spinner with ``message`` while a slow step runs."""
    from rich.console import Console

    with Console(stderr=True).status(message):
        yield


@contextmanager
def row_counter(description: str) -> Iterator[Callable[[int], None]]:
    """A live count of processed rows; yields the function that adds ``n`` rows."""
    from rich.console import Console
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    progress = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TextColumn("{task.completed:,} rows"),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    )
    with progress:
        task = progress.add_task(description, total=None)
        yield lambda rows: progress.advance(task, rows)
