"""Metrics of icdbridge.eval: CoPHE hand-check fixture, scikit-learn agreement, batching, MAP."""

from __future__ import annotations

import doctest
import importlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn import metrics as skm

from conftest import require_data
from icdbridge.eval import (
    CopheHierarchy,
    CopheMetrics,
    FlatMetrics,
    RankingMetrics,
    average_precision,
    evaluate,
    evaluate_ranking,
    frequency_buckets,
    train_counts,
    tune_thresholds,
)

# ----------------------------------------------------------------- CoPHE hand-check fixture
GOLD = {
    "t1": ["427.31", "401.9"],
    "t2": ["427.31", "427.32", "250.00"],
    "t3": ["042", "428.0"],
    "t4": ["250.00", "250.01"],
    "t5": [],
}
PRED = {
    "t1": ["427.32", "401.9"],
    "t2": ["427.31", "250.01"],
    "t3": ["042", "427.41"],
    "t4": [],
    "t5": ["401.1"],
}


@pytest.fixture(scope="module")
def icd9_cophe() -> CopheHierarchy:
    return CopheHierarchy.from_file(require_data("cophe-icd9", "icd9_graph_desc.json"))


def _cophe(hierarchy, mode: str, batches=((0, 5),)) -> dict:
    metric = CopheMetrics(hierarchy, mode=mode)
    docs = sorted(GOLD)
    for start, stop in batches:
        metric.update([GOLD[d] for d in docs[start:stop]], [PRED[d] for d in docs[start:stop]])
    return metric.compute()


def _check(entry: dict, tp: int, fp: int, fn: int, p: float, r: float, f: float) -> None:
    assert (entry["tp"], entry["fp"], entry["fn"]) == (tp, fp, fn)
    assert round(entry["micro_precision"], 6) == p
    assert round(entry["micro_recall"], 6) == r
    assert round(entry["micro_f1"], 6) == f


def test_cophe_compat_reproduces_reference_numbers(icd9_cophe):
    report = _cophe(icd9_cophe, "compat")
    _check(report["flat"], 3, 4, 6, 0.428571, 0.333333, 0.375)
    _check(report["levels"]["L2"], 4, 2, 4, 0.666667, 0.5, 0.571429)
    assert report["levels"]["L2"]["set_based"]["fn"] == 2
    _check(report["overall"], 16, 8, 16, 0.666667, 0.5, 0.571429)
    # the other levels, from the reference implementation's definition
    _check(report["levels"]["L1"], 1, 3, 5, 0.25, 0.166667, 0.2)
    _check(report["levels"]["L3"], 5, 2, 4, 0.714286, 0.555556, 0.625)
    _check(report["levels"]["L4"], 6, 1, 3, 0.857143, 0.666667, 0.75)
    # macro over all columns of the label space; macro F1 = harmonic mean of macro P and R
    l2 = report["levels"]["L2"]
    assert l2["n_columns"] == 6  # 427.3, 250.0, 401.9, 401.1, 428.0, 427.4 (not 042)
    assert (round(l2["macro_precision"], 6), round(l2["macro_recall"], 6)) == (0.5, 0.333333)
    assert round(l2["macro_f1"], 6) == 0.4
    macros = {
        name: tuple(
            round(report["levels"][name][f"macro_{m}"], 6) for m in ("precision", "recall", "f1")
        )
        for name in ("L1", "L3", "L4")
    }
    assert macros == {
        "L1": (0.2, 0.1, 0.133333),
        "L3": (0.633333, 0.6, 0.616216),
        "L4": (0.875, 0.770833, 0.81962),
    }
    overall = report["overall"]
    assert round(overall["macro_precision"], 6) == 0.533333
    assert round(overall["macro_recall"], 6) == 0.429167
    assert round(overall["macro_f1"], 6) == 0.475613
    set_based = overall["set_based"]
    assert (set_based["tp"], set_based["fp"], set_based["fn"]) == (16, 8, 10)
    assert round(set_based["micro_f1"], 6) == 0.64


def test_cophe_two_batches_equal_one(icd9_cophe):
    one = _cophe(icd9_cophe, "compat")
    two = _cophe(icd9_cophe, "compat", batches=((0, 2), (2, 5)))
    for name in one["levels"]:
        assert one["levels"][name] == two["levels"][name]
    assert one["overall"] == two["overall"]


