"""Train a label-embedding coder: the library function behind ``icdbridge train``.

:func:`train_model` runs the whole recipe on a CPU budget. Optionally the encoder is first
fine-tuned on pieces of the training documents paired with their codes' label texts
(``TrainConfig.finetune_epochs``, :mod:`~icdbridge.model.finetune`); then it is frozen and run
once (piece embeddings of the documents, label embeddings of the whole release through the
on-disk cache) and only the light heads train — the hierarchy mixer, the label-wise attention
and the fusion of the pair features — with pytorch-lightning (seeded, deterministic, early
stopping on validation MAP, checkpoints that resume). By default three networks train, each with
its own seed, and their logits are averaged (``TrainConfig.members``; the featurised documents
are shared, so each further network costs only its heads' training). The calibration of unseen
codes and the decision threshold are then fitted on the validation documents, for the averaged
model.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from icdbridge.outputs import write_json
from icdbridge.paths import inside

if TYPE_CHECKING:
    from icdbridge.data import Document
    from icdbridge.model.encoder import TextEncoder
    from icdbridge.model.finetune import FinetuneResult
    from icdbridge.model.network import LabelEmbeddingModel, ModelConfig
    from icdbridge.model.predictor import LabelSpace, PipelineConfig, Predictor


FINISHED_NAME = "finished.json"
"""Written into a network's checkpoint folder when its training ends (best checkpoint, history,
whether it stopped early), so that resuming an ensemble skips the networks already trained."""


@dataclass
class TrainConfig:
    """Optimisation settings.

    Attributes:
        epochs: Maximum epochs.
        batch_size: Documents per batch.
        negatives: Negatives sampled per document and epoch.
        learning_rate: AdamW learning rate.
        weight_decay: AdamW weight decay.
        loss: ``"bce"`` or ``"contrastive"`` (:data:`~icdbridge.model.losses.LOSSES`).
        positive_weight: Weight of positives in the BCE loss.
        patience: Early-stopping patience in epochs (on validation MAP).
        seed: Seed of everything (weights, sampling, shuffling); network ``i`` of an ensemble
            trains with ``seed + i``.
        members: Networks trained (each with its own seed, on the same documents) and averaged
            into one :class:`~icdbridge.model.network.NetworkEnsemble`; 1: a single network.
            Default 3, chosen by cross-validation over the CodiEsp train split
            (``experiments/codiesp_zeroshot/cv_choices.py``, ``docs/model.md``).
        calibration_folds: 0: the unseen-code calibration and the threshold are fitted on the
            validation documents' scores. ``K`` ≥ 2: on *out-of-fold* scores of all training and
            validation documents instead — they are cut, seeded, into ``K`` folds, and one more
            network per fold trains on the other folds (with a training memory of those folds
            only, for the main networks' mean best epoch count) and scores its fold, so that
            every labelled document contributes its codes unseen by the network that scored it
            (see ``docs/model.md``).
        calibration_map_tolerance: ``None`` (default): the unseen-code calibration maximises
            the harmonic mean of validation MAP and validation unseen recall@20; a number: the
            validation MAP it may give up for unseen recall@20 instead
            (:class:`~icdbridge.model.calibration.Calibrator`).
        hidden_codes: Share of the codes seen in training that are *hidden* from the training
            memory while the networks train (simulated unseen codes: no neighbour vote, prior or
            seen flag, and not among the always-added seen candidates; chosen by ``seed``,
            shared by the networks of an ensemble). Their notes still train the networks, which
            then see more positives the way they see a code that never occurred in training.
            Validation, calibration and prediction use the whole memory. 0 (default): only the
            leave-one-out of each note's own codes; on the CodiEsp train folds 0.2 and 0.4
            lowered the harmonic mean of MAP and unseen recall@20 (``docs/model.md``).
        finetune_epochs: Epochs of encoder fine-tuning before the heads train
            (:mod:`~icdbridge.model.finetune`; 0: the encoder stays frozen).
        finetune_learning_rate: Peak learning rate of encoder fine-tuning.
        finetune_batch_size: Mined pairs per fine-tuning step.
    """

    epochs: int = 30
    batch_size: int = 16
    negatives: int = 256
    learning_rate: float = 3e-3
    weight_decay: float = 1e-4
    loss: str = "contrastive"
    positive_weight: float = 4.0
    patience: int = 5
    seed: int = 0
    members: int = 3
    calibration_folds: int = 0
    calibration_map_tolerance: float | None = None
    hidden_codes: float = 0.0
    finetune_epochs: int = 0
    finetune_learning_rate: float = 3e-5
    finetune_batch_size: int = 32


@dataclass
class TrainResult:
    """Outcome of :func:`train_model`.

    Attributes:
        predictor: The trained, calibrated predictor.
        history: Validation MAP per epoch of each network (``{"member", "epoch", "val_map"}``).
        seconds: Wall time of the whole training (encoding included).
        best_val_map: Validation MAP of the trained model's uncalibrated candidate ranking (the
            ensemble's averaged logits; for one network, its best epoch).
        member_val_maps: Best-epoch validation MAP of each network.
        shortlist_recall: Fraction of validation gold pairs among the candidates.
        finetune: Outcome of encoder fine-tuning (``None`` when the encoder stayed frozen).
        calibration: What the calibration was fitted on: ``source`` (``"validation"`` or
            ``"out-of-fold"``), ``documents`` and ``unseen_pairs`` (their gold codes unseen by
            the network that scored them); out of fold also ``folds``, ``epochs`` (of each fold
            network) and ``fold_val_maps`` (each fold network's MAP on its own fold).
    """

    predictor: Predictor
    history: list[dict[str, float]] = field(default_factory=list)
    seconds: float = 0.0
    best_val_map: float = 0.0
    member_val_maps: list[float] = field(default_factory=list)
    shortlist_recall: float = 0.0
    finetune: FinetuneResult | None = None
    calibration: dict[str, Any] = field(default_factory=dict)


def model_features(pipeline: PipelineConfig, use_hierarchy: bool = True) -> tuple[str, ...]:
    """The pair features a model uses, by the components switched on.

    The lexical score and the word overlap (:data:`~icdbridge.model.network.LEXICAL_FEATURES`)
    need the lexical channel; the memory features
    (:data:`~icdbridge.model.network.MEMORY_FEATURES`: neighbour vote, prior, seen flag, family
    vote and prior) need the training memory; the tree-derived features
    (:data:`~icdbridge.model.network.HIERARCHY_FEATURES`) need the hierarchy component, so that
    the ablation without it uses nothing of the code tree.
    """
    from icdbridge.model.network import (
        HIERARCHY_FEATURES,
        LEXICAL_FEATURES,
        MEMORY_FEATURES,
        PAIR_FEATURES,
    )

    def used(name: str) -> bool:
        if name in LEXICAL_FEATURES:
            return pipeline.use_lexical
        if name in HIERARCHY_FEATURES and not use_hierarchy:
            return False
        return name not in MEMORY_FEATURES or pipeline.use_memory

    return tuple(name for name in PAIR_FEATURES if used(name))


def extra_codes_of(docs: Sequence[Document], known: set[str]) -> list[str]:
    """Training codes outside ``known`` (the release's label-space codes), kept as extra labels."""
    return sorted({c for d in docs for c in d.codes if c not in known})


def train_model(
    train_docs: Sequence[Document],
    dev_docs: Sequence[Document],
    pipeline: PipelineConfig | None = None,
    model_config: ModelConfig | None = None,
    train_config: TrainConfig | None = None,
    *,
    out_dir: str | Path | None = None,
    checkpoint_dir: str | Path | None = None,
    resume: bool = False,
    encoder: TextEncoder | None = None,
    space: LabelSpace | None = None,
    lexical: Any = None,
    label_codes: Sequence[str] | None = None,
    window_cache: dict | None = None,
    progress: bool = False,
) -> TrainResult:
    """Train, calibrate and (optionally) save a model.

    Args:
        train_docs: Training documents (with gold codes).
        dev_docs: Validation documents: early stopping, calibration and threshold.
        pipeline: Pipeline settings (system, release, encoder, windows, channels).
        model_config: Network settings (``dim`` is taken from the encoder).
        train_config: Optimisation settings.
        out_dir: Save the trained model there (:func:`~icdbridge.model.pretrained.save_pretrained`).
        checkpoint_dir: Lightning checkpoints (``last.ckpt`` and the best epoch; for an
            ensemble, one ``member-<i>`` folder per network); default: a ``checkpoints`` folder
            inside ``out_dir`` (none when both are ``None``).
        resume: Continue each network from its ``last.ckpt`` when it exists (a network whose
            training had finished is not trained further).
        encoder: A loaded encoder (default: load ``pipeline.encoder``).
        space: A prebuilt label space (default: the whole release, through the cache).
        lexical: A prebuilt lexical matcher over ``space`` (default: built when enabled).
        label_codes: The label space when ``space`` is not given (default: the codes of
            ``pipeline.label_space`` plus the training codes outside them).
        window_cache: Shared cache of window embeddings (see
            :func:`~icdbridge.model.predictor.encode_documents`).
        progress: Show progress bars (encoding, epochs).

    Returns:
        :class:`TrainResult`.
    """
    import copy

    import pytorch_lightning as pl
    import torch

    from icdbridge.codes import get_terminology
    from icdbridge.errors import IcdbridgeError
    from icdbridge.model.calibration import Calibrator, mean_average_precision
    from icdbridge.model.encoder import TextEncoder
    from icdbridge.model.finetune import finetune_encoder
    from icdbridge.model.network import ModelConfig, combine_networks
    from icdbridge.model.predictor import (
        PipelineConfig,
        Predictor,
        build_label_space,
        build_lexical,
        label_space_codes,
        score_documents,
    )
    from icdbridge.model.pretrained import save_pretrained

    started = time.perf_counter()
    pipeline = pipeline or PipelineConfig()
    train_config = train_config or TrainConfig()
    if not train_docs or not dev_docs:
        raise IcdbridgeError("training needs at least one training and one validation document")
    if train_config.members < 1:
        raise IcdbridgeError(f"members must be at least 1, got {train_config.members}")
    if not 0.0 <= train_config.hidden_codes < 1.0:
        raise IcdbridgeError(
            f"hidden_codes must be a share in [0, 1), got {train_config.hidden_codes}"
        )
    n_labelled = len(train_docs) + len(dev_docs)
    folds = train_config.calibration_folds
    if folds != 0 and not 2 <= folds <= n_labelled:
        raise IcdbridgeError(
            f"calibration_folds must be 0 or between 2 and the {n_labelled} training and "
            f"validation documents, got {folds}"
        )
    pl.seed_everything(train_config.seed, workers=True, verbose=False)
    torch.use_deterministic_algorithms(True, warn_only=True)

    terminology = get_terminology(pipeline.system, pipeline.release)
    encoder = encoder or TextEncoder(pipeline.encoder)
    if not pipeline.extra_codes:
        known = set(label_space_codes(terminology, pipeline.label_space))
        pipeline.extra_codes = extra_codes_of(train_docs, known)
    if space is None:
        space = build_label_space(encoder, terminology, pipeline, label_codes, progress)
    tuned = None
    if train_config.finetune_epochs > 0:
        encoder = copy.deepcopy(encoder)  # the caller's encoder stays as it was
        tuned = finetune_encoder(
            encoder,
            train_docs,
            space,
            pipeline,
            epochs=train_config.finetune_epochs,
            batch_size=train_config.finetune_batch_size,
            learning_rate=train_config.finetune_learning_rate,
            seed=train_config.seed,
            progress=progress,
        )
        pipeline.finetuned_encoder = True
        space = build_label_space(encoder, terminology, pipeline, space.codes, progress)
    if pipeline.use_lexical and lexical is None:
        lexical = build_lexical(terminology, space.codes)
    if window_cache is None:
        window_cache = {}  # the calibration folds featurise the same documents again
    base = model_config or ModelConfig()
    # the components switched on decide the features; ``base.features`` may drop some more
    features = tuple(f for f in model_features(pipeline, base.use_hierarchy) if f in base.features)
    components = (encoder, space, pipeline, lexical, features, window_cache)
    memory, train_features, dev_features = _memory_and_features(
        train_docs, dev_docs, components, train_config, progress
    )
    config = ModelConfig.from_dict({**base.to_dict(), "dim": encoder.dim, "features": features})
    config.max_ancestors = pipeline.max_ancestors
    if checkpoint_dir is None and out_dir is not None:
        checkpoint_dir = Path(out_dir) / "checkpoints"
    networks, history = [], []
    for member in range(train_config.members):
        folder = checkpoint_dir
        if checkpoint_dir is not None and train_config.members > 1:
            folder = Path(checkpoint_dir) / f"member-{member}"
        network, member_history = _train_network(
            config,
            space,
            train_features,
            dev_features,
            replace(train_config, seed=train_config.seed + member),
            folder,
            resume,
            progress,
        )
        networks.append(network)
        history += [{"member": member, **row} for row in member_history]
    model = combine_networks(networks)
    model.eval()

    scored = score_documents(model, space, dev_features)
    seen = memory.seen if memory is not None else frozenset()
    if train_config.calibration_folds:
        epochs = round(sum(_best_epoch(history, m) for m in range(len(networks))) / len(networks))
        fit_scores, fit_golds, fit_seen, calibration = _out_of_fold_scores(
            [*train_docs, *dev_docs],
            config,
            components,
            replace(train_config, epochs=max(epochs, 1)),
            None if checkpoint_dir is None else Path(checkpoint_dir) / "calibration",
            resume,
            progress,
        )
    else:
        fit_scores = [s for s, _ in scored]
        fit_golds = [d.gold for d in dev_features]
        fit_seen = [seen] * len(dev_features)
        calibration = {"source": "validation"}
    calibrator = Calibrator(map_tolerance=train_config.calibration_map_tolerance).fit(
        fit_scores, fit_golds, fit_seen
    )
    calibration["documents"] = len(fit_golds)
    calibration["unseen_pairs"] = sum(len(g - s) for g, s in zip(fit_golds, fit_seen, strict=True))
    predictor = Predictor(model, pipeline, space, encoder, memory, lexical, calibrator)
    n_gold = sum(len(d.gold) for d in dev_features)
    covered = sum(len(d.gold & set(d.candidates)) for d in dev_features)
    member_val_maps = [
        max((h["val_map"] for h in history if h["member"] == m), default=0.0)
        for m in range(len(networks))
    ]
    if len(networks) == 1:
        best_val_map = member_val_maps[0]
    else:
        ranked = [sorted(s, key=lambda code, s=s: (-s[code], code)) for s, _ in scored]
        best_val_map = mean_average_precision(ranked, [d.gold for d in dev_features])
    result = TrainResult(
        predictor=predictor,
        history=history,
        seconds=time.perf_counter() - started,
        best_val_map=best_val_map,
        member_val_maps=member_val_maps,
        shortlist_recall=covered / n_gold if n_gold else float("nan"),
        finetune=tuned,
        calibration=calibration,
    )
    if out_dir is not None:
        save_pretrained(
            predictor,
            out_dir,
            extra={
                "train_config": asdict(train_config),
                "history": history,
                "finetune_pairs": tuned.pairs if tuned else 0,
                "finetune_seconds": round(tuned.seconds, 1) if tuned else 0.0,
                "calibration": calibration,
                "train_seconds": round(result.seconds, 1),
                "n_train_documents": len(train_docs),
                "n_dev_documents": len(dev_docs),
            },
        )
    return result


def hidden_codes(codes: Iterable[str], share: float, seed: int) -> frozenset[str]:
    """A seeded ``share`` of ``codes`` (rounded down; the same codes and seed give the same
    set, whatever order the codes come in): the simulated unseen codes of
    ``TrainConfig.hidden_codes``."""
    import random

    order = sorted(set(codes))
    return frozenset(random.Random(seed).sample(order, int(share * len(order))))


def _memory_and_features(
    train_docs: Sequence[Document],
    dev_docs: Sequence[Document],
    components: tuple,
    train_config: TrainConfig,
    progress: bool,
) -> tuple[Any, list, list]:
    """The training memory of ``train_docs`` (``None`` when the pipeline has none) and the
    features of the training (train mode, with ``train_config.hidden_codes`` of the memory's
    codes hidden) and validation documents it gives.

    ``components`` is ``(encoder, space, pipeline, lexical, features, window_cache)``.
    """
    from icdbridge.model.memory import TrainingMemory
    from icdbridge.model.predictor import featurize

    encoder, space, pipeline, lexical, features, window_cache = components
    memory = None
    if pipeline.use_memory:
        memory = TrainingMemory(pipeline.neighbours_k).fit(
            [d.id for d in train_docs], [d.text for d in train_docs], [d.codes for d in train_docs]
        )
    shared = (encoder, space, pipeline, memory, lexical)
    hidden = frozenset()
    if memory is not None and train_config.hidden_codes:
        hidden = hidden_codes(memory.seen, train_config.hidden_codes, train_config.seed)
    return (
        memory,
        featurize(train_docs, *shared, True, progress, window_cache, features, hidden),
        featurize(dev_docs, *shared, False, progress, window_cache, features),
    )


def _best_epoch(history: list[dict[str, Any]], member: int) -> int:
    """Number of epochs up to network ``member``'s best validation MAP (first of ties)."""
    values = [h["val_map"] for h in history if h["member"] == member]
    return max(range(len(values)), key=lambda i: (values[i], -i)) + 1 if values else 1


def seeded_folds(docs: Sequence[Document], folds: int, seed: int) -> list[list[Document]]:
    """Seeded partition of ``docs`` into ``folds`` parts of (nearly) equal size (the same
    documents and seed give the same folds, whatever order the documents come in)."""
    import random

    order = sorted(docs, key=lambda d: d.id)
    random.Random(seed).shuffle(order)
    return [order[i::folds] for i in range(folds)]


def _out_of_fold_scores(
    docs: Sequence[Document],
    config: ModelConfig,
    components: tuple,
    train_config: TrainConfig,
    checkpoint_dir: Path | None,
    resume: bool,
    progress: bool,
) -> tuple[list[dict[str, float]], list[set[str]], list[frozenset[str]], dict[str, Any]]:
    """Raw scores of every document by a network trained without its fold.

    Each fold's network trains for exactly ``train_config.epochs`` epochs (no early stopping:
    its own fold must not choose its weights) on the other folds, whose training memory is the
    only one its features see. Returns per document (fold by fold) its raw candidate logits, its
    gold codes and the codes its network saw, and a summary. ``components`` as for
    :func:`_memory_and_features`.
    """
    from icdbridge.model.predictor import score_documents

    space = components[1]
    parts = seeded_folds(docs, train_config.calibration_folds, train_config.seed)
    scores, golds, seen_sets, fold_maps = [], [], [], []
    for k, held in enumerate(parts):
        rest = [d for j, part in enumerate(parts) if j != k for d in part]
        memory, rest_features, held_features = _memory_and_features(
            rest, held, components, train_config, progress
        )
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


def _train_network(
    config: ModelConfig,
    space: LabelSpace,
    train_features: list,
    dev_features: list,
    train_config: TrainConfig,
    checkpoint_dir: str | Path | None,
    resume: bool,
    progress: bool,
    select_best: bool = True,
) -> tuple[LabelEmbeddingModel, list[dict[str, float]]]:
    """Train one network with ``train_config.seed``; returns it at its best validation epoch
    (early stopping on validation MAP) and the validation MAP of every epoch.

    With ``select_best=False`` it trains exactly ``train_config.epochs`` epochs and is returned
    as the last epoch left it (the validation documents are scored, never used to choose).
    """
    import pytorch_lightning as pl

    from icdbridge.model.datamodule import CodingDataModule
    from icdbridge.model.lightning import CodingModule
    from icdbridge.model.network import LabelEmbeddingModel
    from icdbridge.model.predictor import feature_columns

    # seeded here, so that each network of an ensemble is the network a run with its seed trains
    pl.seed_everything(train_config.seed, workers=True, verbose=False)
    model = LabelEmbeddingModel(config)
    finished = Path(checkpoint_dir) / FINISHED_NAME if checkpoint_dir is not None else None
    if resume and finished is not None and finished.is_file():
        record = _read_finished(finished)
        if record["stopped_early"] or train_config.epochs <= record["epochs"]:
            # this network's training had ended: its best epoch, not one more epoch
            _load_checkpoint(model, inside(checkpoint_dir, record["best"]))
            return model, record["history"]
    if finished is not None:
        finished.unlink(missing_ok=True)
    ckpt_path = None
    if resume and checkpoint_dir is not None and (Path(checkpoint_dir) / "last.ckpt").is_file():
        ckpt_path = str(inside(checkpoint_dir, "last.ckpt"))
        _check_checkpoint(Path(ckpt_path))  # refused here, before any work, if not plain data
    module = CodingModule(
        model,
        space.matrix,
        space.ancestor_index,
        loss=train_config.loss,
        learning_rate=train_config.learning_rate,
        weight_decay=train_config.weight_decay,
        positive_weight=train_config.positive_weight,
    )
    data = CodingDataModule(
        train_features,
        dev_features,
        feature_columns(model),
        batch_size=train_config.batch_size,
        negatives=train_config.negatives,
        seed=train_config.seed,
    )
    stopping = pl.callbacks.EarlyStopping("val_map", mode="max", patience=train_config.patience)
    best_state = _best_state_callback()()
    # without selection only the last epoch matters: no best-epoch checkpoint or copy is kept
    callbacks: list[Any] = [stopping, best_state] if select_best else []
    checkpoint = None
    if checkpoint_dir is not None:
        checkpoint = pl.callbacks.ModelCheckpoint(
            dirpath=str(checkpoint_dir),
            monitor="val_map" if select_best else None,
            mode="max",
            save_last=True,
            save_top_k=1 if select_best else 0,
        )
        callbacks.append(checkpoint)
    if progress:
        callbacks.append(pl.callbacks.RichProgressBar())
    trainer = pl.Trainer(
        max_epochs=train_config.epochs,
        accelerator="cpu",
        devices=1,
        deterministic=True,
        logger=False,
        enable_checkpointing=checkpoint is not None,
        enable_progress_bar=progress,
        enable_model_summary=False,
        callbacks=callbacks,
        num_sanity_val_steps=0,
    )
    # weights_only: a checkpoint is data, never code (Lightning's own checkpoints hold only
    # tensors and plain values, which the restricted unpickler accepts)
    trainer.fit(module, datamodule=data, ckpt_path=ckpt_path, weights_only=True)
    chosen = None
    if checkpoint is not None:
        chosen = checkpoint.best_model_path if select_best else checkpoint.last_model_path
    if chosen:
        _load_checkpoint(model, Path(chosen))
        record = {
            "best": Path(chosen).name,
            "epochs": train_config.epochs,
            "stopped_early": select_best and stopping.stopped_epoch > 0,
            "history": module.history,
        }
        write_json(finished, record)
    elif select_best and best_state.state is not None:
        model.load_state_dict(best_state.state)
    return model, module.history


FINISHED_KEYS: dict[str, type | tuple[type, ...]] = {
    "best": str,
    "epochs": int,
    "stopped_early": bool,
    "history": list,
}
"""Keys of ``finished.json`` → their JSON type."""


def _read_finished(path: Path) -> dict[str, Any]:
    """Read a network's ``finished.json``; a damaged record is a one-line error naming it."""
    from icdbridge.errors import InputFormatError
    from icdbridge.text_input import read_utf8

    try:
        record = json.loads(read_utf8(path))
    except (ValueError, RecursionError) as error:
        if isinstance(error, InputFormatError):
            raise
        raise InputFormatError(path, "invalid JSON; delete the run folder's checkpoints") from None
    if not isinstance(record, dict) or any(
        not isinstance(record.get(key), kind) for key, kind in FINISHED_KEYS.items()
    ):
        raise InputFormatError(
            path, f"expected an object with {', '.join(FINISHED_KEYS)}; the record is damaged"
        )
    return record


def _check_checkpoint(path: Path) -> dict[str, Any]:
    """Load a checkpoint with ``torch.load(weights_only=True)``: tensors and plain values only.

    A checkpoint that needs arbitrary code to unpickle (a crafted run folder) is refused, and
    nothing in it runs.

    Raises:
        InputFormatError: the file is not a checkpoint of plain data (named in the message).
    """
    import pickle

    import torch

    from icdbridge.errors import InputFormatError

    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError, OSError) as error:
        reason = str(error).strip().split("\n")[0][:160]
        raise InputFormatError(
            path,
            f"not a checkpoint of plain weights ({reason}); refused to load it (a checkpoint "
            "is never allowed to run code); delete it to train from scratch",
        ) from None


def _load_checkpoint(model: LabelEmbeddingModel, path: Path) -> None:
    """Load the network's weights from a Lightning checkpoint of :class:`CodingModule`."""
    from icdbridge.errors import InputFormatError

    state = _check_checkpoint(path)
    weights = state.get("state_dict") if isinstance(state, dict) else None
    if not isinstance(weights, dict):
        raise InputFormatError(path, "checkpoint without a state_dict; delete it")
    try:
        model.load_state_dict({k[6:]: v for k, v in weights.items() if k.startswith("model.")})
    except RuntimeError as error:
        reason = str(error).strip().split("\n")[0][:160]
        raise InputFormatError(path, f"checkpoint does not fit the model ({reason})") from None


def _best_state_callback():
    import pytorch_lightning as pl

    class BestState(pl.Callback):
        """Keep the weights of the best validation epoch in memory (no checkpoint folder)."""

        def __init__(self) -> None:
            self.best = float("-inf")
            self.state = None

        def on_validation_end(self, trainer, module) -> None:
            value = module.history[-1]["val_map"] if module.history else float("-inf")
            if value > self.best:
                self.best = value
                self.state = {k: v.detach().clone() for k, v in module.model.state_dict().items()}

    return BestState


def load_documents(path: str | Path, terminology: Any) -> list[Document]:
    """Read a JSONL dataset and normalise its codes in ``terminology``.

    Codes with valid syntax but not defined in the release are kept as given (their label text
    falls back to the longest defined prefix).

    Raises:
        InputFormatError: bad rows, a document of another system, or a code with invalid syntax
            (naming the file, the document and the code).
    """
    from icdbridge.data import read_jsonl
    from icdbridge.errors import InputFormatError

    docs = read_jsonl(path)
    for doc in docs:
        if doc.system != terminology.system:
            raise InputFormatError(
                path,
                f"document {doc.id!r} is coded in {doc.system!r}, not {terminology.system!r}",
                value=doc.system,
            )
        codes = []
        for code in doc.codes:
            if not terminology.is_valid_syntax(code):
                raise InputFormatError(
                    path, f"document {doc.id!r}: invalid {terminology.system} code", value=code
                )
            node = terminology.get(code)
            codes.append(node.code if node is not None else code.strip().upper())
        doc.codes = list(dict.fromkeys(codes))
    return docs
