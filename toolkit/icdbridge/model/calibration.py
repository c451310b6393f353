"""Generalised zero-shot calibration: put seen and unseen codes on one ranked list.

A model trained on a few hundred documents is systematically more confident about codes it saw
in training. :class:`Calibrator` corrects that with two numbers fitted on *validation* documents
only — a temperature and an offset applied to the logits of codes unseen in training — and then
tunes the decision threshold (for micro-F1) on the same validation documents. No parameter is
specific to a label; the only thing that distinguishes codes is whether they were seen.

The offset/temperature objective balances the two goals of generalised zero-shot coding, the
ranking of all codes (validation MAP) and the reach of codes never seen in training (validation
recall@``recall_k`` of *unseen* gold codes, ``R_u``). By default it is their **harmonic mean**
``2 · MAP · R_u / (MAP + R_u)``, the criterion of generalised zero-shot learning (Xian et al.,
*Zero-shot learning — the good, the bad and the ugly*, TPAMI 2019, for the seen/unseen
accuracies; calibrated stacking, Chao et al., ECCV 2016, for the offset it tunes): neither goal
can be bought by sacrificing the other entirely. With ``map_tolerance`` set, the grid point with
the highest ``R_u`` among those whose MAP is within ``map_tolerance`` of the best MAP wins instead
(``map_tolerance=0`` is pure MAP maximisation, which on small training sets pushes unseen codes
far down the list: a handful of frequent seen codes dominate MAP). Ties: higher MAP, then the
smallest correction. Validation documents without an unseen gold code leave ``R_u`` undefined;
the objective is then MAP.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from icdbridge.eval.base import harmonic_mean
from icdbridge.eval.ranking import average_precision, average_precision_of_scores
from icdbridge.eval.threshold import best_f1_threshold

OFFSETS = tuple(np.round(np.arange(-4.0, 4.01, 0.25), 2))
TEMPERATURES = (0.5, 0.75, 1.0, 1.5, 2.0)


class GridPoint(NamedTuple):
    """One offset/temperature of the calibration grid and what it scores on validation."""

    map: float
    """Validation MAP."""
    unseen_recall: float | None
    """Validation recall@k of unseen gold codes (``None``: no unseen gold code)."""
    offset: float
    """Unseen-code offset."""
    temperature: float
    """Unseen-code temperature."""


def mean_average_precision(rankings: Sequence[Sequence[str]], golds: Sequence[Iterable[str]]):
    """Mean of :func:`~icdbridge.eval.ranking.average_precision` over documents that have gold
    codes (gold codes missing from a ranking count as misses).

    Example:
        >>> round(mean_average_precision([["a", "x", "b"], ["y"]], [{"a", "b"}, set()]), 6)
        0.833333
    """
    values = [average_precision(r, g) for r, g in zip(rankings, golds, strict=True) if set(g)]
    return float(np.mean(values)) if values else 0.0


def _doc_arrays(scores: Mapping[str, float], gold: set[str], seen) -> tuple:
    codes = sorted(scores)
    raw = np.array([scores[c] for c in codes], dtype=np.float64)
    return (
        raw,
        np.array([c in seen for c in codes], dtype=bool),
        np.array([c in gold for c in codes], dtype=bool),
        len(gold),
    )


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x)) if x >= 0 else math.exp(x) / (1.0 + math.exp(x))


@dataclass
class Calibrator:
    """Validated offset/temperature for unseen codes, then a micro-F1 threshold.

    Attributes:
        unseen_offset_: Added to the logit of a code unseen in training.
        unseen_temperature_: Divides the logit of an unseen code before the offset.
        threshold_: Probability above which a code is predicted (micro-F1 on validation).
        validation_map_: MAP on the validation documents with the fitted offset.
        validation_unseen_recall_: Recall@``recall_k`` of the validation gold codes unseen in
            training, with the fitted offset (``None``: no such gold code).
        map_tolerance: ``None`` (default): maximise the harmonic mean of validation MAP and
            unseen recall; a number: the MAP the fit may give up (below the best grid point)
            for unseen recall (see the module docstring).
        recall_k: Rank cut-off of the unseen recall the fit maximises.
    """

    unseen_offset_: float = 0.0
    unseen_temperature_: float = 1.0
    threshold_: float = 0.5
    validation_map_: float | None = None
    validation_unseen_recall_: float | None = None
    map_tolerance: float | None = None
    recall_k: int = 20

    def logit(self, raw: float, seen: bool) -> float:
        """Calibrated logit of one (document, code) score."""
        return raw if seen else raw / self.unseen_temperature_ + self.unseen_offset_

    def probability(self, raw: float, seen: bool) -> float:
        """Calibrated probability of one (document, code) score."""
        return _sigmoid(self.logit(raw, seen))

    def apply(
        self, scores: Mapping[str, float], seen: set[str] | frozenset[str]
    ) -> dict[str, float]:
        """Calibrate one document's raw logits; returns code → probability, best first."""
        calibrated = {code: self.probability(raw, code in seen) for code, raw in scores.items()}
        return dict(sorted(calibrated.items(), key=lambda item: (-item[1], item[0])))

    def fit(
        self,
        scores: Sequence[Mapping[str, float]],
        golds: Sequence[Iterable[str]],
        seen: set[str] | frozenset[str] | Sequence[set[str] | frozenset[str]],
        offsets: Sequence[float] = OFFSETS,
        temperatures: Sequence[float] = TEMPERATURES,
    ) -> Calibrator:
        """Fit the unseen offset/temperature and the threshold (max micro-F1).

        The offset/temperature maximise the harmonic mean of validation MAP and unseen
        recall@``recall_k`` (or, with ``map_tolerance``, the unseen recall among the grid points
        whose MAP is within ``map_tolerance`` of the best; see the module docstring).

        Args:
            scores: Per validation document, candidate code → raw logit.
            golds: Per validation document, its gold codes.
            seen: Codes seen in the training documents; or, per validation document, the codes
                seen by the network that scored it (out-of-fold scores of cross-validation
                folds, each from a network trained without that document's fold).
            offsets: Grid of offsets tried.
            temperatures: Grid of temperatures tried.

        Returns:
            ``self``, fitted.
        """
        grid, arrays, n_gold = self.grid(scores, golds, seen, offsets, temperatures)
        return self.select(grid, arrays, n_gold)

    def grid(
        self,
        scores: Sequence[Mapping[str, float]],
        golds: Sequence[Iterable[str]],
        seen: set[str] | frozenset[str] | Sequence[set[str] | frozenset[str]],
        offsets: Sequence[float] = OFFSETS,
        temperatures: Sequence[float] = TEMPERATURES,
    ) -> tuple[list[GridPoint], list[tuple], int]:
        """Validation MAP and unseen recall@``recall_k`` of every grid point (the part of
        :meth:`fit` that does not depend on the objective; several objectives can
        :meth:`select` from one grid).

        Returns:
            The grid points, the per-document arrays :meth:`select` needs for the threshold,
            and the number of gold pairs.
        """
        golds = [set(g) for g in golds]
        seen_sets = [seen] * len(golds) if isinstance(seen, set | frozenset) else list(seen)
        if len(seen_sets) != len(golds):
            raise ValueError(f"{len(seen_sets)} seen sets for {len(golds)} validation documents")
        arrays = [
            _doc_arrays(doc, gold, s) for doc, gold, s in zip(scores, golds, seen_sets, strict=True)
        ]
        # every unseen gold pair counts, also those missing from the candidate lists
        n_unseen = sum(len(gold - s) for gold, s in zip(golds, seen_sets, strict=True))
        grid = []
        for temperature in temperatures:
            for offset in offsets:
                values, hits = [], 0
                for raw, s, g, n in arrays:
                    logits = np.where(s, raw, raw / temperature + offset)
                    if n:
                        values.append(average_precision_of_scores(logits, g, n))
                    top = np.argsort(-logits, kind="stable")[: self.recall_k]
                    hits += int((g[top] & ~s[top]).sum())
                value = float(np.mean(values)) if values else 0.0
                recall = hits / n_unseen if n_unseen else None
                grid.append(GridPoint(value, recall, float(offset), float(temperature)))
        return grid, arrays, sum(len(g) for g in golds)

    def select(self, grid: Sequence[GridPoint], arrays: Sequence[tuple], n_gold: int) -> Calibrator:
        """Choose the grid point of this calibrator's objective (``map_tolerance``) and tune
        the threshold at it; returns ``self``, fitted (the arguments are :meth:`grid`'s)."""
        best_map = max((g[0] for g in grid), default=0.0)

        def key(point):
            value, recall, offset, temperature = point
            if self.map_tolerance is None:
                allowed = True
                goal = value if recall is None else harmonic_mean(value, recall)
            else:
                allowed = value >= best_map - self.map_tolerance - 1e-12
                goal = recall or 0.0
            # prefer the smallest correction among ties (stable, closest to the raw model)
            return (
                allowed,
                round(goal, 12),
                round(value, 12),
                -abs(offset),
                -abs(math.log(temperature)),
            )

        best = max(grid, key=key) if grid else GridPoint(0.0, None, 0.0, 1.0)
        self.validation_map_, self.validation_unseen_recall_ = best[0], best[1]
        self.unseen_offset_, self.unseen_temperature_ = best[2], best[3]
        self.threshold_ = self._best_threshold(arrays, n_gold)
        return self

    def _best_threshold(self, arrays, n_gold: int) -> float:
        """The micro-F1 threshold of the calibrated probabilities
        (:func:`~icdbridge.eval.threshold.best_f1_threshold`: equal probabilities kept or
        dropped together, the highest of equally good thresholds), moved halfway down to the
        next lower probability: the same codes are predicted, with a margin against rounding
        of probabilities computed again at prediction time."""
        probs, labels = [], []
        for raw, seen, gold, _ in arrays:
            logits = np.where(seen, raw, raw / self.unseen_temperature_ + self.unseen_offset_)
            probs.append(1.0 / (1.0 + np.exp(-logits)))
            labels.append(gold)
        if not probs or n_gold == 0:
            return 0.5
        probs_all, labels_all = np.concatenate(probs), np.concatenate(labels)
        threshold, _ = best_f1_threshold(probs_all, labels_all, n_gold)
        below = probs_all[probs_all < threshold]
        following = float(below.max()) if below.size else 0.0
        return float((threshold + following) / 2)

    def to_dict(self) -> dict[str, float | None]:
        """JSON-ready dictionary."""
        return {
            "unseen_offset": self.unseen_offset_,
            "unseen_temperature": self.unseen_temperature_,
            "threshold": self.threshold_,
            "validation_map": self.validation_map_,
            "validation_unseen_recall": self.validation_unseen_recall_,
            "map_tolerance": self.map_tolerance,
            "recall_k": self.recall_k,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, float | None]) -> Calibrator:
        """Inverse of :meth:`to_dict`."""
        return cls(
            unseen_offset_=float(data["unseen_offset"]),
            unseen_temperature_=float(data["unseen_temperature"]),
            threshold_=float(data["threshold"]),
            validation_map_=data.get("validation_map"),
            validation_unseen_recall_=data.get("validation_unseen_recall"),
            map_tolerance=(
                None if data.get("map_tolerance") is None else float(data["map_tolerance"])
            ),
            recall_k=int(data.get("recall_k", 20)),
        )
