"""Download public datasets (for users with a network), checksum-verified: CodiEsp from Zenodo,
and the ICD-10-CM Index material from CMS.

``icdbridge datasets download codiesp -o DIR`` asks the Zenodo REST API for the files of the
records in :data:`DATASETS` (3837305: the CodiEsp gold standard v4 with train/dev/test; 3693570:
the corpus record with the background set), downloads each file, verifies it against the checksum
Zenodo publishes for it (``md5:...``) and against a pinned SHA-256 when :data:`PINNED_SHA256`
knows the file, writes ``SHA256SUMS`` next to the files, and unpacks zip archives. The folder that
holds ``train/trainD.tsv`` afterwards is what :func:`icdbridge.data.load_codiesp` reads.

The publisher's reply is not trusted with paths: a file name must match :data:`SAFE_FILE_NAME`
(a plain name with an allowed suffix, no folder part), and every path written — the downloaded
files and the members of an unpacked archive — must resolve inside the output folder
(:func:`icdbridge.paths.inside`); anything else is refused before a byte is written. Each file
is verified in memory and written atomically.

Offline (or when Zenodo cannot be reached) a :class:`DownloadError` with one line says so and
where to get the files by hand. A checksum mismatch raises :class:`ChecksumError` and the bad file
is deleted.

``icdbridge datasets download icd10cm-index`` (:func:`download_icd10cm_index`) fetches the
official "Code Tables, Tabular and Index" zip of an ICD-10-CM fiscal year (:data:`INDEX_ZIP_URLS`)
— or takes one a user already has, or its unpacked folder (``--from``) — and lands only the Index
documents and their schemas (:data:`INDEX_MEMBER`) in the folder training reads by default
(:func:`~icdbridge.codes.index.load.default_index_dir`), verified against
:data:`PINNED_INDEX_SHA256` first: nothing is written unless every pinned file matches.
"""

from __future__ import annotations

import hashlib
import json
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from os import PathLike
from pathlib import Path

from icdbridge.errors import DataNotFoundError, IcdbridgeError, InputFormatError
from icdbridge.outputs import check_output, write_bytes, write_text
from icdbridge.paths import UnsafePathError, inside
from icdbridge.text_input import reading_zip

ZENODO_API = "https://zenodo.org/api/records/{record}"


class DownloadError(IcdbridgeError):
    """A dataset could not be downloaded (offline, HTTP error...)."""


class IndexDownloadError(DownloadError):
    """The ICD-10-CM Index zip could not be downloaded; the message says where to get it by hand.

    Attributes:
        reason: Why the last address failed.
        release: Fiscal year asked for.
        url: The first official address tried.
    """

    def __init__(self, reason: str, release: str, url: str) -> None:
        self.reason, self.release, self.url = reason, release, url
        super().__init__(
            f'{reason}; get the "Code Tables, Tabular and Index" zip of ICD-10-CM FY{release} by '
            f"hand ({url}, or the CDC NCHS ICD-10-CM files page "
            "https://www.cdc.gov/nchs/icd/icd-10-cm/files.html) and install it from that file: "
            f"download_icd10cm_index(source=ZIP, release={release!r})"
        )


class ChecksumError(IcdbridgeError):
    """A downloaded file does not match its published checksum."""


@dataclass(frozen=True, slots=True)
class DatasetSource:
    """Where a dataset comes from.

    Attributes:
        name: Dataset id (``"codiesp"``).
        records: Zenodo record ids, in download order.
        files: File names to take from the records (``None``: all files).
        homepage: Human-readable origin, for error messages.
    """

    name: str
    records: tuple[str, ...]
    files: tuple[str, ...] | None = None
    homepage: str = ""


DATASETS: dict[str, DatasetSource] = {
    "codiesp": DatasetSource(
        name="codiesp",
        records=("3837305",),
        homepage="https://zenodo.org/records/3837305 (gold standard v4) and "
        "https://zenodo.org/records/3693570 (corpus)",
    ),
}
"""Dataset id → source. Only the gold-standard record is fetched by default (it has train/dev/
test with annotations); pass ``records=("3693570",)`` to :func:`download_dataset` for the other."""

