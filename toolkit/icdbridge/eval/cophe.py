"""CoPHE: count-preserving hierarchical evaluation (Falis et al., EMNLP 2021).

Gold and predicted codes (0/1 per document and code) are propagated to the levels of the code
hierarchy by **summing**: at an ancestor column, a document's value is the number of its codes
under that ancestor. For a document and column with predicted count ``x`` and gold count ``y``:
``TP = min(x, y)``, ``FP = max(x - y, 0)``, ``FN = max(y - x, 0)``. Per level, micro P / R / F1
sum TP, FP, FN over documents and columns (``0/0 → 0``); macro P and R are the means of the
per-column P and R over **all** columns of the level (columns come from the label space, so a
column without gold and prediction counts as 0), and macro F1 is the harmonic mean of macro P and
macro R. ``overall`` concatenates the columns of every level. The **set-based** variant
binarises the counts first (``x > 0``), i.e. ordinary set metrics on the ancestors.

Two ways to choose the levels (:data:`LEVEL_PLANS`):

``compat``
    Reproduces the reference implementation (github.com/modr00cka/CoPHE,
    ``scripts/evaluation_setup.py`` and ``multi_level_eval.py`` with ``max_onto_layers=3``) on a
    CoPHE-style hierarchy whose codes list ``parents`` at four fixed depths:

    * ``L1``: the code itself, only for codes whose ``parents[0]`` differs from the code (for
      ICD-9: 5-character diagnoses and 4-character procedures; shallower codes are invisible
      here). With no such code in the label space, the level has one empty column.
    * ``L2``, ``L3``, ``L4``: ``parents[0]``, ``parents[1]``, ``parents[2]`` (ICD-9: the
      4-character subcategory, the 3-character category, the block). At the non-final levels
      ``L2`` and ``L3`` a code contributes only when its ancestor there differs from its ancestor
      one level up (so a 3-character code such as ``042`` is left out of ``L2``), and at ``L2``
      and ``L4`` an edge is dropped when the ancestor's own next ancestor is the code itself.
    * The label space (the reference's ``code_ids``) defines the columns; pass it explicitly to
      match a published run, else it is every code in gold or predictions.

``default``
    The clean definition on any hierarchy: level ``code`` holds **every** code (shallow leaves
    included — the difference from ``compat``), and each ancestor level named by what it is
    (``4-character``, ``category``, ``block``, ``chapter``; see
    :mod:`icdbridge.eval.hierarchy`) holds, for every code, its node at that level (a code that
    is itself a category counts at the category level). Codes outside the hierarchy only count
    at the ``code`` level.

Everything is sparse (``scipy.sparse``): propagation is a product with a code × column 0/1
matrix, ``min`` is a sparse element-wise minimum and FP/FN follow from ``x − min(x, y)``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import sparse

from icdbridge.errors import IcdbridgeError
from icdbridge.eval.base import MICRO_KEYS, Metric, f1, prf, safe_divide
from icdbridge.eval.hierarchy import CopheHierarchy, EvalHierarchy, level_sort_key
from icdbridge.eval.labels import LabelIndex, to_csr


@dataclass
class Level:
    """One level: a name, what it is, and the code × column propagation matrix."""

    name: str
    description: str
    matrix: sparse.csr_matrix
    columns: list[str]


@dataclass
class LevelPlan:
    """The levels of a CoPHE evaluation over a fixed label space (codes → row index)."""

    mode: str
    codes: list[str]
    levels: list[Level]
    outside_hierarchy: list[str] = field(default_factory=list)


def _matrix(rows: list[int], cols: list[int], vals: list[int], n_rows: int, n_cols: int):
    return sparse.csr_matrix(
        (
            np.asarray(vals, dtype=np.int64),
            (np.asarray(rows, dtype=np.int64), np.asarray(cols, dtype=np.int64)),
        ),
        shape=(n_rows, n_cols),
    )


def compat_plan(codes: Sequence[str], hierarchy: EvalHierarchy, max_layer: int = 3) -> LevelPlan:
    """Levels of the reference implementation (see the module docstring, ``compat``).

    Raises:
        IcdbridgeError: ``hierarchy`` is not a CoPHE-style hierarchy with fixed-depth parents.
    """
    if not isinstance(hierarchy, CopheHierarchy):
        raise IcdbridgeError(
            "CoPHE compat mode needs a CoPHE-style JSON hierarchy file (codes with 'parents' "
            "lists, e.g. cophe-icd9/icd9_graph_desc.json); other hierarchies use the default mode"
        )
    table = hierarchy.parents
    known = [c for c in codes if c in table]
    outside = [c for c in codes if c not in table]
    row = {c: i for i, c in enumerate(codes)}
    n = len(codes)
    levels: list[Level] = []
    # L1: the code itself where its depth-0 ancestor differs from it
    deep = [c for c in known if table[c][0] != c]
    cols = list(range(len(deep)))
    l1 = _matrix([row[c] for c in deep], cols, [1] * len(deep), n, max(len(deep), 1))
    levels.append(
        Level("L1", "codes whose parents[0] differs from the code", l1, deep or ["(none)"])
    )
    for layer in range(max_layer):
        members: dict[str, int] = {}
        for c in known:
            ancestor = table[c][layer]
            if layer == max_layer - 1 or ancestor != table[c][layer + 1]:
                members.setdefault(ancestor, len(members))
        rows, cols, vals = [], [], []
        for c in known:
            ancestor = table[c][layer]
            if ancestor not in members:
                continue
            rows.append(row[c])
            cols.append(members[ancestor])
            if layer == max_layer - 2:
                vals.append(1)
            else:
                double = table.get(ancestor, [ancestor] * (layer + 2))[layer + 1]
                vals.append(int(double != c))
        matrix = _matrix(rows, cols, vals, n, len(members))
        levels.append(Level(f"L{layer + 2}", f"parents[{layer}]", matrix, list(members)))
    return LevelPlan("compat", list(codes), levels, outside)


def default_plan(codes: Sequence[str], hierarchy: EvalHierarchy | None) -> LevelPlan:
    """Levels named by what they are, every code counted (see the module docstring)."""
    n = len(codes)
    per_level: dict[str, tuple[dict[str, int], list[int], list[int]]] = {}
    outside = []
    for i, code in enumerate(codes):
        if hierarchy is None:
            levels = {"code": code}
        else:
            levels = hierarchy.levels(code)
            if len(levels) == 1:
                outside.append(code)
        for level, node in levels.items():
            members, rows, cols = per_level.setdefault(level, ({}, [], []))
            rows.append(i)
            cols.append(members.setdefault(node, len(members)))
    out = []
    for level in sorted(per_level, key=level_sort_key):
        members, rows, cols = per_level[level]
        matrix = _matrix(rows, cols, [1] * len(rows), n, len(members))
        out.append(Level(level, level, matrix, list(members)))
    return LevelPlan("default", list(codes), out, outside)


LEVEL_PLANS: dict[str, Callable[[Sequence[str], EvalHierarchy | None], LevelPlan]] = {
    "compat": compat_plan,
    "default": default_plan,
}
"""CoPHE mode → function building the levels from a label space and a hierarchy."""


def _level_counts(gold: sparse.csr_matrix, pred: sparse.csr_matrix, matrix) -> dict[str, Any]:
    """Per-column and per-document TP/FP/FN of one level, count-based and set-based."""
    g = (gold @ matrix).tocsr()
    p = (pred @ matrix).tocsr()
    g.eliminate_zeros()
    p.eliminate_zeros()
    out = {}
    for variant in ("count", "set"):
        if variant == "set":
            g = g.copy()
            p = p.copy()
            g.data[:] = 1
            p.data[:] = 1
        tp = g.minimum(p)
        col_tp = np.asarray(tp.sum(axis=0)).ravel()
        col_g = np.asarray(g.sum(axis=0)).ravel()
        col_p = np.asarray(p.sum(axis=0)).ravel()
        doc_tp = np.asarray(tp.sum(axis=1)).ravel()
        doc_g = np.asarray(g.sum(axis=1)).ravel()
        doc_p = np.asarray(p.sum(axis=1)).ravel()
        out[variant] = {
            "col_tp": col_tp,
            "col_fp": col_p - col_tp,
            "col_fn": col_g - col_tp,
            "doc_tp": doc_tp,
            "doc_fp": doc_p - doc_tp,
            "doc_fn": doc_g - doc_tp,
        }
    return out


SUMMARY_KEYS = (
    *MICRO_KEYS,
    "macro_precision",
    "macro_recall",
    "macro_f1",
)
"""The numbers of every CoPHE level summary (plus ``n_columns``)."""


def _summary(col_tp: np.ndarray, col_fp: np.ndarray, col_fn: np.ndarray) -> dict[str, Any]:
    tp, fp, fn = int(col_tp.sum()), int(col_fp.sum()), int(col_fn.sum())
    micro = prf(tp, fp, fn)
    precision = safe_divide(col_tp, col_tp + col_fp)
    recall = safe_divide(col_tp, col_tp + col_fn)
    macro_p = float(precision.mean()) if len(precision) else 0.0
    macro_r = float(recall.mean()) if len(recall) else 0.0
    return {
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "micro_precision": micro["precision"],
        "micro_recall": micro["recall"],
        "micro_f1": micro["f1"],
        "macro_precision": macro_p,
        "macro_recall": macro_r,
        "macro_f1": f1(macro_p, macro_r),
        "n_columns": len(col_tp),
    }


def cophe_report(
    gold: sparse.csr_matrix, pred: sparse.csr_matrix, plan: LevelPlan
) -> dict[str, Any]:
    """CoPHE metrics of document × code 0/1 matrices whose columns follow ``plan.codes``.

    Returns:
        ``{"mode", "flat", "levels": {name: {...}}, "overall": {...}, "per_document": {...}}``;
        each level and ``overall`` hold the count-based values and ``"set_based"`` ones.
    """
    flat_tp = gold.minimum(pred)
    flat = _summary(
        np.asarray(flat_tp.sum(axis=0)).ravel(),
        np.asarray(pred.sum(axis=0) - flat_tp.sum(axis=0)).ravel(),
        np.asarray(gold.sum(axis=0) - flat_tp.sum(axis=0)).ravel(),
    )
    levels: dict[str, Any] = {}
    stacked: dict[str, dict[str, list[np.ndarray]]] = {"count": {}, "set": {}}
    for level in plan.levels:
        counts = _level_counts(gold, pred, level.matrix)
        entry = {"description": level.description}
        for variant, c in counts.items():
            summary = _summary(c["col_tp"], c["col_fp"], c["col_fn"])
            if variant == "count":
                entry.update(summary)
            else:
                entry["set_based"] = summary
            for key, value in c.items():
                stacked[variant].setdefault(key, []).append(value)
        levels[level.name] = entry
    overall: dict[str, Any] = {}
    per_document: dict[str, np.ndarray] = {}
    for variant in ("count", "set"):
        s = stacked[variant]
        if not s:
            summary = _summary(np.zeros(0), np.zeros(0), np.zeros(0))
        else:
            summary = _summary(*(np.concatenate(s[k]) for k in ("col_tp", "col_fp", "col_fn")))
        if variant == "count":
            overall.update(summary)
            for key in ("doc_tp", "doc_fp", "doc_fn"):
                per_document[key[4:]] = (
                    np.sum(s[key], axis=0) if s else np.zeros(gold.shape[0], dtype=np.int64)
                )
        else:
            overall["set_based"] = summary
    return {
        "mode": plan.mode,
        "flat": flat,
        "levels": levels,
        "overall": overall,
        "per_document": per_document,
        "n_codes_outside_hierarchy": len(plan.outside_hierarchy),
    }


class CopheMetrics(Metric):
    """Stateful CoPHE evaluation (see the module docstring).

    Args:
        hierarchy: the code hierarchy (``None``: only the ``code`` level in default mode).
        mode: ``"compat"`` (reference implementation) or ``"default"``.
        label_space: the codes defining the columns; ``None``: every code in gold or
            predictions. Codes outside an explicit label space are counted in
            ``n_codes_outside_label_space`` and left out.
        codes: restrict gold and predictions to these codes first.

    Example:
        >>> m = CopheMetrics(None, mode="default")
        >>> m.update([{"A"}], [{"A", "B"}])
        >>> m.compute()["overall"]["micro_precision"]
        0.5
    """

    def __init__(
        self,
        hierarchy: EvalHierarchy | None,
        mode: str = "default",
        label_space: Iterable[str] | None = None,
        codes: Iterable[str] | None = None,
    ) -> None:
        if mode not in LEVEL_PLANS:
            raise IcdbridgeError(
                f"unknown CoPHE mode {mode!r} (expected one of {', '.join(LEVEL_PLANS)})"
            )
        self.hierarchy = hierarchy
        self.mode = mode
        self.label_space = None if label_space is None else list(dict.fromkeys(label_space))
        super().__init__(codes)

    def reset(self) -> None:
        self.index = LabelIndex(self.label_space or ())
        self._gold: list[sparse.csr_matrix] = []
        self._pred: list[sparse.csr_matrix] = []
        self.outside_label_space: set[str] = set()

    def update(self, gold: Sequence[Iterable[str]], pred: Sequence[Iterable[str]]) -> None:
        """Add documents: ``gold[i]`` and ``pred[i]`` are the code sets of document ``i``."""
        g = [self._keep(c) for c in gold]
        p = [self._keep(c) for c in pred]
        grow = self.label_space is None
        if not grow:
            for codes in (*g, *p):
                self.outside_label_space.update(c for c in codes if c not in self.index)
        self._gold.append(to_csr(g, self.index, grow=grow))
        self._pred.append(to_csr(p, self.index, grow=grow))

    def matrices(self) -> tuple[sparse.csr_matrix, sparse.csr_matrix]:
        """The accumulated gold and prediction matrices (columns: ``self.index.codes``)."""
        n = len(self.index)

        def stack(parts: list[sparse.csr_matrix]) -> sparse.csr_matrix:
            if not parts:
                return sparse.csr_matrix((0, n), dtype=np.int64)
            return sparse.vstack(
                [
                    sparse.csr_matrix((m.data, m.indices, m.indptr), shape=(m.shape[0], n))
                    for m in parts
                ],
                format="csr",
            )

        return stack(self._gold), stack(self._pred)

    def compute(self) -> dict[str, Any]:
        gold, pred = self.matrices()
        codes = self.index.codes
        if self.label_space is None:
            # columns in code order, so that the result does not depend on the batching
            order = np.argsort(np.asarray(codes, dtype=object), kind="stable")
            gold, pred = gold[:, order], pred[:, order]
            codes = [codes[i] for i in order]
        plan = LEVEL_PLANS[self.mode](codes, self.hierarchy)
        report = cophe_report(gold, pred, plan)
        report["n_codes_outside_label_space"] = len(self.outside_label_space)
        report["codes_outside_hierarchy"] = sorted(plan.outside_hierarchy)[:50]
        return report


__all__ = [
    "LEVEL_PLANS",
    "CopheMetrics",
    "Level",
    "LevelPlan",
    "compat_plan",
    "cophe_report",
    "default_plan",
]
