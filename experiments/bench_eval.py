"""Benchmark: sparse CoPHE report vs a dense NumPy implementation shaped like the reference.

20,000 documents × 8,000 ICD-9 codes of the CoPHE hierarchy (about 15 gold codes per document,
seeded), compat mode, the full report (every level, count-based and set-based, micro and
macro, overall). The anchor, written here, follows the reference implementation's shape:
dense 0/1 document × code matrices multiplied by dense code × ancestor translation matrices,
then ``np.minimum`` / ``np.maximum`` on dense level matrices (processed in document chunks to
bound memory; float32 is exact for these small integer counts). Both are timed in the same run;
the script asserts that every number is identical and prints the speed ratio.

Usage:
    python experiments/bench_eval.py [--docs 20000] [--codes 8000] [--per-doc 15] [--seed 0]
"""

from __future__ import annotations

import argparse
import time
import tomllib
from pathlib import Path

import numpy as np

from icdbridge.eval.cophe import SUMMARY_KEYS, CopheMetrics, compat_plan
from icdbridge.eval.hierarchy import CopheHierarchy
from icdbridge.paths import data_dir

SETTINGS: dict = tomllib.loads(
    (Path(__file__).resolve().parent / "bench.toml").read_text(encoding="utf-8")
)["bench_eval"]
"""Defaults of this benchmark (``bench.toml``, ``[bench_eval]``); command-line options win."""


def make_data(hierarchy: CopheHierarchy, n_docs: int, n_codes: int, per_doc: float, seed: int):
    """Seeded label space, gold sets and predictions (≈60 % of gold kept, ≈40 % siblings/noise)."""
    rng = np.random.default_rng(seed)
    candidates = sorted(c for c in hierarchy.parents if "-" not in c and c != "@")
    codes = sorted(rng.choice(candidates, size=n_codes, replace=False).tolist())
    popularity = rng.zipf(1.3, size=n_codes).astype(np.float64)
    popularity /= popularity.sum()
    gold, pred = [], []
    for _ in range(n_docs):
        k = max(1, int(rng.poisson(per_doc)))
        g = set(rng.choice(n_codes, size=min(k, n_codes), replace=False, p=popularity).tolist())
        keep = {j for j in g if rng.random() < 0.6}
        noise = set(rng.integers(0, n_codes, size=int(rng.poisson(per_doc * 0.4))).tolist())
        gold.append({codes[j] for j in g})
        pred.append({codes[j] for j in keep | noise})
    return codes, gold, pred


def sparse_report(hierarchy, codes, gold, pred) -> dict:
    metric = CopheMetrics(hierarchy, mode="compat", label_space=codes)
    metric.update(gold, pred)
    return metric.compute()


def _dense_summary(tp, fp, fn) -> dict:
    total = {"tp": int(tp.sum()), "fp": int(fp.sum()), "fn": int(fn.sum())}
    p_col = np.divide(tp, tp + fp, out=np.zeros(len(tp)), where=(tp + fp) > 0)
    r_col = np.divide(tp, tp + fn, out=np.zeros(len(tp)), where=(tp + fn) > 0)
    micro_p = total["tp"] / (total["tp"] + total["fp"]) if total["tp"] + total["fp"] else 0.0
    micro_r = total["tp"] / (total["tp"] + total["fn"]) if total["tp"] + total["fn"] else 0.0
    macro_p, macro_r = float(p_col.mean()), float(r_col.mean())
    return {
        **total,
        "micro_precision": micro_p,
        "micro_recall": micro_r,
        "micro_f1": 2 * micro_p * micro_r / (micro_p + micro_r) if micro_p + micro_r else 0.0,
        "macro_precision": macro_p,
        "macro_recall": macro_r,
        "macro_f1": 2 * macro_p * macro_r / (macro_p + macro_r) if macro_p + macro_r else 0.0,
    }


