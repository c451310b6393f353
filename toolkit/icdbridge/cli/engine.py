"""`--engine` / `--master`, shared by `icdbridge map` and `icdbridge predict`."""

from __future__ import annotations

from typing import Any

import typer

from icdbridge.errors import IcdbridgeError
from icdbridge.spark.session import check_engine


def check_engine_options(engine: str, master: str | None) -> None:
    """:func:`icdbridge.spark.session.check_engine`, with the error naming the CLI flags."""
    try:
        check_engine(engine, master)
    except IcdbridgeError as error:
        flags = "--engine" if master is None or "engine must" in str(error) else "--master"
        raise IcdbridgeError(f"{flags}: {error}") from None


def engine_option(single: str, spark_input: str) -> Any:
    """The ``--engine`` option: ``single`` says how the one process runs, ``spark_input`` what
    INPUT is with ``spark`` (whose OUTPUT is always a Parquet folder)."""
    return typer.Option(
        "--engine",
        help=f"single ({single}) or spark (INPUT: {spark_input}; OUTPUT: a Parquet folder, "
        "written atomically).",
    )


def master_option() -> Any:
    """The ``--master`` option (with ``--engine spark``)."""
    return typer.Option(
        "--master", help="With --engine spark: Spark master URL (default local[*])."
    )
