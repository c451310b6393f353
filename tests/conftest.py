"""Shared fixtures: the real third-party data folder (skipped with a reason when absent)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from icdbridge.paths import data_dir

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def require_data(*parts: str) -> Path:
    """Return ``data_dir()/parts``, skipping the test with a clear reason when it is absent."""
    path = data_dir().joinpath(*parts)
    if not path.exists():
        pytest.skip(
            f"real data not found at {path} (set ICDBRIDGE_DATA to the shared data folder; "
            "see ../shared/data/README.md)"
        )
    return path


def digests_under_hash_seeds(
    script: str, hash_seeds: tuple[str, ...], env: dict[str, str] | None = None
) -> list[list[str]]:
    """Run ``script`` (Python source) in a fresh interpreter per ``PYTHONHASHSEED`` of
    ``hash_seeds`` (set iteration orders differ between them) and return, per seed, the lines
    it printed that start with ``DIGEST``."""
    import subprocess
    import sys

    digests = []
    for hash_seed in hash_seeds:
        out = subprocess.run(
            [sys.executable, "-c", script],
            env={**os.environ, **(env or {}), "PYTHONHASHSEED": hash_seed},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        digests.append([line for line in out.splitlines() if line.startswith("DIGEST")])
    return digests


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The shared data folder; tests using it skip when it is absent."""
    return require_data()


@pytest.fixture(scope="session")
def spark():
    """A small local Spark session (local[2], no UI, 2 shuffle partitions), shared by the tests.

    Skipped with the reason when pyspark or Java is missing (CI installs both).
    """
    import shutil

    pytest.importorskip("pyspark", reason="pyspark not installed (pip install -e '.[spark]')")
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        pytest.skip("Java not found (the Spark engine needs Java 17+ on PATH or JAVA_HOME)")
    from icdbridge.spark import get_session

    session = get_session(
        "local[2]",
        app_name="icdbridge-tests",
        config={
            "spark.ui.enabled": "false",
            "spark.sql.shuffle.partitions": "2",
            "spark.default.parallelism": "2",
            "spark.driver.memory": "1g",
            "spark.ui.showConsoleProgress": "false",
            # one JVM on this machine: bind to the loopback, not to whatever address the host
            # name resolves to, and return task results in the status message instead of
            # through the block manager, whose fetch of a large result (the 200,000-row tests)
            # once failed on a loaded CI machine ("TaskResultLost")
            "spark.driver.host": "127.0.0.1",
            "spark.driver.bindAddress": "127.0.0.1",
            "spark.task.maxDirectResultSize": "128m",
        },
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()
