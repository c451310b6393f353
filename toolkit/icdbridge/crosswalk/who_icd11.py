"""WHO ICD-10 ↔ ICD-11 MMS mapping tables, read as WHO distributes them.

WHO publishes ``mappingtables-<release>.zip`` with tab-separated, CRLF text files whose last header
cell is the release date (``2024-Jan-21``). icdbridge reads:

* ``10To11MapToMultipleCategories.txt`` — every ICD-11 target of an ICD-10 code;
* ``10To11MapToOneCategory.txt`` — WHO's single choice per ICD-10 code (kept as the
  :attr:`~icdbridge.crosswalk.model.Target.preferred` mark on that target);
* ``11To10MapToOneCategory.txt`` — ICD-11 → ICD-10.

Releases differ: the 2020 tables carry ``Relation`` (Equivalent / Subclass / Superclass /
InterSects / PotentialIntersect) and a match type; the 2024 tables carry neither, so their
relation is reported as unknown (``None``) — never invented. In the 2020 MultipleCategories table
the match type sits, unnamed, under the date column; it is read from there.

Targets keep: residual (linearization URI ending in ``/unspecified`` or ``/other``),
postcoordination (``&`` extension codes, ``/`` clusters), and mappings to uncoded groupings or
chapters, which reach no code and say so with the grouping's title.
"""

from __future__ import annotations

import csv
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path

from icdbridge.crosswalk.hops import Hop, TableHop
from icdbridge.crosswalk.model import Exactness, Target
from icdbridge.errors import DataNotFoundError, InputFormatError
from icdbridge.paths import data_dir

NAME = "who-icd10-icd11"
RELEASES = ("2024-01", "2020-01")
DEFAULT_RELEASE = "2024-01"
FORWARD_FILES = ("10To11MapToMultipleCategories.txt", "10To11MapToOneCategory.txt")
BACKWARD_FILE = "11To10MapToOneCategory.txt"
WHERE = (
    "WHO publishes the ICD-10/ICD-11 mapping tables at https://icd.who.int/browse11 → Info → "
    "mapping tables (mappingtables-<release>.zip); put the zip in "
    "$ICDBRIDGE_DATA/who-icd10-icd11/ or pass its path as who_tables (the option of get_crosswalk)"
)
_DATE = re.compile(r"(\d{4})-([A-Za-z]{3})-\d{1,2}")
_MONTHS = {
    m: i
    for i, m in enumerate(
        ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], 1
    )
}
_URI_ALIASES = ("Linearization (releaseURI)", "Linearization (release) URI")


@dataclass(frozen=True, slots=True)
class WhoTable:
    """One WHO table file: its name, release (``YYYY-MM``), header names and rows."""

    name: str
    release: str
    header: list[str]
    rows: list[list[str]]
    origin: str

    def column(self, *names: str) -> int | None:
        """Index of the first header cell named one of ``names`` (``None`` when absent)."""
        for name in names:
            if name in self.header:
                return self.header.index(name)
        return None


def parse_table(text: str, name: str, origin: str) -> WhoTable:
    """Parse one WHO table (tab-separated; last header cell = release date).

    Raises:
        InputFormatError: empty file, or a header whose last cell is not a date.
    """
    lines = text.splitlines()
    if not lines:
        raise InputFormatError(origin, f"empty WHO mapping table {name}", 1)
    rows = list(csv.reader(lines, delimiter="\t", quoting=csv.QUOTE_NONE))
    header = rows[0]
    match = _DATE.fullmatch(header[-1].strip()) if header else None
    if match is None:
        raise InputFormatError(
            origin,
            f"{name}: the last header cell should be the release date (e.g. 2024-Jan-21)",
            1,
            header[-1] if header else "",
        )
    month = _MONTHS.get(match.group(2).lower())
    if month is None:
        raise InputFormatError(origin, f"{name}: unknown month in release date", 1, header[-1])
    release = f"{match.group(1)}-{month:02d}"
    return WhoTable(name, release, header, [r for r in rows[1:] if any(r)], origin)


def _files_in(path: Path) -> Iterator[tuple[str, str, str]]:
    """``(file name, text, origin)`` of every ``.txt`` table in a zip, folder or single file."""
    if path.is_dir():
        for child in sorted(path.iterdir()):
            if child.suffix.lower() in (".zip", ".txt"):
                yield from _files_in(child)
        return
    if path.suffix.lower() == ".zip":
        with zipfile.ZipFile(path) as archive:
            for info in archive.infolist():
                base = info.filename.rsplit("/", 1)[-1]
                if base.lower().endswith(".txt"):
                    text = archive.read(info).decode("utf-8-sig")
                    yield base, text, f"{path}!{info.filename}"
        return
    yield path.name, path.read_text(encoding="utf-8-sig"), str(path)


