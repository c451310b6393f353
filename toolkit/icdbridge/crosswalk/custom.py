"""A user's own (e.g. national) code system, linked to one of the four ICD systems by a CSV table.

The table is a CSV with header ``source,target[,relation]``: one row per (source, target) pair,
several rows per source are alternatives. ``relation`` ``equivalent`` / ``exact`` makes the row
exact, any other stated relation approximate, and no relation (column absent or empty) unknown.
"""

from __future__ import annotations

import csv
from pathlib import Path

from icdbridge.crosswalk.hops import TableHop, normalize
from icdbridge.crosswalk.model import Exactness, Target
from icdbridge.errors import DataNotFoundError, InputFormatError, InvalidCodeError

NAME = "custom-table"
_EXACT = frozenset({"equivalent", "exact", "identical"})


def _exactness(relation: str | None) -> Exactness:
    if not relation:
        return Exactness.UNKNOWN
    return Exactness.EXACT if relation.lower() in _EXACT else Exactness.APPROXIMATE


def normalize_custom(code: str) -> str:
    """Canonical form of a custom code: whitespace removed, upper case."""
    return "".join(str(code).split()).upper()


def read_custom_table(
    path: Path | str, name: str, system: str
) -> list[tuple[str, str, str | None]]:
    """Rows ``(source, target, relation)`` of a custom table, targets normalised in ``system``.

    Raises:
        DataNotFoundError: the file is missing.
        InputFormatError: wrong header, a row without source/target, or a target that is not a
            valid ``system`` code (naming the line).
    """
    path = Path(path)
    if not path.exists():
        raise DataNotFoundError(f"custom mapping table not found: {path}")
    rows = []
    try:
        with open(path, encoding="utf-8", newline="") as handle:
            reader = csv.reader(handle)
            header = [cell.strip().lower() for cell in next(reader, [])]
            if header[:2] != ["source", "target"]:
                raise InputFormatError(path, "header must be source,target[,relation]", 1, header)
            for row in reader:
                if not any(cell.strip() for cell in row):
                    continue
                if len(row) < 2 or not row[0].strip() or not row[1].strip():
                    raise InputFormatError(path, "row needs a source and a target", reader.line_num)
                try:
                    target = normalize(system, row[1])
                except InvalidCodeError:
                    raise InputFormatError(
                        path, f"target is not a valid {system} code", reader.line_num, row[1]
                    ) from None
                relation = row[2].strip() if len(row) > 2 and row[2].strip() else None
                rows.append((normalize_custom(row[0]), target, relation))
    except UnicodeDecodeError as error:
        raise InputFormatError(path, f"not UTF-8 text ({error.reason})") from None
    return rows


class CustomHop(TableHop):
    """A hop between a custom system and an ICD system, from a user's CSV table.

    Args:
        path: The CSV table.
        name: Id of the custom system (used as ``--from``/``--to``).
        system: The ICD system the table maps to.
        reverse: Build the ICD → custom direction instead.
    """

    def __init__(self, path: Path | str, name: str, system: str, reverse: bool = False) -> None:
        self.name, self.release = f"{NAME}:{Path(path).name}", "user"
        self.source_system, self.target_system = (system, name) if reverse else (name, system)
        table: dict[str, list[Target]] = {}
        for source, target, relation in read_custom_table(path, name, system):
            key, code = (target, source) if reverse else (source, target)
            table.setdefault(key, []).append(
                Target(
                    code=code,
                    system=self.target_system,
                    exactness=_exactness(relation),
                    source=self.name,
                    release=self.release,
                    relation=relation,
                )
            )
        self.table = {code: tuple(targets) for code, targets in table.items()}
