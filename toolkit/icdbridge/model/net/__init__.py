"""The networks: label-wise attention scorer, hierarchy mixer, losses, and the
``nn.Module`` (one network or an ensemble whose ``forward`` averages its members).
"""

from typing import TYPE_CHECKING

from icdbridge.model._exports import lazy_package

if TYPE_CHECKING:  # the public names, imported on first use (see _exports)
    from .hierarchy import HierarchyMixer
    from .losses import LOSSES, in_batch_contrastive, masked_bce, multi_positive_contrastive
    from .network import (
        INITIAL_BIAS,
        INITIAL_FUSION,
        CodingNetwork,
        LabelEmbeddingModel,
        NetworkEnsemble,
        NetworkOutput,
        build_network,
        combine_networks,
        gather_labels,
        member_count,
        score_batch,
    )
    from .scorer import LabelAttentionScorer, ScorerOutput

__all__, __getattr__, __dir__ = lazy_package(__name__, __file__)
