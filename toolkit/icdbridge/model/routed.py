"""Routed prediction: a trained model predicting in any code system or release.

:func:`load_routed` (and the one-call :func:`predict_documents`) loads a model directory for a
target system, release or custom hierarchy file and scores it by one of the routes of
:mod:`icdbridge.model.routes` (``direct``, ``crosswalk``, ``blend``; default ``auto``). Every
row says the route that scored it and which of its codes lie outside the training label space
(``icdbridge predict`` is a thin layer over this module).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from icdbridge.errors import IcdbridgeError
from icdbridge.model.config import DEFAULT_OPERATING_POINT, DEFAULT_TOP_K
from icdbridge.model.predict import Evidence, Prediction, RankingPredictor
from icdbridge.model.routes import (
    COMBINERS,
    DEFAULT_BLEND_WEIGHT,
    DEFAULT_COMBINE,
    DEFAULT_ROUTE,
    REACH_K,
    ROUTES,
    SOURCE_K,
    EdgeWeights,
    blend,
    crosswalk_path,
    mapping_edges,
    outside_training,
    propagate,
    resolve_route,
    route_decisions,
    training_label_space,
)

if TYPE_CHECKING:
    from icdbridge.codes.base import Terminology
    from icdbridge.data import Document
    from icdbridge.model.predict import Predictor
    from icdbridge.model.upgrade import ReleaseChanges


@dataclass
class RoutedPrediction(Prediction):
    """A :class:`~icdbridge.model.predict.Prediction` that says how it was scored.

    Attributes:
        route: The route that scored the row (:data:`ROUTES`).
        outside: The ranked codes (of :attr:`scores`) outside the training label space, best
            first (empty when every one is inside; ``None`` when unknown).
        crosswalk: With ``explain`` on the ``crosswalk``/``blend`` routes: target code → its
            source codes ``{"from", "score", "edge"}`` (source probability, edge weight), best
            contribution first.
    """

    route: str = "direct"
    outside: list[str] | None = field(default_factory=list)
    crosswalk: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def to_dict(self, terminology: Terminology | None = None) -> dict[str, Any]:
        """The row of :meth:`Prediction.to_dict` plus ``"route"``, ``"outside_training"`` (codes
        outside the training label space; ``null`` when unknown) and, with ``explain``,
        ``"crosswalk"``."""
        row = super().to_dict(terminology)
        row["route"] = self.route
        row["outside_training"] = self.outside
        if self.crosswalk:
            row["crosswalk"] = self.crosswalk
        return row


class RoutedPredictor(RankingPredictor):
    """A trained model that predicts in a target code system by one of :data:`ROUTES`.

    Use :func:`load_routed` to build one from a model directory; :meth:`predict` (of
    :class:`~icdbridge.model.predict.RankingPredictor`) returns :class:`RoutedPrediction` rows.

    Args:
        direct: Predictor over the target system's label space (memory off for another system).
        route: The route (resolved, one of :data:`ROUTES`).
        model_config: The model's ``config.json`` (system and release trained on).
        source: Predictor over the trained system (``crosswalk``/``blend`` only).
        crosswalk: Crosswalk from the trained system to the target (``crosswalk``/``blend``).
        weights: Edge weights.
        combine: One of :data:`COMBINERS`.
        blend_weight: Weight of the crosswalk score in ``blend``.
        reach_k: See :data:`REACH_K`.
        source_k: See :data:`SOURCE_K`.
        trained_codes: The training label space when the training release can no longer be
            loaded (a custom hierarchy file replaced by a newer one); default: loaded on demand.
    """

    def __init__(
        self,
        direct: Predictor,
        route: str,
        model_config: Mapping[str, Any],
        source: Predictor | None = None,
        crosswalk: Any = None,
        weights: EdgeWeights = EdgeWeights(),
        combine: str = DEFAULT_COMBINE,
        blend_weight: float = DEFAULT_BLEND_WEIGHT,
        reach_k: int = REACH_K,
        source_k: int = SOURCE_K,
        trained_codes: frozenset[str] | None = None,
    ) -> None:
        if route not in ROUTES:
            raise IcdbridgeError(f"unknown route {route!r} (expected one of: {', '.join(ROUTES)})")
        if route != "direct" and (source is None or crosswalk is None):
            raise IcdbridgeError(
                f"route {route} needs the trained-system predictor and a crosswalk"
            )
        if combine not in COMBINERS:
            raise IcdbridgeError(
                f"unknown combiner {combine!r} (expected one of: {', '.join(COMBINERS)})"
            )
        if not 0.0 <= blend_weight <= 1.0:
            raise IcdbridgeError(f"blend weight must lie in [0, 1] (got {blend_weight})")
        self.direct = direct
        self.route = route
        self.model_config = dict(model_config)
        self.source = source
        self.crosswalk = crosswalk
        self.weights = weights
        self.combine = combine
        self.blend_weight = blend_weight
        self.reach_k = reach_k
        self.source_k = source_k
        self._edges: dict[str, dict[str, float]] = {}
        self._trained_codes = trained_codes
        self._outside: frozenset[str] | None = None
        self._outside_known = False
        if source is not None:  # encode each note once for both predictors
            shared: dict = {}
            direct.window_cache = source.window_cache = shared

    @property
    def terminology(self) -> Terminology:
        """The target release."""
        return self.direct.space.terminology

    @property
    def release_changes(self) -> ReleaseChanges | None:
        """The target release's changes since the training release (the direct predictor's)."""
        return self.direct.release_changes

    @property
    def threshold(self) -> float:
        """The model's validated threshold at the default operating point (every route's
        scores are on its scale)."""
        return self.threshold_at(DEFAULT_OPERATING_POINT)

    def threshold_at(self, operating_point: str) -> float:
        """The model's validated threshold at ``operating_point``."""
        return self.direct.calibrator_for(operating_point).threshold_

    def outside(self) -> frozenset[str] | None:
        """Codes of the target label space outside the training label space (``None``:
        unknown; see :func:`outside_training`)."""
        if not self._outside_known:
            self._outside = outside_training(
                self.model_config, self.terminology, self.direct.space.codes, self._trained_codes
            )
            self._outside_known = True
        return self._outside

    def edges(self, code: str) -> dict[str, float]:
        """Target label-space code → edge weight, for one trained-system code (cached)."""
        found = self._edges.get(code)
        if found is None:
            found = self._edges[code] = mapping_edges(
                self.crosswalk.map(code), self.weights, self._in_space
            )
        return found

    def _in_space(self, code: str) -> str | None:
        """The label-space code a crosswalk target stands for (an ICD-11 cluster: its stem)."""
        from icdbridge.codes.icd11 import split_cluster

        row = self.direct.space.row
        parts = split_cluster(code) if self.terminology.system == "icd11" else None
        candidate = parts[0] if parts else code
        if candidate in row:
            return candidate
        try:
            candidate = self.terminology.normalize(candidate)
        except Exception:  # a target the release cannot parse is dropped
            return None
        return candidate if candidate in row else None

    # ----------------------------------------------------------------- scores per route
    def source_scores(
        self,
        docs: Sequence[Document],
        progress: bool = False,
        operating_point: str = DEFAULT_OPERATING_POINT,
    ) -> list[dict[str, float]]:
        """The trained system's calibrated scores of its :data:`~icdbridge.model.routes.SOURCE_K`
        best codes, per document (what the crosswalk propagates)."""
        if self.source is None:
            raise IcdbridgeError("the direct route has no trained-system predictor")
        predicted = self.source.predict(
            docs, top_k=self.source_k, progress=progress, operating_point=operating_point
        )
        scores = [p.scores for p in predicted]
        self.prefetch({code for s in scores for code in s})
        return scores

    def prefetch(self, codes: Collection[str]) -> None:
        """Map the trained-system ``codes`` not mapped yet in one batch (a crosswalk maps a
        batch much faster than one code at a time)."""
        todo = sorted(c for c in codes if c not in self._edges)
        if not todo:
            return
        many = getattr(self.crosswalk, "map_many", None)
        mappings = many(todo) if many is not None else [self.crosswalk.map(c) for c in todo]
        for code, mapping in zip(todo, mappings, strict=True):
            self._edges[code] = mapping_edges(mapping, self.weights, self._in_space)

    def route_scores(
        self,
        docs: Sequence[Document],
        sources: Sequence[Mapping[str, float]] | None = None,
        progress: bool = False,
        operating_point: str = DEFAULT_OPERATING_POINT,
    ) -> dict[str, list[dict[str, float]]]:
        """Every route's full score dictionary per document (for comparisons and choosing the
        blend weight): ``{"direct", "crosswalk", "blend", "sources"}`` (only ``direct``
        without a crosswalk). ``sources``: :meth:`source_scores` of ``docs`` when already
        computed (e.g. shared by several target systems)."""
        if self.source is None:
            direct = self.direct_scores(docs, None, False, progress, operating_point)
            return {"direct": [d for d, _ in direct]}
        if sources is None:
            sources = self.source_scores(docs, progress, operating_point)
        propagated = [propagate(s, self.edges, self.combine) for s in sources]
        reached = [list(p)[: self.reach_k] for p in propagated]
        direct = [d for d, _ in self.direct_scores(docs, reached, False, progress, operating_point)]
        return {
            "direct": direct,
            "crosswalk": propagated,
            "blend": [
                blend(d, p, self.blend_weight) for d, p in zip(direct, propagated, strict=True)
            ],
            "sources": sources,
        }

    def direct_scores(
        self,
        docs: Sequence[Document],
        reached: Sequence[Sequence[str]] | None = None,
        explain: bool = False,
        progress: bool = False,
        operating_point: str = DEFAULT_OPERATING_POINT,
    ) -> list[tuple[dict[str, float], Evidence | None]]:
        """Calibrated direct scores of every candidate per document (``reached``: codes per
        document scored too, with their hierarchy siblings), and, with ``explain``, a function
        giving a candidate's evidence spans (``None`` without)."""
        from icdbridge.data import Document

        if reached is not None:
            # the reached codes join each note's candidates as its "codes" (with their siblings),
            # as the text policy scores a row's crosswalk candidates
            docs = [
                Document(d.id, d.text, list(r), self.terminology.system, dict(d.meta))
                for d, r in zip(docs, reached, strict=True)
            ]
        scored = self.direct.scored_rows(
            docs, explain, progress, operating_point, with_codes=reached is not None
        )
        return [(ranked, evidence) for ranked, evidence, _ in scored]

    def scored_rows(
        self, docs: Sequence[Document], explain: bool, progress: bool, operating_point: str
    ) -> list[tuple[dict[str, float], Evidence | None, dict[str, float]]]:
        """Per document its scores by this predictor's route (best first), its evidence (direct
        scores with ``explain``, else ``None``) and its trained-system source scores (empty on
        the direct route)."""
        if self.source is not None:
            self.source.calibrator_for(operating_point)
        self.outside()
        if self.route == "direct":
            direct = self.direct_scores(docs, None, explain, progress, operating_point)
            return [(s, e, {}) for s, e in direct]
        sources = self.source_scores(docs, progress, operating_point)
        propagated = [propagate(s, self.edges, self.combine) for s in sources]
        if self.route == "crosswalk":
            return [(p, None, s) for p, s in zip(propagated, sources, strict=True)]
        reached = [list(p)[: self.reach_k] for p in propagated]
        direct = self.direct_scores(docs, reached, explain, progress, operating_point)
        return [
            (blend(d, p, self.blend_weight), e, s)
            for (d, e), p, s in zip(direct, propagated, sources, strict=True)
        ]

    def decide(
        self, kept: dict[str, float], threshold: float, sources: dict[str, float]
    ) -> list[str]:
        """The predicted codes of this predictor's route (:func:`~icdbridge.model.routes.
        route_decisions`: on ``crosswalk`` and ``blend`` the trained system's predicted codes
        predict their strongest crosswalk targets)."""
        return route_decisions(self.route, kept, sources, self.edges, threshold)

    def prediction(
        self, row: Prediction, sources: dict[str, float], explain: bool
    ) -> RoutedPrediction:
        """``row`` with this predictor's route, its codes outside the training label space and,
        with ``explain``, the source codes of each kept code (``sources``: its source scores)."""
        outside = self.outside()
        return RoutedPrediction(
            **vars(row),
            route=self.route,
            outside=None if outside is None else [c for c in row.scores if c in outside],
            crosswalk=self._sources_of(row.scores, sources) if explain and sources else {},
        )

    def _sources_of(
        self, kept: Mapping[str, float], sources: Mapping[str, float]
    ) -> dict[str, list[dict[str, Any]]]:
        """Per kept target, its two strongest source codes ``{"from", "score", "edge"}``."""
        found: dict[str, list[tuple[float, str, float, float]]] = {}
        for source, p in sources.items():
            for target, w in self.edges(source).items():
                if target in kept:
                    found.setdefault(target, []).append((w * p, source, p, w))
        return {
            target: [
                {"from": s, "score": round(p, 4), "edge": round(w, 4)}
                for _, s, p, w in sorted(rows, key=lambda r: (-r[0], r[1]))[:2]
            ]
            for target, rows in found.items()
        }

    def describe(self) -> str:
        """One line: the target release, the route (and crosswalk), and how many of its codes
        lie outside the training label space."""
        terminology = self.terminology
        trained = f"{self.model_config['system']} {self.model_config['release']}"
        outside = self.outside()
        total = len(self.direct.space)
        if outside is None:
            where = f"cannot tell which lie outside the training label space ({trained})"
        elif not outside:
            where = f"all inside the training label space ({trained})"
        else:
            share = "all" if len(outside) == total else f"{len(outside):,} of {total:,}"
            where = (
                f"{share} outside the training label space ({trained}): scored from their "
                "descriptions and hierarchy"
                + (
                    ", training memory off"
                    if terminology.system != self.model_config["system"]
                    else ""
                )
            )
        route = f"route {self.route}"
        if self.route != "direct":
            systems = getattr(
                self.crosswalk, "systems", (self.model_config["system"], terminology.system)
            )
            route += f" (crosswalk {' → '.join(systems)}, {self.combine}"
            if self.route == "blend":
                route += f", crosswalk weight {self.blend_weight}"
            route += ")"
        line = f"{terminology.name} {terminology.release}: {total:,} codes, {where}; {route}"
        trained_with = self.model_config.get("pipeline", {}).get("index_phrases") or []
        lexical = self.direct.lexical
        if trained_with and lexical is not None and lexical.index_phrases is None:
            line += "; the model's ICD-10-CM Index phrases are not used (other code system)"
        return line


