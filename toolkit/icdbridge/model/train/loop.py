"""Train a label-embedding coder: the library function behind ``icdbridge train``.

:func:`train_model` runs the whole recipe on a CPU budget. Optionally the encoder is first
fine-tuned on pieces of the training documents paired with their codes' label texts
(``TrainConfig.finetune_epochs``, :mod:`~icdbridge.model.train.finetune`); then it is frozen and run
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

import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from icdbridge.model.config import PipelineConfig, TrainConfig
from icdbridge.model.features.registry import model_features
from icdbridge.model.progress import phase
from icdbridge.model.train.checkpoints import (
    FINISHED_KEYS as FINISHED_KEYS,
)
from icdbridge.model.train.checkpoints import (
    _best_state_callback as _best_state_callback,
)
from icdbridge.model.train.checkpoints import (
    _check_checkpoint as _check_checkpoint,
)
from icdbridge.model.train.checkpoints import (
    _load_checkpoint as _load_checkpoint,
)
from icdbridge.model.train.checkpoints import (
    _read_finished as _read_finished,
)
from icdbridge.model.train.folds import _best_epoch, hidden_codes, out_of_fold_scores
from icdbridge.model.train.inputs import (
    check_training_inputs as check_training_inputs,
)
from icdbridge.model.train.inputs import (
    extra_codes_of as extra_codes_of,
)
from icdbridge.model.train.inputs import (
    load_documents as load_documents,
)
from icdbridge.model.train.networks import (
    FINISHED_NAME as FINISHED_NAME,
)
from icdbridge.model.train.networks import (
    _train_network as _train_network,
)
from icdbridge.model.train.networks import (
    train_networks as train_networks,
)
from icdbridge.model.train.validation import _validation_summary

if TYPE_CHECKING:
    from icdbridge.data import Document
    from icdbridge.model.calibration import Calibrator
    from icdbridge.model.config import ModelConfig
    from icdbridge.model.features.batch import DocumentFeatures
    from icdbridge.model.features.featurize import FeatureInputs
    from icdbridge.model.features.memory import TrainingMemory
    from icdbridge.model.labels.space import LabelSpace
    from icdbridge.model.net.network import CodingNetwork
    from icdbridge.model.predict import Predictor
    from icdbridge.model.text.encoder import TextEncoder
    from icdbridge.model.train.finetune import FinetuneResult
    from icdbridge.model.train.warm_start import WarmStart


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
        warm_start: With ``TrainConfig.init``: the model started from and what carried over
            (:meth:`~icdbridge.model.train.warm_start.WarmStart.record`); else ``None``.
    """

    predictor: Predictor
    history: list[dict[str, float]] = field(default_factory=list)
    seconds: float = 0.0
    best_val_map: float = 0.0
    member_val_maps: list[float] = field(default_factory=list)
    shortlist_recall: float = 0.0
    finetune: FinetuneResult | None = None
    calibration: dict[str, Any] = field(default_factory=dict)
    warm_start: dict[str, Any] | None = None


@dataclass
class Prebuilt:
    """Parts of training a caller already has (each ``None``: built by
    :func:`prepare_training`; see :func:`train_model`'s arguments of the same names).
    """

    encoder: TextEncoder | None = None
    space: LabelSpace | None = None
    lexical: Any = None
    label_codes: Sequence[str] | None = None
    window_cache: dict | None = None


