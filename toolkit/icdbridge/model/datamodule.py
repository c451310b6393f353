"""Data side of training: featurised documents → padded batches with sampled negatives.

The heavy work (encoding windows, shortlisting candidates, lexical matches) happens once in
:func:`icdbridge.model.predictor.featurize`; this module only samples and pads. Each training
document contributes all its positives plus ``negatives`` sampled candidates, drawn with extra
weight on hard negatives (hierarchy siblings of the positives, faiss/lexical shortlist hits).
Validation documents keep their whole candidate list so validation MAP is the real ranking.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader, Dataset


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
        features: ``[L, F]`` pair features (all of :data:`~icdbridge.model.network.PAIR_FEATURES`).
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


class _SampledDocuments(Dataset):
    def __init__(self, docs: Sequence[DocumentFeatures], negatives: int | None, seed: int) -> None:
        self.docs = list(docs)
        self.negatives = negatives
        self.generator = torch.Generator().manual_seed(seed)

    def __len__(self) -> int:
        return len(self.docs)

    def __getitem__(self, i: int) -> tuple[DocumentFeatures, torch.Tensor]:
        doc = self.docs[i]
        if self.negatives is None:
            return doc, torch.arange(len(doc.candidates))
        targets = doc.targets
        positives = torch.nonzero(targets > 0).flatten()
        negative_pool = torch.nonzero(targets <= 0).flatten()
        count = min(self.negatives, len(negative_pool))
        if count:
            weights = doc.hardness[negative_pool].clamp_min(1e-6)
            picked = torch.multinomial(weights, count, replacement=False, generator=self.generator)
            negatives = negative_pool[picked]
        else:
            negatives = negative_pool
        return doc, torch.cat([positives, negatives])


class CodingDataModule(pl.LightningDataModule):
    """Batches of featurised documents for :class:`~icdbridge.model.lightning.CodingModule`.

    Args:
        train: Featurised training documents.
        val: Featurised validation documents (whole candidate lists).
        feature_columns: Which pair-feature columns the network uses.
        batch_size: Documents per batch.
        negatives: Negatives sampled per training document and epoch.
        seed: Seed of the negative sampler and the shuffling.
    """

    def __init__(
        self,
        train: Sequence[DocumentFeatures],
        val: Sequence[DocumentFeatures],
        feature_columns: Sequence[int],
        batch_size: int = 16,
        negatives: int = 256,
        seed: int = 0,
    ) -> None:
        super().__init__()
        self.train_docs = list(train)
        self.val_docs = list(val)
        self.feature_columns = list(feature_columns)
        self.batch_size = batch_size
        self.negatives = negatives
        self.seed = seed

    def _collate(self, items):
        return collate(items, self.feature_columns)

    def train_dataloader(self) -> DataLoader:
        """Shuffled training batches with freshly sampled negatives each epoch."""
        return DataLoader(
            _SampledDocuments(self.train_docs, self.negatives, self.seed),
            batch_size=self.batch_size,
            shuffle=True,
            collate_fn=self._collate,
            generator=torch.Generator().manual_seed(self.seed),
        )

    def val_dataloader(self) -> DataLoader:
        """Validation batches with every candidate of each document."""
        return DataLoader(
            _SampledDocuments(self.val_docs, None, self.seed),
            batch_size=max(1, self.batch_size // 4),
            shuffle=False,
            collate_fn=self._collate,
        )
