"""The Spark session, Parquet input and atomic Parquet-directory output of the Spark engine."""

from __future__ import annotations

import glob
import os
from collections.abc import Sequence
from dataclasses import dataclass
from os import PathLike
from pathlib import Path
from typing import TYPE_CHECKING, Any

from icdbridge.errors import DataNotFoundError, IcdbridgeError, InputFormatError, OutputError

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

ENGINES = ("single", "spark")
"""Engines of ``icdbridge map`` and ``icdbridge predict``: one streaming process, or Spark."""

DEFAULT_ENGINE = "single"
"""The default engine: the single-process, streaming one."""

DEFAULT_MASTER = "local[*]"
"""Spark master when none is given and the process was not started by ``spark-submit``."""

SESSION_CONFIG: dict[str, str] = {
    "spark.sql.execution.arrow.maxRecordsPerBatch": "100000",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
}
"""Settings of a session the Spark engine creates (an existing session is used as it is).

``maxRecordsPerBatch`` is the Arrow batch each executor maps at once (as ``icdbridge map``'s
chunk: each distinct code of a batch is mapped once).
"""


def check_engine(engine: str, master: str | None = None) -> None:
    """Refuse an unknown engine, and a master URL without the Spark engine.

    Raises:
        IcdbridgeError: one line saying which choices exist.
    """
    if engine not in ENGINES:
        raise IcdbridgeError(f"engine must be one of {', '.join(ENGINES)} (got {engine!r})")
    if master is not None and engine != "spark":
        raise IcdbridgeError("a Spark master URL needs engine 'spark'")


def require_pyspark() -> Any:
    """Import and return :mod:`pyspark`, or raise a one-line error saying how to install it.

    Raises:
        IcdbridgeError: pyspark is not installed.
    """
    try:
        import pyspark
    except ImportError:
        raise IcdbridgeError(
            "the Spark engine needs pyspark (and Java 17+): pip install 'icdbridge[spark]'"
        ) from None
    return pyspark


def get_session(
    master: str | None = None,
    app_name: str = "icdbridge",
    config: dict[str, str] | None = None,
) -> SparkSession:
    """The active Spark session, or a new one.

    Args:
        master: Spark master URL (``local[*]``, ``spark://host:7077``, ``yarn``...). ``None``:
            the one ``spark-submit`` set, else :data:`DEFAULT_MASTER`. Ignored when a session is
            already running (Spark has one per process).
        app_name: Application name shown in the Spark UI.
        config: Extra Spark settings for a new session (over :data:`SESSION_CONFIG`).

    Raises:
        IcdbridgeError: pyspark is missing or Spark could not start (no Java, bad master URL).
    """
    require_pyspark()
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        return active
    builder = SparkSession.builder.appName(app_name)
    if master is None and "PYSPARK_GATEWAY_PORT" not in os.environ:  # not under spark-submit
        master = DEFAULT_MASTER
    if master is not None:
        builder = builder.master(master)
    for key, value in {**SESSION_CONFIG, **(config or {})}.items():
        builder = builder.config(key, value)
    try:
        return builder.getOrCreate()
    except Exception as error:  # Java missing, bad master URL: pyspark raises many kinds
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise IcdbridgeError(
            f"Spark could not start (master {master or 'from spark-submit'}): {first} "
            "(the Spark engine needs Java 17+ on PATH or JAVA_HOME)"
        ) from None


def location(path: str | PathLike[str]) -> str:
    """The location a command-line argument named: ``hdfs://nn/x`` as typed, not as a Path.

    The CLI parses its arguments as :class:`~pathlib.Path`, which folds ``//`` (``s3a://b/k``
    becomes ``s3a:/b/k``); the token typed on the command line is taken back from ``sys.argv``.
    """
    import sys

    text = str(path)
    if ":/" in text:
        for token in sys.argv:
            if "://" in token and str(Path(token)) == text:
                return token
    return text


def _is_url(path: str) -> bool:
    return "://" in path and not path.startswith("file://")


def read_parquet(spark: SparkSession, path: str | PathLike[str]) -> DataFrame:
    """Read a Parquet file, a folder of Parquet parts or a glob as one DataFrame.

    Raises:
        DataNotFoundError: a local path or glob that matches nothing.
        InputFormatError: the files are not readable Parquet.
    """
    text = str(path)
    if not _is_url(text) and not glob.glob(text.removeprefix("file://")):
        raise DataNotFoundError(f"input not found: {text}")
    try:
        return spark.read.parquet(text)
    except Exception as error:
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise InputFormatError(text, f"not readable as Parquet ({first[:200]})") from None