@dataclass
class TrainingSetup:
    """What every phase of training shares, built once by :func:`prepare_training`.

    Attributes:
        pipeline: The pipeline settings the model is saved with: a copy of the caller's, with
            the training codes outside the release as ``extra_codes`` and ``finetuned_encoder``
            set when the encoder was fine-tuned (the caller's object is never changed).
        encoder: The notes' encoder (a fine-tuned copy when ``TrainConfig.finetune_epochs`` >
            0); with the note side alone tuned, ``space`` was embedded by the untuned one.
        space: The label space.
        lexical: The lexical matcher over ``space`` (``None`` without the lexical channel).
        features: The pair features the networks read.
        window_cache: Piece embeddings, shared by every featurisation of the same documents.
        finetune: Outcome of encoder fine-tuning (``None`` when the encoder stayed frozen).
        verbose: Lightning's own output shown (``train_model(verbose=True)``).
        init: The trained model the networks start from (``TrainConfig.init``), or ``None``.
    """

    pipeline: PipelineConfig
    encoder: TextEncoder
    space: LabelSpace
    lexical: Any
    features: tuple[str, ...]
    window_cache: dict
    finetune: FinetuneResult | None = None
    verbose: bool = False
    init: WarmStart | None = None

    def inputs(self, memory: TrainingMemory | None = None) -> FeatureInputs:
        """The featurisation inputs with ``memory`` as training memory."""
        from icdbridge.model.features.featurize import FeatureInputs

        return FeatureInputs(
            self.encoder,
            self.space,
            self.pipeline,
            memory,
            self.lexical,
            self.features,
            self.window_cache,
        )


@dataclass
class FeaturisedData:
    """The training memory and the featurised training and validation documents.

    Attributes:
        memory: Training memory of the training documents (``None`` when the pipeline has none).
        train: Training documents, featurised in train mode (gold codes and their siblings
            added as candidates; ``TrainConfig.hidden_codes`` of the memory's codes hidden).
        dev: Validation documents, featurised as for prediction (the whole memory).
    """

    memory: TrainingMemory | None
    train: list[DocumentFeatures]
    dev: list[DocumentFeatures]


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
    verbose: bool = False,
) -> TrainResult:
    """Train, calibrate and (optionally) save a model.

    The phases: :func:`prepare_training` (encoder, label space, fine-tuning, lexical channel),
    :func:`featurise_training_data` (training memory, candidates and pair features),
    :func:`train_networks` (the ensemble), :func:`calibrate` (unseen codes and threshold, on
    the validation documents or out of fold), then saving. With every setting at its default
    (:mod:`icdbridge.model.config`) this trains the published CodiEsp model.

    Args:
        train_docs: Training documents (with gold codes).
        dev_docs: Validation documents: early stopping, calibration and threshold.
        pipeline: Pipeline settings (system, release, encoder, windows, channels); never
            changed (the trained model keeps a completed copy).
        model_config: Network settings (``dim`` is taken from the encoder).
        train_config: Optimisation settings.
        out_dir: Save the trained model there (:func:`~icdbridge.model.io.save_pretrained`).
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
            :func:`~icdbridge.model.features.featurize.encode_documents`).
        progress: Show progress (:mod:`icdbridge.model.progress`): bars with an ETA on a
            terminal, one line per slow phase with its duration in a log.
        verbose: Let pytorch-lightning print its own lines and warnings
            (:func:`~icdbridge.model.train.quiet.quiet_lightning`).

    Returns:
        :class:`TrainResult`.
    """
    from icdbridge.model.config import ModelConfig
    from icdbridge.model.io import save_pretrained
    from icdbridge.model.predict import Predictor
    from icdbridge.model.train.warm_start import check_warm_start

    started = time.perf_counter()
    train_config = train_config or TrainConfig()
    check_warm_start(train_config.init, resume, out_dir)
    if train_config.init is not None:
        train_config = replace(train_config, init=str(train_config.init))  # JSON in config.json
    setup = prepare_training(
        train_docs,
        dev_docs,
        pipeline or PipelineConfig(),
        model_config or ModelConfig(),
        train_config,
        Prebuilt(encoder, space, lexical, label_codes, window_cache),
        progress=progress,
        verbose=verbose,
    )
    data = featurise_training_data(train_docs, dev_docs, setup, train_config, progress)
    base = model_config or ModelConfig()
    config = ModelConfig.from_dict(
        {
            **base.to_dict(),
            "dim": setup.encoder.dim,
            "features": setup.features,
            "max_ancestors": setup.pipeline.max_ancestors,
        }
    )
    if checkpoint_dir is None and out_dir is not None:
        checkpoint_dir = Path(out_dir) / "checkpoints"
    model, history = train_networks(
        config,
        setup.space,
        data,
        train_config,
        checkpoint_dir,
        resume,
        progress,
        verbose,
        init=setup.init,
    )
    calibrator, calibration, scored = calibrate(
        model,
        config,
        setup,
        data,
        [*train_docs, *dev_docs],
        history,
        train_config,
        checkpoint_dir,
        resume,
        progress,
    )
    from icdbridge.model.operating_points import points_from_config

    points = points_from_config({"operating_points": calibration.pop("operating_points")})
    predictor = Predictor(
        model,
        setup.pipeline,
        setup.space,
        setup.encoder,
        data.memory,
        setup.lexical,
        calibrator,
        operating_points=points,
    )
    result = TrainResult(
        predictor=predictor,
        history=history,
        seconds=time.perf_counter() - started,
        finetune=setup.finetune,
        calibration=calibration,
        warm_start=setup.init.record() if setup.init is not None else None,
        **_validation_summary(history, scored, data.dev, train_config.members),
    )
    if out_dir is not None:
        tuned = setup.finetune
        save_pretrained(
            predictor,
            out_dir,
            extra={
                "train_config": asdict(train_config),
                "history": history,
                "finetune_pairs": tuned.pairs if tuned else 0,
                "finetune_evidence_pairs": tuned.evidence_pairs if tuned else 0,
                "finetune_seconds": round(tuned.seconds, 1) if tuned else 0.0,
                "calibration": calibration,
                "train_seconds": round(result.seconds, 1),
                "n_train_documents": len(train_docs),
                "n_dev_documents": len(dev_docs),
                "init": result.warm_start,
            },
        )
    return result


