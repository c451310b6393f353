"""Loss functions of the label-embedding model: pure tensor maths, no encoder, no data.

Each document comes with a padded list of candidate labels (its positives plus sampled
negatives: hierarchy siblings, faiss hard negatives and codes seen in training), so every loss of
:data:`LOSSES` takes ``logits`` and ``targets`` of shape ``[B, L]`` and a boolean ``mask``
marking real candidates. :func:`in_batch_contrastive` is the loss of encoder fine-tuning
(:mod:`icdbridge.model.train.finetune`): pieces of text against label texts.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def masked_bce(
    logits: torch.Tensor,
    targets: torch.Tensor,
    mask: torch.Tensor,
    positive_weight: float = 1.0,
) -> torch.Tensor:
    """Binary cross-entropy averaged over the real candidates.

    Args:
        logits: ``[B, L]`` raw scores.
        targets: ``[B, L]`` 1 for a gold code, 0 for a negative.
        mask: ``[B, L]`` boolean, false on padding (ignored).
        positive_weight: Weight of positive terms (negatives far outnumber positives).

    Returns:
        Scalar mean loss over masked entries (0 when the mask is empty).

    Example:
        >>> logits, targets = torch.tensor([[0.0, 0.0]]), torch.tensor([[1.0, 0.0]])
        >>> round(masked_bce(logits, targets, torch.tensor([[True, False]])).item(), 4)
        0.6931
    """
    targets = targets.to(logits.dtype)
    weights = torch.where(targets > 0, positive_weight, 1.0) * mask
    losses = F.binary_cross_entropy_with_logits(logits, targets, reduction="none")
    return (losses * weights).sum() / weights.sum().clamp_min(1.0)


def multi_positive_contrastive(
    logits: torch.Tensor,
    targets: torch.Tensor,
    mask: torch.Tensor,
    temperature: float = 1.0,
) -> torch.Tensor:
    """Contrastive (InfoNCE) loss with several positives per document.

    For each positive ``p`` of a document: ``-log exp(s_p) / (exp(s_p) + sum_neg exp(s_n))``,
    i.e. every positive must beat all of its document's negatives (other positives are not
    competitors). Averaged over all positives of the batch.

    Args:
        logits: ``[B, L]`` scores.
        targets: ``[B, L]`` 1 for positives.
        mask: ``[B, L]`` real candidates.
        temperature: Divides the logits.
    """
    scaled = logits / temperature
    positive = (targets > 0) & mask
    negative = (targets <= 0) & mask
    neg_lse = torch.logsumexp(scaled.masked_fill(~negative, float("-inf")), dim=-1, keepdim=True)
    # log(exp(s_p) + exp(neg_lse)); when a document has no negatives the term is just s_p.
    denominator = torch.logaddexp(scaled, neg_lse.expand_as(scaled))
    per_positive = (denominator - scaled).masked_fill(~positive, 0.0)
    return per_positive.sum() / positive.sum().clamp_min(1)


LOSSES = {"bce": masked_bce, "contrastive": multi_positive_contrastive}
"""Loss name → function, selectable from the training configuration."""


def in_batch_contrastive(
    queries: torch.Tensor,
    keys: torch.Tensor,
    targets: torch.Tensor,
    excluded: torch.Tensor | None = None,
    scale: float = 20.0,
) -> torch.Tensor:
    """InfoNCE of each query against every key of the batch (encoder fine-tuning).

    Query ``i`` (a document piece) must score its own key ``targets[i]`` (the label text of a
    gold code) above every other key of the batch — the other pairs' labels and the hard
    negatives. Keys marked in ``excluded`` (other gold codes of the same document, which are
    not wrong for that piece's document) take no part in query ``i``'s softmax.

    Args:
        queries: ``[B, d]`` L2-normalised query embeddings.
        keys: ``[K, d]`` L2-normalised key embeddings.
        targets: ``[B]`` index of each query's positive key.
        excluded: ``[B, K]`` boolean, true where a key must be ignored for a query (never the
            query's own target).
        scale: Multiplies the cosines (inverse temperature; sentence-transformers uses 20).

    Returns:
        Scalar mean cross-entropy.

    Example:
        >>> q = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
        >>> round(in_batch_contrastive(q, q, torch.tensor([0, 1]), scale=1.0).item(), 4)
        0.3133
    """
    logits = scale * queries @ keys.T
    if excluded is not None:
        keep_own = F.one_hot(targets, keys.shape[0]).bool()
        logits = logits.masked_fill(excluded & ~keep_own, float("-inf"))
    return F.cross_entropy(logits, targets)
