"""Dataset migration (CSV, TSV, JSONL, Parquet), reports, malformed files, the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from icdbridge.cli.main import main
from icdbridge.crosswalk import get_crosswalk
from icdbridge.crosswalk import migrate as migrate_module
from icdbridge.crosswalk.migrate import migrate
from icdbridge.errors import InputFormatError

CODES = ["038.9", "0389", "073.0", "365.70", "not a code", "", "999.99", "038.9"]


@pytest.fixture(scope="module")
def xw():
    return get_crosswalk("icd9cm", "icd10cm")


def test_csv_every_row_kept_with_status(tmp_path: Path, xw) -> None:
    src = tmp_path / "in.csv"
    src.write_text(
        "id,code\n" + "".join(f"{i},{c}\n" for i, c in enumerate(CODES)), encoding="utf-8"
    )
    report = migrate(src, tmp_path / "out.csv", xw, column="code")
    import csv

    with open(tmp_path / "out.csv", encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["id"] for r in rows] == [str(i) for i in range(len(CODES))]
    statuses = [r["map_status"] for r in rows]
    assert statuses == [
        "approximate",
        "approximate",
        "combination",
        "no-map",
        "invalid-code",
        "invalid-code",
        "not-in-release",
        "approximate",
    ]
    assert rows[2]["map_targets"] == "A70;J17"
    assert report.rows == len(CODES) and report.rows_written == len(CODES)
    assert report.statuses["approximate"] == {"codes": 2, "rows": 3}
    assert {u["code"] for u in report.top_unmapped} == {"365.70", "not a code", "", "999.99"}


def test_explode_one_row_per_target(tmp_path: Path, xw) -> None:
    src = tmp_path / "in.tsv"
    src.write_text("code\n073.0\n365.70\n", encoding="utf-8")
    migrate(src, tmp_path / "out.tsv", xw, explode=True)
    lines = (tmp_path / "out.tsv").read_text(encoding="utf-8").splitlines()
    cells = [line.split("\t")[:5] for line in lines[1:]]
    assert [(c[0], c[2], c[4]) for c in cells] == [
        ("073.0", "A70", "1.1"),
        ("073.0", "J17", "1.2"),
        ("365.70", "", ""),
    ]


def test_jsonl_and_parquet_keep_every_row(tmp_path: Path, xw, monkeypatch) -> None:
    monkeypatch.setattr(migrate_module, "CHUNK_ROWS", 3)  # several chunks
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps({"n": i, "code": c}) + "\n" for i, c in enumerate(CODES)))
    migrate(src, tmp_path / "out.jsonl", xw)
    records = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert [r["n"] for r in records] == list(range(len(CODES)))
    assert records[2]["map_targets"] == ["A70", "J17"]
    table = pa.table({"n": list(range(len(CODES) + 1)), "code": [*CODES, None]})
    pq.write_table(table, tmp_path / "in.parquet")
    report = migrate(tmp_path / "in.parquet", tmp_path / "out.parquet", xw)
    out = pq.read_table(tmp_path / "out.parquet").to_pydict()
    assert out["n"] == list(range(len(CODES) + 1))
    assert out["map_targets"][2] == ["A70", "J17"]
    assert out["map_status"][-1] == "invalid-code"
    assert report.rows == len(CODES) + 1
    migrate(tmp_path / "in.parquet", tmp_path / "exploded.parquet", xw, explode=True)
    exploded = pq.read_table(tmp_path / "exploded.parquet").to_pydict()
    assert exploded["n"].count(2) == 2 and len(set(exploded["n"])) == len(CODES) + 1


def test_report_files(tmp_path: Path, xw) -> None:
    src = tmp_path / "in.csv"
    src.write_text("code\n038.9\n365.70\n", encoding="utf-8")
    report = migrate(src, tmp_path / "out.csv", xw)
    md, js, png = report.save(tmp_path / "report")
    assert "365.70" in md.read_text() and png.stat().st_size > 1000
    data = json.loads(js.read_text())
    assert data["outcomes"]["none"] == {"codes": 1, "rows": 1}
    assert data["hops"][0]["codes_reached"] == 1


@pytest.mark.parametrize(
    ("name", "content", "column", "pattern"),
    [
        (
            "missing.csv",
            b"id,dx\n1,038.9\n",
            "code",
            r"missing.csv, line 1: column 'code' not found",
        ),
        ("semi.csv", b"id;code\n1;038.9\n", "code", r"semi.csv, line 1: wrong delimiter"),
        ("latin.csv", b"code\n038.9\n\xe9\n", None, r"latin.csv, line 3: not UTF-8"),
        ("empty.csv", b"", None, r"empty.csv, line 1: empty file"),
        ("ragged.csv", b"id,code\n1,038.9\n2\n", "code", r"ragged.csv, line 3: expected 2 fields"),
        ("bad.jsonl", b'{"code": "038.9"}\nnot json\n', None, r"bad.jsonl, line 2: invalid JSON"),
        ("empty.jsonl", b"", None, r"empty.jsonl, line 1: empty file"),
        ("fake.parquet", b"not parquet", None, r"fake.parquet: not a readable Parquet"),
    ],
)
def test_malformed_files_name_file_and_line(
    tmp_path: Path, xw, name, content, column, pattern
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(InputFormatError, match=pattern):
        migrate(path, tmp_path / ("out" + path.suffix), xw, column=column)


@given(
    st.lists(
        st.text(
            alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters='\r\n\x00,"'),
            max_size=8,
        ),
        max_size=25,
    )
)
@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_output_row_count_equals_input(tmp_path: Path, xw, values: list[str]) -> None:
    src = tmp_path / "prop.csv"
    src.write_text("code\n" + "".join(f"{v}\n" for v in values), encoding="utf-8")
    expected = len(values)  # blank lines are rows too
    report = migrate(src, tmp_path / "prop_out.csv", xw, write_report=False)
    assert report.rows_written == expected == report.rows
    if values:  # the same values as JSON lines and as Parquet (an empty JSONL file is an error)
        lines = tmp_path / "prop.jsonl"
        lines.write_text("".join(json.dumps({"code": v}) + "\n" for v in values), encoding="utf-8")
        assert migrate(lines, tmp_path / "prop_out.jsonl", xw, write_report=False).rows_written == (
            expected
        )
    pq.write_table(pa.table({"code": pa.array(values, pa.string())}), tmp_path / "prop.parquet")
    out = tmp_path / "prop_out.parquet"
    assert migrate(tmp_path / "prop.parquet", out, xw, write_report=False).rows == expected
    assert pq.read_metadata(tmp_path / "prop_out.parquet").num_rows == expected


def _run(argv: list[str]) -> int:
    """Run the CLI; return its exit status (0 when it returns without exiting)."""
    try:
        main(argv)
    except SystemExit as exit_:
        return 0 if exit_.code is None else int(exit_.code)
    return 0


def test_cli_code_and_dataset(tmp_path: Path, capsys) -> None:
    assert _run(["map", "--code", "073.0", "--from", "icd9cm", "--to", "icd10cm", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [t["code"] for t in data["targets"]] == ["A70", "J17"]
    src = tmp_path / "in.csv"
    src.write_text("code\n038.9\n", encoding="utf-8")
    argv = ["map", str(src), "--from", "icd9cm", "--to", "icd10cm", "-o", str(tmp_path / "o.csv")]
    assert _run(argv) == 0
    assert (tmp_path / "o.csv.report.md").exists()  # named after the full output file name
    (tmp_path / "bad.csv").write_bytes(b"")
    assert _run(["map", str(tmp_path / "bad.csv"), "-o", str(tmp_path / "o2.csv")]) == 2
    assert "bad.csv, line 1" in capsys.readouterr().err


def test_cli_gem_file_follows_the_route(tmp_path: Path, capsys) -> None:
    """--gem replaces the GEM hop the route takes, also when a custom system comes first."""
    gem = tmp_path / "2018_I9gem.txt"
    gem.write_text("0389  A419    00000\n", encoding="utf-8")  # 038.9 → A41.9 exact (CSV: approx.)
    table = tmp_path / "national.csv"
    table.write_text("source,target\nN001,038.9\n", encoding="utf-8")
    custom = ["--custom-table", str(table), "--custom-name", "national"]
    custom += ["--custom-target", "icd9cm"]
    argv = ["map", "--code", "N001", "--from", "national", "--to", "icd10cm", "--json"]
    assert _run([*argv, *custom, "--gem", str(gem)]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [t["code"] for t in data["targets"]] == ["A41.9"]
    assert data["targets"][0]["flags"] == "00000"  # the file's flags, not the package CSV's
    argv = ["map", "--code", "A41.9", "--from", "icd10cm", "--to", "icd10who", "--gem", str(gem)]
    assert _run(argv) == 2
    assert "no ICD-9-CM/ICD-10-CM hop" in capsys.readouterr().err
