"""ICD-11 for Mortality and Morbidity Statistics (MMS), from WHO's SimpleTabulation export.

WHO distributes the MMS linearization as a spreadsheet ("SimpleTabulation"), one row per entity,
from the ICD-11 browser (https://icd.who.int/browse/latest-release/mms/en → Info → "Spreadsheet
file"). icdbridge reads it as WHO ships it — the zip, or the tab-separated ``.txt`` inside it —
and never redistributes it. The file is found, in order, from:

1. the ``tabulation`` argument of :class:`ICD11` (CLI: ``--icd11-tabulation PATH``);
2. the environment variable ``ICDBRIDGE_ICD11_TABULATION``;
3. ``data_dir()/who-icd11/SimpleTabulation-ICD-11-MMS-en-2024-01.zip``.

Node ids:

* chapters: ``ChapterNo`` as WHO writes it (``01`` … ``26``, ``V``, ``X``);
* blocks: their ``BlockId`` (``BlockL1-1A0``, matched case-insensitively); blocks without one
  (chapter X and V groupings) use the entity number of their linearization URI (``815889539``).
  Blocks are the uncoded groupings that mapping tables can point at; a category without a code
  (none in 2024-01) would likewise be identified by its entity number;
* categories: their code (``5A11``, ``1A03.0``, ``BA00.Z``); ``kind`` is ``category`` for stem
  codes (DepthInKind 1) and ``subcategory`` below; extension codes (chapter X, ``XS8H``) have
  ``kind="extension"``.

``Node.extra`` keeps ``is_residual`` and ``residual`` (``"other"``/``"unspecified"``/``None``),
``is_extension``, ``depth_in_kind``, ``primary_tabulation``, ``linearization_uri`` and
``foundation_uri``. Any linearization URI (with or without the release segment, e.g.
``http://id.who.int/icd/release/11/2024-01/mms/588616678``) is accepted by :meth:`ICD11.normalize`
and :meth:`ICD11.by_uri`.
"""

from __future__ import annotations

import csv
import io
import os
import re
import zipfile
from collections.abc import Iterable, Iterator
from functools import cache
from pathlib import Path
from typing import Any

from icdbridge.codes.base import Node, Terminology
from icdbridge.errors import (
    DataNotFoundError,
    InputFormatError,
    InvalidCodeError,
    NotDefinedError,
    UnknownSystemError,
)
from icdbridge.paths import data_dir
from icdbridge.text_input import decode_utf8, read_utf8, reading_zip

TABULATION_ENV = "ICDBRIDGE_ICD11_TABULATION"
"""Environment variable naming the SimpleTabulation file (zip or txt)."""

DEFAULT_TABULATION = ("who-icd11", "SimpleTabulation-ICD-11-MMS-en-2024-01.zip")
"""Location of the default tabulation below :func:`icdbridge.paths.data_dir`."""

WHERE_TO_GET = (
    "download the ICD-11 MMS 'SimpleTabulation' spreadsheet from WHO "
    "(https://icd.who.int/browse/latest-release/mms/en → Info → 'Spreadsheet file') and pass it "
    f"as the tabulation (ICD11(tabulation=PATH)) or in the environment variable {TABULATION_ENV}"
)

_C = "0-9A-HJ-NP-Z"  # ICD-11 code characters: digits and letters except I and O
_STEM = re.compile(rf"([{_C}][A-HJ-NP-Z][0-9][{_C}])(?:\.?([{_C}]{{1,2}}))?")
_EXTENSION = re.compile(rf"X[A-HJ-NP-Z][{_C}]{{2,4}}")
_URI = re.compile(r"/MMS/(\d+)(/OTHER|/UNSPECIFIED)?/?$", re.IGNORECASE)
_RELEASE_IN_NAME = re.compile(r"(\d{4}-\d{2})")
_MONTHS = {
    m: i
    for i, m in enumerate(
        ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"], 1
    )
}
_REQUIRED = (
    "linearization uri",
    "code",
    "blockid",
    "title",
    "classkind",
    "depthinkind",
    "isresidual",
    "chapterno",
    "isleaf",
)
_INDENT = re.compile(r"^(?:- )*")


