"""Write an evaluation to a folder: ``metrics.json``, ``report.md`` and PNG plots."""

from __future__ import annotations

from collections.abc import Mapping
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np

from icdbridge.errors import OutputError
from icdbridge.eval.cophe import SUMMARY_KEYS
from icdbridge.eval.result import EvaluationResult, public_part
from icdbridge.outputs import atomic_dir, check_output, dumps_json

OUTPUT_FILES = (
    "metrics.json",
    "report.md",
    "per_code.tsv",
    "precision_recall.png",
    "recall_at_k.png",
    "cophe_levels.png",
    "comparison.png",
)
"""The files an evaluation folder holds (an existing folder with anything else is not replaced)."""


def public_metrics(result: Mapping[str, Any]) -> dict[str, Any]:
    """The ``metrics.json`` part of an :func:`~icdbridge.eval.evaluate` result."""
    return public_part(result)


def _curves(result: Mapping[str, Any]) -> Mapping[str, Any]:
    if isinstance(result, EvaluationResult):
        return result.curves
    return result.get("_curves") or {}


def _per_code(result: Mapping[str, Any]) -> Mapping[str, Any] | None:
    if isinstance(result, EvaluationResult):
        return result.per_code
    return result.get("_per_code")


def bucket_recall_series(result: Mapping[str, Any]) -> dict[str, dict[int, float | None]]:
    """Bucket → k → micro recall@k, from a result's ``recall_at_k_by_bucket`` section."""
    section = result.get("recall_at_k_by_bucket") or {}
    return {
        bucket: {
            int(key.split("@", 1)[1]): entry["value"]
            for key, entry in row.items()
            if key.startswith("recall@")
        }
        for bucket, row in section.items()
    }


def _v(entry: Any) -> str:
    if isinstance(entry, dict) and "value" in entry:
        value = entry["value"]
        text = "–" if value is None else f"{value:.4f}" if isinstance(value, float) else str(value)
        if "ci95" in entry:
            low, high = entry["ci95"]
            text += f" [{low:.4f}, {high:.4f}]"
        return text
    return str(entry)


def _empty_bucket(row: dict[str, Any]) -> bool:
    """A frequency bucket without gold codes (its metrics are ``null``)."""
    n = row.get("n_codes", row.get("n_gold_pairs"))
    return isinstance(n, dict) and n.get("value") == 0


def _table(rows: dict[str, dict[str, Any]], columns: list[str]) -> list[str]:
    lines = ["| | " + " | ".join(columns) + " |", "|---" * (len(columns) + 1) + "|"]
    for name, row in rows.items():
        if _empty_bucket(row):
            lines.append(f"| {name} | 0 | " + " | ".join("no codes" for _ in columns[1:]) + " |")
            continue
        lines.append(
            f"| {name} | " + " | ".join(_v(row.get(c, {"value": None})) for c in columns) + " |"
        )
    return lines


FLAT_COLUMNS = ["micro_precision", "micro_recall", "micro_f1", "macro_f1", "tp", "fp", "fn"]


