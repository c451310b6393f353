"""Dataset migration and its loss report on Spark (same cells and counts as ``icdbridge map``).

Executors build the crosswalk themselves, once per Python worker process
(:func:`icdbridge.crosswalk.get_crosswalk` is cached per process), from a small picklable
:class:`CrosswalkSpec`: the two systems and the table options. Tables the user gave as files
(``custom``, ``gem_9_to_10``, ``gem_10_to_9``, ``overrides``, ``who_tables``) are shipped to the
executors with ``SparkContext.addFile`` under a content-hash folder, keeping their file name (the
provenance names it), so nothing large is pickled per task. The data folder (terminologies, WHO
tables by release, GEMs) is read on each executor from ``$ICDBRIDGE_DATA``.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from typing import TYPE_CHECKING, Any

from icdbridge.crosswalk.batches import added_fields, map_batch
from icdbridge.crosswalk.chain import Crosswalk, get_crosswalk
from icdbridge.crosswalk.columns import MappingColumns
from icdbridge.crosswalk.policies import get_policy
from icdbridge.crosswalk.report import MigrationReport, build_report
from icdbridge.spark.session import (
    apply_environment,
    executor_environment,
    get_session,
    parquet_job,
)
from icdbridge.tables.delimited import pick_column

if TYPE_CHECKING:
    import pyarrow as pa
    from pyspark.sql import DataFrame

FILE_OPTIONS = ("who_tables", "gem_9_to_10", "gem_10_to_9", "overrides")
"""Crosswalk options that name a user file (shipped to the executors); ``custom`` is another."""

_SHIP_PREFIX = "icdbridge-"


@dataclass(frozen=True)
class CrosswalkSpec:
    """What an executor needs to build the crosswalk: systems, options and shipped files.

    Attributes:
        source: Source system.
        target: Target system.
        options: Keyword options of :func:`~icdbridge.crosswalk.get_crosswalk` (paths of
            shipped files replaced by their shipped names, see ``shipped``).
        shipped: Option name → ``(folder name under SparkFiles, file name)``.
        env: Environment set in the worker first (see
            :func:`~icdbridge.spark.session.executor_environment`).
    """

    source: str
    target: str
    options: tuple[tuple[str, Any], ...] = ()
    shipped: tuple[tuple[str, tuple[str, str]], ...] = field(default=())
    env: tuple[tuple[str, str], ...] = ()

    def crosswalk(self) -> Crosswalk:
        """The crosswalk (cached per process), with shipped files resolved where this runs."""
        apply_environment(self.env)
        options = dict(self.options)
        if self.shipped:
            from pyspark import SparkFiles

            for name, (folder, file_name) in self.shipped:
                path = str(Path(SparkFiles.get(folder)) / file_name)
                if name == "custom":
                    options["custom"] = (path, *options["custom"][1:])
                else:
                    options[name] = path
        return get_crosswalk(self.source, self.target, **options)


def _digest(path: Path) -> str:
    digest = hashlib.sha256()
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for item in files:
        digest.update(str(item.relative_to(path) if path.is_dir() else item.name).encode())
        with open(item, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()[:16]


def _ship(spark: Any, path: str) -> tuple[str, str]:
    """Ship a local file or folder to every executor; return (SparkFiles folder, its name)."""
    source = Path(path)
    folder = f"{_SHIP_PREFIX}{_digest(source)}"
    staging = Path(tempfile.mkdtemp(prefix="icdbridge-spark-")) / folder
    staging.mkdir()
    if source.is_dir():
        shutil.copytree(source, staging / source.name)
    else:
        shutil.copy2(source, staging / source.name)
    spark.sparkContext.addFile(str(staging), recursive=True)
    return folder, source.name


def crosswalk_spec(
    from_system: str, to_system: str, *, ship: bool = True, spark: Any = None, **sources: Any
) -> CrosswalkSpec:
    """Build the crosswalk on the driver (clear errors before any job) and its executor spec.

    Args:
        from_system: Source system.
        to_system: Target system.
        ship: Ship the user's table files to the executors (else their paths must be readable
            there, e.g. on shared storage).
        spark: The session (default: the active one) that runs the jobs.
        **sources: Options of :func:`~icdbridge.crosswalk.get_crosswalk`.
    """
    get_crosswalk(from_system, to_system, **sources)  # fails here on a missing or bad table
    spark = spark if spark is not None else get_session()
    shipped: dict[str, tuple[str, str]] = {}
    if ship:
        files = {name: sources[name] for name in FILE_OPTIONS if sources.get(name) is not None}
        if sources.get("custom") is not None:
            files["custom"] = sources["custom"][0]
        for name, path in files.items():
            if Path(str(path)).exists():
                shipped[name] = _ship(spark, str(path))
    options = tuple(sorted((k, _frozen(v)) for k, v in sources.items()))
    shipped_items = tuple(sorted(shipped.items()))
    return CrosswalkSpec(
        from_system, to_system, options, shipped_items, executor_environment(spark)
    )


def _frozen(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


def _spark_type(field_: pa.Field) -> Any:
    from pyspark.sql.types import ArrayType, StringType

    return ArrayType(StringType()) if field_.type.num_fields else StringType()


def migrate(
    df: DataFrame,
    column: str,
    from_system: str,
    to_system: str,
    policy: str = "all",
    explode: bool = False,
    *,
    ship: bool = True,
    **sources: Any,
) -> DataFrame:
    """Map a DataFrame's code column: every row kept, with the columns ``icdbridge map`` adds.

    Lazy: returns a DataFrame whose executors map each Arrow batch with
    :func:`icdbridge.crosswalk.batches.map_batch` (the C kernel when built). Its added columns,
    values and statuses equal those of :func:`icdbridge.crosswalk.migrate.migrate` row for row
    (``map_status``, ``map_targets`` as an array, ``map_exactness``, ``map_outcome``,
    ``map_detail``; with ``explode`` one row per target with ``map_target``,
    ``map_target_exactness``, ``map_combination``). A bad code is a status, never a failed task.

    Args:
        df: Input rows (any columns).
        column: The code column (strings; other types are cast to strings as Arrow casts them).
        from_system: Source system (``icd9cm``, ``icd10cm``, ``icd10who``, ``icd11``, custom).
        to_system: Target system.
        policy: Lossy policy name (``all`` keeps every target).
        explode: One output row per target instead of a list column.
        ship: Ship table files named in ``sources`` to the executors with ``SparkFiles``.
        **sources: Options of :func:`~icdbridge.crosswalk.get_crosswalk` (``who_tables``,
            ``who_releases``, ``gem_9_to_10``, ``gem_10_to_9``, ``overrides``, ``custom``).

    Raises:
        InputFormatError: ``column`` is not a column of ``df``, or an added name already is.
    """
    from pyspark.sql.types import StructField, StructType

    from icdbridge.errors import InputFormatError

    get_policy(policy)
    column = pick_column("DataFrame", df.columns, column, None)
    fields = added_fields(explode)
    clash = sorted(set(df.columns) & {f.name for f in fields})
    if clash:
        raise InputFormatError("DataFrame", f"already has column(s) {', '.join(clash)}")
    spec = crosswalk_spec(from_system, to_system, ship=ship, spark=df.sparkSession, **sources)
    schema = StructType(
        [*df.schema.fields, *(StructField(f.name, _spark_type(f), True) for f in fields)]
    )

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        crosswalk = spec.crosswalk()
        cells = MappingColumns()
        for batch in batches:
            yield map_batch(batch, column, crosswalk, policy, explode, cells)

    return df.mapInArrow(run, schema)


def code_counts(df: DataFrame, column: str) -> Counter:
    """Rows per distinct value of ``column`` (a Spark aggregation; values as the mapper sees them).

    A string column is grouped by Spark itself (in the JVM, no Python worker). Any other type is
    first cast to strings per partition exactly as the mapping casts it (Arrow's cast, e.g.
    ``250.0`` → ``"250"``), counted there, and the counts summed by Spark. Only the distinct
    values reach the driver.
    """
    import pyarrow as pa
    import pyarrow.compute as pc
    from pyspark.sql import functions as F
    from pyspark.sql.types import LongType, StringType, StructField, StructType

    column = pick_column("DataFrame", df.columns, column, None)
    if isinstance(df.schema[column].dataType, StringType):
        counted = df.groupBy(F.col(column).alias("code")).agg(F.count(F.lit(1)).alias("rows"))
    else:
        schema = StructType([StructField("code", StringType()), StructField("rows", LongType())])
        out = pa.schema([("code", pa.string()), ("rows", pa.int64())])

        def count(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
            total: Counter = Counter()
            for batch in batches:
                values = batch.column(batch.schema.get_field_index(column)).cast(pa.string())
                counted = pc.value_counts(values)
                codes = counted.field("values").to_pylist()
                for code, rows in zip(codes, counted.field("counts").to_pylist(), strict=True):
                    total[code] += rows
            if total:
                codes, rows = zip(*total.items(), strict=True)
                yield pa.RecordBatch.from_arrays(
                    [pa.array(codes, pa.string()), pa.array(rows, pa.int64())], schema=out
                )

        counted = (
            df.select(column)
            .mapInArrow(count, schema)
            .groupBy("code")
            .agg(F.sum("rows").alias("rows"))
        )
    tally: Counter = Counter()
    for row in counted.collect():
        tally[row["code"]] += int(row["rows"])  # null and "" apart, as migrate.Tally counts
    return tally


def loss_report(
    df: DataFrame,
    column: str,
    from_system: str,
    to_system: str,
    policy: str = "all",
    top: int = 20,
    **sources: Any,
) -> MigrationReport:
    """The migration report of ``df`` (same numbers as ``icdbridge map``'s report).

    Rows per distinct code are counted with a Spark aggregation (:func:`code_counts`); the
    report is then built from those counts on the driver, one mapping per distinct code, by
    :func:`icdbridge.crosswalk.report.build_report`. Save it with
    :meth:`~icdbridge.crosswalk.report.MigrationReport.save` (md, json, png).

    Args:
        df: The input rows (before migration).
        column: The code column.
        from_system: Source system.
        to_system: Target system.
        policy: Lossy policy name.
        top: How many unmapped codes to list.
        **sources: Options of :func:`~icdbridge.crosswalk.get_crosswalk`.
    """
    crosswalk = get_crosswalk(from_system, to_system, **sources)
    report = build_report(code_counts(df, column), crosswalk, policy, top)
    report.rows_written = report.rows
    return report


def migrate_parquet(
    input_path: str | PathLike[str],
    output_path: str | PathLike[str],
    from_system: str,
    to_system: str,
    *,
    column: str | None = None,
    policy: str = "all",
    explode: bool = False,
    master: str | None = None,
    **sources: Any,
) -> MigrationReport:
    """Migrate a Parquet dataset on Spark into a Parquet folder; return the loss report.

    What ``icdbridge map INPUT --engine spark -o OUTPUT`` runs.

    Args:
        input_path: A Parquet file, a folder of Parquet parts or a glob (local or a URL Spark
            reads, e.g. ``hdfs://`` or ``s3a://``).
        output_path: The output folder of Parquet parts, written atomically (see
            :func:`icdbridge.spark.session.write_parquet_dir`).
        from_system: Source system.
        to_system: Target system.
        column: Code column (default: the only column, or one called ``code``).
        policy: Lossy policy name.
        explode: One output row per target.
        master: Spark master URL (default: :data:`~icdbridge.spark.session.DEFAULT_MASTER`
            unless run by ``spark-submit``).
        **sources: Options of :func:`~icdbridge.crosswalk.get_crosswalk`.

    Raises:
        InputFormatError: unreadable input or no such column.
        OutputError: the output cannot be written (or is the input).
    """
    get_policy(policy)
    get_crosswalk(from_system, to_system, **sources)  # errors before Spark starts
    job = parquet_job(input_path, output_path, master)
    column = pick_column(str(input_path), job.df.columns, column, None)
    job.write(migrate(job.df, column, from_system, to_system, policy, explode, **sources))
    report = loss_report(job.df, column, from_system, to_system, policy, **sources)
    report.input, report.output = str(input_path), str(job.output)
    report.rows_written = job.rows_written()
    return report
