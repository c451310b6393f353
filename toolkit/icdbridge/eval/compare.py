"""Several prediction runs on the same gold, side by side: where does a transferred model lose?

:func:`compare_runs` lines up evaluations (:func:`~icdbridge.eval.evaluate` results, one per
run, the first being the reference) in four tables, each holding, per row, every run's value:

* ``headline``: flat micro P / R / F1, MAP and recall@k;
* ``cophe_levels``: CoPHE micro P / R / F1 per level, from the code up to the chapter, and
  overall — a run that loses at ``code`` but not at ``category`` or ``block`` picks the wrong
  code of the right family;
* ``frequency_buckets`` (with training gold): micro recall@k per bucket (unseen / few-shot /
  frequent, :func:`~icdbridge.eval.buckets.recall_at_k_by_bucket`);
* ``chapters`` (with a hierarchy): flat micro P / R / F1 per chapter.

A value is ``None`` where a run has no such row (e.g. a CoPHE level none of its codes reaches:
nothing there to count). :func:`compare_files` evaluates prediction files and compares them
(``icdbridge evaluate --pred A --pred B --names a,b``); :func:`write_comparison` writes
``metrics.json`` (the tables and each run's full metrics), ``report.md`` (the tables with each
run's difference from the reference) and ``comparison.png``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from os import PathLike
from pathlib import Path
from typing import Any

from icdbridge.errors import IcdbridgeError
from icdbridge.eval.buckets import BUCKETS
from icdbridge.eval.result import EvaluationResult, public_part
from icdbridge.outputs import atomic_dir, dumps_json

COMPARISON_SCHEMA_VERSION = 1
"""Version of the comparison ``metrics.json`` schema (``docs/evaluation.md``)."""

PRF = ("micro_precision", "micro_recall", "micro_f1")
HEADLINE_RECALL_K = 20
"""The k of the recall@k that the plot and the headline table show when it was computed."""


@dataclass
class RunComparison:
    """The result of :func:`compare_runs`.

    Attributes:
        names: the run names; the first is the reference the report's differences are from.
        tables: table → row → metric → run name → value (``None`` where the run has no row).
        results: run name → its full evaluation (``metrics.json`` dictionary).
        k: the recall@k the plot shows.
    """

    names: list[str]
    tables: dict[str, dict[str, dict[str, dict[str, float | int | None]]]]
    results: dict[str, dict[str, Any]]
    k: int | None

    def to_json(self) -> dict[str, Any]:
        """The comparison ``metrics.json``: schema version, runs, tables, each run's metrics."""
        return {
            "schema_version": COMPARISON_SCHEMA_VERSION,
            "runs": self.names,
            "reference": self.names[0],
            "recall_k_shown": self.k,
            "tables": self.tables,
            "run_metrics": self.results,
        }


def _value(entry: Any) -> float | int | None:
    if isinstance(entry, Mapping):
        return entry.get("value")
    return entry


def _merged_order(orders: Sequence[Sequence[str]]) -> list[str]:
    """Union of several orderings, each new name placed after its predecessor in its own run.

    Example:
        >>> _merged_order([["code", "4-character", "category"], ["code", "5-character",
        ...                "4-character", "category"]])
        ['code', '5-character', '4-character', 'category']
    """
    merged: list[str] = []
    for order in orders:
        previous = None
        for name in order:
            if name not in merged:
                at = 0 if previous is None else merged.index(previous) + 1
                merged.insert(at, name)
            previous = name
    return merged


def _table(
    names: Sequence[str],
    sections: Mapping[str, Mapping[str, Any] | None],
    metrics: Sequence[str],
    rows: Sequence[str],
) -> dict[str, dict[str, dict[str, float | int | None]]]:
    table: dict[str, dict[str, dict[str, float | int | None]]] = {}
    for row in rows:
        table[row] = {}
        for metric in metrics:
            table[row][metric] = {}
            for name in names:
                section = sections.get(name) or {}
                entry = section.get(row)
                table[row][metric][name] = None if entry is None else _value(entry.get(metric))
    return table