def prepare_training(
    train_docs: Sequence[Document],
    dev_docs: Sequence[Document],
    pipeline: PipelineConfig,
    model_config: ModelConfig,
    train_config: TrainConfig,
    prebuilt: Prebuilt | None = None,
    *,
    progress: bool = False,
    verbose: bool = False,
) -> TrainingSetup:
    """Phase 1: check the inputs, seed, load the encoder, embed the label space, fine-tune the
    encoder when asked, build the lexical channel (arguments as for :func:`train_model`; the
    parts in ``prebuilt`` are used as they are)."""
    import copy

    import pytorch_lightning as pl
    import torch

    from icdbridge.codes import get_terminology
    from icdbridge.model.labels.space import (
        build_label_space,
        label_space_codes,
        resolve_seventh_character_bases,
    )
    from icdbridge.model.lexical.channel import build_lexical
    from icdbridge.model.text.encoder import TextEncoder
    from icdbridge.model.train.finetune import finetune_encoder
    from icdbridge.model.train.quiet import quiet_lightning
    from icdbridge.model.train.warm_start import read_warm_start

    parts = prebuilt or Prebuilt()
    encoder, space, lexical = parts.encoder, parts.space, parts.lexical
    check_training_inputs(train_docs, dev_docs, train_config)
    init = None
    if train_config.init is not None:
        init = read_warm_start(train_config.init)
        pipeline = init.encoder_for(pipeline)
        init.check_finetuning(train_config)
    # before any slow work: the Index documents, once, into the list the model is saved with
    pipeline = resolve_pipeline_index(pipeline, lexical, progress)
    pl.seed_everything(train_config.seed, workers=True, verbose=False)
    torch.use_deterministic_algorithms(True, warn_only=True)

    terminology = get_terminology(pipeline.system, pipeline.release)
    encoder = encoder or TextEncoder(pipeline.encoder, precision=pipeline.precision)
    if encoder.precision != pipeline.precision:
        # a prebuilt encoder: the model records the precision its embeddings were made with,
        # so that loading it encodes the same way
        pipeline = replace(pipeline, precision=encoder.precision)
    # the label texts' encoder; ``encoder`` becomes the notes' own when only they are tuned
    label_encoder = encoder
    if init is not None:
        init.check_dim(encoder.dim)
        if init.notes_encoder is not None:  # a model whose note side alone was fine-tuned
            encoder = TextEncoder(init.notes_encoder, precision=encoder.precision)
    if pipeline.seventh_character_bases is None:
        gold = (c for d in train_docs for c in d.codes)
        bases, line = resolve_seventh_character_bases(terminology, gold, None)
        if progress:  # as the Index choice: "auto" says what it chose and why
            from icdbridge.model.progress import log_line

            log_line(line)
        pipeline = replace(pipeline, seventh_character_bases=bases)
    if not pipeline.extra_codes:
        known = set(
            label_space_codes(
                terminology, pipeline.label_space, bases=pipeline.seventh_character_bases
            )
        )
        pipeline = replace(pipeline, extra_codes=extra_codes_of(train_docs, known))
    if space is None:
        space = build_label_space(encoder, terminology, pipeline, parts.label_codes, progress)
    tuned = None
    if train_config.finetune_epochs > 0:
        encoder = copy.deepcopy(encoder)  # the caller's encoder stays as it was
        with quiet_lightning(verbose), phase("fine-tuning the encoder", progress):
            tuned = finetune_encoder(
                encoder,
                train_docs,
                space,
                pipeline,
                epochs=train_config.finetune_epochs,
                batch_size=train_config.finetune_batch_size,
                learning_rate=train_config.finetune_learning_rate,
                evidence=train_config.finetune_evidence,
                mined=train_config.finetune_mined,
                labels=train_config.finetune_labels,
                seed=train_config.seed,
                progress=progress,
            )
        pipeline = replace(
            pipeline, finetuned_encoder=True, finetuned_labels=train_config.finetune_labels
        )
        if train_config.finetune_labels:
            label_encoder = encoder
            space = build_label_space(encoder, terminology, pipeline, space.codes, progress)
    if pipeline.use_lexical and lexical is None:
        with phase(f"lexical channel over {len(space):,} codes", progress):
            lexical = build_lexical(
                terminology,
                space.codes,
                pipeline.index_phrases,
                pipeline.index_source,
                bases=pipeline.seventh_character_bases is True,
            )
    if pipeline.uses_index_aliases and space.label_aliases is None:
        from icdbridge.model.labels.aliases import add_index_aliases

        space = add_index_aliases(space, label_encoder, pipeline.index_source, progress)
    # the components switched on decide the features; ``model_config.features`` may drop more
    features = tuple(
        f
        for f in model_features(pipeline, model_config.use_hierarchy)
        if f in model_config.features
    )
    return TrainingSetup(
        pipeline=pipeline,
        encoder=encoder,
        space=space,
        lexical=lexical,
        features=features,
        # the calibration folds featurise the same documents again
        window_cache={} if parts.window_cache is None else parts.window_cache,
        finetune=tuned,
        verbose=verbose,
        init=init,
    )


