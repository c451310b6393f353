"""Threshold-free ranking metrics: MAP, P@k, R@k, R-precision, AUC-PR / AUC-ROC, coverage error.

A prediction for a document is a ranked list of codes: either a mapping code → score (ranked
by descending score; **ties keep the order in which the codes were given**, e.g. the order of the
JSON object or of the TSV rows) or a plain sequence already in rank order (the CodiEsp run
format, where the file order is the rank). Repeated codes keep their first (best) rank. After
restriction to the metric's code subset, both gold and ranked list only hold codes of the subset.

Per document with gold set ``G`` (``|G| > 0``) and ranked list ``r_1, r_2, ...``:

* **AP** = ``(1/|G|) · Σ_{k : r_k ∈ G} precision@k`` over the whole list. Gold codes never
  ranked contribute 0 to the sum but count in ``|G|``, so a document with no prediction has
  AP 0. **MAP** (``map``) is the mean AP over every document with ``|G| > 0``; documents
  without gold codes have no AP and are left out.
* ``map_codiesp``: the CodiEsp-D/P official value (``codiespD_P_evaluation.py``, trectools
  ``TrecEval.get_map(trec_eval=False)``): the same AP on the first 1000 ranks, averaged over the
  documents present in **both** gold and predictions (a document with no predicted code is left
  out of the mean instead of scoring 0). The official script also lower-cases codes, removes
  repeated codes (first kept) and codes outside its valid-code list before ranking; our readers
  do the equivalent through the terminology layer.
* P@k = hits in the top ``k`` / ``k`` (``k`` fixed even when fewer codes are ranked); R@k = hits
  in the top ``k`` / ``|G|``; R-precision = hits in the top ``|G|`` / ``|G|``; all averaged over
  documents with ``|G| > 0``.
* coverage error (scikit-learn ``coverage_error``): how far down the ranking of the **whole label
  space** one must go to cover every gold code; codes without a score share the lowest rank, so a
  document with an unranked gold code has coverage equal to the label-space size.
* AUC-ROC and AUC-PR (average precision, scikit-learn's step definition), micro (all
  document × code cells of the label space) and macro (mean over codes having at least one
  positive — and for ROC one negative — document). Cells without a score share the lowest score;
  plain ranked lists without scores give every listed code the score 1 (binary AUCs).

The label space is the metric's code subset when given, else every code seen in gold or in the
ranked lists (``compute(label_space=...)`` overrides it).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from icdbridge.eval.base import Metric

DEFAULT_KS = (5, 8, 10, 15, 20, 50)
"""The cut-offs of precision@k and recall@k."""

CODIESP_DEPTH = 1000
"""Ranks beyond this are ignored by the CodiEsp official MAP (trectools default depth)."""


def rank_codes(prediction: Mapping[str, float] | Sequence[str]) -> list[str]:
    """Ranked codes of one document (see the module docstring for ties and repeats).

    Example:
        >>> rank_codes({"B": 0.2, "A": 0.9, "C": 0.2})
        ['A', 'B', 'C']
        >>> rank_codes(["X", "Y", "X"])
        ['X', 'Y']
    """
    if isinstance(prediction, Mapping):
        items = list(prediction.items())
        order = sorted(range(len(items)), key=lambda i: -float(items[i][1]))
        codes = [items[i][0] for i in order]
    else:
        codes = list(prediction)
    return list(dict.fromkeys(codes))


def average_precision(
    ranked: Sequence[str], gold: Iterable[str], depth: int | None = None
) -> float:
    """Average precision of one ranked list against a gold set (the definition above).

    A repeated code keeps its first rank; ``depth`` then keeps only the first ``depth`` ranks
    (``None``: all). For scores rather than a ranked list, :func:`average_precision_of_scores`
    computes the same value (both use one formula; this form needs no sort).

    Example:
        >>> round(average_precision(["A", "X", "B"], {"A", "B", "C"}), 6)  # (1/1 + 2/3) / 3
        0.555556
        >>> average_precision(["A", "A", "B"], {"A"})  # the repeat is not a second hit
        1.0
    """
    gold = set(gold)
    codes = list(dict.fromkeys(ranked))  # a repeated code keeps its first rank
    if depth:
        codes = codes[:depth]
    is_gold = np.fromiter((c in gold for c in codes), dtype=bool, count=len(codes))
    return _ap_of_ranked_hits(is_gold, len(gold))


def _ap_of_ranked_hits(hits: np.ndarray, n_gold: int) -> float:
    """AP from gold flags already in rank order (the formula both public forms use)."""
    n_hits = int(hits.sum())
    if n_gold < n_hits:
        raise ValueError(f"n_gold={n_gold} is smaller than the {n_hits} gold flags")
    if n_gold == 0 or n_hits == 0:
        return 0.0
    positions = np.flatnonzero(hits) + 1
    return float((np.arange(1, n_hits + 1) / positions).sum() / n_gold)


def average_precision_of_scores(scores: np.ndarray, is_gold: np.ndarray, n_gold: int) -> float:
    """Average precision of one document's scored codes (vectorised :func:`average_precision`).

    The codes are ranked by descending score with a **stable** sort (equal scores keep the
    order in which they were given); ``is_gold`` flags the gold codes among them. ``n_gold`` is
    the size of the whole gold set, so gold codes absent from ``scores`` count as misses.

    Args:
        scores: the scores of the ranked codes (any order).
        is_gold: same length, true where the code is gold.
        n_gold: number of gold codes of the document (at least ``is_gold.sum()``).

    Returns:
        The AP, ``0.0`` when ``n_gold == 0``.

    Raises:
        ValueError: different lengths, or ``n_gold`` smaller than the gold flags.

    Example:
        >>> scores = np.array([0.2, 0.9, 0.5])  # ranked: 2nd (gold), 3rd, 1st (gold)
        >>> round(average_precision_of_scores(scores, np.array([1, 1, 0]), 3), 6)  # (1 + 2/3)/3
        0.555556
        >>> average_precision_of_scores(np.array([0.5, 0.5]), np.array([0, 1]), 1)  # tie: order
        0.5
    """
    scores = np.asarray(scores, dtype=np.float64).ravel()
    hits = np.asarray(is_gold, dtype=bool).ravel()
    if len(scores) != len(hits):
        raise ValueError(f"{len(scores)} scores but {len(hits)} gold flags")
    return _ap_of_ranked_hits(hits[np.argsort(-scores, kind="stable")], n_gold)


def _curve(
    scores: np.ndarray, labels: np.ndarray, bottom_pos: int = 0, bottom_neg: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Cumulative (TP, FP) at each distinct threshold, descending; a bottom tie group appended."""
    order = np.argsort(-scores, kind="stable")
    s, y = scores[order], labels[order].astype(np.int64)
    if len(s):
        last = np.r_[np.nonzero(np.diff(s))[0], len(s) - 1]
        tps = np.cumsum(y)[last]
        fps = last + 1 - tps
    else:
        tps = fps = np.zeros(0, dtype=np.int64)
    if bottom_pos or bottom_neg:
        base_tp = tps[-1] if len(tps) else 0
        base_fp = fps[-1] if len(fps) else 0
        tps = np.r_[tps, base_tp + bottom_pos]
        fps = np.r_[fps, base_fp + bottom_neg]
    return tps.astype(np.float64), fps.astype(np.float64)