def compare_runs(results: Mapping[str, Mapping[str, Any]], k: int | None = None) -> RunComparison:
    """Side-by-side tables of several evaluations of the same gold (see the module docstring).

    Args:
        results: run name → its :func:`~icdbridge.eval.evaluate` result (an
            :class:`~icdbridge.eval.result.EvaluationResult` or its ``metrics.json``
            dictionary), in order; the first run is the reference.
        k: the recall@k the plot shows (``None``: 20 when computed, else the largest k).

    Raises:
        IcdbridgeError: fewer than two runs, or runs evaluated on different gold codes.

    Example:
        >>> from icdbridge.eval import evaluate
        >>> gold = {"d1": {"A", "B"}}
        >>> c = compare_runs({"a": evaluate(gold, {"d1": ["A", "B"]}, bootstrap=0),
        ...                   "b": evaluate(gold, {"d1": ["A"]}, bootstrap=0)})
        >>> c.tables["headline"]["flat"]["micro_recall"]
        {'a': 1.0, 'b': 0.5}
    """
    names = list(results)
    if len(names) < 2:
        raise IcdbridgeError(f"a comparison needs at least two runs, got {len(names)}")
    metrics = {name: public_part(result) for name, result in results.items()}
    reference = metrics[names[0]]["inputs"]
    for name in names[1:]:
        inputs = metrics[name]["inputs"]
        for key in ("n_documents", "n_gold_codes"):
            if inputs[key] != reference[key]:
                raise IcdbridgeError(
                    f"runs {names[0]!r} and {name!r} were evaluated on different gold "
                    f"({key} {reference[key]} and {inputs[key]}); compare runs on the same gold"
                )
    ranking_ks = [
        int(key.split("@", 1)[1])
        for key in metrics[names[0]]["ranking"]
        if key.startswith("recall@")
    ]
    if k is None and ranking_ks:
        k = HEADLINE_RECALL_K if HEADLINE_RECALL_K in ranking_ks else max(ranking_ks)
    headline_ranking = ["map", *(f"recall@{x}" for x in ranking_ks)]
    tables: dict[str, Any] = {
        "headline": {
            **_table(names, {n: {"flat": m["flat"]} for n, m in metrics.items()}, PRF, ["flat"]),
            **_table(
                names,
                {n: {"ranking": m["ranking"]} for n, m in metrics.items()},
                headline_ranking,
                ["ranking"],
            ),
        }
    }
    cophe = {n: m.get("cophe") for n, m in metrics.items()}
    if all(c is not None for c in cophe.values()):
        levels = _merged_order([list(c["levels"]) for c in cophe.values()])
        sections = {n: {**c["levels"], "overall": c["overall"]} for n, c in cophe.items()}
        tables["cophe_levels"] = _table(names, sections, PRF, [*levels, "overall"])
    if all("recall_at_k_by_bucket" in m for m in metrics.values()):
        sections = {n: m["recall_at_k_by_bucket"] for n, m in metrics.items()}
        first = next(iter(sections[names[0]].values()))
        columns = ["n_gold_pairs", *(c for c in first if c.startswith("recall@"))]
        tables["frequency_buckets"] = _table(names, sections, columns, list(BUCKETS))
    if all("by_chapter" in m for m in metrics.values()):
        chapters = _merged_order([list(m["by_chapter"]) for m in metrics.values()])
        sections = {n: m["by_chapter"] for n, m in metrics.items()}
        table = _table(names, sections, [*PRF, "tp", "fn"], chapters)
        for row in table.values():  # gold codes of the chapter: the same for every run
            counts = [
                (row["tp"][n] or 0) + (row["fn"][n] or 0) for n in names if row["tp"][n] is not None
            ]
            row["n_gold"] = {n: (counts[0] if counts else 0) for n in names}
            del row["tp"], row["fn"]
        tables["chapters"] = table
    return RunComparison(names, tables, metrics, k)


