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
        "mapped",
        "mapped",
        "combination",
        "no-map",
        "invalid-code",
        "invalid-code",
        "not-in-release",
        "mapped",
    ]
    assert [r["map_exactness"] for r in rows][:4] == ["approximate"] * 3 + ["none"]
    assert rows[2]["map_targets"] == "A70;J17"
    assert rows[2]["map_target_titles"] == (
        "Chlamydia psittaci infections | Pneumonia in diseases classified elsewhere"
    )
    assert (
        "GEM flags 10111: approximate, combination, scenario 1, choice list 1"
        in (rows[2]["map_detail"])
    )
    assert report.rows == len(CODES) and report.rows_written == len(CODES)
    assert report.statuses["mapped"] == {"codes": 2, "rows": 3}
    assert {u["code"] for u in report.top_unmapped} == {"365.70", "not a code", "", "999.99"}


def test_explode_one_row_per_target(tmp_path: Path, xw) -> None:
    src = tmp_path / "in.tsv"
    src.write_text("code\n073.0\n365.70\n", encoding="utf-8")
    migrate(src, tmp_path / "out.tsv", xw, explode=True)
    lines = (tmp_path / "out.tsv").read_text(encoding="utf-8").splitlines()
    header = lines[0].split("\t")
    rows = [dict(zip(header, line.split("\t"), strict=True)) for line in lines[1:]]
    assert [(r["code"], r["map_target"], r["map_combination"]) for r in rows] == [
        ("073.0", "A70", "1.1"),
        ("073.0", "J17", "1.2"),
        ("365.70", "", ""),
    ]
    assert rows[0]["map_target_title"] == "Chlamydia psittaci infections"


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


# ----------------------------------------------------------------- issue 23: formats, counts, codes
FORMAT_SUFFIXES = [".csv", ".tsv", ".jsonl", ".parquet"]


def _read_back(path: Path) -> list[dict[str, object]]:
    import csv

    if path.suffix == ".parquet":
        return pq.read_table(path).to_pylist()
    if path.suffix == ".jsonl":
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    with open(path, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle, delimiter="\t" if path.suffix == ".tsv" else ","))


@pytest.mark.parametrize("source_suffix", FORMAT_SUFFIXES)
@pytest.mark.parametrize("target_suffix", FORMAT_SUFFIXES)
def test_output_format_follows_the_output_extension(
    tmp_path: Path, xw, source_suffix: str, target_suffix: str
) -> None:
    """Every pair converts: a .parquet output is Parquet whatever the input (was: CSV text)."""
    ids = [f"r{i}" for i in range(len(CODES))]
    src = tmp_path / f"in{source_suffix}"
    if source_suffix == ".parquet":
        pq.write_table(pa.table({"id": ids, "code": CODES}), src)
    elif source_suffix == ".jsonl":
        src.write_text(
            "".join(
                json.dumps({"id": i, "code": c}) + "\n" for i, c in zip(ids, CODES, strict=True)
            )
        )
    else:
        sep = "\t" if source_suffix == ".tsv" else ","
        src.write_text(
            f"id{sep}code\n" + "".join(f"{i}{sep}{c}\n" for i, c in zip(ids, CODES, strict=True))
        )
    out = tmp_path / f"out{target_suffix}"
    report = migrate(src, out, xw, write_report=False)
    assert report.output_format == target_suffix[1:]
    if target_suffix == ".parquet":
        assert out.read_bytes()[:4] == b"PAR1"
    rows = _read_back(out)
    assert [r["id"] for r in rows] == ids and [r["code"] for r in rows] == CODES
    targets = rows[2]["map_targets"]
    assert targets == ("A70;J17" if target_suffix in (".csv", ".tsv") else ["A70", "J17"])
    exploded = migrate(src, tmp_path / f"x{target_suffix}", xw, explode=True, write_report=False)
    assert exploded.rows_written == len(CODES) + 1  # 073.0 has two targets


def test_unknown_output_extension_is_refused_with_the_list(tmp_path: Path, xw) -> None:
    from icdbridge.errors import OutputError

    src = tmp_path / "in.csv"
    src.write_text("code\n038.9\n")
    with pytest.raises(OutputError, match=r"out\.xlsx: unknown output file type.*\.parquet"):
        migrate(src, tmp_path / "out.xlsx", xw)


def test_parquet_empty_strings_and_nulls_are_both_counted(tmp_path: Path, xw, monkeypatch) -> None:
    """Every row counted: '' and null are two values (the report lost the '' rows)."""
    monkeypatch.setattr(migrate_module, "CHUNK_ROWS", 4)
    values = ["", None, "038.9", "", None, "", "073.0", None, "", "xyz"]
    pq.write_table(pa.table({"code": pa.array(values, pa.string())}), tmp_path / "in.parquet")
    seen: list[int] = []
    report = migrate(tmp_path / "in.parquet", tmp_path / "out.parquet", xw, on_rows=seen.append)
    assert report.rows == len(values) == sum(seen)  # the progress counter shows real rows
    assert sum(s["rows"] for s in report.statuses.values()) == len(values)
    assert report.statuses["invalid-code"]["rows"] == 8  # 4 '' + 3 null + 'xyz'
    missing = next(i for i in report.issues if i["kind"] == "missing-value")
    assert missing["rows"] == 7
    data = json.loads((tmp_path / "out.parquet.report.json").read_text())
    assert data["rows"] == len(values)