PINNED_SHA256: dict[str, str] = {}
"""File name → SHA-256 known in advance (verified in addition to Zenodo's own checksum).

Empty: the SHA-256 of the Zenodo files could not be recorded when this was written (no network);
``SHA256SUMS`` written by a first download can be pinned here."""


def file_checksum(path: str | PathLike[str], algorithm: str = "sha256") -> str:
    """Hex digest of a file (``algorithm``: any :mod:`hashlib` name)."""
    digest = hashlib.new(algorithm)
    with Path(path).open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify_checksum(path: str | PathLike[str], expected: str) -> None:
    """Check ``path`` against ``expected`` (``"sha256:<hex>"``, ``"md5:<hex>"`` or bare sha256).

    Raises:
        ChecksumError: the digest differs (the message names the file and both digests).
    """
    algorithm, _, value = expected.partition(":") if ":" in expected else ("sha256", "", expected)
    actual = file_checksum(path, algorithm)
    if actual.lower() != value.lower():
        raise ChecksumError(
            f"{path}: {algorithm} checksum mismatch (expected {value}, got {actual}); "
            "the download is corrupt or the file changed upstream"
        )


SAFE_FILE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]{0,199}\.(zip|tsv|txt|csv|json|pdf|md)")
"""File names accepted from a publisher's reply: one plain name (no folder, no leading dot)
with a data or documentation suffix."""

RESERVED_NAMES = frozenset({"SHA256SUMS"})
"""Names icdbridge writes itself, never taken from a reply."""


def _safe_target(out: Path, name: object) -> Path:
    """``out / name`` for a file name from the publisher's reply, or :class:`UnsafePathError`."""
    if (
        not isinstance(name, str)
        or not SAFE_FILE_NAME.fullmatch(name)
        or name in RESERVED_NAMES
        or ".." in name
    ):
        raise UnsafePathError(
            f"{out}: the publisher listed a file named {name!r}, which is not a plain data file "
            "name; refused (nothing was written)"
        )
    return inside(out, name)


def _check_members(archive: zipfile.ZipFile, out: Path, path: Path | str) -> None:
    """Refuse an archive with a member that would land outside ``out`` (``../``, absolute)."""
    for member in archive.infolist():
        name = member.filename
        if name.startswith(("/", "\\")) or "\\" in name or re.match(r"[A-Za-z]:", name):
            raise UnsafePathError(f"{path}: archive member {name!r} is an absolute path; refused")
        try:
            inside(out, name)
        except UnsafePathError:
            raise UnsafePathError(
                f"{path}: archive member {name!r} would be written outside {out}; refused"
            ) from None


def _verify_bytes(target: Path | str, data: bytes, expected: str) -> None:
    """Like :func:`verify_checksum`, on bytes not yet written to ``target``."""
    algorithm, _, value = expected.partition(":") if ":" in expected else ("sha256", "", expected)
    try:
        actual = hashlib.new(algorithm, data).hexdigest()
    except (ValueError, TypeError):
        raise ChecksumError(f"{target}: unknown checksum algorithm {algorithm!r}") from None
    if actual.lower() != value.lower():
        raise ChecksumError(
            f"{target}: {algorithm} checksum mismatch (expected {value}, got {actual}); "
            "the download is corrupt or the file changed upstream"
        )


Fetch = Callable[[str], bytes]


