"""Metrics of the result table, built on ``icdbridge.eval`` (ranking, thresholds).

MAP uses ``icdbridge.eval.ranking.average_precision`` over the full ranked list of each row (mean
over dev documents with gold codes); the micro-F1 threshold comes from
``icdbridge.eval.threshold.tune_thresholds`` (global mode) on the tune slice. Recall@k per
frequency bucket is computed here (micro: gold (document, code) pairs of the bucket found in the
top k / gold pairs of the bucket), as ``icdbridge.eval`` averages recall per document.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence

import numpy as np

from icdbridge.eval.base import prf
from icdbridge.eval.ranking import average_precision, rank_codes
from icdbridge.eval.threshold import tune_thresholds

BUCKETS = ("unseen", "few-shot", "frequent")
KS = (1, 5, 10, 20, 50, 100)


def train_frequency(train_docs) -> Counter[str]:
    """Number of train documents of each code."""
    counts: Counter[str] = Counter()
    for doc in train_docs:
        counts.update(set(doc.codes))
    return counts


def bucket_of(code: str, frequency: Mapping[str, int]) -> str:
    """``unseen`` (0 train documents), ``few-shot`` (1–5) or ``frequent`` (> 5)."""
    n = frequency.get(code, 0)
    return "unseen" if n == 0 else "few-shot" if n <= 5 else "frequent"


def mean_ap(gold: Sequence[set[str]], scores: Sequence[Mapping[str, float]]) -> float:
    """MAP over documents with gold codes (``icdbridge.eval.ranking.average_precision``)."""
    aps = [average_precision(rank_codes(s), g) for g, s in zip(gold, scores, strict=True) if g]
    return float(np.mean(aps)) if aps else float("nan")


def recall_at_k_by_bucket(
    gold: Sequence[set[str]],
    scores: Sequence[Mapping[str, float]],
    frequency: Mapping[str, int],
    ks: Sequence[int] = KS,
) -> dict[str, dict[str, float]]:
    """Bucket → {``recall@k``: micro recall, ``n``: gold pairs} (see module docstring)."""
    hits = {b: Counter() for b in BUCKETS}
    totals = Counter()
    for g, s in zip(gold, scores, strict=True):
        ranked = rank_codes(s)
        position = {code: i for i, code in enumerate(ranked)}
        for code in g:
            bucket = bucket_of(code, frequency)
            totals[bucket] += 1
            rank = position.get(code)
            for k in ks:
                hits[bucket][k] += rank is not None and rank < k
    out: dict[str, dict[str, float]] = {}
    for bucket in BUCKETS:
        n = totals[bucket]
        out[bucket] = {f"recall@{k}": (hits[bucket][k] / n if n else float("nan")) for k in ks}
        out[bucket]["n"] = n
    return out


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
