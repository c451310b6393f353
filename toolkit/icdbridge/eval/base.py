"""Shared pieces of the stateful metrics: the base class and safe ratios."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable
from typing import Any

import numpy as np

MICRO_KEYS = ("tp", "fp", "fn", "micro_precision", "micro_recall", "micro_f1")
"""The micro counts and scores every flat and CoPHE summary row starts with."""


def ratio(numerator: float, denominator: float) -> float:
    """``numerator / denominator``, 0.0 when the denominator is 0 (the ``0/0 → 0`` convention).

    Example:
        >>> ratio(1, 4), ratio(0, 0)
        (0.25, 0.0)
    """
    return float(numerator) / float(denominator) if denominator else 0.0


def f1(precision: float, recall: float) -> float:
    """Harmonic mean of ``precision`` and ``recall`` (0.0 when both are 0).

    Example:
        >>> round(f1(0.5, 1.0), 6)
        0.666667
    """
    return ratio(2 * precision * recall, precision + recall)


def harmonic_mean(a: float, b: float) -> float:
    """Harmonic mean of two non-negative numbers (0 when either is 0), e.g. the
    calibrator's objective of MAP and unseen-code recall (:mod:`icdbridge.model.calibration`).

    Example:
        >>> round(harmonic_mean(0.5, 0.25), 4)
        0.3333
    """
    return 2 * a * b / (a + b) if a > 0 and b > 0 else 0.0


def prf(tp: float, fp: float, fn: float) -> dict[str, float]:
    """Precision, recall and F1 from counts, with ``0/0 → 0``.

    Example:
        >>> prf(3, 4, 6)["f1"]
        0.375
    """
    precision, recall = ratio(tp, tp + fp), ratio(tp, tp + fn)
    return {"precision": precision, "recall": recall, "f1": f1(precision, recall)}


def safe_divide(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """Element-wise ``numerator / denominator`` with 0 where the denominator is 0."""
    numerator = np.asarray(numerator, dtype=np.float64)
    denominator = np.asarray(denominator, dtype=np.float64)
    out = np.zeros(np.broadcast(numerator, denominator).shape)
    np.divide(numerator, denominator, out=out, where=denominator != 0)
    return out


class Metric(ABC):
    """A stateful metric: :meth:`update` with batches, :meth:`compute`, :meth:`reset`.

    Updating with two batches gives the same result as one batch holding both. ``codes``
    restricts the metric to a subset of codes: other codes are removed from gold and
    predictions before anything is counted (``None``: every code).
    """

    def __init__(self, codes: Iterable[str] | None = None) -> None:
        self.codes = None if codes is None else frozenset(codes)
        self.reset()

    def _keep(self, codes: Iterable[str]) -> set[str]:
        if self.codes is None:
            return set(codes)
        return {c for c in codes if c in self.codes}

    @abstractmethod
    def reset(self) -> None:
        """Forget every update."""

    @abstractmethod
    def update(self, *args: Any, **kwargs: Any) -> None:
        """Add a batch of documents."""

    @abstractmethod
    def compute(self) -> dict[str, Any]:
        """The metric values over every document seen since the last reset."""
