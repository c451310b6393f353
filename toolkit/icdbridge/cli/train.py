"""`icdbridge train`: train a label-embedding coder on JSONL documents."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from icdbridge.model.config import (
    BASES_OPTIONS,
    DEFAULT_INDEX_PHRASES,
    ModelConfig,
    PipelineConfig,
    TrainConfig,
    bases_option,
)
from icdbridge.model.features.registry import reads_sibling_margins, with_sibling_margins
from icdbridge.model.lexical.index_choice import index_option

_PIPELINE, _MODEL, _TRAIN = PipelineConfig(), ModelConfig(), TrainConfig()
"""The library defaults every option below reads (``icdbridge.model.config``)."""


def train_command(
    train: Annotated[Path, typer.Option("--train", help="Training documents (JSONL).")],
    dev: Annotated[
        Path,
        typer.Option("--dev", help="Validation documents (JSONL): early stopping, calibration."),
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="Model directory to write.")],
    system: Annotated[str, typer.Option("--system", "-s", help="Code system.")] = _PIPELINE.system,
    release: Annotated[
        str | None, typer.Option("--release", "-r", help="Release (default: the system's).")
    ] = None,
    encoder: Annotated[
        Path | None,
        typer.Option(
            "--encoder",
            help="Local Hugging Face model dir (default: MiniLM-L6; with --init, the model's).",
        ),
    ] = None,
    precision: Annotated[
        str,
        typer.Option(
            "--precision",
            help="Encoder inference precision: fp32, bf16 (bfloat16 autocast: several times "
            "faster on CPUs with AMX, but the calibration moves) or auto (bf16 where fast). "
            "Stored with the model; predict encodes the same way.",
        ),
    ] = _PIPELINE.precision,
    init: Annotated[
        Path | None,
        typer.Option(
            "--init",
            help="Warm start: a trained model directory whose networks initialise the new ones "
            "(any code system; label space, training memory and calibration are rebuilt from "
            "--train / --dev). Not with --resume.",
        ),
    ] = _TRAIN.init,
    epochs: Annotated[int, typer.Option(help="Maximum epochs.")] = _TRAIN.epochs,
    patience: Annotated[
        int, typer.Option(help="Early-stopping patience (epochs).")
    ] = _TRAIN.patience,
    seed: Annotated[int, typer.Option(help="Random seed (runs are reproducible).")] = _TRAIN.seed,
    members: Annotated[
        int,
        typer.Option(
            help="Networks trained (seeds SEED, SEED+1, ...) and averaged into one model "
            "(1: a single network)."
        ),
    ] = _TRAIN.members,
    batch_size: Annotated[int, typer.Option(help="Documents per batch.")] = _TRAIN.batch_size,
    negatives: Annotated[
        int, typer.Option(help="Negatives sampled per document.")
    ] = _TRAIN.negatives,
    learning_rate: Annotated[
        float, typer.Option("--lr", help="AdamW learning rate.")
    ] = _TRAIN.learning_rate,
    loss: Annotated[str, typer.Option(help="Loss: contrastive or bce.")] = _TRAIN.loss,
    hierarchy: Annotated[
        bool, typer.Option("--hierarchy/--no-hierarchy", help="Hierarchy component.")
    ] = _MODEL.use_hierarchy,
    lexical: Annotated[
        bool, typer.Option("--lexical/--no-lexical", help="Lexical channel.")
    ] = _PIPELINE.use_lexical,
    original: Annotated[
        bool,
        typer.Option(
            "--original/--no-original",
            help="Let the lexical channel also read each document's original_text (e.g. the "
            "Spanish of a machine translation) through a word gloss.",
        ),
    ] = _PIPELINE.use_original,
    gloss_pieces: Annotated[
        bool,
        typer.Option(
            "--gloss-pieces/--no-gloss-pieces",
            help="With --original: also embed the original's English word gloss, piece by "
            "piece, for the faiss shortlist and the attention.",
        ),
    ] = _PIPELINE.gloss_pieces,
    index_aliases: Annotated[
        bool,
        typer.Option(
            "--index-aliases/--no-index-aliases",
            help="With the Index terms: their paths are also label texts of their codes (faiss "
            "shortlist and the alias_cosine feature).",
        ),
    ] = _PIPELINE.index_aliases,
    index_in_original: Annotated[
        bool,
        typer.Option(
            "--index-in-original/--no-index-in-original",
            help="With --original and Index phrases: the original's word gloss meets the Index "
            "phrases too; off: the Index reaches the English text only.",
        ),
    ] = _PIPELINE.index_in_original,
    calibration_folds: Annotated[
        int,
        typer.Option(
            "--calibration-folds",
            help="Fit the unseen-code calibration and the threshold on out-of-fold scores of "
            "all --train and --dev documents, from one more network per fold (0: on --dev).",
        ),
    ] = _TRAIN.calibration_folds,
    hidden_codes: Annotated[
        float,
        typer.Option(
            "--hidden-codes",
            help="Share of the training codes hidden from the training memory while the "
            "networks train (simulated unseen codes; 0: none).",
        ),
    ] = _TRAIN.hidden_codes,
    calibration_tolerance: Annotated[
        float | None,
        typer.Option(
            "--calibration-tolerance",
            help="Unseen-code calibration: give up at most this much validation MAP for "
            "unseen-code recall@20 (default: maximise their harmonic mean).",
        ),
    ] = _TRAIN.calibration_map_tolerance,
    finetune_epochs: Annotated[
        int,
        typer.Option(
            "--finetune-epochs",
            help="Epochs of encoder fine-tuning before the heads train (0: frozen encoder).",
        ),
    ] = _TRAIN.finetune_epochs,
    finetune_evidence: Annotated[
        bool,
        typer.Option(
            "--finetune-evidence/--no-finetune-evidence",
            help="Fine-tuning also trains on the annotated mentions of the training notes (their "
            "'evidence' field, e.g. CodiEsp's *X.tsv), not only on mined pairs.",
        ),
    ] = _TRAIN.finetune_evidence,
    finetune_mined: Annotated[
        bool,
        typer.Option(
            "--finetune-mined/--no-finetune-mined",
            help="Fine-tuning trains on pairs mined from the training notes; with "
            "--no-finetune-mined on their annotated mentions alone (no mining).",
        ),
    ] = _TRAIN.finetune_mined,
    finetune_labels: Annotated[
        bool,
        typer.Option(
            "--finetune-labels/--no-finetune-labels",
            help="Fine-tuning tunes the encoder of notes and label texts alike; with "
            "--no-finetune-labels the note side only, against the untuned label embeddings "
            "(the label space is not embedded again).",
        ),
    ] = _TRAIN.finetune_labels,
    pieces: Annotated[
        str, typer.Option(help="How notes are cut: clauses, sentences or windows.")
    ] = _PIPELINE.pieces,
    shortlist_k: Annotated[
        int,
        typer.Option(
            "--shortlist-k",
            help="Codes kept in each note's faiss shortlist: those of highest maximum piece "
            "cosine (chosen by cross-validation on the CodiEsp train split, docs/model.md).",
        ),
    ] = _PIPELINE.shortlist_k,
    family_expansion: Annotated[
        int,
        typer.Option(
            "--family-expansion",
            help="Candidates also take in the family (parent, siblings, children) of the N best "
            "faiss, lexical and neighbour codes (0: none).",
        ),
    ] = _PIPELINE.family_expansion,
    index_phrases: Annotated[
        str,
        typer.Option(
            "--index-phrases",
            help="ICD-10-CM Index material whose terms join the lexical channel: auto "
            f"({','.join(DEFAULT_INDEX_PHRASES)} when the system is icd10cm and the Index "
            "material is found at --index-source, else none: the output says which), none "
            "(titles only), or a comma-separated list, required: index (Index to Diseases and "
            "Injuries), eindex (External Cause Index), drug (Table of Drugs and Chemicals), "
            "neoplasm (Neoplasm Table). The model keeps its phrases (predicting needs no Index "
            "material). Get the material with `icdbridge datasets download icd10cm-index`; "
            "see docs/model.md, 'What the Index contributes'.",
        ),
    ] = index_option(_PIPELINE.index_phrases),
    index_source: Annotated[
        Path | None,
        typer.Option(
            "--index-source",
            help="Folder or file of the Index material (default: "
            "$ICDBRIDGE_DATA/icd10cm-index-2025, where `icdbridge datasets download "
            "icd10cm-index` puts it; an official icd10cm_index_YYYY.xml works too).",
        ),
    ] = _PIPELINE.index_source,
    overlap_k: Annotated[
        int,
        typer.Option(
            "--overlap-k",
            help="Candidates also take in the K codes whose title words the note mentions most "
            "(IDF-weighted share; 0: none).",
        ),
    ] = _PIPELINE.overlap_k,
    index_overlap_k: Annotated[
        int,
        typer.Option(
            "--index-overlap-k",
            help="Candidates also take in the K codes whose Index paths the note's words "
            "cover most (IDF-weighted share; needs Index phrases; 0: none).",
        ),
    ] = _PIPELINE.index_overlap_k,
    sibling_margins: Annotated[
        bool,
        typer.Option(
            "--sibling-margins/--no-sibling-margins",
            help="The network also reads each candidate's title and Index word overlap minus "
            "the best of its siblings' (what the note names that sets the code apart).",
        ),
    ] = reads_sibling_margins(_MODEL.features),
    label_space: Annotated[
        str,
        typer.Option(
            "--label-space", help="all (every code of the release) or leaves (billable only)."
        ),
    ] = _PIPELINE.label_space,
    seventh_character_bases: Annotated[
        str,
        typer.Option(
            "--seventh-character-bases",
            help="The label space also holds every ICD-10-CM code written without its 7th "
            "character (S62.92X for S62.92XA), as datasets that code without the encounter "
            "write them: on, off, or auto (on when a training code is written that way).",
        ),
    ] = bases_option(_PIPELINE.seventh_character_bases),
    resume: Annotated[
        bool,
        typer.Option(
            "--resume",
            help="Continue from the checkpoints in OUT/checkpoints (networks already trained "
            "are kept).",
        ),
    ] = False,
    verbose: Annotated[
        bool,
        typer.Option("--verbose", help="Also show pytorch-lightning's own messages and warnings."),
    ] = False,
) -> None:
    """Train a zero-shot label-embedding model (trained heads over the encoder).

    Documents are JSONL rows {"id", "text", "codes", "system"} (optionally
    "original_text" and "original_language" when the text is a translation:
    Spanish originals are read too). Labels are
    embedded from the code texts of the WHOLE release (cached), so the model
    can later score codes that never occur in training. Prints the
    validation MAP of every epoch, stops early, averages --members networks
    trained with successive seeds, calibrates unseen codes and
    the decision threshold on --dev (or, with --calibration-folds K, on
    out-of-fold scores of all documents) at three named operating points
    (balanced, max-map, unseen: `icdbridge predict --operating-point`;
    each one's validation numbers are printed), and writes OUT (config.json,
    model.safetensors, training memory). --finetune-epochs N first fine-tunes
    the encoder on pieces of the notes paired with their codes' texts (saved
    in OUT/encoder; on CodiEsp it gained little for 2.8 times the training
    time, see docs/model.md). --init MODEL_DIR warm-starts from a trained
    model, e.g. adapts a CodiEsp ICD-10-CM model to a few labelled notes
    coded in ICD-9-CM (docs/transfer.md). An ICD-10-CM model's lexical
    channel also holds the phrases of the ICD-10-CM Index (Index terms, drug
    and neoplasm tables) when the Index material is found (--index-phrases
    auto; `icdbridge datasets download icd10cm-index` gets it); one line
    says which were used, and the model keeps them in OUT.
    """
    from rich.console import Console

    from icdbridge.codes import get_terminology
    from icdbridge.model.config import LABEL_SPACES, PRECISIONS
    from icdbridge.model.lexical.gloss import describe_unread, unread_originals
    from icdbridge.model.lexical.index_choice import (
        IndexChoice,
        parse_index_option,
        resolve_index_phrases,
    )
    from icdbridge.model.lexical.index_phrases import UnknownIndexDocumentError
    from icdbridge.model.net.losses import LOSSES
    from icdbridge.model.text.pieces import PIECE_MODES
    from icdbridge.model.train.loop import load_documents, train_model

    console = Console(stderr=True)
    if loss not in LOSSES:
        raise typer.BadParameter(f"--loss must be one of {', '.join(LOSSES)} (got {loss!r})")
    if pieces not in PIECE_MODES:
        raise typer.BadParameter(f"--pieces must be one of {', '.join(PIECE_MODES)}")
    if shortlist_k < 1:
        raise typer.BadParameter(f"--shortlist-k must be 1 or more (got {shortlist_k})")
    if family_expansion < 0:
        raise typer.BadParameter(f"--family-expansion must be 0 or more (got {family_expansion})")
    if members < 1:
        raise typer.BadParameter(f"--members must be 1 or more (got {members})")
    if calibration_folds == 1 or calibration_folds < 0:
        raise typer.BadParameter(
            f"--calibration-folds must be 0 or 2 or more (got {calibration_folds})"
        )
    if not 0 <= hidden_codes < 1:
        raise typer.BadParameter(f"--hidden-codes must be a share in [0, 1) (got {hidden_codes})")
    if overlap_k < 0:
        raise typer.BadParameter(f"--overlap-k must be 0 or more (got {overlap_k})")
    if seventh_character_bases not in BASES_OPTIONS:
        raise typer.BadParameter(
            f"--seventh-character-bases must be one of {', '.join(BASES_OPTIONS)} "
            f"(got {seventh_character_bases!r})"
        )
    if index_overlap_k < 0:
        raise typer.BadParameter(f"--index-overlap-k must be 0 or more (got {index_overlap_k})")
    if calibration_tolerance is not None and calibration_tolerance < 0:
        raise typer.BadParameter(
            f"--calibration-tolerance must be 0 or more (got {calibration_tolerance})"
        )
    try:
        index_documents = parse_index_option(index_phrases)
    except UnknownIndexDocumentError as error:
        raise typer.BadParameter(f"--index-phrases: {error}") from None
    if index_documents and system != "icd10cm":
        raise typer.BadParameter(f"--index-phrases needs --system icd10cm (got {system!r})")
    if not lexical:
        index_choice = IndexChoice([], "Index phrases: none (--no-lexical)")
    else:  # missing Index material asked for is refused here, before any work
        index_choice = resolve_index_phrases(system, index_documents, index_source)
    if precision not in PRECISIONS:
        raise typer.BadParameter(
            f"--precision must be one of {', '.join(PRECISIONS)} (got {precision!r})"
        )
    if label_space not in LABEL_SPACES:
        raise typer.BadParameter(f"--label-space must be one of {', '.join(LABEL_SPACES)}")
    if init is not None and resume:
        raise typer.BadParameter("--init and --resume are exclusive (--init starts a new run)")
    if init is not None:
        from icdbridge.model.io import check_model_dir

        check_model_dir(init)  # a missing or damaged model is refused before any work
    from icdbridge.outputs import check_output

    check_output(out, [train, dev], kind="dir")  # a bad --out is refused before training
    terminology = get_terminology(system, release)
    train_docs = load_documents(train, terminology)
    dev_docs = load_documents(dev, terminology)
    from icdbridge.model.labels.space import resolve_seventh_character_bases

    bases, bases_line = resolve_seventh_character_bases(
        terminology,
        (c for d in train_docs for c in d.codes),
        BASES_OPTIONS[seventh_character_bases],
    )
    pipeline = PipelineConfig(
        system=system,
        release=terminology.release,
        encoder=str(encoder) if encoder else None,
        use_lexical=lexical,
        use_original=original,
        gloss_pieces=gloss_pieces,
        pieces=pieces,
        label_space=label_space,
        shortlist_k=shortlist_k,
        family_expansion=family_expansion,
        overlap_k=overlap_k,
        index_overlap_k=index_overlap_k,
        seventh_character_bases=bases,
        precision=precision,
        index_phrases=index_choice.documents,
        index_source=str(index_source) if index_source else None,
        index_aliases=index_aliases,
        index_in_original=index_in_original,
    )
    console.print(
        f"training on {len(train_docs)} documents, validating on {len(dev_docs)}; "
        f"label space: {terminology.name} {terminology.release}"
        + (f"; networks start from {init}" if init is not None else "")
    )
    console.print(index_choice.line, highlight=False, markup=False)
    console.print(bases_line, highlight=False, markup=False)
    reads = pipeline.reads_originals
    for name, docs in (("--train", train_docs), ("--dev", dev_docs)):
        unread = describe_unread(unread_originals(docs, reads), reads)
        if unread:
            console.print(f"[yellow]{name}: {unread}[/yellow]")
    result = train_model(
        train_docs,
        dev_docs,
        pipeline,
        ModelConfig(
            use_hierarchy=hierarchy,
            features=with_sibling_margins(_MODEL.features, sibling_margins),
        ),
        TrainConfig(
            epochs=epochs,
            patience=patience,
            seed=seed,
            members=members,
            batch_size=batch_size,
            negatives=negatives,
            learning_rate=learning_rate,
            loss=loss,
            finetune_epochs=finetune_epochs,
            finetune_evidence=finetune_evidence,
            finetune_mined=finetune_mined,
            finetune_labels=finetune_labels,
            calibration_folds=calibration_folds,
            hidden_codes=hidden_codes,
            calibration_map_tolerance=calibration_tolerance,
            init=str(init) if init is not None else None,
        ),
        out_dir=out,
        resume=resume,
        progress=True,
        verbose=verbose,
    )
    for row in result.history:
        network = f"network {row['member'] + 1}/{members}  " if members > 1 else ""
        console.print(f"{network}epoch {row['epoch']:>3}  validation MAP {row['val_map']:.4f}")
    if result.warm_start is not None:
        started = result.warm_start
        console.print(
            f"warm start from {started['path']} ({started['system']} {started['release']}, "
            f"config sha256 {started['config_sha256'][:12]}): {len(started['copied'])} tensors "
            f"copied, {len(started['matched_columns'])} fusion layers matched by feature, "
            f"{len(started['fresh'])} fresh"
        )
    calibration = result.predictor.calibrator
    fitted = result.calibration
    source = (
        f"out of {fitted['folds']} folds ({fitted['epochs']} epochs a fold network)"
        if fitted["source"] == "out-of-fold"
        else "on --dev"
    )
    console.print(
        f"calibrated {source}: {fitted['documents']} documents, {fitted['unseen_pairs']} gold "
        f"codes unseen by their network; unseen offset {calibration.unseen_offset_:+.2f}, "
        f"temperature {calibration.unseen_temperature_:g}"
    )
    console.print(
        f"[green]saved {out}[/green]: best validation MAP {result.best_val_map:.4f}, "
        f"calibrated {calibration.validation_map_:.4f}, candidate recall "
        f"{result.shortlist_recall:.3f}, threshold {calibration.threshold_:.3f}, "
        f"{result.seconds:.0f}s"
    )
    from icdbridge.model.operating_points import describe_point

    console.print(
        f"operating points, fitted {source} (`icdbridge predict --operating-point NAME`):"
    )
    for name, point in result.predictor.operating_points.items():
        console.print(f"  {describe_point(name, point)}")
