"""What the code tree says about a code: its siblings and its structural label features."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from icdbridge.codes.base import Terminology


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

    In the order of :data:`~icdbridge.model.features.registry.LABEL_FEATURES`:

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