def test_reports_are_named_after_the_full_output_name(tmp_path: Path, xw) -> None:
    src = tmp_path / "in.csv"
    src.write_text("code\n038.9\n")
    migrate(src, tmp_path / "out.csv", xw)
    migrate(src, tmp_path / "out.parquet", xw)
    for name in ("out.csv", "out.parquet"):
        data = json.loads((tmp_path / f"{name}.report.json").read_text())
        assert data["output"].endswith(name)  # one report each, neither overwritten
    assert not (tmp_path / "out.report.md").exists()


def test_multi_line_cells_are_kept_and_reported(tmp_path: Path, xw) -> None:
    src = tmp_path / "notes.csv"
    src.write_text('id,code,note\n1,038.9,"first\nsecond"\n2,073.0,plain\n', encoding="utf-8")
    report = migrate(src, tmp_path / "out.csv", xw)
    assert report.rows == report.rows_written == 2 and report.lines == 4
    issue = next(i for i in report.issues if i["kind"] == "multi-line-record")
    assert issue["first_line"] == 2 and issue["rows"] == 1
    assert "multi-line-record" in (tmp_path / "out.csv.report.md").read_text()


def test_unterminated_quote_is_an_error_not_merged_rows(tmp_path: Path, xw) -> None:
    """The issue's case: one stray quote merged 7 rows into a cell and exited 0."""
    lines = ["id,code"] + [f"{i},{CODES[i % 4]}" for i in range(200)]
    lines[101] = '100,"038.9'
    src = tmp_path / "in.csv"
    src.write_text("\n".join(lines) + "\n")
    with pytest.raises(InputFormatError, match=r"in\.csv, line 102: unterminated quote"):
        migrate(src, tmp_path / "out.csv", xw)
    assert not (tmp_path / "out.csv").exists()


def test_numeric_codes_are_a_reported_type_issue(tmp_path: Path, xw) -> None:
    src = tmp_path / "in.jsonl"
    src.write_text('{"code": 250.10}\n{"code": "250.10"}\n{"code": 38}\n')
    report = migrate(src, tmp_path / "out.csv", xw)
    issue = next(i for i in report.issues if i["kind"] == "numeric-code")
    assert issue["rows"] == 2 and issue["example"] == "250.10" and issue["first_line"] == 1
    rows = _read_back(tmp_path / "out.csv")
    assert rows[0]["code"] == "250.10"  # the number's text in the file, not 250.1
    assert rows[0]["map_targets"] == rows[1]["map_targets"]
    pq.write_table(pa.table({"code": [250.1, None]}), tmp_path / "num.parquet")
    report = migrate(tmp_path / "num.parquet", tmp_path / "num_out.parquet", xw)
    issue = next(i for i in report.issues if i["kind"] == "numeric-code")
    assert issue["rows"] == 1 and issue["example"] == "250.1"
    assert "numeric-code" in (tmp_path / "num_out.parquet.report.md").read_text()


@pytest.mark.parametrize("token", ["NULL", "null", "nan", "NaN", "None", "NA", "N/A", "", " "])
def test_missing_value_placeholders_are_invalid_not_not_in_release(token: str) -> None:
    for source, target in (("icd10cm", "icd9cm"), ("icd9cm", "icd10cm")):
        xw = get_crosswalk(source, target)
        assert xw.map(token).status == "invalid-code", (source, token)
        assert xw.map_many([token])[0].status == "invalid-code"


def test_source_code_does_not_depend_on_call_order() -> None:
    from icdbridge.crosswalk.chain import Crosswalk

    first = get_crosswalk("icd9cm", "icd10cm")
    fresh = Crosswalk(first.hops)
    assert fresh.map("4257").source_code == "4257"
    assert fresh.map_many(["4257", "425.7"])[0].source_code == "4257"
    assert fresh.map("4257").source_code == "4257"
    other = Crosswalk(first.hops)
    assert [m.source_code for m in other.map_many(["4257", "425.7"])] == ["4257", "425.7"]
    assert other.map("4257").source_code == "4257"
    assert other.map("4257").targets == fresh.map("425.7").targets


