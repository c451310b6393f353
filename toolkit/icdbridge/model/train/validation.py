"""What training reports about validation: best MAP, per-network MAP, shortlist recall."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from icdbridge.model.features.batch import DocumentFeatures


def _validation_summary(
    history: list[dict[str, Any]], scored: list, dev: list[DocumentFeatures], members: int
) -> dict[str, Any]:
    """``best_val_map``, ``member_val_maps`` and ``shortlist_recall`` of a :class:`TrainResult`."""
    from icdbridge.model.calibration import mean_average_precision

    n_gold = sum(len(d.gold) for d in dev)
    covered = sum(len(d.gold & set(d.candidates)) for d in dev)
    member_val_maps = [
        max((h["val_map"] for h in history if h["member"] == m), default=0.0)
        for m in range(members)
    ]
    if members == 1:
        best_val_map = member_val_maps[0]
    else:
        ranked = [sorted(s, key=lambda code, s=s: (-s[code], code)) for s, _ in scored]
        best_val_map = mean_average_precision(ranked, [d.gold for d in dev])
    return {
        "best_val_map": best_val_map,
        "member_val_maps": member_val_maps,
        "shortlist_recall": covered / n_gold if n_gold else float("nan"),
    }
