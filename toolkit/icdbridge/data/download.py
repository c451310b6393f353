"""Download public datasets (for users with a network): CodiEsp from Zenodo, checksum-verified.

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

from icdbridge.errors import IcdbridgeError
from icdbridge.outputs import check_output, write_bytes, write_text
from icdbridge.paths import UnsafePathError, inside
from icdbridge.text_input import reading_zip

ZENODO_API = "https://zenodo.org/api/records/{record}"


class DownloadError(IcdbridgeError):
    """A dataset could not be downloaded (offline, HTTP error...)."""


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


def _check_members(archive: zipfile.ZipFile, out: Path, path: Path) -> None:
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


def _verify_bytes(target: Path, data: bytes, expected: str) -> None:
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
        raise DownloadError(f"unknown dataset {name!r} (known: {', '.join(DATASETS)})")
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
