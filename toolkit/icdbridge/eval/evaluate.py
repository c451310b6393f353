"""One call for the full picture: flat, ranking, breakdowns, CoPHE and bootstrap intervals.

:func:`evaluate` works on in-memory dictionaries, :func:`evaluate_files` reads files first (and
reports input problems), :func:`evaluate_ranking` is the small functional entry point for
experiments (MAP / R@k overall and by frequency bucket).

The result of :func:`evaluate` is a JSON-able dictionary (schema in ``docs/evaluation.md``):
every metric is an object ``{"value": x}``, with ``"ci95": [low, high]`` for the headline
metrics when bootstrap resamples were requested.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from os import PathLike
from typing import Any

import numpy as np

from icdbridge.errors import IcdbridgeError, InputFormatError
from icdbridge.eval.bootstrap import bootstrap_ci, mean_statistic, micro_statistic
from icdbridge.eval.breakdown import TRUNCATION_LEVELS, frequency_buckets, train_counts
from icdbridge.eval.cophe import CopheMetrics
from icdbridge.eval.flat import FlatMetrics
from icdbridge.eval.hierarchy import EvalHierarchy, resolve_hierarchy
from icdbridge.eval.io import CodeFile, read_code_list, read_codes
from icdbridge.eval.ranking import DEFAULT_KS, RankingMetrics
from icdbridge.eval.threshold import Thresholds, tune_thresholds

METRICS: dict[str, type] = {
    "flat": FlatMetrics,
    "ranking": RankingMetrics,
    "cophe": CopheMetrics,
}
"""Metric family → stateful metric class (``update / compute / reset``)."""

SCHEMA_VERSION = 1
DEFAULT_THRESHOLD = 0.5
HEADLINE_KS = (5, 8, 15)

Prediction = Mapping[str, float] | Sequence[str] | set[str]


def _as_ranked(prediction: Prediction) -> Mapping[str, float] | Sequence[str]:
    if isinstance(prediction, set | frozenset):
        return sorted(prediction)
    return prediction


def _predicted_set(prediction: Prediction, thresholds: Thresholds | None) -> set[str]:
    if isinstance(prediction, Mapping):
        return (thresholds or Thresholds(DEFAULT_THRESHOLD)).apply(prediction)
    return set(prediction)


FLAT_DECISIONS: dict[str, str] = {
    "code sets": "the predicted code sets (no scores)",
    "model codes": "the codes the model chose (the predictions' own 'codes'); scores only rank",
    "tuned threshold": "scores above the threshold tuned on the validation predictions",
    "default threshold": f"scores above the untuned default threshold {DEFAULT_THRESHOLD}",
}
"""How the flat (set-based) predictions were obtained → its description in ``report.md``."""


def natural_key(text: str) -> tuple:
    """Sort key that orders the digits in ``text`` as numbers ("3" before "10").

    Example:
        >>> sorted(["10", "3", "A2", "A10"], key=natural_key)
        ['3', '10', 'A2', 'A10']
    """
    return tuple(
        (0, int(part), "") if part.isdigit() else (1, 0, part)
        for part in re.split(r"(\d+)", text)
        if part
    )


def _wrap(values: Mapping[str, Any], cis: Mapping[str, list[float]] | None = None) -> dict:
    out: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, Mapping):
            out[key] = _wrap(value)
        elif isinstance(value, bool | str) or value is None or isinstance(value, list):
            out[key] = {"value": value}
        else:
            entry: dict[str, Any] = {
                "value": float(value) if isinstance(value, float | np.floating) else int(value)
            }
            if cis and key in cis:
                entry["ci95"] = cis[key]
            out[key] = entry
    return out


def _flat_summary(metric: FlatMetrics) -> dict[str, Any]:
    r = metric.compute()
    keys = (
        "tp",
        "fp",
        "fn",
        "micro_precision",
        "micro_recall",
        "micro_f1",
        "macro_f1",
        "n_codes_with_support",
    )
    return {k: r[k] for k in keys}


def evaluate_ranking(
    gold: Mapping[str, Iterable[str]],
    scores: Mapping[str, Prediction],
    train_counts: Mapping[str, int] | None = None,
    ks: Sequence[int] = DEFAULT_KS,
) -> dict[str, Any]:
    """MAP, P@k, R@k, R-precision, AUCs overall and by training-frequency bucket.

    Args:
        gold: document id → gold codes. Documents missing from ``scores`` rank nothing.
        scores: document id → code → score (or a ranked list of codes).
        train_counts: code → number of training documents (``None``: no buckets).
        ks: cut-offs of P@k and R@k.

    Returns:
        ``{"overall": {...}, "by_frequency": {"unseen": {...}, "few_shot": ..., "frequent":
        ...}}`` of plain floats (see :class:`~icdbridge.eval.ranking.RankingMetrics`); buckets
        restrict gold and rankings to the bucket's codes.

    Example:
        >>> r = evaluate_ranking({"d1": {"A", "B"}}, {"d1": {"A": 0.9, "C": 0.5, "B": 0.1}},
        ...                      train_counts={"A": 10}, ks=(1, 2))
        >>> round(r["overall"]["map"], 6), r["by_frequency"]["unseen"]["recall@1"]
        (0.833333, 0.0)
    """
    docs = list(gold)
    g = [set(gold[d]) for d in docs]
    p = [_as_ranked(scores.get(d, [])) for d in docs]
    overall = RankingMetrics(ks=ks)
    overall.update(g, p)
    out: dict[str, Any] = {"overall": overall.compute()}
    if train_counts is not None:
        universe = set().union(*g) if g else set()
        for pred in p:
            universe.update(pred)
        out["by_frequency"] = {}
        for name, codes in frequency_buckets(universe, train_counts).items():
            metric = RankingMetrics(codes=codes, ks=ks)
            metric.update(g, p)
            out["by_frequency"][name] = metric.compute()
            out["by_frequency"][name]["n_codes"] = len(codes)
    return out


def evaluate(
    gold: Mapping[str, Iterable[str]],
    predictions: Mapping[str, Prediction],
    *,
    hierarchy: EvalHierarchy | None = None,
    train: Mapping[str, int] | None = None,
    label_space: Iterable[str] | None = None,
    cophe_mode: str = "default",
    thresholds: Thresholds | None = None,
    bootstrap: int = 1000,
    seed: int = 0,
    ks: Sequence[int] = DEFAULT_KS,
    decisions: Mapping[str, Iterable[str]] | None = None,
) -> dict[str, Any]:
    """Evaluate predictions against gold (every family of metrics; see the module docstring).

    Args:
        gold: document id → gold codes (canonical forms).
        predictions: document id → ranked list, code → score mapping, or a set (a set has
            no order: it is ranked alphabetically for the ranking metrics).
            Gold documents without predictions count as empty predictions; predictions for
            documents absent from gold are ignored (both reported under ``inputs``).
        hierarchy: code hierarchy for chapters and CoPHE levels (``None``: flat only).
        train: code → number of training documents, for frequency buckets.
        label_space: codes for CoPHE columns and ranking AUCs (``None``: gold ∪ predictions).
        cophe_mode: ``"default"`` or ``"compat"`` (see :mod:`icdbridge.eval.cophe`).
        thresholds: applied to score predictions; ``None`` uses 0.5 (reported as untuned).
        bootstrap: number of bootstrap resamples for the headline intervals (0: none).
        seed: bootstrap seed.
        ks: cut-offs of P@k and R@k.
        decisions: document id → the codes the model itself chose (``icdbridge predict``'s
            ``codes``). When given, and ``thresholds`` is not, flat metrics use these sets and
            the scores of ``predictions`` drive only the ranking metrics.

    The result's ``inputs.flat_decision`` names how the flat sets were obtained (a key of
    :data:`FLAT_DECISIONS`). A frequency bucket without gold codes has ``null`` metrics.
    """
    docs = list(gold)
    missing = [d for d in docs if d not in predictions]
    extra = [d for d in predictions if d not in gold]
    g = [set(gold[d]) for d in docs]
    raw = [predictions.get(d, []) for d in docs]
    scored = any(isinstance(x, Mapping) for x in raw)
    if not scored:
        decision = "code sets"
    elif thresholds is not None:
        decision = "tuned threshold"
    elif decisions is not None:
        decision = "model codes"
    else:
        decision = "default threshold"
    if decision == "model codes":
        p_sets = [set(decisions.get(d, ())) for d in docs]
    else:
        p_sets = [_predicted_set(x, thresholds) for x in raw]
    p_ranked = [_as_ranked(x) for x in raw]
    label_list = None if label_space is None else list(dict.fromkeys(label_space))

    flat = FlatMetrics()
    flat.update(g, p_sets)
    flat_result = flat.compute()
    valid = None if hierarchy is None else hierarchy.contains
    ranking = RankingMetrics(ks=ks, codiesp_valid=valid)
    ranking.update(g, p_ranked)
    ranking_result = ranking.compute(label_space=label_list)

    universe = set().union(*g, *p_sets) if docs else set()
    for x in p_ranked:
        universe.update(x)
    result: dict[str, Any] = {"schema_version": SCHEMA_VERSION}
    result["inputs"] = {
        "n_documents": len(docs),
        "n_documents_without_predictions": len(missing),
        "documents_without_predictions": missing[:20],
        "n_predicted_documents_not_in_gold": len(extra),
        "predicted_documents_not_in_gold": extra[:20],
        "n_gold_codes": sum(len(x) for x in g),
        "n_predicted_codes": sum(len(x) for x in p_sets),
        "n_distinct_codes": len(universe),
        "scored_predictions": scored,
        "flat_decision": decision,
        "threshold": None
        if decision in ("code sets", "model codes")
        else {
            "mode": thresholds.mode if thresholds else "untuned default",
            "global": thresholds.global_ if thresholds else DEFAULT_THRESHOLD,
            "n_per_code": len(thresholds.per_code) if thresholds else 0,
        },
        "hierarchy": None if hierarchy is None else hierarchy.name,
    }

    cis: dict[str, dict[str, list[float]]] = {"flat": {}, "ranking": {}, "cophe": {}}
    cophe = CopheMetrics(hierarchy, mode=cophe_mode, label_space=label_list)
    cophe.update(g, p_sets)
    cophe_result = cophe.compute()

    if bootstrap:
        doc = flat.per_document()
        stats = {
            f"flat.micro_{w}": micro_statistic(doc["tp"], doc["fp"], doc["fn"], w)
            for w in ("precision", "recall", "f1")
        }
        has_gold = np.asarray([bool(x) for x in g])
        per_doc = ranking.per_document()
        for name in ("ap", *(f"recall@{k}" for k in HEADLINE_KS if k in ranking.ks)):
            full = np.full(len(docs), np.nan)
            full[has_gold] = per_doc[name]
            stats[f"ranking.{'map' if name == 'ap' else name}"] = mean_statistic(full)
        if cophe_result is not None:
            c = cophe_result["per_document"]
            for w in ("precision", "recall", "f1"):
                stats[f"cophe.micro_{w}"] = micro_statistic(c["tp"], c["fp"], c["fn"], w)
        for key, interval in bootstrap_ci(stats, len(docs), bootstrap, seed).items():
            family, name = key.split(".", 1)
            cis[family][name] = interval
        result["inputs"]["bootstrap"] = {"n_resamples": bootstrap, "seed": seed}

    result["flat"] = _wrap(flat_result, cis["flat"])
    result["ranking"] = _wrap(ranking_result, cis["ranking"])

    if train is not None:
        buckets = frequency_buckets(universe, train)
        gold_codes = set().union(*g) if g else set()
        by_freq: dict[str, Any] = {}
        for name, codes in buckets.items():
            f = FlatMetrics(codes=codes)
            f.update(g, p_sets)
            r = RankingMetrics(codes=codes, ks=ks)
            r.update(g, p_ranked)
            rr = r.compute()
            n_gold = len(codes & gold_codes)
            entry = {
                "n_codes": n_gold,
                "n_predicted_only_codes": len(codes - gold_codes),
                **_flat_summary(f),
                "map": rr["map"],
                "n_documents_with_gold": rr["n_documents_with_gold"],
            }
            entry.update({f"recall@{k}": rr[f"recall@{k}"] for k in ranking.ks})
            if not n_gold:  # no gold code in the bucket: its scores are undefined, not 0
                keep = ("n_codes", "n_predicted_only_codes", "tp", "fp", "fn")
                entry = {k: (v if k in keep else None) for k, v in entry.items()}
            by_freq[name] = _wrap(entry)
        result["by_frequency"] = by_freq

    if hierarchy is not None:
        outside = "(outside hierarchy)"
        chapters: dict[str, set[str]] = {}
        for code in universe:
            chapters.setdefault(hierarchy.chapter(code) or outside, set()).add(code)
        by_chapter = {}
        for chapter in sorted(chapters, key=lambda c: (c == outside, natural_key(c))):
            f = FlatMetrics(codes=chapters[chapter])
            f.update(g, p_sets)
            by_chapter[chapter] = _wrap({"n_codes": len(chapters[chapter]), **_flat_summary(f)})
        result["by_chapter"] = by_chapter

    by_level = {}
    for name, mapper in TRUNCATION_LEVELS.items():
        f = FlatMetrics()
        f.update([{mapper(c) for c in x} for x in g], [{mapper(c) for c in x} for x in p_sets])
        by_level[name] = _wrap(_flat_summary(f))
    result["by_level"] = by_level

    if cophe_result is not None:
        cophe_result.pop("per_document")
        cophe_json = {
            "mode": cophe_result["mode"],
            "n_codes_outside_hierarchy": cophe_result["n_codes_outside_hierarchy"],
            "codes_outside_hierarchy": cophe_result["codes_outside_hierarchy"],
            "n_codes_outside_label_space": cophe_result["n_codes_outside_label_space"],
            "flat": _wrap(cophe_result["flat"]),
            "levels": {
                name: {"description": level.pop("description"), **_wrap(level)}
                for name, level in cophe_result["levels"].items()
            },
            "overall": _wrap(cophe_result["overall"], cis["cophe"]),
        }
        result["cophe"] = cophe_json
    result["_curves"] = ranking.curves(label_space=label_list)
    result["_per_code"] = flat.per_code()
    if train is not None:
        result["_recall_at_k_by_frequency"] = {
            name: {k: result["by_frequency"][name][f"recall@{k}"]["value"] for k in ranking.ks}
            for name in result["by_frequency"]
        }
    return result


def _issues_summary(files: Sequence[CodeFile]) -> dict[str, Any]:
    out = {}
    for f in files:
        out[f.path] = {
            "n_rows": f.n_rows,
            "n_documents": len(f.docs),
            "issue_counts": f.issue_counts(),
            "issues": [str(i) for i in f.issues[:50]],
        }
    return out


def _with_documents(file: CodeFile) -> CodeFile:
    """``file`` itself, or an :class:`InputFormatError` when it holds no document."""
    if not file.docs:
        raise InputFormatError(
            file.path, "no documents (the gold file is empty or blank); give a gold file with rows"
        )
    return file


def evaluate_files(
    gold: str | PathLike[str],
    pred: str | PathLike[str],
    *,
    system: str | None = None,
    hierarchy: str | PathLike[str] | None = None,
    train_gold: str | PathLike[str] | None = None,
    tune_threshold_on: str | PathLike[str] | None = None,
    dev_gold: str | PathLike[str] | None = None,
    threshold_mode: str = "global",
    label_space: str | PathLike[str] | None = None,
    cophe_mode: str = "default",
    bootstrap: int = 1000,
    seed: int = 0,
    gold_system: str | None = None,
    pred_system: str | None = None,
    common: str | None = None,
    map_policy: str = "best",
) -> dict[str, Any]:
    """Read the files, then :func:`evaluate`; input problems are reported under ``inputs``.

    Args:
        gold, pred: gold and prediction files (formats in :mod:`icdbridge.eval.io`).
        system: code system of every file (or ``hierarchy``: a hierarchy file).
        train_gold: training gold codes, for frequency buckets.
        tune_threshold_on, dev_gold: scored validation predictions and their gold codes.
        threshold_mode: ``global`` or ``per_code``.
        label_space: one code per line (CoPHE columns, AUC label space).
        cophe_mode: ``default`` or ``compat``.
        bootstrap, seed: bootstrap resamples and seed.
        gold_system, pred_system, common: evaluate across code systems: gold (and training /
            validation gold) in ``gold_system``, predictions in ``pred_system``, both mapped
            into ``common`` (default: ``gold_system``) with the crosswalk ``map_policy``
            (see :mod:`icdbridge.eval.crossversion`).

    Raises:
        InputFormatError: malformed file.
        IcdbridgeError: inconsistent options (e.g. threshold tuning without dev gold).
    """
    cross = gold_system is not None or pred_system is not None
    if cross:
        if hierarchy is not None:
            raise IcdbridgeError(
                "--gold-system/--pred-system work with registry systems, not --hierarchy"
            )
        gold_system = gold_system or system
        pred_system = pred_system or system
        if gold_system is None or pred_system is None:
            raise IcdbridgeError(
                "cross-system evaluation needs both --gold-system and "
                "--pred-system (or --system for the missing one)"
            )
        common = common or gold_system
        tree = resolve_hierarchy(system=common)
        gold_tree = resolve_hierarchy(system=gold_system)
        pred_tree = resolve_hierarchy(system=pred_system)
    else:
        tree = gold_tree = pred_tree = resolve_hierarchy(system=system, hierarchy=hierarchy)
    mapping_reports: dict[str, Any] = {}

    def read(path, which: str) -> CodeFile:
        source_tree = gold_tree if which == "gold" else pred_tree
        raw = read_codes(path, source_tree)
        files.append(raw)
        if not cross:
            return raw
        from icdbridge.eval.crossversion import map_code_file

        source = gold_system if which == "gold" else pred_system
        mapped, report = map_code_file(raw, source, common, map_policy)
        mapping_reports[raw.path] = report
        return mapped

    files: list[CodeFile] = []
    gold_file = _with_documents(read(gold, "gold"))
    pred_file = read(pred, "pred")
    counts = None
    if train_gold is not None:
        counts = train_counts(read(train_gold, "gold").docs)
    thresholds = None
    if tune_threshold_on is not None:
        if dev_gold is None:
            raise IcdbridgeError("--tune-threshold-on needs --dev-gold (validation gold codes)")
        dev_pred = read(tune_threshold_on, "pred")
        dev = _with_documents(read(dev_gold, "gold"))
        if dev_pred.scores is None:
            raise IcdbridgeError(f"{dev_pred.path}: threshold tuning needs scored predictions")
        ids = list(dev.docs)
        thresholds = tune_thresholds(
            [set(dev.docs[i]) for i in ids],
            [dev_pred.scores.get(i, {}) for i in ids],
            threshold_mode,
        )
    labels = None
    if label_space is not None:
        label_file = read_code_list(label_space, tree)
        files.append(label_file)
        labels = label_file.docs["*"]
    predictions: dict[str, Prediction] = (
        dict(pred_file.scores) if pred_file.scores is not None else dict(pred_file.docs)
    )
    result = evaluate(
        gold_file.sets(),
        predictions,
        hierarchy=tree,
        train=counts,
        label_space=labels,
        cophe_mode=cophe_mode,
        thresholds=thresholds,
        bootstrap=bootstrap,
        seed=seed,
        decisions=pred_file.chosen,
    )
    result["inputs"]["files"] = _issues_summary(files)
    result["inputs"]["system"] = common if cross else system
    if cross:
        result["inputs"]["cross_system"] = {
            "gold_system": gold_system,
            "pred_system": pred_system,
            "common": common,
            "policy": map_policy,
            "mapping": mapping_reports,
            "unmapped_codes_counted_as": "UNMAPPED:<system>:<code> tokens: false negatives in "
            "gold, false positives in predictions",
        }
    return result