def resolve_pipeline_index(
    pipeline: PipelineConfig, lexical: Any = None, progress: bool = False
) -> PipelineConfig:
    """``pipeline`` with :attr:`~PipelineConfig.index_phrases` resolved into the list of Index
    documents the model uses (never ``None``; a saved model records it).

    With a prebuilt ``lexical`` channel, the documents it carries
    (:attr:`~icdbridge.model.lexical.matcher.LexicalMatcher.index_phrases`); else
    :func:`~icdbridge.model.lexical.index_choice.resolve_index_phrases` ("auto" says what it
    chose in one line of the progress output). Without the lexical channel: none.

    Raises:
        IcdbridgeError: the Index documents asked for are missing or not for this system, or
            they differ from those of the prebuilt ``lexical``.
    """
    from icdbridge.errors import IcdbridgeError
    from icdbridge.model.lexical.index_choice import resolve_index_phrases
    from icdbridge.model.progress import log_line

    asked = pipeline.index_phrases
    if not pipeline.use_lexical:  # no lexical channel, no phrases to hold
        return replace(pipeline, index_phrases=[])
    if lexical is not None:
        carried = getattr(lexical, "index_phrases", None)
        have = list(carried.documents) if carried is not None else []
        if asked is not None and set(asked) != set(have):
            raise IcdbridgeError(
                f"the lexical channel given holds the Index phrases of "
                f"{', '.join(have) or 'no document'}, the pipeline asks for "
                f"{', '.join(asked) or 'none'}; build it with those documents "
                "(build_lexical(..., index_phrases=...)) or leave index_phrases None"
            )
        return replace(pipeline, index_phrases=have)
    choice = resolve_index_phrases(pipeline.system, asked, pipeline.index_source)
    if choice.auto and progress:
        log_line(choice.line)
    elif choice.auto and not choice.documents and pipeline.system == "icd10cm":
        # without progress output a library caller still hears that the Index is missing
        import logging

        logging.getLogger(__name__).warning(choice.line)
    return replace(pipeline, index_phrases=choice.documents)