def compare_files(
    gold: str | PathLike[str],
    preds: Sequence[str | PathLike[str]],
    names: Sequence[str] | None = None,
    *,
    pred_systems: Sequence[str | None] | None = None,
    k: int | None = None,
    **options: Any,
) -> tuple[RunComparison, dict[str, EvaluationResult]]:
    """Evaluate each prediction file against ``gold`` and compare them.

    Args:
        gold: the gold file.
        preds: one prediction file per run (at least two).
        names: one name per run (``None``: the file names without extension).
        pred_systems: per run, the code system of its predictions (``None`` entries, or
            ``None`` for all: ``options["pred_system"]``); a run in another system than the
            gold is mapped through the crosswalk (see :func:`~icdbridge.eval.evaluate_files`).
        k: see :func:`compare_runs`.
        **options: passed to :func:`~icdbridge.eval.evaluate_files` for every run (system,
            hierarchy, train_gold, boundaries, cophe_mode, bootstrap, gold_system, ...).

    Returns:
        The comparison and each run's evaluation.

    Raises:
        IcdbridgeError: fewer than two files, names or systems not one per file, repeated
            names, or what :func:`~icdbridge.eval.evaluate_files` raises.
    """
    from icdbridge.eval.evaluate import evaluate_files

    preds = list(preds)
    if len(preds) < 2:
        raise IcdbridgeError(f"a comparison needs at least two prediction files, got {len(preds)}")
    if names is None:
        names = [Path(p).name.split(".")[0] for p in preds]
        if len(set(names)) < len(names):
            names = [f"run{i + 1}" for i in range(len(preds))]
    names = list(names)
    if len(names) != len(preds):
        raise IcdbridgeError(
            f"{len(names)} run names ({', '.join(names)}) for {len(preds)} prediction files; "
            "give one name per file"
        )
    if len(set(names)) < len(names) or not all(n.strip() for n in names):
        raise IcdbridgeError(f"run names must be distinct and not empty, got {', '.join(names)}")
    systems = list(pred_systems) if pred_systems is not None else [None] * len(preds)
    if len(systems) != len(preds):
        raise IcdbridgeError(
            f"{len(systems)} prediction code systems for {len(preds)} prediction files; give "
            "one per file, or one for all"
        )
    results: dict[str, EvaluationResult] = {}
    for name, pred, system in zip(names, preds, systems, strict=True):
        run_options = dict(options)
        if system is not None:
            run_options["pred_system"] = system
        results[name] = evaluate_files(gold, pred, **run_options)
    return compare_runs(results, k=k), results


def _fmt(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.4f}"
    return str(value)


def _delta(value: Any, reference: Any) -> str:
    if not isinstance(value, int | float) or not isinstance(reference, int | float):
        return "–"
    return f"{value - reference:+.4f}"


def _markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|---" * len(header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def _prf_rows(
    table: Mapping[str, Mapping[str, Mapping[str, Any]]], names: Sequence[str], lead: str | None
) -> tuple[list[str], list[list[str]]]:
    """Rows with each run's P / R / F1 and the other runs' Δ F1 (``lead``: a count column)."""
    header = [""] + ([lead] if lead else [])
    header += [f"{metric} {name}" for name in names for metric in ("P", "R", "F1")]
    header += [f"Δ F1 {name}" for name in names[1:]]
    rows = []
    for row, cells in table.items():
        line = [row] + ([_fmt(cells[lead][names[0]])] if lead else [])
        for name in names:
            line += [_fmt(cells[metric][name]) for metric in PRF]
        f1 = cells["micro_f1"]
        line += [_delta(f1[name], f1[names[0]]) for name in names[1:]]
        rows.append(line)
    return header, rows


def _losses(
    table: Mapping[str, Mapping[str, Mapping[str, Any]]], name: str, reference: str, top: int
) -> list[str]:
    """The rows where ``name``'s F1 falls most below the reference's, worst first."""
    found = []
    for row, cells in table.items():
        value, base = cells["micro_f1"][name], cells["micro_f1"][reference]
        if isinstance(value, int | float) and isinstance(base, int | float) and value < base:
            weight = cells.get("n_gold", {}).get(reference) or 0
            found.append((value - base, -weight, row))
    return [f"{row} ({delta:+.4f})" for delta, _, row in sorted(found)[:top]]


