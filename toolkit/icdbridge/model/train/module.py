"""Thin ``LightningModule``: loss, optimiser, logging and validation MAP around the network.

The network (:class:`~icdbridge.model.net.network.LabelEmbeddingModel`) scores labels from their
embeddings; this module only owns the frozen label-space matrix (rows of the label-embedding
cache and each row's ancestor rows), looks candidates up in it, applies the loss chosen from
:data:`~icdbridge.model.net.losses.LOSSES`, and logs ``val_map`` after every epoch for early
stopping and checkpoint selection.
"""

from __future__ import annotations

import numpy as np
import pytorch_lightning as pl
import torch

from icdbridge.eval.ranking import average_precision_of_scores
from icdbridge.model.net.losses import LOSSES
from icdbridge.model.net.network import (
    LabelEmbeddingModel,
    score_batch,
)


def batch_average_precision(
    logits: torch.Tensor, targets: torch.Tensor, mask: torch.Tensor, n_gold: torch.Tensor
) -> list[float]:
    """Average precision of each document's candidate ranking (missing gold codes = misses;
    :func:`~icdbridge.eval.ranking.average_precision_of_scores`); documents without gold codes
    are left out."""
    values = []
    for row in range(logits.shape[0]):
        if int(n_gold[row]) == 0:
            continue
        keep = mask[row]
        scores = logits[row][keep].detach().float().cpu().numpy()
        hits = (targets[row][keep] > 0).cpu().numpy()
        values.append(average_precision_of_scores(scores, hits, int(n_gold[row])))
    return values


class CodingModule(pl.LightningModule):
    """Training wrapper of :class:`LabelEmbeddingModel`.

    Args:
        model: The network.
        label_matrix: ``[N, d]`` frozen label embeddings (candidates and their ancestors).
        ancestor_index: ``[N, A]`` row of each label's ancestors (``-1`` where none).
        loss: Name in :data:`~icdbridge.model.net.losses.LOSSES`.
        learning_rate: AdamW learning rate.
        weight_decay: AdamW weight decay.
        positive_weight: Weight of positives in the BCE loss.
    """

    def __init__(
        self,
        model: LabelEmbeddingModel,
        label_matrix: torch.Tensor,
        ancestor_index: torch.Tensor,
        loss: str = "bce",
        learning_rate: float = 3e-3,
        weight_decay: float = 1e-4,
        positive_weight: float = 4.0,
    ) -> None:
        super().__init__()
        if loss not in LOSSES:
            raise ValueError(f"unknown loss {loss!r} (expected one of {', '.join(LOSSES)})")
        self.model = model
        self.register_buffer("label_matrix", label_matrix, persistent=False)
        self.register_buffer("ancestor_index", ancestor_index, persistent=False)
        self.loss_name = loss
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.positive_weight = positive_weight
        self._val_ap: list[float] = []
        self.history: list[dict[str, float]] = []

    def _loss(self, logits, batch) -> torch.Tensor:
        function = LOSSES[self.loss_name]
        if self.loss_name == "bce":
            return function(logits, batch["targets"], batch["label_mask"], self.positive_weight)
        return function(logits, batch["targets"], batch["label_mask"])

    def training_step(self, batch, batch_idx):
        out = score_batch(self.model, self.label_matrix, self.ancestor_index, batch)
        loss = self._loss(out.logits, batch)
        self.log("train_loss", loss, prog_bar=True, batch_size=batch["windows"].shape[0])
        return loss

    def on_validation_epoch_start(self) -> None:
        self._val_ap = []

    def validation_step(self, batch, batch_idx):
        out = score_batch(self.model, self.label_matrix, self.ancestor_index, batch)
        self._val_ap.extend(
            batch_average_precision(
                out.logits, batch["targets"], batch["label_mask"], batch["n_gold"]
            )
        )
        loss = self._loss(out.logits, batch)
        self.log("val_loss", loss, batch_size=batch["windows"].shape[0])

    def on_validation_epoch_end(self) -> None:
        value = float(np.mean(self._val_ap)) if self._val_ap else 0.0
        self.log("val_map", value, prog_bar=True)
        self.history.append({"epoch": int(self.current_epoch), "val_map": value})

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        checkpoint["val_history"] = list(self.history)

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        # a resumed run reports every epoch, also those before the interruption
        self.history = list(checkpoint.get("val_history", []))

    def configure_optimizers(self):
        return torch.optim.AdamW(
            self.model.parameters(), lr=self.learning_rate, weight_decay=self.weight_decay
        )
