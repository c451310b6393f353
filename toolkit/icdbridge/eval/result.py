"""The result of :func:`icdbridge.eval.evaluate`: the public metrics and the data behind plots."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class EvaluationResult(Mapping[str, Any]):
    """What :func:`~icdbridge.eval.evaluate` returns.

    It reads like the ``metrics.json`` dictionary (``result["flat"]["micro_f1"]["value"]``;
    iterating gives the keys of ``metrics.json``), and keeps the data that do not belong in
    ``metrics.json`` in typed fields of their own.

    Attributes:
        metrics: the JSON-able metrics, exactly what ``metrics.json`` holds (schema in
            ``docs/evaluation.md``).
        curves: the micro precision-recall curve over the label space: ``{"precision": array,
            "recall": array}``, one point per distinct score (``precision_recall.png``).
        per_code: code → ``tp, fp, fn, support, precision, recall, f1`` of the flat
            predictions (``per_code.tsv``).

    Example:
        >>> r = EvaluationResult({"flat": {"micro_f1": {"value": 0.5}}})
        >>> r["flat"]["micro_f1"]["value"], list(r), r.per_code
        (0.5, ['flat'], {})
    """

    metrics: dict[str, Any]
    curves: dict[str, np.ndarray] = field(default_factory=dict)
    per_code: dict[str, dict[str, float]] = field(default_factory=dict)

    def __getitem__(self, key: str) -> Any:
        return self.metrics[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.metrics[key] = value

    def __iter__(self) -> Iterator[str]:
        return iter(self.metrics)

    def __len__(self) -> int:
        return len(self.metrics)

    def to_json(self) -> dict[str, Any]:
        """The ``metrics.json`` dictionary."""
        return self.metrics


def public_part(result: Mapping[str, Any]) -> dict[str, Any]:
    """The ``metrics.json`` dictionary of a result (an :class:`EvaluationResult` or a dict).

    A plain dictionary (as results were before :class:`EvaluationResult`) loses its keys that
    start with ``_``.
    """
    if isinstance(result, EvaluationResult):
        return result.metrics
    return {k: v for k, v in result.items() if not k.startswith("_")}
