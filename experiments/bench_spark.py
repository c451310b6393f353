"""Benchmark: the Spark engine vs the single-process CLI on the same input, same run.

    python experiments/bench_spark.py                          # 20 million rows, local[2]
    python experiments/bench_spark.py --rows 5000000           # fewer rows
    python experiments/bench_spark.py --model MODEL_DIR --notes 100   # add notes/s of predict
    python experiments/bench_spark.py --skip-migration --train-model   # train a small model first

1. **Migration.** Writes one Parquet file of ``--rows`` rows (a row id and an ICD-9-CM code
   column: 95 % codes sampled, seeded, from every ICD-9-CM code of the terminology — categories
   and leaves, dotted — and 5 % invalid, empty or null values), then runs, each as its own
   process, end to end (start-up, mapping, Parquet output, report md/json/png):

   * ``icdbridge map IN.parquet --from icd9cm --to icd10cm --column code -o OUT.parquet``;
   * the same with ``--engine spark --master local[2] -o OUT_DIR``.

   Rows/s = rows / wall-clock seconds. Peak memory = the largest sum of the resident memory of
   the command's whole process tree (the Spark JVM and its Python workers included), sampled
   every 0.2 s from ``/proc``. Checks that both outputs have the same number of rows and the
   same status counts.
2. **Prediction** (with ``--model``): ``--notes`` CodiEsp dev notes (English text) scored over the
   model's whole release by ``icdbridge predict`` (JSONL) and by ``icdbridge predict --engine
   spark --master local[2]`` (Parquet), same notes; notes/s end to end, and the model load time
   of one process (label embeddings from the cache, which a warm-up load fills first).
   ``--train-model`` first trains a small model with ``icdbridge train`` (one network, 2 epochs,
   on the first 40 CodiEsp train notes, validated on 20 dev notes) and scores with it.

Writes ``experiments/bench_spark.json``. The machine's cores may be shared: run both in one
invocation and compare only numbers from the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
import tomllib
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
HERE = Path(__file__).resolve().parent
BAD = ["not a code", "ZZZ.99", "999.99", "", None]


SETTINGS: dict = tomllib.loads(
    (Path(__file__).resolve().parent / "bench.toml").read_text(encoding="utf-8")
)["bench_spark"]
"""Defaults of this benchmark (``bench.toml``, ``[bench_spark]``); command-line options win."""


def _tree_rss(root: int) -> int:
    """Resident bytes of ``root`` and all its descendants (from /proc)."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
            children.setdefault(int(fields[1]), []).append(int(entry))
            rss[int(entry)] = int(fields[21]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, IndexError, ValueError):
            continue
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        total += rss.get(pid, 0)
        todo.extend(children.get(pid, []))
    return total