def canonical_icd11(compact: str) -> str | None:
    """Dotted canonical form of an ICD-11 MMS code (``ba00z`` → ``BA00.Z``), or ``None``.

    Stem codes are four characters (letters I and O never occur), optionally followed by a dot
    and one or two characters; extension codes (``X`` + 3-5 characters) have no dot.

    Args:
        compact: Upper-case code without whitespace, dotted or undotted.
    """
    if compact.startswith("X"):
        return compact if _EXTENSION.fullmatch(compact) else None
    match = _STEM.fullmatch(compact)
    if match is None:
        return None
    stem, suffix = match.groups()
    return f"{stem}.{suffix}" if suffix else stem


def split_cluster(code: str) -> tuple[str, ...] | None:
    """Canonical parts of a postcoordinated ICD-11 cluster, or ``None`` if ``code`` is not one.

    A cluster joins a stem code with extension codes (``&``) or other stem codes (``/``), as
    WHO's mapping tables and ``icdbridge map`` write them: ``PA10&XE8TM&XE7ZZ``,
    ``1A09.Y/FA11.Y``. The first part must be a stem code, every part a valid ICD-11 code.

    Example:
        >>> split_cluster("pa10 & xe8tm&XE7ZZ")
        ('PA10', 'XE8TM', 'XE7ZZ')
        >>> split_cluster("1A00") is None
        True
    """
    if not isinstance(code, str) or ("&" not in code and "/" not in code):
        return None
    parts = re.split(r"[&/]", "".join(code.split()).upper())
    canonical = tuple(canonical_icd11(part) for part in parts)
    if len(parts) < 2 or any(part is None for part in canonical) or canonical[0][0] == "X":
        return None
    return canonical  # type: ignore[return-value]


def cluster_text(code: str) -> str:
    """Canonical spelling of a cluster (each part canonical, separators kept): ``PA10&XE8TM``."""
    compact = "".join(code.split()).upper()
    pieces = re.split(r"([&/])", compact)
    return "".join(
        piece if piece in "&/" else (canonical_icd11(piece) or piece) for piece in pieces
    )


def tabulation_path(path: str | os.PathLike[str] | None = None) -> Path:
    """Resolve the SimpleTabulation file: ``path``, else ``$ICDBRIDGE_ICD11_TABULATION``, else the
    data folder default (it may not exist; :class:`ICD11` reports that on first use)."""
    if path is not None:
        return Path(path).expanduser()
    env = os.environ.get(TABULATION_ENV)
    if env:
        return Path(env).expanduser()
    return data_dir().joinpath(*DEFAULT_TABULATION)


def _uri_key(uri: str) -> str | None:
    match = _URI.search(uri.strip())
    if match is None:
        return None
    number, residual = match.groups()
    return number + (residual.lower() if residual else "")


def _open_text(path: Path) -> io.TextIOBase:
    if not path.is_file():
        raise DataNotFoundError(f"ICD-11 tabulation not found at {path}: {WHERE_TO_GET}")
    suffix = path.suffix.lower()
    if suffix == ".zip":
        with reading_zip(path), zipfile.ZipFile(path) as archive:
            names = archive.namelist()
            members = [n for n in names if n.lower().endswith(".txt")]
            members = [n for n in members if "tabulation" in n.lower()] or members
            if not members:
                raise InputFormatError(
                    path, "no SimpleTabulation .txt file inside the zip", value=names
                )
            data = archive.read(members[0])
        return io.StringIO(decode_utf8(f"{path}:{members[0]}", data), newline="")
    if suffix in (".txt", ".tsv"):
        return io.StringIO(read_utf8(path), newline="")
    raise InputFormatError(
        path,
        "expected WHO's SimpleTabulation .zip or the tab-separated .txt inside it",
        value=suffix,
    )


def _release_from_header(header: list[str]) -> str | None:
    """``Version:2024 Jan 21 - 22:30 UTC`` (last header cell) → ``2024-01``."""
    for cell in reversed(header):
        match = re.search(r"version\s*:\s*(\d{4})\s+([A-Za-z]{3})", cell, re.IGNORECASE)
        if match and match.group(2).upper() in _MONTHS:
            return f"{match.group(1)}-{_MONTHS[match.group(2).upper()]:02d}"
    return None


def _read_header(path: Path) -> list[str]:
    with _open_text(path) as handle:
        return next(csv.reader(handle, delimiter="\t"), [])


