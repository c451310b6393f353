"""Dataset download: checksum verification on local files and the offline error path."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile

import pytest

from icdbridge.cli.main import main
from icdbridge.data.download import (
    ChecksumError,
    DownloadError,
    download_dataset,
    file_checksum,
    verify_checksum,
)


def test_verify_checksum(tmp_path):
    path = tmp_path / "f.bin"
    path.write_bytes(b"icdbridge")
    sha = hashlib.sha256(b"icdbridge").hexdigest()
    md5 = hashlib.md5(b"icdbridge").hexdigest()
    assert file_checksum(path) == sha
    verify_checksum(path, sha)
    verify_checksum(path, f"sha256:{sha}")
    verify_checksum(path, f"md5:{md5}")
    with pytest.raises(ChecksumError, match="sha256 checksum mismatch"):
        verify_checksum(path, "sha256:" + "0" * 64)


def _fake_zenodo(payload: bytes, checksum: str):
    meta = {
        "files": [
            {
                "key": "codiesp.zip",
                "checksum": checksum,
                "links": {"self": "https://example.org/codiesp.zip"},
            }
        ]
    }

    def fetch(url: str) -> bytes:
        return json.dumps(meta).encode() if "api/records" in url else payload

    return fetch


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("final/train/trainD.tsv", "d1\te11.9\n")
        archive.writestr("final/train/text_files_en/d1.txt", "Diabetes.")
    return buffer.getvalue()


def test_download_verifies_and_unpacks(tmp_path):
    payload = _zip()
    fetch = _fake_zenodo(payload, "md5:" + hashlib.md5(payload).hexdigest())
    root = download_dataset("codiesp", tmp_path, fetch=fetch)
    assert root == tmp_path / "final"
    sums = (tmp_path / "SHA256SUMS").read_text()
    assert hashlib.sha256(payload).hexdigest() in sums


def test_download_rejects_corrupt_file(tmp_path):
    fetch = _fake_zenodo(_zip(), "md5:" + "0" * 32)
    with pytest.raises(ChecksumError):
        download_dataset("codiesp", tmp_path, fetch=fetch)
    assert not (tmp_path / "codiesp.zip").exists()


def test_offline_error_is_one_clear_line(tmp_path, monkeypatch, capsys):
    import urllib.error
    import urllib.request

    def offline(*args, **kwargs):
        raise urllib.error.URLError("Name or service not known")

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    with pytest.raises(DownloadError, match=r"are you offline\?.*zenodo.org/records/3837305"):
        download_dataset("codiesp", tmp_path)
    with pytest.raises(SystemExit) as info:
        main(["datasets", "download", "codiesp", "-o", str(tmp_path)])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("error: cannot download") and err.count("\n") == 1


def test_unknown_dataset(tmp_path):
    with pytest.raises(DownloadError, match="unknown dataset"):
        download_dataset("mimic", tmp_path)