def check_output_dir(path: str | PathLike[str], inputs: Sequence[str | PathLike[str]] = ()) -> str:
    """:func:`icdbridge.outputs.check_output` for a Parquet output folder (local paths only).

    A URL (``hdfs://``, ``s3a://``...) is returned as it is: there Spark's own commit protocol
    makes the write all-or-nothing.
    """
    from icdbridge.outputs import check_output

    text = str(path)
    if _is_url(text):
        return text
    local = [p for p in inputs if not _is_url(str(p)) and "*" not in str(p)]
    check_output(text.removeprefix("file://"), local, kind="dir")
    return text


def write_parquet_dir(df: DataFrame, path: str | PathLike[str]) -> str:
    """Write ``df`` as a folder of Parquet parts, atomically.

    A local folder is written to a temporary folder beside it and renamed into place only when
    every task succeeded (:func:`icdbridge.outputs.atomic_dir`: an existing folder is replaced as
    a whole, a failed or interrupted job leaves it untouched). A URL is written by Spark's commit
    protocol (the ``_SUCCESS`` marker appears last), refusing an existing folder.

    Raises:
        OutputError: the folder cannot be written.
    """
    from icdbridge.outputs import atomic_dir

    text = str(path)
    if _is_url(text):
        df.write.mode("errorifexists").parquet(text)
        return text
    local = Path(text.removeprefix("file://"))
    with atomic_dir(local) as temp:
        try:
            df.write.mode("overwrite").parquet(str(temp.resolve()))
        except Exception as error:
            if isinstance(error, IcdbridgeError):
                raise
            raise OutputError(f"{local}: the Spark job failed: {_first_line(error)}") from None
    return text


@dataclass
class ParquetJob:
    """A Parquet input → Parquet output folder run (``icdbridge map`` / ``predict --engine
    spark``), started by :func:`parquet_job`.

    Attributes:
        spark: The session.
        df: The input.
        output: The output folder, checked (:func:`check_output_dir`).
    """

    spark: SparkSession
    df: DataFrame
    output: str

    def write(self, result: DataFrame) -> None:
        """Write ``result`` into the output folder, atomically (:func:`write_parquet_dir`)."""
        write_parquet_dir(result, self.output)

    def rows_written(self) -> int:
        """Rows of the output folder, read back."""
        return read_parquet(self.spark, self.output).count()


def parquet_job(
    input_path: str | PathLike[str], output_path: str | PathLike[str], master: str | None = None
) -> ParquetJob:
    """Check the output folder (never the input), then start the session and read the input.

    Raises:
        OutputError: the output cannot be written (or is the input).
        DataNotFoundError: no such input.
        InputFormatError: the input is not readable Parquet.
    """
    output = check_output_dir(output_path, [input_path])
    spark = get_session(master)
    return ParquetJob(spark, read_parquet(spark, input_path), output)


def _first_line(error: BaseException) -> str:
    lines = [line for line in str(error).strip().splitlines() if line.strip()]
    return lines[0][:300] if lines else type(error).__name__


def executor_environment(spark: SparkSession) -> tuple[tuple[str, str], ...]:
    """Environment the executors' Python workers get from the driver (applied per task).

    With a ``local`` master, workers run on this machine: they get the driver's data folder and
    cache folder as absolute paths (``$ICDBRIDGE_DATA`` may be relative, and either may have
    changed since Spark started). On a cluster nothing is passed: set ``ICDBRIDGE_DATA`` and
    ``ICDBRIDGE_CACHE`` for the executors (``spark.executorEnv.*``), see docs/scale.md.
    """
    from icdbridge.paths import CACHE_ENV, DATA_ENV, data_dir

    if not spark.sparkContext.master.startswith("local"):
        return ()
    env = [(DATA_ENV, str(data_dir().resolve()))]
    cache = os.environ.get(CACHE_ENV)
    if cache:
        env.append((CACHE_ENV, str(Path(cache).expanduser().resolve())))
    return tuple(env)


def apply_environment(env: tuple[tuple[str, str], ...]) -> None:
    """Set the variables of :func:`executor_environment` in this (worker) process."""
    for key, value in env:
        os.environ[key] = value
