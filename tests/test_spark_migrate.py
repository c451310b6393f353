"""The Spark engine's migration and report equal the single-process ones, row for row.

Every test compares :mod:`icdbridge.spark` with :func:`icdbridge.crosswalk.migrate.migrate` on the
same input (rows sorted by a row id), on the session-scoped ``local[2]`` session of conftest.py
(skipped with the reason when pyspark or Java is absent).
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from cli_harness import assert_refused, leftovers, run_cli
from conftest import require_data
from icdbridge.codes import get_terminology
from icdbridge.crosswalk import get_crosswalk
from icdbridge.crosswalk.migrate import migrate as single_migrate

BAD = ["not a code", "ZZZ.99", "999.99", "", None, "  ", "0"]
"""Invalid, not-in-release, empty and null values."""


def _codes(system: str, n: int, seed: int) -> list[str | None]:
    """``n`` values of ``system``: defined codes (categories and leaves, dotted and undotted),
    and every kind of bad value, seeded."""
    rng = random.Random(seed)
    defined = get_terminology(system).codes()
    values: list[str | None] = []
    for _ in range(n):
        roll = rng.random()
        if roll < 0.8:
            code = rng.choice(defined)
            values.append(code.replace(".", "") if rng.random() < 0.2 else code)
        else:
            values.append(rng.choice(BAD))
    return values


def _table(codes: list[str | None]) -> pa.Table:
    return pa.table({"rid": pa.array(range(len(codes)), pa.int64()), "code": codes})


def _single(tmp_path: Path, table: pa.Table, source: str, target: str, **options) -> list[dict]:
    """Rows of the single-process migration of ``table`` (Parquet in, Parquet out)."""
    explode = options.pop("explode", False)
    src, out = tmp_path / "single-in.parquet", tmp_path / "single-out.parquet"
    pq.write_table(table, src)
    crosswalk = get_crosswalk(source, target, **options)
    single_migrate(src, out, crosswalk, column="code", explode=explode)
    return pq.read_table(out).to_pylist()


def _by_id(rows: list[dict]) -> list[dict]:
    return sorted(rows, key=lambda r: r["rid"])  # stable: a row's targets keep their order


def _spark_rows(spark, table: pa.Table, source: str, target: str, parts: int = 3, **options):
    from icdbridge.spark import migrate

    df = spark.createDataFrame(table.to_pandas()).repartition(parts)
    explode = options.pop("explode", False)
    return migrate(df, "code", source, target, explode=explode, **options).toArrow().to_pylist()


@pytest.mark.slow
@pytest.mark.parametrize("explode", [False, True])
def test_200k_rows_equal_the_single_process_migration(spark, tmp_path, explode) -> None:
    """200,000 rows with valid, invalid, empty and null codes, categories and codes with several
    targets (combinations): the same rows, cells and statuses on Spark, row for row."""
    codes = _codes("icd9cm", 200_000, seed=7)
    codes[:4] = ["073.0", "250", "038.9", None]  # a combination, a category, one target, null
    table = _table(codes)
    folder = tmp_path / "parts"  # a folder of Parquet parts, as a data lake holds a table
    folder.mkdir()
    for i in range(4):
        pq.write_table(table.slice(i * 50_000, 50_000), folder / f"part-{i}.parquet")
    expected = _single(tmp_path, table, "icd9cm", "icd10cm", explode=explode)
    from icdbridge.spark import migrate

    df = spark.read.parquet(str(folder))
    rows = migrate(df, "code", "icd9cm", "icd10cm", explode=explode).toArrow().to_pylist()
    statuses = {r["map_status"] for r in expected}
    assert {"mapped", "combination", "invalid-code", "not-in-release"} <= statuses
    if explode:
        assert len(expected) > len(codes)  # several targets per row somewhere
    assert len(rows) == len(expected)
    assert _by_id(rows) == _by_id(expected)


def _systems_pairs():
    systems = ("icd9cm", "icd10cm", "icd10who", "icd11")
    return [(a, b) for a in systems for b in systems if a != b]


@pytest.mark.slow
@pytest.mark.parametrize(("source", "target"), _systems_pairs())
def test_every_system_pair_equals_the_single_process_migration(
    spark, tmp_path, source, target
) -> None:
    if "icd11" in (source, target):
        require_data("who-icd10-icd11", "mappingtables-2024-01.zip")
    table = _table(_codes(source, 1500, seed=_systems_pairs().index((source, target))))
    for explode in (False, True):
        expected = _single(tmp_path, table, source, target, explode=explode)
        rows = _spark_rows(spark, table, source, target, explode=explode)
        assert _by_id(rows) == _by_id(expected), (source, target, explode)


def test_custom_table_is_shipped_to_the_executors(spark, tmp_path) -> None:
    """A user's table travels with SparkFiles (content-hash folder, same file name), and the
    paths' provenance is the single-process one."""
    table_file = tmp_path / "national.csv"
    table_file.write_text(
        "source,target,relation\nN1,A41.9,equivalent\nN2,A70,\nN2,J17,narrower\n",
        encoding="utf-8",
    )
    custom = (str(table_file), "national", "icd10cm")
    codes = ["N1", "n2", "N3", "", None, "N1"]
    table = _table(codes)
    expected = _single(tmp_path, table, "national", "icd10who", custom=custom)
    rows = _spark_rows(spark, table, "national", "icd10who", parts=2, custom=custom)
    assert _by_id(rows) == _by_id(expected)
    assert "national.csv" in expected[0]["map_detail"]
    from icdbridge.spark.migrate import crosswalk_spec

    spec = crosswalk_spec("national", "icd10who", spark=spark, custom=custom)
    assert dict(spec.shipped)["custom"][1] == "national.csv"


