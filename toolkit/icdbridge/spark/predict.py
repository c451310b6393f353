"""Scoring notes on Spark: the rows ``icdbridge predict`` writes, computed on the executors.

Each executor's Python worker loads the model directory once (a module-level cache keyed by the
model folder and options) with :func:`icdbridge.model.routed.load_routed`, the loader of
``icdbridge predict``: the same target system, release or hierarchy file and the same route
(``direct``, ``crosswalk``, ``blend``; ``auto`` resolved once on the driver by
:func:`~icdbridge.model.routed.plan_route`), so both engines rank alike and write the same
fields. The network, the label index and the label embeddings are built once per process, not
per task. The
label embeddings come from the embedding cache: point ``ICDBRIDGE_CACHE`` (or ``cache_dir``) at
shared storage and the first executor to embed a release fills it for every other one.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Sequence
from os import PathLike
from pathlib import Path
from typing import TYPE_CHECKING, Any

from icdbridge.errors import InputFormatError
from icdbridge.model.config import DEFAULT_OPERATING_POINT
from icdbridge.model.routes import DEFAULT_ROUTE
from icdbridge.spark.session import apply_environment, executor_environment, parquet_job
from icdbridge.tables.delimited import pick_column

if TYPE_CHECKING:
    import pyarrow as pa
    from pyspark.sql import DataFrame

    from icdbridge.model.routed import RoutedPredictor

DEFAULT_TOP_K = 50
"""Codes kept per document (as ``icdbridge predict --top-k``)."""

ORIGINAL_COLUMNS = ("original_text", "original_language")
"""Optional note columns passed on to the predictor (a note's untranslated text)."""

_PREDICTORS: dict[tuple, RoutedPredictor] = {}


def load_predictor(
    model_dir: str,
    system: str | None = None,
    release: str | None = None,
    label_codes: tuple[str, ...] | None = None,
    cache_dir: str | None = None,
    hierarchy: str | None = None,
    route: str = DEFAULT_ROUTE,
) -> RoutedPredictor:
    """The routed predictor of ``model_dir``, loaded once per process (then reused by every
    task): :func:`~icdbridge.model.routed.load_routed` with these options.

    Args:
        model_dir: Model directory (readable where this runs: shared storage on a cluster).
        system: Code system to predict in (default: the one trained on).
        release: Release to predict in.
        label_codes: Restrict the target label space to these codes (default: the whole
            release).
        cache_dir: Label-embedding cache folder (sets ``ICDBRIDGE_CACHE`` in this process).
        hierarchy: Custom hierarchy file to predict in, instead of ``system`` (readable here).
        route: ``auto`` or one of :data:`~icdbridge.model.routes.ROUTES`.
    """
    key = (str(model_dir), system, release, label_codes, cache_dir, hierarchy, route)
    found = _PREDICTORS.get(key)
    if found is None:
        from icdbridge.model.routed import load_routed
        from icdbridge.paths import CACHE_ENV

        if cache_dir is not None:
            os.environ[CACHE_ENV] = cache_dir
        found = load_routed(
            model_dir,
            system,
            release,
            hierarchy,
            route,
            label_codes=None if label_codes is None else list(label_codes),
        )
        if found.source is None:  # executors see each note once
            found.direct.window_cache = None
        _PREDICTORS[key] = found
    return found


JSON_FIELDS = ("evidence", "crosswalk")
"""Row fields written as JSON text, with ``explain`` (nested per code)."""


def output_fields(explain: bool = False) -> list[pa.Field]:
    """Arrow fields of a prediction row: those of :meth:`~icdbridge.model.routed.
    RoutedPrediction.to_dict` (``release_changes`` null in the training release), with
    ``explain`` ``evidence`` and ``crosswalk`` as JSON text."""
    import pyarrow as pa

    fields = [
        pa.field("id", pa.string()),
        pa.field("codes", pa.list_(pa.string())),
        pa.field("scores", pa.map_(pa.string(), pa.float64())),
        pa.field("descriptions", pa.map_(pa.string(), pa.string())),
        pa.field("route", pa.string()),
        pa.field("outside_training", pa.list_(pa.string())),
        pa.field("release_changes", pa.map_(pa.string(), pa.string())),
    ]
    if explain:
        fields += [pa.field(name, pa.string()) for name in JSON_FIELDS]
    return fields


def _spark_schema(explain: bool) -> Any:
    from pyspark.sql.types import (
        ArrayType,
        DoubleType,
        MapType,
        StringType,
        StructField,
        StructType,
    )

    fields = [
        StructField("id", StringType()),
        StructField("codes", ArrayType(StringType())),
        StructField("scores", MapType(StringType(), DoubleType())),
        StructField("descriptions", MapType(StringType(), StringType())),
        StructField("route", StringType()),
        StructField("outside_training", ArrayType(StringType())),
        StructField("release_changes", MapType(StringType(), StringType())),
    ]
    if explain:
        fields += [StructField(name, StringType()) for name in JSON_FIELDS]
    return StructType(fields)


def predict_batch(
    predictor: RoutedPredictor,
    batch: pa.RecordBatch,
    id_column: str = "id",
    text_column: str = "text",
    top_k: int = DEFAULT_TOP_K,
    explain: bool = False,
    operating_point: str = DEFAULT_OPERATING_POINT,
) -> pa.RecordBatch:
    """Score the notes of one Arrow batch: one prediction row per note, in order.

    The rows are ``to_dict`` of ``predictor.predict`` (what ``icdbridge predict`` writes):
    ``scores`` and ``descriptions`` as maps in rank order, ``route`` and ``outside_training``,
    ``release_changes`` (null in the training
    release), ``evidence`` and ``crosswalk`` (with ``explain``) as JSON text.
    """
    import pyarrow as pa

    from icdbridge.data.dataset import Document

    data = batch.to_pydict()
    extra = [name for name in ORIGINAL_COLUMNS if name in data]
    docs = []
    for i, (doc_id, text) in enumerate(zip(data[id_column], data[text_column], strict=True)):
        meta = {name: data[name][i] for name in extra if data[name][i] is not None}
        docs.append(Document(id=str(doc_id), text=text, codes=[], system="", meta=meta))
    terminology = predictor.terminology
    predictions = predictor.predict(
        docs, top_k=top_k, explain=explain, operating_point=operating_point
    )
    if predictor.direct.window_cache is not None:  # the routes' shared note windows: one batch
        predictor.direct.window_cache.clear()
    rows = [p.to_dict(terminology) for p in predictions]
    changes = [r.get("release_changes") for r in rows]
    columns: dict[str, list] = {
        "id": [r["id"] for r in rows],
        "codes": [r["codes"] for r in rows],
        "scores": [list(r["scores"].items()) for r in rows],
        "descriptions": [list(r["descriptions"].items()) for r in rows],
        "route": [r["route"] for r in rows],
        "outside_training": [r["outside_training"] for r in rows],
        "release_changes": [None if c is None else list(c.items()) for c in changes],
    }
    if explain:
        for name in JSON_FIELDS:
            columns[name] = [json.dumps(r.get(name, {}), ensure_ascii=False) for r in rows]
    schema = pa.schema(output_fields(explain))
    return pa.RecordBatch.from_arrays(
        [pa.array(columns[f.name], f.type) for f in schema], schema=schema
    )


def predict(
    df: DataFrame,
    model_dir: str | PathLike[str],
    text_column: str = "text",
    top_k: int = DEFAULT_TOP_K,
    system: str | None = None,
    *,
    id_column: str = "id",
    release: str | None = None,
    explain: bool = False,
    label_codes: Sequence[str] | None = None,
    cache_dir: str | PathLike[str] | None = None,
    check: bool = True,
    operating_point: str = DEFAULT_OPERATING_POINT,
    hierarchy: str | PathLike[str] | None = None,
    route: str = DEFAULT_ROUTE,
) -> DataFrame:
    """Score a notes DataFrame on the executors; one row per note as ``icdbridge predict``.

    Lazy: returns a DataFrame with ``id``, ``codes`` (above the validated threshold),
    ``scores`` (code → calibrated probability, best first, ``top_k`` of them),
    ``descriptions`` (code → title), ``route`` (the route that scored the row),
    ``outside_training`` (its codes outside the training label space, best first; null when
    unknown), ``release_changes`` (code → ``added``/``changed`` in another release of the
    trained system, else null) and, with ``explain``, ``evidence`` and ``crosswalk`` (JSON
    text). The route is resolved once, on the driver, by
    :func:`~icdbridge.model.routed.plan_route`, as ``icdbridge predict`` resolves it.

    Args:
        df: Notes, with an id column and a text column (and optionally ``original_text`` and
            ``original_language``).
        model_dir: Model directory from ``icdbridge train``, readable on every executor (shared
            storage on a cluster).
        text_column: The note text column.
        top_k: Codes kept per note.
        system: Code system to predict in (default: the one trained on).
        id_column: The note id column (values written as strings).
        release: Release to predict in.
        explain: Add evidence spans.
        label_codes: Restrict the label space to these codes (default: the whole release).
        cache_dir: Label-embedding cache on storage every executor reads (default: each
            executor's ``ICDBRIDGE_CACHE``).
        check: Refuse, before scoring, a null or empty id or a null text (one Spark pass).
        operating_point: Named operating point (:mod:`icdbridge.model.operating_points`).
        hierarchy: Custom hierarchy file to predict in, instead of ``system`` (readable on
            every executor).
        route: ``auto`` (blend when a crosswalk links the trained system to the target, else
            direct) or one of :data:`~icdbridge.model.routes.ROUTES` (docs/transfer.md).

    Raises:
        InputFormatError: a missing column, or (with ``check``) a note without id or text.
        OperatingPointError: an operating point the model does not have.
        IcdbridgeError: an unknown route, ``crosswalk``/``blend`` without a crosswalk path,
            ``system`` and ``hierarchy`` together.
    """
    from pyspark.sql import functions as F

    from icdbridge.model.routed import plan_route

    if top_k < 1:
        raise InputFormatError("DataFrame", "top_k must be at least 1", value=top_k)
    # clear errors on the driver before any task; the executors get the resolved route
    plan = plan_route(model_dir, system, release, hierarchy, route, operating_point=operating_point)
    for name in (id_column, text_column):
        pick_column("DataFrame", df.columns, name, None)
    if check:
        bad = (
            df.filter(
                F.col(id_column).isNull()
                | (F.trim(F.col(id_column).cast("string")) == "")
                | F.col(text_column).isNull()
            )
            .select(id_column)
            .limit(1)
            .collect()
        )
        if bad:
            raise InputFormatError(
                "DataFrame",
                f"a note without an {id_column!r} or with a null {text_column!r}",
                value=bad[0][0],
            )
    keep = [id_column, text_column, *(c for c in ORIGINAL_COLUMNS if c in df.columns)]
    folder = str(Path(model_dir).resolve()) if "://" not in str(model_dir) else str(model_dir)
    cache = None if cache_dir is None else str(cache_dir)
    codes = None if label_codes is None else tuple(label_codes)
    own = None if hierarchy is None else str(Path(hierarchy).resolve())
    env = executor_environment(df.sparkSession)

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        apply_environment(env)
        predictor = load_predictor(folder, system, release, codes, cache, own, plan.route)
        for batch in batches:
            if batch.num_rows:
                yield predict_batch(
                    predictor, batch, id_column, text_column, top_k, explain, operating_point
                )

    return df.select(*keep).mapInArrow(run, _spark_schema(explain))


def predict_parquet(
    model_dir: str | PathLike[str],
    input_path: str | PathLike[str],
    output_path: str | PathLike[str],
    *,
    system: str | None = None,
    release: str | None = None,
    top_k: int = DEFAULT_TOP_K,
    explain: bool = False,
    master: str | None = None,
    text_column: str = "text",
    id_column: str = "id",
    cache_dir: str | PathLike[str] | None = None,
    operating_point: str = DEFAULT_OPERATING_POINT,
    hierarchy: str | PathLike[str] | None = None,
    route: str = DEFAULT_ROUTE,
) -> int:
    """Score a Parquet notes table on Spark into a Parquet folder; return the notes written.

    What ``icdbridge predict MODEL INPUT --engine spark -o OUTPUT`` runs. ``INPUT`` is a Parquet
    file, a folder of parts or a glob with ``id`` and ``text`` columns; the output folder is
    written atomically (see :func:`icdbridge.spark.session.write_parquet_dir`). The rows are
    those of :func:`predict` (the route and the codes outside the training label space as in
    ``icdbridge predict``).
    """
    from icdbridge.model.routed import plan_route

    plan_route(model_dir, system, release, hierarchy, route, operating_point=operating_point)
    job = parquet_job(input_path, output_path, master)
    for name in (id_column, text_column):
        pick_column(str(input_path), job.df.columns, name, None)
    scored = predict(
        job.df,
        model_dir,
        text_column,
        top_k,
        system,
        id_column=id_column,
        release=release,
        explain=explain,
        cache_dir=cache_dir,
        operating_point=operating_point,
        hierarchy=hierarchy,
        route=route,
    )
    job.write(scored)
    return job.rows_written()
