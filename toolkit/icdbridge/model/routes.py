"""Predict in any code system: the ``direct``, ``crosswalk`` and ``blend`` routes.

A model trained in one code system (say ICD-10-CM) can score the codes of another system or
release (ICD-9-CM, WHO ICD-10, ICD-11, a custom hierarchy file, another ICD-10-CM release) in
three ways:

* ``direct`` — the model scores the target system's codes from their descriptions and hierarchy
  alone, as it scores any code it never saw (zero-shot). Codes of another system are all
  *outside the training label space*: the training memory (neighbour vote, prior, seen flag) is
  off for them and the calibration treats every one as unseen.
* ``crosswalk`` — the model ranks codes of the system it was trained on, and the scores of its
  :data:`SOURCE_K` best codes are propagated to the target codes along the edges of the
  crosswalk (:mod:`icdbridge.crosswalk`, every target kept). A target reached from several
  source codes combines them (:data:`COMBINERS`: noisy-or by default), each source's
  probability multiplied by the weight of its edge (:class:`EdgeWeights`: exactness of the
  path, residual target, GEM combination part, and whether the target is the crosswalk's own
  ``best`` pick among the source's alternatives).
* ``blend`` — ``weight · crosswalk + (1 − weight) · direct`` for every code either route
  scores: a code the crosswalk reaches tightly keeps its propagated score, a code it reaches
  only loosely (a low edge weight) or not at all is ranked by the direct description score.
  The direct route also scores the :data:`REACH_K` best codes the crosswalk reaches for the
  note, so that every reached code has both scores.

The default, ``auto`` (:data:`DEFAULT_ROUTE`), is ``blend`` when a crosswalk path links the
model's system to the target system and ``direct`` otherwise (:func:`resolve_route`).
:data:`DEFAULT_BLEND_WEIGHT` and :data:`DEFAULT_COMBINE` are chosen on held-out CodiEsp
**train** documents (never dev) by ``experiments/transfer/routes.py --choose``, see their
comment.

Every route gives calibrated probabilities on one scale (the crosswalk's are the trained
system's probabilities times edge weights). The model's validated threshold
(:attr:`~icdbridge.model.calibration.Calibrator.threshold_`) decides the predicted codes: on
``direct`` the codes at or above it, on ``crosswalk`` and ``blend`` the strongest targets of the
trained-system codes at or above it (:func:`route_decisions`).

Example:
    >>> from icdbridge.model.routes import propagate
    >>> edges = {"A": {"X": 1.0, "Y": 0.5}, "B": {"X": 0.5}}
    >>> propagate({"A": 0.8, "B": 0.4}, edges.get, "noisy-or")  # X: 1 - (1 - .8)(1 - .2)
    {'X': 0.84, 'Y': 0.4}
    >>> propagate({"A": 0.8, "B": 0.4}, edges.get, "max")
    {'X': 0.8, 'Y': 0.4}
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from icdbridge.errors import IcdbridgeError

if TYPE_CHECKING:
    from icdbridge.codes.base import Terminology
    from icdbridge.crosswalk.model import Mapping as CrosswalkMapping
    from icdbridge.crosswalk.model import Target

ROUTES = ("direct", "crosswalk", "blend")
"""How codes of the target system are scored (see the module docstring)."""

AUTO = "auto"
"""Route name that resolves to ``blend`` with a crosswalk path, ``direct`` without one."""

DEFAULT_ROUTE = AUTO
"""Default route of :func:`load_routed` / :func:`predict_documents` (``icdbridge predict
--route``)."""

COMBINERS = ("noisy-or", "max")
"""How the weighted scores of several source codes reaching one target combine:
``noisy-or`` ``1 − Π(1 − wᵢ·pᵢ)`` (two sources pointing to one code make it likelier than
either alone) or ``max`` ``max wᵢ·pᵢ`` (the best single path)."""

# Chosen by `python experiments/transfer/routes.py --choose` (2026-12-06): an ICD-10-CM model
# fitted on the first 400 CodiEsp train documents scores ICD-11 on the other 100 train documents
# (gold mapped through the crosswalk; never a dev document) for every combiner and weight of
# routes.toml; noisy-or at 0.7 has the best MAP, 0.3745 (max: 0.3438 at best; the direct route
# alone 0.1383, the crosswalk alone 0.3439); experiments/transfer/routes_choice.json.
DEFAULT_COMBINE = "noisy-or"
"""Default combiner of :data:`COMBINERS`."""
DEFAULT_BLEND_WEIGHT = 0.7
"""Default weight of the crosswalk score in the ``blend`` route (1 − weight: the direct score)."""

SOURCE_K = 100
"""The trained system's best codes of each note whose scores are propagated (the rest, below
them, would add little; every training code is a candidate of every note, so the full list runs
to thousands)."""

REACH_K = 100
"""In the ``blend`` route, the best crosswalk-reached codes of each note that the direct route
scores too (codes it would not have shortlisted itself)."""


@dataclass(frozen=True)
class EdgeWeights:
    """Weight of a crosswalk edge (source code → target code), a product of factors in [0, 1].

    Attributes:
        exact: The whole path is exact (GEM non-approximate, WHO ``Equivalent``, identical).
        unknown: The table states no relation (the 2024 WHO tables).
        approximate: Some hop is approximate.
        residual: Multiplies when the path lands on a residual (``/other``,
            ``/unspecified``) category: the source's meaning is only part of it.
        combination: Multiplies for a part of a GEM combination (the source needs all parts;
            one part alone says less than the source).
        alternative: Multiplies for a target that is not the crosswalk's ``best`` pick among the
            source's alternatives (:func:`~icdbridge.crosswalk.policies.keep_best`): only one of
            several alternatives is usually right.

    Example:
        >>> from icdbridge.crosswalk.model import Exactness, Target
        >>> target = Target("X1", "toy", Exactness.APPROXIMATE, "t", "1", residual=True)
        >>> round(EdgeWeights().weight(target, primary=True), 4)  # 0.6 × 0.7
        0.42
    """

    exact: float = 1.0
    unknown: float = 0.8
    approximate: float = 0.6
    residual: float = 0.7
    combination: float = 0.8
    alternative: float = 0.5

    def __post_init__(self) -> None:
        for name, value in self.__dict__.items():
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"edge weight {name} must lie in [0, 1] (got {value})")

    def weight(self, target: Target, primary: bool = True) -> float:
        """Weight of the edge to ``target`` (a coded target of a lossless mapping)."""
        from icdbridge.crosswalk.model import Exactness

        exactness = target.path_exactness
        w = {
            Exactness.EXACT: self.exact,
            Exactness.UNKNOWN: self.unknown,
            Exactness.APPROXIMATE: self.approximate,
        }.get(exactness, 0.0)
        if target.path_residual:
            w *= self.residual
        if target.is_combination:
            w *= self.combination
        if not primary:
            w *= self.alternative
        return w


def mapping_edges(
    mapping: CrosswalkMapping,
    weights: EdgeWeights = EdgeWeights(),
    keep: Callable[[str], str | None] | None = None,
) -> dict[str, float]:
    """Target code → edge weight for one source code's lossless mapping.

    A target reached by several paths keeps its heaviest edge. ``keep`` turns a target code into
    the label-space code it stands for, or ``None`` to drop it (e.g. a code the target release
    lacks); ``None``: every target as it is.
    """
    from icdbridge.crosswalk.policies import keep_best

    coded = mapping.coded_targets
    if not coded:
        return {}
    primary = {t.code for t in keep_best(mapping).coded_targets} if len(coded) > 1 else None
    out: dict[str, float] = {}
    for target in coded:
        code = target.code if keep is None else keep(target.code)
        if code is None:
            continue
        w = weights.weight(target, primary is None or target.code in primary)
        if w > out.get(code, 0.0):
            out[code] = w
    return out


def propagate(
    scores: Mapping[str, float],
    edges_of: Callable[[str], Mapping[str, float] | None],
    combine: str = DEFAULT_COMBINE,
) -> dict[str, float]:
    """Propagate source-code probabilities to target codes along weighted edges.

    Args:
        scores: Source code → probability (the trained system's calibrated scores).
        edges_of: Source code → {target code: edge weight} (``None``/empty: reaches nothing).
        combine: One of :data:`COMBINERS`.

    Returns:
        Target code → score, best first (ties by code).
    """
    if combine not in COMBINERS:
        raise IcdbridgeError(
            f"unknown combiner {combine!r} (expected one of: {', '.join(COMBINERS)})"
        )
    miss: dict[str, float] = {}  # noisy-or: product of (1 - w p); max: best w p
    for source, p in scores.items():
        for target, w in (edges_of(source) or {}).items():
            contribution = w * p
            if combine == "max":
                miss[target] = max(miss.get(target, 0.0), contribution)
            else:
                miss[target] = miss.get(target, 1.0) * (1.0 - contribution)
    out = miss if combine == "max" else {t: 1.0 - m for t, m in miss.items()}
    out = {t: round(s, 12) for t, s in out.items() if s > 0.0}
    return dict(sorted(out.items(), key=lambda item: (-item[1], item[0])))


def blend(
    direct: Mapping[str, float], propagated: Mapping[str, float], weight: float
) -> dict[str, float]:
    """``weight · propagated + (1 − weight) · direct`` over the codes of either (missing: 0).

    Example:
        >>> blend({"X": 0.2, "Z": 0.5}, {"X": 0.9}, 0.5)
        {'X': 0.55, 'Z': 0.25}
    """
    if not 0.0 <= weight <= 1.0:
        raise IcdbridgeError(f"blend weight must lie in [0, 1] (got {weight})")
    codes = dict.fromkeys([*propagated, *direct])
    out = {
        c: round(weight * propagated.get(c, 0.0) + (1.0 - weight) * direct.get(c, 0.0), 12)
        for c in codes
    }
    return dict(sorted(out.items(), key=lambda item: (-item[1], item[0])))


def route_decisions(
    route: str,
    scores: Mapping[str, float],
    sources: Mapping[str, float],
    edges_of: Callable[[str], Mapping[str, float] | None],
    threshold: float,
) -> list[str]:
    """The codes a route predicts among ``scores`` (best first).

    On the ``direct`` route a code is predicted when its score reaches the model's validated
    ``threshold``. On the ``crosswalk`` and ``blend`` routes the decision travels along the
    crosswalk: every trained-system code the model predicts (its calibrated probability in
    ``sources`` at or above ``threshold``) predicts its strongest targets (the highest edge
    weight: the crosswalk's own ``best`` pick of exact, non-residual targets first), as mapping
    the model's own predicted codes would. Propagated scores are probabilities times edge
    weights below 1, so they rarely reach the threshold themselves; they rank, the decisions
    travel. ``blend`` also predicts a code whose blended score reaches the threshold.

    Args:
        route: One of :data:`ROUTES`.
        scores: Target code → score on that route (the codes that can be predicted).
        sources: Trained-system code → calibrated probability (empty on ``direct``).
        edges_of: Trained-system code → {target code: edge weight}.
        threshold: The model's validated threshold.

    Example:
        >>> edges = {"A": {"X": 0.8, "Y": 0.4}, "B": {"Z": 0.8}}.get
        >>> route_decisions("crosswalk", {"X": 0.76, "Y": 0.38, "Z": 0.4}, {"A": 0.95, "B": 0.5},
        ...                 edges, threshold=0.9)
        ['X']
        >>> route_decisions("direct", {"X": 0.95, "Y": 0.5}, {}, edges, threshold=0.9)
        ['X']
    """
    if route == "direct" or not sources:
        return [c for c, p in scores.items() if p >= threshold]
    chosen: set[str] = set()
    for source, p in sources.items():
        edges = edges_of(source) or {}
        if p < threshold or not edges:
            continue
        strongest = max(edges.values())
        chosen.update(t for t, w in edges.items() if w == strongest)
    return [c for c, p in scores.items() if c in chosen or (route == "blend" and p >= threshold)]


def crosswalk_path(source: str, target: str) -> list[tuple[str, str]] | None:
    """The crosswalk hops from ``source`` to ``target`` system, or ``None`` when there is none
    (same system, a custom hierarchy no table links, ...)."""
    from icdbridge.crosswalk import route

    try:
        return route(source, target)
    except IcdbridgeError:
        return None


def resolve_route(requested: str, model_system: str, target_system: str, linked: bool) -> str:
    """The route that scores: ``requested``, or for ``auto`` ``blend`` when ``linked`` (a
    crosswalk path from ``model_system`` to ``target_system`` exists) else ``direct``.

    Raises:
        IcdbridgeError: unknown route, or ``crosswalk``/``blend`` without a crosswalk path.

    Example:
        >>> resolve_route("auto", "icd10cm", "icd11", linked=True)
        'blend'
        >>> resolve_route("auto", "icd10cm", "icd10cm", linked=False)
        'direct'
    """
    if requested == AUTO:
        return "blend" if linked else "direct"
    if requested not in ROUTES:
        raise IcdbridgeError(
            f"unknown route {requested!r} (expected one of: {', '.join((AUTO, *ROUTES))})"
        )
    if requested != "direct" and not linked:
        why = (
            "it is the system the model was trained on"
            if model_system == target_system
            else f"no crosswalk path from {model_system} to {target_system}"
        )
        raise IcdbridgeError(f"--route {requested} needs a crosswalk to {target_system}: {why}")
    return requested


# ------------------------------------------------------------------ training label space
def training_label_space(model_config: Mapping[str, Any]) -> frozenset[str] | None:
    """The codes the model was trained over: its release's label space (``config.json`` of a
    model directory), or ``None`` when that release cannot be loaded here (a custom hierarchy
    file no longer registered)."""
    from icdbridge.codes import get_terminology
    from icdbridge.model.config import PipelineConfig
    from icdbridge.model.labels.space import label_space_codes
    from icdbridge.model.labels.texts import nearest_defined

    pipeline = PipelineConfig.from_dict(dict(model_config["pipeline"]))
    try:
        terminology = get_terminology(model_config["system"], model_config["release"])
        codes = label_space_codes(
            terminology, pipeline.label_space, bases=pipeline.seventh_character_bases is True
        )
    except IcdbridgeError:
        return None
    extra = [c for c in pipeline.extra_codes if nearest_defined(terminology, c) is not None]
    return frozenset([*codes, *extra])


def outside_training(
    model_config: Mapping[str, Any],
    terminology: Terminology,
    codes: Collection[str],
    trained: Collection[str] | None = None,
) -> frozenset[str] | None:
    """Which of ``codes`` (of ``terminology``) lie outside the model's training label space.

    Every code of another system is outside (even one spelled like a training code: WHO
    ``I10`` is not ICD-10-CM ``I10``); in the training system and release none is; in another
    release of it, the codes that release has and the training release lacks. ``None`` when the
    training release cannot be loaded to compare.

    Args:
        model_config: The model's ``config.json`` (``system``, ``release``, ``pipeline``).
        terminology: The release predicted in.
        codes: Its label-space codes.
        trained: The training label space when already known (default:
            :func:`training_label_space`).
    """
    if terminology.system != model_config["system"]:
        return frozenset(codes)
    if terminology.release == model_config["release"]:
        return frozenset()
    if trained is None:
        trained = training_label_space(model_config)
    if trained is None:
        return None
    return frozenset(c for c in codes if c not in trained)