@dataclass(frozen=True)
class RoutePlan:
    """Where and by which route a model directory predicts (:func:`plan_route`), decided
    before any label space is built.

    Attributes:
        model_config: The model's ``config.json``.
        trained: The system the model was trained in.
        system: The target system (registry id; a hierarchy file's own id).
        release: The target release asked for (``None``: the default of :func:`load_routed`).
        route: The resolved route (one of :data:`ROUTES`; ``auto`` already decided).
        trained_codes: The training label space, when the target is another release of the
            custom system trained in (kept before its hierarchy file is replaced).
    """

    model_config: Mapping[str, Any]
    trained: str
    system: str
    release: str | None
    route: str
    trained_codes: frozenset[str] | None = None


def plan_route(
    model_dir: str | Path,
    system: str | None = None,
    release: str | None = None,
    hierarchy: str | Path | None = None,
    route: str = DEFAULT_ROUTE,
    *,
    operating_point: str = DEFAULT_OPERATING_POINT,
    linked: bool | None = None,
) -> RoutePlan:
    """Decide the target and the route of :func:`load_routed` without loading the model.

    Cheap (reads ``config.json``, registers ``hierarchy``): every engine resolves ``auto`` by
    this one function, so it means the same in ``icdbridge predict`` and on Spark executors.

    Args:
        model_dir, system, release, hierarchy, route, operating_point: As :func:`load_routed`.
        linked: Whether a crosswalk links the trained system to the target (``None``: whether
            :func:`~icdbridge.model.routes.crosswalk_path` finds one).

    Raises:
        IcdbridgeError: an unknown route, ``crosswalk``/``blend`` without a crosswalk path,
            ``system`` and ``hierarchy`` together, a damaged model directory or an operating
            point it does not store.
    """
    from icdbridge.codes import load_hierarchy, register_hierarchy
    from icdbridge.codes.registry import system_id
    from icdbridge.model.io import check_model_dir

    config = check_model_dir(model_dir)
    check_model_point(model_dir, config, operating_point)
    trained = config["system"]
    trained_codes = None
    if hierarchy is not None:
        if system is not None:
            raise IcdbridgeError("give the target as a system or a hierarchy file, not both")
        own = load_hierarchy(hierarchy)
        if own.system == trained and own.release != config["release"]:
            # another release of the custom system trained on: remember the training label
            # space while its file is still the registered one
            trained_codes = training_label_space(config)
        register_hierarchy(own.system, hierarchy)
        system, release = own.system, release or own.release
    target = system_id(system) if system is not None else trained
    if linked is None:
        linked = target != trained and crosswalk_path(trained, target) is not None
    resolved = resolve_route(route, trained, target, linked)
    return RoutePlan(config, trained, target, release, resolved, trained_codes)


