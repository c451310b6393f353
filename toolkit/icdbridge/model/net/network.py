"""The label-embedding coding network: a plain ``nn.Module`` that knows nothing of files or data.

It receives, per document, the window embeddings of the text and the embeddings of the candidate
labels it must score (plus their ancestors' embeddings and optional per-pair features such as the
lexical-channel score), and returns one logit per (document, label) and the attention evidence.
The label set is whatever the caller hands in — nothing ties it to the training data.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from icdbridge.model.config import ModelConfig
from icdbridge.model.features.registry import (
    ALIAS_FEATURES,
    FAMILY_FEATURES,
    INDEX_OVERLAP_FEATURES,
    LABEL_FEATURES,
    OVERLAP_FEATURES,
    SIBLING_MARGIN_FEATURES,
    SUBSUMPTION_FEATURES,
)
from icdbridge.model.net.hierarchy import HierarchyMixer
from icdbridge.model.net.scorer import LabelAttentionScorer

INITIAL_FUSION: dict[str, float] = {
    "attention": 2.0,
    "max_cosine": 6.0,
    "lexical": 3.0,
    **dict.fromkeys(OVERLAP_FEATURES, 0.0),
    **dict.fromkeys(INDEX_OVERLAP_FEATURES, 0.0),
    **dict.fromkeys(SIBLING_MARGIN_FEATURES, 0.0),
    **dict.fromkeys(SUBSUMPTION_FEATURES, 0.0),
    "neighbours": 4.0,
    "prior": 1.0,
    "seen": 0.0,
    **dict.fromkeys(FAMILY_FEATURES, 0.0),
    **dict.fromkeys(ALIAS_FEATURES, 0.0),
    **dict.fromkeys(LABEL_FEATURES, 0.0),
}
"""Starting weights of the fusion layer: an untrained model is already a sensible zero-shot
ranker (cosine + lexical evidence), which training then refines."""
INITIAL_BIAS = -6.0


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

    @staticmethod
    def average(outputs: list[NetworkOutput]) -> NetworkOutput:
        """The ensemble's output from its members' outputs: the mean logits and attention."""
        return NetworkOutput(
            torch.stack([o.logits for o in outputs]).mean(dim=0),
            torch.stack([o.attention for o in outputs]).mean(dim=0),
        )

    def forward(self, *inputs: torch.Tensor | None, **named: torch.Tensor | None) -> NetworkOutput:
        """Score a batch with every member and average (arguments as for
        :meth:`LabelEmbeddingModel.forward`, passed to each member unchanged).

        Example:
            >>> ensemble = build_network(ModelConfig(dim=4, hidden=4, features=()), members=2)
            >>> windows, labels = torch.randn(1, 3, 4), torch.randn(1, 5, 4)
            >>> out = ensemble(windows, torch.ones(1, 3, dtype=torch.bool), labels)
            >>> single = [m(windows, torch.ones(1, 3, dtype=torch.bool), labels).logits
            ...           for m in ensemble.members]
            >>> torch.allclose(out.logits, (single[0] + single[1]) / 2)
            True
        """
        return self.average([m(*inputs, **named) for m in self.members])


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


def gather_labels(
    model: LabelEmbeddingModel,
    label_matrix: torch.Tensor,
    ancestor_index: torch.Tensor,
    label_index: torch.Tensor,
) -> torch.Tensor:
    """Refined label embeddings ``[B, L, d]`` for a ``[B, L]`` index into ``label_matrix``.

    The hierarchy component is applied once per distinct label of the batch.
    """
    unique, inverse = torch.unique(label_index, return_inverse=True)
    own = label_matrix[unique]
    if model.hierarchy is not None:
        rows = ancestor_index[unique]  # [U, A], -1 = none
        mask = rows >= 0
        ancestors = label_matrix[rows.clamp_min(0)]
        own = model.refine_labels(own, ancestors, mask)
    return own[inverse]


def score_batch(
    model: CodingNetwork,
    label_matrix: torch.Tensor,
    ancestor_index: torch.Tensor,
    batch: dict[str, torch.Tensor],
) -> NetworkOutput:
    """Run the network on a collated batch (see :func:`icdbridge.model.features.batch.collate`).

    An :class:`~icdbridge.model.net.network.NetworkEnsemble` runs each member and averages their
    logits and attention.
    """
    if isinstance(model, NetworkEnsemble):
        return NetworkEnsemble.average(
            [score_batch(m, label_matrix, ancestor_index, batch) for m in model.members]
        )
    labels = gather_labels(model, label_matrix, ancestor_index, batch["label_index"])
    features = batch["features"] if model.config.features else None
    return model(batch["windows"], batch["window_mask"], labels, features=features)
