"""A featurised document and how documents are padded into one batch (no Lightning)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import torch


@dataclass
class DocumentFeatures:
    """One document, encoded and shortlisted (what the network needs, nothing else).

    Attributes:
        id: Document id.
        text: The text (for evidence offsets).
        spans: ``(char_start, char_end)`` in ``text`` of each window of the text.
        windows: ``[W, d]`` window embeddings: the text's windows, then the pieces of the
            original's gloss when the pipeline reads them (``original_piece_spans``).
        candidates: Candidate codes.
        label_index: ``[L]`` row of each candidate in the label-space matrix.
        features: ``[L, F]`` pair features (all of
        :data:`~icdbridge.model.features.registry.PAIR_FEATURES`).
        hardness: ``[L]`` sampling weight of each candidate as a negative.
        gold: Gold codes (empty when unknown), including those missing from the candidates.
        lexical_spans: code → list of ``(start, end, score)`` lexical matches.
        original_text: The document's original-language text when the lexical channel read it.
        original_spans: code → ``(start, end, score)`` lexical matches in ``original_text``.
        original_piece_spans: ``(char_start, char_end)`` in ``original_text`` of each gloss
            piece, the windows after the text's own (empty when none were read).
    """

    id: str
    text: str
    spans: list[tuple[int, int]]
    windows: torch.Tensor
    candidates: list[str]
    label_index: torch.Tensor
    features: torch.Tensor
    hardness: torch.Tensor
    gold: frozenset[str] = frozenset()
    lexical_spans: dict[str, list[tuple[int, int, float]]] = field(default_factory=dict)
    original_text: str | None = None
    original_spans: dict[str, list[tuple[int, int, float]]] = field(default_factory=dict)
    original_piece_spans: list[tuple[int, int]] = field(default_factory=list)

    @property
    def targets(self) -> torch.Tensor:
        """``[L]`` float 1/0: whether each candidate is gold."""
        return torch.tensor([c in self.gold for c in self.candidates], dtype=torch.float32)


def collate(
    items: Sequence[tuple[DocumentFeatures, torch.Tensor]], feature_columns: Sequence[int]
) -> dict[str, torch.Tensor]:
    """Pad a list of ``(document, chosen candidate positions)`` into a batch dictionary."""
    batch_size = len(items)
    dim = items[0][0].windows.shape[-1]
    max_windows = max(doc.windows.shape[0] for doc, _ in items)
    max_labels = max(len(chosen) for _, chosen in items)
    windows = torch.zeros(batch_size, max_windows, dim)
    window_mask = torch.zeros(batch_size, max_windows, dtype=torch.bool)
    label_index = torch.zeros(batch_size, max_labels, dtype=torch.long)
    label_mask = torch.zeros(batch_size, max_labels, dtype=torch.bool)
    features = torch.zeros(batch_size, max_labels, len(feature_columns))
    targets = torch.zeros(batch_size, max_labels)
    columns = torch.tensor(list(feature_columns), dtype=torch.long)
    for row, (doc, chosen) in enumerate(items):
        n_windows, n_labels = doc.windows.shape[0], len(chosen)
        windows[row, :n_windows] = doc.windows
        window_mask[row, :n_windows] = True
        label_index[row, :n_labels] = doc.label_index[chosen]
        label_mask[row, :n_labels] = True
        features[row, :n_labels] = doc.features[chosen][:, columns]
        targets[row, :n_labels] = doc.targets[chosen]
    return {
        "windows": windows,
        "window_mask": window_mask,
        "label_index": label_index,
        "label_mask": label_mask,
        "features": features,
        "targets": targets,
        "n_gold": torch.tensor([len(doc.gold) for doc, _ in items]),
    }