def dense_report(hierarchy, codes, gold, pred, chunk: int = 1000) -> dict:
    """The anchor: dense matrices and dense products, the reference's shape."""
    plan = compat_plan(codes, hierarchy)
    translations = [level.matrix.toarray().astype(np.float32) for level in plan.levels]
    index = {c: i for i, c in enumerate(codes)}
    sums = {
        v: [[np.zeros(t.shape[1], dtype=np.int64) for _ in range(3)] for t in translations]
        for v in ("count", "set")
    }
    for start in range(0, len(gold), chunk):
        g_dense = np.zeros((min(chunk, len(gold) - start), len(codes)), dtype=np.float32)
        p_dense = np.zeros_like(g_dense)
        for row, (g, p) in enumerate(
            zip(gold[start : start + chunk], pred[start : start + chunk], strict=True)
        ):
            g_dense[row, [index[c] for c in g]] = 1
            p_dense[row, [index[c] for c in p]] = 1
        for i, translation in enumerate(translations):
            parent_gold = g_dense.dot(translation)
            parent_pred = p_dense.dot(translation)
            for variant in ("count", "set"):
                if variant == "set":
                    parent_gold = (parent_gold > 0).astype(np.float32)
                    parent_pred = (parent_pred > 0).astype(np.float32)
                acc = sums[variant][i]
                acc[0] += np.sum(np.minimum(parent_pred, parent_gold), axis=0).astype(np.int64)
                acc[1] += np.sum(np.maximum(parent_pred - parent_gold, 0), axis=0).astype(np.int64)
                acc[2] += np.sum(np.maximum(parent_gold - parent_pred, 0), axis=0).astype(np.int64)
    out: dict = {"levels": {}}
    for i, level in enumerate(plan.levels):
        entry = _dense_summary(*sums["count"][i])
        entry["set_based"] = _dense_summary(*sums["set"][i])
        out["levels"][level.name] = entry
    out["overall"] = _dense_summary(
        *(np.concatenate([s[j] for s in sums["count"]]) for j in range(3))
    )
    out["overall"]["set_based"] = _dense_summary(
        *(np.concatenate([s[j] for s in sums["set"]]) for j in range(3))
    )
    return out


def _same(fast: dict, slow: dict) -> None:
    pairs = [(fast["overall"], slow["overall"])]
    pairs += [(fast["levels"][n], slow["levels"][n]) for n in slow["levels"]]
    for a, b in pairs:
        for variant_a, variant_b in ((a, b), (a["set_based"], b["set_based"])):
            for key in SUMMARY_KEYS:
                assert np.isclose(variant_a[key], variant_b[key], rtol=0, atol=1e-12), key


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=SETTINGS["docs"])
    parser.add_argument("--codes", type=int, default=SETTINGS["codes"])
    parser.add_argument("--per-doc", type=float, default=SETTINGS["per_doc"])
    parser.add_argument("--seed", type=int, default=SETTINGS["seed"])
    args = parser.parse_args()
    hierarchy = CopheHierarchy.from_file(data_dir() / "cophe-icd9" / "icd9_graph_desc.json")
    codes, gold, pred = make_data(hierarchy, args.docs, args.codes, args.per_doc, args.seed)
    n_gold = sum(len(g) for g in gold)
    print(
        f"{args.docs} documents × {len(codes)} codes, {n_gold / args.docs:.1f} gold and "
        f"{sum(len(p) for p in pred) / args.docs:.1f} predicted codes per document"
    )
    start = time.perf_counter()
    fast = sparse_report(hierarchy, codes, gold, pred)
    t_fast = time.perf_counter() - start
    start = time.perf_counter()
    slow = dense_report(hierarchy, codes, gold, pred)
    t_slow = time.perf_counter() - start
    _same(fast, slow)
    print("levels:", {n: fast["levels"][n]["n_columns"] for n in fast["levels"]})
    print(
        f"overall micro F1 {fast['overall']['micro_f1']:.6f}, "
        f"macro F1 {fast['overall']['macro_f1']:.6f} (identical in both implementations)"
    )
    print(
        f"sparse icdbridge: {t_fast:.3f} s; dense NumPy anchor: {t_slow:.3f} s; "
        f"speed-up {t_slow / t_fast:.1f}×"
    )


if __name__ == "__main__":
    main()
