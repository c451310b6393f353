"""`--engine` / `--master`, shared by `icdbridge map` and `icdbridge predict`."""

from __future__ import annotations

from icdbridge.errors import IcdbridgeError
from icdbridge.spark.session import check_engine


def check_engine_options(engine: str, master: str | None) -> None:
    """:func:`icdbridge.spark.session.check_engine`, with the error naming the CLI flags."""
    try:
        check_engine(engine, master)
    except IcdbridgeError as error:
        flags = "--engine" if master is None or "engine must" in str(error) else "--master"
        raise IcdbridgeError(f"{flags}: {error}") from None
