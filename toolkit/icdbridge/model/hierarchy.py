"""Hierarchy component: refine label embeddings with the embeddings of their ancestors.

A code that was never seen in training (or was only seen a few times) still has parents whose
meaning is well represented: ``E11.65`` inherits from ``E11`` (type 2 diabetes) and from the
chapter of endocrine diseases. :class:`HierarchyMixer` learns *how much* to borrow from each
ancestor distance (parent, grand-parent, ...) and through which projection, with a gate computed
from the label and its ancestors. It has no label-specific parameter, so it applies unchanged to
any code of any release.

:func:`ancestor_table` turns a terminology into the fixed-width ancestor index the mixer needs;
:func:`siblings` gives the hierarchy negatives used in training; :func:`label_features` reads a
code's place in the tree (leaf, depth, 7th-character base) and residual title off the
terminology (:data:`~icdbridge.model.network.LABEL_FEATURES`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import torch
from torch import nn

from icdbridge.codes.base import Terminology


class HierarchyMixer(nn.Module):
    """Gated mixing of a label embedding with its ancestors' embeddings.

    ``z = e + g(e, m) * W m`` where ``m = sum_j softmax(w)_j a_j`` is a learned weighting of the
    ancestors by distance (renormalised over the ancestors a code actually has) and ``g`` a
    sigmoid gate. ``W`` starts at zero, so an untrained mixer is the identity.

    Args:
        dim: Embedding width.
        max_ancestors: How many ancestors (nearest first) are mixed in.
    """

    def __init__(self, dim: int, max_ancestors: int = 4) -> None:
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


def ancestor_table(
    terminology: Terminology, codes: Sequence[str], max_ancestors: int = 4
) -> list[list[str]]:
    """Return each code's ancestors, nearest first, at most ``max_ancestors`` of them.

    Codes the terminology does not define get an empty list (they are scored from their own
    embedding only).
    """
    table = []
    for code in codes:
        node = terminology.get(code)
        table.append(terminology.ancestors(node.code)[:max_ancestors] if node else [])
    return table


def siblings(terminology: Terminology, code: str, limit: int = 20) -> list[str]:
    """Return up to ``limit`` other children of ``code``'s parent (the hardest negatives)."""
    node = terminology.get(code)
    if node is None or node.parent is None:
        return []
    return [c for c in terminology.children(node.parent) if c != node.code][:limit]


_OTHER = re.compile(r"\bother\b", re.IGNORECASE)
_UNSPECIFIED = re.compile(r"\bunspecified\b|\bNOS\b", re.IGNORECASE)


def label_features(terminology: Terminology, code: str, resolved: str) -> list[float]:
    """Structural features of one code (``resolved``: the node describing it).

    In the order of :data:`~icdbridge.model.network.LABEL_FEATURES`:

    - ``leaf``: 1 for a leaf of the release and for a code the release does not define (a
      dataset's own terminal spelling such as ``W19.XXX``), 0 for a category / subcategory;
    - ``depth``: number of ancestors / 6 (ICD-10-CM codes have at most 6 above them);
    - ``seventh_base``: 1 for a code whose children are all its 7th-character extensions
      (``S72.002`` → ``S72.002A``...), also through its nearest defined prefix;
    - ``residual_other`` / ``residual_unspecified``: its title is an "other ..." /
      "... unspecified" (or NOS) residual.
    """
    node = terminology.node(resolved)
    undefined = resolved != code
    children = terminology.children(resolved)
    base = "".join(resolved.split(".")).upper()
    seventh = bool(children) and all(
        len(c.replace(".", "")) == 7 and c.replace(".", "").upper().startswith(base.ljust(6, "X"))
        for c in children
    )
    return [
        1.0 if undefined or terminology.is_leaf(resolved) else 0.0,
        min(len(terminology.ancestors(resolved)) + undefined, 6) / 6,
        1.0 if seventh else 0.0,
        1.0 if _OTHER.search(node.title) else 0.0,
        1.0 if _UNSPECIFIED.search(node.title) else 0.0,
    ]
