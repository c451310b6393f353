"""The full prediction path: text → windows → shortlist → rerank → fuse → calibrate → ranking.

For each document:

1. the text is cut into pieces — sentences and their clauses by default, or token windows
   (:mod:`~icdbridge.model.text.pieces`, never truncated) — and every piece is embedded by the
   encoder;
2. candidates are gathered over the **whole** label space of the chosen terminology release: the
   faiss shortlist of the windows (:class:`~icdbridge.model.labels.index.CandidateIndex`), the codes
   the lexical channel matched, and the codes seen in training;
3. each candidate is scored by :class:`~icdbridge.model.net.network.LabelEmbeddingModel` —
label-wise
   attention over the windows, the hierarchy component, and the fusion of the pair features
   (lexical score, word overlap of the code's title with the note, training-neighbour vote,
   training prior) — by default an ensemble of such networks trained with different seeds
   (:class:`~icdbridge.model.net.network.NetworkEnsemble`), whose logits are averaged;
4. :class:`~icdbridge.model.calibration.Calibrator` puts seen and unseen codes on one scale;
5. the ranking is returned with, on request, evidence: character spans of the lexical matches
   and of the pieces the code attended to.

:class:`LabelSpace` holds the label embeddings of a release plus a *derived* row per ancestor
node (the normalised mean of its descendants' label embeddings: one bottom-up message-passing
step over the code graph), which the hierarchy component mixes back into each code, and a few
structural features of every code read off the terminology (:data:`LABEL_FEATURES`: leaf or not,
depth, a 7th-character base, a residual "other" / "unspecified" title) — shared, learned weights
on them let a dataset's coding conventions (e.g. CodiEsp's injury codes without their 7th
character) carry over to codes never seen in training.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from icdbridge.model.config import DEFAULT_OPERATING_POINT, DEFAULT_TOP_K, PipelineConfig
from icdbridge.model.features.batch import DocumentFeatures, collate
from icdbridge.model.features.featurize import FeatureInputs, featurize
from icdbridge.model.features.registry import (
    feature_columns,
)
from icdbridge.model.labels.space import LabelSpace
from icdbridge.model.progress import phase

if TYPE_CHECKING:
    from icdbridge.codes.base import Terminology
    from icdbridge.data import Document
    from icdbridge.model.calibration import Calibrator
    from icdbridge.model.features.memory import TrainingMemory
    from icdbridge.model.net.network import CodingNetwork
    from icdbridge.model.text.encoder import TextEncoder
    from icdbridge.model.upgrade import ReleaseChanges


# ---------------------------------------------------------------------------- features


# ---------------------------------------------------------------------------- scoring


@torch.inference_mode()
def score_documents(
    model: CodingNetwork,
    space: LabelSpace,
    docs: Sequence[DocumentFeatures],
    batch_size: int = 4,
    keep_attention: bool = False,
) -> list[tuple[dict[str, float], torch.Tensor | None]]:
    """Raw logits of every candidate of each document (and its attention when asked)."""
    from icdbridge.model.net.network import score_batch

    was_training = model.training
    model.eval()
    columns = feature_columns(model)
    out = []
    try:
        for start in range(0, len(docs), batch_size):
            chunk = docs[start : start + batch_size]
            batch = collate([(d, torch.arange(len(d.candidates))) for d in chunk], columns)
            result = score_batch(model, space.matrix, space.ancestor_index, batch)
            for row, doc in enumerate(chunk):
                n = len(doc.candidates)
                logits = result.logits[row, :n].tolist()
                pieces = len(doc.spans) + len(doc.original_piece_spans)
                attention = result.attention[row, :n, :pieces].clone() if keep_attention else None
                out.append((dict(zip(doc.candidates, logits, strict=True)), attention))
    finally:
        model.train(was_training)
    return out


@dataclass
class Prediction:
    """Ranked codes of one document.

    Attributes:
        id: Document id.
        scores: Code → calibrated probability, best first (the ``top_k`` best).
        predicted: Codes above the validated threshold.
        evidence: Code → evidence spans ``{"start", "end", "text", "source", "weight"}``.
        release_changes: When predicting in another release than the training one: each code
            of :attr:`scores` added (``"added"``) or with a changed label text (``"changed"``)
            since the training release (:mod:`icdbridge.model.upgrade`); ``None`` otherwise.
    """

    id: str
    scores: dict[str, float]
    predicted: list[str]
    evidence: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    release_changes: dict[str, str] | None = None

    def to_dict(self, terminology: Terminology | None = None) -> dict[str, Any]:
        """JSON-ready row: ``{"id", "codes": [...], "scores": {...}, "evidence"?,
        "release_changes"?}``."""
        row: dict[str, Any] = {"id": self.id, "codes": self.predicted, "scores": self.scores}
        if terminology is not None:
            row["descriptions"] = {
                c: (terminology.description(c) if terminology.get(c) else "") for c in self.scores
            }
        if self.evidence:
            row["evidence"] = self.evidence
        if self.release_changes is not None:
            row["release_changes"] = self.release_changes
        return row


def evidence_for(
    doc: DocumentFeatures, code: str, attention: torch.Tensor | None, position: int, top: int = 2
) -> list[dict[str, Any]]:
    """Evidence spans of one candidate: its lexical matches (in the text, then in the original
    text, marked ``"field": "original_text"``), then its most attended pieces (a piece of the
    original's gloss points into the original text, marked alike)."""
    spans: list[dict[str, Any]] = []
    fields = [(doc.text, doc.lexical_spans, {})]
    if doc.original_text is not None:
        fields.append((doc.original_text, doc.original_spans, {"field": "original_text"}))
    for text, matches, marker in fields:
        for start, end, score in matches.get(code, [])[:top]:
            spans.append(
                {
                    "start": start,
                    "end": end,
                    "text": text[start:end],
                    "source": "lexical",
                    **marker,
                    "weight": round(float(score), 4),
                }
            )
    if attention is not None and attention.shape[-1]:
        weights = attention[position]
        for w in torch.argsort(weights, descending=True)[:top].tolist():
            if w < len(doc.spans):
                (start, end), text, marker = doc.spans[w], doc.text, {}
            else:
                start, end = doc.original_piece_spans[w - len(doc.spans)]
                text, marker = doc.original_text or "", {"field": "original_text"}
            spans.append(
                {
                    "start": start,
                    "end": end,
                    "text": text[start:end],
                    "source": "attention",
                    **marker,
                    "weight": round(float(weights[w]), 4),
                }
            )
    return spans


Evidence = Callable[[str], list[dict[str, Any]]]
"""A scored document's evidence: code → its evidence spans (:func:`evidence_for`)."""


def evidence_of(doc: DocumentFeatures, attention: torch.Tensor | None) -> Evidence:
    """The evidence spans of ``doc``'s candidates, by code (a code it does not score has none)."""
    position = {c: j for j, c in enumerate(doc.candidates)}

    def evidence(code: str) -> list[dict[str, Any]]:
        if code not in position:
            return []
        return evidence_for(doc, code, attention, position[code])

    return evidence


class RankingPredictor:
    """What every predictor shares: :meth:`predict` ranks each document's scored codes, keeps
    the ``top_k`` best and predicts those at or above the operating point's threshold.

    A subclass gives :meth:`threshold_at`, :meth:`scored_rows` (per document its calibrated
    scores with their evidence) and, for a richer row than :class:`Prediction`,
    :meth:`prediction`.

    Attributes:
        release_changes: Codes added or changed since the training release, when predicting in
            another release (:class:`~icdbridge.model.upgrade.ReleaseChanges`), else ``None``.
    """

    release_changes: ReleaseChanges | None = None

    def threshold_at(self, operating_point: str) -> float:
        """The model's validated threshold at ``operating_point``.

        Raises:
            OperatingPointError: an operating point the model does not store.
        """
        raise NotImplementedError

    def scored_rows(
        self, docs: Sequence[Document], explain: bool, progress: bool, operating_point: str
    ) -> list[tuple[dict[str, float], Evidence | None, Any]]:
        """Per document: code → calibrated probability of every scored code (best first), its
        evidence (``None`` without ``explain``) and what :meth:`prediction` needs besides."""
        raise NotImplementedError

    def decide(self, kept: dict[str, float], threshold: float, extra: Any) -> list[str]:
        """The predicted codes among a document's ``kept`` codes: those at or above the
        operating point's ``threshold`` (``extra``: its third item of :meth:`scored_rows`)."""
        return [c for c, p in kept.items() if p >= threshold]

    def prediction(self, row: Prediction, extra: Any, explain: bool) -> Prediction:
        """One document's row (``extra``: its third item of :meth:`scored_rows`): ``row``."""
        return row

    def predict(
        self,
        docs: Sequence[Document],
        top_k: int | None = DEFAULT_TOP_K,
        explain: bool = False,
        progress: bool = False,
        operating_point: str = DEFAULT_OPERATING_POINT,
    ) -> list[Prediction]:
        """Rank codes for each document.

        Args:
            docs: Documents (gold codes, if any, are ignored).
            top_k: Codes kept per document (``None``: every scored code).
            explain: Attach evidence spans to each kept code (and, on a routed predictor's
                ``crosswalk``/``blend`` routes, its source codes).
            progress: Show progress bars.
            operating_point: Named operating point (calibration and threshold) to rank and
                predict with (:data:`~icdbridge.model.operating_points.OPERATING_POINTS`).

        Raises:
            OperatingPointError: an unknown operating point, or one the model does not store
                (raised before any work).
        """
        threshold = self.threshold_at(operating_point)
        rows = self.scored_rows(docs, explain, progress, operating_point)
        changes = self.release_changes
        out = []
        for doc, (scores, evidence, extra) in zip(docs, rows, strict=True):
            kept = dict(list(scores.items())[:top_k]) if top_k is not None else scores
            predicted = self.decide(kept, threshold, extra)
            spans = {c: evidence(c) for c in kept} if evidence is not None else {}
            marks = None if changes is None else changes.marks(kept)
            row = Prediction(doc.id, kept, predicted, spans, marks)
            out.append(self.prediction(row, extra, explain))
        return out


class Predictor(RankingPredictor):
    """A trained model ready to code texts over a whole terminology release.

    Args:
        model: The network, or an ensemble of networks.
        config: Pipeline settings.
        space: Label space of the release to predict in.
        encoder: The notes' encoder (their pieces); that of ``space``'s label texts too,
            unless only the note side was fine-tuned (``config.tuned_notes_only``).
        memory: Training memory, or ``None``.
        lexical: Lexical matcher, or ``None``.
        calibrator: Fitted calibrator (``None``: identity with threshold 0.5): the ``balanced``
            operating point.
        operating_points: Every named operating point (:mod:`~icdbridge.model.operating_points`;
            ``None``: ``balanced`` alone, which is ``calibrator``).
        release_changes: Codes added or changed since the training release, when ``space`` is
            another release (:class:`~icdbridge.model.upgrade.ReleaseChanges`).
    """

    def __init__(
        self,
        model: CodingNetwork,
        config: PipelineConfig,
        space: LabelSpace,
        encoder: TextEncoder,
        memory: TrainingMemory | None = None,
        lexical: Any = None,
        calibrator: Calibrator | None = None,
        operating_points: dict[str, Calibrator] | None = None,
        release_changes: ReleaseChanges | None = None,
    ) -> None:
        from icdbridge.model.calibration import Calibrator
        from icdbridge.model.operating_points import BALANCED

        self.model = model
        self.config = config
        self.space = space
        self.encoder = encoder
        self.memory = memory
        self.lexical = lexical
        self.calibrator = calibrator or (operating_points or {}).get(BALANCED) or Calibrator()
        self.operating_points = {BALANCED: self.calibrator, **(operating_points or {})}
        self.release_changes = release_changes
        self.window_cache: dict | None = None

    @property
    def seen(self) -> frozenset[str]:
        """Codes seen in training (calibration treats every other code as unseen)."""
        return self.memory.seen if self.memory is not None else frozenset()

    @property
    def feature_inputs(self) -> FeatureInputs:
        """What :func:`~icdbridge.model.features.featurize.featurize` reads for this predictor."""
        return FeatureInputs(
            self.encoder,
            self.space,
            self.config,
            self.memory,
            self.lexical,
            self.model.config.features,
            self.window_cache,
        )

    def featurize(self, docs: Sequence[Document], progress: bool = False, with_codes: bool = False):
        """:func:`~icdbridge.model.features.featurize.featurize` with this predictor's inputs
        (``with_codes``: each document's codes and their siblings join its candidates)."""
        return featurize(docs, self.feature_inputs, training=with_codes, progress=progress)

    @property
    def needs_word_overlap(self) -> bool:
        """Whether predicting builds the release's word-overlap table (``space.overlap``): the
        model reads an overlap feature or takes overlap candidates, with the lexical channel on
        (models saved before the overlap features existed do not)."""
        return self.config.reads_word_overlap(self.model.config.features)

    def raw_scores(self, docs: Sequence[Document]) -> list[dict[str, float]]:
        """Uncalibrated logits of every candidate of each document."""
        return [s for s, _ in score_documents(self.model, self.space, self.featurize(docs))]

    def calibrator_for(self, operating_point: str = DEFAULT_OPERATING_POINT) -> Calibrator:
        """The calibrator of a named operating point.

        Raises:
            OperatingPointError: an unknown name, or a point this model does not have (one
                saved before operating points existed has only ``balanced``).
        """
        from icdbridge.model.operating_points import check_operating_point

        return self.operating_points[check_operating_point(operating_point, self.operating_points)]

    def calibrated_scores(
        self,
        docs: Sequence[Document],
        explain: bool = False,
        progress: bool = False,
        operating_point: str = DEFAULT_OPERATING_POINT,
        with_codes: bool = False,
    ) -> list[tuple[dict[str, float], DocumentFeatures, Any]]:
        """Featurise, score and calibrate ``docs``: per document its calibrated probability of
        every candidate (best first), its features (candidates, pieces) and, with ``explain``,
        its attention (for :func:`evidence_for`; ``None`` without).

        ``with_codes``: each document's ``codes`` (and their siblings) join its candidates, as
        in training (how a crosswalk's reached codes are scored); otherwise they are ignored.
        """
        calibrator = self.calibrator_for(operating_point)
        with phase(f"featurising {len(docs):,} documents", progress):
            features = self.featurize(docs, progress, with_codes)
        with phase(f"scoring {len(docs):,} documents", progress):
            scored = score_documents(self.model, self.space, features, keep_attention=explain)
        seen = self.seen
        return [
            (calibrator.apply(raw, seen), doc, attention)
            for doc, (raw, attention) in zip(features, scored, strict=True)
        ]

    def threshold_at(self, operating_point: str) -> float:
        """The validated threshold at ``operating_point`` (see :meth:`calibrator_for`)."""
        return self.calibrator_for(operating_point).threshold_

    def scored_rows(
        self,
        docs: Sequence[Document],
        explain: bool,
        progress: bool,
        operating_point: str,
        with_codes: bool = False,
    ) -> list[tuple[dict[str, float], Evidence | None, None]]:
        """:meth:`calibrated_scores` of ``docs`` per document as its calibrated probabilities
        (best first) and, with ``explain``, its evidence (``None`` without)."""
        return [
            (ranked, evidence_of(doc, attention) if explain else None, None)
            for ranked, doc, attention in self.calibrated_scores(
                docs, explain, progress, operating_point, with_codes=with_codes
            )
        ]


def write_predictions(
    predictions: Sequence[Prediction], path: str | Path, terminology: Terminology | None = None
) -> None:
    """Write predictions as JSONL (one :meth:`Prediction.to_dict` row per document).

    Written atomically (:func:`icdbridge.outputs.atomic_file`; a missing folder is created):
    an error or interruption leaves ``path`` as it was.
    """
    from icdbridge.outputs import atomic_file, check_output

    check_output(path)
    with atomic_file(path) as temp, open(temp, "w", encoding="utf-8") as handle:
        for prediction in predictions:
            handle.write(json.dumps(prediction.to_dict(terminology), ensure_ascii=False) + "\n")


def zero_shot_predictor(
    space: LabelSpace,
    encoder: TextEncoder,
    lexical: Any = None,
    config: PipelineConfig | None = None,
) -> Predictor:
    """An untrained but usable predictor: label-wise attention + max cosine (+ lexical score).

    The network keeps its initial fusion weights
    (:data:`~icdbridge.model.net.network.INITIAL_FUSION`),
    the hierarchy component is the identity and there is no training memory, so every code of
    ``space`` is scored from its text alone. Used by ``icdbridge demo`` when no trained model is
    given.
    """
    from icdbridge.model.config import ModelConfig
    from icdbridge.model.net.network import LabelEmbeddingModel

    carried = getattr(lexical, "index_phrases", None)  # the Index documents it holds
    config = config or PipelineConfig(
        use_lexical=lexical is not None,
        use_memory=False,
        index_phrases=list(carried.documents) if carried is not None else [],
    )
    features = ("lexical",) if lexical is not None else ()
    model = LabelEmbeddingModel(
        ModelConfig(dim=encoder.dim, features=features, max_ancestors=config.max_ancestors)
    )
    model.eval()
    return Predictor(model, config, space, encoder, None, lexical)


def mean_scores(members: Sequence[dict[str, float]]) -> dict[str, float]:
    """The mean raw score of each candidate over the members of an ensemble, for one document.

    What :class:`~icdbridge.model.net.network.NetworkEnsemble` computes on its members'
    logits, for networks scored one at a time (e.g. trained in separate runs); the members
    must have ranked the same candidates.

    Example:
        >>> mean_scores([{"A": 1.0, "B": 0.0}, {"A": 3.0, "B": 1.0}])
        {'A': 2.0, 'B': 0.5}

    Raises:
        ValueError: the members ranked different candidates.
    """
    codes = members[0].keys()
    if any(m.keys() != codes for m in members):
        raise ValueError("ensemble members ranked different candidates for one document")
    return {code: sum(m[code] for m in members) / len(members) for code in codes}
