"""Seeded, deterministic bootstrap confidence intervals over documents.

Each replicate draws ``n`` documents with replacement (``numpy.random.default_rng(seed)``,
multinomial counts) and recomputes a statistic from per-document quantities: ratio statistics
(micro P / R / F1 from per-document TP, FP, FN) or means over the documents where a value is
defined (AP, R@k: NaN where a document has no gold code). The 95 % interval is the 2.5th and
97.5th percentile of the replicates.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

Statistic = Callable[[np.ndarray], np.ndarray]
"""Maps a (replicates × documents) weight matrix to one value per replicate."""


def micro_statistic(tp: np.ndarray, fp: np.ndarray, fn: np.ndarray, which: str) -> Statistic:
    """Micro precision, recall or F1 of re-weighted per-document counts."""
    tp, fp, fn = (np.asarray(x, dtype=np.float64) for x in (tp, fp, fn))

    def stat(weights: np.ndarray) -> np.ndarray:
        t, p, n = weights @ tp, weights @ fp, weights @ fn
        precision = np.divide(t, t + p, out=np.zeros_like(t), where=(t + p) > 0)
        recall = np.divide(t, t + n, out=np.zeros_like(t), where=(t + n) > 0)
        if which == "precision":
            return precision
        if which == "recall":
            return recall
        s = precision + recall
        return np.divide(2 * precision * recall, s, out=np.zeros_like(s), where=s > 0)

    return stat


def mean_statistic(values: np.ndarray) -> Statistic:
    """Mean of ``values`` over re-weighted documents, NaN entries (undefined) left out."""
    values = np.asarray(values, dtype=np.float64)
    defined = ~np.isnan(values)
    filled = np.where(defined, values, 0.0)

    def stat(weights: np.ndarray) -> np.ndarray:
        total = weights @ defined.astype(np.float64)
        return np.divide(weights @ filled, total, out=np.zeros_like(total), where=total > 0)

    return stat


def bootstrap_ci(
    statistics: dict[str, Statistic],
    n_documents: int,
    n_resamples: int = 1000,
    seed: int = 0,
    chunk: int = 100,
) -> dict[str, list[float]]:
    """95 % percentile intervals of several statistics on the same resamples.

    Example:
        >>> stat = mean_statistic(np.array([0.0, 1.0, 1.0, 1.0]))
        >>> bootstrap_ci({"m": stat}, 4, n_resamples=200, seed=1) == bootstrap_ci(
        ...     {"m": stat}, 4, n_resamples=200, seed=1)
        True
    """
    if n_resamples <= 0 or n_documents == 0:
        return {}
    rng = np.random.default_rng(seed)
    values: dict[str, list[np.ndarray]] = {name: [] for name in statistics}
    p = np.full(n_documents, 1.0 / n_documents)
    done = 0
    while done < n_resamples:
        size = min(chunk, n_resamples - done)
        weights = rng.multinomial(n_documents, p, size=size).astype(np.float64)
        for name, stat in statistics.items():
            values[name].append(stat(weights))
        done += size
    out = {}
    for name, parts in values.items():
        sample = np.concatenate(parts)
        low, high = np.percentile(sample, [2.5, 97.5])
        out[name] = [float(low), float(high)]
    return out