def test_system_aliases_and_ambiguous_names() -> None:
    from icdbridge.codes.registry import get_terminology, system_id
    from icdbridge.errors import UnknownSystemError

    assert system_id("ICD-10-CM") == system_id("icd10_cm") == "icd10cm"
    assert system_id("icd9") == "icd9cm"
    assert get_terminology("ICD-9") is get_terminology("icd9cm")
    assert get_crosswalk("icd9", "ICD10CM") is get_crosswalk("icd9cm", "icd10cm")
    with pytest.raises(UnknownSystemError, match="ambiguous: use icd10cm or icd10who"):
        get_crosswalk("icd9cm", "icd10")
    with pytest.raises(UnknownSystemError, match="expected one of: icd10cm, icd10who"):
        get_crosswalk("icd8", "icd10cm")


def test_cli_rejects_ambiguous_system_in_one_line(capsys) -> None:
    assert _run(["map", "--code", "038.9", "--from", "icd9", "--to", "icd10"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: code system 'icd10' is ambiguous") and err.count("\n") == 1


def test_icd11_clusters_that_map_writes_are_accepted_as_input() -> None:
    from conftest import require_data

    require_data("who-icd10-icd11")
    forward = get_crosswalk("icd10who", "icd11")
    clusters = sorted({t.code for m in forward.map_many(["A00.0", "A02.2"]) for t in m.targets})
    assert "1A00&XN8P1" in clusters and "1A09.Y/FA11.Y" in clusters
    back = get_crosswalk("icd11", "icd10who")
    stem = back.map("1A00")
    for cluster in ("1A00&XN8P1", "1a00 & xn8p1"):
        mapping = back.map(cluster)
        assert mapping.status != "invalid-code" and mapping.code == "1A00&XN8P1"
        assert mapping.source_code == cluster
        assert mapping.codes == stem.codes  # via the stem code
        assert mapping.exactness <= mapping.exactness.APPROXIMATE  # extension codes not mapped
        assert "via cluster stem" in mapping.targets[0].describe()
        assert "XN8P1 not mapped" in (mapping.targets[0].note or "")
    slash = back.map("1A09.Y/FA11.Y")
    assert slash.status != "invalid-code" and slash.codes == back.map("1A09.Y").codes
    assert back.map("XN8P1&1A00").status == "invalid-code"  # an extension cannot lead
    assert back.map_many(["PA10&XE8TM&XE7ZZ"])[0].code == "PA10&XE8TM&XE7ZZ"


@pytest.mark.parametrize("chunk_rows", [1, 2, 100])
def test_physical_lines_are_counted_across_chunks(
    tmp_path: Path, xw, monkeypatch, chunk_rows: int
) -> None:
    """Line numbers stay exact after cells with \\n, \\r\\n and \\r breaks, in any chunking."""
    monkeypatch.setattr(migrate_module, "CHUNK_ROWS", chunk_rows)
    body = '1,038.9,"a\nb"\n2,038.9,plain\n3,038.9,"x\r\ny"\n4,038.9,"p\rq"\n'
    src = tmp_path / "in.csv"
    src.write_bytes(("id,code,note\n" + body).encode())
    report = migrate(src, tmp_path / "out.csv", xw, write_report=False)
    assert report.rows_written == 4 and report.lines == 8
    issue = next(i for i in report.issues if i["kind"] == "multi-line-record")
    assert (issue["rows"], issue["first_line"]) == (3, 2)
    src.write_bytes(("id,code,note\n" + body + "5,038.9\n6,073.0,ok\n").encode())
    with pytest.raises(InputFormatError, match=r"in\.csv, line 9: expected 3 fields, got 2"):
        migrate(src, tmp_path / "out2.csv", xw, write_report=False)
    src.write_bytes(("id,code,note\n" + body + '5,038.9,"open\n6,073.0,ok\n').encode())
    with pytest.raises(InputFormatError, match=r"in\.csv, line 9: unterminated quote"):
        migrate(src, tmp_path / "out3.csv", xw, write_report=False)
    assert not (tmp_path / "out2.csv").exists() and not (tmp_path / "out3.csv").exists()


def test_a_migrated_file_maps_again_keeping_its_columns(tmp_path: Path, xw) -> None:
    """Feeding map's output back keeps the earlier columns under input_ names (none lost)."""
    src = tmp_path / "in.csv"
    src.write_text("code\n038.9\n073.0\n")
    migrate(src, tmp_path / "once.parquet", xw, explode=True, write_report=False)
    back = get_crosswalk("icd10cm", "icd9cm")
    for suffix in (".csv", ".jsonl", ".parquet"):
        out = tmp_path / f"twice{suffix}"
        report = migrate(tmp_path / "once.parquet", out, back, column="map_target")
        rows = _read_back(out)
        assert [r["input_map_target"] for r in rows] == ["A41.9", "A70", "J17"]
        assert [r["code"] for r in rows] == ["038.9", "073.0", "073.0"]
        assert rows[0]["map_status"] != "" and "input_map_detail" in rows[0]
        assert any(i["kind"] == "renamed-column" for i in report.issues)
