"""One call for the full picture: flat, ranking, breakdowns, CoPHE and bootstrap intervals.

:func:`evaluate` works on in-memory dictionaries, :func:`evaluate_files` reads files first (and
reports input problems), :func:`evaluate_ranking` is the small functional entry point for
experiments (MAP / R@k overall and by frequency bucket).

:func:`evaluate` runs each metric family of :data:`~icdbridge.eval.families.METRICS` (one
function per family, one section of ``metrics.json`` each) and returns an
:class:`~icdbridge.eval.result.EvaluationResult`: its ``metrics`` are the JSON-able
``metrics.json`` dictionary (schema in ``docs/evaluation.md``; every metric is an object
``{"value": x}``, with ``"ci95": [low, high]`` for the headline metrics when bootstrap
resamples were requested), its ``curves`` and ``per_code`` the data of the plots and of
``per_code.tsv``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from os import PathLike
from typing import Any

from icdbridge.errors import IcdbridgeError, InputFormatError
from icdbridge.eval.bootstrap import bootstrap_ci
from icdbridge.eval.breakdown import frequency_buckets
from icdbridge.eval.buckets import DEFAULT_BOUNDARIES, BucketBoundaries, train_frequency
from icdbridge.eval.families import METRICS, EvalData, FamilyOutput
from icdbridge.eval.hierarchy import EvalHierarchy, resolve_hierarchy
from icdbridge.eval.io import CodeFile, read_code_list, read_codes
from icdbridge.eval.ranking import DEFAULT_KS, RankingMetrics
from icdbridge.eval.result import EvaluationResult
from icdbridge.eval.threshold import Thresholds, tune_thresholds

SCHEMA_VERSION = 2
"""Version of the ``metrics.json`` schema (``docs/evaluation.md``; 2: ``few-shot`` spelling,
``recall_at_k_by_bucket``, ``inputs.frequency_buckets``)."""
DEFAULT_THRESHOLD = 0.5

Prediction = Mapping[str, float] | Sequence[str] | set[str]


def _as_ranked(prediction: Prediction) -> Mapping[str, float] | Sequence[str]:
    if isinstance(prediction, set | frozenset):
        return sorted(prediction)
    return prediction


def _predicted_set(prediction: Prediction, thresholds: Thresholds | None) -> set[str]:
    if isinstance(prediction, Mapping):
        return (thresholds or Thresholds(DEFAULT_THRESHOLD)).apply(prediction)
    return set(prediction)


FLAT_DECISIONS: dict[str, str] = {
    "code sets": "the predicted code sets (no scores)",
    "model codes": "the codes the model chose (the predictions' own 'codes'); scores only rank",
    "tuned threshold": "scores above the threshold tuned on the validation predictions",
    "default threshold": f"scores above the untuned default threshold {DEFAULT_THRESHOLD}",
}
"""How the flat (set-based) predictions were obtained → its description in ``report.md``."""


def evaluate_ranking(
    gold: Mapping[str, Iterable[str]],
    scores: Mapping[str, Prediction],
    train_counts: Mapping[str, int] | None = None,
    ks: Sequence[int] = DEFAULT_KS,
    boundaries: BucketBoundaries = DEFAULT_BOUNDARIES,
) -> dict[str, Any]:
    """MAP, P@k, R@k, R-precision, AUCs overall and by training-frequency bucket.

    Args:
        gold: document id → gold codes. Documents missing from ``scores`` rank nothing.
        scores: document id → code → score (or a ranked list of codes).
        train_counts: code → number of training documents (``None``: no buckets).
        ks: cut-offs of P@k and R@k.
        boundaries: where the frequency buckets split.

    Returns:
        ``{"overall": {...}, "by_frequency": {"unseen": {...}, "few-shot": ..., "frequent":
        ...}}`` of plain floats (see :class:`~icdbridge.eval.ranking.RankingMetrics`); buckets
        restrict gold and rankings to the bucket's codes.

    Example:
        >>> r = evaluate_ranking({"d1": {"A", "B"}}, {"d1": {"A": 0.9, "C": 0.5, "B": 0.1}},
        ...                      train_counts={"A": 10}, ks=(1, 2))
        >>> round(r["overall"]["map"], 6), r["by_frequency"]["unseen"]["recall@1"]
        (0.833333, 0.0)
    """
    docs = list(gold)
    g = [set(gold[d]) for d in docs]
    p = [_as_ranked(scores.get(d, [])) for d in docs]
    overall = RankingMetrics(ks=ks)
    overall.update(g, p)
    out: dict[str, Any] = {"overall": overall.compute()}
    if train_counts is not None:
        universe = set().union(*g) if g else set()
        for pred in p:
            universe.update(pred)
        out["by_frequency"] = {}
        for name, codes in frequency_buckets(universe, train_counts, boundaries).items():
            metric = RankingMetrics(codes=codes, ks=ks)
            metric.update(g, p)
            out["by_frequency"][name] = metric.compute()
            out["by_frequency"][name]["n_codes"] = len(codes)
    return out


def _flat_decision(scored: bool, thresholds: Thresholds | None, decisions: Mapping | None) -> str:
    if not scored:
        return "code sets"
    if thresholds is not None:
        return "tuned threshold"
    if decisions is not None:
        return "model codes"
    return "default threshold"


def _add_intervals(
    outputs: Mapping[str, FamilyOutput], n_documents: int, n_resamples: int, seed: int
) -> None:
    """Bootstrap every family's statistics on the same resamples; add ``ci95`` entries."""
    places = [(out.section, path) for out in outputs.values() for path in out.statistics]
    statistics = [stat for out in outputs.values() for stat in out.statistics.values()]
    intervals = bootstrap_ci(
        {str(i): stat for i, stat in enumerate(statistics)}, n_documents, n_resamples, seed
    )
    for i, (section, path) in enumerate(places):
        if str(i) not in intervals:
            continue
        entry = section
        for key in path:
            entry = entry[key]
        entry["ci95"] = intervals[str(i)]


