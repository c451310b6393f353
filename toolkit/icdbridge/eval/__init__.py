"""Evaluation of coding models: flat, ranking, frequency buckets and CoPHE hierarchical metrics.

Stateful metrics (``update / compute / reset``, restrictable to a code subset):
:class:`FlatMetrics`, :class:`RankingMetrics`, :class:`CopheMetrics`. One implementation each of
average precision (:func:`average_precision_of_scores`, :func:`average_precision`), the best-F1
threshold (:func:`best_f1_threshold`) and training-frequency buckets (:mod:`.buckets`), used by
the model, the experiments and ``icdbridge evaluate`` alike. One-call entry points:
:func:`evaluate` (dictionaries; one function per metric family in :data:`METRICS`, an
:class:`EvaluationResult`), :func:`evaluate_files` (files, as ``icdbridge evaluate``) and
:func:`evaluate_ranking` (MAP / R@k overall and by training-frequency bucket).
"""

from icdbridge.eval.base import harmonic_mean, prf
from icdbridge.eval.breakdown import FREQUENCY_BUCKETS, frequency_buckets, train_counts
from icdbridge.eval.buckets import (
    BUCKETS,
    DEFAULT_BOUNDARIES,
    BucketBoundaries,
    bucket_of,
    codes_by_bucket,
    recall_at_k_by_bucket,
    train_frequency,
)
from icdbridge.eval.compare import RunComparison, compare_files, compare_runs, write_comparison
from icdbridge.eval.cophe import LEVEL_PLANS, CopheMetrics, cophe_report
from icdbridge.eval.evaluate import METRICS, evaluate, evaluate_files, evaluate_ranking
from icdbridge.eval.flat import FlatMetrics
from icdbridge.eval.hierarchy import (
    CopheHierarchy,
    EvalHierarchy,
    TerminologyHierarchy,
    resolve_hierarchy,
)
from icdbridge.eval.io import CodeFile, read_codes
from icdbridge.eval.ranking import (
    RankingMetrics,
    average_precision,
    average_precision_of_scores,
    rank_codes,
)
from icdbridge.eval.report import check_output_folder, write_outputs
from icdbridge.eval.result import EvaluationResult
from icdbridge.eval.threshold import Thresholds, best_f1_threshold, tune_thresholds

__all__ = [
    "BUCKETS",
    "DEFAULT_BOUNDARIES",
    "FREQUENCY_BUCKETS",
    "LEVEL_PLANS",
    "METRICS",
    "BucketBoundaries",
    "CodeFile",
    "CopheHierarchy",
    "CopheMetrics",
    "EvalHierarchy",
    "EvaluationResult",
    "FlatMetrics",
    "RankingMetrics",
    "RunComparison",
    "TerminologyHierarchy",
    "Thresholds",
    "average_precision",
    "average_precision_of_scores",
    "best_f1_threshold",
    "bucket_of",
    "check_output_folder",
    "codes_by_bucket",
    "compare_files",
    "compare_runs",
    "cophe_report",
    "evaluate",
    "evaluate_files",
    "evaluate_ranking",
    "frequency_buckets",
    "harmonic_mean",
    "prf",
    "rank_codes",
    "read_codes",
    "recall_at_k_by_bucket",
    "resolve_hierarchy",
    "train_counts",
    "train_frequency",
    "tune_thresholds",
    "write_comparison",
    "write_outputs",
]
