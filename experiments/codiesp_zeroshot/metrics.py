"""Metrics of the result table, built on ``icdbridge.eval`` (ranking, thresholds, buckets).

MAP uses ``icdbridge.eval.ranking.average_precision`` over the full ranked list of each row (mean
over dev documents with gold codes); the micro-F1 threshold comes from
``icdbridge.eval.threshold.tune_thresholds`` (global mode) on the tune slice. Recall@k per
frequency bucket is ``icdbridge.eval.buckets.recall_at_k_by_bucket`` (micro: gold (document,
code) pairs of the bucket found in the top k / gold pairs of the bucket), with the default
buckets (unseen 0, few-shot 1–5, frequent > 5 train documents) and this table's cut-offs
:data:`KS` — the numbers ``icdbridge evaluate --train-gold`` writes under
``recall_at_k_by_bucket``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from harness import SETTINGS

from icdbridge import eval as icd_eval
from icdbridge.eval import (
    BUCKETS,
    average_precision,
    bucket_of,
    prf,
    rank_codes,
    train_frequency,
    tune_thresholds,
)

__all__ = [
    "BUCKETS",
    "KS",
    "bucket_of",
    "mean_ap",
    "micro_f1_at_tuned_threshold",
    "recall_at_k_by_bucket",
    "shortlist_recall",
    "train_frequency",
]

KS: tuple[int, ...] = tuple(SETTINGS["protocol"]["ks"])
"""The cut-offs of the result table's recall@k (``settings.toml``)."""


def recall_at_k_by_bucket(
    gold: Sequence[set[str]],
    scores: Sequence[Mapping[str, float]],
    frequency: Mapping[str, int],
    ks: Sequence[int] = KS,
) -> dict[str, dict[str, float]]:
    """``icdbridge.eval.buckets.recall_at_k_by_bucket`` at this table's cut-offs :data:`KS`."""
    return icd_eval.recall_at_k_by_bucket(gold, scores, frequency, ks)


def mean_ap(gold: Sequence[set[str]], scores: Sequence[Mapping[str, float]]) -> float:
    """MAP over documents with gold codes (``icdbridge.eval.ranking.average_precision``)."""
    aps = [average_precision(rank_codes(s), g) for g, s in zip(gold, scores, strict=True) if g]
    return float(np.mean(aps)) if aps else float("nan")


def micro_f1_at_tuned_threshold(
    tune_gold: Sequence[set[str]],
    tune_scores: Sequence[Mapping[str, float]],
    gold: Sequence[set[str]],
    scores: Sequence[Mapping[str, float]],
) -> dict[str, float]:
    """Tune one global threshold on the tune slice, apply it to dev: micro P/R/F1 + threshold."""
    thresholds = tune_thresholds(list(tune_gold), list(tune_scores), mode="global")
    tp = fp = fn = 0
    for g, s in zip(gold, scores, strict=True):
        predicted = thresholds.apply(s)
        tp += len(predicted & g)
        fp += len(predicted - g)
        fn += len(g - predicted)
    result = prf(tp, fp, fn)
    result["threshold"] = thresholds.global_
    return result


def shortlist_recall(shortlists: Sequence[set[str]], gold: Sequence[set[str]]) -> float:
    """Micro recall of the candidate sets (``icdbridge.model.labels.index.shortlist_recall``)."""
    from icdbridge.model.labels import shortlist_recall as recall

    return recall(shortlists, gold)


def unseen_candidate_recall(
    shortlists: Sequence[set[str]], gold: Sequence[set[str]], frequency: Mapping[str, int]
) -> float:
    """Share of the unseen gold pairs (codes no training document carries) that reach the
    candidate sets: the ceiling of unseen-code recall at any cut-off."""
    unseen = [{c for c in g if not frequency.get(c)} for g in gold]
    return shortlist_recall(shortlists, unseen)
