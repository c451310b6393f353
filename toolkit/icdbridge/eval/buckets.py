"""Training-frequency buckets of codes and micro recall@k per bucket.

A code's bucket depends on how many **training documents** hold it (a document counts once,
however often it repeats the code). With the default :data:`DEFAULT_BOUNDARIES` (the CodiEsp
experiment's protocol, ``experiments/codiesp_zeroshot/README.md``):

* ``unseen``: 0 training documents;
* ``few-shot``: 1–5 training documents;
* ``frequent``: more than 5.

:func:`recall_at_k_by_bucket` is **micro** recall: for each bucket, the gold (document, code)
pairs whose code is in the bucket and which the document's ranking places in its top ``k``,
divided by the gold pairs of the bucket. It is the number the README's "unseen-code recall@20"
reports and what ``icdbridge evaluate --train-gold`` writes under ``recall_at_k_by_bucket``.
(The ``by_frequency`` block of ``evaluate`` also holds per-document *macro* recall@k over the
bucket's codes, a different average.)
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from icdbridge.errors import IcdbridgeError
from icdbridge.eval.ranking import DEFAULT_KS, rank_codes

BUCKETS: tuple[str, str, str] = ("unseen", "few-shot", "frequent")
"""The bucket names, from rarest to most frequent (one spelling everywhere: ``few-shot``)."""


@dataclass(frozen=True)
class BucketBoundaries:
    """Where the frequency buckets split, in numbers of training documents.

    Args:
        unseen_max: codes in at most this many training documents are ``unseen`` (default 0:
            only codes no training document holds).
        few_shot_max: codes in ``unseen_max + 1`` to ``few_shot_max`` training documents are
            ``few-shot``; more is ``frequent`` (default 5).

    Raises:
        IcdbridgeError: negative boundaries or ``few_shot_max <= unseen_max``.

    Example:
        >>> b = BucketBoundaries()
        >>> [b.bucket(n) for n in (0, 1, 5, 6)]
        ['unseen', 'few-shot', 'few-shot', 'frequent']
        >>> b.describe()
        'unseen 0, few-shot 1–5, frequent >5'
    """

    unseen_max: int = 0
    few_shot_max: int = 5

    def __post_init__(self) -> None:
        for name in ("unseen_max", "few_shot_max"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise IcdbridgeError(
                    f"bucket boundary {name} must be a whole number >= 0, got {value!r}"
                )
        if self.few_shot_max <= self.unseen_max:
            raise IcdbridgeError(
                f"bucket boundaries: few_shot_max ({self.few_shot_max}) must be greater than "
                f"unseen_max ({self.unseen_max})"
            )

    def bucket(self, n_train_documents: int) -> str:
        """The bucket of a code held by ``n_train_documents`` training documents."""
        if n_train_documents <= self.unseen_max:
            return "unseen"
        return "few-shot" if n_train_documents <= self.few_shot_max else "frequent"

    def ranges(self) -> dict[str, tuple[int, float]]:
        """Bucket → inclusive range of training-document counts."""
        return {
            "unseen": (0, self.unseen_max),
            "few-shot": (self.unseen_max + 1, self.few_shot_max),
            "frequent": (self.few_shot_max + 1, float("inf")),
        }

    def describe(self) -> str:
        """The boundaries in words, e.g. ``unseen 0, few-shot 1–5, frequent >5``."""
        low, high = self.unseen_max + 1, self.few_shot_max
        unseen = "0" if self.unseen_max == 0 else f"0–{self.unseen_max}"
        few = str(low) if low == high else f"{low}–{high}"
        return f"unseen {unseen}, few-shot {few}, frequent >{high}"


DEFAULT_BOUNDARIES = BucketBoundaries()
"""The default buckets: unseen 0, few-shot 1–5, frequent > 5 training documents."""


def train_frequency(
    train: Mapping[str, Iterable[str]] | Iterable[Any],
) -> Counter[str]:
    """Number of training documents holding each code.

    Args:
        train: the training documents, as a mapping document id → codes, or an iterable of
            documents that each have a ``codes`` attribute (:class:`icdbridge.data.Document`),
            or an iterable of code lists (one per document).

    Raises:
        TypeError: a document given as a plain string (a code list was meant).

    Example:
        >>> train_frequency({"d1": ["A", "B"], "d2": ["A", "A"]})
        Counter({'A': 2, 'B': 1})
        >>> train_frequency([["A"], ["A", "C"]])
        Counter({'A': 2, 'C': 1})
    """
    documents = train.values() if isinstance(train, Mapping) else train
    counts: Counter[str] = Counter()
    for document in documents:
        codes = getattr(document, "codes", document)
        if isinstance(codes, str):
            raise TypeError(
                f"train_frequency: a document's codes must be a list of codes, not the string "
                f"{codes!r}"
            )
        counts.update(set(codes))
    return counts


def bucket_of(
    code: str, frequency: Mapping[str, int], boundaries: BucketBoundaries = DEFAULT_BOUNDARIES
) -> str:
    """``unseen``, ``few-shot`` or ``frequent``: the bucket of ``code`` given training counts.

    Example:
        >>> freq = {"A": 7, "B": 1}
        >>> [bucket_of(c, freq) for c in "ABC"]
        ['frequent', 'few-shot', 'unseen']
        >>> bucket_of("A", freq, BucketBoundaries(few_shot_max=10))
        'few-shot'
    """
    return boundaries.bucket(frequency.get(code, 0))


def codes_by_bucket(
    codes: Iterable[str],
    frequency: Mapping[str, int],
    boundaries: BucketBoundaries = DEFAULT_BOUNDARIES,
) -> dict[str, set[str]]:
    """Split ``codes`` into the buckets (every bucket present, possibly empty).

    Example:
        >>> codes_by_bucket(["A", "B", "C"], {"A": 7, "B": 1})
        {'unseen': {'C'}, 'few-shot': {'B'}, 'frequent': {'A'}}
    """
    out: dict[str, set[str]] = {name: set() for name in BUCKETS}
    for code in codes:
        out[bucket_of(code, frequency, boundaries)].add(code)
    return out


def recall_at_k_by_bucket(
    gold: Sequence[Iterable[str]],
    scores: Sequence[Mapping[str, float] | Sequence[str]],
    frequency: Mapping[str, int],
    ks: Sequence[int] = DEFAULT_KS,
    boundaries: BucketBoundaries = DEFAULT_BOUNDARIES,
) -> dict[str, dict[str, float]]:
    """Micro recall@k of each frequency bucket (see the module docstring).

    Args:
        gold: per document, its gold codes.
        scores: per document (same order), code → score or a ranked list of codes; ranked
            as :func:`icdbridge.eval.ranking.rank_codes` ranks (ties keep the given order).
        frequency: code → number of training documents (:func:`train_frequency`).
        ks: the cut-offs.
        boundaries: where the buckets split.

    Returns:
        Bucket → ``{"recall@k": micro recall for each k, "n": gold pairs of the bucket}``, for
        every bucket of :data:`BUCKETS`; a bucket without gold pairs has recall ``nan``.

    Example:
        >>> freq = {"A": 2, "F": 6}
        >>> gold = [{"A", "Z"}, {"F"}]
        >>> scores = [{"Z": 0.9, "X": 0.8, "A": 0.1}, {"Y": 0.5}]
        >>> r = recall_at_k_by_bucket(gold, scores, freq, ks=(1, 3))
        >>> r["unseen"]
        {'recall@1': 1.0, 'recall@3': 1.0, 'n': 1}
        >>> r["few-shot"]
        {'recall@1': 0.0, 'recall@3': 1.0, 'n': 1}
        >>> r["frequent"]
        {'recall@1': 0.0, 'recall@3': 0.0, 'n': 1}
    """
    if len(gold) != len(scores):
        raise ValueError(f"{len(gold)} gold documents but {len(scores)} score lists")
    hits: dict[str, Counter[int]] = {b: Counter() for b in BUCKETS}
    totals: Counter[str] = Counter()
    for g, s in zip(gold, scores, strict=True):
        position = {code: i for i, code in enumerate(rank_codes(s))}
        for code in set(g):
            bucket = bucket_of(code, frequency, boundaries)
            totals[bucket] += 1
            rank = position.get(code)
            for k in ks:
                hits[bucket][k] += rank is not None and rank < k
    out: dict[str, dict[str, float]] = {}
    for bucket in BUCKETS:
        n = totals[bucket]
        out[bucket] = {f"recall@{k}": (hits[bucket][k] / n if n else float("nan")) for k in ks}
        out[bucket]["n"] = n
    return out
