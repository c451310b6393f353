"""One implementation of AP, F1 thresholds and frequency buckets in icdbridge.eval (issue 26)."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pytest

from icdbridge.data import Document
from icdbridge.errors import IcdbridgeError
from icdbridge.eval import (
    BUCKETS,
    DEFAULT_BOUNDARIES,
    BucketBoundaries,
    RankingMetrics,
    bucket_of,
    codes_by_bucket,
    recall_at_k_by_bucket,
    train_frequency,
    tune_thresholds,
)
from icdbridge.eval.ranking import average_precision, average_precision_of_scores, rank_codes
from icdbridge.eval.threshold import best_f1_threshold

EXPERIMENT = Path(__file__).resolve().parents[1] / "experiments" / "codiesp_zeroshot"


# ------------------------------------------------------------------ average precision
def test_ap_of_scores_by_hand():
    # ranked: B (gold), D, A (gold), C; a third gold code is never scored
    scores = np.array([0.5, 0.9, 0.1, 0.7])
    is_gold = np.array([True, True, False, False])
    assert average_precision_of_scores(scores, is_gold, 3) == pytest.approx((1 + 2 / 3) / 3)
    assert average_precision_of_scores(scores, is_gold, 2) == pytest.approx((1 + 2 / 3) / 2)


def test_ap_of_scores_ties_are_stable_and_empty_gold_is_zero():
    tied = np.array([0.5, 0.5, 0.5])
    assert average_precision_of_scores(tied, np.array([0, 0, 1]), 1) == pytest.approx(1 / 3)
    assert average_precision_of_scores(tied, np.array([1, 0, 0]), 1) == 1.0
    assert average_precision_of_scores(np.array([0.3]), np.array([0]), 0) == 0.0
    assert average_precision_of_scores(np.zeros(0), np.zeros(0, dtype=bool), 2) == 0.0


def test_ap_of_scores_refuses_inconsistent_input():
    with pytest.raises(ValueError, match="2 scores but 1 gold flags"):
        average_precision_of_scores(np.array([0.1, 0.2]), np.array([1]), 1)
    with pytest.raises(ValueError, match="n_gold=1 is smaller than the 2 gold flags"):
        average_precision_of_scores(np.array([0.1, 0.2]), np.array([1, 1]), 1)


def test_list_and_vectorised_and_stateful_ap_agree():
    rng = np.random.default_rng(0)
    codes = [f"C{i}" for i in range(30)]
    metric = RankingMetrics(ks=(1,))
    aps = []
    for _ in range(200):
        gold = set(rng.choice(codes, size=rng.integers(1, 6), replace=False))
        scored = rng.choice(codes, size=rng.integers(0, 30), replace=False)
        scores = {c: float(rng.integers(0, 5)) / 4 for c in scored}  # many ties
        ranked = rank_codes(scores)
        by_list = average_precision(ranked, gold)
        by_scores = average_precision_of_scores(
            np.array(list(scores.values())), np.array([c in gold for c in scores]), len(gold)
        )
        assert by_list == pytest.approx(by_scores, abs=1e-12)
        metric.update([gold], [scores])
        aps.append(by_list)
    assert metric.compute()["map"] == pytest.approx(np.mean(aps), abs=1e-12)


def test_list_ap_depth_counts_after_removing_repeats():
    assert average_precision(["A", "A", "B"], {"B"}, depth=2) == 0.5
    assert average_precision(["A", "X", "B"], {"B"}, depth=2) == 0.0


# ------------------------------------------------------------------ best-F1 threshold
def test_best_f1_threshold_tie_rules():
    # equal scores are kept or dropped together: no threshold keeps one 0.5 and not the other
    assert best_f1_threshold(np.array([0.5, 0.5, 0.2]), np.array([1, 0, 1]), 2) == (0.2, 0.8)
    # F1 2/3 at 0.9 (1 of 1 predicted) and at 0.6 (2 of 4): the first, highest, wins
    threshold, f1 = best_f1_threshold(np.array([0.9, 0.8, 0.7, 0.6]), np.array([1, 0, 0, 1]), 2)
    assert threshold == 0.9 and f1 == pytest.approx(2 / 3)
    # unscored positives are false negatives at every threshold
    assert best_f1_threshold(np.array([0.9]), np.array([1]), 3) == (0.9, 0.5)
    assert best_f1_threshold(np.zeros(0), np.zeros(0), 1) == (math.inf, 0.0)
    assert best_f1_threshold(np.array([0.4]), np.array([0]), 0) == (math.inf, 0.0)


def test_tune_thresholds_uses_best_f1_threshold():
    gold = [{"A"}, {"B"}, set()]
    scores = [{"A": 0.9, "B": 0.4}, {"A": 0.3, "B": 0.6}, {"C": 0.6}]
    values = np.array([0.9, 0.4, 0.3, 0.6, 0.6])  # the five cells in document order
    labels = np.array([1, 0, 0, 1, 0])
    # at 0.6 both cells scored 0.6 are predicted: 2 of 3 right, F1 0.8 beats 2/3 at 0.9
    assert best_f1_threshold(values, labels, 2) == (0.6, 0.8)
    assert tune_thresholds(gold, scores).global_ == 0.6


# ------------------------------------------------------------------ frequency buckets
def test_default_boundaries_are_the_experiment_protocol():
    assert BUCKETS == ("unseen", "few-shot", "frequent")
    assert BucketBoundaries(unseen_max=0, few_shot_max=5) == DEFAULT_BOUNDARIES
    assert [DEFAULT_BOUNDARIES.bucket(n) for n in (0, 1, 5, 6, 100)] == [
        "unseen",
        "few-shot",
        "few-shot",
        "frequent",
        "frequent",
    ]
    wide = BucketBoundaries(unseen_max=1, few_shot_max=10)
    assert [wide.bucket(n) for n in (1, 2, 10, 11)] == [
        "unseen",
        "few-shot",
        "few-shot",
        "frequent",
    ]
    assert wide.describe() == "unseen 0–1, few-shot 2–10, frequent >10"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"few_shot_max": 0}, "few_shot_max \\(0\\) must be greater than unseen_max \\(0\\)"),
        ({"unseen_max": -1}, "unseen_max must be a whole number >= 0, got -1"),
        ({"few_shot_max": 2.5}, "few_shot_max must be a whole number >= 0, got 2.5"),
    ],
)
def test_bad_boundaries_are_refused(kwargs, message):
    with pytest.raises(IcdbridgeError, match=message):
        BucketBoundaries(**kwargs)


def test_train_frequency_counts_documents_once_from_any_form():
    docs = [Document("a", "", ["A", "A", "B"]), Document("b", "", ["A"])]
    expected = {"A": 2, "B": 1}
    assert train_frequency(docs) == expected
    assert train_frequency([["A", "A", "B"], ["A"]]) == expected
    assert train_frequency({"a": ["A", "A", "B"], "b": {"A"}}) == expected
    with pytest.raises(TypeError, match="not the string 'AB'"):
        train_frequency(["AB"])


def test_bucket_of_and_codes_by_bucket():
    freq = {"A": 7, "B": 1, "C": 5}
    assert [bucket_of(c, freq) for c in "ABCZ"] == ["frequent", "few-shot", "few-shot", "unseen"]
    assert bucket_of("C", freq, BucketBoundaries(few_shot_max=4)) == "frequent"
    assert codes_by_bucket("ABCZ", freq) == {
        "unseen": {"Z"},
        "few-shot": {"B", "C"},
        "frequent": {"A"},
    }


def test_recall_at_k_by_bucket_is_micro_over_gold_pairs():
    freq = {"F": 9}
    # unseen pairs: (d1, U1) at rank 1, (d1, U2) at rank 3, (d2, U1) unranked → micro R@1 1/3,
    # R@3 2/3 (a per-document mean would give R@3 (2/2 + 0/1) / 2 = 1/2)
    gold = [{"U1", "U2"}, {"U1", "F"}]
    scores = [{"U1": 0.9, "F": 0.8, "U2": 0.7}, {"F": 0.5}]
    r = recall_at_k_by_bucket(gold, scores, freq, ks=(1, 3))
    assert r["unseen"] == {
        "recall@1": pytest.approx(1 / 3),
        "recall@3": pytest.approx(2 / 3),
        "n": 3,
    }
    assert r["frequent"] == {"recall@1": 1.0, "recall@3": 1.0, "n": 1}
    assert r["few-shot"]["n"] == 0 and math.isnan(r["few-shot"]["recall@1"])
    # ranked lists rank by position; other boundaries move F into few-shot
    r = recall_at_k_by_bucket(gold, [["U2", "U1"], ["F"]], freq, (1,), BucketBoundaries(0, 9))
    assert r["few-shot"] == {"recall@1": 1.0, "n": 1}
    assert r["unseen"]["recall@1"] == pytest.approx(1 / 3)


def test_experiment_metrics_use_the_library_buckets():
    sys.path.insert(0, str(EXPERIMENT))
    try:
        import metrics
    finally:
        sys.path.remove(str(EXPERIMENT))
    assert metrics.bucket_of is bucket_of and metrics.train_frequency is train_frequency
    gold = [{"A", "Z"}, {"F"}]
    scores = [{"Z": 0.9, "X": 0.8, "A": 0.1}, {"Y": 0.5}]
    freq = {"A": 2, "F": 6}
    ours = metrics.recall_at_k_by_bucket(gold, scores, freq)  # every bucket has one gold pair
    assert ours == recall_at_k_by_bucket(gold, scores, freq, ks=metrics.KS)
    assert list(ours["unseen"]) == [f"recall@{k}" for k in metrics.KS] + ["n"]
    assert ours["unseen"]["recall@1"] == 1.0 and ours["few-shot"]["recall@100"] == 1.0
    assert ours["frequent"]["recall@100"] == 0.0