def binary_auc(
    scores: np.ndarray, labels: np.ndarray, bottom_pos: int = 0, bottom_neg: int = 0
) -> tuple[float | None, float | None]:
    """(AUC-ROC, average precision) of scored cells plus a tied lowest group of unscored cells.

    ``None`` where undefined (no positive; for ROC also no negative).

    Example:
        >>> roc, ap = binary_auc(np.array([0.9, 0.8, 0.3]), np.array([1, 0, 1]), bottom_neg=1)
        >>> round(roc, 6), round(ap, 6)
        (0.75, 0.833333)
    """
    tps, fps = _curve(
        np.asarray(scores, dtype=np.float64), np.asarray(labels), bottom_pos, bottom_neg
    )
    pos = tps[-1] if len(tps) else 0.0
    neg = fps[-1] if len(fps) else 0.0
    if pos == 0:
        return None, None
    precision = tps / np.maximum(tps + fps, 1)
    recall = tps / pos
    ap = float(np.sum(np.diff(np.r_[0.0, recall]) * precision))
    if neg == 0:
        return None, ap
    tpr, fpr = np.r_[0.0, recall], np.r_[0.0, fps / neg]
    roc = float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2))
    return roc, ap


def precision_recall_points(
    scores: np.ndarray, labels: np.ndarray, bottom_pos: int = 0, bottom_neg: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """(precision, recall) at every distinct threshold, for plotting a PR curve."""
    tps, fps = _curve(
        np.asarray(scores, dtype=np.float64), np.asarray(labels), bottom_pos, bottom_neg
    )
    pos = tps[-1] if len(tps) else 0.0
    if pos == 0:
        return np.zeros(0), np.zeros(0)
    return tps / np.maximum(tps + fps, 1), tps / pos


class RankingMetrics(Metric):
    """MAP, P@k, R@k, R-precision, coverage error and AUCs (see the module docstring).

    Args:
        codes: restrict gold and ranked lists to these codes (``None``: all codes).
        ks: the cut-offs of P@k and R@k.
        codiesp_valid: for ``map_codiesp`` only, predicted codes failing this test are removed
            before ranking, as the official script removes codes outside its valid-code list
            (``None``: keep all).

    Example:
        >>> m = RankingMetrics(ks=(1, 2))
        >>> m.update([{"A", "B"}], [{"A": 0.9, "X": 0.5, "B": 0.1}])
        >>> m.update([{"C"}], [["C"]])
        >>> r = m.compute()
        >>> round(r["map"], 6), r["recall@2"], r["precision@1"]
        (0.916667, 0.75, 1.0)
    """

    def __init__(
        self,
        codes: Iterable[str] | None = None,
        ks: Sequence[int] = DEFAULT_KS,
        codiesp_valid: Callable[[str], bool] | None = None,
    ) -> None:
        self.ks = tuple(sorted(set(ks)))
        self.codiesp_valid = codiesp_valid
        super().__init__(codes)

    def reset(self) -> None:
        self.n_docs = 0
        self.ap: list[float] = []
        self.ap_codiesp: list[float] = []
        self.has_prediction: list[bool] = []
        self.n_gold: list[int] = []
        self.hits: list[list[int]] = []  # per doc: hits in top k for each k
        self.rprec: list[float] = []
        self.coverage: list[int] = []  # -1: a gold code is unranked → label-space size
        self.seen_codes: set[str] = set()
        self._doc: list[np.ndarray] = []
        self._code: list[str] = []
        self._score: list[np.ndarray] = []
        self._gold: list[np.ndarray] = []
        self.unranked_gold: list[tuple[int, str]] = []
        self.scored = True

    def update(
        self,
        gold: Sequence[Iterable[str]],
        predictions: Sequence[Mapping[str, float] | Sequence[str]],
    ) -> None:
        """Add documents: gold code sets and, per document, scores or a ranked list."""
        if len(gold) != len(predictions):
            raise ValueError(f"{len(gold)} gold documents but {len(predictions)} predictions")
        for gold_codes, prediction in zip(gold, predictions, strict=True):
            g = self._keep(gold_codes)
            has_scores = isinstance(prediction, Mapping)
            self.scored = self.scored and (has_scores or not prediction)
            ranked = [c for c in rank_codes(prediction) if self.codes is None or c in self.codes]
            doc = self.n_docs
            self.n_docs += 1
            self.seen_codes.update(g)
            self.seen_codes.update(ranked)
            is_gold = np.fromiter((c in g for c in ranked), dtype=bool, count=len(ranked))
            if has_scores:
                scores = np.fromiter(
                    (float(prediction[c]) for c in ranked), dtype=np.float64, count=len(ranked)
                )
            else:
                scores = np.ones(len(ranked))
            self._doc.append(np.full(len(ranked), doc, dtype=np.int64))
            self._code.extend(ranked)
            self._score.append(scores)
            self._gold.append(is_gold)
            for code in g.difference(ranked):
                self.unranked_gold.append((doc, code))
            self.n_gold.append(len(g))
            self.has_prediction.append(bool(ranked))
            if not g:
                continue
            cum = np.cumsum(is_gold)
            positions = np.nonzero(is_gold)[0] + 1
            # ``ranked`` is already in rank order: the stable sort keeps it
            self.ap.append(average_precision_of_scores(scores, is_gold, len(g)))
            if self.codiesp_valid is None:
                valid_ranked = ranked
            else:
                valid_ranked = [c for c in ranked if self.codiesp_valid(c)]
            self.ap_codiesp.append(average_precision(valid_ranked, g, depth=CODIESP_DEPTH))
            self.has_prediction[-1] = bool(valid_ranked)
            self.hits.append([int(cum[min(k, len(cum)) - 1]) if len(cum) else 0 for k in self.ks])
            r = min(len(g), len(cum))
            self.rprec.append((int(cum[r - 1]) if r else 0) / len(g))
            if len(positions) < len(g):
                self.coverage.append(-1)
            else:
                # codes tied with or above the lowest-scored gold code
                if has_scores:
                    lowest = scores[is_gold].min()
                    self.coverage.append(int((scores >= lowest).sum()))
                else:
                    self.coverage.append(int(positions.max()))

    def per_document(self) -> dict[str, np.ndarray]:
        """Per document with gold codes (update order): ``ap``, ``recall@k``, ``precision@k``."""
        out: dict[str, np.ndarray] = {"ap": np.asarray(self.ap)}
        n_gold = np.asarray([n for n in self.n_gold if n], dtype=np.float64)
        hits = np.asarray(self.hits, dtype=np.float64).reshape(-1, len(self.ks))
        for j, k in enumerate(self.ks):
            out[f"recall@{k}"] = hits[:, j] / np.maximum(n_gold, 1)
            out[f"precision@{k}"] = hits[:, j] / k
        out["r_precision"] = np.asarray(self.rprec)
        return out

    def _label_space(self, label_space: Iterable[str] | None) -> list[str]:
        if label_space is not None:
            return sorted(set(label_space))
        if self.codes is not None:
            return sorted(self.codes)
        return sorted(self.seen_codes)

    def _cells(self, labels: list[str]) -> dict[str, Any]:
        ids = {c: i for i, c in enumerate(labels)}
        codes = np.fromiter(
            (ids.get(c, -1) for c in self._code), dtype=np.int64, count=len(self._code)
        )
        doc = np.concatenate(self._doc) if self._doc else np.zeros(0, dtype=np.int64)
        score = np.concatenate(self._score) if self._score else np.zeros(0)
        gold = np.concatenate(self._gold) if self._gold else np.zeros(0, dtype=bool)
        keep = codes >= 0
        unranked = np.asarray([ids.get(c, -1) for _, c in self.unranked_gold], dtype=np.int64)
        unranked = unranked[unranked >= 0]
        return {
            "code": codes[keep],
            "doc": doc[keep],
            "score": score[keep],
            "gold": gold[keep],
            "unranked": unranked,
        }

    def curves(self, label_space: Iterable[str] | None = None) -> dict[str, np.ndarray]:
        """Micro precision-recall curve points over the label space."""
        labels = self._label_space(label_space)
        cells = self._cells(labels)
        bottom_pos = len(cells["unranked"])
        bottom_neg = self.n_docs * len(labels) - len(cells["code"]) - bottom_pos
        precision, recall = precision_recall_points(
            cells["score"], cells["gold"], bottom_pos, bottom_neg
        )
        return {"precision": precision, "recall": recall}

    def compute(self, label_space: Iterable[str] | None = None) -> dict[str, Any]:
        labels = self._label_space(label_space)
        per_doc = self.per_document()
        n_with_gold = len(self.ap)

        def mean(values: Sequence[float] | np.ndarray) -> float:
            return float(np.mean(values)) if len(values) else 0.0

        out: dict[str, Any] = {
            "n_documents": self.n_docs,
            "n_documents_with_gold": n_with_gold,
            "n_labels": len(labels),
            "scored": self.scored,
            "map": mean(self.ap),
        }
        with_gold_and_pred = [
            has for has, n in zip(self.has_prediction, self.n_gold, strict=True) if n
        ]
        out["map_codiesp"] = mean(
            [ap for ap, has in zip(self.ap_codiesp, with_gold_and_pred, strict=True) if has]
        )
        for k in self.ks:
            out[f"precision@{k}"] = mean(per_doc[f"precision@{k}"])
        for k in self.ks:
            out[f"recall@{k}"] = mean(per_doc[f"recall@{k}"])
        out["r_precision"] = mean(per_doc["r_precision"])
        coverage = np.asarray(self.coverage, dtype=np.float64)
        coverage[coverage < 0] = len(labels)
        out["coverage_error"] = mean(coverage)
        out.update(self._aucs(labels))
        return out

    def _aucs(self, labels: list[str]) -> dict[str, float | None]:
        cells = self._cells(labels)
        n_cells = self.n_docs * len(labels)
        bottom_pos = len(cells["unranked"])
        bottom_neg = n_cells - len(cells["code"]) - bottom_pos
        micro_roc, micro_ap = binary_auc(cells["score"], cells["gold"], bottom_pos, bottom_neg)
        order = np.argsort(cells["code"], kind="stable")
        code_sorted = cells["code"][order]
        starts = np.searchsorted(code_sorted, np.arange(len(labels) + 1))
        unranked_count = np.bincount(cells["unranked"], minlength=len(labels))
        rocs, aps = [], []
        for j in range(len(labels)):
            sl = order[starts[j] : starts[j + 1]]
            pos_bottom = int(unranked_count[j])
            neg_bottom = self.n_docs - len(sl) - pos_bottom
            roc, ap = binary_auc(cells["score"][sl], cells["gold"][sl], pos_bottom, neg_bottom)
            if roc is not None:
                rocs.append(roc)
            if ap is not None:
                aps.append(ap)
        return {
            "auc_roc_micro": micro_roc,
            "auc_roc_macro": float(np.mean(rocs)) if rocs else None,
            "auc_pr_micro": micro_ap,
            "auc_pr_macro": float(np.mean(aps)) if aps else None,
            "n_labels_auc_roc_macro": len(rocs),
            "n_labels_auc_pr_macro": len(aps),
        }
