"""Run the ``icdbridge`` CLI in-process and check the guarantees every command gives on bad input.

Used by the hostile-input tests: a refused run exits with status 2 and one line on stderr that
starts with ``error:`` and names the offending file; no exception escapes (that would be a
traceback); inputs are byte-identical afterwards; nothing is left at the final output path and no
temporary output lingers beside it.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import NamedTuple

from icdbridge.cli.main import main
from icdbridge.outputs import TEMP_PREFIX


class CliResult(NamedTuple):
    """Exit status and captured streams of one CLI run (unpacks as ``code, out, err``)."""

    code: int
    out: str
    err: str


def run_cli(args: list[str], capsys) -> CliResult:
    """Run ``icdbridge ARGS`` in this process; an escaping exception fails the calling test."""
    capsys.readouterr()
    code = 0
    try:
        main([str(arg) for arg in args])
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 1)
    captured = capsys.readouterr()
    return CliResult(code, captured.out, captured.err)


def digest(paths: list[Path]) -> dict[Path, str | None]:
    """SHA-256 of each file (``None`` for a missing one), to prove inputs were not modified."""
    found: dict[Path, str | None] = {}
    for path in paths:
        found[path] = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else None
    return found


def leftovers(folder: Path) -> list[Path]:
    """Temporary outputs left in ``folder`` (there must be none after any run)."""
    return sorted(folder.rglob(f"{TEMP_PREFIX}*")) if folder.exists() else []


def assert_refused(result: CliResult, names: str | Path) -> None:
    """Assert a clean refusal: status 2, one ``error:`` line on stderr naming ``names``."""
    lines = [line for line in result.err.splitlines() if line.strip()]
    assert result.code == 2, f"exit {result.code}, stderr: {result.err!r}"
    assert "Traceback" not in result.err, result.err
    assert len(lines) == 1, f"expected one line on stderr, got: {result.err!r}"
    assert lines[0].startswith("error: "), lines[0]
    assert str(names) in lines[0], f"{names!s} not named in {lines[0]!r}"