def test_cophe_default_mode_counts_shallow_leaves(icd9_cophe):
    report = _cophe(icd9_cophe, "default")
    levels = report["levels"]
    assert list(levels) == ["code", "4-character", "category", "block", "chapter"]
    # every code at the code level: equal to flat evaluation
    _check(levels["code"], 3, 4, 6, 0.428571, 0.333333, 0.375)
    # same propagation as the reference above the leaves
    assert (levels["4-character"]["tp"], levels["4-character"]["fp"]) == (4, 2)
    assert (levels["category"]["tp"], levels["block"]["tp"]) == (5, 6)
    assert (levels["chapter"]["tp"], levels["chapter"]["fp"], levels["chapter"]["fn"]) == (6, 1, 3)


def test_cophe_explicit_label_space_adds_empty_columns(icd9_cophe):
    docs = sorted(GOLD)
    labels = [*sorted({c for d in docs for c in GOLD[d] + PRED[d]}), "401.0"]
    metric = CopheMetrics(icd9_cophe, mode="compat", label_space=labels)
    metric.update([GOLD[d] for d in docs], [PRED[d] for d in docs])
    report = metric.compute()
    # 401.0 adds an all-zero L2 column: micro unchanged, macro P diluted (3 / 7 instead of 3 / 6)
    assert report["levels"]["L2"]["n_columns"] == 7
    assert report["levels"]["L2"]["tp"] == 4
    assert round(report["levels"]["L2"]["macro_precision"], 6) == round(3 / 7, 6)


def test_cophe_codes_outside_hierarchy_are_reported(icd9_cophe):
    metric = CopheMetrics(icd9_cophe, mode="default")
    metric.update([{"427.31", "XYZ.9"}], [{"427.31"}])
    report = metric.compute()
    assert report["n_codes_outside_hierarchy"] == 1
    assert report["codes_outside_hierarchy"] == ["XYZ.9"]
    assert report["levels"]["code"]["fn"] == 1


def test_cophe_compat_needs_cophe_hierarchy():
    from icdbridge.errors import IcdbridgeError

    metric = CopheMetrics(None, mode="compat")
    metric.update([{"A"}], [{"A"}])
    with pytest.raises(IcdbridgeError, match="compat"):
        metric.compute()


# ----------------------------------------------------------------- flat vs scikit-learn
def _random(seed: int, n_docs: int = 40, n_codes: int = 12):
    rng = np.random.default_rng(seed)
    codes = [f"C{i:02d}" for i in range(n_codes)]
    y = rng.random((n_docs, n_codes)) < 0.25
    y[:, 0] = True  # at least one gold code per document for ranking metrics
    y[0, 0] = False
    y[0, 1] = True
    s = rng.random((n_docs, n_codes))
    s = np.where(y, s + 0.3, s)
    p = s > 0.8
    gold = [{codes[j] for j in np.flatnonzero(row)} for row in y]
    pred = [{codes[j] for j in np.flatnonzero(row)} for row in p]
    scores = [{codes[j]: float(s[i, j]) for j in range(n_codes)} for i in range(n_docs)]
    return codes, y, p, s, gold, pred, scores


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_flat_metrics_match_sklearn(seed):
    codes, y, p, _, gold, pred, _ = _random(seed)
    metric = FlatMetrics(codes=codes)
    metric.update(gold, pred)
    r = metric.compute()
    assert r["micro_f1"] == pytest.approx(skm.f1_score(y, p, average="micro", zero_division=0))
    assert r["micro_precision"] == pytest.approx(
        skm.precision_score(y, p, average="micro", zero_division=0)
    )
    assert r["micro_recall"] == pytest.approx(
        skm.recall_score(y, p, average="micro", zero_division=0)
    )
    assert r["macro_f1_all"] == pytest.approx(skm.f1_score(y, p, average="macro", zero_division=0))
    assert r["macro_precision_all"] == pytest.approx(
        skm.precision_score(y, p, average="macro", zero_division=0)
    )
    supported = y.sum(axis=0) > 0
    assert r["macro_f1"] == pytest.approx(
        skm.f1_score(y[:, supported], p[:, supported], average="macro", zero_division=0)
    )
    assert r["exact_match"] == pytest.approx(skm.accuracy_score(y, p))
    assert r["jaccard"] == pytest.approx(
        skm.jaccard_score(y, p, average="samples", zero_division=1)
    )


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_ranking_metrics_match_sklearn(seed):
    codes, y, _, s, gold, _, scores = _random(seed)
    metric = RankingMetrics(codes=codes)
    metric.update(gold, scores)
    r = metric.compute()
    per_doc_ap = [skm.average_precision_score(y[i], s[i]) for i in range(len(y))]
    assert r["map"] == pytest.approx(np.mean(per_doc_ap))
    assert r["auc_roc_micro"] == pytest.approx(skm.roc_auc_score(y, s, average="micro"))
    assert r["auc_pr_micro"] == pytest.approx(skm.average_precision_score(y, s, average="micro"))
    valid = (y.sum(axis=0) > 0) & (y.sum(axis=0) < len(y))
    assert r["auc_roc_macro"] == pytest.approx(
        skm.roc_auc_score(y[:, valid], s[:, valid], average="macro")
    )
    assert r["auc_pr_macro"] == pytest.approx(
        skm.average_precision_score(
            y[:, y.sum(axis=0) > 0], s[:, y.sum(axis=0) > 0], average="macro"
        )
    )
    assert r["coverage_error"] == pytest.approx(skm.coverage_error(y, s))
    for k in (5, 8, 10):
        top = np.argsort(-s, axis=1)[:, :k]
        hits = np.take_along_axis(y, top, axis=1).sum(axis=1)
        assert r[f"recall@{k}"] == pytest.approx(np.mean(hits / y.sum(axis=1)))
        assert r[f"precision@{k}"] == pytest.approx(np.mean(hits / k))


