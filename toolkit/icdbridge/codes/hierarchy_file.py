"""Plain hierarchy files: export any terminology, load custom (e.g. national) code systems.

One row per node, parents by id::

    code,parent,title,kind,leaf,synonyms
    A,,Infections,chapter,false,
    A00-A09,A,Intestinal infections,block,false,
    A00,A00-A09,Cholera,category,false,
    A00.0,A00,Cholera due to Vibrio cholerae 01,subcategory,true,Classical cholera | El Tor

Columns ``code``, ``parent`` and ``title`` are required; ``kind`` defaults to ``chapter`` for
nodes without a parent and ``category`` otherwise; ``leaf`` is ``true``/``false`` (empty: a node
is a leaf when it has no children); ``synonyms`` are separated by ``|``. The JSON form is either a
list of such rows or ``{"system": ..., "release": ..., "name": ..., "nodes": [rows]}`` with
``synonyms`` as a list. Chapters and blocks (``kind`` ``chapter``/``block``) are groupings, the
other kinds are codes.

Codes are matched case-insensitively and with or without dots (``e119`` finds ``E11.9``), so a
file in the canonical dotted form gives the same normalisation as the built-in systems.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from icdbridge.codes.base import Node, Terminology
from icdbridge.errors import InputFormatError
from icdbridge.outputs import atomic_file, check_output
from icdbridge.tables.text import allow_long_fields
from icdbridge.text_input import read_utf8

COLUMNS = ("code", "parent", "title", "kind", "leaf", "synonyms")
"""Columns of a hierarchy file, in the order :func:`export_hierarchy` writes them."""

REQUIRED = ("code", "parent", "title")
SYNONYM_SEPARATOR = " | "
_TRUE = {"true", "1", "yes", "y", "t"}
_FALSE = {"false", "0", "no", "n", "f"}


EXPORT_SUFFIXES = (".csv", ".json")
"""Suffixes of the hierarchy files :func:`export_hierarchy` writes (the suffix picks the format)."""


def check_export_path(
    path: str | os.PathLike[str], inputs: Iterable[str | os.PathLike[str] | None] = ()
) -> Path:
    """Check, before anything is loaded, that ``path`` can receive an exported hierarchy.

    A missing folder is created; an unknown suffix, an input file, a folder or an unwritable
    place is refused.

    Raises:
        InputFormatError: the suffix is not ``.csv`` or ``.json``.
        OutputError: the path cannot or must not be written.
    """
    path = Path(path)
    if path.suffix.lower() not in EXPORT_SUFFIXES:
        raise InputFormatError(path, "hierarchy files end in .json or .csv", value=path.suffix)
    return check_output(path, inputs)


def export_hierarchy(terminology: Terminology, path: str | os.PathLike[str]) -> Path:
    """Write every node of ``terminology`` to a ``.json`` or ``.csv`` hierarchy file.

    The file is written atomically (a temporary file beside it, renamed on success); a missing
    folder is created.

    Args:
        terminology: Any terminology (built-in or custom).
        path: Output file; its suffix chooses the format.

    Returns:
        The path written.

    Raises:
        InputFormatError: the suffix is not ``.csv`` or ``.json``.
        OutputError: the path is the terminology's own source file, a folder, or unwritable.

    Example:
        >>> import tempfile, pathlib
        >>> from icdbridge.codes import get_terminology
        >>> folder = pathlib.Path(tempfile.mkdtemp())
        >>> out = export_hierarchy(get_terminology("icd10who"), folder / "who.csv")
        >>> load_hierarchy(out).ancestors("I10")
        ['I10-I15', 'IX']
    """
    path = check_export_path(path, [getattr(terminology, "source", None)])
    rows = [
        {
            "code": node.code,
            "parent": node.parent or "",
            "title": node.title,
            "kind": node.kind,
            "leaf": terminology._leaf(node),
            "synonyms": list(node.synonyms),
        }
        for node in terminology.nodes()
    ]
    suffix = path.suffix.lower()
    if suffix == ".json":
        document = {
            "system": terminology.system,
            "release": terminology.release,
            "name": terminology.name,
            "nodes": rows,
        }
        with atomic_file(path) as temp:
            temp.write_text(json.dumps(document, ensure_ascii=False, indent=1), encoding="utf-8")
    else:
        with atomic_file(path) as temp, temp.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=COLUMNS)
            writer.writeheader()
            for row in rows:
                writer.writerow(
                    {
                        **row,
                        "leaf": "true" if row["leaf"] else "false",
                        "synonyms": SYNONYM_SEPARATOR.join(row["synonyms"]),
                    }
                )
    return path


class CustomTerminology(Terminology):
    """A code system read from a hierarchy file (see :func:`load_hierarchy`).

    Args:
        nodes: The validated nodes.
        system: System id (e.g. ``icd10gm``).
        release: Release label.
        name: Human-readable name.
        source: The file it came from.
    """

    system = "custom"
    name = "custom code system"
    releases = {}  # noqa: RUF012
    default_release = "custom"

    def __init__(
        self,
        nodes: Iterable[Node],
        *,
        system: str,
        release: str,
        name: str | None = None,
        source: str | os.PathLike[str] | None = None,
    ) -> None:
        self._nodes = tuple(nodes)
        self.system = system
        self.name = name or system
        self.release = release
        self.default_release = release
        self.source = None if source is None else Path(source)
        self.releases = {release: f"{self.name} {release} from {source or 'memory'}"}
        self.example = next((n.code for n in self._nodes if n.kind not in ("chapter", "block")), "")

    def __repr__(self) -> str:
        return f"CustomTerminology(system={self.system!r}, release={self.release!r})"

    def _load_nodes(self) -> Iterable[Node]:
        return self._nodes

    def _canonical(self, compact: str) -> str | None:
        exact, undotted = self._lookup
        found = exact.get(compact) or undotted.get(compact.replace(".", ""))
        if found is not None:
            return found
        # Unknown to the file: plausible code syntax is kept (so "not defined" can be told apart).
        if compact.replace(".", "").replace("-", "").isalnum() and not compact.startswith("."):
            return compact
        return None

    @property
    def _lookup(self) -> tuple[dict[str, str], dict[str, str]]:
        cached = self.__dict__.get("_lookup_cache")
        if cached is None:
            exact: dict[str, str] = {}
            undotted: dict[str, str] = {}
            for node in self._nodes:
                exact.setdefault(node.code.upper(), node.code)
                undotted.setdefault(node.code.upper().replace(".", ""), node.code)
            cached = self.__dict__["_lookup_cache"] = (exact, undotted)
        return cached


def load_hierarchy(
    path: str | os.PathLike[str],
    system: str | None = None,
    release: str | None = None,
    name: str | None = None,
) -> CustomTerminology:
    """Load a custom code system from a ``.csv`` or ``.json`` hierarchy file.

    Args:
        path: The hierarchy file (format in the module docstring).
        system: System id; default the JSON ``system`` field, else the file stem.
        release: Release label; default the JSON ``release`` field, else ``"custom"``.
        name: Display name; default the JSON ``name`` field, else the system id.

    Raises:
        InputFormatError: missing columns, empty or duplicate codes, an unknown parent, a cycle,
            a bad ``leaf`` value — naming the file, the line (CSV) or node number (JSON) and the
            value.
    """
    path = Path(path)
    if not path.is_file():
        raise InputFormatError(path, "hierarchy file not found")
    suffix = path.suffix.lower()
    meta: dict[str, Any] = {}
    if suffix == ".csv":
        rows = _read_csv(path)
    elif suffix == ".json":
        rows, meta = _read_json(path)
    else:
        raise InputFormatError(path, "hierarchy files end in .json or .csv", value=path.suffix)
    nodes = _validate(rows, path)
    system = system or str(meta.get("system") or path.stem)
    return CustomTerminology(
        nodes,
        system=system,
        release=str(release or meta.get("release") or "custom"),
        name=name or meta.get("name") or system,
        source=path,
    )


def _read_csv(path: Path) -> list[tuple[int, dict[str, Any]]]:
    """Rows of a CSV hierarchy file with their line numbers.

    Read strictly: an unterminated quote (which would swallow the rows after it into one cell)
    or a field over the csv module's size limit is an error naming the line, never a silent
    merge.
    """
    with io.StringIO(read_utf8(path), newline="") as handle:
        allow_long_fields()
        reader = csv.DictReader(handle, strict=True)
        try:
            fields = [f.strip().lower() for f in reader.fieldnames or []]
            missing = [c for c in REQUIRED if c not in fields]
            if missing:
                raise InputFormatError(
                    path,
                    f"missing column(s) {', '.join(missing)}",
                    line=1,
                    value=reader.fieldnames,
                )
            reader.fieldnames = fields
            rows = []
            for row in reader:
                synonyms = (row.get("synonyms") or "").split("|")
                row["synonyms"] = [s.strip() for s in synonyms if s.strip()]
                rows.append((reader.line_num, row))
        except csv.Error as error:
            raise InputFormatError(  # the row that failed starts after the last one read
                path, f"malformed CSV row ({error}); check its quoting", line=reader.line_num + 1
            ) from None
    return rows


def _read_json(path: Path) -> tuple[list[tuple[int, dict[str, Any]]], dict[str, Any]]:
    try:
        document = json.loads(read_utf8(path))
    except json.JSONDecodeError as error:
        raise InputFormatError(path, f"not valid JSON: {error.msg}", line=error.lineno) from None
    except (RecursionError, ValueError) as error:  # deep nesting, a 5000-digit integer
        if isinstance(error, InputFormatError):
            raise
        raise InputFormatError(
            path, "unreadable JSON (nested too deeply or a huge number)"
        ) from None
    meta: dict[str, Any] = {}
    if isinstance(document, dict):
        meta = {k: v for k, v in document.items() if k != "nodes"}
        document = document.get("nodes")
    if not isinstance(document, list):
        raise InputFormatError(path, "expected a list of nodes or an object with 'nodes'")
    rows = []
    for number, row in enumerate(document, 1):
        if not isinstance(row, dict):
            raise InputFormatError(path, f"node #{number} is not an object", value=row)
        missing = [c for c in REQUIRED if c not in row]
        if missing:
            raise InputFormatError(path, f"node #{number} lacks {', '.join(missing)}", value=row)
        synonyms = row.get("synonyms") or []
        if isinstance(synonyms, str):
            synonyms = [s.strip() for s in synonyms.split("|") if s.strip()]
        rows.append((number, {**row, "synonyms": [str(s) for s in synonyms]}))
    return rows, meta


def _validate(rows: list[tuple[int, dict[str, Any]]], path: Path) -> list[Node]:
    where = "line" if path.suffix.lower() == ".csv" else "node"

    def fail(message: str, line: int, value: object) -> InputFormatError:
        if where == "line":
            return InputFormatError(path, message, line=line, value=value)
        return InputFormatError(path, f"node #{line}: {message}", value=value)

    nodes: dict[str, Node] = {}
    lines: dict[str, int] = {}
    for line, row in rows:
        code = str(row.get("code") or "").strip()
        if not code:
            raise fail("empty code", line, row.get("code"))
        if code in nodes:
            raise fail(f"duplicate code (first on {where} {lines[code]})", line, code)
        parent = str(row.get("parent") or "").strip() or None
        kind = str(row.get("kind") or "").strip() or ("chapter" if parent is None else "category")
        nodes[code] = Node(
            code=code,
            title=str(row.get("title") or "").strip(),
            kind=kind,
            parent=parent,
            synonyms=tuple(row.get("synonyms") or ()),
            leaf=_leaf(
                row.get("leaf"), lambda v, line=line: fail("leaf must be true/false", line, v)
            ),
        )
        lines[code] = line
    for code, node in nodes.items():
        if node.parent is not None and node.parent not in nodes:
            raise fail("unknown parent", lines[code], node.parent)
    state: dict[str, int] = {}  # 1: on the current path, 2: known to reach a root
    for start in nodes:
        path_codes = []
        code: str | None = start
        while code is not None and state.get(code) != 2:
            if state.get(code) == 1:
                raise fail("cycle in the parent links", lines[code], code)
            state[code] = 1
            path_codes.append(code)
            code = nodes[code].parent
        for visited in path_codes:
            state[visited] = 2
    return list(nodes.values())


def _leaf(value: object, error: Any) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if not text:
        return None
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise error(value)
