"""The metric families of :func:`icdbridge.eval.evaluate`, one function each, in :data:`METRICS`.

A family reads the prepared inputs (:class:`EvalData`) and returns its section of
``metrics.json`` (:class:`FamilyOutput`), plus the per-document statistics whose bootstrap
intervals :func:`~icdbridge.eval.evaluate` adds to that section. :data:`METRICS` lists them in
the order of ``metrics.json``; a family whose input is missing (no training gold, no hierarchy)
is skipped. Adding a family is adding one function and one registry entry.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from icdbridge.eval.base import MICRO_KEYS
from icdbridge.eval.bootstrap import Statistic, mean_statistic, micro_statistic
from icdbridge.eval.breakdown import TRUNCATION_LEVELS, frequency_buckets
from icdbridge.eval.buckets import (
    BUCKETS,
    DEFAULT_BOUNDARIES,
    BucketBoundaries,
    recall_at_k_by_bucket,
)
from icdbridge.eval.cophe import CopheMetrics
from icdbridge.eval.flat import FlatMetrics
from icdbridge.eval.hierarchy import EvalHierarchy
from icdbridge.eval.ranking import DEFAULT_KS, RankingMetrics

HEADLINE_KS = (5, 8, 15)
"""The recall@k that get bootstrap intervals."""

OUTSIDE_HIERARCHY = "(outside hierarchy)"
"""The chapter of codes the hierarchy does not hold."""


@dataclass
class EvalData:
    """The inputs of every metric family, prepared once by :func:`~icdbridge.eval.evaluate`.

    Attributes:
        docs: document ids (gold order).
        gold: gold code sets, one per document.
        predicted: the flat (set-based) predictions, one per document.
        ranked: per document, code → score or a ranked list of codes.
        universe: every code of gold, flat predictions and rankings.
        hierarchy: the code hierarchy (``None``: none).
        train: code → number of training documents (``None``: no frequency buckets).
        boundaries: where the frequency buckets split.
        label_space: CoPHE columns and AUC label space (``None``: gold ∪ predictions).
        cophe_mode: ``default`` or ``compat``.
        ks: sorted, distinct cut-offs of P@k and R@k.
        bootstrap: whether the families should return bootstrap statistics.
    """

    docs: list[str]
    gold: list[set[str]]
    predicted: list[set[str]]
    ranked: list[Mapping[str, float] | Sequence[str]]
    universe: set[str]
    hierarchy: EvalHierarchy | None = None
    train: Mapping[str, int] | None = None
    boundaries: BucketBoundaries = DEFAULT_BOUNDARIES
    label_space: list[str] | None = None
    cophe_mode: str = "default"
    ks: tuple[int, ...] = DEFAULT_KS
    bootstrap: bool = False


@dataclass
class FamilyOutput:
    """One family's result.

    Attributes:
        section: its part of ``metrics.json`` (every number wrapped as ``{"value": x}``).
        statistics: path of an entry inside ``section`` → per-document bootstrap statistic;
            the interval is added to that entry as ``ci95``.
        curves: the precision-recall curve points (ranking only).
        per_code: per-code counts (flat only).
    """

    section: dict[str, Any]
    statistics: dict[tuple[str, ...], Statistic] = field(default_factory=dict)
    curves: dict[str, np.ndarray] | None = None
    per_code: dict[str, dict[str, float]] | None = None


@dataclass(frozen=True)
class MetricFamily:
    """A registry entry: how to compute one section of ``metrics.json`` and when it applies."""

    compute: Callable[[EvalData], FamilyOutput]
    applies: Callable[[EvalData], bool]
    description: str


def wrap(values: Mapping[str, Any]) -> dict[str, Any]:
    """``{"value": x}`` around every number, string, bool, list or null (nested mappings kept).

    Example:
        >>> wrap({"tp": 3, "f1": 0.5, "sub": {"n": None}})
        {'tp': {'value': 3}, 'f1': {'value': 0.5}, 'sub': {'n': {'value': None}}}
    """
    out: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, Mapping):
            out[key] = wrap(value)
        elif isinstance(value, bool | str) or value is None or isinstance(value, list):
            out[key] = {"value": value}
        else:
            out[key] = {
                "value": float(value) if isinstance(value, float | np.floating) else int(value)
            }
    return out


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


FLAT_SUMMARY_KEYS = (*MICRO_KEYS, "macro_f1", "n_codes_with_support")
"""The flat metrics of each breakdown row (frequency bucket, chapter, level)."""


def _flat_summary(metric: FlatMetrics) -> dict[str, Any]:
    r = metric.compute()
    return {k: r[k] for k in FLAT_SUMMARY_KEYS}


def flat_family(data: EvalData) -> FamilyOutput:
    """``flat``: micro / macro P, R, F1, exact match, Jaccard of the flat predictions."""
    metric = FlatMetrics()
    metric.update(data.gold, data.predicted)
    statistics: dict[tuple[str, ...], Statistic] = {}
    if data.bootstrap:
        doc = metric.per_document()
        for which in ("precision", "recall", "f1"):
            statistics[(f"micro_{which}",)] = micro_statistic(
                doc["tp"], doc["fp"], doc["fn"], which
            )
    return FamilyOutput(wrap(metric.compute()), statistics, per_code=metric.per_code())


def ranking_family(data: EvalData) -> FamilyOutput:
    """``ranking``: MAP (and the CodiEsp MAP), P@k, R@k, R-precision, coverage, AUCs."""
    valid = None if data.hierarchy is None else data.hierarchy.contains
    metric = RankingMetrics(ks=data.ks, codiesp_valid=valid)
    metric.update(data.gold, data.ranked)
    section = wrap(metric.compute(label_space=data.label_space))
    statistics: dict[tuple[str, ...], Statistic] = {}
    if data.bootstrap:
        has_gold = np.asarray([bool(x) for x in data.gold])
        per_doc = metric.per_document()
        for name in ("ap", *(f"recall@{k}" for k in HEADLINE_KS if k in metric.ks)):
            full = np.full(len(data.docs), np.nan)
            full[has_gold] = per_doc[name]
            statistics[("map" if name == "ap" else name,)] = mean_statistic(full)
    curves = metric.curves(label_space=data.label_space)
    return FamilyOutput(section, statistics, curves=curves)


def by_frequency_family(data: EvalData) -> FamilyOutput:
    """``by_frequency``: flat metrics, MAP and R@k of each bucket, its codes ranked alone."""
    assert data.train is not None
    gold_codes = set().union(*data.gold) if data.gold else set()
    section: dict[str, Any] = {}
    buckets = frequency_buckets(data.universe, data.train, data.boundaries)
    for name, codes in buckets.items():
        flat = FlatMetrics(codes=codes)
        flat.update(data.gold, data.predicted)
        ranking = RankingMetrics(codes=codes, ks=data.ks)
        ranking.update(data.gold, data.ranked)
        r = ranking.compute()
        n_gold = len(codes & gold_codes)
        entry = {
            "n_codes": n_gold,
            "n_predicted_only_codes": len(codes - gold_codes),
            **_flat_summary(flat),
            "map": r["map"],
            "n_documents_with_gold": r["n_documents_with_gold"],
        }
        entry.update({f"recall@{k}": r[f"recall@{k}"] for k in ranking.ks})
        if not n_gold:  # no gold code in the bucket: its scores are undefined, not 0
            keep = ("n_codes", "n_predicted_only_codes", "tp", "fp", "fn")
            entry = {k: (v if k in keep else None) for k, v in entry.items()}
        section[name] = wrap(entry)
    return FamilyOutput(section)


def recall_by_bucket_family(data: EvalData) -> FamilyOutput:
    """``recall_at_k_by_bucket``: micro recall@k of each bucket (the experiments' number).

    See :func:`icdbridge.eval.buckets.recall_at_k_by_bucket`: gold (document, code) pairs of
    the bucket found in the document's top ``k`` among **all** its ranked codes / gold pairs
    of the bucket; ``null`` for a bucket without gold pairs.
    """
    assert data.train is not None
    recall = recall_at_k_by_bucket(data.gold, data.ranked, data.train, data.ks, data.boundaries)
    section: dict[str, Any] = {}
    for bucket in BUCKETS:
        values = recall[bucket]
        n = int(values["n"])
        entry: dict[str, Any] = {"n_gold_pairs": n}
        entry.update({f"recall@{k}": values[f"recall@{k}"] if n else None for k in data.ks})
        section[bucket] = wrap(entry)
    return FamilyOutput(section)


def by_chapter_family(data: EvalData) -> FamilyOutput:
    """``by_chapter``: flat metrics restricted to each chapter's codes (natural order)."""
    assert data.hierarchy is not None
    chapters: dict[str, set[str]] = {}
    for code in data.universe:
        chapters.setdefault(data.hierarchy.chapter(code) or OUTSIDE_HIERARCHY, set()).add(code)
    section: dict[str, Any] = {}
    for chapter in sorted(chapters, key=lambda c: (c == OUTSIDE_HIERARCHY, natural_key(c))):
        flat = FlatMetrics(codes=chapters[chapter])
        flat.update(data.gold, data.predicted)
        section[chapter] = wrap({"n_codes": len(chapters[chapter]), **_flat_summary(flat)})
    return FamilyOutput(section)


def by_level_family(data: EvalData) -> FamilyOutput:
    """``by_level``: flat metrics after truncating every code (full, 4, 3 characters)."""
    section: dict[str, Any] = {}
    for name, mapper in TRUNCATION_LEVELS.items():
        flat = FlatMetrics()
        flat.update(
            [{mapper(c) for c in x} for x in data.gold],
            [{mapper(c) for c in x} for x in data.predicted],
        )
        section[name] = wrap(_flat_summary(flat))
    return FamilyOutput(section)


def cophe_family(data: EvalData) -> FamilyOutput:
    """``cophe``: CoPHE count-preserving hierarchical metrics per level and overall."""
    metric = CopheMetrics(data.hierarchy, mode=data.cophe_mode, label_space=data.label_space)
    metric.update(data.gold, data.predicted)
    report = metric.compute()
    per_document = report.pop("per_document")
    section = {
        "mode": report["mode"],
        "n_codes_outside_hierarchy": report["n_codes_outside_hierarchy"],
        "codes_outside_hierarchy": report["codes_outside_hierarchy"],
        "n_codes_outside_label_space": report["n_codes_outside_label_space"],
        "flat": wrap(report["flat"]),
        "levels": {
            name: {"description": level.pop("description"), **wrap(level)}
            for name, level in report["levels"].items()
        },
        "overall": wrap(report["overall"]),
    }
    statistics: dict[tuple[str, ...], Statistic] = {}
    if data.bootstrap:
        for which in ("precision", "recall", "f1"):
            statistics[("overall", f"micro_{which}")] = micro_statistic(
                per_document["tp"], per_document["fp"], per_document["fn"], which
            )
    return FamilyOutput(section, statistics)


def _always(data: EvalData) -> bool:
    return True


def _with_train(data: EvalData) -> bool:
    return data.train is not None


def _with_hierarchy(data: EvalData) -> bool:
    return data.hierarchy is not None


METRICS: dict[str, MetricFamily] = {
    "flat": MetricFamily(flat_family, _always, "flat thresholded metrics"),
    "ranking": MetricFamily(ranking_family, _always, "threshold-free ranking metrics"),
    "by_frequency": MetricFamily(
        by_frequency_family, _with_train, "flat and ranking metrics per frequency bucket"
    ),
    "recall_at_k_by_bucket": MetricFamily(
        recall_by_bucket_family, _with_train, "micro recall@k per frequency bucket"
    ),
    "by_chapter": MetricFamily(by_chapter_family, _with_hierarchy, "flat metrics per chapter"),
    "by_level": MetricFamily(by_level_family, _always, "flat metrics of truncated codes"),
    "cophe": MetricFamily(cophe_family, _always, "CoPHE hierarchical metrics"),
}
"""Section of ``metrics.json`` → its metric family, in the order of ``metrics.json``."""