def test_ranking_with_unscored_cells_matches_sklearn_with_lowest_fill():
    codes, y, _, _s, gold, _, scores = _random(7)
    sparse_scores = [{c: v for c, v in row.items() if v > 0.5} for row in scores]
    filled = np.array([[row.get(c, -1.0) for c in codes] for row in sparse_scores])
    metric = RankingMetrics(codes=codes)
    metric.update(gold, sparse_scores)
    r = metric.compute()
    assert r["auc_roc_micro"] == pytest.approx(skm.roc_auc_score(y, filled, average="micro"))
    assert r["auc_pr_micro"] == pytest.approx(
        skm.average_precision_score(y, filled, average="micro")
    )
    assert r["coverage_error"] == pytest.approx(skm.coverage_error(y, filled))


@pytest.mark.parametrize("metric_cls", [FlatMetrics, RankingMetrics])
def test_two_batches_equal_one_batch(metric_cls):
    _codes, _, _, _, gold, pred, scores = _random(5)
    second = scores if metric_cls is RankingMetrics else pred
    one = metric_cls()
    one.update(gold, second)
    two = metric_cls()
    two.update(gold[:13], second[:13])
    two.update(gold[13:], second[13:])
    assert one.compute() == two.compute()
    two.reset()
    two.update(gold, second)
    assert one.compute() == two.compute()


def test_subset_restriction_removes_other_codes():
    metric = FlatMetrics(codes={"A"})
    metric.update([{"A", "B"}], [{"A", "C"}])
    r = metric.compute()
    assert (r["tp"], r["fp"], r["fn"], r["exact_match"]) == (1, 0, 0, 1.0)


def test_empty_gold_and_empty_prediction_documents():
    metric = FlatMetrics()
    metric.update([set(), {"A"}, set()], [set(), set(), {"B"}])
    r = metric.compute()
    assert (r["tp"], r["fp"], r["fn"]) == (0, 1, 1)
    assert r["exact_match"] == pytest.approx(1 / 3)  # the empty/empty document matches
    assert r["jaccard"] == pytest.approx(1 / 3)
    ranking = RankingMetrics()
    ranking.update([set(), {"A"}], [{"B": 1.0}, {}])
    rr = ranking.compute()
    assert rr["n_documents_with_gold"] == 1
    assert rr["map"] == 0.0  # the document with gold but no prediction scores 0


