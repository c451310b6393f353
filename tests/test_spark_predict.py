"""Scoring notes on Spark equals ``icdbridge predict`` on the same notes (scores to 1e-6).

A small model is trained on 20 real CodiEsp notes over a small label space (the fixtures of
test_model_pipeline.py), saved, and loaded once per Spark worker from its directory. A second,
one-network ICD-10-CM model with the tiny encoder of tests/synthetic.py predicts ICD-9-CM on
both engines by each route (``auto``, ``direct``, ``crosswalk``).
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
    rows[1].pop("evidence", None)  # its mentions' offsets point into the original replaced here
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


# ---------------------------------------------------------------- routes: another code system
@pytest.fixture(scope="module")
def icd10cm_model(tmp_path_factory):
    """A one-network ICD-10-CM model (tiny encoder of tests/synthetic.py, notes naming real
    conditions by title, as the transfer walkthrough's) and four notes to code in ICD-9-CM."""
    import os

    import synthetic
    from icdbridge.codes import get_terminology
    from icdbridge.crosswalk import map_code
    from icdbridge.model import PipelineConfig, TrainConfig, train_model
    from test_transfer_walkthrough import CODES, _notes

    root = tmp_path_factory.mktemp("spark-routes")
    previous = os.environ.get("ICDBRIDGE_CACHE")
    os.environ["ICDBRIDGE_CACHE"] = str(root / "cache")
    try:
        icd10 = get_terminology("icd10cm")
        titles = {code: icd10.description(code).lower() for code in CODES}
        icd9 = get_terminology("icd9cm")
        texts = [*titles.values()]
        for code in CODES:
            texts += [icd9.description(c) for c in map_code(code, "icd10cm", "icd9cm").codes]
        encoder = synthetic.write_encoder(root / "encoder", texts=texts)
        docs = synthetic.documents({**r, "system": "icd10cm"} for r in _notes(40, 0, titles))
        train_model(
            docs[:30],
            docs[30:],
            PipelineConfig(system="icd10cm", encoder=str(encoder)),
            train_config=TrainConfig(epochs=2, negatives=16, batch_size=4, members=1),
            out_dir=root / "model",
        )
        notes = [{"id": r["id"], "text": r["text"]} for r in _notes(4, 1, titles)]
        yield {"model": root / "model", "notes": notes, "cache": root / "cache"}
    finally:
        if previous is None:
            os.environ.pop("ICDBRIDGE_CACHE", None)
        else:
            os.environ["ICDBRIDGE_CACHE"] = previous


@pytest.mark.parametrize(("route", "resolved"), [("auto", "blend"), ("direct", "direct"),
                                                 ("crosswalk", "crosswalk")])  # fmt: skip
def test_spark_predicts_in_another_system_by_the_same_route(spark, icd10cm_model, route, resolved):
    """``--system icd9cm`` on both engines: the same route (``auto`` is ``blend`` on both, a
    crosswalk links ICD-10-CM to ICD-9-CM), ranking, decisions, codes outside the training
    label space and crosswalk provenance (one partition, one thread: see the test above)."""
    import torch

    from icdbridge.data import Document
    from icdbridge.model import load_routed
    from icdbridge.spark import predict

    model, notes = icd10cm_model["model"], icd10cm_model["notes"]
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        routed = load_routed(model, system="icd9cm", route=route)
        docs = [Document(n["id"], n["text"]) for n in notes]
        expected = [
            p.to_dict(routed.terminology) for p in routed.predict(docs, top_k=20, explain=True)
        ]
    finally:
        torch.set_num_threads(threads)
    assert routed.route == resolved
    df = spark.createDataFrame([(n["id"], n["text"]) for n in notes], "id string, text string")
    scored = predict(
        df.coalesce(1), model, top_k=20, system="icd9cm", route=route, explain=True,
        cache_dir=icd10cm_model["cache"],
    )  # fmt: skip
    got = {r["id"]: r for r in scored.toArrow().to_pylist()}
    assert sorted(got) == sorted(n["id"] for n in notes)
    for want in expected:
        row = got[want["id"]]
        assert row["route"] == want["route"] == resolved
        assert [code for code, _ in row["scores"]] == list(want["scores"])  # the same ranking
        assert dict(row["scores"]) == pytest.approx(want["scores"], abs=1e-6)
        assert row["codes"] == want["codes"]
        assert row["outside_training"] == want["outside_training"] == list(want["scores"])
        assert dict(row["descriptions"]) == want["descriptions"]
        assert row["release_changes"] is None and "release_changes" not in want
        assert json.loads(row["crosswalk"]) == want.get("crosswalk", {})
        assert json.loads(row["evidence"]) == want.get("evidence", {})
        if resolved != "direct":
            assert want["crosswalk"]  # provenance of the propagated codes, on both engines


def test_spark_refuses_a_route_without_a_crosswalk_before_any_task(spark, icd10cm_model):
    from icdbridge.errors import IcdbridgeError
    from icdbridge.spark import predict

    df = spark.createDataFrame([("a", "fever")], "id string, text string")
    with pytest.raises(IcdbridgeError, match="it is the system the model was trained on"):
        predict(df, icd10cm_model["model"], route="blend")