def default_path(release: str = DEFAULT_RELEASE) -> Path:
    """``$ICDBRIDGE_DATA/who-icd10-icd11/mappingtables-<release>.zip``."""
    return data_dir() / "who-icd10-icd11" / f"mappingtables-{release}.zip"


@cache
def load_tables(path: str | None = None, release: str = DEFAULT_RELEASE) -> dict[str, WhoTable]:
    """The WHO tables found at ``path`` (zip, folder or ``.txt``), by file name.

    Args:
        path: Where the tables are; ``None`` takes :func:`default_path` of ``release``.
        release: Which release to take from the default location, or, when ``path`` holds
            several releases, which one to keep.

    Raises:
        DataNotFoundError: nothing found (the message says where WHO publishes the tables).
    """
    location = Path(path).expanduser() if path is not None else default_path(release)
    if not location.exists():
        raise DataNotFoundError(
            f"WHO ICD-10/ICD-11 mapping tables not found at {location}. {WHERE}"
        )
    tables: dict[str, WhoTable] = {}
    by_release: dict[str, dict[str, WhoTable]] = {}
    for name, text, origin in _files_in(location):
        if name in (*FORWARD_FILES, BACKWARD_FILE):
            table = parse_table(text, name, origin)
            by_release.setdefault(table.release, {})[name] = table
    if not by_release:
        raise DataNotFoundError(f"no WHO mapping table (*.txt) found in {location}. {WHERE}")
    if len(by_release) == 1:
        tables = next(iter(by_release.values()))
    elif release in by_release:
        tables = by_release[release]
    else:
        found = ", ".join(sorted(by_release))
        raise DataNotFoundError(f"{location} holds releases {found}, not {release}")
    return tables


def _relation_exactness(relation: str | None) -> Exactness:
    if relation is None:
        return Exactness.UNKNOWN
    return Exactness.EXACT if relation == "Equivalent" else Exactness.APPROXIMATE


def _forward_targets(table: WhoTable, preferred: bool) -> dict[str, list[Target]]:
    col = table.column
    i10, kind11, code11 = col("icd10Code"), col("11ClassKind"), col("icd11Code")
    title11, uri = col("icd11Title"), col(*_URI_ALIASES)
    relation_col, match_col = col("Relation"), col("Match Type")
    date_col = len(table.header) - 1
    if None in (i10, kind11, code11, title11, uri):
        raise InputFormatError(table.origin, f"{table.name}: missing expected columns", 1)
    source = f"{NAME}/{table.name.removesuffix('.txt')}"
    out: dict[str, list[Target]] = {}
    for row in table.rows:
        row = row + [""] * (len(table.header) - len(row))
        relation = (row[relation_col] or None) if relation_col is not None else None
        # 2020 MultipleCategories: the match type sits under the (unnamed) date column
        match_type = row[match_col if match_col is not None else date_col] or None
        code, kind, title = row[code11].strip(), row[kind11].strip(), row[title11].strip()
        if not code or kind in ("chapter", "block") or not kind:
            what = f"uncoded ICD-11 {kind} '{title}'" if kind else "nothing (WHO: no mapping)"
            target = Target(
                code=None,
                system="icd11",
                exactness=Exactness.NONE,
                source=source,
                release=table.release,
                relation=relation,
                match_type=match_type,
                title=title or None,
                note=f"no code: maps to {what}",
                preferred=preferred,
            )
        else:
            link = row[uri].rstrip("/")
            target = Target(
                code=code,
                system="icd11",
                exactness=_relation_exactness(relation),
                source=source,
                release=table.release,
                relation=relation,
                match_type=match_type,
                residual=link.endswith(("/unspecified", "/other")),
                postcoordinated="&" in code or "/" in code,
                title=title,
                preferred=preferred,
                uri=link or None,
            )
        out.setdefault(row[i10].strip(), []).append(target)
    return out


