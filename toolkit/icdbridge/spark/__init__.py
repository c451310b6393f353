"""The Spark engine: migrate, report and score datasets that outgrow one machine (extra ``spark``).

The same answers as the single-process commands, computed where the data lives:

* :func:`migrate` — a DataFrame with the columns ``icdbridge map`` adds, row for row;
* :func:`loss_report` — the migration report, counted with Spark aggregations;
* :func:`predict` — the rows ``icdbridge predict`` writes, scored on the executors.

:func:`migrate_parquet` and :func:`predict_parquet` are what ``icdbridge map --engine spark`` and
``icdbridge predict --engine spark`` run (Parquet in, a Parquet folder out, written atomically).
Nothing here imports pyspark until a function is called. See docs/scale.md.

Example:
    >>> from icdbridge.spark import get_session, migrate  # doctest: +SKIP
    >>> spark = get_session("local[2]")  # doctest: +SKIP
    >>> df = spark.read.parquet("registry/")  # doctest: +SKIP
    >>> migrate(df, "dx", "icd9cm", "icd10cm").write.parquet("migrated/")  # doctest: +SKIP
"""

from icdbridge.spark.migrate import (
    CrosswalkSpec,
    code_counts,
    loss_report,
    migrate,
    migrate_parquet,
)
from icdbridge.spark.predict import DEFAULT_TOP_K, load_predictor, predict, predict_parquet
from icdbridge.spark.session import (
    DEFAULT_ENGINE,
    DEFAULT_MASTER,
    ENGINES,
    get_session,
    read_parquet,
    require_pyspark,
    write_parquet_dir,
)

__all__ = [
    "DEFAULT_ENGINE",
    "DEFAULT_MASTER",
    "DEFAULT_TOP_K",
    "ENGINES",
    "CrosswalkSpec",
    "code_counts",
    "get_session",
    "load_predictor",
    "loss_report",
    "migrate",
    "migrate_parquet",
    "predict",
    "predict_parquet",
    "read_parquet",
    "require_pyspark",
    "write_parquet_dir",
]
