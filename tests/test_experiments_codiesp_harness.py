"""The CodiEsp experiment harness: seeded split, label space, bucket metrics by hand."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "experiments" / "codiesp_zeroshot"))

from harness import build_label_space, split_train
from metrics import (
    bucket_of,
    mean_ap,
    micro_f1_at_tuned_threshold,
    recall_at_k_by_bucket,
    train_frequency,
)

from icdbridge.codes import get_terminology
from icdbridge.data import Document


def test_split_is_seeded_and_disjoint():
    docs = [Document(f"d{i}", "") for i in range(20)]
    fit, tune = split_train(docs, seed=1, tune_size=5)
    again = split_train(list(reversed(docs)), seed=1, tune_size=5)
    assert {d.id for d in tune} == {d.id for d in again[1]}
    assert len(fit) == 15 and not {d.id for d in fit} & {d.id for d in tune}


def test_label_space_is_the_release_plus_train_codes_it_does_not_define():
    cm = get_terminology("icd10cm")
    labels = build_label_space(cm, [Document("a", "", ["E11.9", "R51", "W19.XXX"])])
    assert labels[-1:] == ["W19.XXX"]  # R51 is a category of the release: already in the space
    assert "R51" in labels and "E11" in labels and "E11.9" in labels
    assert len(labels) == len(cm.codes()) + 1


def test_bucket_metrics_by_hand():
    train = [Document("t1", "", ["A"]), Document("t2", "", ["A", "B"])] + [
        Document(f"f{i}", "", ["F"]) for i in range(6)
    ]
    freq = train_frequency(train)
    assert [bucket_of(c, freq) for c in "ABFZ"] == ["few-shot", "few-shot", "frequent", "unseen"]
    gold = [{"A", "Z"}, {"F"}]
    scores = [{"Z": 0.9, "X": 0.8, "A": 0.1}, {"Y": 0.5}]
    # doc 1: AP = (1/1 + 2/3) / 2; doc 2: 0
    assert mean_ap(gold, scores) == pytest.approx((1 + 2 / 3) / 2 / 2)
    by_bucket = recall_at_k_by_bucket(gold, scores, freq, ks=(1, 3))
    assert by_bucket["unseen"]["recall@1"] == 1.0 and by_bucket["unseen"]["n"] == 1
    assert by_bucket["few-shot"]["recall@1"] == 0.0 and by_bucket["few-shot"]["recall@3"] == 1.0
    assert by_bucket["frequent"]["recall@3"] == 0.0


def test_threshold_is_tuned_on_tune_only():
    tune_gold = [{"A"}]
    tune_scores = [{"A": 0.7, "B": 0.2}]
    result = micro_f1_at_tuned_threshold(tune_gold, tune_scores, [{"B"}], [{"A": 0.9, "B": 0.5}])
    assert result["threshold"] == 0.7
    assert result["f1"] == 0.0 and result["precision"] == 0.0


def test_cv_ensemble_averages_logits_of_the_same_candidates():
    from cv_choices import mean_scores

    assert mean_scores(({"A": 1.0, "B": -2.0}, {"A": 3.0, "B": 0.0})) == {"A": 2.0, "B": -1.0}
    with pytest.raises(ValueError, match="different candidates"):
        mean_scores(({"A": 1.0}, {"B": 1.0}))


def test_cv_results_keep_each_variant_with_its_seeds_and_ensemble():
    from cv_choices import VARIANTS, ensemble_label, label_of, result_order

    assert label_of("default", 13) == "default" and label_of("bce", 14) == "bce, seed 14"
    keys = [
        "bce",
        ensemble_label("default", [13, 14]),
        "no original",
        label_of("default", 14),
        "calibration",
        "default",
        label_of("bce", 14),
    ]
    assert sorted(keys, key=result_order) == [
        "default",
        "calibration",
        "default, seed 14",
        "default, ensemble of seeds 13 14",
        "no original",
        "bce",
        "bce, seed 14",
    ]
    assert next(iter(VARIANTS)) == "default"


def test_cv_variants_start_from_the_variant_they_name():
    from cv_choices import VARIANTS, resolve_variants

    today = VARIANTS["today, fold label spaces and seventh-character bases"]
    wider = VARIANTS["today, bases and index overlap candidates 30"]
    assert wider == {**today, "index_overlap_k": 30}
    assert VARIANTS["today, bases and negatives 96"]["train"] == {"negatives": 96}
    default = {"x": 0, "y": 0}
    chained = resolve_variants(
        default,
        {
            "c": {"from": "b", "train": {"lr": 1}},
            "b": {"from": "a", "train": {"seed": 2}},
            "a": {"x": 1},
        },
    )
    assert chained["c"] == {"x": 1, "y": 0, "train": {"seed": 2, "lr": 1}}
    for table, message in (
        ({"a": {"from": "nowhere"}}, "names no variant"),
        ({"a": {"from": "b"}, "b": {"from": "a"}}, "makes a cycle"),
        ({"a": {"z": 1}}, "unknown settings"),
    ):
        with pytest.raises(ValueError, match=message):
            resolve_variants(default, table)
