"""Decision thresholds tuned on validation data only, then applied to test predictions.

``global``: one threshold maximising micro F1 over every validation document × code. ``per_code``:
for each code with at least one validation positive, the threshold maximising that code's F1;
other codes fall back to the global threshold. Candidates are the distinct validation scores
(a code is predicted when its score is ``>=`` the threshold); ties in F1 keep the highest
threshold. Gold codes without a validation score count as false negatives at every threshold.
Both modes use :func:`best_f1_threshold` (its docstring states the tie rules).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from icdbridge.errors import IcdbridgeError


@dataclass
class Thresholds:
    """Tuned thresholds: ``global_`` and optional per-code overrides."""

    global_: float
    per_code: dict[str, float] = field(default_factory=dict)
    mode: str = "global"

    def apply(self, scores: Mapping[str, float]) -> set[str]:
        """Codes of one document whose score reaches their threshold.

        Example:
            >>> sorted(Thresholds(0.5, {"B": 0.1}).apply({"A": 0.4, "B": 0.2, "C": 0.5}))
            ['B', 'C']
        """
        return {c for c, s in scores.items() if s >= self.per_code.get(c, self.global_)}


def best_f1_threshold(scores: np.ndarray, labels: np.ndarray, n_pos: int) -> tuple[float, float]:
    """The threshold maximising F1 when predicting ``score >= threshold``, and that F1.

    Tie rules: the candidates are the distinct values of ``scores``, so **equal scores are kept
    or dropped together**; when several thresholds reach the same F1, the **first maximum in
    descending order of threshold wins** (the highest threshold, i.e. the fewest predicted
    codes). ``n_pos`` counts every positive, including gold codes that have no score (they are
    false negatives at every threshold), so it may exceed ``labels.sum()``.

    Args:
        scores: one score per cell (document × code, or one code's documents).
        labels: same length, 1 (or true) where the cell is a positive.
        n_pos: number of positives, scored or not.

    Returns:
        ``(threshold, f1)``; ``(inf, 0.0)`` when there is no score or no positive (nothing is
        predicted).

    Raises:
        ValueError: ``scores`` and ``labels`` of different lengths.

    Example:
        >>> best_f1_threshold(np.array([0.9, 0.4, 0.6, 0.3]), np.array([1, 0, 1, 0]), 2)
        (0.6, 1.0)
        >>> best_f1_threshold(np.array([0.5, 0.5, 0.2]), np.array([1, 0, 1]), 2)  # 0.5s together
        (0.2, 0.8)
        >>> s, f1 = best_f1_threshold(np.array([0.9, 0.8, 0.7, 0.6]), np.array([1, 0, 0, 1]), 2)
        >>> s, round(f1, 4)  # F1 2/3 at 0.9 and at 0.6: the first (highest) wins
        (0.9, 0.6667)
    """
    scores = np.asarray(scores, dtype=np.float64).ravel()
    labels = np.asarray(labels).ravel()
    if len(scores) != len(labels):
        raise ValueError(f"{len(scores)} scores but {len(labels)} labels")
    if len(scores) == 0 or n_pos == 0:
        return float("inf"), 0.0
    order = np.argsort(-scores, kind="stable")
    s, y = scores[order], labels[order].astype(np.int64)
    last = np.r_[np.nonzero(np.diff(s))[0], len(s) - 1]
    tp = np.cumsum(y)[last]
    predicted = last + 1
    f1 = 2 * tp / (predicted + n_pos)
    best = int(np.flatnonzero(f1 == f1.max())[0])
    return float(s[last[best]]), float(f1[best])


def tune_thresholds(
    gold: Sequence[set[str]], scores: Sequence[Mapping[str, float]], mode: str = "global"
) -> Thresholds:
    """Tune thresholds on validation ``gold`` sets and ``scores`` (one mapping per document).

    Example:
        >>> t = tune_thresholds([{"A"}, {"B"}], [{"A": 0.9, "B": 0.4}, {"A": 0.3, "B": 0.6}])
        >>> t.global_
        0.6
    """
    if mode not in TUNERS:
        raise IcdbridgeError(f"unknown threshold mode {mode!r} (expected: {', '.join(TUNERS)})")
    return TUNERS[mode](gold, scores)


def _cells(gold: Sequence[set[str]], scores: Sequence[Mapping[str, float]]):
    codes, values, labels = [], [], []
    for g, s in zip(gold, scores, strict=True):
        for code, value in s.items():
            codes.append(code)
            values.append(float(value))
            labels.append(code in g)
    return codes, np.asarray(values), np.asarray(labels, dtype=np.int64)


def _tune_global(gold, scores) -> Thresholds:
    _, values, labels = _cells(gold, scores)
    n_pos = sum(len(g) for g in gold)
    threshold, _ = best_f1_threshold(values, labels, n_pos)
    return Thresholds(threshold, mode="global")


def _tune_per_code(gold, scores) -> Thresholds:
    base = _tune_global(gold, scores)
    codes, values, labels = _cells(gold, scores)
    positives: dict[str, int] = {}
    for g in gold:
        for code in g:
            positives[code] = positives.get(code, 0) + 1
    by_code: dict[str, list[int]] = {}
    for i, code in enumerate(codes):
        by_code.setdefault(code, []).append(i)
    per_code = {}
    for code, n_pos in positives.items():
        rows = np.asarray(by_code.get(code, []), dtype=np.int64)
        threshold, f1 = best_f1_threshold(values[rows], labels[rows], n_pos)
        if f1 > 0:
            per_code[code] = threshold
    return Thresholds(base.global_, per_code, mode="per_code")


TUNERS = {"global": _tune_global, "per_code": _tune_per_code}
"""Threshold mode → tuning function."""
