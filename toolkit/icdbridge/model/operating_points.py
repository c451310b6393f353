"""Named operating points: where on the seen-MAP / unseen-recall frontier a model predicts.

The unseen-code calibration (:class:`~icdbridge.model.calibration.Calibrator`) decides how far
codes never seen in training are moved up or down the ranked list; a larger offset reaches
more unseen codes and costs MAP on the codes a dataset codes often. Which trade-off is right is
the user's choice, so training fits three named points on the same validation scores (one grid
of offsets and temperatures) and stores all three with the model; a prediction picks one
(``icdbridge predict --operating-point``, ``Predictor.predict(operating_point=...)``; default
:data:`~icdbridge.model.config.DEFAULT_OPERATING_POINT`):

``balanced``
    The highest **harmonic mean** of validation MAP and validation recall@20 of unseen gold
    codes (the criterion of generalised zero-shot learning). The default, and the calibration
    of every model before operating points existed. When training set a MAP tolerance
    (``TrainConfig.calibration_map_tolerance``, ``icdbridge train --calibration-tolerance``),
    ``balanced`` is that objective instead.
``max-map``
    The highest **validation MAP** (among grid points of equal MAP, the highest unseen recall):
    best for codes the training data codes, unseen codes sink.
``unseen``
    The highest **validation unseen recall@20** among the grid points whose MAP is within
    :data:`~icdbridge.model.config.UNSEEN_POINT_MAP_TOLERANCE` (0.1) of the best validation MAP.

Each point has its own decision threshold (micro-F1 on the same validation documents at that
point's offset), so the predicted codes change with the point, not only their order. When the
validation documents have no gold code unseen in training, unseen recall is undefined and all
three points are the point of highest MAP.

Example:
    Two validation notes; ``u`` and ``v`` were never seen in training, ``v`` is gold. Ranking
    ``v`` first (recall@1 of unseen gold codes) also lifts ``u`` above ``a`` and ``c``, which
    costs MAP; within a MAP tolerance of 0.1 no point reaches ``v``, so ``unseen`` is
    ``max-map`` here:

    >>> scores = [{"a": 1.0, "c": 0.9, "u": 1.5}, {"b": 2.0, "v": 0.0}]
    >>> golds, seen = [{"a", "c"}, {"b", "v"}], {"a", "b", "c"}
    >>> points = fit_operating_points(scores, golds, seen, recall_k=1)
    >>> {n: (round(p.validation_map_, 3), p.validation_unseen_recall_) for n, p in points.items()}
    {'balanced': (0.792, 1.0), 'max-map': (1.0, 0.0), 'unseen': (1.0, 0.0)}
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from icdbridge.errors import IcdbridgeError
from icdbridge.model.calibration import Calibrator
from icdbridge.model.config import DEFAULT_OPERATING_POINT, UNSEEN_POINT_MAP_TOLERANCE

BALANCED, MAX_MAP, UNSEEN = "balanced", "max-map", "unseen"
OPERATING_POINTS: dict[str, str] = {
    BALANCED: "harmonic mean of validation MAP and unseen-code recall@20 (default)",
    MAX_MAP: "highest validation MAP (unseen codes rank lower)",
    UNSEEN: (
        "highest validation unseen-code recall@20 within "
        f"{UNSEEN_POINT_MAP_TOLERANCE:g} of the best validation MAP"
    ),
}
"""Name → definition of every operating point, in the order they are shown."""


class OperatingPointError(IcdbridgeError, ValueError):
    """An operating point that does not exist, or that a model does not have."""


def point_tolerances(balanced_tolerance: float | None = None) -> dict[str, float | None]:
    """The MAP tolerance of each point's objective (``None``: the harmonic mean).

    Args:
        balanced_tolerance: ``TrainConfig.calibration_map_tolerance`` (``None``: the default
            harmonic mean for ``balanced``).
    """
    return {BALANCED: balanced_tolerance, MAX_MAP: 0.0, UNSEEN: UNSEEN_POINT_MAP_TOLERANCE}


def fit_operating_points(
    scores: Sequence[Mapping[str, float]],
    golds: Sequence[Iterable[str]],
    seen: set[str] | frozenset[str] | Sequence[set[str] | frozenset[str]],
    balanced_tolerance: float | None = None,
    recall_k: int = 20,
) -> dict[str, Calibrator]:
    """Fit every named operating point on one set of validation scores.

    The grid of offsets and temperatures is scored once
    (:meth:`~icdbridge.model.calibration.Calibrator.grid`); each point then selects its grid
    point and tunes its own threshold.

    Args:
        scores: Per validation document, candidate code → raw logit.
        golds: Per validation document, its gold codes.
        seen: Codes seen in training, or one set per document (see
            :meth:`~icdbridge.model.calibration.Calibrator.fit`).
        balanced_tolerance: A MAP tolerance for ``balanced`` instead of the harmonic mean.
        recall_k: Rank cut-off of the unseen recall.

    Returns:
        Point name → fitted calibrator, in the order of :data:`OPERATING_POINTS`.

    Raises:
        ValueError: ``recall_k`` below 1.
    """
    if recall_k < 1:
        raise ValueError(f"the unseen recall's rank cut-off must be 1 or more (got {recall_k})")
    golds = [set(g) for g in golds]
    grid, arrays, n_gold = Calibrator(recall_k=recall_k).grid(scores, golds, seen)
    return {
        name: Calibrator(map_tolerance=tolerance, recall_k=recall_k).select(grid, arrays, n_gold)
        for name, tolerance in point_tolerances(balanced_tolerance).items()
    }


def points_to_dict(points: Mapping[str, Calibrator]) -> dict[str, dict[str, Any]]:
    """JSON-ready form (``config.json``'s ``"operating_points"``)."""
    return {name: calibrator.to_dict() for name, calibrator in points.items()}


def points_from_config(config: Mapping[str, Any]) -> dict[str, Calibrator]:
    """The operating points of a saved model's ``config.json``.

    A model saved before operating points existed has only its calibration, which is what
    ``balanced`` means for it.

    Raises:
        KeyError, TypeError, ValueError: a malformed entry (the caller names the file).
    """
    saved = config.get("operating_points")
    if saved is None:
        return {BALANCED: Calibrator.from_dict(config["calibration"])}
    if not isinstance(saved, dict) or BALANCED not in saved:
        raise ValueError("'operating_points' must be an object with a 'balanced' entry")
    return {name: Calibrator.from_dict(saved[name]) for name in OPERATING_POINTS if name in saved}


def check_operating_point(name: str, available: Iterable[str] | None = None) -> str:
    """Return ``name`` when it is an operating point (and, with ``available``, one the model
    has); otherwise raise a one-line :class:`OperatingPointError`.

    Example:
        >>> check_operating_point("unseen")
        'unseen'
        >>> check_operating_point("max-map", ["balanced"])
        Traceback (most recent call last):
        ...
        icdbridge.model.operating_points.OperatingPointError: this model has no operating point 'max-map' (it has 'balanced': a model saved before operating points existed has only 'balanced'); train it again to fit max-map and unseen
    """  # noqa: E501
    if name not in OPERATING_POINTS:
        raise OperatingPointError(
            f"unknown operating point {name!r} (expected one of: {', '.join(OPERATING_POINTS)})"
        )
    if available is not None:
        have = [n for n in OPERATING_POINTS if n in set(available)]
        if name not in have:
            missing = " and ".join(n for n in OPERATING_POINTS if n not in have)
            raise OperatingPointError(
                f"this model has no operating point {name!r} (it has "
                f"{', '.join(repr(n) for n in have)}: a model saved before operating points "
                f"existed has only 'balanced'); train it again to fit {missing}"
            )
    return name


def describe_point(name: str, calibrator: Calibrator) -> str:
    """One line: the point's validation numbers and its calibration.

    Example:
        >>> c = Calibrator(2.0, 1.5, 0.41, 0.52, 0.342)
        >>> describe_point("balanced", c)
        'balanced: validation MAP 0.520, unseen R@20 0.342; unseen offset +2.00, temperature 1.5, threshold 0.410'
    """  # noqa: E501
    recall = calibrator.validation_unseen_recall_
    unseen = "n/a (no unseen gold code)" if recall is None else f"{recall:.3f}"
    value = calibrator.validation_map_
    return (
        f"{name}: validation MAP {0.0 if value is None else value:.3f}, unseen "
        f"R@{calibrator.recall_k} {unseen}; unseen offset {calibrator.unseen_offset_:+.2f}, "
        f"temperature {calibrator.unseen_temperature_:g}, threshold {calibrator.threshold_:.3f}"
    )


__all__ = [
    "BALANCED",
    "DEFAULT_OPERATING_POINT",
    "MAX_MAP",
    "OPERATING_POINTS",
    "UNSEEN",
    "OperatingPointError",
    "check_operating_point",
    "describe_point",
    "fit_operating_points",
    "points_from_config",
    "points_to_dict",
]