def load_routed(
    model_dir: str | Path,
    system: str | None = None,
    release: str | None = None,
    hierarchy: str | Path | None = None,
    route: str = DEFAULT_ROUTE,
    *,
    operating_point: str = DEFAULT_OPERATING_POINT,
    crosswalk: Any = None,
    weights: EdgeWeights = EdgeWeights(),
    combine: str = DEFAULT_COMBINE,
    blend_weight: float = DEFAULT_BLEND_WEIGHT,
    label_codes: Sequence[str] | None = None,
    progress: bool = False,
) -> RoutedPredictor:
    """Load a model directory to predict in any code system or release.

    Args:
        model_dir: Directory written by ``icdbridge train``.
        system: Target code system (default: the one trained on, or the ``hierarchy`` file's).
        release: Target release (default: the trained one for the trained system, else the
            system's default).
        hierarchy: A custom hierarchy file (:mod:`icdbridge.codes.hierarchy_file`) to predict
            in, instead of ``system``: registered under its own system id and release (JSON
            ``system``/``release`` fields, else the file stem and ``custom``).
        route: ``auto`` (:data:`DEFAULT_ROUTE`) or one of :data:`ROUTES`.
        operating_point: Checked here, before anything slow loads (the model must store it);
            pass it again to :meth:`RoutedPredictor.predict`.
        crosswalk: The crosswalk from the trained system to the target (anything with
            ``map(code)`` returning a :class:`~icdbridge.crosswalk.model.Mapping`); default
            :func:`~icdbridge.crosswalk.get_crosswalk` when a path exists.
        weights, combine, blend_weight: See :class:`EdgeWeights`, :data:`COMBINERS`,
            :data:`DEFAULT_BLEND_WEIGHT`.
        label_codes: Restrict the target label space to these codes (default: the whole
            release).
        progress: Show progress bars while loading.

    Raises:
        IcdbridgeError: an unknown route, ``crosswalk``/``blend`` without a crosswalk path,
            ``system`` and ``hierarchy`` together, or any error of loading the model.
    """
    from icdbridge.model.io import from_pretrained

    plan = plan_route(
        model_dir, system, release, hierarchy, route, operating_point=operating_point,
        linked=True if crosswalk is not None else None,
    )  # fmt: skip
    config, resolved = plan.model_config, plan.route
    direct = from_pretrained(
        model_dir,
        system=plan.system,
        release=plan.release,
        label_codes=label_codes,
        progress=progress,
    )
    source = None
    if resolved != "direct":
        if crosswalk is None:
            from icdbridge.crosswalk import get_crosswalk

            crosswalk = get_crosswalk(plan.trained, plan.system)
        source = from_pretrained(model_dir, progress=progress)
    trained_codes = plan.trained_codes
    return RoutedPredictor(
        direct,
        resolved,
        config,
        source,
        crosswalk,
        weights,
        combine,
        blend_weight,
        trained_codes=trained_codes,
    )