def _http_get(url: str) -> bytes:
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=60) as response:
            return response.read()
    except (urllib.error.URLError, TimeoutError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise DownloadError(f"cannot download {url}: {reason} (are you offline?)") from None


def download_dataset(
    name: str,
    out_dir: str | PathLike[str],
    *,
    records: tuple[str, ...] | None = None,
    fetch: Fetch | None = None,
    extract: bool = True,
) -> Path:
    """Download dataset ``name`` into ``out_dir``, verify checksums, unpack; return the data root.

    Args:
        name: One of :data:`DATASETS`.
        out_dir: Target folder (created).
        records: Zenodo records to fetch instead of the dataset's default.
        fetch: ``url -> bytes`` (default: urllib; injectable for tests).
        extract: Unpack zip files.

    Returns:
        The folder holding ``train/trainD.tsv`` for CodiEsp (else ``out_dir``).

    Raises:
        DownloadError: unknown dataset, offline, HTTP error or unexpected API answer.
        ChecksumError: a file does not match its checksum.
    """
    if name not in DATASETS:
        known = ", ".join([*DATASETS, INDEX_DATASET])
        raise DownloadError(f"unknown dataset {name!r} (known: {known})")
    source = DATASETS[name]
    fetch = fetch or _http_get
    out = check_output(out_dir, kind="dir")
    out.mkdir(exist_ok=True)
    sums: list[str] = []
    for record in records or source.records:
        url = ZENODO_API.format(record=record)
        try:
            meta = json.loads(fetch(url))
            entries = meta["files"]
            if isinstance(entries, dict):  # newer API: {"entries": {...}}
                entries = list(entries.get("entries", {}).values())
            entries = [e for e in entries if isinstance(e, dict)]
        except DownloadError as error:
            raise DownloadError(f"{error}; get {name} by hand from {source.homepage}") from None
        except (ValueError, KeyError, TypeError, AttributeError, RecursionError):
            raise DownloadError(f"{url}: unexpected answer from Zenodo (no file list)") from None
        chosen = [e for e in entries if source.files is None or e.get("key") in source.files]
        targets = [_safe_target(out, e.get("key")) for e in chosen]  # all, before any download
        for entry, target in zip(chosen, targets, strict=True):
            file_name = target.name
            link = entry.get("links") if isinstance(entry.get("links"), dict) else {}
            file_url = (
                link.get("content")
                or link.get("self")
                or (f"https://zenodo.org/records/{record}/files/{file_name}?download=1")
            )
            data = fetch(str(file_url))
            if entry.get("checksum"):
                _verify_bytes(target, data, str(entry["checksum"]))
            if file_name in PINNED_SHA256:
                _verify_bytes(target, data, "sha256:" + PINNED_SHA256[file_name])
            write_bytes(target, data)
            sums.append(f"{hashlib.sha256(data).hexdigest()}  {file_name}")
            if extract and zipfile.is_zipfile(target):
                with reading_zip(target), zipfile.ZipFile(target) as archive:
                    _check_members(archive, out, target)
                    archive.extractall(out)
    write_text(out / "SHA256SUMS", "\n".join(sums) + "\n")
    for tsv in sorted(out.rglob("trainD.tsv")):
        return tsv.parent.parent
    return out


# ----------------------------------------------------------------- the ICD-10-CM Index material
INDEX_DATASET = "icd10cm-index"
"""Dataset id of the ICD-10-CM Index material (``icdbridge datasets download icd10cm-index``)."""

INDEX_ZIP_URL = "https://www.cms.gov/files/zip/{release}-code-tables-tabular-and-index.zip"
"""CMS's address pattern of a fiscal year's "Code Tables, Tabular and Index" zip (the CMS ICD-10
page, https://www.cms.gov/medicare/coding-billing/icd-10-codes, links it; the CDC NCHS files page
has the same files under other names)."""

INDEX_ZIP_URLS: dict[str, tuple[str, ...]] = {
    "2025": (
        "https://www.cms.gov/files/zip/2025-code-tables-tabular-and-index-april.zip",
        "https://www.cms.gov/files/zip/2025-code-tables-tabular-and-index.zip",
    ),
}
"""Release → the zips tried in order (other releases: :data:`INDEX_ZIP_URL`). FY2025 had an April
update (the release the pinned files are from), then the October one. Not reachable from where
this was written: the addresses follow CMS's published links."""

PINNED_INDEX_SHA256: dict[str, dict[str, str]] = {
    "2025": {
        "icd10cm_drug_2025.xml": "c9e7bd78d02f25495842444d3b09a5e5d935be83ffa139aff725b4c7ccc9be64",
        "icd10cm_eindex_2025.xml": (
            "41fa87021d75527d740e120171efe84d995a852d9fd2b76524f483489b59cd23"
        ),
        "icd10cm_neoplasm_2025.xml": (
            "20ce857cc0424666e42d2ab5df912d4809090aeb580dfb71b596f7d8989abb48"
        ),
        "icd10cm_drug_neoplasm_2025.xsd": (
            "bc357088f85ccf5fb5412c41dc7bd859a7f3e94e20d2e1ff8b067c95f1ad09f3"
        ),
        "icd10cm_index_2025.xsd": (
            "189d4edb7d4fe2290f7d7ddf93f5155f04cc949d9099e60e15b40b3da6d93ad3"
        ),
    },
}
"""Release → member name → SHA-256 of the official file (FY2025, April 2025 release: the
unmodified files of ``icd10cm-index-2025/`` in the project's shared data). The Index to Diseases
and Injuries itself (``icd10cm_index_2025.xml``) is not pinned: no copy of it was at hand when
this was written; its digest, like every landed file's, is recorded in ``SHA256SUMS``."""

INDEX_MEMBER = re.compile(
    r"icd10cm[_-](?:e?index|drug|neoplasm)[_-][A-Za-z0-9_-]{1,60}\.(?:xml|xsd)", re.IGNORECASE
)
"""Names of the members taken from a zip (or files from a folder): the Index documents
(``icd10cm_index_2025.xml``, ``icd10cm_eindex_2025.xml``, ``icd10cm_drug_2025.xml``,
``icd10cm_neoplasm_2025.xml``, or the CDC's ``icd10cm-index-April-2025.xml``...) and their
schemas (``icd10cm_index_2025.xsd``, ``icd10cm_drug_neoplasm_2025.xsd``); the tabular list,
addenda and PDFs are left out."""

MAX_INDEX_MEMBER_BYTES = 512 * 1024 * 1024
"""Largest member unpacked (the Index XML is about 30 MB; a bigger one is refused, not read)."""


@dataclass(frozen=True, slots=True)
class IndexDownload:
    """What :func:`download_icd10cm_index` landed.

    Attributes:
        folder: Where the files are (what :func:`~icdbridge.codes.index.load_index` reads).
        origin: The zip address, zip file or folder they came from.
        files: File name → SHA-256 (also in ``folder/SHA256SUMS``).
        pinned: The names checked against :data:`PINNED_INDEX_SHA256`.
        documents: The Index documents found among them (``index``, ``eindex``, ``drug``,
            ``neoplasm``).
    """

    folder: Path
    origin: str
    files: dict[str, str]
    pinned: tuple[str, ...]
    documents: tuple[str, ...]


def _index_members_of_zip(data: bytes, origin: str, out: Path) -> dict[str, bytes]:
    """The :data:`INDEX_MEMBER` members of a zip (by base name), after refusing an archive with
    a member that would land outside ``out`` (``../``, an absolute path)."""
    import io

    chosen: dict[str, bytes] = {}
    with reading_zip(origin), zipfile.ZipFile(io.BytesIO(data)) as archive:
        _check_members(archive, out, origin)
        for member in archive.infolist():
            name = member.filename.rsplit("/", 1)[-1]
            if member.is_dir() or not INDEX_MEMBER.fullmatch(name):
                continue
            if name in chosen:
                raise InputFormatError(origin, f"two members named {name}; refused")
            if member.file_size > MAX_INDEX_MEMBER_BYTES:
                raise InputFormatError(
                    origin,
                    f"member {member.filename} unpacks to {member.file_size:,} bytes; refused",
                )
            chosen[name] = archive.read(member)
    return chosen


def _index_members_of_folder(folder: Path) -> dict[str, bytes]:
    chosen: dict[str, bytes] = {}
    for path in sorted(folder.rglob("*")):
        if not path.is_file() or not INDEX_MEMBER.fullmatch(path.name):
            continue
        if path.name in chosen:
            raise InputFormatError(path, f"a second file named {path.name} in {folder}; refused")
        if path.stat().st_size > MAX_INDEX_MEMBER_BYTES:
            raise InputFormatError(path, "larger than any Index document; refused")
        chosen[path.name] = path.read_bytes()
    return chosen


def _fetch_index_zip(release: str, fetch: Fetch) -> tuple[bytes, str]:
    urls = INDEX_ZIP_URLS.get(release, (INDEX_ZIP_URL.format(release=release),))
    reasons = []
    for url in urls:
        try:
            return fetch(url), url
        except DownloadError as error:
            reasons.append(str(error))
    raise IndexDownloadError(reasons[-1], release, urls[0])


def download_icd10cm_index(
    out_dir: str | PathLike[str] | None = None,
    *,
    release: str | None = None,
    source: str | PathLike[str] | None = None,
    fetch: Fetch | None = None,
) -> IndexDownload:
    """Get the ICD-10-CM Index material of a fiscal year into the folder training reads.

    Downloads the official "Code Tables, Tabular and Index" zip (:data:`INDEX_ZIP_URLS`), or
    reads ``source`` (that zip, or a folder holding its files), and writes only the Index
    documents and their schemas (:data:`INDEX_MEMBER`) into ``out_dir``, flat. Before a byte is
    written: an archive with a member leaving the folder is refused, and every file
    :data:`PINNED_INDEX_SHA256` knows must match its pinned SHA-256. Each file is written
    atomically, then ``SHA256SUMS`` lists every landed file's digest.

    Args:
        out_dir: Target folder (``None``: :func:`~icdbridge.codes.index.load.default_index_dir`
            of ``release``, where training finds the material with no setting).
        release: Fiscal year (``None``: :data:`~icdbridge.codes.index.load.DEFAULT_RELEASE`).
        source: A local zip or folder to take the files from instead of downloading.
        fetch: ``url -> bytes`` (default: urllib; injectable for tests).

    Raises:
        DownloadError: offline or an HTTP error (one line saying where to get the zip by hand).
        DataNotFoundError: ``source`` does not exist.
        ChecksumError: a file differs from its pinned SHA-256 (nothing is written).
        UnsafePathError: a zip member would land outside the folder (nothing is written).
        InputFormatError: an unreadable zip, or one holding no Index document.

    Example:
        >>> download_icd10cm_index(source="Table-and-Index-2025.zip")  # doctest: +SKIP
    """
    from icdbridge.codes.index.load import DEFAULT_RELEASE, default_index_dir, locate_index

    release = release or DEFAULT_RELEASE
    out = Path(out_dir) if out_dir is not None else default_index_dir(release)
    given = Path(source).expanduser() if source is not None else None
    if given is not None and not given.exists():
        raise DataNotFoundError(f"{given}: no such zip or folder of the ICD-10-CM Index material")
    out = check_output(out, [given], kind="dir")
    if given is None:
        data, origin = _fetch_index_zip(release, fetch or _http_get)
        members = _index_members_of_zip(data, origin, out)
    elif given.is_dir():
        origin = str(given)
        members = _index_members_of_folder(given)
    else:
        origin = str(given)
        members = _index_members_of_zip(given.read_bytes(), origin, out)
    if not any(name.lower().endswith(".xml") for name in members):
        raise InputFormatError(
            origin,
            "holds no ICD-10-CM Index document (icd10cm_index_YYYY.xml, icd10cm_eindex_YYYY.xml, "
            "icd10cm_drug_YYYY.xml, icd10cm_neoplasm_YYYY.xml); is it the Table and Index zip?",
        )
    pins = PINNED_INDEX_SHA256.get(release, {})
    targets = {name: inside(out, name) for name in members}  # all, before any write
    for name, data in members.items():
        if name in pins:
            _verify_bytes(f"{origin}: {name}", data, "sha256:" + pins[name])
    out.mkdir(parents=True, exist_ok=True)
    digests = {}
    for name, data in sorted(members.items()):
        write_bytes(targets[name], data)
        digests[name] = hashlib.sha256(data).hexdigest()
    write_text(
        out / "SHA256SUMS", "".join(f"{digest}  {name}\n" for name, digest in digests.items())
    )
    try:
        documents = tuple(locate_index(release, out))
    except DataNotFoundError:
        documents = ()
    return IndexDownload(out, origin, digests, tuple(sorted(set(members) & set(pins))), documents)
