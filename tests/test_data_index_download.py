"""``icdbridge datasets download icd10cm-index``: the Index material, checked, where training
looks for it (``icdbridge.data.download.download_icd10cm_index``).

Zips are built in ``tmp_path`` from the official files of ``../shared/data/icd10cm-index-2025``
(those tests skip with a reason when it is absent) or from stand-in files of a release without
pinned digests; the network is never used (``fetch`` is a stand-in).
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from pathlib import Path

import pytest

from cli_harness import assert_refused, run_cli
from conftest import require_data
from icdbridge.data.download import (
    INDEX_ZIP_URL,
    INDEX_ZIP_URLS,
    PINNED_INDEX_SHA256,
    ChecksumError,
    DownloadError,
    download_icd10cm_index,
    file_checksum,
)
from icdbridge.errors import DataNotFoundError, InputFormatError
from icdbridge.paths import UnsafePathError

OFFICIAL = (
    "icd10cm_drug_2025.xml",
    "icd10cm_eindex_2025.xml",
    "icd10cm_neoplasm_2025.xml",
    "icd10cm_drug_neoplasm_2025.xsd",
    "icd10cm_index_2025.xsd",
)


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _official_members(folder: str = "Table and Index/") -> dict[str, bytes]:
    shared = require_data("icd10cm-index-2025")
    members = {f"{folder}{name}": (shared / name).read_bytes() for name in OFFICIAL}
    # what else such a zip holds, which is not Index material
    members[f"{folder}icd10cm_tabular_2025.xml"] = b"<ICD10CM.tabular/>"
    members[f"{folder}icd10cm_index_2025.pdf"] = b"%PDF-1.4"
    return members


def _stand_in(release: str = "2026") -> dict[str, bytes]:
    """Small files named as a release without pinned digests."""
    return {
        f"icd10cm_drug_{release}.xml": b'<?xml version="1.0"?><ICD10CM.index/>',
        f"icd10cm_tabular_{release}.xml": b"<ICD10CM.tabular/>",
    }


def test_pinned_digests_are_those_of_the_shared_official_files() -> None:
    shared = require_data("icd10cm-index-2025")
    assert set(PINNED_INDEX_SHA256["2025"]) == set(OFFICIAL)
    for name, digest in PINNED_INDEX_SHA256["2025"].items():
        assert file_checksum(shared / name) == digest, name


def test_from_a_zip_lands_the_verified_index_files(tmp_path) -> None:
    archive = tmp_path / "2025-code-tables-tabular-and-index.zip"
    archive.write_bytes(_zip(_official_members()))
    out = tmp_path / "out"
    landed = download_icd10cm_index(out, source=archive)
    assert landed.folder == out and landed.origin == str(archive)
    assert sorted(p.name for p in out.iterdir()) == sorted([*OFFICIAL, "SHA256SUMS"])
    assert set(landed.pinned) == set(OFFICIAL)
    sums = dict(
        reversed(line.split("  ")) for line in (out / "SHA256SUMS").read_text().splitlines()
    )
    assert sums == {name: file_checksum(out / name) for name in OFFICIAL} == landed.files
    assert set(landed.documents) == {"eindex", "drug", "neoplasm"}  # no Index XML in the zip


def test_default_destination_is_where_training_looks(tmp_path, monkeypatch, capsys) -> None:
    from icdbridge.model.lexical.index_choice import resolve_index_phrases

    archive = tmp_path / "table-and-index.zip"
    archive.write_bytes(_zip(_official_members("")))
    data = tmp_path / "data"
    data.mkdir()
    monkeypatch.setenv("ICDBRIDGE_DATA", str(data))
    assert resolve_index_phrases("icd10cm", None).documents == []
    result = run_cli(["datasets", "download", "icd10cm-index", "--from", archive], capsys)
    assert result.code == 0, result.err
    assert f"into {data / 'icd10cm-index-2025'}" in result.out
    assert "5 checked against pinned SHA-256" in result.out
    assert "no Index to Diseases and Injuries" in result.out
    assert resolve_index_phrases("icd10cm", None).documents == ["drug", "neoplasm"]


def test_from_a_folder_takes_only_the_index_files(tmp_path) -> None:
    shared = require_data("icd10cm-index-2025")
    landed = download_icd10cm_index(tmp_path / "out", source=shared)
    assert sorted(landed.files) == sorted(OFFICIAL)  # not the third-party flattened CSV
    with pytest.raises(DataNotFoundError, match="no such zip or folder"):
        download_icd10cm_index(tmp_path / "out", source=tmp_path / "missing.zip")


def test_a_tampered_member_is_refused_and_nothing_written(tmp_path, capsys) -> None:
    members = _official_members()
    members["Table and Index/icd10cm_drug_2025.xml"] += b"\n<!-- changed -->"
    archive = tmp_path / "tampered.zip"
    archive.write_bytes(_zip(members))
    out = tmp_path / "out"
    with pytest.raises(ChecksumError, match=r"icd10cm_drug_2025\.xml: sha256 checksum mismatch"):
        download_icd10cm_index(out, source=archive)
    assert not out.exists()
    result = run_cli(
        ["datasets", "download", "icd10cm-index", "--from", archive, "-o", out], capsys
    )
    assert_refused(result, archive)
    assert not out.exists()


@pytest.mark.parametrize(
    "member", ["../icd10cm_drug_2026.xml", "Table/../../icd10cm_drug_2026.xml", "/etc/x.xml"]
)
def test_a_member_leaving_the_folder_is_refused(tmp_path, member: str) -> None:
    archive = tmp_path / "evil.zip"
    archive.write_bytes(_zip({**_stand_in(), member: b"<x/>"}))
    out = tmp_path / "nested" / "out"
    with pytest.raises(UnsafePathError, match="refused"):
        download_icd10cm_index(out, release="2026", source=archive)
    assert not out.exists()
    assert not list(tmp_path.rglob("icd10cm_drug_2026.xml"))


def test_a_zip_without_index_documents_is_refused(tmp_path) -> None:
    archive = tmp_path / "tabular.zip"
    archive.write_bytes(_zip({"icd10cm_tabular_2026.xml": b"<x/>"}))
    with pytest.raises(InputFormatError, match="no ICD-10-CM Index document"):
        download_icd10cm_index(tmp_path / "out", release="2026", source=archive)
    (tmp_path / "broken.zip").write_bytes(b"PK not a zip")
    with pytest.raises(InputFormatError, match="not a readable zip"):
        download_icd10cm_index(tmp_path / "out", release="2026", source=tmp_path / "broken.zip")


def test_download_fetches_the_official_zip(tmp_path) -> None:
    asked: list[str] = []
    payload = _zip(_stand_in())

    def fetch(url: str) -> bytes:
        asked.append(url)
        return payload

    landed = download_icd10cm_index(tmp_path / "out", release="2026", fetch=fetch)
    assert asked == [INDEX_ZIP_URL.format(release="2026")]
    assert landed.origin == asked[0]
    assert landed.files == {
        "icd10cm_drug_2026.xml": hashlib.sha256(_stand_in()["icd10cm_drug_2026.xml"]).hexdigest()
    }
    assert landed.pinned == () and landed.documents == ("drug",)


def test_download_tries_the_next_address_then_says_where_to_get_it(tmp_path) -> None:
    asked: list[str] = []

    def first_fails(url: str) -> bytes:
        asked.append(url)
        if len(asked) == 1:
            raise DownloadError(f"cannot download {url}: Not Found (are you offline?)")
        return _zip(_official_members())

    require_data("icd10cm-index-2025")
    landed = download_icd10cm_index(tmp_path / "out", fetch=first_fails)
    assert asked == list(INDEX_ZIP_URLS["2025"]) and landed.origin == asked[1]
    assert set(landed.pinned) == set(OFFICIAL)

    def offline(url: str) -> bytes:
        raise DownloadError(f"cannot download {url}: Name or service not known (are you offline?)")

    with pytest.raises(DownloadError, match=r"download_icd10cm_index\(source=ZIP") as error:
        download_icd10cm_index(tmp_path / "off", fetch=offline)
    assert "\n" not in str(error.value)
    assert not (tmp_path / "off").exists()


def test_offline_cli_is_one_clear_line(tmp_path, monkeypatch, capsys) -> None:
    import urllib.error
    import urllib.request

    def offline(*args, **kwargs):
        raise urllib.error.URLError("Name or service not known")

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    result = run_cli(["datasets", "download", "icd10cm-index", "-o", tmp_path / "out"], capsys)
    assert result.code == 2
    lines = result.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: cannot download")
    assert "icdbridge datasets download icd10cm-index --release 2025 --from ZIP" in lines[0]
    wrong = run_cli(["datasets", "download", "codiesp", "--from", Path("x.zip")], capsys)
    assert wrong.code == 2 and "icd10cm-index" in wrong.err