def markdown_report(result: Mapping[str, Any]) -> str:
    """Human-readable tables of an evaluation result."""
    inputs = result["inputs"]
    lines = ["# Evaluation report", "", "## Inputs", ""]
    for key in (
        "n_documents",
        "n_documents_without_predictions",
        "n_predicted_documents_not_in_gold",
        "n_gold_codes",
        "n_predicted_codes",
        "hierarchy",
        "threshold",
    ):
        lines.append(f"- {key}: {inputs.get(key)}")
    decision = inputs.get("flat_decision")
    if decision:
        from icdbridge.eval.evaluate import FLAT_DECISIONS

        lines.append(f"- flat metrics use: {FLAT_DECISIONS.get(decision, decision)}")
    for path, info in inputs.get("files", {}).items():
        lines.append(
            f"- `{path}`: {info['n_rows']} rows, {info['n_documents']} documents, "
            f"issues {info['issue_counts'] or 'none'}"
        )
        lines += [f"  - {issue}" for issue in info["issues"][:10]]
    cross = inputs.get("cross_system")
    if cross:
        lines += [
            "",
            f"## Across code systems: gold {cross['gold_system']}, predictions "
            f"{cross['pred_system']}, evaluated in {cross['common']} "
            f"(crosswalk policy {cross['policy']})",
            "",
        ]
        for path, report in cross["mapping"].items():
            lines.append(
                f"- `{path}` {report['from']} → {report['to']}: codes by outcome "
                f"{report['codes_by_outcome']}, occurrences by outcome "
                f"{report['occurrences_by_outcome']}"
            )
            if report["unmapped_examples"]:
                lines.append(f"  - unmapped: {', '.join(report['unmapped_examples'])}")
        lines.append(f"- unmapped codes are counted as {cross['unmapped_codes_counted_as']}")
    lines += ["", "## Flat (thresholded)", ""]
    lines += [f"- {k}: {_v(v)}" for k, v in result["flat"].items()]
    lines += ["", "## Ranking", ""]
    lines += [f"- {k}: {_v(v)}" for k, v in result["ranking"].items()]
    buckets = inputs.get("frequency_buckets") or {}
    described = buckets.get("description", "unseen 0, few-shot 1–5, frequent >5")
    if "recall_at_k_by_bucket" in result:
        lines += [
            "",
            f"## Micro recall@k by training frequency ({described})",
            "",
            "Gold (document, code) pairs of the bucket found in the document's top k (ranked "
            "among all its codes) / gold pairs of the bucket: the experiments' number "
            "(`icdbridge.eval.buckets.recall_at_k_by_bucket`).",
            "",
        ]
        section = result["recall_at_k_by_bucket"]
        first = next(iter(section.values()), {})
        cols = ["n_gold_pairs", *(k for k in first if k.startswith("recall@"))]
        lines += _table(section, cols)
    if "by_frequency" in result:
        lines += [
            "",
            f"## By training frequency ({described})",
            "",
            "n_codes counts the gold codes of each bucket; a bucket without gold codes has no "
            "scores (null in metrics.json). Each bucket ranks its own codes among themselves, "
            "and recall@k is averaged over documents.",
            "",
        ]
        cols = ["n_codes", *FLAT_COLUMNS[:4], "map", "recall@5", "recall@8", "recall@15"]
        lines += _table(result["by_frequency"], cols)
    if "by_chapter" in result:
        lines += ["", "## By chapter", ""]
        lines += _table(result["by_chapter"], ["n_codes", *FLAT_COLUMNS])
    lines += ["", "## By hierarchy level (codes truncated)", ""]
    lines += _table(result["by_level"], FLAT_COLUMNS)
    if "cophe" in result:
        cophe = result["cophe"]
        lines += ["", f"## CoPHE ({cophe['mode']} mode)", ""]
        rows = {name: level for name, level in cophe["levels"].items()}
        rows["overall"] = cophe["overall"]
        cols = [*SUMMARY_KEYS, "n_columns"]
        lines += _table(rows, cols)
        lines += ["", "Set-based:", ""]
        lines += _table({k: v["set_based"] for k, v in rows.items()}, cols)
        lines += [
            "",
            f"Codes outside the hierarchy: {cophe['n_codes_outside_hierarchy']['value']}"
            if isinstance(cophe["n_codes_outside_hierarchy"], dict)
            else f"Codes outside the hierarchy: {cophe['n_codes_outside_hierarchy']}",
        ]
    return "\n".join(lines) + "\n"