@cache
def _read_tabulation(path: Path) -> tuple[tuple[Node, ...], str | None]:
    """Parse the tabulation into nodes (parents from the title indentation) and its release."""
    with _open_text(path) as handle:
        reader = csv.reader(handle, delimiter="\t")
        header = next(reader, None)
        if not header:
            raise InputFormatError(path, "empty file, expected the SimpleTabulation header", line=1)
        columns = {name.strip().lower(): i for i, name in enumerate(header)}
        missing = [name for name in _REQUIRED if name not in columns]
        if missing:
            raise InputFormatError(path, f"missing column(s) {', '.join(missing)}", line=1)
        col = {name: columns[name] for name in _REQUIRED}
        optional = {n: columns.get(n) for n in ("foundation uri", "primary tabulation")}
        nodes = [_row_node(row, col, optional, path, line) for line, row in enumerate(reader, 2)]
    return tuple(_link_parents(nodes, path)), _release_from_header(header)


def _row_node(
    row: list[str], col: dict[str, int], optional: dict[str, int | None], path: Path, line: int
) -> tuple[int, int, Node]:
    """One row → (line, depth, node without parent)."""

    def cell(name: str) -> str:
        index = col[name] if name in col else optional[name]
        return row[index].strip() if index is not None and index < len(row) else ""

    raw_title = cell("title")
    indent = _INDENT.match(raw_title).group(0)
    depth = indent.count("- ")
    title = raw_title[len(indent) :].strip()
    class_kind = cell("classkind").lower()
    chapter_no = cell("chapterno")
    uri = cell("linearization uri")
    key = _uri_key(uri)
    code = cell("code")
    extension = chapter_no.upper() == "X"
    if class_kind == "chapter":
        node_id, kind = chapter_no, "chapter"
    elif class_kind == "block":
        node_id, kind = cell("blockid") or key, "block"
    elif class_kind == "category":
        depth_in_kind = cell("depthinkind")
        stem = "category" if depth_in_kind == "1" else "subcategory"
        kind = "extension" if extension else stem
        node_id = canonical_icd11(code.upper()) if code else key
        if code and node_id is None:
            raise InputFormatError(path, "malformed ICD-11 code", line=line, value=code)
    else:
        raise InputFormatError(
            path, "ClassKind must be chapter, block or category", line=line, value=class_kind
        )
    if not node_id:
        raise InputFormatError(path, "row without code, BlockId or linearization URI", line=line)
    residual = key.rpartition("/")[2] if key and "/" in key else None
    extra: dict[str, Any] = {
        "is_residual": cell("isresidual").lower() == "true",
        "residual": residual,
        "is_extension": extension,
        "depth_in_kind": int(cell("depthinkind") or 0),
        "chapter_no": chapter_no,
        "linearization_uri": uri,
        "foundation_uri": cell("foundation uri"),
        "primary_tabulation": cell("primary tabulation").lower() == "true",
        "coded": bool(code),
    }
    leaf = cell("isleaf").lower() == "true" if kind not in ("chapter", "block") else False
    return line, depth, Node(node_id, title, kind, None, leaf=leaf, extra=extra)


def _link_parents(rows: list[tuple[int, int, Node]], path: Path) -> Iterator[Node]:
    stack: list[str] = []
    seen: set[str] = set()
    for line, depth, node in rows:
        if depth > len(stack) or (depth == 0) != (node.kind == "chapter"):
            raise InputFormatError(
                path, f"title indentation (depth {depth}) does not fit the hierarchy", line=line
            )
        if node.code in seen:
            raise InputFormatError(path, "duplicate code", line=line, value=node.code)
        seen.add(node.code)
        del stack[depth:]
        parent = stack[-1] if stack else None
        stack.append(node.code)
        yield Node(node.code, node.title, node.kind, parent, leaf=node.leaf, extra=node.extra)


