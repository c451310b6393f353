"""Breakdowns: code frequency buckets from a training set, chapters, truncation levels."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping

FREQUENCY_BUCKETS: dict[str, tuple[int, float]] = {
    "unseen": (0, 0),
    "few_shot": (1, 5),
    "frequent": (6, float("inf")),
}
"""Bucket → inclusive range of training document frequency."""


def train_counts(train: Mapping[str, Iterable[str]]) -> Counter[str]:
    """Number of training documents holding each code.

    Example:
        >>> train_counts({"d1": ["A", "B"], "d2": ["A", "A"]})
        Counter({'A': 2, 'B': 1})
    """
    counts: Counter[str] = Counter()
    for codes in train.values():
        counts.update(set(codes))
    return counts


def frequency_buckets(codes: Iterable[str], counts: Mapping[str, int]) -> dict[str, set[str]]:
    """Split ``codes`` by training frequency: unseen (0), few-shot (1–5), frequent (>5).

    Example:
        >>> frequency_buckets(["A", "B", "C"], {"A": 7, "B": 1})
        {'unseen': {'C'}, 'few_shot': {'B'}, 'frequent': {'A'}}
    """
    out: dict[str, set[str]] = {name: set() for name in FREQUENCY_BUCKETS}
    for code in codes:
        n = counts.get(code, 0)
        for name, (low, high) in FREQUENCY_BUCKETS.items():
            if low <= n <= high:
                out[name].add(code)
                break
    return out


def truncate(n: int) -> Callable[[str], str]:
    """A function mapping a code to its first ``n`` characters without the dot.

    Example:
        >>> truncate(3)("427.31"), truncate(4)("E11.9")
        ('427', 'E119')
    """

    def apply(code: str) -> str:
        return code.replace(".", "")[:n]

    return apply


TRUNCATION_LEVELS: dict[str, Callable[[str], str]] = {
    "full_code": lambda code: code,
    "4-character": truncate(4),
    "3-character": truncate(3),
}
"""Flat evaluation after mapping every code to a prefix (``3-character`` = the ICD category)."""