def featurise_training_data(
    train_docs: Sequence[Document],
    dev_docs: Sequence[Document],
    setup: TrainingSetup,
    train_config: TrainConfig,
    progress: bool = False,
) -> FeaturisedData:
    """Phase 2: the training memory of ``train_docs`` (``None`` when the pipeline has none) and
    the features of the training (train mode, with ``train_config.hidden_codes`` of the
    memory's codes hidden) and validation documents it gives."""
    from icdbridge.model.features.featurize import featurize
    from icdbridge.model.features.memory import TrainingMemory

    pipeline = setup.pipeline
    memory = None
    if pipeline.use_memory:
        memory = TrainingMemory(pipeline.neighbours_k).fit(
            [d.id for d in train_docs], [d.text for d in train_docs], [d.codes for d in train_docs]
        )
    hidden: frozenset[str] = frozenset()
    if memory is not None and train_config.hidden_codes:
        hidden = hidden_codes(memory.seen, train_config.hidden_codes, train_config.seed)
    inputs = setup.inputs(memory)
    description = f"featurising {len(train_docs):,} training and {len(dev_docs):,} validation notes"
    with phase(description, progress):
        return FeaturisedData(
            memory,
            featurize(train_docs, inputs, training=True, hidden=hidden, progress=progress),
            featurize(dev_docs, inputs, progress=progress),
        )


def calibrate(
    model: CodingNetwork,
    config: ModelConfig,
    setup: TrainingSetup,
    data: FeaturisedData,
    labelled: Sequence[Document],
    history: list[dict[str, Any]],
    train_config: TrainConfig,
    checkpoint_dir: str | Path | None = None,
    resume: bool = False,
    progress: bool = False,
) -> tuple[Calibrator, dict[str, Any], list[tuple[dict[str, float], Any]]]:
    """Phase 4: fit the unseen-code calibration and the threshold, on the validation scores of
    ``model`` or (``train_config.calibration_folds`` ≥ 2) on out-of-fold scores of all
    ``labelled`` documents.

    Every named operating point (:mod:`~icdbridge.model.operating_points`) is fitted on the
    same scores.

    Returns:
        The fitted calibrator (the ``balanced`` operating point), a summary of what it was
        fitted on (with every operating point, JSON-ready, under ``"operating_points"``), and
        ``model``'s raw scores of the validation documents.
    """
    from icdbridge.model.operating_points import BALANCED, fit_operating_points, points_to_dict
    from icdbridge.model.predict import score_documents

    scored = score_documents(model, setup.space, data.dev)
    seen = data.memory.seen if data.memory is not None else frozenset()
    if train_config.calibration_folds:
        members = train_config.members
        epochs = round(sum(_best_epoch(history, m) for m in range(members)) / members)
        fit_scores, fit_golds, fit_seen, calibration = out_of_fold_scores(
            labelled,
            config,
            setup,
            replace(train_config, epochs=max(epochs, 1)),
            None if checkpoint_dir is None else Path(checkpoint_dir) / "calibration",
            resume,
            progress,
        )
    else:
        fit_scores = [s for s, _ in scored]
        fit_golds = [d.gold for d in data.dev]
        fit_seen = [seen] * len(data.dev)
        calibration = {"source": "validation"}
    points = fit_operating_points(
        fit_scores,
        fit_golds,
        fit_seen,
        train_config.calibration_map_tolerance,
        train_config.calibration_recall_k,
    )
    calibration["documents"] = len(fit_golds)
    calibration["unseen_pairs"] = sum(len(g - s) for g, s in zip(fit_golds, fit_seen, strict=True))
    calibration["operating_points"] = points_to_dict(points)
    return points[BALANCED], calibration, scored