def run(command: list[str], env: dict[str, str] | None = None) -> dict[str, float]:
    """Run a command; return its wall-clock seconds and peak tree memory (MiB)."""
    start = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, _tree_rss(process.pid))
            time.sleep(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    output, _ = process.communicate()
    seconds = time.perf_counter() - start
    done.set()
    sampler.join()
    if process.returncode != 0:
        sys.exit(f"failed ({process.returncode}): {' '.join(command)}\n{output.decode()[-3000:]}")
    return {"seconds": round(seconds, 2), "peak_mib": round(peak / 2**20)}


def write_input(path: Path, rows: int, seed: int) -> None:
    """A Parquet file of ``rows`` (rid, code) rows, written in 1-million-row row groups."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    from icdbridge.codes import get_terminology

    values = [*get_terminology("icd9cm").codes(), *BAD]
    n_good = len(values) - len(BAD)
    dictionary = pa.array(values, pa.string())
    rng = np.random.default_rng(seed)
    schema = pa.schema([("rid", pa.int64()), ("code", pa.string())])
    step = 1_000_000
    with pq.ParquetWriter(path, schema) as writer:
        for start in range(0, rows, step):
            size = min(step, rows - start)
            index = rng.integers(0, n_good, size)
            bad = rng.random(size) < 0.05
            index[bad] = rng.integers(n_good, len(values), int(bad.sum()))
            codes = dictionary.take(pa.array(index))
            rids = pa.array(np.arange(start, start + size, dtype=np.int64))
            writer.write_table(pa.table([rids, codes], schema=schema), row_group_size=step)


def statuses(path: Path) -> dict[str, int]:
    """Rows per map_status of a Parquet file or folder."""
    import pyarrow.dataset as ds

    table = ds.dataset(path, format="parquet").to_table(columns=["map_status"])
    counts = table.column("map_status").value_counts().to_pylist()
    return {item["values"]: item["counts"] for item in counts}


def bench_migration(args: argparse.Namespace, work: Path) -> dict:
    source = work / "registry.parquet"
    start = time.perf_counter()
    write_input(source, args.rows, args.seed)
    print(f"input: {args.rows:,} rows written in {time.perf_counter() - start:.1f} s", flush=True)
    icdbridge = [sys.executable, "-m", "icdbridge.spark"]  # the icdbridge CLI
    common = ["--from", "icd9cm", "--to", "icd10cm", "--column", "code"]
    results = {}
    single_out, spark_out = work / "single.parquet", work / "spark-out"
    runs = {
        "single": [*icdbridge, "map", str(source), *common, "-o", str(single_out)],
        "spark": [
            *icdbridge, "map", str(source), *common, "--engine", "spark",
            "--master", args.master, "-o", str(spark_out),
        ],
    }  # fmt: skip
    for name, command in runs.items():
        measured = run(command)
        measured["rows_per_s"] = round(args.rows / measured["seconds"])
        results[name] = measured
        print(f"{name}: {measured}", flush=True)
    single, spark = statuses(single_out), statuses(spark_out)
    assert single == spark, (single, spark)
    results["statuses"] = single
    results["spark_vs_single_speed"] = round(
        results["spark"]["rows_per_s"] / results["single"]["rows_per_s"], 2
    )
    return results


def bench_predict(args: argparse.Namespace, work: Path) -> dict:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from icdbridge.data import load_codiesp
    from icdbridge.model.io import from_pretrained

    docs = load_codiesp(split="dev")[: args.notes]
    notes_jsonl, notes_parquet = work / "notes.jsonl", work / "notes.parquet"
    notes_jsonl.write_text(
        "".join(
            json.dumps({"id": d.id, "text": d.text, "codes": [], "system": d.system}) + "\n"
            for d in docs
        )
    )
    pq.write_table(
        pa.table({"id": [d.id for d in docs], "text": [d.text for d in docs]}), notes_parquet
    )
    start = time.perf_counter()
    from_pretrained(args.model)  # warm-up: fills the label-embedding cache if needed
    warm = time.perf_counter() - start
    start = time.perf_counter()
    predictor = from_pretrained(args.model)
    load = time.perf_counter() - start
    del predictor
    icdbridge = [sys.executable, "-m", "icdbridge.spark"]
    runs = {
        "single": [*icdbridge, "predict", str(args.model), str(notes_jsonl), "-o",
                   str(work / "pred.jsonl")],
        "spark": [*icdbridge, "predict", str(args.model), str(notes_parquet), "--engine", "spark",
                  "--master", args.master, "-o", str(work / "pred-spark")],
    }  # fmt: skip
    results: dict = {"notes": len(docs), "warm_up_load_s": round(warm, 1), "load_s": round(load, 1)}
    for name, command in runs.items():
        measured = run(command)
        measured["notes_per_s"] = round(len(docs) / measured["seconds"], 2)
        measured["notes_per_s_after_load"] = round(
            len(docs) / max(measured["seconds"] - load, 1e-9), 2
        )
        results[name] = measured
        print(f"predict {name}: {measured}", flush=True)
    written = pq.read_table(work / "pred-spark").num_rows
    lines = (work / "pred.jsonl").read_text().count("\n")
    assert written == lines == len(docs), (written, lines, len(docs))
    return results


def train_small_model(work: Path) -> Path:
    """``icdbridge train``: one network, 2 epochs, 40 CodiEsp train notes, 20 dev notes."""
    from icdbridge.data import load_codiesp, write_jsonl

    train, dev = work / "train.jsonl", work / "dev.jsonl"
    write_jsonl(load_codiesp(split="train")[:40], train)
    write_jsonl(load_codiesp(split="dev")[-20:], dev)
    model = work / "model"
    command = [sys.executable, "-m", "icdbridge.spark", "train", "--train", str(train)]
    command += ["--dev", str(dev), "-o", str(model), "--members", "1", "--epochs", "2"]
    print(f"training: {run(command)}", flush=True)
    return model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=SETTINGS["rows"], help="rows to migrate")
    parser.add_argument("--seed", type=int, default=SETTINGS["seed"])
    parser.add_argument(
        "--master", default=SETTINGS["master"], help="Spark master of the Spark runs"
    )
    parser.add_argument("--model", type=Path, default=None, help="model directory (predict)")
    parser.add_argument(
        "--notes", type=int, default=SETTINGS["notes"], help="CodiEsp dev notes to score"
    )
    parser.add_argument("--skip-migration", action="store_true")
    parser.add_argument(
        "--train-model", action="store_true", help="train a small model to score with"
    )
    parser.add_argument("--out", type=Path, default=HERE / "bench_spark.json")
    args = parser.parse_args()

    import pyspark

    from icdbridge.environment import software_environment

    record: dict = {
        "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]),
        "rows": args.rows,
        "master": args.master,
        "pyspark": pyspark.__version__,
        "cpus": os.cpu_count(),
        "machine": platform.processor() or platform.machine(),
        "environment": software_environment(),
    }
    with tempfile.TemporaryDirectory(prefix="bench-spark-") as folder:
        work = Path(folder)
        if not args.skip_migration:
            record["migration"] = bench_migration(args, work)
        if args.train_model:
            args.model = train_small_model(work)
            record["model"] = "icdbridge train: 1 network, 2 epochs, 40 CodiEsp train notes"
        if args.model is not None:
            record["predict"] = bench_predict(args, work)
    from icdbridge.outputs import write_json

    write_json(args.out, record)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