def evaluate(
    gold: Mapping[str, Iterable[str]],
    predictions: Mapping[str, Prediction],
    *,
    hierarchy: EvalHierarchy | None = None,
    train: Mapping[str, int] | None = None,
    label_space: Iterable[str] | None = None,
    cophe_mode: str = "default",
    thresholds: Thresholds | None = None,
    bootstrap: int = 1000,
    seed: int = 0,
    ks: Sequence[int] = DEFAULT_KS,
    decisions: Mapping[str, Iterable[str]] | None = None,
    boundaries: BucketBoundaries = DEFAULT_BOUNDARIES,
) -> EvaluationResult:
    """Evaluate predictions against gold: every family of :data:`METRICS` that applies.

    Args:
        gold: document id → gold codes (canonical forms).
        predictions: document id → ranked list, code → score mapping, or a set (a set has
            no order: it is ranked alphabetically for the ranking metrics).
            Gold documents without predictions count as empty predictions; predictions for
            documents absent from gold are ignored (both reported under ``inputs``).
        hierarchy: code hierarchy for chapters and CoPHE levels (``None``: flat only).
        train: code → number of training documents, for frequency buckets
            (:func:`~icdbridge.eval.buckets.train_frequency`).
        label_space: codes for CoPHE columns and ranking AUCs (``None``: gold ∪ predictions).
        cophe_mode: ``"default"`` or ``"compat"`` (see :mod:`icdbridge.eval.cophe`).
        thresholds: applied to score predictions; ``None`` uses 0.5 (reported as untuned).
        bootstrap: number of bootstrap resamples for the headline intervals (0: none).
        seed: bootstrap seed.
        ks: cut-offs of P@k and R@k (also of the bucket recall@k).
        decisions: document id → the codes the model itself chose (``icdbridge predict``'s
            ``codes``). When given, and ``thresholds`` is not, flat metrics use these sets and
            the scores of ``predictions`` drive only the ranking metrics.
        boundaries: where the frequency buckets split (with ``train``).

    Returns:
        An :class:`~icdbridge.eval.result.EvaluationResult`: reads like the ``metrics.json``
        dictionary (``result["flat"]["micro_f1"]["value"]``), with the precision-recall curve
        and per-code counts in its ``curves`` and ``per_code`` fields. ``inputs.flat_decision``
        names how the flat sets were obtained (a key of :data:`FLAT_DECISIONS`). A frequency
        bucket without gold codes has ``null`` metrics.
    """
    docs = list(gold)
    missing = [d for d in docs if d not in predictions]
    extra = [d for d in predictions if d not in gold]
    g = [set(gold[d]) for d in docs]
    raw = [predictions.get(d, []) for d in docs]
    scored = any(isinstance(x, Mapping) for x in raw)
    decision = _flat_decision(scored, thresholds, decisions)
    if decision == "model codes":
        p_sets = [set(decisions.get(d, ())) for d in docs]
    else:
        p_sets = [_predicted_set(x, thresholds) for x in raw]
    p_ranked = [_as_ranked(x) for x in raw]
    universe = set().union(*g, *p_sets) if docs else set()
    for x in p_ranked:
        universe.update(x)
    data = EvalData(
        docs=docs,
        gold=g,
        predicted=p_sets,
        ranked=p_ranked,
        universe=universe,
        hierarchy=hierarchy,
        train=train,
        boundaries=boundaries,
        label_space=None if label_space is None else list(dict.fromkeys(label_space)),
        cophe_mode=cophe_mode,
        ks=tuple(sorted(set(ks))),
        bootstrap=bool(bootstrap),
    )
    inputs: dict[str, Any] = {
        "n_documents": len(docs),
        "n_documents_without_predictions": len(missing),
        "documents_without_predictions": missing[:20],
        "n_predicted_documents_not_in_gold": len(extra),
        "predicted_documents_not_in_gold": extra[:20],
        "n_gold_codes": sum(len(x) for x in g),
        "n_predicted_codes": sum(len(x) for x in p_sets),
        "n_distinct_codes": len(universe),
        "scored_predictions": scored,
        "flat_decision": decision,
        "threshold": None
        if decision in ("code sets", "model codes")
        else {
            "mode": thresholds.mode if thresholds else "untuned default",
            "global": thresholds.global_ if thresholds else DEFAULT_THRESHOLD,
            "n_per_code": len(thresholds.per_code) if thresholds else 0,
        },
        "hierarchy": None if hierarchy is None else hierarchy.name,
    }
    if train is not None:
        inputs["frequency_buckets"] = {
            "unseen_max": boundaries.unseen_max,
            "few_shot_max": boundaries.few_shot_max,
            "description": boundaries.describe() + " training documents",
        }
    outputs = {
        name: family.compute(data) for name, family in METRICS.items() if family.applies(data)
    }
    if bootstrap:
        _add_intervals(outputs, len(docs), bootstrap, seed)
        inputs["bootstrap"] = {"n_resamples": bootstrap, "seed": seed}
    metrics: dict[str, Any] = {"schema_version": SCHEMA_VERSION, "inputs": inputs}
    metrics.update({name: out.section for name, out in outputs.items()})
    return EvaluationResult(
        metrics,
        curves=outputs["ranking"].curves or {},
        per_code=outputs["flat"].per_code or {},
    )


