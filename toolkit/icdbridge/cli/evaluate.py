"""`icdbridge evaluate`: flat, ranking, frequency-bucket and CoPHE metrics of predictions."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from icdbridge.eval.buckets import DEFAULT_BOUNDARIES


def evaluate_command(
    gold: Annotated[Path, typer.Option(help="Gold codes: JSONL {id, codes} or TSV id<TAB>code.")],
    pred: Annotated[
        list[Path],
        typer.Option(
            help="Predictions: JSONL {id, codes} / {id, scores}, or TSV id<TAB>code[<TAB>score]. "
            "Repeat --pred to compare runs side by side (the first is the reference).",
            metavar="FILE",
        ),
    ],
    out: Annotated[Path, typer.Option(help="Output folder (metrics.json, report.md, plots).")],
    names: Annotated[
        str | None,
        typer.Option(
            help="Comparison: comma-separated run names, one per --pred (default: file names)."
        ),
    ] = None,
    system: Annotated[
        str | None, typer.Option(help="Code system: icd9cm, icd10cm, icd10who, icd11.")
    ] = None,
    hierarchy: Annotated[
        Path | None,
        typer.Option(
            help="Hierarchy file instead of --system: CoPHE JSON or a plain hierarchy file."
        ),
    ] = None,
    train_gold: Annotated[
        Path | None,
        typer.Option(help="Training gold codes, for unseen / few-shot / frequent buckets."),
    ] = None,
    unseen_max: Annotated[
        int,
        typer.Option(
            help="Frequency buckets: codes in at most this many training documents are unseen."
        ),
    ] = DEFAULT_BOUNDARIES.unseen_max,
    few_shot_max: Annotated[
        int,
        typer.Option(
            help="Frequency buckets: codes in up to this many training documents (and more "
            "than --unseen-max) are few-shot; more are frequent."
        ),
    ] = DEFAULT_BOUNDARIES.few_shot_max,
    tune_threshold_on: Annotated[
        Path | None,
        typer.Option(
            help="Scored validation predictions to tune the threshold on (never the test set)."
        ),
    ] = None,
    dev_gold: Annotated[Path | None, typer.Option(help="Validation gold codes.")] = None,
    threshold_mode: Annotated[str, typer.Option(help="global or per_code.")] = "global",
    label_space: Annotated[
        Path | None, typer.Option(help="One code per line: the CoPHE columns / AUC label space.")
    ] = None,
    cophe_mode: Annotated[
        str, typer.Option(help="compat (reference implementation, CoPHE JSON) or default.")
    ] = "default",
    bootstrap: Annotated[
        int, typer.Option(help="Bootstrap resamples for 95% CIs (0: off).")
    ] = 1000,
    seed: Annotated[int, typer.Option(help="Bootstrap seed.")] = 0,
    gold_system: Annotated[
        str | None,
        typer.Option(
            help="Cross-system: code system of the gold (and training / validation gold) files."
        ),
    ] = None,
    pred_system: Annotated[
        str | None,
        typer.Option(
            help="Cross-system: code system of the prediction files; in a comparison, one per "
            "--pred, comma-separated (e.g. icd9cm,icd10cm), or one for all."
        ),
    ] = None,
    common: Annotated[
        str | None,
        typer.Option(
            help="Cross-system: the system both sides are mapped into (default: gold system)."
        ),
    ] = None,
    map_policy: Annotated[
        str, typer.Option(help="Cross-system crosswalk policy: best, all or exact.")
    ] = "best",
) -> None:
    """Evaluate predictions against gold codes and write metrics.json, report.md and plots.

    Documents missing from the predictions count as empty predictions; predictions for unknown documents are ignored; invalid codes are reported with their file and line.

    Metrics: flat micro/macro P/R/F1, exact match, Jaccard; MAP (CodiEsp definition too), P@k, R@k, R-precision, AUC-PR/ROC, coverage error; with --train-gold, unseen / few-shot / frequent buckets (micro recall@k over the bucket's gold pairs, as the experiments report it, and per-bucket flat and ranking metrics); CoPHE hierarchical metrics; bootstrap 95 % CIs.

    Examples:

    icdbridge evaluate --gold dev.jsonl --pred pred.jsonl --system icd10cm --train-gold train.jsonl --out eval/

    icdbridge evaluate --gold g.tsv --pred p.tsv --hierarchy icd9_graph_desc.json --cophe-mode compat --out eval/

    icdbridge evaluate --gold g9.jsonl --pred p10.jsonl --gold-system icd9cm --pred-system icd10cm --common icd10who --out eval/

    Comparison (one report, runs side by side per CoPHE level, frequency bucket and chapter, with comparison.png):

    icdbridge evaluate --gold g9.jsonl --pred in_domain.jsonl --pred transferred.jsonl --names in-domain,transferred --gold-system icd9cm --pred-system icd9cm,icd10cm --train-gold train9.jsonl --out compare/
    """  # noqa: E501
    from rich.console import Console
    from rich.table import Table

    from icdbridge.cli.progress import spinner
    from icdbridge.errors import IcdbridgeError
    from icdbridge.eval import BucketBoundaries, check_output_folder, evaluate_files, write_outputs

    inputs = [gold, *pred, hierarchy, train_gold, tune_threshold_on, dev_gold, label_space]
    check_output_folder(out, inputs)  # before any work: a bad --out costs nothing
    compare = len(pred) > 1
    run_names = None if names is None else [n.strip() for n in names.split(",")]
    if run_names is not None and not compare:
        raise IcdbridgeError("--names names the runs of a comparison: give two or more --pred")
    if compare and run_names is not None and len(run_names) != len(pred):
        raise IcdbridgeError(
            f"--names gives {len(run_names)} names for {len(pred)} --pred files; give one per file"
        )
    if compare and tune_threshold_on is not None:
        raise IcdbridgeError(
            "--tune-threshold-on tunes one run's threshold; compare runs without it (each run's "
            "flat metrics then use its own chosen codes or the default threshold)"
        )
    pred_systems = None if pred_system is None else [x.strip() for x in pred_system.split(",")]
    if pred_systems is not None and len(pred_systems) not in (1, len(pred)):
        raise IcdbridgeError(
            f"--pred-system gives {len(pred_systems)} systems for {len(pred)} --pred files; give "
            "one per file or one for all"
        )
    if pred_systems is not None and len(pred_systems) == 1:
        pred_systems = pred_systems * len(pred)
    if pred_systems is not None and not compare:
        pred_system = pred_systems[0]
    if tune_threshold_on is not None and dev_gold is None:
        raise IcdbridgeError("--tune-threshold-on needs --dev-gold (validation gold codes)")
    if (gold_system or pred_system) and hierarchy is not None:
        raise IcdbridgeError(
            "--gold-system/--pred-system work with registry systems, not --hierarchy"
        )
    if (gold_system or pred_system) and not ((gold_system or system) and (pred_system or system)):
        raise IcdbridgeError(
            "cross-system evaluation needs both --gold-system and --pred-system (or --system for "
            "the missing one)"
        )
    try:
        boundaries = BucketBoundaries(unseen_max=unseen_max, few_shot_max=few_shot_max)
    except IcdbridgeError as error:
        raise IcdbridgeError(
            f"--unseen-max {unseen_max} / --few-shot-max {few_shot_max}: {error}"
        ) from None
    options = {
        "system": system,
        "hierarchy": hierarchy,
        "train_gold": train_gold,
        "label_space": label_space,
        "cophe_mode": cophe_mode,
        "bootstrap": bootstrap,
        "seed": seed,
        "gold_system": gold_system,
        "common": common,
        "map_policy": map_policy,
        "boundaries": boundaries,
    }
    if compare:
        _compare(gold, pred, run_names, pred_systems, options, out)
        return
    with spinner("evaluating ..."):
        result = evaluate_files(
            gold,
            pred[0],
            system=system,
            hierarchy=hierarchy,
            train_gold=train_gold,
            tune_threshold_on=tune_threshold_on,
            dev_gold=dev_gold,
            threshold_mode=threshold_mode,
            label_space=label_space,
            cophe_mode=cophe_mode,
            bootstrap=bootstrap,
            seed=seed,
            gold_system=gold_system,
            pred_system=pred_system,
            common=common,
            map_policy=map_policy,
            boundaries=boundaries,
        )
    paths = write_outputs(result, out)
    table = Table(title=f"icdbridge evaluate — {result['inputs']['n_documents']} documents")
    table.add_column("metric")
    table.add_column("value", justify="right")
    table.add_column("95% CI", justify="right")

    def row(name: str, entry: dict, empty: bool = False) -> None:
        if empty:
            table.add_row(name, "no codes", "")
            return
        value = entry.get("value")
        ci = entry.get("ci95")
        table.add_row(
            name, "–" if value is None else f"{value:.4f}", f"{ci[0]:.4f}–{ci[1]:.4f}" if ci else ""
        )

    for key in (
        "micro_precision",
        "micro_recall",
        "micro_f1",
        "macro_f1",
        "exact_match",
        "jaccard",
    ):
        row(f"flat {key}", result["flat"][key])
    for key in ("map", "recall@8", "recall@15", "precision@8", "auc_pr_micro", "auc_roc_macro"):
        row(key, result["ranking"][key])
    if "cophe" in result:
        row(
            f"CoPHE overall micro_f1 ({result['cophe']['mode']})",
            result["cophe"]["overall"]["micro_f1"],
        )
    for name, bucket in result.get("by_frequency", {}).items():
        n_gold = bucket["n_codes"]["value"]
        row(f"{name} recall@8 ({n_gold} gold codes)", bucket["recall@8"], empty=not n_gold)
    for name, bucket in result.get("recall_at_k_by_bucket", {}).items():
        n_pairs = bucket["n_gold_pairs"]["value"]
        if "recall@20" in bucket:
            row(
                f"{name} micro recall@20 ({n_pairs} gold pairs)",
                bucket["recall@20"],
                empty=not n_pairs,
            )
    console = Console()
    console.print(table)
    issues = {
        p: f["issue_counts"] for p, f in result["inputs"]["files"].items() if f["issue_counts"]
    }
    for path, counts in issues.items():
        console.print(f"[yellow]input issues[/yellow] {path}: {counts} (see report.md)")
    inputs = result["inputs"]
    if inputs["n_documents_without_predictions"]:
        console.print(
            f"{inputs['n_documents_without_predictions']} gold documents without "
            "predictions (counted as empty)"
        )
    if inputs["n_predicted_documents_not_in_gold"]:
        console.print(
            f"{inputs['n_predicted_documents_not_in_gold']} predicted documents not in "
            "gold (ignored)"
        )
    cross = inputs.get("cross_system")
    if cross:
        for path, report in cross["mapping"].items():
            console.print(
                f"mapped {path} {report['from']} → {report['to']} ({report['policy']}): "
                f"codes by outcome {report['codes_by_outcome']}"
            )
    decision = result["inputs"].get("flat_decision")
    if decision in ("model codes", "default threshold"):
        from icdbridge.eval.evaluate import FLAT_DECISIONS

        console.print(f"flat metrics use {FLAT_DECISIONS[decision]}")
    console.print("wrote " + ", ".join(str(p) for p in paths))


def _compare(
    gold: Path,
    preds: list[Path],
    names: list[str] | None,
    pred_systems: list[str] | None,
    options: dict,
    out: Path,
) -> None:
    """``--pred`` given several times: evaluate each run, write one side-by-side report."""
    from rich.console import Console
    from rich.table import Table

    from icdbridge.cli.progress import spinner
    from icdbridge.eval.compare import compare_files, write_comparison

    with spinner(f"evaluating {len(preds)} runs ..."):
        comparison, _ = compare_files(gold, preds, names, pred_systems=pred_systems, **options)
    paths = write_comparison(comparison, out)
    table = Table(title=f"icdbridge evaluate — {len(preds)} runs compared")
    table.add_column("metric")
    for name in comparison.names:
        table.add_column(name, justify="right")

    def add(label: str, cells: dict) -> None:
        table.add_row(
            label,
            *("–" if cells[n] is None else f"{cells[n]:.4f}" for n in comparison.names),
        )

    headline = comparison.tables["headline"]
    add("flat micro_f1", headline["flat"]["micro_f1"])
    add("map", headline["ranking"]["map"])
    for level, cells in comparison.tables.get("cophe_levels", {}).items():
        add(f"CoPHE {level} micro_f1", cells["micro_f1"])
    key = f"recall@{comparison.k}"
    for bucket, cells in comparison.tables.get("frequency_buckets", {}).items():
        if key in cells:
            add(f"{bucket} micro {key}", cells[key])
    console = Console()
    console.print(table)
    console.print("wrote " + ", ".join(str(p) for p in paths))
