"""Scoring notes on Spark equals ``icdbridge predict`` on the same notes (scores to 1e-6).

A small model is trained on 20 real CodiEsp notes over a small label space (the fixtures of
test_model_pipeline.py), saved, and loaded once per Spark worker from its directory.
"""

from __future__ import annotations

import json

import pyarrow as pa
import pytest

from cli_harness import assert_refused, run_cli
from test_model_pipeline import _train, tiny  # noqa: F401  (session fixtures reused)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def saved_model(tiny, tmp_path_factory):  # noqa: F811
    from icdbridge.model.io import save_pretrained

    result = _train(tiny, epochs=2)
    folder = tmp_path_factory.mktemp("spark-model") / "model"
    save_pretrained(result.predictor, folder)
    return folder


def _notes(tiny):  # noqa: F811
    rows = [d.to_dict() for d in tiny["dev"][:6]]
    rows[1] |= {"original_text": "Fiebre y tos.", "original_language": "es"}
    return rows


def _single_rows(model, notes_rows, codes, path, explain):
    """What ``icdbridge predict`` writes for these notes (its library calls, JSONL out), on one
    thread as a Spark task (``spark.task.cpus`` = 1)."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _single_rows_now(model, notes_rows, codes, path, explain)
    finally:
        torch.set_num_threads(threads)


def _single_rows_now(model, notes_rows, codes, path, explain):
    from icdbridge.data import read_jsonl
    from icdbridge.model.io import from_pretrained
    from icdbridge.model.predict import write_predictions

    notes = path.with_suffix(".jsonl")
    notes.write_text("".join(json.dumps(r) + "\n" for r in notes_rows))
    single = from_pretrained(model, label_codes=codes)
    single.window_cache = None
    out = path.with_suffix(".pred.jsonl")
    predictions = single.predict(read_jsonl(notes), top_k=20, explain=explain)
    write_predictions(predictions, out, single.space.terminology)
    return [json.loads(line) for line in out.read_text().splitlines()]


@pytest.mark.parametrize(("partitions", "explain"), [(1, False), (2, True)])
def test_spark_predict_equals_icdbridge_predict(
    spark,
    tiny,  # noqa: F811
    saved_model,
    tmp_path,
    partitions,
    explain,
):
    """Each partition's notes get the scores ``icdbridge predict`` gives the same notes.

    Compared per partition and on one thread: under bfloat16 autocast (CPUs with AMX) a note's
    scores move slightly with the other notes embedded in the same call and with the number of
    torch threads, in the single-process command too (docs/scale.md).
    """
    from pyspark.sql import functions as F
    from pyspark.sql.types import StringType, StructField, StructType

    from icdbridge.spark import predict

    rows = _notes(tiny)
    codes = tiny["space"].codes
    columns = ("id", "text", "original_text", "original_language")
    schema = StructType([StructField(c, StringType()) for c in columns])
    data = [tuple(r.get(c) for c in columns) for r in rows]
    df = spark.createDataFrame(spark.sparkContext.parallelize(data, partitions), schema)
    part = {r["id"]: r["p"] for r in df.select("id", F.spark_partition_id().alias("p")).collect()}
    expected = []
    for p in range(partitions):
        group = [r for r in rows if part[r["id"]] == p]
        expected += _single_rows(saved_model, group, codes, tmp_path / f"part{p}", explain)
    scored = predict(df, saved_model, top_k=20, label_codes=codes, explain=explain)
    got = {r["id"]: r for r in scored.toArrow().to_pylist()}
    assert sorted(got) == sorted(r["id"] for r in rows) == sorted(r["id"] for r in expected)
    for want in expected:
        row = got[want["id"]]
        assert [code for code, _ in row["scores"]] == list(want["scores"])  # best first
        assert dict(row["scores"]) == pytest.approx(want["scores"], abs=1e-6)
        assert row["codes"] == want["codes"]
        assert dict(row["descriptions"]) == want["descriptions"]
        if explain:
            assert json.loads(row["evidence"]) == want["evidence"]
        else:
            assert "evidence" not in row


def test_spark_predict_refuses_a_note_without_text(spark, tiny, saved_model):  # noqa: F811
    from icdbridge.errors import InputFormatError
    from icdbridge.spark import predict

    df = spark.createDataFrame([("a", "fever"), ("b", None)], "id string, text string")
    with pytest.raises(InputFormatError, match="null 'text'"):
        predict(df, saved_model, label_codes=tiny["space"].codes)


def test_cli_predict_engine_spark_refuses_a_bad_model_dir(spark, tmp_path, capsys):
    notes = tmp_path / "notes.parquet"
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"id": ["a"], "text": ["fever"]}), notes)
    result = run_cli(
        ["predict", tmp_path / "nomodel", notes, "--engine", "spark", "-o", tmp_path / "out"],
        capsys,
    )
    assert_refused(result, "nomodel")
    assert not (tmp_path / "out").exists()