# ----------------------------------------------------------------- MAP (CodiEsp definition)
def test_map_matches_codiesp_official_definition_hand_computed():
    # made-up documents in the layout of the CodiEsp toy files: invalid codes (CODE*),
    # a repeated prediction, repeated gold rows, and a gold document without predictions
    gold = [
        {"Q64.4", "N39.0", "Z87.440"},
        {"A53.9", "N48.30"},
        {"M89.9", "R52", "D49.2", "K02.9", "K13.79"},
    ]
    ranked = [
        ["Q64.4", "N48.30", "CODE6", "N39.0", "Z87.4", "A53.9", "CODE7"],
        [],
        ["M89.9", "A53.9", "R52", "N39.0", "CODE3", "CODE4", "M89.9", "CODE11"],
    ]
    metric = RankingMetrics(codiesp_valid=lambda code: not code.startswith("CODE"))
    metric.update(gold, ranked)
    r = metric.compute()
    # official: invalid codes removed before ranking; documents without predictions left out
    # doc1: hits at ranks 1 and 3 → (1 + 2/3) / 3; doc3: hits at 1 and 3 → (1 + 2/3) / 5
    assert round(r["map_codiesp"], 6) == round(((1 + 2 / 3) / 3 + (1 + 2 / 3) / 5) / 2, 6)
    assert round(r["map_codiesp"], 6) == 0.444444
    # ours: invalid predictions keep their rank, documents without predictions score 0
    assert round(r["map"], 6) == round(((1 + 2 / 4) / 3 + 0 + (1 + 2 / 3) / 5) / 3, 6)


def test_average_precision_ties_keep_given_order():
    assert average_precision(["A", "B"], {"B"}) == 0.5
    metric = RankingMetrics(ks=(1,))
    metric.update([{"B"}], [{"A": 0.5, "B": 0.5}])
    assert metric.compute()["map"] == 0.5


# ----------------------------------------------------------------- buckets, thresholds
def test_frequency_buckets_from_training_file(tmp_path):
    from icdbridge.eval import read_codes

    train = tmp_path / "train.tsv"
    rows = [f"d{i}\tA\n" for i in range(7)] + ["d1\tB\n", "d2\tB\n", "d2\tB\n"]
    train.write_text("".join(rows), encoding="utf-8")
    counts = train_counts(read_codes(train).docs)
    assert counts == {"A": 7, "B": 2}
    buckets = frequency_buckets({"A", "B", "C"}, counts)
    assert buckets == {"unseen": {"C"}, "few-shot": {"B"}, "frequent": {"A"}}
    r = evaluate_ranking(
        {"x": {"A", "C"}}, {"x": {"C": 0.9, "A": 0.8}}, train_counts=counts, ks=(1,)
    )
    assert r["by_frequency"]["unseen"]["recall@1"] == 1.0
    assert r["by_frequency"]["frequent"]["recall@1"] == 1.0  # ranked among its bucket only
    assert r["overall"]["recall@1"] == 0.5
    assert r["by_frequency"]["few-shot"]["n_documents_with_gold"] == 0


def test_threshold_tuned_per_code_and_applied():
    dev_gold = [{"A"}, {"B"}, {"A", "B"}]
    dev_scores = [{"A": 0.9, "B": 0.2}, {"A": 0.1, "B": 0.3}, {"A": 0.7, "B": 0.35}]
    thresholds = tune_thresholds(dev_gold, dev_scores, "per_code")
    assert thresholds.per_code == {"A": 0.7, "B": 0.3}
    assert thresholds.apply({"A": 0.75, "B": 0.31}) == {"A", "B"}
    result = evaluate(
        {"x": {"A"}}, {"x": {"A": 0.75, "B": 0.1}}, thresholds=thresholds, bootstrap=0
    )
    assert result["flat"]["micro_f1"]["value"] == 1.0
    assert result["inputs"]["threshold"]["mode"] == "per_code"


def test_bootstrap_is_seeded_and_brackets_the_value():
    _codes, _, _, _, gold, _pred, scores = _random(3)
    g = {str(i): x for i, x in enumerate(gold)}
    p = {str(i): x for i, x in enumerate(scores)}
    a = evaluate(g, p, bootstrap=200, seed=4)
    b = evaluate(g, p, bootstrap=200, seed=4)
    assert a["flat"]["micro_f1"] == b["flat"]["micro_f1"]
    low, high = a["ranking"]["map"]["ci95"]
    assert low <= a["ranking"]["map"]["value"] <= high
    assert low < high


