"""Encoder fine-tuning: teach the encoder to put a note's wording next to the code's description.

The untuned encoder knows general English; clinical notes say "intense generalized chemosis" where
the terminology says "Conjunctival edema". This optional first stage of training
(``TrainConfig.finetune_epochs``) adapts the whole transformer — document pieces and label texts
go through the same encoder — on pairs mined from the training documents:

* **Mining** (:func:`mine_pairs`): a document says which codes it has, not where. For each gold
  code, the document piece (sentence or clause, :mod:`~icdbridge.model.text.pieces`) most similar to
  the code's label text under the current encoder is taken as its mention (multiple-instance
  learning with a hard assignment), with a few hard negatives: the labels closest to that piece
  that are not gold codes of the document.
* **Annotated mentions** (:func:`evidence_pairs`, ``TrainConfig.finetune_evidence``): where the
  documents say which words mention a code (CodiEsp's ``*X.tsv``), those words are pairs too;
  with ``TrainConfig.finetune_mined`` off they are the only pairs (no mining, and a few words
  per pair instead of a clause).
* **Loss** (:func:`~icdbridge.model.net.losses.in_batch_contrastive`): each piece must score its
  label text above every other label text of the batch (other pairs' labels and the hard
  negatives); the document's other gold codes are left out of its softmax.
* **Note side only** (``TrainConfig.finetune_labels`` off, ``labels=False`` here): the label
  texts are not encoded in the loss; their untuned embeddings (the rows of the label space) are
  the keys, and only the pieces' encoder learns. The label space is then kept as it is, and
  the model holds two encoders: the untuned one of its label texts, the tuned one of its notes.

:class:`PairDataModule` owns the batches and :class:`EncoderTuningModule` (a thin
``LightningModule``) the loss, optimiser (AdamW, linear warm-up and decay) and logging, as for
the scoring heads. Label texts of **every** code are trained against, not only the codes of the
training documents, through the hard negatives; what transfers to codes never seen is the
mapping from clinical wording to terminology wording. After fine-tuning, the label embeddings of
the whole release are recomputed with the tuned encoder (through the cache, keyed by the encoder
weights) and the tuned weights are saved with the model.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader

from icdbridge.errors import IcdbridgeError
from icdbridge.model.net.losses import in_batch_contrastive

if TYPE_CHECKING:
    from icdbridge.data import Document
    from icdbridge.model.config import PipelineConfig
    from icdbridge.model.labels.space import LabelSpace
    from icdbridge.model.text.encoder import TextEncoder


@dataclass(frozen=True)
class PiecePair:
    """One mined training pair.

    Attributes:
        piece: Text of the document piece taken as the code's mention.
        code: The gold code.
        gold: All gold codes of the document (never negatives for this piece).
        hard: Hard negative codes (closest labels to the piece that are not gold).
    """

    piece: str
    code: str
    gold: frozenset[str]
    hard: tuple[str, ...]


def mine_pairs(
    encoder: TextEncoder,
    docs: Sequence[Document],
    space: LabelSpace,
    config: PipelineConfig,
    hard_negatives: int = 3,
    progress: bool = False,
) -> list[PiecePair]:
    """Pair every gold code of ``docs`` (in ``space``) with its most similar document piece.

    Args:
        encoder: The encoder to mine with (its label embeddings are ``space.matrix``).
        docs: Training documents.
        space: The label space (embeddings of the same encoder).
        config: Pipeline settings (how documents are cut into pieces).
        hard_negatives: Hard negatives kept per pair.
        progress: Show a progress bar while encoding pieces.
    """
    from icdbridge.model.features.featurize import encode_documents

    encoded = encode_documents(encoder, [d.text for d in docs], config, progress)
    pairs: list[PiecePair] = []
    for doc, (spans, vectors) in zip(docs, encoded, strict=True):
        gold = [c for c in dict.fromkeys(doc.codes) if c in space.row]
        if not gold:
            continue
        texts = [doc.text[start:end] for start, end in spans]
        rows = torch.tensor([space.row[c] for c in gold])
        best = (vectors @ space.matrix[rows].T).argmax(dim=0).tolist()
        chosen = sorted(set(best))
        golds = frozenset(doc.codes)
        found = _hard_negatives(space, vectors[chosen], [golds] * len(chosen), hard_negatives)
        hard_of = dict(zip(chosen, found, strict=True))
        for code, piece in zip(gold, best, strict=True):
            pairs.append(PiecePair(texts[piece], code, golds, hard_of[piece]))
    return pairs


def evidence_pairs(
    encoder: TextEncoder,
    docs: Sequence[Document],
    space: LabelSpace,
    hard_negatives: int = 3,
) -> list[PiecePair]:
    """Pair every annotated mention of a gold code of ``docs`` (in ``space``) with its code.

    A mention of the original-language text is glossed into English first (left out when that
    language cannot be read, or nothing of it is glossed); identical (words, code) pairs of one
    document count once.

    Args:
        encoder: The encoder (its label embeddings are ``space.matrix``).
        docs: Training documents (those without ``evidence`` add nothing).
        space: The label space.
        hard_negatives: Hard negatives kept per pair.
    """
    from icdbridge.model.lexical.gloss import glosser_for, readable_original

    found: list[tuple[str, str, frozenset[str]]] = []
    for doc in docs:
        gold = frozenset(doc.codes)
        seen: set[tuple[str, str]] = set()
        for mention in doc.evidence:
            if mention.code not in gold or mention.code not in space.row:
                continue
            words = mention.text
            if mention.source == "original_text":
                if not readable_original(doc):
                    continue
                words = glosser_for(doc.original_language, space.terminology).gloss(words).text
            words = words.strip()
            if words and (words, mention.code) not in seen:
                seen.add((words, mention.code))
                found.append((words, mention.code, gold))
    if not found:
        return []
    vectors = encoder.embed([words for words, _, _ in found])
    hard = _hard_negatives(space, vectors, [gold for _, _, gold in found], hard_negatives)
    return [
        PiecePair(words, code, gold, negatives)
        for (words, code, gold), negatives in zip(found, hard, strict=True)
    ]


def _hard_negatives(
    space: LabelSpace, vectors: torch.Tensor, golds: Sequence[frozenset[str]], k: int
) -> list[tuple[str, ...]]:
    """Per query vector, the ``k`` codes nearest to it that are not gold codes of its document
    (``golds``, one set per vector)."""
    _, neighbours = space.index.search_ids(vectors, k + max(map(len, golds), default=0) + 5)
    owners = space.index.codes  # a code owns several rows when it has aliases
    return [
        tuple(dict.fromkeys(owners[i] for i in ids if i >= 0 and owners[i] not in gold))[:k]
        for ids, gold in zip(neighbours.tolist(), golds, strict=True)
    ]


def collate_pairs(
    pairs: Sequence[PiecePair], label_text: dict[str, str], hard_negatives: int
) -> dict[str, Any]:
    """A batch: piece texts, the batch's distinct codes and their label texts, targets and
    exclusions."""
    codes: dict[str, int] = {}
    for pair in pairs:
        codes.setdefault(pair.code, len(codes))
    for pair in pairs:
        for code in pair.hard[:hard_negatives]:
            codes.setdefault(code, len(codes))
    order = list(codes)
    excluded = torch.tensor([[c in p.gold and c != p.code for c in order] for p in pairs])
    return {
        "pieces": [p.piece for p in pairs],
        "codes": order,
        "labels": [label_text[c] for c in order],
        "targets": torch.tensor([codes[p.code] for p in pairs]),
        "excluded": excluded,
    }


class PairDataModule(pl.LightningDataModule):
    """Shuffled batches of mined pairs.

    Args:
        pairs: Mined pairs.
        label_text: Code → label text (every code a pair names).
        batch_size: Pairs per batch.
        hard_negatives: Hard negatives per pair added to the batch's keys.
        seed: Seed of the shuffling.
    """

    def __init__(
        self,
        pairs: Sequence[PiecePair],
        label_text: dict[str, str],
        batch_size: int = 32,
        hard_negatives: int = 1,
        seed: int = 0,
    ) -> None:
        super().__init__()
        self.pairs = list(pairs)
        self.label_text = label_text
        self.batch_size = batch_size
        self.hard_negatives = hard_negatives
        self.seed = seed

    def train_dataloader(self) -> DataLoader:
        """Shuffled (seeded) batches; the last incomplete batch is dropped."""
        return DataLoader(
            self.pairs,
            batch_size=self.batch_size,
            shuffle=True,
            drop_last=len(self.pairs) > self.batch_size,
            collate_fn=lambda items: collate_pairs(items, self.label_text, self.hard_negatives),
            generator=torch.Generator().manual_seed(self.seed),
        )


class EncoderTuningModule(pl.LightningModule):
    """Loss, optimiser and logging of encoder fine-tuning.

    Args:
        encoder: The encoder (trained in place).
        learning_rate: Peak AdamW learning rate.
        weight_decay: AdamW weight decay.
        warmup: Fraction of the steps with a linear warm-up.
        scale: Inverse temperature of the contrastive loss.
        piece_tokens: Token limit of a piece.
        label_tokens: Token limit of a label text.
        frozen_labels: Fixed label embeddings as the keys (the label space; note side only):
            the label texts are not encoded. ``None``: the label texts go through ``encoder``.
    """

    def __init__(
        self,
        encoder: TextEncoder,
        learning_rate: float = 3e-5,
        weight_decay: float = 0.01,
        warmup: float = 0.1,
        scale: float = 20.0,
        piece_tokens: int = 130,
        label_tokens: int = 64,
        frozen_labels: LabelSpace | None = None,
    ) -> None:
        super().__init__()
        self.encoder = encoder
        self.frozen_labels = frozen_labels
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.warmup = warmup
        self.scale = scale
        self.piece_tokens = piece_tokens
        self.label_tokens = label_tokens
        self.history: list[float] = []

    def training_step(self, batch: dict[str, Any], batch_idx: int) -> torch.Tensor:
        queries = self.encoder.encode_batch(batch["pieces"], self.piece_tokens)
        if self.frozen_labels is None:
            keys = self.encoder.encode_batch(batch["labels"], self.label_tokens)
        else:
            rows = torch.tensor([self.frozen_labels.row[c] for c in batch["codes"]])
            keys = self.frozen_labels.matrix[rows].to(queries.device)
        loss = in_batch_contrastive(queries, keys, batch["targets"], batch["excluded"], self.scale)
        self.log("finetune_loss", loss, prog_bar=True, batch_size=len(batch["pieces"]))
        self.history.append(float(loss.detach()))
        return loss

    def configure_optimizers(self):
        optimizer = torch.optim.AdamW(
            self.encoder.model.parameters(), lr=self.learning_rate, weight_decay=self.weight_decay
        )
        total = max(1, int(self.trainer.estimated_stepping_batches))
        warm = max(1, int(total * self.warmup))

        def factor(step: int) -> float:
            if step < warm:
                return (step + 1) / warm
            return max(0.0, (total - step) / max(1, total - warm))

        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
        schedule = {"scheduler": scheduler, "interval": "step"}
        return {"optimizer": optimizer, "lr_scheduler": schedule}


@dataclass
class FinetuneResult:
    """Outcome of :func:`finetune_encoder`.

    Attributes:
        pairs: Number of training pairs (mined and annotated).
        losses: Training loss per step.
        seconds: Wall time (mining included).
        evidence_pairs: How many of ``pairs`` are annotated mentions (:func:`evidence_pairs`).
    """

    pairs: int
    losses: list[float]
    seconds: float
    evidence_pairs: int = 0


def finetune_encoder(
    encoder: TextEncoder,
    docs: Sequence[Document],
    space: LabelSpace,
    config: PipelineConfig,
    *,
    epochs: int = 1,
    batch_size: int = 32,
    learning_rate: float = 3e-5,
    hard_negatives: int = 1,
    evidence: bool = True,
    mined: bool = True,
    labels: bool = True,
    seed: int = 0,
    progress: bool = False,
) -> FinetuneResult:
    """Fine-tune ``encoder`` in place on pairs mined from ``docs`` (see the module docstring).

    Args:
        encoder: The encoder to tune (``space`` holds its current label embeddings).
        docs: Training documents.
        space: Label space embedded by ``encoder`` (mining and hard negatives).
        config: Pipeline settings (pieces, token budget).
        epochs: Passes over the mined pairs.
        batch_size: Pairs per step.
        learning_rate: Peak learning rate.
        hard_negatives: Hard negatives per pair.
        evidence: Add the documents' annotated mentions as pairs (:func:`evidence_pairs`).
        mined: Mine pairs from the documents (:func:`mine_pairs`); ``False``: the annotated
            mentions are the only pairs.
        labels: Tune the encoder on the label side too (the label space must then be embedded
            again); ``False``: the note side only, against the label embeddings of ``space``.
        seed: Seed of shuffling and dropout.
        progress: Progress bars.

    Returns:
        :class:`FinetuneResult`.

    Raises:
        IcdbridgeError: there is no pair to train on.
    """
    import time

    started = time.perf_counter()
    pl.seed_everything(seed, workers=True, verbose=False)
    negatives = max(hard_negatives, 1)
    pairs = mine_pairs(encoder, docs, space, config, negatives, progress) if mined else []
    annotated = evidence_pairs(encoder, docs, space, negatives) if evidence else []
    pairs += annotated
    if not pairs:
        # nothing to learn from: a model marked fine-tuned would hold an untouched encoder
        what = (
            "no gold code of a training document is in the label space"
            if mined
            else (
                "no annotated mention of a training document names one of its gold codes in the "
                "label space in words that can be read (fine-tuning on annotated mentions alone)"
            )
        )
        raise IcdbridgeError(f"fine-tuning found no training pair: {what}")
    label_text = dict(zip(space.codes, space.texts, strict=True))
    module = EncoderTuningModule(
        encoder,
        learning_rate=learning_rate,
        piece_tokens=config.window_tokens + 2,
        frozen_labels=None if labels else space,
    )
    data = PairDataModule(pairs, label_text, batch_size, hard_negatives, seed)
    trainer = pl.Trainer(
        max_epochs=epochs,
        accelerator="cpu",
        devices=1,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=progress,
        enable_model_summary=False,
        num_sanity_val_steps=0,
    )
    encoder.train()
    try:
        trainer.fit(module, datamodule=data)
    finally:
        encoder.eval()
    return FinetuneResult(len(pairs), module.history, time.perf_counter() - started, len(annotated))
