"""Breakdowns: code frequency buckets from a training set, chapters, truncation levels."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from icdbridge.eval.buckets import (
    DEFAULT_BOUNDARIES,
    BucketBoundaries,
    codes_by_bucket,
    train_frequency,
)

FREQUENCY_BUCKETS: dict[str, tuple[int, float]] = DEFAULT_BOUNDARIES.ranges()
"""Bucket → inclusive range of training document frequency (the default boundaries)."""

train_counts = train_frequency
"""Training documents per code (:func:`~icdbridge.eval.buckets.train_frequency`)."""


def frequency_buckets(
    codes: Iterable[str],
    counts: Mapping[str, int],
    boundaries: BucketBoundaries = DEFAULT_BOUNDARIES,
) -> dict[str, set[str]]:
    """Split ``codes`` by training frequency: unseen (0), few-shot (1–5), frequent (>5).

    The same split as :func:`icdbridge.eval.buckets.codes_by_bucket` (which it calls).

    Example:
        >>> frequency_buckets(["A", "B", "C"], {"A": 7, "B": 1})
        {'unseen': {'C'}, 'few-shot': {'B'}, 'frequent': {'A'}}
    """
    return codes_by_bucket(codes, counts, boundaries)


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
