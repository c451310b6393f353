"""Model rows (d)-(w) of the CodiEsp zero-shot table: the trained label-embedding model and
its ablations, through the interface of README.md (``run_model_rows``).

- ``model``: :func:`icdbridge.model.train.loop.train_model` with every component (frozen encoder,
  three networks trained with seeds ``seed``, ``seed + 1``, ``seed + 2`` and averaged — the
  default ``TrainConfig.members``); every other row but the last is also such an ensemble;
- ``model_no_hierarchy``: the same without the hierarchy component (``use_hierarchy=False``: no
  ancestor mixing, no tree-derived label or family features, no family expansion of the
  candidates);
- ``model_no_lexical``: the same without the lexical channel (no lexical candidates, no lexical
  or word-overlap features);
- ``model_finetuned``: the full model with one epoch of encoder fine-tuning first
  (:mod:`icdbridge.model.train.finetune`);
- ``model_finetuned_notes``: the full model with one epoch of fine-tuning of the note side
  only, on the annotated mentions alone (``TrainConfig.finetune_labels`` and
  ``finetune_mined`` off: the label embeddings stay the untuned encoder's);
- ``model_bce``: the full model trained with BCE over positives and sampled negatives instead
  of the default multi-positive contrastive loss (``TrainConfig.loss``);
- ``model_no_original``: the full model without reading the Spanish original of each note
  (``PipelineConfig.use_original=False``: the lexical channel reads the English translation
  only, and there is no gloss to cut into pieces);
- ``model_no_gloss_pieces``: the full model whose lexical channel reads the Spanish original,
  but without the pieces of its English word gloss in the shortlist and the attention
  (``PipelineConfig.gloss_pieces=False``);
- ``model_no_index``: the full model without the phrases of the ICD-10-CM Index material in its
  lexical channel (``PipelineConfig.index_phrases=[]``: titles and inclusion terms alone; the
  library default resolves to the Index terms, drug and neoplasm tables where the material is
  found, ``_INDEX``);
- ``model_index_terms`` / ``model_index_tables``: the full model with the Index terms alone, or
  the drug and neoplasm tables alone;
- ``model_no_index_overlap``: the full model without the two Index word-overlap features;
- ``model_index_aliases``: the full model with the Index paths as label aliases too;
- ``model_no_index_in_original``: the full model whose Index phrases reach the English text
  only (``PipelineConfig.index_in_original=False``: the word gloss of the Spanish original
  meets the titles and inclusion terms alone, and the Index word overlap reads the English
  sentences): what the Index carried across to the Spanish adds (issue 27, item 3);
- ``model_no_family_expansion``: the full model without the family expansion of the
  candidates (``PipelineConfig.family_expansion=0``); ``model_family_expansion_10``: with the
  family of the 10 best codes instead;
- ``model_no_seventh_character_bases``: the full model without the 7th-character bases in its
  label space (``PipelineConfig.seventh_character_bases=False``; "auto", on for CodiEsp, in the
  default since ``cv_seventh_character_bases.json``);
- ``model_one_network``: the full model as one network (``TrainConfig.members=1``, seed
  ``seed``), the first member of row ``model``'s ensemble.

Each row trains on ``ctx.fit_docs``, early-stops and calibrates on ``ctx.tune_docs`` and scores
``ctx.dev_docs`` over the full label space (faiss shortlist + lexical matches + codes seen in
training). Piece embeddings of fit/tune documents are shared between rows with the same encoder
(encoded once); the dev documents are encoded afresh inside each row's timed prediction.
Checkpoints go to ``ctx.out_dir/work/`` (git-ignored).

For every row, the unseen-code calibration is also refitted on the tune slice with other
objectives (:data:`OPERATING_POINTS`: pure MAP, MAP tolerances) and each operating point is
scored on dev: the trade-off between MAP and unseen-code recall, every point chosen on tune only,
so that two rows can be compared at the same objective as well as at the default one.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import replace
from typing import Any

from harness import SETTINGS, ExperimentContext, ScoredRun

from icdbridge.model import ModelConfig, PipelineConfig, TrainConfig
from icdbridge.model.features.registry import (
    DEFAULT_FEATURES,
    INDEX_OVERLAP_FEATURES,
    PAIR_FEATURES,
    SIBLING_MARGIN_FEATURES,
)
from icdbridge.model.labels.space import resolve_seventh_character_bases
from icdbridge.model.lexical.index_choice import resolve_index_phrases

_LIBRARY = (PipelineConfig(), ModelConfig(), TrainConfig())
_INDEX = resolve_index_phrases(
    _LIBRARY[0].system, _LIBRARY[0].index_phrases, _LIBRARY[0].index_source
)
"""The library's default Index documents ("auto") as training resolves them on this machine:
``DEFAULT_INDEX_PHRASES`` when the Index material is in ``$ICDBRIDGE_DATA``, else none (the
rows then pass that list explicitly, so a row's model never depends on a second resolution)."""
_FULL: dict[str, Any] = {
    "use_hierarchy": _LIBRARY[1].use_hierarchy,
    "use_lexical": _LIBRARY[0].use_lexical,
    "use_original": _LIBRARY[0].use_original,
    "gloss_pieces": _LIBRARY[0].gloss_pieces,
    "finetune": _LIBRARY[2].finetune_epochs > 0,
    "finetune_mined": _LIBRARY[2].finetune_mined,
    "finetune_labels": _LIBRARY[2].finetune_labels,
    "loss": _LIBRARY[2].loss,
    "members": _LIBRARY[2].members,
    "calibration_folds": _LIBRARY[2].calibration_folds,
    "hidden_codes": _LIBRARY[2].hidden_codes,
    "index_phrases": list(_INDEX.documents),
    "index_aliases": _LIBRARY[0].index_aliases,
    "index_in_original": _LIBRARY[0].index_in_original,
    "index_overlap_features": not set(INDEX_OVERLAP_FEATURES).isdisjoint(_LIBRARY[1].features),
    "sibling_margin_features": not set(SIBLING_MARGIN_FEATURES).isdisjoint(_LIBRARY[1].features),
    "family_expansion": _LIBRARY[0].family_expansion,
    "index_overlap_k": _LIBRARY[0].index_overlap_k,
    "seventh_character_bases": _LIBRARY[0].seventh_character_bases,
}
"""The full model's switches: the library defaults (the Index documents resolved, ``_INDEX``)."""
ROW_SETTINGS: dict[str, dict[str, Any]] = {
    name: _FULL | changes for name, changes in SETTINGS["rows"].items()
}
"""Row name → component switches (``settings.toml``, ``[rows.NAME]``)."""

OPERATING_POINTS: dict[str, float | None] = {
    SETTINGS["operating_points"]["default"]: None,
    **{name: value for name, value in SETTINGS["operating_points"]["tolerances"]},
}
"""Calibration operating points reported for every model row: name → ``Calibrator.map_tolerance``
(``None``: the default objective, the harmonic mean of tune MAP and tune unseen R@20)."""


def run_model_rows(ctx: ExperimentContext, rows: list[str]) -> dict[str, ScoredRun]:
    """Train and score each requested model row; return row name → ScoredRun."""
    from icdbridge.model import LabelTextOptions, extra_codes_of, train_model

    started = time.perf_counter()
    # description-only label texts: the same cached embeddings as the cosine baseline (b); the
    # ancestors enter through the hierarchy component instead of the label text
    options = LabelTextOptions(**SETTINGS["label_texts"])
    space = ctx.label_space(options)
    setup_seconds = time.perf_counter() - started
    print(f"label space ready in {setup_seconds:.0f}s ({len(space)} codes)", flush=True)
    known = ctx.release_codes()
    window_cache: dict = {}
    train_config = TrainConfig(seed=ctx.seed)  # the library's defaults: what was published
    fit, tune, dev = ctx.fit_docs, ctx.tune_docs, ctx.dev_docs
    if ctx.fast:  # smoke run: fewer training documents (tune/dev stay whole: the table needs them)
        train_config = replace(train_config, epochs=SETTINGS["protocol"]["fast_epochs"])
        fit = fit[: SETTINGS["protocol"]["fast_fit_documents"]]
    out: dict[str, ScoredRun] = {}
    for name in rows:
        switches = ROW_SETTINGS[name]
        bases = switches["seventh_character_bases"]
        if bases is None:  # "auto", as training resolves it
            gold = (c for d in fit + tune for c in d.codes)
            bases, _ = resolve_seventh_character_bases(ctx.terminology, gold, None)
        row_ctx = ctx.with_seventh_character_bases() if bases else ctx
        row_space = row_ctx.label_space(options) if bases else space
        pipeline = PipelineConfig(
            system=ctx.terminology.system,
            release=ctx.terminology.release,
            encoder=str(ctx.encoder_path),
            use_lexical=switches["use_lexical"],
            use_original=switches["use_original"],
            gloss_pieces=switches["gloss_pieces"],
            index_phrases=list(switches["index_phrases"]),
            index_aliases=switches["index_aliases"],
            index_in_original=switches["index_in_original"],
            # the family expansion of the candidates reads the code tree: not without hierarchy
            family_expansion=switches["family_expansion"] if switches["use_hierarchy"] else 0,
            index_overlap_k=switches["index_overlap_k"],
            extra_codes=extra_codes_of(fit + tune, set(row_space.codes) if bases else known),
            seventh_character_bases=bases,
            label_options=options.to_dict(),
        )
        lexical = (
            row_ctx.lexical(tuple(switches["index_phrases"])) if switches["use_lexical"] else None
        )
        checkpoints = ctx.out_dir / "work" / name
        shutil.rmtree(checkpoints, ignore_errors=True)  # scratch of the previous run of this row
        t0 = time.perf_counter()
        result = train_model(
            fit,
            tune,
            pipeline,
            ModelConfig(
                use_hierarchy=switches["use_hierarchy"],
                features=tuple(
                    f
                    for f in PAIR_FEATURES
                    if (f in DEFAULT_FEATURES or f in SIBLING_MARGIN_FEATURES)
                    and (switches["index_overlap_features"] or f not in INDEX_OVERLAP_FEATURES)
                    and (switches["sibling_margin_features"] or f not in SIBLING_MARGIN_FEATURES)
                ),
            ),
            replace(
                train_config,
                finetune_epochs=1 if switches["finetune"] else 0,
                finetune_mined=switches["finetune_mined"],
                finetune_labels=switches["finetune_labels"],
                loss=switches["loss"],
                members=switches["members"],
                calibration_folds=switches["calibration_folds"],
                hidden_codes=switches["hidden_codes"],
            ),
            checkpoint_dir=checkpoints,
            encoder=ctx.encoder,
            space=row_space,
            lexical=lexical,
            window_cache=window_cache,
            progress=False,
        )
        train_seconds = time.perf_counter() - t0
        predictor = result.predictor
        print(
            f"{name}: trained in {train_seconds:.0f}s, best tune MAP {result.best_val_map:.3f}, "
            f"calibration {predictor.calibrator.to_dict()}",
            flush=True,
        )
        t0 = time.perf_counter()
        dev_predictions = predictor.predict(dev, top_k=None)
        predict_seconds = time.perf_counter() - t0
        predictor.window_cache = window_cache
        tune_predictions = predictor.predict(tune, top_k=None)
        points = operating_points(predictor, tune, dev)
        predictor.window_cache = None
        epochs = "/".join(
            str(sum(h["member"] == m for h in result.history)) for m in range(switches["members"])
        )
        members = (
            f"{switches['members']} networks (seeds {ctx.seed}-{ctx.seed + switches['members'] - 1}"
            f"; best tune MAP {'/'.join(f'{v:.3f}' for v in result.member_val_maps)}), logits "
            "averaged"
            if switches["members"] > 1
            else "1 network"
        )
        out[name] = ScoredRun(
            dev_scores=[p.scores for p in dev_predictions],
            tune_scores=[p.scores for p in tune_predictions],
            train_seconds=train_seconds,
            predict_seconds=predict_seconds,
            shortlist=[set(p.scores) for p in dev_predictions],
            operating_points=points,
            notes=(
                f"{_encoder_note(result)}; pieces = {pipeline.pieces} (<= "
                f"{pipeline.window_tokens} tok) + {members}, heads trained {epochs} epochs, "
                f"{switches['loss']} loss (early stop on tune MAP; tune MAP of the model "
                f"{result.best_val_map:.3f}); candidates = faiss "
                f"top-{pipeline.shortlist_k} + {'lexical + ' if switches['use_lexical'] else ''}"
                + (
                    f"family of the best {pipeline.family_expansion} + "
                    if pipeline.family_expansion
                    else ""
                )
                + (
                    f"top-{pipeline.overlap_k} word overlap + "
                    if pipeline.overlap_k and switches["use_lexical"]
                    else ""
                )
                + "codes seen in fit; "
                + (
                    f"{switches['hidden_codes']:g} of the fit codes hidden from the training "
                    "memory while training; "
                    if switches["hidden_codes"]
                    else ""
                )
                + f"unseen offset {predictor.calibrator.unseen_offset_:+.2f}, temperature "
                f"{predictor.calibrator.unseen_temperature_:g} ({_objective(predictor, result)}"
                f": MAP {predictor.calibrator.validation_map_:.3f}, unseen R@20 "
                f"{predictor.calibrator.validation_unseen_recall_ or 0.0:.3f}); shared "
                f"untuned label-embedding cache ({setup_seconds:.0f}s to load) not counted in "
                "train s"
            ),
        )
    return out


def _objective(predictor, result) -> str:
    fitted = result.calibration
    if fitted["source"] == "out-of-fold":
        where = (
            f"out-of-fold scores of the {fitted['documents']} fit and tune documents ("
            f"{fitted['folds']} fold networks of {fitted['epochs']} epochs, "
            f"{fitted['unseen_pairs']} unseen gold pairs)"
        )
    else:
        where = f"the tune slice ({fitted['unseen_pairs']} unseen gold pairs)"
    tolerance = predictor.calibrator.map_tolerance
    if tolerance is None:
        return f"max harmonic mean of MAP and unseen R@20 on {where}"
    return f"max unseen R@20 within {tolerance:g} of the best MAP on {where}"


def _encoder_note(result) -> str:
    tuned = result.finetune
    if tuned is None:
        return "frozen MiniLM"
    mined = tuned.pairs - tuned.evidence_pairs
    side = (
        "on the note side only: label space untuned, not re-embedded"
        if result.predictor.config.tuned_notes_only
        else "with re-embedding the label space"
    )
    return (
        f"MiniLM fine-tuned on {tuned.pairs} pairs ({mined} mined, {tuned.evidence_pairs} "
        f"annotated mentions) in {tuned.seconds:.0f}s (included in train s, {side})"
    )


def operating_points(predictor, tune, dev) -> dict[str, tuple[list, list]]:
    """Calibration refitted on tune per operating point → (tune scores, dev scores)."""
    from icdbridge.model import Calibrator

    raw_tune, raw_dev = predictor.raw_scores(tune), predictor.raw_scores(dev)
    seen = predictor.seen
    out = {}
    for name, tolerance in OPERATING_POINTS.items():
        calibrator = Calibrator(map_tolerance=tolerance).fit(
            raw_tune, [set(d.codes) for d in tune], seen
        )
        out[name] = (
            [calibrator.apply(r, seen) for r in raw_tune],
            [calibrator.apply(r, seen) for r in raw_dev],
        )
    return out
