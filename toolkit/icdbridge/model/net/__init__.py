"""The networks: label-wise attention scorer, hierarchy mixer, losses, and the
``nn.Module`` (one network or an ensemble whose ``forward`` averages its members).
"""

from icdbridge.model._exports import lazy_exports

_EXPORTS = {
    "CodingNetwork": ".network",
    "HierarchyMixer": ".hierarchy",
    "INITIAL_BIAS": ".network",
    "INITIAL_FUSION": ".network",
    "LOSSES": ".losses",
    "LabelAttentionScorer": ".scorer",
    "LabelEmbeddingModel": ".network",
    "NetworkEnsemble": ".network",
    "NetworkOutput": ".network",
    "ScorerOutput": ".scorer",
    "build_network": ".network",
    "combine_networks": ".network",
    "gather_labels": ".network",
    "in_batch_contrastive": ".losses",
    "masked_bce": ".losses",
    "member_count": ".network",
    "multi_positive_contrastive": ".losses",
    "score_batch": ".network",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
