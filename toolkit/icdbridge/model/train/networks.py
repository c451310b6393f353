"""Training the networks: one network with pytorch-lightning (seeded, deterministic, early
stopping on validation MAP, checkpoints that resume, optionally warm-started) and an ensemble of
``TrainConfig.members`` networks combined into one model (phase 3 of
:func:`~icdbridge.model.train.loop.train_model`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from icdbridge.model.config import TrainConfig
from icdbridge.model.progress import on_terminal, phase
from icdbridge.model.train.checkpoints import (
    _best_state_callback,
    _check_checkpoint,
    _load_checkpoint,
    _read_finished,
)
from icdbridge.outputs import write_json
from icdbridge.paths import inside

if TYPE_CHECKING:
    from icdbridge.model.config import ModelConfig
    from icdbridge.model.labels.space import LabelSpace
    from icdbridge.model.net.network import CodingNetwork, LabelEmbeddingModel
    from icdbridge.model.train.loop import FeaturisedData
    from icdbridge.model.train.warm_start import WarmStart

FINISHED_NAME = "finished.json"
"""Written into a network's checkpoint folder when its training ends (best checkpoint, history,
whether it stopped early), so that resuming an ensemble skips the networks already trained."""


def train_networks(
    config: ModelConfig,
    space: LabelSpace,
    data: FeaturisedData,
    train_config: TrainConfig,
    checkpoint_dir: str | Path | None = None,
    resume: bool = False,
    progress: bool = False,
    verbose: bool = False,
    *,
    init: WarmStart | None = None,
) -> tuple[CodingNetwork, list[dict[str, Any]]]:
    """Phase 3: train ``train_config.members`` networks (seeds ``seed``, ``seed + 1``, ...)
    and combine them; returns the model (in eval mode) and every network's validation history
    (``{"member", "epoch", "val_map"}``). With ``init``, network ``i`` starts from the saved
    network ``i`` (:meth:`~icdbridge.model.train.warm_start.WarmStart.apply`)."""
    from icdbridge.model.net.network import combine_networks
    from icdbridge.model.train.quiet import quiet_lightning

    networks, history = [], []
    n = train_config.members
    for member in range(n):
        folder = checkpoint_dir
        if checkpoint_dir is not None and n > 1:
            folder = Path(checkpoint_dir) / f"member-{member}"
        with phase(f"training network {member + 1}/{n}", progress) as note:
            with quiet_lightning(verbose):
                network, member_history = _train_network(
                    config,
                    space,
                    data.train,
                    data.dev,
                    replace(train_config, seed=train_config.seed + member),
                    folder,
                    resume,
                    progress,
                    initialise=None if init is None else partial(init.apply, member=member),
                )
            best = max((h["val_map"] for h in member_history), default=0.0)
            note["result"] = f"{len(member_history)} epochs, best validation MAP {best:.4f}"
        networks.append(network)
        history += [{"member": member, **row} for row in member_history]
    model = combine_networks(networks)
    model.eval()
    return model, history


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
    initialise: Callable[[LabelEmbeddingModel], None] | None = None,
) -> tuple[LabelEmbeddingModel, list[dict[str, float]]]:
    """Train one network with ``train_config.seed``; returns it at its best validation epoch
    (early stopping on validation MAP) and the validation MAP of every epoch.

    With ``select_best=False`` it trains exactly ``train_config.epochs`` epochs and is returned
    as the last epoch left it (the validation documents are scored, never used to choose).
    ``initialise`` changes the freshly initialised network before training (a warm start).
    """
    import pytorch_lightning as pl

    from icdbridge.model.features.registry import feature_columns
    from icdbridge.model.net.network import LabelEmbeddingModel
    from icdbridge.model.train.data import CodingDataModule
    from icdbridge.model.train.module import CodingModule

    # seeded here, so that each network of an ensemble is the network a run with its seed trains
    pl.seed_everything(train_config.seed, workers=True, verbose=False)
    model = LabelEmbeddingModel(config)
    if initialise is not None:
        initialise(model)
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
    bar = progress and on_terminal()  # in a log, train_networks writes one line per network
    if bar:
        callbacks.append(pl.callbacks.RichProgressBar())
    trainer = pl.Trainer(
        max_epochs=train_config.epochs,
        accelerator="cpu",
        devices=1,
        deterministic=True,
        logger=False,
        enable_checkpointing=checkpoint is not None,
        enable_progress_bar=bar,
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
