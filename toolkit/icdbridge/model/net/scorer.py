"""Label-wise attention: each label queries the document's window representations.

For a document with window embeddings ``X`` (``[W, d]``) and a label embedding ``z`` (``[d]``),
the label's query ``q = Q z`` attends over keys ``K X``; the attention-weighted context
``c = sum_w a_w x_w`` is compared with the label's projection ``P z``. Every quantity is computed
per (document, label) pair from the label's embedding alone — there is no per-label parameter and
no normalisation across labels — so a label gets exactly the same score whether it is scored
alone or among 70,000 others, and any code with a description can be scored. The attention
weights are returned as evidence: they say which windows of the text support the code.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn


@dataclass
class ScorerOutput:
    """What :class:`LabelAttentionScorer` returns for a batch.

    Attributes:
        attention_score: ``[B, L]`` cosine of the projected label with its attended context.
        max_cosine: ``[B, L]`` the best cosine between the raw label embedding and any window
            (a parameter-free zero-shot signal).
        attention: ``[B, L, W]`` attention weights over windows (zero on padding).
    """

    attention_score: torch.Tensor
    max_cosine: torch.Tensor
    attention: torch.Tensor


class LabelAttentionScorer(nn.Module):
    """Label-wise attention over window representations.

    Args:
        dim: Width of label and window embeddings.
        hidden: Width of the attention query/key space.
    """

    def __init__(self, dim: int, hidden: int = 128) -> None:
        super().__init__()
        self.query = nn.Linear(dim, hidden, bias=False)
        self.key = nn.Linear(dim, hidden, bias=False)
        self.label_projection = nn.Linear(dim, dim, bias=False)
        nn.init.eye_(self.label_projection.weight)
        self.scale = hidden**-0.5

    def forward(
        self, labels: torch.Tensor, windows: torch.Tensor, window_mask: torch.Tensor
    ) -> ScorerOutput:
        """Score every label of each document against that document's windows.

        Args:
            labels: ``[B, L, d]`` label embeddings (candidates of each document).
            windows: ``[B, W, d]`` window embeddings.
            window_mask: ``[B, W]`` boolean, true for real windows (each row has at least one).

        Returns:
            :class:`ScorerOutput` with ``[B, L]`` scores and ``[B, L, W]`` attention.
        """
        keys = self.key(windows)  # [B, W, h]
        queries = self.query(labels)  # [B, L, h]
        logits = torch.einsum("blh,bwh->blw", queries, keys) * self.scale
        mask = window_mask.unsqueeze(1)  # [B, 1, W]
        attention = torch.softmax(logits.masked_fill(~mask, float("-inf")), dim=-1)
        attention = attention.masked_fill(~mask, 0.0)
        context = torch.einsum("blw,bwd->bld", attention, windows)
        projected = self.label_projection(labels)
        attention_score = F.cosine_similarity(projected, context, dim=-1, eps=1e-8)
        cosines = torch.einsum(
            "bld,bwd->blw", F.normalize(labels, dim=-1), F.normalize(windows, dim=-1)
        )
        max_cosine = cosines.masked_fill(~mask, float("-inf")).amax(dim=-1)
        return ScorerOutput(attention_score, max_cosine, attention)