# ----------------------------------------------------------------- doctests
@pytest.mark.parametrize(
    "module",
    [
        "base",
        "flat",
        "ranking",
        "cophe",
        "threshold",
        "breakdown",
        "buckets",
        "families",
        "compare",
        "result",
        "bootstrap",
        "labels",
        "evaluate",
        "hierarchy",
        "crossversion",
    ],
)
def test_docstring_examples(module):
    mod = importlib.import_module(f"icdbridge.eval.{module}")
    result = doctest.testmod(mod, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0


# ----------------------------------------------------------------- other hierarchies
def test_cophe_default_on_icd9cm_terminology_matches_cophe_json(icd9_cophe):
    from icdbridge.eval import resolve_hierarchy

    terminology = resolve_hierarchy(system="icd9cm")
    assert terminology.levels("427.31")["4-character"] == "427.3"
    ours = _cophe(terminology, "default")
    reference_tree = _cophe(icd9_cophe, "default")
    for level in ("code", "4-character", "category"):
        a, b = ours["levels"][level], reference_tree["levels"][level]
        assert (a["tp"], a["fp"], a["fn"]) == (b["tp"], b["fp"], b["fn"])


def test_cophe_default_on_custom_hierarchy_file(tmp_path):
    from icdbridge.eval import resolve_hierarchy

    path = tmp_path / "tiny.csv"
    path.write_text(
        "code,parent,title,kind\n"
        "X,,Chapter X,chapter\n"
        "X1-X2,X,Block,block\n"
        "X1,X1-X2,Cat 1,category\n"
        "X1.1,X1,Sub 1.1,subcategory\n"
        "X1.2,X1,Sub 1.2,subcategory\n"
        "X2,X1-X2,Cat 2,category\n",
        encoding="utf-8",
    )
    tree = resolve_hierarchy(hierarchy=path)
    metric = CopheMetrics(tree, mode="default")
    metric.update([{"X1.1", "X2"}], [{"X1.2", "X2"}])
    report = metric.compute()
    # X1.1 is three characters without its dot
    assert list(report["levels"]) == ["code", "3-character", "category", "block", "chapter"]
    assert report["levels"]["code"]["tp"] == 1
    category = report["levels"]["category"]
    assert (category["tp"], category["fp"], category["fn"]) == (2, 0, 0)  # X1 matched via X1.2
    chapter = report["levels"]["chapter"]
    assert (chapter["tp"], chapter["fp"], chapter["fn"]) == (2, 0, 0)  # counts, not max


# ----------------------------------------------------------------- property: sparse == dense
class _Tiny:
    """A two-chapter toy hierarchy for property tests (no data needed)."""

    name = "tiny"

    def levels(self, code: str) -> dict[str, str]:
        return {"code": code, "category": code[:2], "chapter": code[:1]}

    def contains(self, code: str) -> bool:
        return True

    def normalize(self, code: str) -> str:
        return code

    def chapter(self, code: str) -> str:
        return code[:1]


_TINY_TREE = _Tiny()
CODES_POOL = ["A1.1", "A1.2", "A2.1", "B1.1", "B1.2", "B3"]


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(st.sets(st.sampled_from(CODES_POOL)), st.sets(st.sampled_from(CODES_POOL))),
        min_size=1,
        max_size=8,
    ),
    st.integers(min_value=0, max_value=8),
)
def test_cophe_sparse_equals_dense_definition_and_batches(docs, split):
    tree = _TINY_TREE
    gold = [g for g, _ in docs]
    pred = [p for _, p in docs]
    one = CopheMetrics(tree, mode="default")
    one.update(gold, pred)
    report = one.compute()
    two = CopheMetrics(tree, mode="default")
    two.update(gold[:split], pred[:split])
    two.update(gold[split:], pred[split:])
    assert two.compute()["overall"] == report["overall"]
    # direct definition: per document and ancestor, counts of codes under it
    for level in ("category", "chapter"):
        tp = fp = fn = 0
        for g, p in zip(gold, pred, strict=True):
            nodes = {tree.levels(c).get(level) for c in g | p} - {None}
            for node in nodes:
                x = sum(tree.levels(c).get(level) == node for c in p)
                y = sum(tree.levels(c).get(level) == node for c in g)
                tp, fp, fn = tp + min(x, y), fp + max(x - y, 0), fn + max(y - x, 0)
        entry = report["levels"].get(level, {"tp": 0, "fp": 0, "fn": 0})  # absent: no codes
        assert (entry["tp"], entry["fp"], entry["fn"]) == (tp, fp, fn)