def comparison_markdown(comparison: RunComparison) -> str:
    """The comparison as Markdown tables: each run's values and its difference from the first."""
    names = comparison.names
    reference = names[0]
    tables = comparison.tables
    lines = [
        "# Comparison of runs",
        "",
        f"Runs: {', '.join(f'`{n}`' for n in names)}; Δ is each run minus `{reference}` (the "
        "reference). Where Δ is negative the run loses; a loss at `code` that vanishes at "
        "`category` or `block` means a wrong code of the right family.",
    ]
    summary = []
    for name in names[1:]:
        parts = []
        if "cophe_levels" in tables:
            levels = {k: v for k, v in tables["cophe_levels"].items() if k != "overall"}
            worst = ", ".join(_losses(levels, name, reference, 3)) or "none"
            parts.append(f"CoPHE levels {worst}")
        if "chapters" in tables:
            worst = ", ".join(_losses(tables["chapters"], name, reference, 5)) or "none"
            parts.append(f"chapters {worst}")
        if parts:
            summary.append(f"- `{name}` loses most F1 at: " + "; ".join(parts))
    if summary:
        lines += ["", "## Where the runs lose", "", *summary]
    rows = []
    for section, cells in tables["headline"].items():
        for metric, values in cells.items():
            rows.append(
                [f"{section} {metric}", *(_fmt(values[n]) for n in names)]
                + [_delta(values[n], values[reference]) for n in names[1:]]
            )
    lines += ["", "## Headline", ""]
    lines += _markdown_table(["", *names, *(f"Δ {n}" for n in names[1:])], rows)
    if "cophe_levels" in tables:
        lines += ["", "## CoPHE levels, from the code up to the chapter (micro)", ""]
        lines += _markdown_table(*_prf_rows(tables["cophe_levels"], names, None))
        lines += ["", "`–`: no code of the run reaches the level (nothing counted there)."]
    if "frequency_buckets" in tables:
        lines += [
            "",
            "## Micro recall@k by training frequency",
            "",
            "Gold (document, code) pairs of the bucket in the document's top k / gold pairs of "
            "the bucket (`icdbridge.eval.buckets.recall_at_k_by_bucket`).",
            "",
        ]
        rows = []
        for bucket, cells in tables["frequency_buckets"].items():
            n = cells["n_gold_pairs"][reference]
            for metric, values in cells.items():
                if metric == "n_gold_pairs":
                    continue
                rows.append(
                    [bucket, _fmt(n), metric, *(_fmt(values[x]) for x in names)]
                    + [_delta(values[x], values[reference]) for x in names[1:]]
                )
        header = ["bucket", "gold pairs", "k", *names, *(f"Δ {n}" for n in names[1:])]
        lines += _markdown_table(header, rows)
    if "chapters" in tables:
        lines += ["", "## By chapter (flat, micro)", ""]
        lines += _markdown_table(*_prf_rows(tables["chapters"], names, "n_gold"))
    lines += ["", "Each run's full evaluation is under `run_metrics` in `metrics.json`."]
    return "\n".join(lines) + "\n"


def _plot(comparison: RunComparison, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    names = comparison.names
    panels = []
    if "cophe_levels" in comparison.tables:
        panels.append(("CoPHE micro F1 by level", comparison.tables["cophe_levels"], "micro_f1"))
    if "frequency_buckets" in comparison.tables and comparison.k is not None:
        metric = f"recall@{comparison.k}"
        panels.append(
            (
                f"Micro {metric} by training frequency",
                comparison.tables["frequency_buckets"],
                metric,
            )
        )
    if "chapters" in comparison.tables:
        panels.append(("Flat micro F1 by chapter", comparison.tables["chapters"], "micro_f1"))
    if not panels:
        panels.append(("Headline", comparison.tables["headline"], "micro_f1"))
    fig, axes = plt.subplots(len(panels), 1, figsize=(9, 3.2 * len(panels)), squeeze=False)
    width = 0.8 / len(names)
    for ax, (title, table, metric) in zip(axes[:, 0], panels, strict=True):
        rows = [r for r, cells in table.items() if metric in cells]
        x = np.arange(len(rows))
        for i, name in enumerate(names):
            values = [table[r][metric][name] for r in rows]
            heights = [np.nan if v is None else v for v in values]
            ax.bar(x + (i - (len(names) - 1) / 2) * width, heights, width, label=name)
        ax.set_xticks(x, rows, rotation=30 if len(rows) > 6 else 0, fontsize=8)
        ax.set(title=title, ylim=(0, 1.02))
        ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


COMPARISON_FILES = ("metrics.json", "report.md", "comparison.png")
"""The files :func:`write_comparison` writes."""


def write_comparison(comparison: RunComparison, out_dir: str | PathLike[str]) -> list[Path]:
    """Write ``metrics.json``, ``report.md`` and ``comparison.png`` to ``out_dir`` atomically.

    Raises:
        OutputError: ``out_dir`` cannot take the comparison (see
            :func:`~icdbridge.eval.report.check_output_folder`).
    """
    from icdbridge.eval.report import check_output_folder

    out = check_output_folder(out_dir)
    with atomic_dir(out) as temp:
        (temp / "metrics.json").write_text(
            dumps_json(comparison.to_json()) + "\n", encoding="utf-8"
        )
        (temp / "report.md").write_text(comparison_markdown(comparison), encoding="utf-8")
        _plot(comparison, temp / "comparison.png")
    return [out / name for name in COMPARISON_FILES]
