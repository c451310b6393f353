"""The label-embedding coding network: a plain ``nn.Module`` that knows nothing of files or data.

It receives, per document, the window embeddings of the text and the embeddings of the candidate
labels it must score (plus their ancestors' embeddings and optional per-pair features such as the
lexical-channel score), and returns one logit per (document, label) and the attention evidence.
The label set is whatever the caller hands in — nothing ties it to the training data.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import torch
from torch import nn

from icdbridge.model.hierarchy import HierarchyMixer
from icdbridge.model.scorer import LabelAttentionScorer

LABEL_FEATURES: tuple[str, ...] = (
    "leaf",
    "depth",
    "seventh_base",
    "residual_other",
    "residual_unspecified",
)
"""Structural features of a code, read off the terminology
(:func:`~icdbridge.model.hierarchy.label_features`)."""

FAMILY_FEATURES: tuple[str, ...] = ("family_votes", "family_prior")
"""Training-memory features of a code's family (its category): the neighbour vote and the prior
summed over the family (:class:`~icdbridge.model.memory.TrainingMemory`)."""

HIERARCHY_FEATURES = frozenset({"leaf", "depth", "seventh_base", *FAMILY_FEATURES})
"""The features that come from the code tree (dropped with the hierarchy component)."""

OVERLAP_FEATURES: tuple[str, ...] = ("overlap", "sentence_overlap")
"""Word overlap of a label's title with the document and with its best sentence
(:mod:`icdbridge.model.overlap`)."""

LEXICAL_FEATURES = frozenset({"lexical", *OVERLAP_FEATURES})
"""The features that come from the lexical channel (dropped without it)."""

MEMORY_FEATURES = frozenset({"neighbours", "prior", "seen", *FAMILY_FEATURES})
"""The features that come from the training memory (dropped without it)."""

PAIR_FEATURES: tuple[str, ...] = (
    "lexical",
    *OVERLAP_FEATURES,
    "neighbours",
    "prior",
    "seen",
    *FAMILY_FEATURES,
    *LABEL_FEATURES,
)
"""Per (document, label) features the caller may supply, in this order (see
:mod:`icdbridge.model.predictor` for how each is computed): the lexical score (of the text and,
when the document has one, of its original-language text), the word overlap of the label's
title with the document and its best overlap with one sentence
(:mod:`icdbridge.model.overlap`), the training memory (neighbour vote, prior, seen flag, family
vote and prior), then the label's :data:`LABEL_FEATURES`."""

DEFAULT_FEATURES: tuple[str, ...] = PAIR_FEATURES
"""The pair features a model uses unless told otherwise (:class:`ModelConfig`): all of them;
the components switched off drop theirs (:func:`~icdbridge.model.training.model_features`)."""

INITIAL_FUSION: dict[str, float] = {
    "attention": 2.0,
    "max_cosine": 6.0,
    "lexical": 3.0,
    **dict.fromkeys(OVERLAP_FEATURES, 0.0),
    "neighbours": 4.0,
    "prior": 1.0,
    "seen": 0.0,
    **dict.fromkeys(FAMILY_FEATURES, 0.0),
    **dict.fromkeys(LABEL_FEATURES, 0.0),
}
"""Starting weights of the fusion layer: an untrained model is already a sensible zero-shot
ranker (cosine + lexical evidence), which training then refines."""
INITIAL_BIAS = -6.0


@dataclass
class ModelConfig:
    """Hyper-parameters of :class:`LabelEmbeddingModel` (stored as JSON with the weights).

    Attributes:
        dim: Width of the (frozen) encoder embeddings.
        hidden: Width of the attention query/key space.
        max_ancestors: Ancestors mixed in by the hierarchy component.
        use_hierarchy: Switch of the hierarchy component (ablation row (e)).
        features: Names of the pair features in use (a subset of :data:`PAIR_FEATURES`, in that
            order); dropping ``"lexical"`` is ablation row (f). Default: all of them (the
            :data:`FAMILY_FEATURES` were chosen by cross-validation over the CodiEsp train split,
            ``experiments/codiesp_zeroshot/cv_choices.py``).
        fusion_hidden: Width of the small non-linear branch of the fusion layer.
    """

    dim: int = 384
    hidden: int = 128
    max_ancestors: int = 4
    use_hierarchy: bool = True
    features: tuple[str, ...] = field(default=DEFAULT_FEATURES)
    fusion_hidden: int = 16

    def to_dict(self) -> dict:
        """JSON-ready dictionary."""
        data = asdict(self)
        data["features"] = list(self.features)
        return data

    @classmethod
    def from_dict(cls, data: dict) -> ModelConfig:
        """Inverse of :meth:`to_dict`."""
        data = dict(data)
        data["features"] = tuple(data.get("features", DEFAULT_FEATURES))
        return cls(**data)


@dataclass
class NetworkOutput:
    """Logits ``[B, L]`` and attention ``[B, L, W]`` of a batch."""

    logits: torch.Tensor
    attention: torch.Tensor