def forward_table(tables: dict[str, WhoTable]) -> dict[str, tuple[Target, ...]]:
    """ICD-10 code → all ICD-11 targets (MultipleCategories, WHO's one choice marked preferred)."""
    multi, one = (tables.get(name) for name in FORWARD_FILES)
    if multi is None and one is None:
        raise DataNotFoundError(f"no 10To11 table among {sorted(tables)}. {WHERE}")
    merged = _forward_targets(multi, preferred=False) if multi is not None else {}
    if one is not None:
        for code, (choice,) in _forward_targets(one, preferred=True).items():
            targets = merged.setdefault(code, [])
            key = (choice.code, choice.title)
            for i, target in enumerate(targets):
                if (target.code, target.title) == key:
                    source = f"{target.source}+{choice.source.rsplit('/', 1)[-1]}"
                    targets[i] = replace(target, preferred=True, source=source)
                    break
            else:
                targets.append(choice)
    return {code: tuple(targets) for code, targets in merged.items()}


def backward_table(tables: dict[str, WhoTable]) -> dict[str, tuple[Target, ...]]:
    """ICD-11 code → ICD-10 targets (``11To10MapToOneCategory``)."""
    table = tables.get(BACKWARD_FILE)
    if table is None:
        raise DataNotFoundError(f"{BACKWARD_FILE} not among {sorted(tables)}. {WHERE}")
    col = table.column
    c11, c10, t10, relation_col = (
        col("icd11Code"),
        col("icd10Code"),
        col("icd10Title"),
        col("Relation"),
    )
    source = f"{NAME}/{BACKWARD_FILE.removesuffix('.txt')}"
    out: dict[str, list[Target]] = {}
    for row in table.rows:
        row = row + [""] * (len(table.header) - len(row))
        code11 = row[c11].strip()
        if not code11:
            continue  # an uncoded ICD-11 grouping cannot be a source code
        code10, title = row[c10].strip(), row[t10].strip()
        relation = (row[relation_col] or None) if relation_col is not None else None
        grouping = "-" in code10 or (code10.isalpha() and code10.isupper())
        if code10.lower() == "no mapping":  # WHO's words, not a code (33 rows in 2020 and 2024)
            code10 = ""
        if not code10 or grouping:
            kind = "block" if "-" in code10 else "chapter"
            target = Target(
                code=None,
                system="icd10who",
                exactness=Exactness.NONE,
                source=source,
                release=table.release,
                relation=relation,
                title=title or None,
                note=(
                    f"no code: maps to ICD-10 {kind} {code10} '{title}'"
                    if code10
                    else "no code: nothing (WHO: no mapping)"
                ),
            )
        else:
            target = Target(
                code=code10,
                system="icd10who",
                exactness=_relation_exactness(relation),
                source=source,
                release=table.release,
                relation=relation,
                title=title,
            )
        out.setdefault(code11, []).append(target)
    return {code: tuple(targets) for code, targets in out.items()}


class _TableHop(TableHop):
    def __init__(self, table: dict[str, tuple[Target, ...]], release: str) -> None:
        self.name, self.release, self.table = NAME, release, table


class WhoToIcd11(_TableHop):
    """WHO ICD-10 → ICD-11 MMS from one or more releases of the WHO tables."""

    source_system, target_system = "icd10who", "icd11"


class Icd11ToWho(_TableHop):
    """ICD-11 MMS → WHO ICD-10 from one or more releases of the WHO tables."""

    source_system, target_system = "icd11", "icd10who"


def _merge(parts: list[dict[str, tuple[Target, ...]]]) -> dict[str, tuple[Target, ...]]:
    if len(parts) == 1:
        return parts[0]
    out: dict[str, tuple[Target, ...]] = {}
    for part in parts:
        for code, targets in part.items():
            out[code] = out.get(code, ()) + targets
    return out


@cache
def who_hop(
    direction: str, path: str | None = None, releases: tuple[str, ...] = (DEFAULT_RELEASE,)
) -> Hop:
    """The (cached) WHO table hop ``"forward"`` (10→11) or ``"backward"`` (11→10).

    Args:
        direction: ``"forward"`` or ``"backward"``.
        path: Zip, folder or file of WHO tables; ``None`` reads the default location.
        releases: Releases to read (several: every target records its own release).
    """
    build, cls = (
        (forward_table, WhoToIcd11) if direction == "forward" else (backward_table, Icd11ToWho)
    )
    if path is not None:
        tables = load_tables(path, releases[0])
        return cls(build(tables), next(iter(tables.values())).release)
    parts = [build(load_tables(None, release)) for release in releases]
    return cls(_merge(parts), "+".join(releases))
