"""Data side of training: featurised documents → padded batches with sampled negatives.

The heavy work (encoding windows, shortlisting candidates, lexical matches) happens once in
:func:`icdbridge.model.features.featurize.featurize`; this module only samples and pads. Each
training
document contributes all its positives plus ``negatives`` sampled candidates, drawn with extra
weight on hard negatives (hierarchy siblings of the positives, faiss/lexical shortlist hits).
Validation documents keep their whole candidate list so validation MAP is the real ranking.
"""

from __future__ import annotations

from collections.abc import Sequence

import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader, Dataset

from icdbridge.model.features.batch import DocumentFeatures, collate


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
    """Batches of featurised documents for :class:`~icdbridge.model.train.module.CodingModule`.

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
