"""Where the Index material is found, and :func:`load_index`, the public entry point.

By default the files are looked up in ``$ICDBRIDGE_DATA/icd10cm-index-<release>/``; a user may
name another folder, or one file (the official ``icd10cm_index_2025.xml``, say): then that file
is the document it is, and the other documents are taken from the same folder when present.

Per document the official names of the CDC NCHS "Table and Index" zip are tried first
(``icd10cm_index_2025.xml``, ``icd10cm_eindex_2025.xml``, ``icd10cm_drug_2025.xml``,
``icd10cm_neoplasm_2025.xml``; also with ``-`` instead of ``_``), then any file whose name holds
the document's word. The Index to Diseases and Injuries is read from the official XML when
present, else from a flattened CSV (``*.flattened.csv``, see :mod:`icdbridge.codes.index.flat`).
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

from icdbridge.codes.index.alphabetic import AlphabeticIndex
from icdbridge.codes.index.flat import read_flat_csv
from icdbridge.codes.index.model import IndexDocument
from icdbridge.codes.index.xml import read_index_xml
from icdbridge.errors import DataNotFoundError, InputFormatError

DEFAULT_RELEASE = "2025"
"""Fiscal year of the Index material read by default."""

DOWNLOAD_HINT = (
    "get it with `icdbridge datasets download icd10cm-index --release {release}` (with a "
    'network; without one, --from the "Table and Index" zip of ICD-10-CM FY{release} from '
    "the CDC NCHS ICD-10-CM files page, https://www.cdc.gov/nchs/icd/icd-10-cm/files.html, or "
    "the CMS ICD-10 page), or point icdbridge at a folder holding its files "
    "(load_index(source=PATH), --index-source, or $ICDBRIDGE_DATA/icd10cm-index-{release}/)"
)


def default_index_dir(release: str = DEFAULT_RELEASE) -> Path:
    """``$ICDBRIDGE_DATA/icd10cm-index-<release>``."""
    from icdbridge.paths import data_dir

    return data_dir() / f"icd10cm-index-{release}"


def _candidates(folder: Path, source: str, release: str) -> list[Path]:
    names = [f"icd10cm_{source}_{release}.xml", f"icd10cm-{source}-{release}.xml"]
    found = [folder / name for name in names if (folder / name).is_file()]
    if found:
        return found
    others = sorted(p for p in folder.glob(f"*{source}*.xml") if p.is_file())
    if source == "index":  # "eindex" files also hold "index"
        others = [p for p in others if "eindex" not in p.name.lower()]
    return others


def locate_index(
    release: str = DEFAULT_RELEASE, source: str | os.PathLike[str] | None = None
) -> dict[str, Path]:
    """Files of the Index material: document id → path (``index`` may be a flattened CSV).

    Args:
        release: Fiscal year of the material (``"2025"``).
        source: A folder holding the files, or one of the files; ``None``:
            :func:`default_index_dir`.

    Raises:
        DataNotFoundError: the folder or file does not exist, or holds no Index document; the
            message says where to get the files.
    """
    given = None if source is None else Path(source).expanduser()
    folder = default_index_dir(release) if given is None else given
    hint = DOWNLOAD_HINT.format(release=release)
    if given is not None and given.is_file():
        folder = given.parent
    elif not folder.is_dir():
        raise DataNotFoundError(f"ICD-10-CM Index material not found at {folder}: {hint}")
    files: dict[str, Path] = {}
    for document in ("index", "eindex", "drug", "neoplasm"):
        found = _candidates(folder, document, release)
        if found:
            files[document] = found[0]
    if "index" not in files:
        flat = sorted(folder.glob(f"*index*{release}*.csv")) or sorted(
            folder.glob("*.flattened.csv")
        )
        if flat:
            files["index"] = flat[0]
    if given is not None and given.is_file():
        if given.suffix.lower() == ".csv":
            files["index"] = given
        else:
            files[_detect(given)] = given
    if not files:
        raise DataNotFoundError(f"no ICD-10-CM Index files in {folder}: {hint}")
    return files


def _detect(path: Path) -> str:
    from icdbridge.codes.index.xml import _parse, detect_source

    return detect_source(_parse(path))


def read_document(path: str | os.PathLike[str], source: str | None = None) -> IndexDocument:
    """Read one Index file: official XML (any of the four documents) or the flattened CSV.

    Raises:
        InputFormatError: an unreadable or malformed file, naming the line.
    """
    path = Path(path)
    if path.suffix.lower() == ".csv":
        return read_flat_csv(path)
    if path.suffix.lower() != ".xml":
        raise InputFormatError(path, "Index files are .xml (official) or .csv (flattened)")
    return read_index_xml(path, source)


def load_index(
    release: str = DEFAULT_RELEASE,
    source: str | os.PathLike[str] | None = None,
    *,
    label_release: str | None = None,
) -> AlphabeticIndex:
    """Load (once; cached) the ICD-10-CM Index, External Cause Index and the two tables.

    Args:
        release: Fiscal year of the Index material (``"2025"``).
        source: A folder with the files or one file (e.g. the official
            ``icd10cm_index_2025.xml``); ``None``: ``$ICDBRIDGE_DATA/icd10cm-index-<release>``.
        label_release: ICD-10-CM release codes are expanded in (``None``: 2026, the default).

    Raises:
        DataNotFoundError: no Index material where it was looked for.
        InputFormatError: a malformed file.

    Example:
        >>> index = load_index()  # doctest: +SKIP
        >>> [p.text() for p in index.paths_for("E11.44", exact=True)]  # doctest: +SKIP
        ['Diabetes, diabetic › with › amyotrophy']
    """
    files = locate_index(release, source)
    key = tuple(sorted((name, str(path.resolve())) for name, path in files.items()))
    return _load(key, release, label_release)


@cache
def _load(
    files: tuple[tuple[str, str], ...], release: str, label_release: str | None
) -> AlphabeticIndex:
    documents = {name: read_document(path, name) for name, path in files}
    return AlphabeticIndex(documents, release=release, label_release=label_release)
