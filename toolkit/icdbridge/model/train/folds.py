"""Seeded document folds, simulated unseen codes and out-of-fold calibration scores."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from icdbridge.data import Document
    from icdbridge.model.config import ModelConfig, TrainConfig
    from icdbridge.model.train.loop import TrainingSetup


def hidden_codes(codes: Iterable[str], share: float, seed: int) -> frozenset[str]:
    """A seeded ``share`` of ``codes`` (rounded down; the same codes and seed give the same
    set, whatever order the codes come in): the simulated unseen codes of
    ``TrainConfig.hidden_codes``."""
    import random

    order = sorted(set(codes))
    return frozenset(random.Random(seed).sample(order, int(share * len(order))))


def seeded_folds(docs: Sequence[Document], folds: int, seed: int) -> list[list[Document]]:
    """Seeded partition of ``docs`` into ``folds`` parts of (nearly) equal size (the same
    documents and seed give the same folds, whatever order the documents come in)."""
    import random

    order = sorted(docs, key=lambda d: d.id)
    random.Random(seed).shuffle(order)
    return [order[i::folds] for i in range(folds)]


def _best_epoch(history: list[dict[str, Any]], member: int) -> int:
    """Number of epochs up to network ``member``'s best validation MAP (first of ties)."""
    values = [h["val_map"] for h in history if h["member"] == member]
    return max(range(len(values)), key=lambda i: (values[i], -i)) + 1 if values else 1


def out_of_fold_scores(
    docs: Sequence[Document],
    config: ModelConfig,
    setup: TrainingSetup,
    train_config: TrainConfig,
    checkpoint_dir: Path | None,
    resume: bool,
    progress: bool,
) -> tuple[list[dict[str, float]], list[set[str]], list[frozenset[str]], dict[str, Any]]:
    """Raw scores of every document by a network trained without its fold.

    Each fold's network trains for exactly ``train_config.epochs`` epochs (no early stopping:
    its own fold must not choose its weights) on the other folds, whose training memory is the
    only one its features see. Returns per document (fold by fold) its raw candidate logits, its
    gold codes and the codes its network saw, and a summary.
    """
    from icdbridge.model.predict import score_documents
    from icdbridge.model.train.loop import featurise_training_data
    from icdbridge.model.train.networks import _train_network
    from icdbridge.model.train.quiet import quiet_lightning

    space = setup.space

    parts = seeded_folds(docs, train_config.calibration_folds, train_config.seed)
    scores, golds, seen_sets, fold_maps = [], [], [], []
    for k, held in enumerate(parts):
        rest = [d for j, part in enumerate(parts) if j != k for d in part]
        data = featurise_training_data(rest, held, setup, train_config, progress)
        memory, rest_features, held_features = data.memory, data.train, data.dev
        with quiet_lightning(setup.verbose):
            network, history = _train_network(
                config,
                space,
                rest_features,
                held_features,
                replace(train_config, seed=train_config.seed + k),
                None if checkpoint_dir is None else checkpoint_dir / f"fold-{k}",
                resume,
                progress,
                select_best=False,
                # a warm start starts the fold networks from the saved ones too
                initialise=None if setup.init is None else partial(setup.init.apply, member=k),
            )
        fold_maps.append(history[-1]["val_map"] if history else 0.0)
        seen = memory.seen if memory is not None else frozenset()
        for (doc_scores, _), doc in zip(
            score_documents(network, space, held_features), held_features, strict=True
        ):
            scores.append(doc_scores)
            golds.append(doc.gold)
            seen_sets.append(seen)
    summary = {
        "source": "out-of-fold",
        "folds": len(parts),
        "epochs": train_config.epochs,
        "fold_val_maps": [round(v, 4) for v in fold_maps],
    }
    return scores, golds, seen_sets, summary