class LabelEmbeddingModel(nn.Module):
    """Score candidate labels of documents from label embeddings (no label-specific parameters).

    Args:
        config: The :class:`ModelConfig`.
    """

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        self.hierarchy = (
            HierarchyMixer(config.dim, config.max_ancestors) if config.use_hierarchy else None
        )
        self.scorer = LabelAttentionScorer(config.dim, config.hidden)
        width = 2 + len(config.features)
        self.fusion = nn.Linear(width, 1)
        with torch.no_grad():
            names = ("attention", "max_cosine", *config.features)
            self.fusion.weight.copy_(torch.tensor([[INITIAL_FUSION[n] for n in names]]))
            self.fusion.bias.fill_(INITIAL_BIAS)
        self.fusion_mlp = nn.Sequential(
            nn.Linear(width, config.fusion_hidden), nn.GELU(), nn.Linear(config.fusion_hidden, 1)
        )
        nn.init.zeros_(self.fusion_mlp[2].weight)
        nn.init.zeros_(self.fusion_mlp[2].bias)

    def refine_labels(
        self,
        labels: torch.Tensor,
        ancestors: torch.Tensor | None = None,
        ancestor_mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Apply the hierarchy component (identity when it is switched off or no ancestors)."""
        if self.hierarchy is None or ancestors is None or ancestor_mask is None:
            return labels
        return self.hierarchy(labels, ancestors, ancestor_mask)

    def forward(
        self,
        windows: torch.Tensor,
        window_mask: torch.Tensor,
        labels: torch.Tensor,
        ancestors: torch.Tensor | None = None,
        ancestor_mask: torch.Tensor | None = None,
        features: torch.Tensor | None = None,
    ) -> NetworkOutput:
        """Score a batch.

        Args:
            windows: ``[B, W, d]`` window embeddings of each document.
            window_mask: ``[B, W]`` true for real windows.
            labels: ``[B, L, d]`` candidate label embeddings.
            ancestors: ``[B, L, A, d]`` ancestor embeddings (nearest first), or ``None``.
            ancestor_mask: ``[B, L, A]`` true where the ancestor exists.
            features: ``[B, L, F]`` pair features named by ``config.features`` (``F`` may be 0).

        Returns:
            :class:`NetworkOutput`.
        """
        refined = self.refine_labels(labels, ancestors, ancestor_mask)
        scored = self.scorer(refined, windows, window_mask)
        columns = [scored.attention_score.unsqueeze(-1), scored.max_cosine.unsqueeze(-1)]
        if self.config.features:
            if features is None or features.shape[-1] != len(self.config.features):
                raise ValueError(
                    f"expected {len(self.config.features)} pair features "
                    f"{self.config.features}, got {None if features is None else features.shape}"
                )
            columns.append(features.to(labels.dtype))
        stacked = torch.cat(columns, dim=-1)
        logits = (self.fusion(stacked) + self.fusion_mlp(stacked)).squeeze(-1)
        return NetworkOutput(logits, scored.attention)


class NetworkEnsemble(nn.Module):
    """Networks of one :class:`ModelConfig`, trained with different seeds, scored as one.

    A document's logit for a label is the mean of the members' logits (and its attention the
    mean of theirs), so the ensemble still has no label-specific parameter and the calibration,
    the threshold and the evidence work on it as on a single network. Averaging removes much of
    what the training seed alone decides (see ``docs/model.md``, *Cross-validated choices*).

    Args:
        members: The trained networks (at least one; all of the same configuration).
    """

    def __init__(self, members: list[LabelEmbeddingModel]) -> None:
        super().__init__()
        if not members:
            raise ValueError("an ensemble needs at least one network")
        if any(m.config != members[0].config for m in members[1:]):
            raise ValueError("the networks of an ensemble must share one ModelConfig")
        self.members = nn.ModuleList(members)

    @property
    def config(self) -> ModelConfig:
        """The members' shared :class:`ModelConfig`."""
        return self.members[0].config


CodingNetwork = LabelEmbeddingModel | NetworkEnsemble
"""What scores candidates: one network or an ensemble of them."""


def build_network(config: ModelConfig, members: int = 1) -> CodingNetwork:
    """A freshly initialised network (``members == 1``) or ensemble of ``members`` networks.

    Example:
        >>> len(build_network(ModelConfig(dim=8, hidden=4), members=3).members)
        3
    """
    if members < 1:
        raise ValueError(f"members must be at least 1, got {members}")
    return combine_networks([LabelEmbeddingModel(config) for _ in range(members)])


def combine_networks(networks: list[LabelEmbeddingModel]) -> CodingNetwork:
    """One network as itself, several as their :class:`NetworkEnsemble`."""
    return networks[0] if len(networks) == 1 else NetworkEnsemble(networks)


def member_count(model: CodingNetwork) -> int:
    """Networks in ``model`` (1 for a single network)."""
    return len(model.members) if isinstance(model, NetworkEnsemble) else 1