def predict_documents(
    model_dir: str | Path,
    docs: Sequence[Document],
    system: str | None = None,
    release: str | None = None,
    hierarchy: str | Path | None = None,
    route: str = DEFAULT_ROUTE,
    top_k: int | None = DEFAULT_TOP_K,
    explain: bool = False,
    progress: bool = False,
    operating_point: str = DEFAULT_OPERATING_POINT,
) -> list[RoutedPrediction]:
    """Rank the codes of any code system or release for each document (one call).

    :func:`load_routed` then :meth:`RoutedPredictor.predict`; each row says its ``route`` and
    which of its codes lie outside the training label space.

    Example (not run: needs a trained model)::

        from icdbridge.data import read_unlabelled
        from icdbridge.model import predict_documents

        rows = predict_documents("model/", read_unlabelled("notes.jsonl"), system="icd11")
        rows[0].route, rows[0].outside[:3]      # 'blend', codes outside ICD-10-CM training
    """
    predictor = load_routed(
        model_dir,
        system,
        release,
        hierarchy,
        route,
        operating_point=operating_point,
        progress=progress,
    )
    return predictor.predict(
        docs, top_k=top_k, explain=explain, progress=progress, operating_point=operating_point
    )


def check_model_point(
    model_dir: str | Path, config: Mapping[str, Any], operating_point: str
) -> None:
    """Refuse, before loading, an operating point the saved model does not store."""
    from icdbridge.errors import InputFormatError
    from icdbridge.model.operating_points import (
        OperatingPointError,
        check_operating_point,
        points_from_config,
    )

    try:
        points = points_from_config(config)
    except (KeyError, TypeError, ValueError) as error:
        raise InputFormatError(
            Path(model_dir) / "config.json",
            f"unusable operating points ({error}); the model is damaged",
        ) from None
    try:
        check_operating_point(operating_point, points)
    except OperatingPointError as error:
        raise OperatingPointError(f"{model_dir}: {error}") from None
