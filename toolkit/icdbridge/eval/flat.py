"""Flat, thresholded multi-label metrics: micro / macro P, R, F1, exact match, Jaccard.

Definitions (a document's gold set ``G`` and predicted set ``P``, after restriction to the
metric's code subset):

* micro P / R / F1: TP, FP, FN summed over documents and codes; ``0/0 → 0``.
* macro P / R / F1 (``macro_*``): the mean over codes **with gold support** of the per-code
  P, R and F1 (each ``0/0 → 0``); ``macro_*_all``: the mean over **all** codes of the subset
  (when no subset is given: every code seen in gold or predictions), codes never seen scoring 0
  — the scikit-learn ``average="macro"`` value with ``labels=`` that set and ``zero_division=0``.
* exact match ratio: share of documents with ``P == G`` (scikit-learn subset accuracy).
* Jaccard ("code accuracy"): mean over documents of ``|G ∩ P| / |G ∪ P|``, a document with
  ``G = P = ∅`` scoring 1 (scikit-learn ``jaccard_score(average="samples", zero_division=1)``).

Per-document and per-code counts are kept for reports and bootstrap intervals.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from icdbridge.eval.base import Metric, f1, prf, safe_divide


class FlatMetrics(Metric):
    """Thresholded multi-label P / R / F1, exact match and Jaccard (see the module docstring).

    Args:
        codes: restrict every count to these codes (``None``: all codes).

    Example:
        >>> m = FlatMetrics()
        >>> m.update([{"A", "B"}, {"C"}], [{"A"}, {"C", "D"}])
        >>> r = m.compute()
        >>> r["micro_precision"], r["micro_recall"], r["exact_match"]
        (0.6666666666666666, 0.6666666666666666, 0.0)
        >>> round(r["jaccard"], 6), round(r["macro_f1"], 6)
        (0.5, 0.666667)
    """

    def reset(self) -> None:
        self.doc_tp: list[int] = []
        self.doc_fp: list[int] = []
        self.doc_fn: list[int] = []
        self.code_counts: dict[str, list[int]] = {}  # code → [tp, fp, fn]

    def update(self, gold: Sequence[Iterable[str]], pred: Sequence[Iterable[str]]) -> None:
        """Add documents: ``gold[i]`` and ``pred[i]`` are the code sets of document ``i``."""
        if len(gold) != len(pred):
            raise ValueError(f"{len(gold)} gold documents but {len(pred)} predictions")
        counts = self.code_counts
        for gold_codes, pred_codes in zip(gold, pred, strict=True):
            g, p = self._keep(gold_codes), self._keep(pred_codes)
            both = g & p
            self.doc_tp.append(len(both))
            self.doc_fp.append(len(p) - len(both))
            self.doc_fn.append(len(g) - len(both))
            for code in both:
                counts.setdefault(code, [0, 0, 0])[0] += 1
            for code in p - both:
                counts.setdefault(code, [0, 0, 0])[1] += 1
            for code in g - both:
                counts.setdefault(code, [0, 0, 0])[2] += 1

    def per_code(self) -> dict[str, dict[str, float]]:
        """Code → ``tp, fp, fn, support, precision, recall, f1``."""
        out = {}
        for code, (tp, fp, fn) in sorted(self.code_counts.items()):
            out[code] = {"tp": tp, "fp": fp, "fn": fn, "support": tp + fn, **prf(tp, fp, fn)}
        return out

    def per_document(self) -> dict[str, np.ndarray]:
        """Arrays ``tp, fp, fn`` with one entry per document, in update order."""
        return {
            "tp": np.asarray(self.doc_tp, dtype=np.int64),
            "fp": np.asarray(self.doc_fp, dtype=np.int64),
            "fn": np.asarray(self.doc_fn, dtype=np.int64),
        }

    def compute(self) -> dict[str, Any]:
        doc = self.per_document()
        tp, fp, fn = int(doc["tp"].sum()), int(doc["fp"].sum()), int(doc["fn"].sum())
        micro = prf(tp, fp, fn)
        codes = sorted(self.code_counts) if self.codes is None else sorted(self.codes)
        counts = np.array([self.code_counts.get(c, [0, 0, 0]) for c in codes], dtype=np.float64)
        counts = counts.reshape(-1, 3)
        c_tp, c_fp, c_fn = counts[:, 0], counts[:, 1], counts[:, 2]
        c_p, c_r = safe_divide(c_tp, c_tp + c_fp), safe_divide(c_tp, c_tp + c_fn)
        c_f = safe_divide(2 * c_p * c_r, c_p + c_r)
        supported = (c_tp + c_fn) > 0
        union = doc["tp"] + doc["fp"] + doc["fn"]
        n_docs = len(doc["tp"])
        jaccard = np.where(union > 0, safe_divide(doc["tp"], union), 1.0)
        exact = (doc["fp"] == 0) & (doc["fn"] == 0)

        def mean(values: np.ndarray) -> float:
            return float(values.mean()) if len(values) else 0.0

        return {
            "n_documents": n_docs,
            "tp": tp,
            "fp": fp,
            "fn": fn,
            "micro_precision": micro["precision"],
            "micro_recall": micro["recall"],
            "micro_f1": micro["f1"],
            "macro_precision": mean(c_p[supported]),
            "macro_recall": mean(c_r[supported]),
            "macro_f1": mean(c_f[supported]),
            "macro_precision_all": mean(c_p),
            "macro_recall_all": mean(c_r),
            "macro_f1_all": mean(c_f),
            "macro_f1_of_means": f1(mean(c_p[supported]), mean(c_r[supported])),
            "n_codes_with_support": int(supported.sum()),
            "n_codes_all": len(codes),
            "exact_match": mean(exact.astype(np.float64)),
            "jaccard": mean(jaccard),
        }