def _issues_summary(files: Sequence[CodeFile]) -> dict[str, Any]:
    out = {}
    for f in files:
        out[f.path] = {
            "n_rows": f.n_rows,
            "n_documents": len(f.docs),
            "issue_counts": f.issue_counts(),
            "issues": [str(i) for i in f.issues[:50]],
        }
    return out


def _with_documents(file: CodeFile) -> CodeFile:
    """``file`` itself, or an :class:`InputFormatError` when it holds no document."""
    if not file.docs:
        raise InputFormatError(
            file.path, "no documents (the gold file is empty or blank); give a gold file with rows"
        )
    return file


def evaluate_files(
    gold: str | PathLike[str],
    pred: str | PathLike[str],
    *,
    system: str | None = None,
    hierarchy: str | PathLike[str] | None = None,
    train_gold: str | PathLike[str] | None = None,
    tune_threshold_on: str | PathLike[str] | None = None,
    dev_gold: str | PathLike[str] | None = None,
    threshold_mode: str = "global",
    label_space: str | PathLike[str] | None = None,
    cophe_mode: str = "default",
    bootstrap: int = 1000,
    seed: int = 0,
    gold_system: str | None = None,
    pred_system: str | None = None,
    common: str | None = None,
    map_policy: str = "best",
    boundaries: BucketBoundaries = DEFAULT_BOUNDARIES,
) -> EvaluationResult:
    """Read the files, then :func:`evaluate`; input problems are reported under ``inputs``.

    Args:
        gold, pred: gold and prediction files (formats in :mod:`icdbridge.eval.io`).
        system: code system of every file (or ``hierarchy``: a hierarchy file).
        train_gold: training gold codes, for frequency buckets.
        tune_threshold_on, dev_gold: scored validation predictions and their gold codes.
        threshold_mode: ``global`` or ``per_code``.
        label_space: one code per line (CoPHE columns, AUC label space).
        cophe_mode: ``default`` or ``compat``.
        bootstrap, seed: bootstrap resamples and seed.
        gold_system, pred_system, common: evaluate across code systems: gold (and training /
            validation gold) in ``gold_system``, predictions in ``pred_system``, both mapped
            into ``common`` (default: ``gold_system``) with the crosswalk ``map_policy``
            (see :mod:`icdbridge.eval.crossversion`).
        boundaries: where the frequency buckets of ``train_gold`` split.

    Raises:
        InputFormatError: malformed file.
        IcdbridgeError: inconsistent options (e.g. threshold tuning without dev gold).
    """
    cross = gold_system is not None or pred_system is not None
    if cross:
        if hierarchy is not None:
            raise IcdbridgeError(
                "cross-system evaluation maps registry code systems through the crosswalk; "
                "it cannot use a hierarchy file"
            )
        gold_system = gold_system or system
        pred_system = pred_system or system
        if gold_system is None or pred_system is None:
            raise IcdbridgeError(
                "cross-system evaluation needs the code system of the gold and of the "
                "predictions (gold_system and pred_system, or system for the missing one)"
            )
        common = common or gold_system
        tree = resolve_hierarchy(system=common)
        gold_tree = resolve_hierarchy(system=gold_system)
        pred_tree = resolve_hierarchy(system=pred_system)
    else:
        tree = gold_tree = pred_tree = resolve_hierarchy(system=system, hierarchy=hierarchy)
    mapping_reports: dict[str, Any] = {}

    def read(path, which: str) -> CodeFile:
        source_tree = gold_tree if which == "gold" else pred_tree
        raw = read_codes(path, source_tree)
        files.append(raw)
        if not cross:
            return raw
        from icdbridge.eval.crossversion import map_code_file

        source = gold_system if which == "gold" else pred_system
        mapped, report = map_code_file(raw, source, common, map_policy)
        mapping_reports[raw.path] = report
        return mapped

    files: list[CodeFile] = []
    gold_file = _with_documents(read(gold, "gold"))
    pred_file = read(pred, "pred")
    counts = None
    if train_gold is not None:
        counts = train_frequency(read(train_gold, "gold").docs)
    thresholds = None
    if tune_threshold_on is not None:
        if dev_gold is None:
            raise IcdbridgeError(
                "threshold tuning on validation predictions needs their gold codes (dev_gold)"
            )
        dev_pred = read(tune_threshold_on, "pred")
        dev = _with_documents(read(dev_gold, "gold"))
        if dev_pred.scores is None:
            raise IcdbridgeError(f"{dev_pred.path}: threshold tuning needs scored predictions")
        ids = list(dev.docs)
        thresholds = tune_thresholds(
            [set(dev.docs[i]) for i in ids],
            [dev_pred.scores.get(i, {}) for i in ids],
            threshold_mode,
        )
    labels = None
    if label_space is not None:
        label_file = read_code_list(label_space, tree)
        files.append(label_file)
        labels = label_file.docs["*"]
    predictions: dict[str, Prediction] = (
        dict(pred_file.scores) if pred_file.scores is not None else dict(pred_file.docs)
    )
    result = evaluate(
        gold_file.sets(),
        predictions,
        hierarchy=tree,
        train=counts,
        label_space=labels,
        cophe_mode=cophe_mode,
        thresholds=thresholds,
        bootstrap=bootstrap,
        seed=seed,
        decisions=pred_file.chosen,
        boundaries=boundaries,
    )
    result["inputs"]["files"] = _issues_summary(files)
    result["inputs"]["system"] = common if cross else system
    if cross:
        result["inputs"]["cross_system"] = {
            "gold_system": gold_system,
            "pred_system": pred_system,
            "common": common,
            "policy": map_policy,
            "mapping": mapping_reports,
            "unmapped_codes_counted_as": "UNMAPPED:<system>:<code> tokens: false negatives in "
            "gold, false positives in predictions",
        }
    return result
