"""Label texts: what the label encoder reads for each code of a terminology.

A label text is the code's description, optionally followed by its synonyms / inclusion terms and
by the descriptions of its nearest ancestors (most specific first)::

    Essential (primary) hypertension; also: high blood pressure; in: Hypertensive diseases

Ancestor descriptions identical to the code's own (``J18`` "Pneumonia, unspecified organism" above
``J18.9``) are skipped, and code ranges in block/chapter titles (``(I10-I1A)``) are removed.
The options are part of every label-embedding cache key (:mod:`icdbridge.model.labels.cache`).

Example:
    >>> from icdbridge.codes import get_terminology
    >>> label_text(get_terminology("icd10cm"), "E11.9", ancestors=True, max_ancestors=1)
    'Type 2 diabetes mellitus without complications; in: Type 2 diabetes mellitus'
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING

from icdbridge.model.config import LabelTextOptions

_DEFAULTS = LabelTextOptions()
"""The defaults of :func:`label_text` (one home: :class:`LabelTextOptions`)."""

if TYPE_CHECKING:
    from icdbridge.codes.base import Terminology

_RANGE = re.compile(r"\s*\(([A-Z0-9]{1,4}(\.[A-Z0-9]+)?-[A-Z0-9]{1,4}(\.[A-Z0-9]+)?)\)\s*$")


def clean_title(title: str) -> str:
    """Remove a trailing code range such as ``(E08-E13)`` from a block/chapter title."""
    return _RANGE.sub("", title).strip()


def nearest_defined(terminology: Terminology, code: str) -> str | None:
    """The code itself if defined, else its longest defined prefix (``W19.XXX`` → ``W19``).

    Returns ``None`` when no prefix of at least three characters is defined.
    """
    node = terminology.get(code)
    if node is not None:
        return node.code
    compact = "".join(code.split()).upper()
    for end in range(len(compact) - 1, 2, -1):
        node = terminology.get(compact[:end].rstrip("."))
        if node is not None:
            return node.code
    return None


def label_text(
    terminology: Terminology,
    code: str,
    *,
    synonyms: bool = _DEFAULTS.synonyms,
    ancestors: bool = _DEFAULTS.ancestors,
    max_synonyms: int = _DEFAULTS.max_synonyms,
    max_ancestors: int = _DEFAULTS.max_ancestors,
    undefined: str = _DEFAULTS.undefined,
) -> str:
    """Build the label text of one code (see the module docstring).

    Raises:
        NotDefinedError: ``code`` is not defined and ``undefined="error"`` (or has no defined
            prefix).
        InvalidCodeError: ``code`` is not valid syntax.
    """
    from icdbridge.errors import NotDefinedError

    if undefined == "prefix" and terminology.get(code) is None:
        resolved = nearest_defined(terminology, code)
        if resolved is None:
            terminology.node(code)  # raises InvalidCodeError / NotDefinedError
            raise NotDefinedError(f"{code!r}: no defined prefix in {terminology.name}")
        code = resolved
    node = terminology.node(code)
    own = clean_title(node.title)
    parts = [own]
    if synonyms and max_synonyms > 0:
        seen = {own.lower()}
        picked = []
        for synonym in node.synonyms:
            key = synonym.strip().lower()
            if key and key not in seen:
                seen.add(key)
                picked.append(synonym.strip())
            if len(picked) >= max_synonyms:
                break
        if picked:
            parts.append("also: " + "; ".join(picked))
    if ancestors and max_ancestors > 0:
        seen = {own.lower()}
        picked = []
        for ancestor in terminology.ancestors(node.code):
            title = clean_title(terminology.node(ancestor).title)
            if title and title.lower() not in seen:
                seen.add(title.lower())
                picked.append(title)
            if len(picked) >= max_ancestors:
                break
        if picked:
            parts.append("in: " + "; ".join(picked))
    return "; ".join(parts)


def label_texts(
    terminology: Terminology,
    codes: Iterable[str] | None = None,
    **options: object,
) -> dict[str, str]:
    """Label texts of many codes (default: every leaf code of the release), keyed by code.

    Keys are the codes as given (normalised when defined; undefined codes are kept as given and
    resolved with ``undefined="prefix"``).

    Args:
        terminology: The terminology release.
        codes: Codes to build texts for; ``None``: ``terminology.codes(leaves_only=True)``.
        **options: Fields of :class:`LabelTextOptions`.
    """
    opts = LabelTextOptions(**options)  # validates option names
    if codes is None:
        codes = terminology.codes(leaves_only=True)
    out: dict[str, str] = {}
    for code in codes:
        node = terminology.get(code)
        key = node.code if node is not None else code
        if key not in out:
            out[key] = label_text(terminology, key, **opts.to_dict())
    return out