def _plots(result: Mapping[str, Any], out: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    written = []
    curves = _curves(result)
    fig, ax = plt.subplots(figsize=(5, 4))
    if len(curves.get("recall", [])):
        ax.step(
            np.r_[0, curves["recall"]],
            np.r_[curves["precision"][0], curves["precision"]],
            where="post",
        )
    ax.set(
        xlabel="recall",
        ylabel="precision",
        title="Micro precision-recall",
        xlim=(0, 1),
        ylim=(0, 1.02),
    )
    fig.tight_layout()
    fig.savefig(out / "precision_recall.png", dpi=100)
    plt.close(fig)
    written.append(out / "precision_recall.png")
    fig, ax = plt.subplots(figsize=(5, 4))
    by_freq = bucket_recall_series(result) or {
        "all": {
            int(k.split("@")[1]): v["value"]
            for k, v in result["ranking"].items()
            if k.startswith("recall@")
        }
    }
    for name, values in by_freq.items():
        ks = [k for k in sorted(values) if values[k] is not None]
        ax.plot(ks, [values[k] for k in ks], marker="o", label=name)
    ax.set(
        xlabel="k", ylabel="micro recall@k", title="Recall@k by training frequency", ylim=(0, 1.02)
    )
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "recall_at_k.png", dpi=100)
    plt.close(fig)
    written.append(out / "recall_at_k.png")
    if "cophe" in result:
        levels = result["cophe"]["levels"]
        names = [*levels, "overall"]
        rows = [*levels.values(), result["cophe"]["overall"]]
        x = np.arange(len(names))
        fig, ax = plt.subplots(figsize=(max(5, len(names) * 1.1), 4))
        for i, metric in enumerate(("micro_precision", "micro_recall", "micro_f1")):
            ax.bar(x + (i - 1) * 0.27, [r[metric]["value"] for r in rows], 0.27, label=metric)
        ax.set_xticks(x, names, rotation=20)
        ax.set(ylim=(0, 1.02), title=f"CoPHE per level ({result['cophe']['mode']})")
        ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(out / "cophe_levels.png", dpi=100)
        plt.close(fig)
        written.append(out / "cophe_levels.png")
    return written


def check_output_folder(out_dir: str | PathLike[str], inputs: list[Any] = ()) -> Path:
    """Check, before any work, that ``out_dir`` can receive an evaluation.

    Refused: an existing file, a folder that contains an input, a folder holding files an
    evaluation does not write (it is replaced as a whole, so nothing else may be lost), and a
    place that cannot be written.

    Raises:
        OutputError: one line naming the folder and what to do.
    """
    out = check_output(out_dir, inputs, kind="dir")
    if out.is_dir():
        foreign = sorted(p.name for p in out.iterdir() if p.name not in OUTPUT_FILES)
        if foreign:
            raise OutputError(
                f"{out}: folder holds files that evaluate did not write ({', '.join(foreign[:3])}"
                f"{', ...' if len(foreign) > 3 else ''}); give a new or empty folder"
            )
    return out


def write_outputs(result: Mapping[str, Any], out_dir: str | PathLike[str]) -> list[Path]:
    """Write ``metrics.json``, ``report.md``, ``per_code.tsv`` and the PNG plots to ``out_dir``.

    The folder is written atomically (:func:`icdbridge.outputs.atomic_dir`): on any error or
    interruption ``out_dir`` is left as it was, else it holds exactly this evaluation.
    ``metrics.json`` is strict JSON (a non-finite number is ``null``).

    Returns:
        The paths written.

    Raises:
        OutputError: ``out_dir`` cannot take the evaluation (see :func:`check_output_folder`).
    """
    out = check_output_folder(out_dir)
    with atomic_dir(out) as temp:
        written = _write_files(result, temp)
    return [out / path.name for path in written]


def _write_files(result: Mapping[str, Any], out: Path) -> list[Path]:
    (out / "metrics.json").write_text(dumps_json(public_metrics(result)) + "\n", encoding="utf-8")
    (out / "report.md").write_text(markdown_report(result), encoding="utf-8")
    written = [out / "metrics.json", out / "report.md"]
    per_code = _per_code(result)
    if per_code is not None:
        columns = ["tp", "fp", "fn", "support", "precision", "recall", "f1"]
        lines = ["code\t" + "\t".join(columns)]
        for code, row in per_code.items():
            lines.append(code + "\t" + "\t".join(f"{row[c]:.6g}" for c in columns))
        (out / "per_code.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
        written.append(out / "per_code.tsv")
    return [*written, *_plots(result, out)]
