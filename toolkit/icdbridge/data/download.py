"""Download public datasets (for users with a network): CodiEsp from Zenodo, checksum-verified.

``icdbridge datasets download codiesp -o DIR`` asks the Zenodo REST API for the files of the
records in :data:`DATASETS` (3837305: the CodiEsp gold standard v4 with train/dev/test; 3693570:
the corpus record with the background set), downloads each file, verifies it against the checksum
Zenodo publishes for it (``md5:...``) and against a pinned SHA-256 when :data:`PINNED_SHA256`
knows the file, writes ``SHA256SUMS`` next to the files, and unpacks zip archives. The folder that
holds ``train/trainD.tsv`` afterwards is what :func:`icdbridge.data.load_codiesp` reads.

Offline (or when Zenodo cannot be reached) a :class:`DownloadError` with one line says so and
where to get the files by hand. A checksum mismatch raises :class:`ChecksumError` and the bad file
is deleted.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from os import PathLike
from pathlib import Path

from icdbridge.errors import IcdbridgeError

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
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    sums: list[str] = []
    for record in records or source.records:
        url = ZENODO_API.format(record=record)
        try:
            meta = json.loads(fetch(url))
            entries = meta["files"]
            if isinstance(entries, dict):  # newer API: {"entries": {...}}
                entries = list(entries.get("entries", {}).values())
        except DownloadError as error:
            raise DownloadError(f"{error}; get {name} by hand from {source.homepage}") from None
        except (ValueError, KeyError, TypeError):
            raise DownloadError(f"{url}: unexpected answer from Zenodo (no file list)") from None
        for entry in entries:
            file_name = entry["key"]
            if source.files is not None and file_name not in source.files:
                continue
            link = entry.get("links", {})
            file_url = (
                link.get("content")
                or link.get("self")
                or (f"https://zenodo.org/records/{record}/files/{file_name}?download=1")
            )
            target = out / file_name
            target.write_bytes(fetch(file_url))
            try:
                if entry.get("checksum"):
                    verify_checksum(target, entry["checksum"])
                if file_name in PINNED_SHA256:
                    verify_checksum(target, "sha256:" + PINNED_SHA256[file_name])
            except ChecksumError:
                target.unlink(missing_ok=True)
                raise
            sums.append(f"{file_checksum(target)}  {file_name}")
            if extract and zipfile.is_zipfile(target):
                with zipfile.ZipFile(target) as archive:
                    archive.extractall(out)
    (out / "SHA256SUMS").write_text("\n".join(sums) + "\n", encoding="utf-8")
    for tsv in sorted(out.rglob("trainD.tsv")):
        return tsv.parent.parent
    return out