class ICD11(Terminology):
    """ICD-11 MMS, one release, read from WHO's SimpleTabulation file.

    Args:
        release: Release id such as ``2024-01``; ``None`` takes it from the file name (or the
            file's ``Version:`` header). A file of another release is refused.
        tabulation: Path of the SimpleTabulation ``.zip`` or ``.txt``; ``None`` resolves it with
            :func:`tabulation_path`.

    Example:
        >>> mms = ICD11()
        >>> mms.description("5A11"), mms.chapter("5A11")
        ('Type 2 diabetes mellitus', '05')
    """

    system = "icd11"
    name = "ICD-11 MMS"
    releases = {"2024-01": "ICD-11 MMS 2024-01, WHO SimpleTabulation"}  # noqa: RUF012
    default_release = "2024-01"
    example = "5A11 or BA00.Z"

    def __init__(
        self, release: str | None = None, *, tabulation: str | os.PathLike[str] | None = None
    ) -> None:
        self.tabulation = tabulation_path(tabulation)
        if release is None:
            found = _RELEASE_IN_NAME.search(self.tabulation.name)
            if found:
                release = found.group(1)
            elif self.tabulation.is_file():
                release = _release_from_header(_read_header(self.tabulation))
        release = self.default_release if release is None else str(release)
        if not re.fullmatch(r"\d{4}-\d{2}", release):
            raise UnknownSystemError(
                f"unknown ICD-11 MMS release {release!r} (expected YYYY-MM, e.g. 2024-01)"
            )
        self.release = release
        self.releases = {release: f"ICD-11 MMS {release}, WHO SimpleTabulation {self.tabulation}"}

    def __repr__(self) -> str:
        return f"ICD11(release={self.release!r}, tabulation={str(self.tabulation)!r})"

    def normalize(self, code: str) -> str:
        """Canonical form of ``code``: ICD-11 codes need no data; ids of chapters, blocks and
        linearization URIs are resolved against the release."""
        if isinstance(code, str):
            canonical = canonical_icd11("".join(code.split()).upper())
            if canonical is not None:
                return canonical
        return super().normalize(code)

    def _canonical(self, compact: str) -> str | None:
        canonical = canonical_icd11(compact)
        if canonical is not None:
            return canonical
        if compact in self._upper_ids:
            return self._upper_ids[compact]
        key = _uri_key(compact)
        return self._by_uri.get(key) if key else None

    def _load_nodes(self) -> Iterable[Node]:
        nodes, release = _read_tabulation(self.tabulation.resolve())
        if release is not None and release != self.release:
            raise InputFormatError(
                self.tabulation,
                f"the file is ICD-11 MMS release {release}, not the requested {self.release}",
            )
        return nodes

    # ----------------------------------------------------------------- URIs and groupings
    @property
    def _upper_ids(self) -> dict[str, str]:
        return self._lookups[0]

    @property
    def _by_uri(self) -> dict[str, str]:
        return self._lookups[1]

    @property
    def _lookups(self) -> tuple[dict[str, str], dict[str, str]]:
        cached = self.__dict__.get("_lookups_cache")
        if cached is None:
            upper: dict[str, str] = {}
            by_uri: dict[str, str] = {}
            for node in self._index.nodes.values():
                if canonical_icd11(node.code.upper()) != node.code:  # chapters, blocks, uncoded
                    upper[node.code.upper()] = node.code
                key = _uri_key(str(node.extra.get("linearization_uri", "")))
                if key:
                    by_uri[key] = node.code
            cached = self.__dict__["_lookups_cache"] = (upper, by_uri)
        return cached

    def by_uri(self, uri: str) -> Node:
        """The node of a linearization URI (``…/mms/588616678``, ``…/mms/123/unspecified``).

        The release segment of the URI (``/release/11/2024-01/mms/``) is ignored.

        Raises:
            InvalidCodeError: not a linearization URI.
            NotDefinedError: no entity of this release has that URI.
        """
        key = _uri_key(uri)
        if key is None:
            raise InvalidCodeError(f"{uri!r} is not an ICD-11 linearization URI (…/mms/<number>)")
        try:
            return self._index.nodes[self._by_uri[key]]
        except KeyError:
            raise NotDefinedError(
                f"{uri!r} is not an entity of ICD-11 MMS release {self.release}"
            ) from None

    def is_residual(self, code: str) -> bool:
        """Whether ``code`` is a residual ("other specified" / "unspecified") category."""
        return bool(self.node(code).extra.get("is_residual"))

    def is_extension(self, code: str) -> bool:
        """Whether ``code`` belongs to chapter X (extension codes)."""
        return bool(self.node(code).extra.get("is_extension"))
