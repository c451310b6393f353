"""Run the CodiEsp zero-shot experiment and write results.md, results.json and the plot.

    python experiments/codiesp_zeroshot/run.py                      # every row
    python experiments/codiesp_zeroshot/run.py --rows tfidf,cosine,lexical

Rows already in results.json and not rerun are kept, so rows can be (re)computed separately.
See README.md in this folder for the protocol.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from baselines import BASELINE_ROWS  # noqa: E402
from harness import SETTINGS, ExperimentContext, ScoredRun, split_train  # noqa: E402
from metrics import (  # noqa: E402
    BUCKETS,
    mean_ap,
    micro_f1_at_tuned_threshold,
    recall_at_k_by_bucket,
    shortlist_recall,
    train_frequency,
    unseen_candidate_recall,
)

from icdbridge.model.config import DEFAULT_PRECISION, PRECISIONS  # noqa: E402
from icdbridge.outputs import atomic_file, write_text  # noqa: E402

MODEL_ROWS = (
    "model",
    "model_no_hierarchy",
    "model_no_lexical",
    "model_finetuned",
    "model_bce",
    "model_no_original",
    "model_no_gloss_pieces",
    "model_one_network",
    "model_oof_calibration",
    "model_hidden_codes",
    "model_no_index",
    "model_index_terms",
    "model_index_tables",
    "model_no_index_overlap",
    "model_index_aliases",
    "model_no_family_expansion",
    "model_family_expansion_10",
    "model_no_seventh_character_bases",
    "model_finetuned_notes",
    "model_no_index_in_original",
)
ROW_TITLES = {
    "tfidf": "(a) TF-IDF nearest neighbours",
    "cosine": "(b) zero-shot cosine (untuned encoder)",
    "lexical": "(c) lexical channel alone",
    "model": "(d) trained model (3 networks)",
    "model_no_hierarchy": "(e) model without hierarchy component",
    "model_no_lexical": "(f) model without lexical channel",
    "model_finetuned": "(g) model with encoder fine-tuning",
    "model_bce": "(h) model with the BCE loss",
    "model_no_original": "(i) model without the Spanish original",
    "model_no_gloss_pieces": "(j) model without the gloss pieces",
    "model_one_network": "(k) model as one network",
    "model_oof_calibration": "(l) model calibrated out of fold",
    "model_hidden_codes": "(m) model trained with hidden codes",
    "model_no_index": "(n) model without the Index phrases",
    "model_index_terms": "(o) model with the Index terms only (no tables)",
    "model_index_tables": "(p) model with the drug and neoplasm tables only",
    "model_no_index_overlap": "(q) model without the Index word-overlap features",
    "model_index_aliases": "(r) model with the Index paths as label aliases too",
    "model_no_family_expansion": "(s) model without the family expansion of the candidates",
    "model_family_expansion_10": "(t) model with the family expansion of the 10 best codes",
    "model_no_seventh_character_bases": "(u) model without the 7th-character bases",
    "model_finetuned_notes": "(v) model with note-side fine-tuning on annotated mentions",
    "model_no_index_in_original": "(w) model without the Index in the Spanish original",
}
ALL_ROWS = tuple(ROW_TITLES)


def evaluate(run: ScoredRun, ctx: ExperimentContext, frequency) -> dict:
    """All columns of one row."""
    gold = [set(d.codes) for d in ctx.dev_docs]
    tune_gold = [set(d.codes) for d in ctx.tune_docs]
    result = {
        "map": mean_ap(gold, run.dev_scores),
        "micro": micro_f1_at_tuned_threshold(tune_gold, run.tune_scores, gold, run.dev_scores),
        "recall_by_bucket": recall_at_k_by_bucket(gold, run.dev_scores, frequency),
        "shortlist_recall": (
            shortlist_recall(run.shortlist, gold) if run.shortlist is not None else None
        ),
        "unseen_candidate_recall": (
            unseen_candidate_recall(run.shortlist, gold, frequency)
            if run.shortlist is not None
            else None
        ),
        "shortlist_size": (
            sum(len(s) for s in run.shortlist) / len(run.shortlist) if run.shortlist else None
        ),
        # the same on the tune slice (buckets by fit-split frequency): what choices may look at
        "tune": {
            "map": mean_ap(tune_gold, run.tune_scores),
            "recall_by_bucket": recall_at_k_by_bucket(
                tune_gold, run.tune_scores, train_frequency(ctx.fit_docs)
            ),
        },
        "train_seconds": run.train_seconds,
        "predict_docs_per_s": len(ctx.dev_docs) / run.predict_seconds
        if run.predict_seconds > 0
        else float("inf"),
        "notes": run.notes,
    }
    if run.operating_points:
        fit_frequency = train_frequency(ctx.fit_docs)
        result["operating_points"] = {
            name: {
                "tune_map": mean_ap(tune_gold, tune_scores),
                "tune_recall_by_bucket": recall_at_k_by_bucket(
                    tune_gold, tune_scores, fit_frequency
                ),
                "map": mean_ap(gold, dev_scores),
                "recall_by_bucket": recall_at_k_by_bucket(gold, dev_scores, frequency),
            }
            for name, (tune_scores, dev_scores) in run.operating_points.items()
        }
    return result


def fmt(x, digits: int = 3) -> str:
    if x is None:
        return "–"
    if isinstance(x, float) and x != x:
        return "n/a"
    return f"{x:.{digits}f}"


def write_markdown(path: Path, results: dict, meta: dict) -> None:
    lines = [
        "# CodiEsp-D dev, full ICD-10-CM 2026 label space",
        "",
        f"Each row was produced by the command listed with it under Notes (seed {meta['seed']}, "
        f"{meta['torch_threads']} torch threads); protocol in README.md. Metrics: MAP and the "
        "tuned threshold from `icdbridge.eval`; "
        "bucket recall@k from `icdbridge.eval.buckets` (micro over gold pairs, as "
        "`icdbridge evaluate --train-gold` reports it).",
        "",
        f"- dev: {meta['n_dev']} documents, {meta['n_dev_pairs']} gold pairs; fit "
        f"{meta['n_fit']} / tune {meta['n_tune']} train documents",
        f"- label space: {meta['n_labels']} codes (all {meta['n_release']} codes of ICD-10-CM "
        f"2026, {meta['n_leaves']} of them billable leaves, + "
        f"{meta['n_labels'] - meta['n_release']} train gold codes the release does not define)",
        f"- dev gold pairs outside the label space: {meta['n_unreachable']} "
        f"({meta['unreachable_codes']}); with the {meta.get('n_bases', '?')} 7th-character "
        f"bases of the release (PipelineConfig.seventh_character_bases, rows whose settings "
        f"have them): {meta.get('n_unreachable_with_bases', '?')}",
        "- dev gold pairs by bucket: "
        + ", ".join(f"{b} {meta['bucket_pairs'][b]}" for b in BUCKETS),
        "",
        "| row | MAP | micro-F1 (P/R) | unseen R@10/20/50 | few-shot R@10/20/50 | "
        "frequent R@10/20/50 | shortlist recall (K) | unseen ceiling | train s | predict docs/s |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name in ALL_ROWS:
        if name not in results:
            continue
        r = results[name]
        buckets = []
        for b in BUCKETS:
            rb = r["recall_by_bucket"][b]
            buckets.append("/".join(fmt(rb[f"recall@{k}"], 2) for k in (10, 20, 50)))
        shortlist = (
            f"{fmt(r['shortlist_recall'])} ({r['shortlist_size']:.0f})"
            if r["shortlist_recall"] is not None
            else "–"
        )
        ceiling = fmt(r.get("unseen_candidate_recall"))
        micro = r["micro"]
        lines.append(
            f"| {ROW_TITLES[name]} | {fmt(r['map'])} | {fmt(micro['f1'])} "
            f"({fmt(micro['precision'], 2)}/{fmt(micro['recall'], 2)}) | "
            + " | ".join(buckets)
            + f" | {shortlist} | {ceiling} | {r['train_seconds']:.0f}"
            + f" | {r['predict_docs_per_s']:.1f} |"
        )
    lines += default_operating_points(results.get("model", {}))
    lines += operating_point_table(results)
    lines += ["", "Notes:", ""]
    for name in ALL_ROWS:
        if name in results and results[name].get("notes"):
            row = results[name]
            lines.append(
                f"- {ROW_TITLES[name]}: {row['notes']} — `{row.get('command', '?')}` "
                f"(encoder precision {row.get('precision', '?')})"
            )
    write_text(path, "\n".join(lines) + "\n")


def default_operating_points(row: dict) -> list[str]:
    """Row (d) at each calibration objective, with its tune and dev scores in detail."""
    points = row.get("operating_points")
    if not points:
        return []
    lines = [
        "",
        f"Operating points of {ROW_TITLES['model']}: the unseen-code calibration refitted on "
        "the tune slice with each validation-MAP tolerance (the grid point with the best "
        "tune unseen R@20 among those within the tolerance of the best tune MAP), scored on "
        "dev:",
        "",
        "| calibration | tune MAP | tune unseen R@20 | dev MAP | dev unseen R@10/20/50 | "
        "dev few-shot R@20 | dev frequent R@20 |",
        "|---|---|---|---|---|---|---|",
    ]
    for label, point in points.items():
        unseen = point["recall_by_bucket"]["unseen"]
        lines.append(
            f"| {label} | {fmt(point['tune_map'])} | "
            f"{fmt(point['tune_recall_by_bucket']['unseen']['recall@20'], 2)} | "
            f"{fmt(point['map'])} | "
            + "/".join(fmt(unseen[f"recall@{k}"], 2) for k in (10, 20, 50))
            + f" | {fmt(point['recall_by_bucket']['few-shot']['recall@20'], 2)} | "
            f"{fmt(point['recall_by_bucket']['frequent']['recall@20'], 2)} |"
        )
    return lines


def operating_point_table(results: dict) -> list[str]:
    """Every model row with operating points, scored on dev at each calibration objective."""
    names = [n for n in ALL_ROWS if results.get(n, {}).get("operating_points")]
    if not names:
        return []
    labels = list(results[names[0]]["operating_points"])
    lines = [
        "",
        "Every model row at each calibration objective, each refitted on the tune slice (dev MAP "
        "/ dev unseen R@20; a row run before the objectives were recorded for every row is "
        "left out): rows compare at one objective, not only at the default one.",
        "",
        "| row | " + " | ".join(labels) + " |",
        "|---|" + "---|" * len(labels),
    ]
    for name in names:
        points = results[name]["operating_points"]
        cells = [
            f"{fmt(points[label]['map'])} / "
            f"{fmt(points[label]['recall_by_bucket']['unseen']['recall@20'])}"
            if label in points
            else "–"
            for label in labels
        ]
        lines.append(f"| {ROW_TITLES[name]} | " + " | ".join(cells) + " |")
    return lines


def write_plot(path: Path, results: dict) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(13, 4), sharey=True)
    for ax, bucket in zip(axes, BUCKETS, strict=True):
        for name in ALL_ROWS:
            if name not in results:
                continue
            rb = results[name]["recall_by_bucket"][bucket]
            ks = sorted(int(k.split("@")[1]) for k in rb if k.startswith("recall@"))
            ax.plot(ks, [rb[f"recall@{k}"] for k in ks], marker="o", label=ROW_TITLES[name])
        n = next(iter(results.values()))["recall_by_bucket"][bucket]["n"]
        ax.set_title(f"{bucket} codes ({n} dev gold pairs)")
        ax.set_xscale("log")
        ax.set_xlabel("k")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("recall@k (micro)")
    axes[-1].legend(fontsize=7, loc="lower right")
    fig.suptitle("CodiEsp-D dev, full ICD-10-CM 2026 label space")
    fig.tight_layout()
    with atomic_file(path) as temp:
        fig.savefig(temp, dpi=120, format="png")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", default=",".join(ALL_ROWS), help="comma-separated rows")
    parser.add_argument("--seed", type=int, default=SETTINGS["protocol"]["seed"])
    parser.add_argument("--fast", action="store_true", help="quick smoke run (model rows)")
    parser.add_argument(
        "--threads", type=int, default=SETTINGS["protocol"]["torch_threads"], help="torch threads"
    )
    parser.add_argument("--out", type=Path, default=HERE, help="output folder")
    parser.add_argument(
        "--precision",
        choices=PRECISIONS,
        default=DEFAULT_PRECISION,
        help="encoder inference precision (library default; auto: bf16 autocast on CPUs with "
        "AMX/AVX512-BF16)",
    )
    args = parser.parse_args(argv)

    import torch

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    from icdbridge.codes.bases import seventh_character_bases
    from icdbridge.data import load_codiesp
    from icdbridge.environment import software_environment

    rows = [r.strip() for r in args.rows.split(",") if r.strip()]
    unknown = [r for r in rows if r not in ALL_ROWS]
    if unknown:
        parser.error(f"unknown rows {unknown} (known: {', '.join(ALL_ROWS)})")
    train = load_codiesp(split="train")
    dev = load_codiesp(split="dev")
    fit, tune = split_train(train, args.seed)
    ctx = ExperimentContext.for_codiesp(
        train,
        fit=fit,
        tune=tune,
        dev=dev,
        seed=args.seed,
        fast=args.fast,
        precision=args.precision,
        out_dir=args.out,
    )
    frequency = train_frequency(train)
    labels = ctx.label_codes
    label_set = set(labels)
    unreachable = [c for d in dev for c in set(d.codes) if c not in label_set]
    bases = set(seventh_character_bases(ctx.terminology))
    gold_pairs = recall_at_k_by_bucket([set(d.codes) for d in dev], [{} for _ in dev], frequency)
    meta = {
        "seed": args.seed,
        "n_dev": len(dev),
        "n_fit": len(fit),
        "n_tune": len(tune),
        "n_dev_pairs": sum(len(set(d.codes)) for d in dev),
        "n_labels": len(labels),
        "n_leaves": len(ctx.terminology.codes(leaves_only=True)),
        "n_release": len(ctx.terminology.codes()),
        "n_unreachable": len(unreachable),
        "unreachable_codes": ", ".join(sorted(set(unreachable))[:8])
        + (" ..." if len(set(unreachable)) > 8 else ""),
        "n_bases": len(bases),
        "n_unreachable_with_bases": sum(c not in bases for c in unreachable),
        "bucket_pairs": {b: gold_pairs[b]["n"] for b in BUCKETS},
        "torch_threads": args.threads,
        "precision": args.precision,
        "command": "python experiments/codiesp_zeroshot/run.py " + " ".join(argv or sys.argv[1:]),
    }

    results_path = args.out / "results.json"
    stored = json.loads(results_path.read_text()) if results_path.exists() else {}
    results = stored.get("rows", {})
    runs: dict[str, ScoredRun] = {}
    environment = software_environment()  # per row: rows of one file may come from other runs
    for name in rows:
        if name in BASELINE_ROWS:
            t0 = time.perf_counter()
            runs[name] = BASELINE_ROWS[name](ctx)
            print(f"{name}: done in {time.perf_counter() - t0:.0f}s", flush=True)
    wanted_model_rows = [r for r in rows if r in MODEL_ROWS]
    if wanted_model_rows:
        if not (HERE / "model_rows.py").exists():
            print(f"skipping {wanted_model_rows}: model_rows.py not present", flush=True)
        else:
            from model_rows import run_model_rows

            runs.update(run_model_rows(ctx, wanted_model_rows))
    for name, run in runs.items():
        results[name] = evaluate(run, ctx, frequency)
        results[name]["command"] = meta["command"].strip()
        results[name]["precision"] = args.precision
        results[name]["environment"] = environment
        tune = results[name]["tune"]
        print(
            name,
            f"MAP {results[name]['map']:.3f}; tune MAP {tune['map']:.3f}, tune unseen R@20 "
            f"{tune['recall_by_bucket']['unseen']['recall@20']:.3f}",
            flush=True,
        )
    args.out.mkdir(parents=True, exist_ok=True)
    write_text(results_path, json.dumps({"meta": meta, "rows": results}, indent=2) + "\n")
    write_markdown(args.out / "results.md", results, meta)
    write_plot(args.out / "recall_at_k_by_bucket.png", results)
    print((args.out / "results.md").read_text())


if __name__ == "__main__":
    main()