def test_a_partition_of_only_bad_codes_keeps_every_row(spark) -> None:
    """Rows in = rows out, also for a partition holding only invalid, empty and null codes: a bad
    value is a status, never a failed task."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import LongType, StringType, StructField, StructType

    from icdbridge.spark import migrate

    bad = [(i, BAD[i % len(BAD)]) for i in range(70)]
    good = [(70 + i, code) for i, code in enumerate(["038.9", "073.0", "250.00"] * 10)]
    schema = StructType([StructField("rid", LongType()), StructField("code", StringType())])
    df = spark.createDataFrame(spark.sparkContext.parallelize(bad + good, 2), schema)
    first = df.where(F.spark_partition_id() == 0).toArrow().column("code").to_pylist()
    assert first and set(first) <= set(BAD)  # the first partition holds only bad values
    for explode in (False, True):
        out = migrate(df, "code", "icd9cm", "icd10cm", explode=explode)
        rows = out.toArrow().to_pylist()
        assert {r["rid"] for r in rows} == set(range(100))
        if not explode:
            assert len(rows) == 100
        statuses = {r["rid"]: r["map_status"] for r in rows}
        assert all(statuses[i] in {"invalid-code", "not-in-release"} for i in range(70))


@pytest.mark.slow
def test_report_matches_the_single_process_report_number_for_number(spark, tmp_path) -> None:
    """The Spark report (a Spark aggregation, then the same report builder) has the same
    counts as the single-process one, including null and empty codes."""
    from icdbridge.spark import loss_report

    codes = _codes("icd9cm", 20_000, seed=3)
    src = tmp_path / "in.parquet"
    pq.write_table(_table(codes), src)
    expected = single_migrate(
        src, tmp_path / "out.parquet", get_crosswalk("icd9cm", "icd10cm"), column="code"
    ).to_dict()
    df = spark.createDataFrame(_table(codes).to_pandas()).repartition(3)
    report = loss_report(df, "code", "icd9cm", "icd10cm").to_dict()
    # what the file readers alone know (paths, formats, physical lines, input issues)
    for key in ("input", "output", "input_format", "output_format", "lines", "issues"):
        expected.pop(key), report.pop(key)
    assert expected["rows"] == len(codes)
    assert report == expected


def _parts(folder: Path, table: pa.Table, n: int) -> Path:
    folder.mkdir()
    step = -(-table.num_rows // n)
    for i in range(n):
        pq.write_table(table.slice(i * step, step), folder / f"part-{i:03d}.parquet")
    return folder


@pytest.mark.parametrize("form", ["file", "folder", "glob"])
def test_cli_engine_spark_writes_a_parquet_folder_and_the_report(
    spark, tmp_path, capsys, form
) -> None:
    table = _table(_codes("icd9cm", 2000, seed=11))
    expected = _single(tmp_path, table, "icd9cm", "icd10cm")
    if form == "file":
        source = tmp_path / "in.parquet"
        pq.write_table(table, source)
    else:
        source = _parts(tmp_path / "in", table, 3)
        if form == "glob":
            source = Path(f"{source}/part-*.parquet")
    out = tmp_path / "migrated"
    args = ["map", source, "--engine", "spark", "--master", "local[2]", "--column", "code"]
    result = run_cli([*args, "-o", out], capsys)
    assert result.code == 0, result.err
    assert out.is_dir() and list(out.glob("*.parquet"))
    assert _by_id(pq.read_table(out).to_pylist()) == _by_id(expected)
    for suffix in (".md", ".json", ".png"):
        assert Path(f"{out}.report{suffix}").is_file()
    report = json.loads(Path(f"{out}.report.json").read_text())
    assert report["rows"] == report["rows_written"] == 2000
    assert "2000 rows" in result.out
    assert leftovers(tmp_path) == []


def test_cli_engine_spark_refuses_in_one_line(spark, tmp_path, capsys) -> None:
    source = tmp_path / "in.parquet"
    pq.write_table(_table(["038.9"]), source)
    base = ["map", "--engine", "spark", "--column", "code"]
    assert_refused(
        run_cli([*base, tmp_path / "none.parquet", "-o", tmp_path / "o"], capsys), "none"
    )
    assert_refused(run_cli([*base[:-1], "dx", source, "-o", tmp_path / "o"], capsys), "dx")
    onto = run_cli([*base, source, "-o", source], capsys)
    assert onto.code == 2 and "Traceback" not in onto.err
    assert pq.read_table(source).num_rows == 1
    wrong = run_cli(["map", source, "--engine", "dask", "-o", tmp_path / "o"], capsys)
    assert_refused(wrong, "dask")
    assert_refused(
        run_cli(["map", source, "--master", "local[2]", "-o", tmp_path / "o.parquet"], capsys),
        "--master",
    )
    assert not (tmp_path / "o").exists() and leftovers(tmp_path) == []


def test_a_failed_job_leaves_the_output_folder_untouched(spark, tmp_path) -> None:
    """The Parquet folder is written beside the target and renamed only on success."""
    from icdbridge.errors import OutputError
    from icdbridge.spark import write_parquet_dir

    out = tmp_path / "out"
    out.mkdir()
    (out / "old.txt").write_text("previous run")

    def fail(batches):
        for batch in batches:
            raise RuntimeError("executor lost")
            yield batch

    df = spark.range(10)
    with pytest.raises(OutputError, match="Spark job failed"):
        write_parquet_dir(df.mapInArrow(fail, df.schema), out)
    assert [p.name for p in out.iterdir()] == ["old.txt"]
    assert leftovers(tmp_path) == []
    write_parquet_dir(df, out)
    assert not (out / "old.txt").exists()
    assert sorted(pq.read_table(out).column("id").to_pylist()) == list(range(10))


def test_cli_default_engine_is_the_library_default() -> None:
    import inspect

    from icdbridge.cli.map import map_command
    from icdbridge.cli.predict import predict_command
    from icdbridge.spark.session import DEFAULT_ENGINE, ENGINES

    for command in (map_command, predict_command):
        default = inspect.signature(command).parameters["engine"].default
        assert default == DEFAULT_ENGINE == ENGINES[0] == "single"


def test_numeric_code_column_is_counted_as_the_mapper_casts_it(spark) -> None:
    """A non-string code column: the report counts the strings the mapping sees (Arrow's cast),
    and the mapping equals the one of the same codes as strings."""
    from collections import Counter

    from icdbridge.spark import code_counts, migrate

    df = spark.createDataFrame(
        [(0, 25000), (1, 4019), (2, None), (3, 25000)], "rid long, code long"
    )
    assert code_counts(df, "code") == Counter({"25000": 2, "4019": 1, None: 1})
    rows = _by_id(migrate(df, "code", "icd9cm", "icd10cm").toArrow().to_pylist())
    expected = get_crosswalk("icd9cm", "icd10cm").map_many(["25000", "4019", None, "25000"])
    assert [r["map_status"] for r in rows] == [m.status for m in expected]
    assert rows[0]["map_targets"] == expected[0].codes


def test_cli_keeps_a_url_as_typed_and_asks_where_its_report_goes(
    spark, tmp_path, capsys, monkeypatch
) -> None:
    from icdbridge.spark.session import location

    monkeypatch.setattr("sys.argv", ["icdbridge", "map", "s3a://bucket/registry/", "-o", "x"])
    assert location(Path("s3a://bucket/registry/")) == "s3a://bucket/registry/"
    assert location(tmp_path / "a.parquet") == str(tmp_path / "a.parquet")
    source = tmp_path / "in.parquet"
    pq.write_table(_table(["038.9"]), source)
    monkeypatch.setattr("sys.argv", ["icdbridge", "map", str(source), "-o", "s3a://bucket/out"])
    result = run_cli(["map", source, "--engine", "spark", "-o", "s3a://bucket/out"], capsys)
    assert_refused(result, "--report")
    assert not (Path.cwd() / "s3a:").exists()
