"""Benchmark: dataset migration throughput (``icdbridge map`` on a file), CSV and Parquet.

Writes a seeded dataset of N rows (default 1,000,000: an id, an ICD-9-CM code in either spelling
or an invalid value, a short note) as CSV and as Parquet in a temporary folder, then times
:func:`icdbridge.crosswalk.migrate.migrate` ICD-9-CM → ICD-10-CM on each (best of ``--repeat``,
no report files, so only reading, mapping and writing are timed; the report is still built).

With ``--baseline REV`` the ``migrate`` module of git revision REV (read with ``git show``) is
loaded beside the current one and timed on the same files in the same run (alternating runs),
and the ratio current / baseline is printed, so a change can be compared on one machine at one
time.

Run: ``python experiments/bench_migrate.py [--rows 1000000] [--repeat 3] [--baseline main]``
"""

from __future__ import annotations

import argparse
import importlib.util
import random
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

SETTINGS: dict = tomllib.loads(
    (Path(__file__).resolve().parent / "bench.toml").read_text(encoding="utf-8")
)["bench_migrate"]
"""Defaults of this benchmark (``bench.toml``, ``[bench_migrate]``); command-line options win."""


def _baseline(revision: str):
    """The migrate module of ``revision``, loaded under another name."""
    root = Path(__file__).resolve().parents[1]
    source = subprocess.run(
        ["git", "show", f"{revision}:toolkit/icdbridge/crosswalk/migrate.py"],
        cwd=root,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    folder = Path(tempfile.mkdtemp())
    path = folder / "baseline_migrate.py"
    path.write_text(source, encoding="utf-8")
    spec = importlib.util.spec_from_file_location("baseline_migrate", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["baseline_migrate"] = module
    spec.loader.exec_module(module)
    return module


def _dataset(folder: Path, rows: int, seed: int) -> tuple[Path, Path]:
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    from icdbridge.codes import get_terminology

    icd9 = get_terminology("icd9cm")
    dotted = list(icd9.codes(leaves_only=True))
    pool = dotted + [icd9.to_undotted(code) for code in dotted] + ["", "NULL", "999.99"]
    rng = random.Random(seed)
    codes = rng.choices(pool, k=rows)
    table = pa.table(
        {
            "id": pa.array(range(rows), pa.int64()).cast(pa.string()),
            "dx": codes,
            "note": [f"visit {i % 97}" for i in range(rows)],
        }
    )
    csv_path, parquet_path = folder / "data.csv", folder / "data.parquet"
    pacsv.write_csv(table, csv_path)
    pq.write_table(table, parquet_path)
    return csv_path, parquet_path


def _timed(run) -> float:
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=SETTINGS["rows"], help="rows of the dataset")
    parser.add_argument("--seed", type=int, default=SETTINGS["seed"])
    parser.add_argument(
        "--repeat", type=int, default=SETTINGS["repeat"], help="timed repetitions (best kept)"
    )
    parser.add_argument("--baseline", help="git revision whose migrate module is timed too")
    args = parser.parse_args()

    from icdbridge.crosswalk import get_crosswalk
    from icdbridge.crosswalk import migrate as current

    crosswalk = get_crosswalk("icd9cm", "icd10cm")
    crosswalk.map_many(["038.9"])  # build the lookup tables outside the timings
    baseline = _baseline(args.baseline) if args.baseline else None
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        sources = _dataset(folder, args.rows, args.seed)
        print(f"{args.rows:,} rows, ICD-9-CM → ICD-10-CM, best of {args.repeat}")
        for source in sources:
            out = folder / f"out{source.suffix}"

            def run_current(source=source, out=out) -> None:
                current.migrate(source, out, crosswalk, column="dx", write_report=False)

            def run_old(source=source, out=folder / f"old{source.suffix}") -> None:
                baseline.migrate(source, out, crosswalk, column="dx")

            now, old = [], []
            for _ in range(args.repeat):  # alternated, so drifting machine load hits both
                now.append(_timed(run_current))
                if baseline is not None:
                    old.append(_timed(run_old))
            best = min(now)
            line = f"  {source.suffix[1:]:8} current {best:6.2f} s ({args.rows / best:,.0f} rows/s)"
            if old:
                line += (
                    f"; baseline {args.baseline} {min(old):6.2f} s; "
                    f"current/baseline {best / min(old):.2f}"
                )
            print(line)


if __name__ == "__main__":
    main()
