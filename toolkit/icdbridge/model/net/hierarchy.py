"""Hierarchy component: refine label embeddings with the embeddings of their ancestors.

A code that was never seen in training (or was only seen a few times) still has parents whose
meaning is well represented: ``E11.65`` inherits from ``E11`` (type 2 diabetes) and from the
chapter of endocrine diseases. :class:`HierarchyMixer` learns *how much* to borrow from each
ancestor distance (parent, grand-parent, ...) and through which projection, with a gate computed
from the label and its ancestors. It has no label-specific parameter, so it applies unchanged to
any code of any release.

The fixed-width ancestor index the mixer reads is built with the label space
(:class:`~icdbridge.model.labels.space.LabelSpace`); what the tree says about a code (siblings,
structural label features) is in :mod:`icdbridge.model.labels.tree`.
"""

from __future__ import annotations

import torch
from torch import nn

from icdbridge.model.config import DEFAULT_MAX_ANCESTORS


class HierarchyMixer(nn.Module):
    """Gated mixing of a label embedding with its ancestors' embeddings.

    ``z = e + g(e, m) * W m`` where ``m = sum_j softmax(w)_j a_j`` is a learned weighting of the
    ancestors by distance (renormalised over the ancestors a code actually has) and ``g`` a
    sigmoid gate. ``W`` starts at zero, so an untrained mixer is the identity.

    Args:
        dim: Embedding width.
        max_ancestors: How many ancestors (nearest first) are mixed in.
    """

    def __init__(self, dim: int, max_ancestors: int = DEFAULT_MAX_ANCESTORS) -> None:
        super().__init__()
        self.dim = dim
        self.max_ancestors = max_ancestors
        self.distance_logits = nn.Parameter(torch.zeros(max_ancestors))
        self.project = nn.Linear(dim, dim)
        nn.init.zeros_(self.project.weight)
        nn.init.zeros_(self.project.bias)
        self.gate = nn.Linear(2 * dim, 1)

    def forward(
        self, labels: torch.Tensor, ancestors: torch.Tensor, ancestor_mask: torch.Tensor
    ) -> torch.Tensor:
        """Refine label embeddings.

        Args:
            labels: ``[..., dim]`` label embeddings.
            ancestors: ``[..., A, dim]`` ancestor embeddings, nearest first
                (``A <= max_ancestors``).
            ancestor_mask: ``[..., A]`` boolean, true where the ancestor exists.

        Returns:
            ``[..., dim]`` refined embeddings (unchanged where a label has no ancestor).
        """
        width = ancestors.shape[-2]
        logits = self.distance_logits[:width].expand(ancestor_mask.shape)
        logits = logits.masked_fill(~ancestor_mask, float("-inf"))
        has_any = ancestor_mask.any(dim=-1, keepdim=True)
        weights = torch.softmax(logits.masked_fill(~has_any, 0.0), dim=-1)
        weights = weights * ancestor_mask
        mixed = (weights.unsqueeze(-1) * ancestors).sum(dim=-2)
        gate = torch.sigmoid(self.gate(torch.cat([labels, mixed], dim=-1)))
        return labels + gate * self.project(mixed) * has_any
