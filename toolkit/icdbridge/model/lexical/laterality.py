"""Laterality: codes that differ only by side (right / left / bilateral), and a title's side."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from icdbridge.codes.base import Terminology


_SIDES = ("right", "left", "bilateral")
_SIDE_NOUNS = frozenset({"unspecified", "eye", "ear", "side"})
"""Words a title adds to its side (``..., left eye`` but ``..., bilateral``), set aside too."""


def _title_side(title: str) -> tuple[tuple[str, ...], str | None]:
    """A title's words without side words (and :data:`_SIDE_NOUNS`), and its side (``None``:
    none)."""
    from icdbridge.model.lexical.matcher import content_words  # matcher imports this module

    words = content_words(title)
    found = [w for w in words if w in _SIDES]
    key = tuple(w for w in words if w not in _SIDES and w not in _SIDE_NOUNS)
    return key, (found[0] if len(found) == 1 else None)


def lateral_codes(terminology: Terminology, codes: Iterable[str]) -> dict[str, dict[str, str]]:
    """Codes whose siblings differ from them only by a side, with those siblings by side.

    Children of one node whose titles are the same once ``right`` / ``left`` / ``bilateral``
    and ``unspecified``, ``eye``, ``ear``, ``side`` are set aside (``Pain in right knee``,
    ``Pain in left knee``, ``Pain in unspecified knee``) form a lateral group; the member
    without a side and the parent map to the group's sided codes (in ``codes``). A note saying
    ``left knee pain`` is then coded with ``M25.562``, not only the ``Pain in knee`` default
    leaf.
    """
    label_space = set(codes)
    out: dict[str, dict[str, str]] = {}
    for node in terminology.nodes():
        children = terminology.children(node.code)
        if len(children) < 2:
            continue
        groups: dict[tuple[str, ...], dict[str | None, str]] = {}
        for child in children:
            key, side = _title_side(terminology.node(child).title)
            groups.setdefault(key, {}).setdefault(side, child)
        sided_groups = []
        for group in groups.values():
            sided = {side: code for side, code in group.items() if side and code in label_space}
            if not sided:
                continue
            sided_groups.append(sided)
            if None in group and group[None] in label_space:
                out[group[None]] = sided
        if len(sided_groups) == 1 and node.code in label_space:
            out[node.code] = sided_groups[0]
    return out


def _side_codes(sided: dict[str, str] | None, side: str) -> list[str]:
    """The code(s) of ``side`` in a lateral group: both sides for a bilateral mention when the
    group has no bilateral code."""
    if not sided:
        return []
    if side in sided:
        return [sided[side]]
    if side == "bilateral":
        return [sided[s] for s in ("right", "left") if s in sided]
    return []
